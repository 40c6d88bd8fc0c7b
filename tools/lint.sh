#!/bin/sh
# clang-format check, clang-tidy over src/ (using the build's compile_commands.json) and the
# layering check. Usage: tools/lint.sh BUILD_DIR
set -eu
build_dir=${1:-build}
cd "$(dirname "$0")/.."
files=$(git ls-files 'src/*.cpp' 'src/*.h' 'tests/unit/*.cpp')
echo "clang-format: checking $(echo "$files" | wc -w) files"
clang-format --dry-run --Werror $files
/usr/bin/python3 tools/check_layers.py
echo "clang-tidy: checking src/"
# shellcheck disable=SC2046
run-clang-tidy -quiet -p "$build_dir" -j 2 $(git ls-files 'src/*.cpp') >/tmp/mp-tidy.log 2>&1 || {
    grep -E "(warning|error):" /tmp/mp-tidy.log | sort -u | head -50
    echo "clang-tidy failed (full log: /tmp/mp-tidy.log)"
    exit 1
}
echo "lint: ok"
