//! The sequential view of MODEL.md §8 used by the proposed scheme: one edge server at a
//! time (edge servers share nothing), first its cache contents model by model, then its
//! tasks one by one. Each step offers a set of candidates, each described by a
//! fixed-width feature row, so one scoring network serves every N and M.
//!
//! With masking (the default) only candidates that fit are offered: a model that fits
//! the remaining cache; a task option whose RBs and units the [`EdgePacker`] can still
//! pack together with every earlier choice. The solution is valid by construction and
//! nothing is repaired. The return of an edge server is the sum of the accuracies of
//! its tasks, so the return of an instance is exactly `N * A`.

use std::ops::Deref;

use super::packer::EdgePacker;
use crate::model::{Assignment, Decision, Instance, Solution, TaskOptions, FORMAT_VERSION};

/// Width of a candidate's feature row.
pub const FEATURES: usize = 17;
/// Column of the heuristic prior score: the learned network scores a candidate as
/// `prior + residual` (residual Q-learning), so an untrained network already acts like
/// the greedy rules (most accurate option that fits, coverage-per-MB cache), and
/// training learns where to depart from them.
pub const PRIOR: usize = 16;
/// Prior of caching the coverage-per-MB choice (others get its negative; stop gets 0).
const CACHE_PRIOR: f32 = 0.02;
/// Weight of the normalised resource cost in a task option's prior.
const COST_PRIOR: f64 = 0.001;
/// Most candidates a step offers (rows beyond are masked padding).
pub const MAX_CANDIDATES: usize = 32;
/// Pareto pairs per edge model offered when the policy picks RBs and units itself.
const PAIRS_WITHOUT_SUBROUTINE: usize = 4;

/// Which parts of the scheme are on (the ablations switch one off).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Variant {
    /// Masking and the packing subroutine.
    Full,
    /// The policy also picks each edge task's `(r, u)` pair, committed at once.
    NoSubroutine,
    /// Every task option is offered; a choice that does not fit is rejected (repaired).
    /// (Cache steps still offer only models that fit: a cache is filled, not repaired.)
    NoMasking,
}

impl Variant {
    /// Every variant with its command-line name.
    pub const ALL: [(Variant, &'static str); 3] = [
        (Variant::Full, "full"),
        (Variant::NoSubroutine, "no-subroutine"),
        (Variant::NoMasking, "no-masking"),
    ];

    pub fn as_str(self) -> &'static str {
        Self::ALL.iter().find(|(v, _)| *v == self).map_or("full", |(_, n)| n)
    }
}

impl std::fmt::Display for Variant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Variant {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL.iter().find(|(_, n)| *n == s).map(|(v, _)| *v).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|(_, n)| *n).collect();
            format!("unknown variant `{s}`; expected one of: {}", names.join(", "))
        })
    }
}

/// What a candidate does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Action {
    /// Close the cache of the current edge server.
    StopCache,
    /// Cache model `k` at the current edge server.
    Cache(usize),
    Reject,
    Local(usize),
    /// Edge with model `k`; `Some((r, u))` when the policy picks the pair itself.
    Edge(usize, Option<(u32, u32)>),
    Cloud(usize, u32),
}

/// One step's candidates: actions and their feature rows.
#[derive(Debug, Clone, Default)]
pub struct Step {
    pub actions: Vec<Action>,
    /// `actions.len() * FEATURES` values, row-major.
    pub features: Vec<f32>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    Cache,
    Tasks,
    Done,
}

/// The construction of one instance's solution, step by step.
///
/// Generic over how the instance and its options are held: borrowed (`&Instance`,
/// `&Vec<TaskOptions>`) by the solver, shared (`Arc`) by the training environment.
#[derive(Clone)]
pub struct Construction<I, O> {
    inst: I,
    opts: O,
    variant: Variant,
    edge: usize,
    phase: Phase,
    /// Tasks of the current edge server in decision order, and the next one's index.
    order: Vec<usize>,
    next: usize,
    cached: Vec<bool>,
    cache_free_mb: f64,
    packer: EdgePacker,
    /// Edge tasks of the current server in packer order (their allocation comes last).
    packed: Vec<(usize, usize)>,
    /// Remaining RBs and units when the policy commits pairs itself.
    rbs_left: u32,
    units_left: u32,
    decisions: Vec<Decision>,
    edge_cache: Vec<Vec<usize>>,
    /// Best accuracy each task of the current edge has so far (local base, raised by the
    /// cached models), for the cache features.
    base: Vec<f64>,
    repaired: usize,
    step: Step,
}

