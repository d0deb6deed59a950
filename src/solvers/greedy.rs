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
//! 3. **Task order: gain per priced resource.** Every (task, option) pair that beats
//!    the task's base is scored `(alpha_k - base) / (2 w r / NB_m + 2 (1 - w) u / U_m)`;
//!    pairs are taken in decreasing score (ties: larger gain, then lower task index)
//!    and applied when they raise the task's accuracy and fit in the remaining RBs and
//!    units. The RB price `w` says which resource is scarce on the server: step 3 runs
//!    for each price of [`RB_PRICES`] and for the server's *scarcity price* (the share
//!    of the RB demand in the total demand, each relative to its capacity, when every
//!    task takes its best option), and the server keeps the most accurate result.
//!    `w = 0.5` is the equal pricing of earlier versions; when units are plentiful and
//!    RBs scarce (offload-bound factories) a higher `w` stops units from being charged
//!    as if they were as scarce as RBs.
//!
//! Under a time limit the construction checks the deadline before each server and
//! before each price of step 3 (one price is a sort of every (task, option) pair of the
//! server: 0.3 s at 1000 tasks, 1000 RBs and 1e5 units). When it has passed, it stops
//! there: the interrupted server keeps its base, its cache and the best of the prices
//! that ran, the tasks of later servers run their best local model, or are rejected
//! without one (status `time-limit`): a stopped answer is never below `local-only`.

use std::cmp::Ordering;
use std::time::Instant;

use super::partial::{accuracy, cost, Partial};
use crate::model::{enumerate_options, Decision, Instance, Location};
use crate::solver::{expired, SolveOptions, SolveReport, Solver, SolverError, Status};

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

/// RB prices `w` that step 3 tries on every server (besides the scarcity price).
pub const RB_PRICES: [f64; 5] = [0.5, 0.0, 0.25, 0.75, 1.0];

/// Resource cost of an assignment with RBs priced `w` and units `1 - w`:
/// `2 w r / NB_m + 2 (1 - w) u / U_m` (equal to [`cost`] at `w = 0.5`).
pub fn priced_cost(inst: &Instance, n: usize, d: &Decision, w: f64) -> f64 {
    d.assignment().map_or(0.0, |a| {
        let e = &inst.edges[inst.devices[n].edge];
        2.0 * w * f64::from(a.rbs) / f64::from(e.rbs)
            + 2.0 * (1.0 - w) * f64::from(a.units) / f64::from(e.units)
    })
}

/// The scarcity price of RBs on a server: with every task on its most accurate shared
/// option (the cheapest such), the RB demand over NB against the unit demand over U.
pub fn scarcity_price(p: &Partial, tasks: &[usize]) -> f64 {
    let inst = p.inst;
    let (mut rb, mut units) = (0.0, 0.0);
    for &n in tasks {
        let e = &inst.edges[inst.devices[n].edge];
        let best = p
            .candidates(n)
            .filter(|d| matches!(d.assignment(), Some(a) if a.location != Location::Local))
            .max_by(|a, b| {
                accuracy(inst, a)
                    .total_cmp(&accuracy(inst, b))
                    .then(cost(inst, n, b).total_cmp(&cost(inst, n, a)))
            });
        if let Some(a) = best.as_ref().and_then(|d| d.assignment()) {
            if inst.models[a.model].accuracy > p.accuracy_of(n) {
                rb += f64::from(a.rbs) / f64::from(e.rbs);
                units += f64::from(a.units) / f64::from(e.units);
            }
        }
    }
    if rb + units > 0.0 {
        rb / (rb + units)
    } else {
        0.5
    }
}

/// Assigns the tasks by gain per resource (step 3) at the equal price, among the
/// candidates `allowed` accepts. Tasks keep their current decision unless an option
/// improves it.
pub fn assign_by_ratio(p: &mut Partial, tasks: &[usize], allowed: &dyn Fn(&Decision) -> bool) {
    assign_by_price(p, tasks, allowed, 0.5)
}

