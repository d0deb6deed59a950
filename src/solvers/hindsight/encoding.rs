//! The time-expanded MILP of a whole episode (MODEL.md §9.4), after exact reductions,
//! written with good_lp. See the module docs of [`super`] for the formulation and why
//! it is exact; this file builds the columns ([`prepare`]) and the rows
//! ([`Block::model`]).

use std::collections::BTreeMap;

use good_lp::solvers::highs::{highs, HighsProblem};
use good_lp::{
    variable, Constraint, Expression, ProblemVariables, SolverModel, Variable, VariableDefinition,
};

use crate::model::{
    enumerate_options, Assignment, Location, Network, PlacementState, Site, Slot, TaskOptions,
};
use crate::solvers::milp::encoding::reduce;

/// The evaluator's slack on received megabytes: a download within it of `S_k` completes.
const MB_EPS: f64 = 1e-9;

/// How the encoding is written (every variant is exact; they differ in strength and size).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodingOptions {
    /// Residency `rho` binary (`true`) or continuous in [0, 1].
    pub binary_rho: bool,
    /// Add the lead cuts `rho_t <= h_{t-j}` (see the module docs of [`super`]).
    pub lead_cuts: bool,
    /// Add the window cuts `(S_k - w V_s) rho_t <= b_{t-1-w}` (see the module docs of
    /// [`super`]).
    pub window_cuts: bool,
    /// Lead and window cuts at devices too (else at edge servers only).
    pub device_cuts: bool,
    /// One link row per (slot, track), `sum x <= n rho` over its `n` tasks, instead of one
    /// per task (weaker LP, fewer rows).
    pub aggregate_links: bool,
    /// Add `x_t <= min(S_k, V_s) h_t` (redundant for integer `h`, tightens the LP: a
    /// download in progress holds the whole model's storage).
    pub hold_while_downloading: bool,
    /// The LP relaxation: every binary in [0, 1] (an upper bound, for diagnostics).
    pub relax: bool,
    /// Only the serving columns in [0, 1] (an upper bound, for diagnostics: measures the
    /// share of the integrality gap due to the per-slot assignment).
    pub relax_serve: bool,
    /// Only the track binaries (`h`, `rho`) in [0, 1] (an upper bound, for diagnostics:
    /// the share due to placement).
    pub relax_track: bool,
    /// Reduction 6 of the module docs of [`super`] (exact; off by default: it left the
    /// solve times of `online-default` episodes unchanged within noise, and turning it on
    /// may pick another plan among tied optima).
    pub below_always: bool,
}

impl Default for EncodingOptions {
    fn default() -> Self {
        EncodingOptions {
            binary_rho: true,
            lead_cuts: true,
            window_cuts: true,
            device_cuts: false,
            aggregate_links: false,
            hold_while_downloading: true,
            relax: false,
            relax_serve: false,
            relax_track: false,
            below_always: false,
        }
    }
}

/// A serving column: task `task` of slot `slot` takes `assignment`.
#[derive(Debug, Clone, PartialEq)]
pub struct ServeCol {
    pub slot: usize,
    /// Index into the slot's tasks.
    pub task: usize,
    pub assignment: Assignment,
    /// `alpha_k`: the column's objective coefficient.
    pub accuracy: f64,
    /// The track (site, model) whose residency the column needs: its edge server's for an
    /// edge option, its device's for a local one, none for the cloud.
    pub track: Option<usize>,
}

/// The placement of one model at one site over the slots where it can matter.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Track {
    pub site: Site,
    pub model: usize,
    /// `S_k`, MB.
    pub size_mb: f64,
    /// The site's download volume per slot, MB.
    pub volume_mb: f64,
    /// Megabytes the site holds of the model at the start: `S_k` when resident,
    /// the received amount when downloading, else 0 (`b_{-1}`).
    pub initial_mb: f64,
    /// Slots in which some serving column needs the model (increasing, non-empty).
    pub uses: Vec<usize>,
    /// Every track of the site fits its storage at once: the site never needs to evict,
    /// and the track is encoded by residency alone (see the module docs of [`super`]).
    pub free: bool,
}