fn best_local(inst: &Instance, o: &TaskOptions) -> Option<(usize, f64)> {
    o.best_local(inst).map(|l| (l.model, inst.models[l.model].accuracy))
}

impl<I, O> Construction<I, O>
where
    I: Deref<Target = Instance> + Clone,
    O: Deref<Target = Vec<TaskOptions>> + Clone,
{
    pub fn new(inst: I, opts: O, variant: Variant) -> Self {
        let n_tasks = inst.n_tasks();
        let (n_edges, n_models) = (inst.edges.len(), inst.models.len());
        let mut c = Construction {
            inst,
            opts,
            variant,
            edge: 0,
            phase: Phase::Cache,
            order: Vec::new(),
            next: 0,
            cached: vec![false; n_models],
            cache_free_mb: 0.0,
            packer: EdgePacker::new(1, 1),
            packed: Vec::new(),
            rbs_left: 0,
            units_left: 0,
            decisions: vec![Decision::Reject; n_tasks],
            edge_cache: vec![Vec::new(); n_edges],
            base: vec![0.0; n_tasks],
            repaired: 0,
            step: Step::default(),
        };
        c.start_edge(0);
        c
    }

    fn start_edge(&mut self, m: usize) {
        let inst_handle = self.inst.clone();
        let inst = &*inst_handle;
        if m >= inst.edges.len() {
            self.phase = Phase::Done;
            self.step = Step::default();
            return;
        }
        let e = &inst.edges[m];
        self.edge = m;
        self.phase = Phase::Cache;
        self.cached = vec![false; inst.models.len()];
        self.cache_free_mb = e.cache_mb;
        self.packer = EdgePacker::new(e.rbs, e.units);
        self.packed.clear();
        (self.rbs_left, self.units_left) = (e.rbs, e.units);
        let mut order = inst.tasks_of_edge(m);
        for &n in &order {
            self.base[n] = best_local(inst, &self.opts[n]).map_or(0.0, |x| x.1);
        }
        // Task order: best gain per resource first (the accuracy an edge or cloud option
        // adds above the best local one, over its normalised RBs and units; ties: index),
        // the order in which the greedy heuristic considers upgrades.
        let e = &inst.edges[m];
        let ratio = |n: usize| {
            self.opts[n]
                .assignments()
                .filter(|a| a.location != crate::model::Location::Local)
                .map(|a| {
                    let cost = f64::from(a.rbs) / f64::from(e.rbs) + f64::from(a.units) / f64::from(e.units);
                    (inst.models[a.model].accuracy - self.base[n]) / cost
                })
                .fold(f64::NEG_INFINITY, f64::max)
        };
        order.sort_by(|&a, &b| ratio(b).total_cmp(&ratio(a)).then(a.cmp(&b)));
        self.order = order;
        self.next = 0;
        if self.order.is_empty() {
            // A server without tasks caches nothing.
            self.start_edge(m + 1);
            return;
        }
        self.build_step();
        if self.step.actions.len() <= 1 {
            // Nothing worth caching: go straight to the tasks.
            self.phase = Phase::Tasks;
            self.build_step();
        }
    }

    /// Whether every decision has been taken.
    pub fn done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// The current step's candidates.
    pub fn step(&self) -> &Step {
        &self.step
    }

    /// Accuracy the current task would get from its best local option (0 at cache
    /// steps): rewards measured above it remove a per-task constant from the return.
    pub fn baseline(&self) -> f64 {
        match self.phase {
            Phase::Tasks => {
                let n = self.order[self.next];
                best_local(&self.inst, &self.opts[n]).map_or(0.0, |x| x.1)
            }
            _ => 0.0,
        }
    }

    /// The edge server being decided.
    pub fn edge(&self) -> usize {
        self.edge
    }

    /// Tasks whose choice did not fit and was rejected (only without masking).
    pub fn repaired(&self) -> usize {
        self.repaired
    }

    fn context(&self) -> [f32; 5] {
        let e = &self.inst.edges[self.edge];
        let n_edge = self.order.len().max(1) as f32;
        let (rb_slack, unit_slack) = self.slack();
        [
            (self.order.len() - self.next) as f32 / n_edge,
            rb_slack as f32 / e.rbs as f32,
            unit_slack as f32 / e.units as f32,
            if e.cache_mb > 0.0 { (self.cache_free_mb / e.cache_mb) as f32 } else { 0.0 },
            (self.order.len() as f32 / e.rbs as f32).min(4.0),
        ]
    }

    fn slack(&self) -> (u32, u32) {
        match self.variant {
            Variant::NoSubroutine => (self.rbs_left, self.units_left),
            _ => self.packer.slack(),
        }
    }

    fn push(&mut self, action: Action, row: [f32; FEATURES]) {
        if self.step.actions.len() < MAX_CANDIDATES {
            self.step.actions.push(action);
            self.step.features.extend_from_slice(&row);
        }
    }

    fn build_step(&mut self) {
        self.step = Step::default();
        match self.phase {
            Phase::Cache => self.build_cache_step(),
            Phase::Tasks => self.build_task_step(),
            Phase::Done => {}
        }
    }

    fn build_cache_step(&mut self) {
        let inst_handle = self.inst.clone();
        let inst = &*inst_handle;
        let e = &inst.edges[self.edge];
        let ctx = self.context();
        let n_edge = self.order.len().max(1) as f64;
        let mut row = [0f32; FEATURES];
        row[0] = 1.0; // stop
        row[10..15].copy_from_slice(&ctx);
        self.push(Action::StopCache, row);
        let mut cands: Vec<(usize, [f32; FEATURES], f64)> = Vec::new();
        for (k, md) in inst.models.iter().enumerate() {
            if self.cached[k] || md.size_mb > self.cache_free_mb {
                continue;
            }
            let (mut count, mut gain, mut r_sum, mut u_sum) = (0usize, 0.0f64, 0.0f64, 0.0f64);
            for &n in &self.order {
                if let Some(o) = self.opts[n].edge.iter().find(|o| o.model == k) {
                    count += 1;
                    gain += (md.accuracy - self.base[n]).max(0.0);
                    let &(r, u) = o.pareto.last().unwrap_or(&(0, 0));
                    r_sum += f64::from(r);
                    u_sum += f64::from(u);
                }
            }
            if count == 0 {
                continue;
            }
            let c = count as f64;
            let ratio = gain / md.size_mb.max(1.0) * 100.0 / n_edge;
            let mut row = [0f32; FEATURES];
            row[1] = 1.0; // cache a model
            row[3] = md.accuracy as f32;
            row[4] = (md.size_mb / e.cache_mb.max(1.0)).min(2.0) as f32;
            row[5] = (c / n_edge) as f32;
            row[6] = (gain / n_edge) as f32;
            row[7] = ratio.min(10.0) as f32;
            row[8] = (r_sum / c / f64::from(e.rbs)) as f32;
            row[9] = (u_sum / c / f64::from(e.units)) as f32;
            row[10..15].copy_from_slice(&ctx);
            cands.push((k, row, ratio));
        }
        // Best coverage per MB first, so truncation keeps the most promising models.
        cands.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
        for (i, c) in cands.iter_mut().enumerate() {
            let chosen = i == 0 && c.2 > 0.0; // the coverage-per-MB policy's choice
            c.1[15] = f32::from(u8::from(chosen));
            c.1[PRIOR] = if chosen { CACHE_PRIOR } else { -CACHE_PRIOR };
        }
        for (k, row, _) in cands {
            self.push(Action::Cache(k), row);
        }
    }

    fn fits(&self, a: &Action) -> bool {
        match (*a, self.variant) {
            (Action::Edge(k, _), _) if !self.cached[k] => false,
            (_, Variant::NoMasking) => true,
            (Action::Edge(_, Some((r, u))), _) => r <= self.rbs_left && u <= self.units_left,
            (Action::Cloud(_, r), Variant::NoSubroutine) => r <= self.rbs_left,
            (Action::Edge(k, None), _) => {
                let n = self.order[self.next];
                self.opts[n]
                    .edge
                    .iter()
                    .find(|o| o.model == k)
                    .is_some_and(|o| self.packer.can_add_edge(&o.pareto))
            }
            (Action::Cloud(_, r), _) => self.packer.can_add_cloud(r),
            _ => true,
        }
    }

    fn build_task_step(&mut self) {
        let inst_handle = self.inst.clone();
        let inst = &*inst_handle;
        let n = self.order[self.next];
        let e = &inst.edges[self.edge];
        let opts_handle = self.opts.clone();
        let o = &opts_handle[n];
        let ctx = self.context();
        let local = best_local(inst, o);
        let base = local.map_or(0.0, |x| x.1);
        let mut cands: Vec<(Action, f64, u32, u32)> = vec![(Action::Reject, 0.0, 0, 0)];
        if let Some((k, acc)) = local {
            cands.push((Action::Local(k), acc, 0, 0));
        }
        for eo in &o.edge {
            if !self.cached[eo.model] {
                continue;
            }
            let acc = inst.models[eo.model].accuracy;
            match self.variant {
                Variant::NoSubroutine => {
                    let p = &eo.pareto;
                    let picks: Vec<usize> = if p.len() <= PAIRS_WITHOUT_SUBROUTINE {
                        (0..p.len()).collect()
                    } else {
                        (0..PAIRS_WITHOUT_SUBROUTINE)
                            .map(|i| i * (p.len() - 1) / (PAIRS_WITHOUT_SUBROUTINE - 1))
                            .collect()
                    };
                    for i in picks {
                        let (r, u) = p[i];
                        cands.push((Action::Edge(eo.model, Some((r, u))), acc, r, u));
                    }
                }
                _ => {
                    let &(r, u) =
                        eo.pareto.iter().min_by_key(|&&(r, u)| r * e.units + u * e.rbs).unwrap_or(&(0, 0));
                    cands.push((Action::Edge(eo.model, None), acc, r, u));
                }
            }
        }
        // Cloud options, without those another cloud option dominates (as accurate with
        // no more RBs).
        for co in &o.cloud {
            let acc = inst.models[co.model].accuracy;
            let dominated = o.cloud.iter().any(|c2| {
                let a2 = inst.models[c2.model].accuracy;
                (a2 > acc && c2.rbs <= co.rbs)
                    || (a2 == acc && c2.rbs < co.rbs)
                    || (a2 == acc && c2.rbs == co.rbs && c2.model < co.model)
            });
            if !dominated {
                cands.push((Action::Cloud(co.model, co.rbs), acc, co.rbs, 0));
            }
        }
        let masked = self.variant != Variant::NoMasking;
        let (slack_r, slack_u) = self.slack();
        let mut scored: Vec<(Action, [f32; FEATURES], f64)> = Vec::new();
        for (a, acc, r, u) in cands {
            if masked && !self.fits(&a) {
                continue;
            }
            let cost = f64::from(r) / f64::from(e.rbs) + f64::from(u) / f64::from(e.units);
            let gain = acc - base;
            let mut row = [0f32; FEATURES];
            match a {
                Action::Reject => row[2] = 1.0,
                Action::Local(_) => row[0] = 1.0,
                Action::Edge(..) => row[1] = 1.0,
                _ => row[2] = -1.0,
            }
            row[3] = acc as f32;
            row[4] = gain as f32;
            row[5] = (f64::from(r) / f64::from(slack_r.max(1))).min(2.0) as f32;
            row[6] = (f64::from(u) / f64::from(slack_u.max(1))).min(2.0) as f32;
            row[7] = if cost > 0.0 { (gain / cost).clamp(-2.0, 5.0) as f32 } else { 0.0 };
            row[8] = (f64::from(r) / f64::from(e.rbs)) as f32;
            row[9] = (f64::from(u) / f64::from(e.units)) as f32;
            row[10..15].copy_from_slice(&ctx);
            row[15] = 0.5; // marks the task phase
            row[PRIOR] = (gain - COST_PRIOR * cost) as f32;
            scored.push((a, row, if cost > 0.0 { gain / cost } else { f64::NEG_INFINITY }));
        }
        for (a, row, _) in scored {
            self.push(a, row);
        }
    }

    /// Takes candidate `index` of the current step; returns the accuracy it earned
    /// (0 for cache steps and rejections).
    pub fn apply(&mut self, index: usize) -> f64 {
        let Some(&action) = self.step.actions.get(index) else { return 0.0 };
        let inst_handle = self.inst.clone();
        let inst = &*inst_handle;
        let m = self.edge;
        let mut reward = 0.0;
        match action {
            Action::StopCache => self.phase = Phase::Tasks,
            Action::Cache(k) => {
                let size = inst.models[k].size_mb;
                if size <= self.cache_free_mb {
                    self.cached[k] = true;
                    self.cache_free_mb -= size;
                    self.edge_cache[m].push(k);
                    let acc = inst.models[k].accuracy;
                    for &n in &self.order {
                        if self.opts[n].edge.iter().any(|o| o.model == k) {
                            self.base[n] = self.base[n].max(acc);
                        }
                    }
                }
            }
            a => {
                let n = self.order[self.next];
                let (decision, ok) = self.commit_task(n, a);
                if ok {
                    reward = decision.assignment().map_or(0.0, |x| inst.models[x.model].accuracy);
                    self.decisions[n] = decision;
                } else {
                    self.repaired += 1;
                    self.decisions[n] = Decision::Reject;
                }
                self.next += 1;
            }
        }
        if self.phase == Phase::Tasks && self.next >= self.order.len() {
            self.finish_edge();
            self.start_edge(m + 1);
            return reward;
        }
        self.build_step();
        if self.phase == Phase::Cache && self.step.actions.len() <= 1 {
            self.phase = Phase::Tasks;
            if self.order.is_empty() {
                self.finish_edge();
                self.start_edge(m + 1);
                return reward;
            }
            self.build_step();
        }
        reward
    }

    fn commit_task(&mut self, n: usize, a: Action) -> (Decision, bool) {
        match a {
            Action::Reject => (Decision::Reject, true),
            Action::Local(k) => (Decision::Serve(Assignment::local(k)), true),
            Action::Edge(k, Some((r, u))) => {
                if self.cached[k] && r <= self.rbs_left && u <= self.units_left {
                    self.rbs_left -= r;
                    self.units_left -= u;
                    (Decision::Serve(Assignment::edge(k, r, u)), true)
                } else {
                    (Decision::Reject, false)
                }
            }
            Action::Edge(k, None) => {
                let opts = self.opts.clone();
                let Some(idx) = opts[n].edge.iter().position(|o| o.model == k) else {
                    return (Decision::Reject, false);
                };
                if self.cached[k] && self.packer.add_edge(&opts[n].edge[idx].pareto) {
                    self.packed.push((n, k));
                    // The pair is decided when the server is finished.
                    (Decision::Serve(Assignment::edge(k, 0, 0)), true)
                } else {
                    (Decision::Reject, false)
                }
            }
            Action::Cloud(k, r) => {
                let ok = match self.variant {
                    Variant::NoSubroutine => {
                        let ok = r <= self.rbs_left;
                        if ok {
                            self.rbs_left -= r;
                        }
                        ok
                    }
                    _ => self.packer.add_cloud(r),
                };
                if ok {
                    (Decision::Serve(Assignment::cloud(k, r)), true)
                } else {
                    (Decision::Reject, false)
                }
            }
            Action::StopCache | Action::Cache(_) => (Decision::Reject, false),
        }
    }

    fn finish_edge(&mut self) {
        for ((n, k), (r, u)) in self.packed.iter().zip(self.packer.allocation()) {
            self.decisions[*n] = Decision::Serve(Assignment::edge(*k, r, u));
        }
        self.edge_cache[self.edge].sort_unstable();
    }

    /// The solution (valid once [`Self::done`]).
    pub fn into_solution(self) -> Solution {
        let mut sol = Solution {
            format_version: FORMAT_VERSION,
            edge_cache: self.edge_cache,
            device_models: vec![Vec::new(); self.inst.n_tasks()],
            decisions: self.decisions,
        };
        sol.store_local_models();
        sol
    }
}

