"""The functions of the module against the Rust path: the same instances, the same
objectives, the evaluator's verdicts as named Python exceptions."""

import csv
import json

import pytest

import dnnrm
from conftest import metric


def committed_milp(root, set_name):
    """Objective of the committed `milp` rows of results/<set>.csv, by instance id."""
    with open(root / "results" / f"{set_name}.csv", newline="") as f:
        return {r["instance"]: float(r["objective"]) for r in csv.DictReader(f) if r["solver"] == "milp" and r["status"] == "optimal"}


def test_generate_is_seeded_and_round_trips_json():
    a = dnnrm.generate({"n_devices": 30, "rbs": 10}, seed=3)
    b = dnnrm.generate({"n_devices": 30, "rbs": 10}, seed=3)
    c = dnnrm.generate({"n_devices": 30, "rbs": 10}, seed=4)
    assert a.to_json() == b.to_json() != c.to_json()
    assert (a.n_tasks, a.n_edges) == (30, 4)
    # JSON text round trips up to the last bit of a float (serde_json's default parser).
    assert close(json.loads(dnnrm.Instance.from_json(a.to_json()).to_json()), json.loads(a.to_json()))


def close(a, b):
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b))
    if isinstance(a, float):
        return a == pytest.approx(b, rel=1e-15)
    return a == b


def test_milp_from_python_matches_the_committed_benchmark(root):
    """Python `solve(..., "milp")` on the first default instances reproduces the proven
    optima that `make bench` committed (same seeds as instances/default.csv)."""
    opt = committed_milp(root, "default")
    with open(root / "instances" / "default.csv", newline="") as f:
        rows = list(csv.DictReader(f))[:4]
    for row in rows:
        inst = dnnrm.generate({}, seed=int(row["seed"]), id=row["id"])
        sol = dnnrm.solve(inst, "milp")
        assert sol.status == "optimal"
        assert sol.objective == pytest.approx(opt[row["id"]], abs=1e-6)
        assert sol.bound == pytest.approx(sol.objective, abs=1e-6)
        assert dnnrm.evaluate(inst, sol)["objective"] == sol.objective


def test_python_and_cli_agree_on_instances_solutions_and_evaluations(cli, tmp_path):
    spec = tmp_path / "set.csv"
    spec.write_text("id,seed,n_devices,deadline_scale\nx0,11,40,0.6\nx1,12,60,1\n")
    cli("generate", "--scenarios", str(spec), "--out-dir", str(tmp_path / "set"))
    for ident, seed, n, scale in [("x0", 11, 40, 0.6), ("x1", 12, 60, 1)]:
        path = tmp_path / "set" / f"{ident}.json"
        inst = dnnrm.generate({"n_devices": n, "deadline_scale": scale}, seed=seed, id=ident)
        assert json.loads(inst.to_json()) == json.loads(path.read_text())
        for solver in ["greedy-ls", "milp"]:
            out = tmp_path / f"{ident}-{solver}.json"
            line = cli("solve", "--solver", solver, "--instance", str(path), "--out", str(out))
            rust_obj = metric(line, "objective")
            py = dnnrm.solve(inst, solver)
            assert py.objective == pytest.approx(rust_obj, abs=1e-6)
            # The Rust solution judged from Python, and the Python one by the CLI.
            ev = dnnrm.evaluate(dnnrm.Instance.read(str(path)), out.read_text())
            assert ev["objective"] == pytest.approx(rust_obj, abs=1e-6)
            py_out = tmp_path / f"{ident}-{solver}-py.json"
            py_out.write_text(py.to_json())
            valid = cli("validate", "--instance", str(path), "--solution", str(py_out))
            assert metric(valid.replace("valid: ", ""), "objective") == pytest.approx(py.objective, abs=1e-6)


def served(sol, location):
    return [(n, d) for n, d in enumerate(sol["decisions"]) if d["action"] == "serve" and d["location"] == location]


def test_invalid_solutions_raise_the_named_constraint():
    inst = dnnrm.generate({"n_devices": 50}, seed=7)
    sol = dnnrm.solve(inst, "milp").to_dict()
    (n, d), *_ = served(sol, "edge")
    m = json.loads(inst.to_json())["devices"][n]["edge"]
    broken = dict(sol, edge_cache=[[k for k in c if k != d["model"]] if i == m else c for i, c in enumerate(sol["edge_cache"])])
    with pytest.raises(dnnrm.ConstraintViolation) as e:
        dnnrm.evaluate(inst, broken)
    assert e.value.constraint == "placement" and f"task {n} " in str(e.value) and "does not cache" in str(e.value)
    # Every RB of a server to one edge task: the server's spectrum row breaks.
    rbs = json.loads(inst.to_json())["edges"][m]["rbs"]
    others = [k for k, _ in served(sol, "edge") + served(sol, "cloud") if json.loads(inst.to_json())["devices"][k]["edge"] == m and k != n]
    assert others, "the instance needs a second offloaded task at the server"
    decisions = [dict(x) for x in sol["decisions"]]
    decisions[n]["rbs"] = rbs
    with pytest.raises(dnnrm.ConstraintViolation) as e:
        dnnrm.evaluate(inst, dict(sol, decisions=decisions))
    assert e.value.constraint == "spectrum" and f"edge server {m} allocates" in str(e.value)
    # A shape error is a violation too, and every violation is a DnnrmError.
    with pytest.raises(dnnrm.DnnrmError, match="decisions has 49 entries"):
        dnnrm.evaluate(inst, dict(sol, decisions=sol["decisions"][:-1]))


