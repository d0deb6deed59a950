//! `dp`: the exact assignment of a slot's tasks to a fixed cache, by dynamic
//! programming over each edge server's RBs and compute units.
//!
//! With the cache fixed, edge servers share nothing, and one server's problem is a
//! multiple-choice knapsack in two dimensions: each task takes one option (rejection or
//! its best local model, which cost nothing shared, or an edge `(model, r, u)` Pareto
//! pair, or a cloud `(model, r)`), the RBs summing to at most `NB_m` and the units to at
//! most `U_m`. The table `V[r][u]` (the largest accuracy sum of the tasks so far using at
//! most `r` RBs and `u` units) takes one task at a time:
//!
//! `V'[r][u] = max(V[r][u] + base_n, max_o V[r - r_o][u - u_o] + alpha_o)`
//!
//! in `O(|options| NB_m U_m)` per task; a choice table per task gives the assignment
//! back. Options no better than the task's base, or dominated by another option (as
//! accurate or more, no more RBs, no more units), are dropped first.
//!
//! The `dp` solver caches, at each server, every resident model when the placement is
//! fixed ([`Instance::resident`]: the resident set fits by validation and caching costs
//! nothing, so this is optimal) and otherwise `greedy`'s coverage-per-MB cache. With a
//! fixed placement its answer is therefore the per-slot optimum (status `optimal`, equal
//! to `milp`: tested), in about a millisecond at N = 50 where `milp` takes 30-300 ms; the
//! online policies assign every slot with it. Without one it is a heuristic (the cache is
//! `greedy`'s).
//!
//! A server whose table would exceed [`MAX_TABLE`] entries (tasks x (NB+1) x (U+1); far
//! above the documented scenarios) is assigned by `greedy`'s priced step 3 instead, and
//! the report says so (status `heuristic`).
//!
//! Under a time limit the solver checks the deadline before each server, before each
//! task of a server's table and before each price of the priced step. When it has
//! passed, it stops there: an interrupted table assigns the tasks it has taken (their
//! optimum for the server), an interrupted priced step keeps the best price that ran,
//! and every task not reached runs its best local model, or is rejected without one
//! (status `time-limit`, no bound): a stopped answer is never below `local-only`.

use std::time::Instant;

use super::greedy::{assign_best_price, cache_by_coverage, construction_status};
use super::partial::Partial;
use crate::model::{enumerate_options, Assignment, Decision, Instance, Solution};
use crate::solver::{expired, SolveOptions, SolveReport, Solver, SolverError, Status};

/// Largest choice table (entries) one server may use: 64 MB of `u16`.
pub const MAX_TABLE: u64 = 32_000_000;

/// One option of a task that uses shared resources.
#[derive(Debug, Clone, Copy)]
struct Opt {
    acc: f64,
    r: usize,
    u: usize,
    a: Assignment,
}

/// The shared-resource options of task `n` worth more than `base`, dominated ones removed.
fn task_opts(p: &Partial, m: usize, n: usize, base: f64) -> Vec<Opt> {
    let inst = p.inst;
    let o = &p.opts[n];
    let mut all: Vec<Opt> = Vec::new();
    for e in o.edge.iter().filter(|e| p.is_cached(m, e.model)) {
        let acc = inst.models[e.model].accuracy;
        if acc > base {
            for &(r, u) in &e.pareto {
                all.push(Opt { acc, r: r as usize, u: u as usize, a: Assignment::edge(e.model, r, u) });
            }
        }
    }
    for c in &o.cloud {
        let acc = inst.models[c.model].accuracy;
        if acc > base {
            all.push(Opt { acc, r: c.rbs as usize, u: 0, a: Assignment::cloud(c.model, c.rbs) });
        }
    }
    // Most accurate first, then fewest RBs, then fewest units: an option is dominated
    // exactly when an earlier kept one is no worse in every coordinate.
    all.sort_by(|x, y| y.acc.total_cmp(&x.acc).then(x.r.cmp(&y.r)).then(x.u.cmp(&y.u)));
    let mut kept: Vec<Opt> = Vec::with_capacity(all.len());
    for x in all {
        if !kept.iter().any(|k| k.r <= x.r && k.u <= x.u) {
            kept.push(x);
        }
    }
    kept
}

/// Whether the table of server `m` for `tasks` stays within [`MAX_TABLE`].
pub fn fits_table(inst: &Instance, m: usize, tasks: &[usize]) -> bool {
    let e = &inst.edges[m];
    (tasks.len() as u64).saturating_mul(u64::from(e.rbs) + 1).saturating_mul(u64::from(e.units) + 1)
        <= MAX_TABLE
}

/// Assigns `tasks` (all associated with edge `m`) optimally for `p`'s cache of `m`:
/// every task's previous decision is replaced. Returns `false` (and leaves `p`
/// unchanged) when the table would exceed [`MAX_TABLE`].
pub fn assign_server(p: &mut Partial, m: usize, tasks: &[usize]) -> bool {
    assign_server_until(p, m, tasks, None) != Table::TooLarge
}

/// How [`assign_server_until`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// Every task assigned, optimally.
    Done,
    /// The table would exceed [`MAX_TABLE`]; `p` is unchanged.
    TooLarge,
    /// The deadline passed before the table took every task: the tasks it took are
    /// assigned optimally among themselves, the others rejected.
    Stopped,
}