impl Track {
    /// MB still missing at the start (`S_k - b_{-1}`, 0 when resident).
    pub fn missing_mb(&self) -> f64 {
        (self.size_mb - self.initial_mb).max(0.0)
    }

    /// True when the model is resident at the start.
    pub fn initially_resident(&self) -> bool {
        self.missing_mb() <= MB_EPS
    }

    /// The last slot that can use the model: nothing is held after it.
    pub fn last(&self) -> usize {
        self.uses.last().copied().unwrap_or(0)
    }

    /// `D`: the fewest slots a download from zero takes (`ceil(S_k / V)`), at least 1.
    pub fn lead(&self) -> usize {
        slots_to_receive(self.size_mb, self.volume_mb).max(1)
    }
}

/// Slots needed to receive `mb` at `volume` per slot, rounded down at the evaluator's
/// completion slack (so never more than the evaluator needs).
fn slots_to_receive(mb: f64, volume: f64) -> usize {
    let need = mb - MB_EPS;
    if need <= 0.0 {
        return 0;
    }
    // A relative margin below the quotient: an underestimate only keeps columns.
    let q = need / volume * (1.0 - 1e-9);
    q.ceil().max(0.0) as usize
}

/// Stable order of sites: edge servers, then devices.
pub fn site_key(s: Site) -> (u8, usize) {
    match s {
        Site::Edge(m) => (0, m),
        Site::Device(n) => (1, n),
    }
}

/// Capacity and download volume of a site, MB.
pub fn site_capacity(net: &Network, s: Site) -> (f64, f64) {
    match s {
        Site::Edge(m) => (net.edges[m].cache_mb, net.edge_volume_mb(m)),
        Site::Device(n) => (net.devices[n].storage_mb, net.device_volume_mb(n)),
    }
}

/// `b_{-1}` of a model at a site.
fn initial_mb(net: &Network, initial: &PlacementState, s: Site, k: usize) -> f64 {
    let store = match s {
        Site::Edge(m) => &initial.edges[m],
        Site::Device(n) => &initial.devices[n],
    };
    if store.resident.contains(&k) {
        net.models[k].size_mb
    } else {
        store.received_mb(k)
    }
}

/// The (site key, model) pairs whose every use another model of the site can take over
/// (reduction 5 of the module docs of [`super`]): model `k'` dominates `k` at site `s`
/// when `S_k' <= S_k`, `alpha_k' >= alpha_k`, `k'` misses no more MB than `k` at the
/// start, and for every column needing `k` at `s` the same task has a column needing
/// `k'` at `s` with no more RBs and units. Of models that dominate each other the
/// lowest index stays.
fn dominated_models(
    net: &Network,
    initial: &PlacementState,
    raw: &[(ServeCol, Option<(Site, usize)>)],
) -> std::collections::BTreeSet<((u8, usize), usize)> {
    type Uses = BTreeMap<(usize, usize), Vec<(u32, u32)>>;
    let mut by: BTreeMap<(u8, usize), BTreeMap<usize, Uses>> = BTreeMap::new();
    let mut sites: BTreeMap<(u8, usize), Site> = BTreeMap::new();
    for (c, need) in raw {
        if let Some((s, k)) = *need {
            sites.insert(site_key(s), s);
            by.entry(site_key(s))
                .or_default()
                .entry(k)
                .or_default()
                .entry((c.slot, c.task))
                .or_default()
                .push((c.assignment.rbs, c.assignment.units));
        }
    }
    let mut out = std::collections::BTreeSet::new();
    for (key, models) in &by {
        let site = sites[key];
        let md = |k: usize| &net.models[k];
        let missing = |k: usize| md(k).size_mb - initial_mb(net, initial, site, k);
        let dominates = |a: usize, b: usize| -> bool {
            md(a).size_mb <= md(b).size_mb
                && md(a).accuracy >= md(b).accuracy
                && missing(a) <= missing(b)
                && models[&b].iter().all(|(task, needs)| {
                    models[&a].get(task).is_some_and(|offers| {
                        needs.iter().all(|&(r, u)| offers.iter().any(|&(r2, u2)| r2 <= r && u2 <= u))
                    })
                })
        };
        for &b in models.keys() {
            if models.keys().any(|&a| a != b && dominates(a, b) && (a < b || !dominates(b, a))) {
                out.insert((*key, b));
            }
        }
    }
    out
}

