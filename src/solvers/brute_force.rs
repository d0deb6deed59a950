//! A brute-force optimum for tiny instances: the reference that proves `milp` exact.
//!
//! It shares nothing with the MILP but the delay formulas and the deadline test of
//! [`crate::model`]: no option enumeration, no Pareto lists, no reductions, no
//! decomposition. Every task tries rejection, every local model that fits its device,
//! every edge `(model, r, u)` on the full grid `r in 1..=NB`, `u in 1..=U` and every
//! cloud `(model, r)` with `r in 1..=NB` that meets the deadline; a depth-first search
//! over tasks keeps the RB, unit and cache capacities of every edge server (the cache
//! holds exactly the models its edge tasks use, so every cache subset that matters is
//! tried) and prunes with the optimistic bound "every remaining task gets its most
//! accurate candidate". Exponential: meant for N <= 5 or so. With a fixed placement
//! ([`Instance::resident`]) local and edge candidates use resident models only.

use crate::model::{
    delay, meets_deadline, Assignment, Decision, Instance, Location, Solution, FORMAT_VERSION,
};

/// The same storage slack as the evaluator (MB).
const STORAGE_EPS_MB: f64 = 1e-9;

/// Every decision of task `n` that meets its deadline on an empty network, most
/// accurate first, with its accuracy.
fn candidates(inst: &Instance, n: usize) -> Vec<(f64, Decision)> {
    let dev = &inst.devices[n];
    let e = &inst.edges[dev.edge];
    let t = dev.task.deadline_s;
    let ok = |a: &Assignment| meets_deadline(delay::delay(inst, n, a), t);
    let mut out = vec![(0.0, Decision::Reject)];
    for (k, md) in inst.models.iter().enumerate() {
        if md.service != dev.task.service {
            continue;
        }
        let mut serve = |a: Assignment| {
            if ok(&a) {
                out.push((md.accuracy, Decision::Serve(a)));
            }
        };
        if md.size_mb <= dev.storage_mb + STORAGE_EPS_MB && inst.device_may_use(n, k) {
            serve(Assignment::local(k));
        }
        for r in 1..=e.rbs {
            if md.size_mb <= e.cache_mb + STORAGE_EPS_MB && inst.edge_may_use(dev.edge, k) {
                for u in 1..=e.units {
                    serve(Assignment::edge(k, r, u));
                }
            }
            serve(Assignment::cloud(k, r));
        }
    }
    out.sort_by(|a, b| b.0.total_cmp(&a.0));
    out
}

struct Search<'a> {
    inst: &'a Instance,
    cands: Vec<Vec<(f64, Decision)>>,
    /// `suffix[n]`: sum over tasks `n..` of their most accurate candidate.
    suffix: Vec<f64>,
    rbs: Vec<u32>,
    units: Vec<u32>,
    /// Tasks using model `k` at edge `m`.
    users: Vec<Vec<u32>>,
    cache_mb: Vec<f64>,
    current: Vec<Decision>,
    best_sum: f64,
    best: Vec<Decision>,
}

impl Search<'_> {
    fn dfs(&mut self, n: usize, sum: f64) {
        if n == self.cands.len() {
            if sum > self.best_sum {
                self.best_sum = sum;
                self.best.clone_from(&self.current);
            }
            return;
        }
        if sum + self.suffix[n] <= self.best_sum + 1e-12 {
            return;
        }
        let m = self.inst.devices[n].edge;
        for i in 0..self.cands[n].len() {
            let (acc, d) = self.cands[n][i];
            if sum + acc + self.suffix[n + 1] <= self.best_sum + 1e-12 {
                break; // candidates are sorted by accuracy
            }
            let e = &self.inst.edges[m];
            let Decision::Serve(a) = d else {
                self.current[n] = d;
                self.dfs(n + 1, sum);
                continue;
            };
            if self.rbs[m] + a.rbs > e.rbs || self.units[m] + a.units > e.units {
                continue;
            }
            let new_model = a.location == Location::Edge && self.users[m][a.model] == 0;
            let size = self.inst.models[a.model].size_mb;
            if new_model && self.cache_mb[m] + size > e.cache_mb + STORAGE_EPS_MB {
                continue;
            }
            self.rbs[m] += a.rbs;
            self.units[m] += a.units;
            if a.location == Location::Edge {
                self.users[m][a.model] += 1;
                if new_model {
                    self.cache_mb[m] += size;
                }
            }
            self.current[n] = d;
            self.dfs(n + 1, sum + acc);
            self.rbs[m] -= a.rbs;
            self.units[m] -= a.units;
            if a.location == Location::Edge {
                self.users[m][a.model] -= 1;
                if new_model {
                    self.cache_mb[m] -= size;
                }
            }
        }
        self.current[n] = Decision::Reject;
    }
}

/// The optimum `A` of a (tiny) instance and a solution attaining it.
pub fn brute_force_optimum(inst: &Instance) -> (f64, Solution) {
    let n_tasks = inst.n_tasks();
    let cands: Vec<Vec<(f64, Decision)>> = (0..n_tasks).map(|n| candidates(inst, n)).collect();
    let mut suffix = vec![0.0; n_tasks + 1];
    for n in (0..n_tasks).rev() {
        suffix[n] = suffix[n + 1] + cands[n].first().map_or(0.0, |c| c.0);
    }
    let (n_edges, n_models) = (inst.edges.len(), inst.models.len());
    let mut s = Search {
        inst,
        cands,
        suffix,
        rbs: vec![0; n_edges],
        units: vec![0; n_edges],
        users: vec![vec![0; n_models]; n_edges],
        cache_mb: vec![0.0; n_edges],
        current: vec![Decision::Reject; n_tasks],
        best_sum: -1.0,
        best: vec![Decision::Reject; n_tasks],
    };
    s.dfs(0, 0.0);
    let mut edge_cache = vec![Vec::new(); n_edges];
    for (n, d) in s.best.iter().enumerate() {
        if let Decision::Serve(a) = d {
            let m = inst.devices[n].edge;
            if a.location == Location::Edge && !edge_cache[m].contains(&a.model) {
                edge_cache[m].push(a.model);
            }
        }
    }
    let mut sol = Solution {
        format_version: FORMAT_VERSION,
        edge_cache,
        device_models: vec![Vec::new(); n_tasks],
        decisions: s.best,
    };
    sol.store_local_models();
    (s.best_sum.max(0.0) / n_tasks as f64, sol)
}
