# probesim: `make demo` and `make test` each do all set-up (Debian packages, configure, build).
BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_REL  ?= build-release
BUILD_FUZZ ?= build-fuzz
FUZZ_SECONDS ?= 60
JOBS       ?= 2
CMAKE_ARGS ?=

.PHONY: all deps build venv demo test test-slow test-asan fuzz fuzz-build bench format clean

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

# Every test but the `slow` label (checks over ~60 s, e.g. exploration budgets of hundreds of
# runs); `make test-slow` runs those.
test: venv
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) -LE slow

test-slow: venv
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) -L slow

# libFuzzer targets (fuzz/README.md): clang, ASan+UBSan, in their own build directory; `make fuzz`
# runs each for FUZZ_SECONDS. (make test and make test-asan run a smoke of each, ctest label fuzz.)
fuzz-build: deps
	cmake -S . -B $(BUILD_FUZZ) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPROBESIM_FUZZ=ON \
	  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ $(CMAKE_ARGS)
	cmake --build $(BUILD_FUZZ) -j$(JOBS)

fuzz: fuzz-build
	fuzz/run_all.sh $(BUILD_FUZZ) $(FUZZ_SECONDS)

# The C++ suite (unit, e2e, fuzz smoke; not py/notebook, whose interpreter is not instrumented,
# nor `long`: the 1,000-schedule explorations, minutes each under ASan) under ASan+UBSan with
# leak checking. tests/lsan.supp names the leaks that are not ours.
test-asan: deps
	cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPROBESIM_SANITIZE=ON \
	  -DPROBESIM_BUILD_PYTHON=OFF $(CMAKE_ARGS)
	cmake --build $(BUILD_ASAN) -j$(JOBS)
	cd $(BUILD_ASAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j$(JOBS) -LE 'slow|long|py|notebook'

# Only what the benchmarks run is built (a fresh checkout stays well under 10 minutes); Debian's
# python runs the harness (matplotlib for the figures); python_handlers uses .venv (make venv).
BENCH_TARGETS = _core probesim_cli raw_unicorn bench_immap bench_probe_hits bench_uprobes bench_paging guests bench_guests
bench: deps
	cmake -S . -B $(BUILD_REL) -DCMAKE_BUILD_TYPE=Release $(CMAKE_ARGS)
	cmake --build $(BUILD_REL) -j$(JOBS) --target $(BENCH_TARGETS)
	scripts/venv.sh $(BUILD_REL)
	/usr/bin/python3 bench/run.py --build $(BUILD_REL)

format:
	git ls-files '*.h' '*.cc' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_REL) $(BUILD_FUZZ)