def test_bad_inputs_raise_dnnrm_errors_with_the_rust_message():
    with pytest.raises(dnnrm.DnnrmError, match="unknown scenario parameter `n_devicez`"):
        dnnrm.generate({"n_devicez": 5})
    with pytest.raises(dnnrm.DnnrmError, match="parameter `rbs`"):
        dnnrm.generate({"rbs": "many"})
    inst = dnnrm.generate({"n_devices": 10}, seed=1)
    with pytest.raises(dnnrm.DnnrmError, match="unknown solver `nosuch`.*greedy-ls"):
        dnnrm.solve(inst, "nosuch")
    with pytest.raises(dnnrm.DnnrmError, match="--mip-gap does not apply"):
        dnnrm.solve(inst, "greedy", mip_gap=0.1)
    bad = json.loads(inst.to_json())
    bad["edges"][0]["cache_mb"] = -5
    with pytest.raises(dnnrm.DnnrmError, match=r"edges\[0\]\.cache_mb"):
        dnnrm.Instance.from_json(json.dumps(bad))
    names = [s["name"] for s in dnnrm.solvers()]
    assert "milp" in names and "greedy-ls" in names
    assert next(s for s in dnnrm.solvers() if s["name"] == "milp")["settings"] == ["mip_gap", "warm_start"]


SMALL = {"n_devices": 12, "n_edges": 2}
SHORT = {"n_slots": 6}


def test_a_counterfactual_replay_of_the_optimal_plan_gives_the_optimum():
    ep = dnnrm.generate_episode(SMALL, SHORT, seed=5)
    h = dnnrm.hindsight(ep)
    assert h["status"] == "optimal"
    plan = h["decisions"]
    every = dnnrm.simulate("static-placement", ep, holdings_from=plan, sites="edges,devices")
    assert every["objective"] == pytest.approx(h["objective"], abs=1e-9)
    devices = dnnrm.simulate("static-placement", ep, holdings_from=plan, sites="devices")["objective"]
    one_by_one = ",".join(f"device:{n}" for n in range(SMALL["n_devices"]))
    assert dnnrm.simulate("static-placement", ep, holdings_from=plan, sites=one_by_one)["objective"] == devices
    with pytest.raises(dnnrm.DnnrmError, match="unknown site `cloud`"):
        dnnrm.simulate("static-placement", ep, holdings_from=plan, sites="cloud")
    with pytest.raises(dnnrm.DnnrmError, match="go together"):
        dnnrm.simulate("static-placement", ep, holdings_from=plan)
    other = dnnrm.generate_episode(SMALL, {"n_slots": 5}, seed=5)
    with pytest.raises(dnnrm.DnnrmError, match="6 slots of decisions for an episode of 5"):
        dnnrm.simulate("static-placement", other, holdings_from=plan, sites="edges")
    with pytest.raises(dnnrm.DnnrmError, match="decisions of episode `episode5`, not `episode6`"):
        dnnrm.simulate("static-placement", dnnrm.generate_episode(SMALL, SHORT, seed=6), holdings_from=plan, sites="edges")


def test_episodes_simulate_and_hindsight_agree_with_the_cli(cli, tmp_path):
    ep = dnnrm.generate_episode(SMALL, SHORT, seed=5)
    assert ep.to_json() == dnnrm.generate_episode(SMALL, SHORT, seed=5).to_json()
    path = tmp_path / "ep.json"
    path.write_text(ep.to_json())
    run = dnnrm.simulate("lfu", ep)
    rust = metric(cli("simulate", "--policy", "lfu", "--episode", str(path)), "objective")
    assert run["objective"] == pytest.approx(rust, abs=1e-6)
    assert dnnrm.evaluate_episode(ep, run["decisions"])["objective"] == run["objective"]
    h = dnnrm.hindsight(ep)
    assert h["status"] == "optimal"
    assert h["objective"] >= run["objective"] - 1e-9
    assert h["objective"] == pytest.approx(metric(cli("simulate", "--policy", "hindsight", "--episode", str(path)), "objective"), abs=1e-6)
    # A decision that breaks a rule is refused by the episode evaluator, naming the slot.
    d = json.loads(run["decisions"])
    d["slots"][0]["hold"]["edges"][0] = list(range(ep.n_models))
    with pytest.raises(dnnrm.ConstraintViolation, match="slot 0: storage") as e:
        dnnrm.evaluate_episode(ep, d)
    assert e.value.constraint == "storage"
