# dnnrm: the two commands are `make bench` (the main job) and `make test`.
CARGO ?= cargo
BIN := target/release/dnnrm
JOBS ?=
JOBS_FLAG := $(if $(JOBS),--jobs $(JOBS),)

.PHONY: all deps build test bench bench-full train train-ddpg train-drl train-online check-rl clippy fmt fuzz python test-python bench-python

SETS ?= all
DRL_SEEDS ?= 0 1 2 3 4

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	$(CARGO) build --release

## Tests run in release: dfdx and HiGHS are far too slow unoptimised. The core's tests,
## then the Python door's (pytest in .venv, against the wheel and the CLI).
test: deps python
	$(CARGO) test --release
	$(MAKE) test-python

## The Python door (python/, docs/python.md): builds the abi3 wheel with maturin in the
## shared target/ (HiGHS and the core of `cargo build --release` are reused) and
## installs it into .venv (created by `make deps`).
VENV ?= .venv
PYTHON := $(VENV)/bin/python
python: deps
	rm -f target/wheels/dnnrm-*.whl
	$(VENV)/bin/maturin build --release -m python/Cargo.toml -i $(PYTHON) -o target/wheels
	$(PYTHON) -m pip install -q --force-reinstall --no-deps target/wheels/dnnrm-*.whl

## The Python tests alone (the CLI they compare with is built first).
test-python:
	$(CARGO) build --release
	$(PYTHON) -m pytest python/tests -q

## Environment throughput and the overhead of `solve` from Python, on one core.
bench-python: python
	RAYON_NUM_THREADS=1 taskset -c 1 $(PYTHON) python/bench/throughput.py

## Runs every registered solver (learned ones from the committed checkpoints in
## models/) on every instance set, then the MILP scaling table; writes results/*.csv,
## results/plots/ and results/summary.md. Resumes: rows of this revision are kept.
bench: build
	$(BIN) bench --sets $(SETS) --out-dir results --time-limit 60 --milp-scaling 5 $(JOBS_FLAG)

## Retrains every learned solver from scratch, then runs the benchmark.
bench-full: train bench

train: train-ddpg train-drl train-online

## The online learners (docs/online.md, docs/ddpg-online.md): `drl-online` for seeds 0-4
## (edge then device scorer, about 6-8 minutes each) and `ddpg-online` for DDPG_ONLINE_SEEDS (96 000 steps, about 30
## minutes each).
DDPG_ONLINE_SEEDS ?= 0 1 2 3 4
train-online: build
	for s in $(DRL_SEEDS); do RAYON_NUM_THREADS=1 $(BIN) train drl-online --seed $$s --out models/drl-online/seed$$s || exit 1; done
	for s in $(DDPG_ONLINE_SEEDS); do RAYON_NUM_THREADS=1 $(BIN) train ddpg-online --seed $$s --out models/ddpg-online/seed$$s || exit 1; done

## The committed DDPG checkpoint, reproducibly (about 23 minutes on one core).
train-ddpg: build
	RAYON_NUM_THREADS=1 $(BIN) train ddpg --seed 0 --out models/ddpg/seed0

## The proposed scheme for seeds 0-4 and its two ablations (seed 0), on a training
## family that covers the device classes (mcu share 0-1, gpu-node share 0-0.2), and the
## previous policy, trained on default-like instances only (`drl-default-trained`).
DRL_FAMILY ?= --share-mcu 0 1 --share-gpu-node 0 0.2
train-drl: build
	for s in $(DRL_SEEDS); do RAYON_NUM_THREADS=1 $(BIN) train drl --seed $$s $(DRL_FAMILY) --out models/drl/seed$$s || exit 1; done
	RAYON_NUM_THREADS=1 $(BIN) train drl --seed 0 --variant no-subroutine $(DRL_FAMILY) --out models/drl-nosub/seed0
	RAYON_NUM_THREADS=1 $(BIN) train drl --seed 0 --variant no-masking $(DRL_FAMILY) --out models/drl-nomask/seed0
	for s in $(DRL_SEEDS); do RAYON_NUM_THREADS=1 $(BIN) train drl --seed $$s --out models/drl-default-trained/seed$$s || exit 1; done

## Verifies the RL core: DDPG on Pendulum, seeds 0,1,2, 30k steps each; fails unless
## at least 2 of 3 seeds reach a mean evaluation return of -250 or better.
check-rl: deps
	RAYON_NUM_THREADS=1 $(CARGO) run --release --bin check_rl -- --seeds 0,1,2 --steps 30000

## Fuzzes the input path for FUZZ_SECONDS per target (cargo-fuzz on the stable toolchain
## via RUSTC_BOOTSTRAP; see fuzz/README.md). `make test` replays the committed corpus and
## a bounded mutation run without cargo-fuzz.
FUZZ_SECONDS ?= 600
fuzz: deps
	command -v cargo-fuzz >/dev/null 2>&1 || $(CARGO) install cargo-fuzz --locked
	mkdir -p /tmp/dnnrm-fuzz/instance /tmp/dnnrm-fuzz/solution
	cd fuzz && for t in instance solution; do RUSTC_BOOTSTRAP=1 nice -n 15 $(CARGO) fuzz run --sanitizer none -O $$t /tmp/dnnrm-fuzz/$$t corpus/$$t -- -dict=fuzz.dict -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 || exit 1; done

clippy: deps
	$(CARGO) clippy --release --all-targets -- -D warnings
	$(CARGO) clippy --release -p dnnrm-python -- -D warnings

fmt:
	$(CARGO) fmt --all
