//! `greedy-ls`: the greedy solution improved by local search, one edge server at a
//! time (edge servers share nothing), until no move improves or the time limit hits.
//!
//! Assignment moves, with the cache fixed (first improvement, repeated):
//! - **re-assign** one task to any option that fits: accepted when it raises the
//!   accuracy, or keeps it and frees resources (lower `r/NB + u/U`);
//! - **downgrade-upgrade** a pair: one task moves to a less accurate or cheaper option
//!   (another model, another location, rejection) so that another task can take a more
//!   accurate one; accepted when the sum of accuracies rises.
//!
//! Cache moves (each candidate cache is re-solved by greedy assignment plus the moves
//! above, and kept when it raises the server's accuracy): **add** a model that fits,
//! **drop** a cached model, **swap** a cached model for one that is not.

use std::time::Instant;

use super::greedy::{assign_by_ratio, greedy_solution_until};
use super::partial::{accuracy, cost, Partial};
use crate::model::{enumerate_options, Decision, Instance};
use crate::solver::{expired, SolveOptions, SolveReport, Solver, SolverError, Status};

/// Strictly better: more accurate, or as accurate and cheaper.
fn better(acc_new: f64, cost_new: f64, acc_old: f64, cost_old: f64) -> bool {
    acc_new > acc_old + 1e-12 || (acc_new >= acc_old - 1e-12 && cost_new < cost_old - 1e-12)
}

/// One pass of re-assign moves; returns whether any move was applied.
fn reassign_pass(p: &mut Partial, tasks: &[usize]) -> bool {
    let inst = p.inst;
    let mut improved = false;
    for &n in tasks {
        let (mut acc, mut c) = (p.accuracy_of(n), cost(inst, n, p.decision(n)));
        for d in p.candidates(n) {
            let (a2, c2) = (accuracy(inst, &d), cost(inst, n, &d));
            if better(a2, c2, acc, c) && p.fits(n, &d) {
                p.set(n, d);
                (acc, c) = (a2, c2);
                improved = true;
            }
        }
    }
    improved
}

/// One pass of downgrade-upgrade pair moves; returns after the first applied move.
fn pair_pass(p: &mut Partial, tasks: &[usize], deadline: Option<Instant>) -> bool {
    let inst = p.inst;
    for &b in tasks {
        let acc_b = p.accuracy_of(b);
        let ups: Vec<Decision> = p.candidates(b).filter(|d| accuracy(inst, d) > acc_b + 1e-12).collect();
        if ups.is_empty() {
            continue;
        }
        if expired(deadline) {
            return false;
        }
        for &a in tasks {
            if a == b || p.decision(a).assignment().is_none_or(|x| x.rbs == 0 && x.units == 0) {
                continue; // `a` must hold resources to free
            }
            let (old_a, old_b) = (*p.decision(a), *p.decision(b));
            let acc_a = p.accuracy_of(a);
            let downs: Vec<Decision> =
                p.candidates(a).filter(|d| cost(inst, a, d) < cost(inst, a, &old_a)).collect();
            for &up in &ups {
                let gain = accuracy(inst, &up) - acc_b;
                for &down in &downs {
                    if acc_a - accuracy(inst, &down) >= gain - 1e-12 || !p.fits(a, &down) {
                        continue;
                    }
                    p.set(a, down);
                    if p.fits(b, &up) {
                        p.set(b, up);
                        return true;
                    }
                    p.set(a, old_a);
                    debug_assert_eq!(*p.decision(b), old_b);
                }
            }
        }
    }
    false
}

/// Applies assignment moves until none improves or the deadline passes.
pub fn improve_assignment(p: &mut Partial, tasks: &[usize], deadline: Option<Instant>) {
    while !expired(deadline) {
        if reassign_pass(p, tasks) {
            continue;
        }
        if !pair_pass(p, tasks, deadline) {
            break;
        }
    }
}

