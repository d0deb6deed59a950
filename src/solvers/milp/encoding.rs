//! The exact MILP of MODEL.md §6, after exact reductions, written with good_lp.
//!
//! [`Block::model`] declares the variables with good_lp's `ProblemVariables`, writes the
//! objective and every row below as good_lp expressions and constraints, and hands them
//! to good_lp's HiGHS backend (`good_lp::solvers::highs`), which lays them out as a HiGHS
//! problem ([`BlockModel`]); [`super::run`] solves it. Column `j` of that problem is the
//! `j`-th variable declared: the `x` variables, then the `z` variables, so column values
//! (HiGHS's solution, a warm start) are read and written in that order.
//!
//! **Variables.** `x_{n,o}` in {0,1} per task `n` and *shared* option `o` (an edge
//! `(k, r, u)` Pareto pair or a cloud `(k, r)` option of the shared enumeration
//! [`crate::model::enumerate_options`]); `z_{m,k}` in {0,1} per edge server `m` and
//! model `k` that some task of `m` can run there.
//!
//! **Rows** (per edge server `m`, over its tasks only):
//! - one option per task: `sum_o x_{n,o} <= 1`;
//! - placement, per task and edge model (the strong, disaggregated form):
//!   `sum_{(r,u)} x_{n,(k,r,u)} <= z_{m,k}`;
//! - cache: `sum_k S_k z_{m,k} <= C_m`;
//! - spectrum: `sum r x <= NB_m`; computing: `sum u x <= U_m` (edge options only).
//!
//! A row that can never bind (its left side summed at all ones fits) is left out.
//!
//! **Objective.** `max sum_n base_n + sum_{n,o} (alpha_o - base_n) x_{n,o}`, where `base_n`
//! is the accuracy of the task's most accurate local option (0 if it has none). When no
//! `x_{n,o}` is set the task runs that local option (or is rejected without one), so the
//! local and reject decisions need no variable. The objective `A` is this over `N`.
//! The model holds only the variable part (good_lp's HiGHS backend drops an objective
//! constant); the constant `sum_n base_n` is [`Block::base`], added back by the caller.
//!
//! **Exact reductions**, each one replaces an optimal solution by one at least as good:
//! 1. *Device storage.* Each device has exactly one task, and the enumeration only
//!    offers local models with `S_k <= C_n`; so `y_{n,k} = x_{n,local,k}` satisfies the
//!    device storage row by itself, and only the most accurate local option matters:
//!    it uses no shared resource, so any other local option is worth no more.
//! 2. *Worthless shared options.* A shared option with `alpha_k <= base_n` is replaced
//!    by the local base (same or higher accuracy, frees RBs, units and cache).
//! 3. *Dominated cloud options.* Cloud `(k, r)` is dropped when another cloud option
//!    has `alpha' >= alpha_k` and `r' <= r` (ties: the first in (accuracy desc, r asc,
//!    model) order is kept).
//! 4. *Edge options dominated by the cloud.* Edge `(k, r, u)` is dropped when a kept
//!    cloud option has `alpha' >= alpha_k` and `r' <= r`: it needs no unit and no cache.
//! 5. *Decomposition.* Every shared resource (RBs, units, cache) belongs to one edge
//!    server and every task uses only its own server, so the MILP splits into one
//!    independent MILP per edge server; the optimum (and any bound) is the sum.
//!
//! `tests/milp_exact.rs` proves the reductions against a brute force that uses none of
//! them (full `(r, u)` grid, every local model, every cache subset).

use good_lp::solvers::highs::{highs, HighsProblem};
use good_lp::{constraint, variable, Constraint, Expression, ProblemVariables, SolverModel, Variable};

use crate::model::{Assignment, Decision, Instance, Location, Solution, TaskOptions, FORMAT_VERSION};

/// What is left of one task's options after the reductions.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskChoices {
    /// The most accurate local model (the decision when no shared option is chosen).
    pub base: Option<usize>,
    /// Accuracy of `base` (0 without one).
    pub base_acc: f64,
    /// Shared options (edge and cloud) more accurate than `base` and not dominated.
    pub shared: Vec<Assignment>,
}

