"""A comparison table against the exact MILP, from Python: a few default-scenario
instances, every fast registered solver, the mean objective and its ratio to the proven
optimum (every answer judged by the evaluator).

    python examples/python/compare_milp.py [--instances 4] [--n-devices 30]
"""

import argparse
import statistics

import dnnrm

FAST = ["random", "local-only", "edge-only", "cloud-only", "greedy", "greedy-ls", "drl-untrained", "milp-lp"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--instances", type=int, default=4)
    ap.add_argument("--n-devices", type=int, default=30)
    args = ap.parse_args()
    insts = [dnnrm.generate({"n_devices": args.n_devices}, seed=s) for s in range(args.instances)]
    opt = [dnnrm.solve(i, "milp") for i in insts]
    assert all(o.status == "optimal" for o in opt)
    print(f"{args.instances} instances, N = {args.n_devices}; milp mean objective {statistics.mean(o.objective for o in opt):.4f}")
    print(f"{'solver':<14} {'objective':>9} {'ratio to opt':>12} {'wall ms':>8}")
    for name in FAST + ["milp"]:
        sols = [dnnrm.solve(i, name) for i in insts]
        for i, s in zip(insts, sols):
            assert dnnrm.evaluate(i, s)["objective"] == s.objective
        ratio = statistics.mean(s.objective / o.objective for s, o in zip(sols, opt))
        wall = statistics.median(s.wall_s for s in sols) * 1e3
        print(f"{name:<14} {statistics.mean(s.objective for s in sols):9.4f} {ratio:12.4f} {wall:8.2f}")


if __name__ == "__main__":
    main()
