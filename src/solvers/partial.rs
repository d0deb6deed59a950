//! The partial solution every constructive solver builds: decisions, cache contents
//! and the capacities left on each edge server. It never lets a solver break a
//! capacity, a placement or a deadline: only deadline-feasible options of the shared
//! option enumeration can be chosen, and [`Partial::fits`] guards the rest.

use crate::model::{Assignment, Decision, Instance, Location, Solution, TaskOptions, FORMAT_VERSION};

#[derive(Debug, Clone)]
pub struct Partial<'a> {
    pub inst: &'a Instance,
    pub opts: &'a [TaskOptions],
    decisions: Vec<Decision>,
    cached: Vec<Vec<bool>>,
    cache_used_mb: Vec<f64>,
    rbs_used: Vec<u32>,
    units_used: Vec<u32>,
}

/// Accuracy a decision earns (0 for rejection).
pub fn accuracy(inst: &Instance, d: &Decision) -> f64 {
    d.assignment().map_or(0.0, |a| inst.models[a.model].accuracy)
}

/// Normalised resource cost of an assignment: `r / NB_m + u / U_m` (0 when local).
pub fn cost(inst: &Instance, n: usize, d: &Decision) -> f64 {
    d.assignment().map_or(0.0, |a| {
        let e = &inst.edges[inst.devices[n].edge];
        f64::from(a.rbs) / f64::from(e.rbs) + f64::from(a.units) / f64::from(e.units)
    })
}

impl<'a> Partial<'a> {
    /// Empty caches, every task rejected.
    pub fn new(inst: &'a Instance, opts: &'a [TaskOptions]) -> Self {
        let (m, k) = (inst.edges.len(), inst.models.len());
        Partial {
            inst,
            opts,
            decisions: vec![Decision::Reject; inst.devices.len()],
            cached: vec![vec![false; k]; m],
            cache_used_mb: vec![0.0; m],
            rbs_used: vec![0; m],
            units_used: vec![0; m],
        }
    }

    /// The partial solution of a complete `sol` on `inst` (e.g. another solver's answer, to
    /// improve by local search). `None` when `sol` breaks a cache, capacity or option rule
    /// that [`Self::fits`] guards (an answer the evaluator accepts never does).
    pub fn from_solution(inst: &'a Instance, opts: &'a [TaskOptions], sol: &Solution) -> Option<Self> {
        let mut p = Partial::new(inst, opts);
        if sol.edge_cache.len() != inst.edges.len() || sol.decisions.len() != inst.devices.len() {
            return None;
        }
        for (m, cache) in sol.edge_cache.iter().enumerate() {
            for &k in cache {
                if k >= inst.models.len() || !p.cache_add(m, k) {
                    return None;
                }
            }
        }
        for (n, d) in sol.decisions.iter().enumerate() {
            if !p.fits(n, d) {
                return None;
            }
            p.set(n, *d);
        }
        Some(p)
    }

    pub fn decision(&self, n: usize) -> &Decision {
        &self.decisions[n]
    }

    pub fn accuracy_of(&self, n: usize) -> f64 {
        accuracy(self.inst, &self.decisions[n])
    }

    pub fn is_cached(&self, m: usize, k: usize) -> bool {
        self.cached[m][k]
    }

    /// Models cached at edge `m`, by index.
    pub fn cache(&self, m: usize) -> Vec<usize> {
        (0..self.inst.models.len()).filter(|&k| self.cached[m][k]).collect()
    }

    pub fn cache_free_mb(&self, m: usize) -> f64 {
        self.inst.edges[m].cache_mb - self.cache_used_mb[m]
    }

    pub fn rbs_free(&self, m: usize) -> u32 {
        self.inst.edges[m].rbs - self.rbs_used[m]
    }

    pub fn units_free(&self, m: usize) -> u32 {
        self.inst.edges[m].units - self.units_used[m]
    }

    /// True when model `k` is not cached at `m`, may be used there (resident, when the
    /// placement is fixed) and fits in what is left.
    pub fn cache_fits(&self, m: usize, k: usize) -> bool {
        !self.cached[m][k]
            && self.inst.edge_may_use(m, k)
            && self.cache_used_mb[m] + self.inst.models[k].size_mb <= self.inst.edges[m].cache_mb
    }