/// Applies reductions 1 to 4 to every task's enumerated options.
pub fn reduce(inst: &Instance, opts: &[TaskOptions]) -> Vec<TaskChoices> {
    let acc = |k: usize| inst.models[k].accuracy;
    opts.iter()
        .map(|o| {
            let base = o.best_local(inst).map(|l| l.model);
            let base_acc = base.map_or(0.0, acc);
            // Cloud options in (accuracy desc, r asc, model) order; keep strict r improvers.
            let mut cloud: Vec<(usize, u32)> =
                o.cloud.iter().filter(|c| acc(c.model) > base_acc).map(|c| (c.model, c.rbs)).collect();
            cloud.sort_by(|a, b| acc(b.0).total_cmp(&acc(a.0)).then(a.1.cmp(&b.1)).then(a.0.cmp(&b.0)));
            let mut kept_cloud: Vec<(usize, u32)> = Vec::new();
            for (k, r) in cloud {
                if kept_cloud.last().is_none_or(|&(_, best_r)| r < best_r) {
                    kept_cloud.push((k, r));
                }
            }
            let mut shared = Vec::new();
            for e in o.edge.iter().filter(|e| acc(e.model) > base_acc) {
                for &(r, u) in &e.pareto {
                    let dominated = kept_cloud.iter().any(|&(k2, r2)| acc(k2) >= acc(e.model) && r2 <= r);
                    if !dominated {
                        shared.push(Assignment::edge(e.model, r, u));
                    }
                }
            }
            shared.extend(kept_cloud.iter().map(|&(k, r)| Assignment::cloud(k, r)));
            TaskChoices { base, base_acc, shared }
        })
        .collect()
}

/// One `x` column: task `task` takes the shared option `assignment`.
#[derive(Debug, Clone, PartialEq)]
pub struct XCol {
    pub task: usize,
    /// The task's edge server `a(n)`.
    pub edge: usize,
    pub assignment: Assignment,
    /// Objective coefficient `alpha_k - base_n` (> 0 by reduction 2).
    pub gain: f64,
}

/// One independent MILP: the tasks of a set of edge servers (one server when
/// decomposed). Columns are the `x` columns in order, then the `z` columns.
#[derive(Debug, Clone)]
pub struct Block {
    pub edges: Vec<usize>,
    pub tasks: Vec<usize>,
    pub x: Vec<XCol>,
    /// `(edge, model)` of each `z` column.
    pub z: Vec<(usize, usize)>,
    /// `sum_n base_n` over the block's tasks (the objective's constant).
    pub base: f64,
    /// `sum_n max(base_n, max_o alpha_o)`: a bound that needs no solver.
    pub trivial_bound: f64,
}

/// A block's MILP as good_lp built it for HiGHS.
#[derive(Debug)]
pub struct BlockModel {
    /// good_lp's HiGHS model. Its column `j` is the `j`-th variable added: the `x`
    /// columns in [`Block::x`] order, then the `z` columns in [`Block::z`] order; the
    /// column values of [`Block::decode`] and [`Block::warm_start_values`] use that order.
    pub problem: HighsProblem,
    /// Number of rows (constraints).
    pub rows: usize,
}

/// `sum_j a_j v_j` as a good_lp expression.
fn weighted(terms: impl Iterator<Item = (f64, Variable)>) -> Expression {
    let (lower, upper) = terms.size_hint();
    let mut e = Expression::with_capacity(upper.unwrap_or(lower));
    for (a, v) in terms {
        e.add_mul(a, v);
    }
    e
}

/// The column values of a block, decoded into per-task decisions and cache contents.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub decisions: Vec<(usize, Decision)>,
    pub cache: Vec<(usize, usize)>,
}

impl Block {
    /// The block of the given edge servers.
    pub fn new(inst: &Instance, choices: &[TaskChoices], edges: Vec<usize>) -> Self {
        let tasks: Vec<usize> =
            (0..inst.n_tasks()).filter(|&n| edges.contains(&inst.devices[n].edge)).collect();
        let mut x = Vec::new();
        let (mut base, mut trivial_bound) = (0.0, 0.0);
        for &n in &tasks {
            let c = &choices[n];
            base += c.base_acc;
            let mut best = c.base_acc;
            for a in &c.shared {
                let alpha = inst.models[a.model].accuracy;
                best = f64::max(best, alpha);
                x.push(XCol {
                    task: n,
                    edge: inst.devices[n].edge,
                    assignment: *a,
                    gain: alpha - c.base_acc,
                });
            }
            trivial_bound += best;
        }
        let mut z: Vec<(usize, usize)> = x
            .iter()
            .filter(|c| c.assignment.location == Location::Edge)
            .map(|c| (c.edge, c.assignment.model))
            .collect();
        z.sort_unstable();
        z.dedup();
        Block { edges, tasks, x, z, base, trivial_bound }
    }

    pub fn n_cols(&self) -> usize {
        self.x.len() + self.z.len()
    }

    fn z_index(&self, m: usize, k: usize) -> Option<usize> {
        self.z.binary_search(&(m, k)).ok().map(|i| self.x.len() + i)
    }