/// Reduction 6 of the module docs of [`super`]: a device whose every needed model fits
/// its storage at once (a free site) and holds model `k` resident at the start can
/// serve its tasks locally with `k` in every slot at no cost (no RBs, no units, no
/// placement decision). A task of such a device keeps, of the columns no more accurate
/// than the best such `k`, only that local column: any plan that takes another one
/// can hold the site's models from slot 0 (free site) and serve with `k` instead,
/// losing nothing and freeing resources.
fn drop_below_always_served(
    net: &Network,
    initial: &PlacementState,
    raw: &mut Vec<(ServeCol, Option<(Site, usize)>)>,
) {
    // Sites whose needed models fit at once, from the columns left so far.
    let mut needed: BTreeMap<(u8, usize), std::collections::BTreeSet<usize>> = BTreeMap::new();
    let mut sites: BTreeMap<(u8, usize), Site> = BTreeMap::new();
    for (_, need) in raw.iter() {
        if let Some((s, k)) = *need {
            needed.entry(site_key(s)).or_default().insert(k);
            sites.insert(site_key(s), s);
        }
    }
    let free = |key: &(u8, usize)| {
        let mb: f64 = needed[key].iter().map(|&k| net.models[k].size_mb).sum();
        mb <= site_capacity(net, sites[key]).0
    };
    let always = |need: &Option<(Site, usize)>| match *need {
        Some((s @ Site::Device(_), k)) => {
            let resident = net.models[k].size_mb - initial_mb(net, initial, s, k) <= MB_EPS;
            resident && free(&site_key(s))
        }
        _ => false,
    };
    // Per task: the best always-served column (first of the most accurate).
    let mut best: BTreeMap<(usize, usize), (f64, usize)> = BTreeMap::new();
    for (i, (c, need)) in raw.iter().enumerate() {
        if always(need) {
            let e = best.entry((c.slot, c.task)).or_insert((c.accuracy, i));
            if c.accuracy > e.0 {
                *e = (c.accuracy, i);
            }
        }
    }
    if best.is_empty() {
        return;
    }
    let mut i = 0;
    raw.retain(|(c, _)| {
        let keep = match best.get(&(c.slot, c.task)) {
            Some(&(a, j)) => i == j || c.accuracy > a,
            None => true,
        };
        i += 1;
        keep
    });
}

/// One independent MILP: the columns and tracks of a set of edge servers and the
/// devices whose tasks go to them.
#[derive(Debug, Clone)]
pub struct Block {
    pub edges: Vec<usize>,
    /// Indices into [`Prepared::cols`], in order (grouped by slot, then task).
    pub cols: Vec<usize>,
    /// Indices into [`Prepared::tracks`], in order.
    pub tracks: Vec<usize>,
    /// `sum` over the block's scored tasks of their most accurate column: a bound that
    /// needs no solver.
    pub trivial_bound: f64,
}

/// Everything built before HiGHS is called.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub cols: Vec<ServeCol>,
    pub tracks: Vec<Track>,
    pub blocks: Vec<Block>,
    /// Tasks of the scored slots (the denominator of `A_ep`).
    pub scored_tasks: usize,
    /// (site, model) pairs left out as dominated by another model of the site.
    pub dominated: usize,
    /// Columns left out as no better than a local model that always serves.
    pub below_always: usize,
}

