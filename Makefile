# probesim: `make demo` and `make test` each do all set-up (Debian packages, configure, build).
BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_REL  ?= build-release
JOBS       ?= 2
CMAKE_ARGS ?=

.PHONY: all deps build venv demo test test-asan bench format clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

# The venv (/usr/bin/python3 -m venv --system-site-packages) holds the probesim package built
# from this tree (pip install --no-build-isolation .) and a Jupyter kernel for notebooks.
venv: build
	scripts/venv.sh $(BUILD)

demo: venv
	@scripts/demo.sh $(BUILD)

test: venv
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

test-asan: deps
	cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DPROBESIM_SANITIZE=ON $(CMAKE_ARGS)
	cmake --build $(BUILD_ASAN) -j$(JOBS)
	cd $(BUILD_ASAN) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j$(JOBS) -LE 'slow|py'

# Only what the benchmarks run is built (a fresh checkout stays well under 10 minutes); Debian's
# python runs the harness (matplotlib for the figures); python_handlers uses .venv (make venv).
BENCH_TARGETS = _core probesim_cli raw_unicorn bench_immap bench_probe_hits bench_uprobes guests bench_guests
bench: deps
	cmake -S . -B $(BUILD_REL) -DCMAKE_BUILD_TYPE=Release $(CMAKE_ARGS)
	cmake --build $(BUILD_REL) -j$(JOBS) --target $(BENCH_TARGETS)
	scripts/venv.sh $(BUILD_REL)
	/usr/bin/python3 bench/run.py --build $(BUILD_REL)

format:
	git ls-files '*.h' '*.cc' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_REL)