/// Re-solves edge `m` for a given cache: rejects its tasks, caches `cache`, then
/// best-local, gain-per-resource assignment and assignment moves.
fn solve_edge_with_cache(
    p: &mut Partial,
    m: usize,
    tasks: &[usize],
    cache: &[usize],
    deadline: Option<Instant>,
) {
    for k in p.cache(m) {
        p.cache_remove(m, k);
    }
    for &n in tasks {
        p.set(n, Decision::Reject);
    }
    for &k in cache {
        p.cache_add(m, k);
    }
    for &n in tasks {
        p.set_best_local(n);
    }
    assign_by_ratio(p, tasks, &|_| true);
    improve_assignment(p, tasks, deadline);
}

/// Cache moves on edge `m`; returns false when stopped by the deadline.
pub fn improve_cache(p: &mut Partial, m: usize, tasks: &[usize], deadline: Option<Instant>) -> bool {
    let inst = p.inst;
    // Only models some task of this server could run at the edge are worth caching.
    let useful: Vec<usize> = (0..inst.models.len())
        .filter(|&k| tasks.iter().any(|&n| p.opts[n].edge.iter().any(|o| o.model == k)))
        .collect();
    improve_assignment(p, tasks, deadline);
    let mut best_value = p.accuracy_sum(tasks);
    loop {
        let cache = p.cache(m);
        let snapshot: Vec<Decision> = tasks.iter().map(|&n| *p.decision(n)).collect();
        let mut candidates: Vec<Vec<usize>> = Vec::new();
        for &k in &useful {
            if cache.contains(&k) {
                candidates.push(cache.iter().copied().filter(|&x| x != k).collect());
            } else {
                let mut c = cache.clone();
                c.push(k);
                candidates.push(c);
                for &out in &cache {
                    candidates.push(cache.iter().copied().filter(|&x| x != out).chain([k]).collect());
                }
            }
        }
        let cap = inst.edges[m].cache_mb;
        let mut improved = false;
        for cand in candidates {
            if cand.iter().map(|&k| inst.models[k].size_mb).sum::<f64>() > cap {
                continue;
            }
            if expired(deadline) {
                restore(p, m, tasks, &cache, &snapshot);
                return false;
            }
            solve_edge_with_cache(p, m, tasks, &cand, deadline);
            let value = p.accuracy_sum(tasks);
            if value > best_value + 1e-12 {
                best_value = value;
                improved = true;
                break;
            }
        }
        if !improved {
            restore(p, m, tasks, &cache, &snapshot);
            return true;
        }
    }
}

fn restore(p: &mut Partial, m: usize, tasks: &[usize], cache: &[usize], decisions: &[Decision]) {
    for k in p.cache(m) {
        p.cache_remove(m, k);
    }
    for &n in tasks {
        p.set(n, Decision::Reject);
    }
    for &k in cache {
        p.cache_add(m, k);
    }
    for (&n, &d) in tasks.iter().zip(decisions) {
        p.set(n, d);
    }
}

/// The `greedy-ls` solver.
#[derive(Debug, Default, Clone)]
pub struct GreedyLocalSearch;

impl Solver for GreedyLocalSearch {
    fn name(&self) -> &str {
        "greedy-ls"
    }

    fn solve(&self, inst: &Instance, opts: &SolveOptions) -> Result<SolveReport, SolverError> {
        let deadline = opts.deadline(Instant::now());
        let options = enumerate_options(inst);
        let (mut p, stopped) = greedy_solution_until(inst, &options, deadline);
        let mut complete = stopped.is_none();
        for m in 0..inst.edges.len() {
            complete &= improve_cache(&mut p, m, &inst.tasks_of_edge(m), deadline);
        }
        let (status, reason) = if complete {
            (Status::Heuristic, "local optimum: no move improves")
        } else {
            (Status::TimeLimit, "time limit reached before a local optimum")
        };
        Ok(SolveReport::new(p.into_solution(), status, reason))
    }
}
