//! The bodies of the fuzz targets, shared by `fuzz/fuzz_targets/*.rs` (cargo fuzz) and
//! `tests/fuzz_corpus.rs` (corpus replay and a seeded mutation run on stable Rust).
//!
//! Each body returns `Ok` when the input was handled as it should be (refused with an
//! error, or accepted and every property held) and `Err` naming the broken property. A
//! panic anywhere below is a failure too: the fuzzer reports it as a crash, the test
//! fails.
#![allow(dead_code)]

use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use dnnrm::io::json::{parse_instance, parse_solution};
use dnnrm::model::options::min_units;
use dnnrm::model::{enumerate_options, evaluate, Instance, Location};
use dnnrm::scenario::{generate, ScenarioParams};
use dnnrm::solver::{SolveOptions, Solver};
use dnnrm::solvers::{Greedy, GreedyLocalSearch, OnlyLocation, RandomSolver};

/// How an input was handled.
#[derive(Debug, Clone, PartialEq)]
pub enum Handled {
    /// Refused with an error message (parse, validation).
    Refused(String),
    /// Accepted; every property held.
    Accepted,
}

/// Every heuristic solver, constructed directly.
pub fn heuristics() -> Vec<Box<dyn Solver>> {
    vec![
        Box::new(RandomSolver),
        Box::new(OnlyLocation(Location::Local)),
        Box::new(OnlyLocation(Location::Edge)),
        Box::new(OnlyLocation(Location::Cloud)),
        Box::new(Greedy),
        Box::new(GreedyLocalSearch),
    ]
}

/// Compute-unit counts up to which [`min_units`] is checked against a linear scan.
const LINEAR_CHECK_UNITS: u32 = 64;

/// Target `instance`: bytes -> instance JSON -> validation -> option enumeration ->
/// every heuristic -> the evaluator must accept each answer.
pub fn instance_pipeline(data: &[u8]) -> Result<Handled, String> {
    let Ok(text) = std::str::from_utf8(data) else {
        return Ok(Handled::Refused("not UTF-8".into()));
    };
    let inst = match parse_instance(text, Path::new("<fuzz>")) {
        Ok(inst) => inst,
        Err(e) => {
            let msg = e.to_string();
            if msg.trim().is_empty() {
                return Err("an instance was refused with an empty message".into());
            }
            return Ok(Handled::Refused(msg));
        }
    };
    check_options(&inst)?;
    let opts = SolveOptions { seed: 7, time_limit: Some(Duration::from_millis(20)), threads: 1 };
    for solver in heuristics() {
        let report = solver.solve(&inst, &opts).map_err(|e| format!("{}: {e}", solver.name()))?;
        let eval = evaluate(&inst, &report.solution)
            .map_err(|v| format!("the evaluator refuses the answer of `{}`: {v}", solver.name()))?;
        if !(0.0..=1.0).contains(&eval.objective) {
            return Err(format!("{}: objective {} outside [0, 1]", solver.name(), eval.objective));
        }
    }
    Ok(Handled::Accepted)
}

/// Properties of option enumeration on a valid instance: Pareto lists strictly
/// increasing in `r` and decreasing in `u`, in range; `min_units` equal to a linear
/// scan when the edge has few units.
fn check_options(inst: &Instance) -> Result<(), String> {
    let all = enumerate_options(inst);
    if all.len() != inst.devices.len() {
        return Err(format!("{} option lists for {} tasks", all.len(), inst.devices.len()));
    }
    for (n, o) in all.iter().enumerate() {
        let e = &inst.edges[inst.devices[n].edge];
        for eo in &o.edge {
            let ok = eo.pareto.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 > w[1].1)
                && eo.pareto.iter().all(|&(r, u)| (1..=e.rbs).contains(&r) && (1..=e.units).contains(&u));
            if eo.pareto.is_empty() || !ok {
                return Err(format!("task {n} model {}: bad Pareto list {:?}", eo.model, eo.pareto));
            }
        }
        if e.units <= LINEAR_CHECK_UNITS {
            for eo in &o.edge {
                for r in [1, e.rbs] {
                    let fast = min_units(inst, n, eo.model, r);
                    let slow = (1..=e.units).find(|&u| {
                        dnnrm::model::meets_deadline(
                            dnnrm::model::delay::edge_delay(inst, n, eo.model, r, u),
                            inst.devices[n].task.deadline_s,
                        )
                    });
                    if fast != slow {
                        return Err(format!(
                            "task {n} model {} r {r}: min_units {fast:?}, scan {slow:?}",
                            eo.model
                        ));
                    }
                }
            }
        }
        for co in &o.cloud {
            if !(1..=e.rbs).contains(&co.rbs) {
                return Err(format!("task {n} model {}: cloud RBs {} out of range", co.model, co.rbs));
            }
        }
    }
    Ok(())
}

/// The small valid instances of target `solution`, chosen by the first input byte.
pub fn solution_instances() -> &'static [Instance] {
    static INSTANCES: OnceLock<Vec<Instance>> = OnceLock::new();
    INSTANCES.get_or_init(|| {
        [(1, 1, 0u64), (3, 1, 1), (5, 2, 2), (8, 3, 3)]
            .iter()
            .map(|&(n_devices, n_edges, seed)| {
                let params = ScenarioParams { n_devices, n_edges, ..ScenarioParams::default() };
                let sc = params.check().expect("the default scenario is valid");
                generate(&sc, seed, &format!("fuzz-n{n_devices}-m{n_edges}"))
            })
            .collect()
    })
}

/// Target `solution`: the first byte picks a small valid instance, the rest is solution
/// JSON; the evaluator must return an evaluation or a named violation, never panic.
pub fn solution_pipeline(data: &[u8]) -> Result<Handled, String> {
    let Some((&pick, rest)) = data.split_first() else {
        return Ok(Handled::Refused("empty".into()));
    };
    let instances = solution_instances();
    let inst = &instances[usize::from(pick) % instances.len()];
    let Ok(text) = std::str::from_utf8(rest) else {
        return Ok(Handled::Refused("not UTF-8".into()));
    };
    let sol = match parse_solution(text, Path::new("<fuzz>")) {
        Ok(sol) => sol,
        Err(e) => return Ok(Handled::Refused(e.to_string())),
    };
    match evaluate(inst, &sol) {
        Err(v) => {
            let msg = v.to_string();
            if msg.trim().is_empty() || v.constraint().is_empty() {
                return Err(format!("a violation without a message: {v:?}"));
            }
            Ok(Handled::Refused(msg))
        }
        Ok(eval) => {
            let n = inst.devices.len();
            let c = eval.counts;
            let sane = (0.0..=1.0).contains(&eval.objective)
                && (0.0..=1.0).contains(&eval.served_fraction)
                && (0.0..=1.0).contains(&eval.rb_utilisation)
                && (0.0..=1.0).contains(&eval.compute_utilisation)
                && c.local + c.edge + c.cloud + c.rejected == n
                && eval.tasks.len() == n;
            if sane {
                Ok(Handled::Accepted)
            } else {
                Err(format!("an accepted solution has an impossible evaluation: {eval:?}"))
            }
        }
    }
}