/// Builds every column and track of the episode and splits them into blocks: one per
/// connected group of edge servers (servers are joined when a device's task goes to
/// another server than its own), or one block for all when `decompose` is false. Of
/// `eo`, only [`EncodingOptions::below_always`] matters here.
pub fn prepare(
    net: &Network,
    initial: &PlacementState,
    slots: &[Slot],
    window: usize,
    decompose: bool,
    eo: EncodingOptions,
) -> Prepared {
    // Earliest slot at which a model can serve at a site (memoised per site and model).
    let mut earliest: BTreeMap<((u8, usize), usize), usize> = BTreeMap::new();
    let mut earliest_of = |s: Site, k: usize| -> usize {
        *earliest.entry((site_key(s), k)).or_insert_with(|| {
            let (_, volume) = site_capacity(net, s);
            slots_to_receive(net.models[k].size_mb - initial_mb(net, initial, s, k), volume)
        })
    };
    // Raw columns with the (site, model) they need.
    let mut raw: Vec<(ServeCol, Option<(Site, usize)>)> = Vec::new();
    let mut scored_tasks = 0;
    for (t, slot) in slots.iter().enumerate().skip(window) {
        scored_tasks += slot.tasks.len();
        if slot.tasks.is_empty() {
            continue;
        }
        let inst = net.slot_instance(slot, None, "hindsight");
        let opts = enumerate_options(&inst);
        // Shared options through the static reductions 3 and 4 (cloud dominance), with
        // no local base: which local model is resident is a decision here.
        let no_local: Vec<TaskOptions> =
            opts.iter().map(|o| TaskOptions { local: Vec::new(), ..o.clone() }).collect();
        let shared = reduce(&inst, &no_local);
        for (i, task) in slot.tasks.iter().enumerate() {
            let acc = |k: usize| net.models[k].accuracy;
            let col = |assignment: Assignment| ServeCol {
                slot: t,
                task: i,
                assignment,
                accuracy: acc(assignment.model),
                track: None,
            };
            let dev = Site::Device(task.device);
            for o in &opts[i].local {
                if earliest_of(dev, o.model) <= t {
                    raw.push((col(Assignment::local(o.model)), Some((dev, o.model))));
                }
            }
            let edge = Site::Edge(task.edge);
            for a in &shared[i].shared {
                match a.location {
                    Location::Edge if earliest_of(edge, a.model) > t => {}
                    Location::Edge => raw.push((col(*a), Some((edge, a.model)))),
                    _ => raw.push((col(*a), None)),
                }
            }
        }
    }
    let dominated = dominated_models(net, initial, &raw);
    raw.retain(|(_, need)| need.is_none_or(|(s, k)| !dominated.contains(&(site_key(s), k))));
    let before = raw.len();
    if eo.below_always {
        drop_below_always_served(net, initial, &mut raw);
    }
    let below_always = before - raw.len();
    let mut track_ids: BTreeMap<((u8, usize), usize), usize> = BTreeMap::new();
    let mut tracks: Vec<Track> = Vec::new();
    let mut cols: Vec<ServeCol> = Vec::with_capacity(raw.len());
    for (mut c, need) in raw {
        if let Some((s, k)) = need {
            let key = (site_key(s), k);
            let id = *track_ids.entry(key).or_insert_with(|| {
                let (_, volume_mb) = site_capacity(net, s);
                tracks.push(Track {
                    site: s,
                    model: k,
                    size_mb: net.models[k].size_mb,
                    volume_mb,
                    initial_mb: initial_mb(net, initial, s, k),
                    uses: Vec::new(),
                    free: false,
                });
                tracks.len() - 1
            });
            if tracks[id].uses.last() != Some(&c.slot) {
                tracks[id].uses.push(c.slot);
            }
            c.track = Some(id);
        }
        cols.push(c);
    }

    // Sites whose tracks all fit at once.
    let mut site_mb: BTreeMap<(u8, usize), f64> = BTreeMap::new();
    for tr in &tracks {
        *site_mb.entry(site_key(tr.site)).or_default() += tr.size_mb;
    }
    for tr in &mut tracks {
        tr.free = site_mb[&site_key(tr.site)] <= site_capacity(net, tr.site).0;
    }

    // Blocks: union-find over edge servers, joined by every task's own and device edge.
    let n_edges = net.edges.len();
    let mut parent: Vec<usize> = (0..n_edges).collect();
    fn find(p: &mut [usize], mut a: usize) -> usize {
        while p[a] != a {
            p[a] = p[p[a]];
            a = p[a];
        }
        a
    }
    for slot in slots.iter().skip(window) {
        for task in &slot.tasks {
            let (a, b) = if decompose { (task.edge, net.devices[task.device].edge) } else { (task.edge, 0) };
            let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
            parent[ra.max(rb)] = ra.min(rb);
        }
    }
    if !decompose {
        for m in 0..n_edges {
            let r = find(&mut parent, m);
            parent[r] = 0;
        }
    }
    let mut block_of_root: BTreeMap<usize, usize> = BTreeMap::new();
    let mut blocks: Vec<Block> = Vec::new();
    for m in 0..n_edges {
        let r = find(&mut parent, m);
        let b = *block_of_root.entry(r).or_insert_with(|| {
            blocks.push(Block {
                edges: Vec::new(),
                cols: Vec::new(),
                tracks: Vec::new(),
                trivial_bound: 0.0,
            });
            blocks.len() - 1
        });
        blocks[b].edges.push(m);
    }
    let block_of_edge: Vec<usize> = (0..n_edges).map(|m| block_of_root[&find(&mut parent, m)]).collect();
    let edge_of_task = |c: &ServeCol| slots[c.slot].tasks[c.task].edge;
    for (j, c) in cols.iter().enumerate() {
        blocks[block_of_edge[edge_of_task(c)]].cols.push(j);
    }
    for (j, tr) in tracks.iter().enumerate() {
        // A device's tracks go with its tasks' block (all in one block by construction).
        let m = match tr.site {
            Site::Edge(m) => m,
            Site::Device(_) => cols.iter().find(|c| c.track == Some(j)).map_or(0, edge_of_task),
        };
        blocks[block_of_edge[m]].tracks.push(j);
    }
    for b in &mut blocks {
        let mut best: BTreeMap<(usize, usize), f64> = BTreeMap::new();
        for &j in &b.cols {
            let c = &cols[j];
            let e = best.entry((c.slot, c.task)).or_insert(0.0);
            *e = e.max(c.accuracy);
        }
        b.trivial_bound = best.values().sum();
    }
    Prepared { cols, tracks, blocks, scored_tasks, dominated: dominated.len(), below_always }
}

