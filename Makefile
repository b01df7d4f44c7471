# caf-durable: `make run` builds and runs the demo, `make test` runs every
# test, `make bench` runs the load benchmarks (`QUICK=1 make bench` for a
# short pass). All install the Debian packages they need when run as root.

BUILD ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
# CAF built with ThreadSanitizer by `make tsan` (kept: built once).
TSAN_CAF ?= $(CURDIR)/$(TSAN_BUILD)/caf-prefix
JOBS ?= 2
DATA_DIR ?= $(CURDIR)/durable-data
PACKAGES := cmake make g++ libcaf-dev liblmdb-dev libssl-dev \
            libboost-test-dev libboost-dev nlohmann-json3-dev openssl curl \
            python3-prometheus-client etcd-server etcd-client \
            chromium chromium-driver python3-selenium
# python3-prometheus-client: metrics_test parses /metrics with its parser.
# etcd-server: the cluster's placement coordinator (issue 11); the tests
# start /usr/bin/etcd themselves. etcd-client brings etcdctl for debugging.
# chromium, chromium-driver, python3-selenium: the chat room's browser test.
# Only `make bench` needs these (the plot).
BENCH_PACKAGES := gnuplot-nox python3
# And `make bench-http` these (the workerd peer brings its own via npm).
HTTP_BENCH_PACKAGES := wrk curl
BENCH_RESULTS ?= $(CURDIR)/bench-results
# activation runs before million: million reports activation's per-object
# figure beside its own.
# cluster_request runs two cluster nodes (it starts the second itself),
# cluster_claims two nodes and an etcd member.
BENCH_PROGRAMS := stub_request hot_object spread activation million latency \
                  cluster_request cluster_claims
# Extra options for every benchmark program, e.g. BENCH_ARGS="--runs 7".
BENCH_ARGS ?=
# Fuzzing (`make fuzz`, and `make test-long`) builds with clang and libFuzzer
# in its own directory; `make test` only replays the committed inputs.
FUZZ_BUILD ?= build-fuzz
FUZZ_PACKAGES := clang libfuzzer-14-dev
FUZZ_CXX ?= clang++-14
FUZZ_TARGETS := id_from_string kv_codec migration_json http_request \
                caf_messages
# `make fuzz`: seconds per target; `make test-long`: executions per target.
FUZZ_SECONDS ?= 60
FUZZ_RUNS ?= 10000000
# Extra libFuzzer flags, e.g. FUZZ_ARGS="-jobs=2 -workers=2".
FUZZ_ARGS ?=

.PHONY: all deps configure build run test test-long asan tsan install clean format \
        bench bench-deps bench-http fuzz fuzz-build fuzz-long

all: build

deps:
	@bash cmake/install-packages.sh $(PACKAGES)

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

configure: deps $(BUILD)/CMakeCache.txt

build: configure
	cmake --build $(BUILD) -j$(JOBS)

run: build
	$(BUILD)/examples/counter --data-dir $(DATA_DIR) --objects 1000 \
	  --increments 200000 --quiet
	@echo "-- a short load (QUICK); \`make bench\` runs the full set and draws the plot"
	QUICK=1 $(BUILD)/benchmarks/stub_request --out $(BUILD)/quick-results
	QUICK=1 $(BUILD)/benchmarks/hot_object --out $(BUILD)/quick-results
	QUICK=1 $(BUILD)/benchmarks/activation --out $(BUILD)/quick-results

bench-deps:
	@bash cmake/install-packages.sh $(BENCH_PACKAGES)

# Builds and runs every benchmark (each writes $(BENCH_RESULTS)/<name>.json),
# then draws $(BENCH_RESULTS)/summary.png. QUICK=1 in the environment makes
# every program take its short path.
bench: configure bench-deps
	cmake --build $(BUILD) -j$(JOBS) \
	  $(foreach b,$(BENCH_PROGRAMS),--target bench_$(b))
	@mkdir -p $(BENCH_RESULTS)
	@set -e; for b in $(BENCH_PROGRAMS); do \
	  echo "== $$b"; \
	  $(BUILD)/benchmarks/$$b --out $(BENCH_RESULTS) $(BENCH_ARGS); \
	done
	python3 benchmarks/summary.py $(BENCH_RESULTS)
	gnuplot -e "dir='$(BENCH_RESULTS)'" benchmarks/summary.gp
	@echo "wrote $(BENCH_RESULTS)/*.json and $(BENCH_RESULTS)/summary.png"

# Our HTTP counter server beside the workerd peer (../shared/peers/workerd,
# installed from npm on first use), same wrk load; then redraws the plot.
bench-http: build bench-deps
	@bash cmake/install-packages.sh $(HTTP_BENCH_PACKAGES)
	bash benchmarks/http_vs_workerd.sh --out $(BENCH_RESULTS)
	python3 benchmarks/summary.py $(BENCH_RESULTS)
	gnuplot -e "dir='$(BENCH_RESULTS)'" benchmarks/summary.gp

test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

test-long: build fuzz-long
	cd $(BUILD) && DURABLE_LONG_TESTS=1 ctest --output-on-failure

fuzz-build:
	@bash cmake/install-packages.sh $(PACKAGES) $(FUZZ_PACKAGES)
	cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_CXX_COMPILER=$(FUZZ_CXX) -DDURABLE_FUZZ=ON \
	  -DDURABLE_BUILD_TESTS=OFF -DDURABLE_BUILD_BENCHMARKS=OFF \
	  -DDURABLE_BUILD_EXAMPLES=OFF
	cmake --build $(FUZZ_BUILD) -j$(JOBS) \
	  $(foreach t,$(FUZZ_TARGETS),--target fuzz_$(t))

# Runs every target with the committed inputs (fuzz/corpus/<target>) as
# seeds; new inputs go to $(FUZZ_BUILD)/corpus/<target>, crashes to
# $(FUZZ_BUILD)/artifacts/<target>/ (copy the small ones that found a bug
# into fuzz/corpus/<target>/ so that `make test` replays them).
fuzz: fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do \
	  bash fuzz/run.sh $(FUZZ_BUILD) $$t -max_total_time=$(FUZZ_SECONDS) \
	    $(FUZZ_ARGS); \
	done

fuzz-long: fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do \
	  bash fuzz/run.sh $(FUZZ_BUILD) $$t -runs=$(FUZZ_RUNS) $(FUZZ_ARGS); \
	done

asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DDURABLE_SANITIZE=ON
	cmake --build $(ASAN_BUILD) -j$(JOBS)
	cd $(ASAN_BUILD) && ctest --output-on-failure

# The suite under ThreadSanitizer against a CAF that is instrumented too
# (Debian's source package, built once into $(TSAN_CAF); needs root the first
# time for its deb-src entry). Prints the number of TSan reports.
tsan: deps
	JOBS=$(JOBS) bash cmake/build-caf-tsan.sh $(TSAN_CAF)
	cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DDURABLE_TSAN=ON -DCAF_ROOT=$(TSAN_CAF) -DDURABLE_BUILD_BENCHMARKS=OFF
	cmake --build $(TSAN_BUILD) -j$(JOBS)
	@cd $(TSAN_BUILD) && { ctest --output-on-failure -j$(JOBS); rc=$$?; \
	  echo "TSan reports: $$(grep -c '^WARNING: ThreadSanitizer' \
	    Testing/Temporary/LastTest.log)"; exit $$rc; }

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD)
