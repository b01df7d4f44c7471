# caf-durable: `make run` builds and runs the demo, `make test` runs every
# test. Both install the Debian packages they need when run as root.

BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= 2
DATA_DIR ?= $(CURDIR)/durable-data
PACKAGES := cmake make g++ libcaf-dev liblmdb-dev libssl-dev \
            libboost-test-dev libboost-dev

.PHONY: all deps configure build run test test-long asan install clean format

all: build

deps:
	@missing=""; \
	for p in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" \
	    || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" -ne 0 ]; then \
	    echo "missing packages:$$missing (run as root, or apt-get install them)"; \
	    exit 1; \
	  fi; \
	  echo "installing:$$missing"; \
	  apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

configure: deps $(BUILD)/CMakeCache.txt

build: configure
	cmake --build $(BUILD) -j$(JOBS)

run: build
	./$(BUILD)/examples/counter --data-dir $(DATA_DIR) --objects 1000 \
	  --increments 200000 --quiet

test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

test-long: build
	cd $(BUILD) && DURABLE_LONG_TESTS=1 ctest --output-on-failure

asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DDURABLE_SANITIZE=ON
	cmake --build $(ASAN_BUILD) -j$(JOBS)
	cd $(ASAN_BUILD) && ctest --output-on-failure

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
