"""Environment throughput from Python and the overhead of the Python path of `solve`.

    RAYON_NUM_THREADS=1 taskset -c 1 .venv/bin/python python/bench/throughput.py   # make bench-python

Prints, as medians over `--repeats` timed runs:
- dnnrm/Slot-v0: steps/s of `SlotVecEnv(N)` under random valid actions (uniform among
  the offered candidates), random numbers and action choice in Python included;
- dnnrm/Online-v0: slots/s of `OnlineVecEnv(N)` under random placement targets (each
  model that fits with probability 0.3), default scenario and dynamics;
- solve(..., "milp") at N devices: the wall time of the Python call against the Rust
  path (the same solver build and runner, timed inside Rust, `rust_solve_seconds`),
  on the same instances, interleaved, median per instance; the overhead is the ratio
  of the sums of the medians minus one.
"""

import argparse
import os
import platform
import statistics
import time

import numpy as np

import dnnrm
from dnnrm import _dnnrm
from dnnrm.vector import OnlineVecEnv, SlotVecEnv


def rate(step, seconds: float) -> float:
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        n += step()
    return n / (time.perf_counter() - start)


def slot_rate(n_envs: int, seconds: float, seed: int) -> float:
    env = SlotVecEnv(n_envs)
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    state = {"obs": obs}

    def step() -> int:
        mask = state["obs"]["action_mask"]
        actions = np.argmax(rng.random(mask.shape) * mask, axis=1)
        state["obs"] = env.step(actions)[0]
        return n_envs

    return rate(step, seconds)


def online_rate(n_envs: int, seconds: float, seed: int, assigner: str) -> float:
    env = OnlineVecEnv(n_envs, assigner=assigner)
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    state = {"obs": obs}

    def step() -> int:
        mask = state["obs"]["action_mask"]
        target = ((rng.random(mask.shape) < 0.3) & (mask == 1)).astype(np.int8)
        state["obs"] = env.step(target)[0]
        return n_envs

    return rate(step, seconds)


def solve_overhead(n_devices: int, instances: int, repeats: int):
    insts = [dnnrm.generate({"n_devices": n_devices}, seed=s) for s in range(instances)]
    py_t, rust_t = [[] for _ in insts], [[] for _ in insts]
    for r in range(repeats):
        for i, inst in enumerate(insts):
            # Alternate which path runs first, so neither profits from the other's warm-up.
            for path in ("python", "rust") if (r + i) % 2 == 0 else ("rust", "python"):
                if path == "python":
                    start = time.perf_counter()
                    sol = dnnrm.solve(inst, "milp")
                    py_t[i].append(time.perf_counter() - start)
                    assert sol.status == "optimal"
                else:
                    rust_t[i].extend(_dnnrm.rust_solve_seconds(inst, "milp", 1))
    py = sum(statistics.median(t) for t in py_t)
    rust = sum(statistics.median(t) for t in rust_t)
    return py / len(insts), rust / len(insts), py / rust - 1.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--envs", type=int, default=50, help="environments per vector env (N)")
    ap.add_argument("--seconds", type=float, default=5.0, help="length of one timed run")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--n-devices", type=int, default=50, help="devices of the MILP instances")
    ap.add_argument("--instances", type=int, default=10, help="MILP instances")
    ap.add_argument("--assigner", default="dp", help="assigner of the Online-v0 environments")
    args = ap.parse_args()
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    print(f"dnnrm {dnnrm.__version__} ({dnnrm.REVISION}), Python {platform.python_version()}, CPUs allowed {cpus}, "
          f"RAYON_NUM_THREADS={os.environ.get('RAYON_NUM_THREADS', 'unset')}, load {os.getloadavg()[0]:.2f}")
    slot = [slot_rate(args.envs, args.seconds, r) for r in range(args.repeats)]
    print(f"dnnrm/Slot-v0   N={args.envs}: {statistics.median(slot):10.0f} steps/s (median of {args.repeats}; "
          f"min {min(slot):.0f}, max {max(slot):.0f}; target 50000)")
    online = [online_rate(args.envs, args.seconds, r, args.assigner) for r in range(args.repeats)]
    print(f"dnnrm/Online-v0 N={args.envs}: {statistics.median(online):10.0f} slots/s ({args.assigner}; median of {args.repeats}; "
          f"min {min(online):.0f}, max {max(online):.0f}; target 2000)")
    py, rust, over = solve_overhead(args.n_devices, args.instances, args.repeats)
    print(f"solve(milp) N={args.n_devices}: Python {py * 1e3:.3f} ms, Rust {rust * 1e3:.3f} ms per instance "
          f"(median of {args.repeats} per instance, {args.instances} instances): overhead {over * 100:+.2f}% (target < 5%)")


if __name__ == "__main__":
    main()