    /// Caches `k` at `m` if it fits; returns whether it did.
    pub fn cache_add(&mut self, m: usize, k: usize) -> bool {
        if !self.cache_fits(m, k) {
            return false;
        }
        self.cached[m][k] = true;
        self.cache_used_mb[m] += self.inst.models[k].size_mb;
        true
    }

    /// Removes `k` from the cache of `m`; every task of `m` served there with `k` is
    /// rejected first.
    pub fn cache_remove(&mut self, m: usize, k: usize) {
        if !self.cached[m][k] {
            return;
        }
        for n in 0..self.decisions.len() {
            if let Decision::Serve(a) = self.decisions[n] {
                if a.location == Location::Edge && a.model == k && self.inst.devices[n].edge == m {
                    self.set(n, Decision::Reject);
                }
            }
        }
        self.cached[m][k] = false;
        self.cache_used_mb[m] = self.cache(m).iter().map(|&k| self.inst.models[k].size_mb).sum();
    }

    /// Whether task `n` could switch to `d` now (its own current resources released).
    /// `d` must be one of the task's enumerated options (or rejection).
    pub fn fits(&self, n: usize, d: &Decision) -> bool {
        let Decision::Serve(a) = d else { return true };
        let m = self.inst.devices[n].edge;
        if a.location == Location::Edge && !self.cached[m][a.model] {
            return false;
        }
        let (own_r, own_u) = self.decisions[n].assignment().map_or((0, 0), |c| (c.rbs, c.units));
        a.rbs <= self.rbs_free(m) + own_r && a.units <= self.units_free(m) + own_u
    }

    /// Sets the decision of task `n`. The caller has checked [`Self::fits`].
    pub fn set(&mut self, n: usize, d: Decision) {
        debug_assert!(self.fits(n, &d), "task {n}: {d:?} does not fit");
        let m = self.inst.devices[n].edge;
        if let Some(old) = self.decisions[n].assignment() {
            self.rbs_used[m] -= old.rbs;
            self.units_used[m] -= old.units;
        }
        if let Some(a) = d.assignment() {
            self.rbs_used[m] += a.rbs;
            self.units_used[m] += a.units;
        }
        self.decisions[n] = d;
    }

    /// Every decision open to task `n`: rejection, then every enumerated option.
    pub fn candidates(&self, n: usize) -> impl Iterator<Item = Decision> + 'a {
        std::iter::once(Decision::Reject).chain(self.opts[n].assignments().map(Decision::Serve))
    }

    /// Sets task `n` to its most accurate local option, or rejects it.
    pub fn set_best_local(&mut self, n: usize) {
        let d = self.opts[n]
            .best_local(self.inst)
            .map_or(Decision::Reject, |o| Decision::Serve(Assignment::local(o.model)));
        self.set(n, d);
    }

    /// Sets every rejected task to its most accurate local option (those without one stay
    /// rejected): what a construction stopped by its deadline gives the tasks it did not
    /// reach. Local options use no shared resource, so the solution stays feasible.
    pub fn rejected_to_local(&mut self) {
        for n in 0..self.decisions.len() {
            if self.decisions[n] == Decision::Reject {
                self.set_best_local(n);
            }
        }
    }

    /// Sum of the accuracies of `tasks`.
    pub fn accuracy_sum(&self, tasks: &[usize]) -> f64 {
        tasks.iter().map(|&n| self.accuracy_of(n)).sum()
    }

    /// The complete solution: caches, each device storing the model it runs locally.
    pub fn into_solution(self) -> Solution {
        let edge_cache = (0..self.inst.edges.len()).map(|m| self.cache(m)).collect();
        let mut sol = Solution {
            format_version: FORMAT_VERSION,
            edge_cache,
            device_models: vec![Vec::new(); self.inst.devices.len()],
            decisions: self.decisions,
        };
        sol.store_local_models();
        sol
    }
}