/// Where the variables of one track sit among a block's columns.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackLayout {
    /// Column of `h_t` for `t = 0..=last` (none for a free track: it is held from slot 0
    /// to its last use).
    pub h: Option<usize>,
    /// Column of `rho_t` for each use (in [`Track::uses`] order); none for a free track
    /// resident at the start (it always serves).
    pub rho: Option<usize>,
    /// Columns of `x_t` and `b_t` for `t = 0..last` (flow tracks only).
    pub x: usize,
    pub b: usize,
}

/// A block's MILP as good_lp built it for HiGHS.
#[derive(Debug)]
pub struct BlockModel {
    pub problem: HighsProblem,
    pub shape: BlockShape,
}

/// Where a block's variables sit: column `j < cols.len()` is the block's `j`-th serving
/// column; the track variables follow ([`TrackLayout`], one per block track).
#[derive(Debug, Clone, PartialEq)]
pub struct BlockShape {
    pub n_cols: usize,
    pub rows: usize,
    pub layout: Vec<TrackLayout>,
}

/// Variables added in column order, with their column indices.
struct Columns {
    vars: ProblemVariables,
    defs: Vec<Variable>,
}

impl Columns {
    fn add(&mut self, def: VariableDefinition) -> usize {
        self.defs.push(self.vars.add(def));
        self.defs.len() - 1
    }
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

/// `lhs <= rhs` for a weighted sum.
fn row(terms: impl Iterator<Item = (f64, Variable)>, rhs: f64) -> Constraint {
    weighted(terms).leq(rhs)
}

impl Block {
    /// The block's MILP written with good_lp (maximise the sum of accuracies).
    pub fn model(&self, net: &Network, slots: &[Slot], prep: &Prepared, eo: EncodingOptions) -> BlockModel {
        let mut c = Columns { vars: ProblemVariables::new(), defs: Vec::new() };
        let binary = || if eo.relax { variable().clamp(0, 1) } else { variable().binary() };
        for _ in &self.cols {
            c.add(if eo.relax_serve { variable().clamp(0, 1) } else { binary() });
        }
        let binary = || if eo.relax_track || eo.relax { variable().clamp(0, 1) } else { variable().binary() };
        let mut layout = Vec::with_capacity(self.tracks.len());
        for &j in &self.tracks {
            let tr = &prep.tracks[j];
            let last = tr.last();
            let mut l = TrackLayout { h: None, rho: None, x: 0, b: 0 };
            if !tr.free {
                l.h = Some(c.defs.len());
                for _ in 0..=last {
                    c.add(binary());
                }
            }
            if !(tr.free && tr.initially_resident()) {
                l.rho = Some(c.defs.len());
                for _ in &tr.uses {
                    c.add(if eo.binary_rho || tr.free { binary() } else { variable().clamp(0, 1) });
                }
            }
            if !tr.free {
                l.x = c.defs.len();
                for _ in 0..last {
                    c.add(variable().min(0.0).max(tr.size_mb.min(tr.volume_mb)));
                }
                l.b = c.defs.len();
                for _ in 0..last {
                    c.add(variable().min(0.0).max(tr.size_mb));
                }
            }
            layout.push(l);
        }
        let v = c.defs.clone();
        let n_cols = v.len();
        let serve: Vec<(&ServeCol, Variable)> =
            self.cols.iter().map(|&j| &prep.cols[j]).zip(v.iter().copied()).collect();
        let objective = weighted(serve.iter().map(|(col, x)| (col.accuracy, *x)));
        let mut problem = c.vars.maximise(objective).using(highs);
        let mut rows = 0;
        let mut add = |r: Constraint| {
            problem.add_constraint(r);
            rows += 1;
        };
        // Local index of each block track.
        let local: BTreeMap<usize, usize> = self.tracks.iter().enumerate().map(|(i, &j)| (j, i)).collect();
        // `rho_t` of track `j` at one of its uses (none: the model always serves).
        let rho_var = |j: usize, t: usize| -> Option<Variable> {
            let i = local[&j];
            let u = prep.tracks[j].uses.binary_search(&t).ok()?;
            layout[i].rho.map(|r| v[r + u])
        };

        // Per task: one option; per (task, track): the options need the model resident
        // and kept (disaggregated link rows).
        let mut aggregated: BTreeMap<(usize, usize), (Vec<Variable>, f64)> = BTreeMap::new();
        let mut i = 0;
        while i < serve.len() {
            let (slot, task) = (serve[i].0.slot, serve[i].0.task);
            let end =
                i + serve[i..].iter().take_while(|(col, _)| col.slot == slot && col.task == task).count();
            let group = &serve[i..end];
            if group.len() > 1 {
                add(row(group.iter().map(|(_, x)| (1.0, *x)), 1.0));
            }
            let mut by_track: BTreeMap<usize, Vec<Variable>> = BTreeMap::new();
            for (col, x) in group {
                if let Some(j) = col.track {
                    by_track.entry(j).or_default().push(*x);
                }
            }
            for (j, xs) in by_track {
                let Some(rho) = rho_var(j, slot) else { continue };
                if eo.aggregate_links {
                    let e = aggregated.entry((slot, j)).or_default();
                    e.0.extend(xs);
                    e.1 += 1.0;
                    continue;
                }
                let mut e = weighted(xs.into_iter().map(|x| (1.0, x)));
                e.add_mul(-1.0, rho);
                add(e.leq(0.0));
            }
            i = end;
        }
        for ((slot, j), (xs, n)) in aggregated {
            let mut e = weighted(xs.into_iter().map(|x| (1.0, x)));
            if let Some(rho) = rho_var(j, slot) {
                e.add_mul(-n, rho);
                add(e.leq(0.0));
            }
        }

        // Per slot and edge server: spectrum and computing (rows that can bind only).
        let mut per_edge: BTreeMap<(usize, usize), Vec<usize>> = BTreeMap::new();
        for (i, (col, _)) in serve.iter().enumerate() {
            if col.assignment.location != Location::Local {
                per_edge.entry((col.slot, slots[col.slot].tasks[col.task].edge)).or_default().push(i);
            }
        }
        for ((_, m), idx) in &per_edge {
            let e = &net.edges[*m];
            for (cap, f) in [
                (e.rbs, (|a: &Assignment| a.rbs) as fn(&Assignment) -> u32),
                (e.units, |a: &Assignment| a.units),
            ] {
                // Largest demand: per task its most demanding column.
                let mut most: BTreeMap<usize, u32> = BTreeMap::new();
                for &i in idx {
                    let d = most.entry(serve[i].0.task).or_insert(0);
                    *d = (*d).max(f(&serve[i].0.assignment));
                }
                if most.values().map(|&d| u64::from(d)).sum::<u64>() > u64::from(cap) {
                    let terms = idx
                        .iter()
                        .filter(|&&i| f(&serve[i].0.assignment) > 0)
                        .map(|&i| (f64::from(f(&serve[i].0.assignment)), serve[i].1));
                    add(row(terms, f64::from(cap)));
                }
            }
        }

        // Flow tracks: download progress, eviction, residency and the lead and window cuts.
        for (li, &j) in self.tracks.iter().enumerate() {
            let tr = &prep.tracks[j];
            let l = &layout[li];
            let (Some(h0), Some(r0)) = (l.h, l.rho) else { continue };
            let h = |t: usize| v[h0 + t];
            let x = |t: usize| v[l.x + t];
            let b = |t: usize| v[l.b + t];
            for t in 0..tr.last() {
                // b_t <= b_{t-1} + x_t   (b_{-1} = initial MB)
                let mut e = Expression::from(b(t));
                e.add_mul(-1.0, x(t));
                if t == 0 {
                    add(e.leq(tr.initial_mb));
                } else {
                    e.add_mul(-1.0, b(t - 1));
                    add(e.leq(0.0));
                }
                // b_t <= S_k h_t   (eviction loses the progress)
                add(row([(1.0, b(t)), (-tr.size_mb, h(t))].into_iter(), 0.0));
                if eo.hold_while_downloading {
                    // x_t <= min(S_k, V_s) h_t
                    add(row([(1.0, x(t)), (-tr.size_mb.min(tr.volume_mb), h(t))].into_iter(), 0.0));
                }
            }
            for (u, &t) in tr.uses.iter().enumerate() {
                let rho = v[r0 + u];
                // rho_t <= h_t   (kept in step 2)
                add(row([(1.0, rho), (-1.0, h(t))].into_iter(), 0.0));
                // S_k rho_t <= b_{t-1}   (complete by the end of slot t-1)
                if t == 0 {
                    if !tr.initially_resident() {
                        add(row(std::iter::once((1.0, rho)), 0.0));
                    }
                } else {
                    add(row([(tr.size_mb, rho), (-1.0, b(t - 1))].into_iter(), 0.0));
                }
                let cuts = eo.device_cuts || matches!(tr.site, Site::Edge(_));
                if eo.lead_cuts && cuts {
                    for d in 1..=tr.lead().min(t) {
                        add(row([(1.0, rho), (-1.0, h(t - d))].into_iter(), 0.0));
                    }
                }
                if eo.window_cuts && cuts {
                    // At most w V_s MB arrive in the last w slots before t.
                    let mut w = 1;
                    while w < t && tr.size_mb - w as f64 * tr.volume_mb > 0.0 {
                        let need = tr.size_mb - w as f64 * tr.volume_mb;
                        add(row([(need, rho), (-1.0, b(t - 1 - w))].into_iter(), 0.0));
                        w += 1;
                    }
                }
            }
        }

        // Free tracks: residency is monotone (never evicted), the rest is per site.
        for (li, &j) in self.tracks.iter().enumerate() {
            let tr = &prep.tracks[j];
            if let (true, Some(r0)) = (tr.free, layout[li].rho) {
                for u in 1..tr.uses.len() {
                    add(row([(1.0, v[r0 + u - 1]), (-1.0, v[r0 + u])].into_iter(), 0.0));
                }
            }
        }

        // Per site and slot: storage and download volume (rows that can bind only).
        let mut by_site: BTreeMap<(u8, usize), Vec<usize>> = BTreeMap::new();
        for (li, &j) in self.tracks.iter().enumerate() {
            by_site.entry(site_key(prep.tracks[j].site)).or_default().push(li);
        }
        for lis in by_site.values() {
            let track = |li: usize| &prep.tracks[self.tracks[li]];
            let site = track(lis[0]).site;
            let (cap, volume) = site_capacity(net, site);
            if track(lis[0]).free {
                // Every download starts at slot 0 and is never evicted (nothing to gain:
                // storage never binds), so the completions are feasible exactly when,
                // for every slot t, the missing MB of the models resident by t fit in
                // t V_s (one machine, common release, deadlines: EDF).
                let mut times: Vec<usize> =
                    lis.iter().flat_map(|&li| track(li).uses.iter().copied()).collect();
                times.sort_unstable();
                times.dedup();
                for t in times {
                    let terms: Vec<(f64, Variable)> = lis
                        .iter()
                        .filter_map(|&li| {
                            let tr = track(li);
                            let r0 = layout[li].rho?;
                            let u = tr.uses.partition_point(|&x| x <= t).checked_sub(1)?;
                            Some((tr.missing_mb(), v[r0 + u]))
                        })
                        .collect();
                    let limit = t as f64 * volume;
                    if terms.iter().map(|(a, _)| a).sum::<f64>() > limit {
                        add(row(terms.into_iter(), limit));
                    }
                }
                continue;
            }
            let horizon = lis.iter().map(|&li| track(li).last()).max().unwrap_or(0);
            let h = |li: usize, t: usize| layout[li].h.map(|h0| v[h0 + t]);
            for t in 0..=horizon {
                let on: Vec<usize> = lis.iter().copied().filter(|&li| track(li).last() >= t).collect();
                let size = |li: usize| track(li).size_mb;
                if on.iter().map(|&li| size(li)).sum::<f64>() > cap {
                    add(row(on.iter().filter_map(|&li| Some((size(li), h(li, t)?))), cap));
                }
                let dl: Vec<usize> = on.iter().copied().filter(|&li| track(li).last() > t).collect();
                let ub = |li: usize| size(li).min(volume);
                if dl.iter().map(|&li| ub(li)).sum::<f64>() > volume {
                    add(row(dl.iter().map(|&li| (1.0, v[layout[li].x + t])), volume));
                }
            }
        }
        BlockModel { problem, shape: BlockShape { n_cols, rows, layout } }
    }
}
