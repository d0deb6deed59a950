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
}

impl Default for EncodingOptions {
    fn default() -> Self {
        EncodingOptions { binary_rho: true, lead_cuts: true }
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
#[derive(Debug, Clone, PartialEq)]
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
}

impl Track {
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
        store.downloading.iter().find(|d| d.model == k).map_or(0.0, |d| d.received_mb)
    }
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
}

/// Builds every column and track of the episode and splits them into blocks: one per
/// connected group of edge servers (servers are joined when a device's task goes to
/// another server than its own), or one block for all when `decompose` is false.
pub fn prepare(
    net: &Network,
    initial: &PlacementState,
    slots: &[Slot],
    window: usize,
    decompose: bool,
) -> Prepared {
    let mut cols: Vec<ServeCol> = Vec::new();
    // Earliest slot at which a model can serve at a site (memoised per site and model).
    let mut earliest: BTreeMap<((u8, usize), usize), usize> = BTreeMap::new();
    let mut earliest_of = |s: Site, k: usize| -> usize {
        *earliest.entry((site_key(s), k)).or_insert_with(|| {
            let (_, volume) = site_capacity(net, s);
            slots_to_receive(net.models[k].size_mb - initial_mb(net, initial, s, k), volume)
        })
    };
    let mut track_ids: BTreeMap<((u8, usize), usize), usize> = BTreeMap::new();
    let mut tracks: Vec<Track> = Vec::new();
    let mut track_of = |s: Site, k: usize, t: usize, tracks: &mut Vec<Track>| -> usize {
        let id = *track_ids.entry((site_key(s), k)).or_insert_with(|| {
            let (_, volume_mb) = site_capacity(net, s);
            tracks.push(Track {
                site: s,
                model: k,
                size_mb: net.models[k].size_mb,
                volume_mb,
                initial_mb: initial_mb(net, initial, s, k),
                uses: Vec::new(),
            });
            tracks.len() - 1
        });
        if tracks[id].uses.last() != Some(&t) {
            tracks[id].uses.push(t);
        }
        id
    };
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
            let dev = Site::Device(task.device);
            for o in &opts[i].local {
                if earliest_of(dev, o.model) <= t {
                    let track = Some(track_of(dev, o.model, t, &mut tracks));
                    cols.push(ServeCol {
                        slot: t,
                        task: i,
                        assignment: Assignment::local(o.model),
                        accuracy: acc(o.model),
                        track,
                    });
                }
            }
            let edge = Site::Edge(task.edge);
            for a in &shared[i].shared {
                let track = match a.location {
                    Location::Edge if earliest_of(edge, a.model) > t => continue,
                    Location::Edge => Some(track_of(edge, a.model, t, &mut tracks)),
                    _ => None,
                };
                cols.push(ServeCol { slot: t, task: i, assignment: *a, accuracy: acc(a.model), track });
            }
        }
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
    Prepared { cols, tracks, blocks, scored_tasks }
}

/// Where the variables of one track sit among a block's columns.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackLayout {
    /// Column of `h_t` for `t = 0..=last`.
    pub h: usize,
    /// Column of `rho_t` for each use (in [`Track::uses`] order).
    pub rho: usize,
    /// Columns of `x_t` and `b_t` for `t = 0..last`.
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
        for _ in &self.cols {
            c.add(variable().binary());
        }
        let mut layout = Vec::with_capacity(self.tracks.len());
        for &j in &self.tracks {
            let tr = &prep.tracks[j];
            let last = tr.last();
            let h = c.defs.len();
            for _ in 0..=last {
                c.add(variable().binary());
            }
            let rho = c.defs.len();
            for _ in &tr.uses {
                c.add(if eo.binary_rho { variable().binary() } else { variable().clamp(0, 1) });
            }
            let x = c.defs.len();
            for _ in 0..last {
                c.add(variable().min(0.0).max(tr.size_mb.min(tr.volume_mb)));
            }
            let b = c.defs.len();
            for _ in 0..last {
                c.add(variable().min(0.0).max(tr.size_mb));
            }
            layout.push(TrackLayout { h, rho, x, b });
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
        let rho_var = |j: usize, t: usize| -> Variable {
            let i = local[&j];
            let u = prep.tracks[j].uses.binary_search(&t).unwrap_or(0);
            v[layout[i].rho + u]
        };

        // Per task: one option; per (task, track): the options need the model resident
        // and kept (disaggregated link rows).
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
                let mut e = weighted(xs.into_iter().map(|x| (1.0, x)));
                e.add_mul(-1.0, rho_var(j, slot));
                add(e.leq(0.0));
            }
            i = end;
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

        // Per track: download progress, eviction, residency and the lead cuts.
        for (li, &j) in self.tracks.iter().enumerate() {
            let tr = &prep.tracks[j];
            let l = &layout[li];
            let h = |t: usize| v[l.h + t];
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
            }
            for (u, &t) in tr.uses.iter().enumerate() {
                let rho = v[l.rho + u];
                // rho_t <= h_t   (kept in step 2)
                add(row([(1.0, rho), (-1.0, h(t))].into_iter(), 0.0));
                // S_k rho_t <= b_{t-1}   (complete by the end of slot t-1)
                if t == 0 {
                    if tr.initial_mb < tr.size_mb - MB_EPS {
                        add(row(std::iter::once((1.0, rho)), 0.0));
                    }
                } else {
                    add(row([(tr.size_mb, rho), (-1.0, b(t - 1))].into_iter(), 0.0));
                }
                if eo.lead_cuts {
                    for d in 1..=tr.lead().min(t) {
                        add(row([(1.0, rho), (-1.0, h(t - d))].into_iter(), 0.0));
                    }
                }
            }
        }

        // Per site and slot: storage and download volume (rows that can bind only).
        let mut by_site: BTreeMap<(u8, usize), Vec<usize>> = BTreeMap::new();
        for (li, &j) in self.tracks.iter().enumerate() {
            by_site.entry(site_key(prep.tracks[j].site)).or_default().push(li);
        }
        for lis in by_site.values() {
            let site = prep.tracks[self.tracks[lis[0]]].site;
            let (cap, volume) = site_capacity(net, site);
            let horizon = lis.iter().map(|&li| prep.tracks[self.tracks[li]].last()).max().unwrap_or(0);
            for t in 0..=horizon {
                let on: Vec<usize> =
                    lis.iter().copied().filter(|&li| prep.tracks[self.tracks[li]].last() >= t).collect();
                let size = |li: usize| prep.tracks[self.tracks[li]].size_mb;
                if on.iter().map(|&li| size(li)).sum::<f64>() > cap {
                    add(row(on.iter().map(|&li| (size(li), v[layout[li].h + t])), cap));
                }
                let dl: Vec<usize> =
                    on.iter().copied().filter(|&li| prep.tracks[self.tracks[li]].last() > t).collect();
                let ub = |li: usize| size(li).min(volume);
                if dl.iter().map(|&li| ub(li)).sum::<f64>() > volume {
                    add(row(dl.iter().map(|&li| (1.0, v[layout[li].x + t])), volume));
                }
            }
        }
        BlockModel { problem, shape: BlockShape { n_cols, rows, layout } }
    }
}