/// The reference policy: the candidate with the highest prior (ties: the first), i.e.
/// cache the coverage-per-MB choice while one with a positive gain fits, then give each
/// task its most accurate option that fits (ties: the cheapest).
pub fn reference_choice(step: &Step) -> usize {
    let mut best = (0usize, f32::NEG_INFINITY);
    for (i, row) in step.features.chunks_exact(FEATURES).enumerate() {
        if row[PRIOR] > best.1 {
            best = (i, row[PRIOR]);
        }
    }
    best.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{enumerate_options, evaluate};
    use crate::scenario::{generate, ScenarioParams};

    #[test]
    fn every_variant_builds_valid_solutions_and_return_is_n_times_a() {
        let sc = ScenarioParams::default().check().unwrap();
        for seed in 0..20 {
            let inst = generate(&sc, seed, "t");
            let opts = enumerate_options(&inst);
            for variant in [Variant::Full, Variant::NoSubroutine, Variant::NoMasking] {
                let mut c = Construction::new(&inst, &opts, variant);
                let mut ret = 0.0;
                let mut steps = 0;
                while !c.done() {
                    assert!(!c.step().actions.is_empty());
                    assert_eq!(c.step().features.len(), c.step().actions.len() * FEATURES);
                    ret += c.apply(reference_choice(c.step()));
                    steps += 1;
                    assert!(steps < 10_000);
                }
                let repaired = c.repaired();
                if variant != Variant::NoMasking {
                    assert_eq!(repaired, 0);
                }
                let sol = c.into_solution();
                let ev = evaluate(&inst, &sol).unwrap_or_else(|v| panic!("{variant:?} seed {seed}: {v}"));
                assert!((ret - ev.objective * inst.n_tasks() as f64).abs() < 1e-9, "{variant:?}");
            }
        }
    }
}