/// Step 3 with RBs priced `w` (see [`priced_cost`]).
pub fn assign_by_price(p: &mut Partial, tasks: &[usize], allowed: &dyn Fn(&Decision) -> bool, w: f64) {
    let inst = p.inst;
    let mut cands: Vec<(f64, f64, usize, Decision)> = Vec::new();
    for &n in tasks {
        let base = p.accuracy_of(n);
        for d in p.candidates(n) {
            let gain = accuracy(inst, &d) - base;
            let is_shared = matches!(d.assignment(), Some(a) if a.location != Location::Local);
            if gain > 0.0 && is_shared && allowed(&d) {
                cands.push((gain / priced_cost(inst, n, &d, w).max(1e-12), gain, n, d));
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

/// Step 3 at every price (see the module docs); keeps the most accurate assignment of
/// the server's tasks (ties: the earlier price). Tries no further price once `deadline`
/// has passed (`p` then keeps the best of those that ran, or is unchanged when none
/// did); returns whether every price ran.
pub fn assign_best_price(
    p: &mut Partial,
    tasks: &[usize],
    allowed: &dyn Fn(&Decision) -> bool,
    deadline: Option<Instant>,
) -> bool {
    let start = p.clone();
    let scarcity = scarcity_price(p, tasks);
    let mut best: Option<(f64, Partial)> = None;
    let mut complete = true;
    for w in RB_PRICES.into_iter().chain([scarcity]) {
        if expired(deadline) {
            complete = false;
            break;
        }
        let mut q = start.clone();
        assign_by_price(&mut q, tasks, allowed, w);
        let total: f64 = tasks.iter().map(|&n| q.accuracy_of(n)).sum();
        if best.as_ref().is_none_or(|(b, _)| total > b + 1e-12) {
            best = Some((total, q));
        }
    }
    if let Some((_, q)) = best {
        *p = q;
    }
    complete
}

/// Steps 1 to 3 for the tasks of edge `m` (whose cache is assumed empty); returns
/// whether step 3 ran to the end (see [`assign_best_price`]).
pub fn greedy_edge(p: &mut Partial, m: usize, tasks: &[usize], deadline: Option<Instant>) -> bool {
    for &n in tasks {
        p.set_best_local(n);
    }
    cache_by_coverage(p, m, tasks);
    assign_best_price(p, tasks, &|_| true, deadline)
}

/// The greedy solution of a whole instance.
pub fn greedy_solution<'a>(inst: &'a Instance, opts: &'a [crate::model::TaskOptions]) -> Partial<'a> {
    greedy_solution_until(inst, opts, None).0
}

/// The greedy solution built until `deadline` (see the module docs), and the server at
/// which the deadline stopped it (`None`: complete). Servers before it are complete; the
/// tasks it did not reach run their best local model.
pub fn greedy_solution_until<'a>(
    inst: &'a Instance,
    opts: &'a [crate::model::TaskOptions],
    deadline: Option<Instant>,
) -> (Partial<'a>, Option<usize>) {
    let mut p = Partial::new(inst, opts);
    for m in 0..inst.edges.len() {
        if expired(deadline) || !greedy_edge(&mut p, m, &inst.tasks_of_edge(m), deadline) {
            p.rejected_to_local();
            return (p, Some(m));
        }
    }
    (p, None)
}

/// The report's status and reason when a construction stopped at server `stopped` of
/// `servers` (`None`: complete, with the reason `done`).
pub fn construction_status(stopped: Option<usize>, servers: usize, done: String) -> (Status, String) {
    match stopped {
        None => (Status::Heuristic, done),
        Some(m) => (
            Status::TimeLimit,
            format!(
                "time limit reached with {m} of {servers} edge server(s) complete; \
                 tasks not yet assigned run their best local model (or are rejected)"
            ),
        ),
    }
}

/// The `greedy` solver.
#[derive(Debug, Default, Clone)]
pub struct Greedy;

impl Solver for Greedy {
    fn name(&self) -> &str {
        "greedy"
    }

    fn solve(&self, inst: &Instance, opts: &SolveOptions) -> Result<SolveReport, SolverError> {
        let deadline = opts.deadline(Instant::now());
        let options = enumerate_options(inst);
        let (p, stopped) = greedy_solution_until(inst, &options, deadline);
        let (status, reason) =
            construction_status(stopped, inst.edges.len(), "greedy construction complete".to_string());
        Ok(SolveReport::new(p.into_solution(), status, reason))
    }
}