    /// The block's MILP written with good_lp (maximise): binary variables when
    /// `integer`, else the LP relaxation with every variable in [0, 1]. Rows that can
    /// never bind are left out (see the module docs).
    pub fn model(&self, inst: &Instance, integer: bool) -> BlockModel {
        let domain = || if integer { variable().binary() } else { variable().clamp(0, 1) };
        let mut vars = ProblemVariables::new();
        // Added in column order: `x` then `z` (see [`BlockModel::problem`]).
        let x: Vec<Variable> = vars.add_vector(domain(), self.x.len());
        let z: Vec<Variable> = vars.add_vector(domain(), self.z.len());
        let z_var = |m: usize, k: usize| self.z.binary_search(&(m, k)).ok().map(|j| z[j]);

        // max sum_{n,o} (alpha_o - base_n) x_{n,o}  (the constant sum_n base_n is `base`)
        let objective = weighted(self.x.iter().zip(&x).map(|(c, &v)| (c.gain, v)));
        let mut problem = vars.maximise(objective).using(highs);
        let mut rows = 0;
        let mut add = |row: Constraint| {
            problem.add_constraint(row);
            rows += 1;
        };

        for (n, range) in self.task_ranges() {
            let options = &self.x[range.clone()];
            let xs = &x[range];
            // One option per task: sum_o x_{n,o} <= 1.
            if xs.len() > 1 {
                let chosen: Expression = xs.iter().copied().sum();
                add(constraint!(chosen <= 1));
            }
            // Placement: sum_{(r,u)} x_{n,(k,r,u)} <= z_{m,k} per edge model k.
            let m = inst.devices[n].edge;
            let mut models: Vec<usize> = options
                .iter()
                .filter(|c| c.assignment.location == Location::Edge)
                .map(|c| c.assignment.model)
                .collect();
            models.dedup(); // edge options of one model are contiguous
            for k in models {
                let on_k: Expression = options
                    .iter()
                    .zip(xs)
                    .filter(|(c, _)| c.assignment.location == Location::Edge && c.assignment.model == k)
                    .map(|(_, &v)| v)
                    .sum();
                match z_var(m, k) {
                    Some(zk) => add(constraint!(on_k <= zk)),
                    None => add(constraint!(on_k <= 0)),
                }
            }
        }

        for &m in &self.edges {
            let e = &inst.edges[m];
            let size = |j: usize| inst.models[self.z[j].1].size_mb;
            let cached: Vec<usize> = (0..self.z.len()).filter(|&j| self.z[j].0 == m).collect();
            // Cache: sum_k S_k z_{m,k} <= C_m.
            if cached.iter().map(|&j| size(j)).sum::<f64>() > e.cache_mb {
                let stored = weighted(cached.iter().map(|&j| (size(j), z[j])));
                add(constraint!(stored <= e.cache_mb));
            }
            let on_m: Vec<usize> = (0..self.x.len()).filter(|&j| self.x[j].edge == m).collect();
            let demand = |j: usize, f: fn(&Assignment) -> u32| (f64::from(f(&self.x[j].assignment)), x[j]);
            // Spectrum: sum r x <= NB_m.
            if self.max_demand(&on_m, |a| a.rbs) > u64::from(e.rbs) {
                let used = weighted(on_m.iter().map(|&j| demand(j, |a| a.rbs)));
                add(constraint!(used <= f64::from(e.rbs)));
            }
            // Computing: sum u x <= U_m (edge options only).
            if self.max_demand(&on_m, |a| a.units) > u64::from(e.units) {
                let used = weighted(
                    on_m.iter().filter(|&&j| self.x[j].assignment.units > 0).map(|&j| demand(j, |a| a.units)),
                );
                add(constraint!(used <= f64::from(e.units)));
            }
        }
        BlockModel { problem, rows }
    }

