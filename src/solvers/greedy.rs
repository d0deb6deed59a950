//! `greedy`: the constructive heuristic. Edge servers are independent (every shared
//! resource belongs to one edge server), so it solves each edge server's tasks apart.
//!
//! 1. **Base.** Every task takes its most accurate local option (it costs no shared
//!    resource), or is rejected.
//! 2. **Cache policy: coverage per MB.** Repeatedly cache the model with the largest
//!    `gain / S_k` that still fits, where `gain` sums, over the server's tasks that
//!    have an edge option with that model, the accuracy it adds above what the task
//!    already has (its base, raised by the models already chosen). Stops when no model
//!    with a positive gain fits.
//! 3. **Task order: gain per resource.** Every (task, option) pair that beats the
//!    task's base is scored `(alpha_k - base) / (r / NB_m + u / U_m)`; pairs are taken
//!    in decreasing score (ties: larger gain, then lower task index) and applied when
//!    they raise the task's accuracy and fit in the remaining RBs and units.

use std::cmp::Ordering;

use super::partial::{accuracy, cost, Partial};
use crate::model::{enumerate_options, Decision, Instance, Location};
use crate::solver::{SolveOptions, SolveReport, Solver, SolverError, Status};

/// Caches models at edge `m` by coverage per MB (step 2), for the given tasks.
pub fn cache_by_coverage(p: &mut Partial, m: usize, tasks: &[usize]) {
    let inst = p.inst;
    let mut base: Vec<f64> = tasks.iter().map(|&n| p.accuracy_of(n)).collect();
    loop {
        let mut best: Option<(f64, usize)> = None;
        for k in 0..inst.models.len() {
            if !p.cache_fits(m, k) {
                continue;
            }
            let alpha = inst.models[k].accuracy;
            let gain: f64 = tasks
                .iter()
                .zip(&base)
                .filter(|(&n, _)| p.opts[n].edge.iter().any(|o| o.model == k))
                .map(|(_, &b)| (alpha - b).max(0.0))
                .sum();
            if gain <= 0.0 {
                continue;
            }
            let score = gain / inst.models[k].size_mb.max(1e-9);
            if best.is_none_or(|(s, _)| score > s) {
                best = Some((score, k));
            }
        }
        let Some((_, k)) = best else { break };
        p.cache_add(m, k);
        let alpha = inst.models[k].accuracy;
        for (i, &n) in tasks.iter().enumerate() {
            if p.opts[n].edge.iter().any(|o| o.model == k) {
                base[i] = base[i].max(alpha);
            }
        }
    }
}

/// Assigns the tasks by gain per resource (step 3), among the candidates `allowed`
/// accepts. Tasks keep their current decision unless an option improves it.
pub fn assign_by_ratio(p: &mut Partial, tasks: &[usize], allowed: &dyn Fn(&Decision) -> bool) {
    let inst = p.inst;
    let mut cands: Vec<(f64, f64, usize, Decision)> = Vec::new();
    for &n in tasks {
        let base = p.accuracy_of(n);
        for d in p.candidates(n) {
            let gain = accuracy(inst, &d) - base;
            let is_shared = matches!(d.assignment(), Some(a) if a.location != Location::Local);
            if gain > 0.0 && is_shared && allowed(&d) {
                cands.push((gain / cost(inst, n, &d), gain, n, d));
            }
        }
    }
    cands.sort_by(|a, b| {
        b.0.partial_cmp(&a.0)
            .unwrap_or(Ordering::Equal)
            .then(b.1.partial_cmp(&a.1).unwrap_or(Ordering::Equal))
            .then(a.2.cmp(&b.2))
    });
    for (_, _, n, d) in cands {
        if accuracy(inst, &d) > p.accuracy_of(n) && p.fits(n, &d) {
            p.set(n, d);
        }
    }
}

/// Steps 1 to 3 for the tasks of edge `m` (whose cache is assumed empty).
pub fn greedy_edge(p: &mut Partial, m: usize, tasks: &[usize]) {
    for &n in tasks {
        p.set_best_local(n);
    }
    cache_by_coverage(p, m, tasks);
    assign_by_ratio(p, tasks, &|_| true);
}

/// The greedy solution of a whole instance.
pub fn greedy_solution<'a>(inst: &'a Instance, opts: &'a [crate::model::TaskOptions]) -> Partial<'a> {
    let mut p = Partial::new(inst, opts);
    for m in 0..inst.edges.len() {
        greedy_edge(&mut p, m, &inst.tasks_of_edge(m));
    }
    p
}

/// The `greedy` solver.
#[derive(Debug, Default, Clone)]
pub struct Greedy;

impl Solver for Greedy {
    fn name(&self) -> &str {
        "greedy"
    }

    fn solve(&self, inst: &Instance, _opts: &SolveOptions) -> Result<SolveReport, SolverError> {
        let options = enumerate_options(inst);
        let p = greedy_solution(inst, &options);
        Ok(SolveReport::new(p.into_solution(), Status::Heuristic, "greedy construction complete"))
    }
}