/// [`assign_server`], checking `deadline` before each task of the table.
pub fn assign_server_until(p: &mut Partial, m: usize, tasks: &[usize], deadline: Option<Instant>) -> Table {
    if !fits_table(p.inst, m, tasks) {
        return Table::TooLarge;
    }
    let inst = p.inst;
    let (nb, nu) = (inst.edges[m].rbs as usize, inst.edges[m].units as usize);
    let width = nu + 1;
    let states = (nb + 1) * width;
    let mut v = vec![0.0f64; states];
    let mut next = vec![0.0f64; states];
    // choice[i * states + s]: 0 = the base decision, j + 1 = option j of task i.
    let mut choice = vec![0u16; tasks.len() * states];
    let mut bases = Vec::with_capacity(tasks.len());
    let mut options = Vec::with_capacity(tasks.len());
    // The tasks the table has taken: a prefix of `tasks`.
    let mut taken = tasks.len();
    for (i, &n) in tasks.iter().enumerate() {
        if expired(deadline) {
            taken = i;
            break;
        }
        let base = p.opts[n]
            .best_local(inst)
            .map_or(Decision::Reject, |o| Decision::Serve(Assignment::local(o.model)));
        let base_acc = super::partial::accuracy(inst, &base);
        let opts = task_opts(p, m, n, base_acc);
        let ch = &mut choice[i * states..(i + 1) * states];
        for (x, y) in next.iter_mut().zip(&v) {
            *x = y + base_acc;
        }
        for (j, o) in opts.iter().enumerate().take(usize::from(u16::MAX) - 1) {
            if o.r > nb || o.u > nu {
                continue;
            }
            let tag = (j + 1) as u16;
            for r in o.r..=nb {
                let (dst, src) = (r * width, (r - o.r) * width);
                for u in o.u..=nu {
                    let cand = v[src + u - o.u] + o.acc;
                    if cand > next[dst + u] {
                        next[dst + u] = cand;
                        ch[dst + u] = tag;
                    }
                }
            }
        }
        std::mem::swap(&mut v, &mut next);
        bases.push(base);
        options.push(opts);
    }
    // Release everything first so that every chosen decision fits as it is set.
    for &n in tasks {
        p.set(n, Decision::Reject);
    }
    let (mut r, mut u) = (nb, nu);
    for (i, &n) in tasks[..taken].iter().enumerate().rev() {
        let tag = choice[i * states + r * width + u] as usize;
        if tag == 0 {
            p.set(n, bases[i]);
        } else {
            let o = options[i][tag - 1];
            r -= o.r;
            u -= o.u;
            p.set(n, Decision::Serve(o.a));
        }
    }
    if taken < tasks.len() {
        Table::Stopped
    } else {
        Table::Done
    }
}

/// The `dp` solver (see the module docs).
#[derive(Debug, Default, Clone)]
pub struct SlotDp;

impl Solver for SlotDp {
    fn name(&self) -> &str {
        "dp"
    }

    fn solve(&self, inst: &Instance, opts: &SolveOptions) -> Result<SolveReport, SolverError> {
        let deadline = opts.deadline(Instant::now());
        let options = enumerate_options(inst);
        let mut p = Partial::new(inst, &options);
        let mut exact = inst.resident.is_some();
        let mut fallback = 0usize;
        // The server at which the deadline stopped the solve.
        let mut stopped = None;
        for m in 0..inst.edges.len() {
            if expired(deadline) {
                stopped = Some(m);
                break;
            }
            let tasks = inst.tasks_of_edge(m);
            match &inst.resident {
                Some(res) => {
                    for &k in &res.edges[m] {
                        p.cache_add(m, k);
                    }
                }
                None => {
                    for &n in &tasks {
                        p.set_best_local(n);
                    }
                    cache_by_coverage(&mut p, m, &tasks);
                }
            }
            let complete = match assign_server_until(&mut p, m, &tasks, deadline) {
                Table::Done => true,
                Table::Stopped => false,
                Table::TooLarge => {
                    for &n in &tasks {
                        p.set_best_local(n);
                    }
                    exact = false;
                    fallback += 1;
                    assign_best_price(&mut p, &tasks, &|_| true, deadline)
                }
            };
            if !complete {
                stopped = Some(m);
                break;
            }
        }
        if stopped.is_some() {
            p.rejected_to_local();
        }
        let sum: f64 = (0..inst.n_tasks()).map(|n| p.accuracy_of(n)).sum();
        let objective = if inst.n_tasks() > 0 { sum / inst.n_tasks() as f64 } else { 0.0 };
        let done = match (exact, fallback) {
            (true, _) => "placement fixed: every resident model cached, assignment exact".to_string(),
            (false, 0) => "greedy coverage cache, assignment exact".to_string(),
            (false, f) => format!("{f} server(s) above the table limit assigned by greedy pricing"),
        };
        let (status, reason) = match stopped {
            None if exact => (Status::Optimal, done),
            _ => construction_status(stopped, inst.edges.len(), done),
        };
        let mut rep = SolveReport::new(p.into_solution(), status, reason)
            .with_stat("fallback_servers", fallback as f64);
        if status == Status::Optimal {
            rep.bound = Some(objective);
        }
        Ok(rep)
    }
}

/// The exact assignment of `sol`'s cache: every server's tasks re-assigned by
/// [`assign_server`] to the models `sol` caches there (a server above [`MAX_TABLE`]
/// keeps `sol`'s decisions). Never less accurate than `sol` on any server, since `sol`'s
/// own assignment is one of those the program considers. `None` when `sol` breaks a
/// rule [`Partial::from_solution`] checks (an answer the evaluator accepts never does).
pub fn reassign(inst: &Instance, sol: &Solution) -> Option<Solution> {
    let options = enumerate_options(inst);
    let mut p = Partial::from_solution(inst, &options, sol)?;
    for m in 0..inst.edges.len() {
        assign_server(&mut p, m, &inst.tasks_of_edge(m));
    }
    Some(p.into_solution())
}
