#!/bin/bash
# Where the microseconds go: `perf record` (cpu-clock, every thread of the server's
# processes) while wrk loads one config, then the top shared objects and symbols with
# their share of the server's CPU time and that share in µs per request.
#   bench/profile.sh                          # ours-wsgi-hello, 10 s
#   bench/profile.sh ours-wsgi-flask e-flask  # several configs, one after the other
#   bench/profile.sh ours --duration 5 --profile-top 60 --profile-callgraph fp
# Same procedure and settings as bench/run.sh (pinning, MPM, wrk); one round. Output:
# bench/results/<timestamp>-profile/profile-<id>.txt (+ the usual table.md).
# Needs perf (Debian: linux-perf; installed when run as root) and root or
# kernel.perf_event_paranoid <= 1. Our module: $MP_MODULE_SO (default build/mod_python.so).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

configs=()
opts=()
while [ $# -gt 0 ]; do
    case "$1" in
        --*) opts+=("$1"); [[ "$1" != *=* && $# -gt 1 && "$2" != --* ]] && { opts+=("$2"); shift; } ;;
        *) configs+=("$1") ;;
    esac
    shift
done
[ ${#configs[@]} -gt 0 ] || configs=(ours-wsgi-hello)
only="$(IFS=,; echo "${configs[*]}")"

if [ ! -x /usr/bin/perf ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends linux-perf >&2
    else
        echo "profile: /usr/bin/perf missing (apt-get install linux-perf)" >&2; exit 1
    fi
fi
# perf record on other processes needs root or perf_event_paranoid <= 1
if [ "$(id -u)" != 0 ] && [ "$(cat /proc/sys/kernel/perf_event_paranoid)" -gt 1 ]; then
    echo "profile: not root and kernel.perf_event_paranoid > 1: perf record cannot attach" >&2
    echo "  (sysctl kernel.perf_event_paranoid=1, or run as root)" >&2
    exit 1
fi

out="$(mktemp)"
trap 'rm -f "$out"' EXIT
"$HERE/run.sh" --only "$only" --rounds 1 --profile ${opts[@]+"${opts[@]}"} | tee "$out"
dir="$(sed -n 's/.*Raw data: \(.*\)$/\1/p' "$out" | tail -1)"
for c in "${configs[@]}"; do
    f="$dir/profile-$c.txt"
    echo
    if [ -f "$f" ]; then
        echo "==== $f"
        cat "$f"
    else
        echo "==== $c: no profile (config skipped or failed; see $dir/run.log)"
    fi
done
