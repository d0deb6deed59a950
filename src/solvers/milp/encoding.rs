//! The exact MILP of MODEL.md §6, after exact reductions, as HiGHS row problems.
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

use highs::{Col, RowProblem};

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

    /// The HiGHS problem (maximise): binary columns when `integer`, else the LP
    /// relaxation with every column in [0, 1]. Returns it with its number of rows.
    pub fn problem(&self, inst: &Instance, integer: bool) -> (RowProblem, usize) {
        let mut p = RowProblem::default();
        let mut cols: Vec<Col> = Vec::with_capacity(self.n_cols());
        for c in &self.x {
            cols.push(p.add_column_with_integrality(c.gain, 0.0..=1.0, integer));
        }
        for _ in &self.z {
            cols.push(p.add_column_with_integrality(0.0, 0.0..=1.0, integer));
        }
        let mut rows = 0;
        // Per task: one option, and placement per edge model.
        let mut i = 0;
        while i < self.x.len() {
            let n = self.x[i].task;
            let end = i + self.x[i..].iter().take_while(|c| c.task == n).count();
            if end - i > 1 {
                p.add_row(..=1.0, (i..end).map(|j| (cols[j], 1.0)));
                rows += 1;
            }
            let m = self.x[i].edge;
            let mut models: Vec<usize> = self.x[i..end]
                .iter()
                .filter(|c| c.assignment.location == Location::Edge)
                .map(|c| c.assignment.model)
                .collect();
            models.dedup(); // edge options of one model are contiguous
            for k in models {
                let zc = self.z_index(m, k).map(|j| cols[j]);
                let terms = (i..end)
                    .filter(|&j| {
                        let a = &self.x[j].assignment;
                        a.location == Location::Edge && a.model == k
                    })
                    .map(|j| (cols[j], 1.0))
                    .chain(zc.map(|c| (c, -1.0)));
                p.add_row(..=0.0, terms);
                rows += 1;
            }
            i = end;
        }
        for &m in &self.edges {
            let e = &inst.edges[m];
            let zs: Vec<usize> = (0..self.z.len()).filter(|&j| self.z[j].0 == m).collect();
            let total_mb: f64 = zs.iter().map(|&j| inst.models[self.z[j].1].size_mb).sum();
            if total_mb > e.cache_mb {
                let terms = zs.iter().map(|&j| (cols[self.x.len() + j], inst.models[self.z[j].1].size_mb));
                p.add_row(..=e.cache_mb, terms);
                rows += 1;
            }
            let on_m: Vec<usize> = (0..self.x.len()).filter(|&j| self.x[j].edge == m).collect();
            // A row binds only if the largest demand per task can exceed the capacity.
            let max_sum = |f: &dyn Fn(&Assignment) -> u32| -> u64 {
                let mut total = 0u64;
                let mut j = 0;
                while j < on_m.len() {
                    let n = self.x[on_m[j]].task;
                    let mut most = 0;
                    while j < on_m.len() && self.x[on_m[j]].task == n {
                        most = most.max(f(&self.x[on_m[j]].assignment));
                        j += 1;
                    }
                    total += u64::from(most);
                }
                total
            };
            if max_sum(&|a| a.rbs) > u64::from(e.rbs) {
                p.add_row(
                    ..=f64::from(e.rbs),
                    on_m.iter().map(|&j| (cols[j], f64::from(self.x[j].assignment.rbs))),
                );
                rows += 1;
            }
            if max_sum(&|a| a.units) > u64::from(e.units) {
                let terms = on_m
                    .iter()
                    .filter(|&&j| self.x[j].assignment.units > 0)
                    .map(|&j| (cols[j], f64::from(self.x[j].assignment.units)));
                p.add_row(..=f64::from(e.units), terms);
                rows += 1;
            }
        }
        (p, rows)
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
        for &n in &self.tasks {
            let Some(Decision::Serve(a)) = sol.decisions.get(n) else { continue };
            if a.location == Location::Local {
                continue;
            }
            let m = inst.devices[n].edge;
            let pick = (0..self.x.len())
                .filter(|&j| self.x[j].task == n)
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
        for &n in &self.tasks {
            let chosen: Vec<usize> = (0..self.x.len()).filter(|&j| self.x[j].task == n && on(j)).collect();
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
