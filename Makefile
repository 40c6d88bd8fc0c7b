# Front door: `make serve` (demo site on http://127.0.0.1:8000/) and `make test`.
PYTHON      := /usr/bin/python3.11
BUILD_DIR   := build
ASAN_DIR    := build-asan
JOBS        ?= 2
PORT        ?= 8000
MPMS        ?= event prefork
CMAKE_FLAGS := -DPython3_EXECUTABLE=$(PYTHON) -DCMAKE_BUILD_TYPE=RelWithDebInfo

# Debian packages needed to build and serve, then to test (installed only when missing, as
# root; a non-root user is told what to install).
SERVE_DEPS  := cmake g++ apache2 apache2-dev python3.11-dev
BUILD_DEPS  := $(SERVE_DEPS) clang clang-format clang-tidy libgtest-dev
TEST_DEPS   := $(BUILD_DEPS) python3-pytest python3-requests libclang-rt-14-dev redis-server \
               memcached python3-django python3-flask python3-pyramid python3-falcon \
               python3-bottle python3-cherrypy3 mercurial
BENCH_DEPS  := $(BUILD_DEPS) wrk

.PHONY: all build deps serve-deps test-deps serve test unit integration asan-build asan-test bench bench-profile \
        install lint format clean fuzz

all: build

deps:
	@tools/ensure-packages.sh $(BUILD_DEPS)

serve-deps:
	@tools/ensure-packages.sh $(SERVE_DEPS)

test-deps:
	@tools/ensure-packages.sh $(TEST_DEPS)

# Configured every time (a second or two): packages installed since, such as GoogleTest,
# are picked up.
build:
	cmake -S . -B $(BUILD_DIR) $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD_DIR) -j $(JOBS)

serve: serve-deps build
	PYTHONPATH=python $(PYTHON) -m mod_python.launcher serve --app-dir examples --port $(PORT) \
	    --module $(abspath $(BUILD_DIR))/mod_python.so

unit: build
	cd $(BUILD_DIR) && ctest --output-on-failure --no-tests=error
	$(PYTHON) -m pytest -q -p no:cacheprovider tests/python

integration: build
	@set -e; for mpm in $(MPMS); do \
	    echo "== integration tests, $$mpm MPM =="; \
	    MP_TEST_MPM=$$mpm MP_MODULE_SO=$(abspath $(BUILD_DIR))/mod_python.so \
	        $(PYTHON) -m pytest -q -p no:cacheprovider tests/integration; \
	done

$(ASAN_DIR)/CMakeCache.txt:
	cmake -S . -B $(ASAN_DIR) $(CMAKE_FLAGS) -DMP_SANITIZE=ON -DMP_BUILD_TESTS=OFF

asan-build: $(ASAN_DIR)/CMakeCache.txt
	cmake --build $(ASAN_DIR) -j $(JOBS)

# The integration suite once more against the sanitizer build (event MPM), with libasan
# preloaded into Debian's apache2; any sanitizer report fails the run.
asan-test: asan-build
	MP_TEST_MPM=event MP_MODULE_SO=$(abspath $(ASAN_DIR))/mod_python.so \
	MP_TEST_PRELOAD="$$(g++ -print-file-name=libasan.so)" \
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:log_path=stderr \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    $(PYTHON) -m pytest -q -p no:cacheprovider tests/integration

test: test-deps build unit lint fuzz integration asan-test

# libFuzzer targets of the pure parsers (clang 14), FUZZ_TIME seconds each, starting from the
# seed corpus in tests/fuzz/<target>/corpus; new inputs go to build-fuzz/, not the repo.
FUZZ_DIR    := build-fuzz
FUZZ_TIME   ?= 60
FUZZ_FLAGS  := -std=c++20 -g -O1 -Isrc -fsanitize=fuzzer,address,undefined \
               -fno-sanitize-recover=undefined
$(FUZZ_DIR)/psp_fuzz: tests/fuzz/psp_fuzz.cpp src/common/psp_parser.cpp src/common/psp_parser.h
	@mkdir -p $(FUZZ_DIR)
	clang++ $(FUZZ_FLAGS) tests/fuzz/psp_fuzz.cpp src/common/psp_parser.cpp -o $@

fuzz: $(FUZZ_DIR)/psp_fuzz
	@mkdir -p $(FUZZ_DIR)/psp-new
	$(FUZZ_DIR)/psp_fuzz -max_total_time=$(FUZZ_TIME) -max_len=4096 -print_final_stats=1 \
	    $(FUZZ_DIR)/psp-new tests/fuzz/psp/corpus

bench: build
	@tools/ensure-packages.sh $(BENCH_DEPS)
	MP_MODULE_SO=$(abspath $(BUILD_DIR))/mod_python.so bench/run.sh $(BENCH_ARGS)

# perf profile of one or more bench configs (default ours-wsgi-hello): bench/profile.sh
bench-profile: build
	@tools/ensure-packages.sh $(BENCH_DEPS)
	MP_MODULE_SO=$(abspath $(BUILD_DIR))/mod_python.so bench/profile.sh $(BENCH_ARGS)

# PREFIX is compiled into the module (where it finds its Python package), so it is a
# configure-time setting; DESTDIR only stages the files (packaging).
PREFIX ?= /usr/local
install:
	cmake -S . -B $(BUILD_DIR) $(CMAKE_FLAGS) -DCMAKE_INSTALL_PREFIX=$(PREFIX)
	cmake --build $(BUILD_DIR) -j $(JOBS)
	DESTDIR=$(DESTDIR) cmake --install $(BUILD_DIR)

# clang-format, clang-tidy, the layering rule, and a warnings-as-errors build with clang 14.
lint: build
	tools/lint.sh $(BUILD_DIR)
	cmake -S . -B build-clang -DPython3_EXECUTABLE=$(PYTHON) -DCMAKE_CXX_COMPILER=clang++ \
	    -DCMAKE_C_COMPILER=clang -DMP_BUILD_TESTS=OFF >/dev/null
	cmake --build build-clang -j $(JOBS)

format:
	clang-format -i $$(git ls-files 'src/*.cpp' 'src/*.h' 'tests/unit/*.cpp')

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) build-clang $(FUZZ_DIR)