    /// Each task of the block with the range of its (contiguous) `x` columns.
    fn task_ranges(&self) -> Vec<(usize, std::ops::Range<usize>)> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.x.len() {
            let n = self.x[i].task;
            let end = i + self.x[i..].iter().take_while(|c| c.task == n).count();
            out.push((n, i..end));
            i = end;
        }
        out
    }

    /// `sum_n max_o f(o)` over the tasks of the given `x` columns: a capacity row binds
    /// only if this exceeds the capacity.
    fn max_demand(&self, cols: &[usize], f: fn(&Assignment) -> u32) -> u64 {
        let mut total = 0u64;
        let mut j = 0;
        while j < cols.len() {
            let n = self.x[cols[j]].task;
            let mut most = 0;
            while j < cols.len() && self.x[cols[j]].task == n {
                most = most.max(f(&self.x[cols[j]].assignment));
                j += 1;
            }
            total += u64::from(most);
        }
        total
    }

    /// Column values of a known solution (a warm start): each task's shared
    /// assignment maps to its column, or to a column that dominates it (same or more
    /// accurate, no more RBs and units, no new cache need); anything else maps to 0.
    pub fn warm_start_values(&self, inst: &Instance, sol: &Solution) -> Vec<f64> {
        let mut v = vec![0.0; self.n_cols()];
        for &(m, k) in &self.z {
            if sol.edge_cache.get(m).is_some_and(|c| c.contains(&k)) {
                v[self.z_index(m, k).unwrap_or(0)] = 1.0;
            }
        }
        let acc = |k: usize| inst.models[k].accuracy;
        for (n, range) in self.task_ranges() {
            let Some(Decision::Serve(a)) = sol.decisions.get(n) else { continue };
            if a.location == Location::Local {
                continue;
            }
            let m = inst.devices[n].edge;
            let pick = range
                .filter(|&j| {
                    let b = &self.x[j].assignment;
                    let needs_cache = b.location == Location::Edge
                        && !(a.location == Location::Edge && a.model == b.model)
                        && !sol.edge_cache.get(m).is_some_and(|c| c.contains(&b.model));
                    acc(b.model) >= acc(a.model) && b.rbs <= a.rbs && b.units <= a.units && !needs_cache
                })
                .max_by(|&i, &j| self.x[i].gain.total_cmp(&self.x[j].gain));
            if let Some(j) = pick {
                v[j] = 1.0;
                let b = self.x[j].assignment;
                if b.location == Location::Edge {
                    if let Some(zj) = self.z_index(m, b.model) {
                        v[zj] = 1.0;
                    }
                }
            }
        }
        v
    }

    /// Decodes column values (binaries rounded at 0.5). Errors when the values break
    /// the encoding (two options for one task, an edge option without its cache).
    pub fn decode(&self, choices: &[TaskChoices], values: &[f64]) -> Result<Decoded, String> {
        if values.len() != self.n_cols() {
            return Err(format!(
                "HiGHS returned {} column values, the model has {}",
                values.len(),
                self.n_cols()
            ));
        }
        let on = |j: usize| values[j] > 0.5;
        let mut decisions: Vec<(usize, Decision)> = Vec::with_capacity(self.tasks.len());
        let mut cache: Vec<(usize, usize)> = Vec::new();
        // Each task's `x` columns are contiguous: one pass finds every task's range.
        let ranges: std::collections::HashMap<usize, std::ops::Range<usize>> =
            self.task_ranges().into_iter().collect();
        for &n in &self.tasks {
            let chosen: Vec<usize> =
                ranges.get(&n).map_or_else(Vec::new, |r| r.clone().filter(|&j| on(j)).collect());
            let d = match chosen.as_slice() {
                [] => choices[n].base.map_or(Decision::Reject, |k| Decision::Serve(Assignment::local(k))),
                [j] => {
                    let c = &self.x[*j];
                    if c.assignment.location == Location::Edge {
                        let zj = self.z_index(c.edge, c.assignment.model);
                        if !zj.is_some_and(on) {
                            return Err(format!(
                                "task {n} runs model {} on edge server {}, which the MILP solution does not cache",
                                c.assignment.model, c.edge
                            ));
                        }
                        if !cache.contains(&(c.edge, c.assignment.model)) {
                            cache.push((c.edge, c.assignment.model));
                        }
                    }
                    Decision::Serve(c.assignment)
                }
                _ => return Err(format!("task {n}: {} options selected in the MILP solution", chosen.len())),
            };
            decisions.push((n, d));
        }
        Ok(Decoded { decisions, cache })
    }
}

/// Assembles per-block decodings into a solution (devices store their local model).
pub fn assemble(inst: &Instance, choices: &[TaskChoices], parts: &[Decoded]) -> Solution {
    let mut decisions: Vec<Decision> = choices
        .iter()
        .map(|c| c.base.map_or(Decision::Reject, |k| Decision::Serve(Assignment::local(k))))
        .collect();
    let mut edge_cache = vec![Vec::new(); inst.edges.len()];
    for p in parts {
        for &(n, d) in &p.decisions {
            decisions[n] = d;
        }
        for &(m, k) in &p.cache {
            edge_cache[m].push(k);
        }
    }
    for c in &mut edge_cache {
        c.sort_unstable();
    }
    let mut sol = Solution {
        format_version: FORMAT_VERSION,
        edge_cache,
        device_models: vec![Vec::new(); inst.n_tasks()],
        decisions,
    };
    sol.store_local_models();
    sol
}
