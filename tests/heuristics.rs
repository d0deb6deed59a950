//! Every heuristic returns solutions the evaluator accepts, over hundreds of seeded
//! random instances; seeds give identical answers, and so does a time limit that does
//! not bind; greedy-ls never loses to greedy; `dp` and `greedy` stop at a time limit
//! with a valid answer that says so.

mod common;

use std::time::Duration;

use common::small_random;
use dnnrm::model::{evaluate, Instance};
use dnnrm::scenario::{generate, ScenarioParams};
use dnnrm::solver::{SolveOptions, SolverSettings, Status};
use dnnrm::solvers::{create, registry};

const HEURISTICS: [&str; 6] = ["random", "local-only", "edge-only", "cloud-only", "greedy", "greedy-ls"];

#[test]
fn every_heuristic_is_feasible_on_250_random_instances() {
    let solvers: Vec<_> = HEURISTICS.iter().map(|n| create(n, &SolverSettings::default()).unwrap()).collect();
    let mut served_somewhere = 0;
    for seed in 0..250 {
        let inst = small_random(seed);
        inst.validate().unwrap();
        let mut objectives = Vec::new();
        for s in &solvers {
            let rep = s.solve(&inst, &SolveOptions { seed, ..Default::default() }).unwrap();
            let ev =
                evaluate(&inst, &rep.solution).unwrap_or_else(|v| panic!("{} on seed {seed}: {v}", s.name()));
            objectives.push(ev.objective);
        }
        // greedy-ls starts from greedy and only accepts improvements.
        assert!(objectives[5] >= objectives[4] - 1e-12, "seed {seed}: {objectives:?}");
        // greedy takes the best local option first, so it is never below local-only.
        assert!(objectives[4] >= objectives[1] - 1e-12, "seed {seed}: {objectives:?}");
        if objectives[5] > 0.0 {
            served_somewhere += 1;
        }
    }
    assert!(served_somewhere > 150, "the random instances must not be trivial: {served_somewhere}");
}

#[test]
fn same_seed_same_solution_with_or_without_a_time_limit_that_does_not_bind() {
    let generous = SolveOptions { seed: 5, time_limit: Some(Duration::from_secs(60)), ..Default::default() };
    // Learned solvers need checkpoints; their determinism is tested with them.
    for info in registry().iter().filter(|i| !i.learned && i.name != "milp" && i.name != "milp-lp") {
        let s = (info.build)(&SolverSettings::default()).unwrap();
        for seed in [11, 0, 1, 2, 3, 4, 5, 6, 7, 8] {
            let inst = small_random(seed);
            let a = s.solve(&inst, &SolveOptions { seed: 5, ..Default::default() }).unwrap();
            let b = s.solve(&inst, &SolveOptions { seed: 5, ..Default::default() }).unwrap();
            assert_eq!(a.solution, b.solution, "{} on seed {seed}", info.name);
            let c = s.solve(&inst, &generous).unwrap();
            assert_eq!((a.solution, a.status), (c.solution, c.status), "{} on seed {seed}", info.name);
        }
    }
}

/// `dp` and `greedy` check the deadline during their construction (per server, per task
/// of `dp`'s table, per price of the priced step) and stop there: whatever the limit,
/// the answer is valid, and it is either flagged `time-limit` (no bound) or the answer
/// without a limit. A zero limit stops them before the first server, where every task
/// runs its best local model (`local-only`'s answer), and so does 1 ms on the first
/// instance, whose option enumeration alone takes 0.16 s; the other limits stop them at
/// timing-dependent points. `greedy-ls` stops its `greedy` start the same way.
#[test]
fn dp_greedy_and_greedy_ls_stop_at_a_tiny_time_limit_with_a_valid_answer_flagged_time_limit() {
    let instance = |n_devices, n_edges, rbs, edge_units| -> Instance {
        let sc = ScenarioParams { n_devices, n_edges, rbs, edge_units, ..ScenarioParams::default() }
            .check()
            .unwrap();
        generate(&sc, 1, "large")
    };
    let cases = [
        // One server above dp's table limit (the priced step, about 0.3 s per price): the
        // instance of hardening::a_time_limit_bounds_the_whole_milp_solve_model_build_included.
        (instance(1000, 1, 1000, 100_000), [0, 1, 300], 1),
        // Two servers whose tables fit (about 0.3 s for dp, 0.04 s for greedy).
        (instance(400, 2, 100, 1000), [0, 1, 20], 0),
    ];
    for (inst, limits_ms, stops_up_to_ms) in &cases {
        let local = create("local-only", &SolverSettings::default())
            .unwrap()
            .solve(inst, &SolveOptions::default())
            .unwrap();
        for name in ["dp", "greedy", "greedy-ls"] {
            let s = create(name, &SolverSettings::default()).unwrap();
            let mut unlimited = None;
            for &ms in limits_ms {
                let opts = SolveOptions { time_limit: Some(Duration::from_millis(ms)), ..Default::default() };
                let rep = s.solve(inst, &opts).unwrap();
                let what = format!("{name} at {ms} ms on N = {}: {}", inst.n_tasks(), rep.reason);
                evaluate(inst, &rep.solution).unwrap_or_else(|v| panic!("{what}: {v}"));
                if ms <= *stops_up_to_ms {
                    assert_eq!(rep.status, Status::TimeLimit, "{what}");
                    assert_eq!(rep.solution, local.solution, "{what}: every task runs its best local model");
                }
                if rep.status == Status::TimeLimit {
                    assert!(rep.bound.is_none() && rep.reason.starts_with("time limit reached"), "{what}");
                } else {
                    let full =
                        unlimited.get_or_insert_with(|| s.solve(inst, &SolveOptions::default()).unwrap());
                    assert_eq!((&rep.solution, rep.status), (&full.solution, full.status), "{what}");
                }
            }
        }
    }
}

#[test]
fn greedy_ls_beats_the_simple_baselines_on_default_instances() {
    let sc = ScenarioParams::default().check().unwrap();
    let mean = |name: &str| {
        let s = create(name, &SolverSettings::default()).unwrap();
        (0..10)
            .map(|seed| {
                let inst = generate(&sc, 100 + seed, "d");
                evaluate(&inst, &s.solve(&inst, &SolveOptions::default()).unwrap().solution)
                    .unwrap()
                    .objective
            })
            .sum::<f64>()
            / 10.0
    };
    let ls = mean("greedy-ls");
    for other in ["random", "local-only", "edge-only", "cloud-only"] {
        assert!(ls > mean(other), "greedy-ls {ls} vs {other}");
    }
}

#[test]
fn unknown_solver_lists_the_known_ones() {
    let e = create("simplex", &SolverSettings::default()).err().unwrap().to_string();
    assert!(e.contains("simplex") && e.contains("greedy-ls"), "{e}");
}
