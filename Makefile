# dnnrm: the two commands are `make bench` (the main job) and `make test`.
CARGO ?= cargo
BIN := target/release/dnnrm
JOBS ?=
JOBS_FLAG := $(if $(JOBS),--jobs $(JOBS),)

.PHONY: all deps build test bench clippy fmt clean-results

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	$(CARGO) build --release

## Tests run in release: dfdx and HiGHS are far too slow unoptimised.
test: deps
	$(CARGO) test --release

## Runs every registered solver on the default instance set and writes
## results/default.csv and results/summary.md.
bench: build
	$(BIN) bench --sets default --out-dir results $(JOBS_FLAG)

clippy: deps
	$(CARGO) clippy --release --all-targets -- -D warnings

fmt:
	$(CARGO) fmt
