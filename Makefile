# dnnrm: the two commands are `make bench` (the main job) and `make test`.
CARGO ?= cargo
BIN := target/release/dnnrm
JOBS ?=
JOBS_FLAG := $(if $(JOBS),--jobs $(JOBS),)

.PHONY: all deps build test bench check-rl clippy fmt

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

## Verifies the RL core: DDPG on Pendulum, seeds 0,1,2, 30k steps each; fails unless
## at least 2 of 3 seeds reach a mean evaluation return of -250 or better.
check-rl: deps
	RAYON_NUM_THREADS=1 $(CARGO) run --release --bin check_rl -- --seeds 0,1,2 --steps 30000

clippy: deps
	$(CARGO) clippy --release --all-targets -- -D warnings

fmt:
	$(CARGO) fmt
