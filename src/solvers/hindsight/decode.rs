//! From MILP column values to a plan the episode evaluator replays: holds from `h`, the
//! assignment from the serving columns, and download amounts recomputed by earliest
//! deadline first (EDF) so that every model a serving column needs is resident in time.
//!
//! The amounts are not read from the MILP's `x` (HiGHS's tolerances could leave a
//! model a hair short of complete): per site and slot, the downloads after the
//! placement change are served one after another in order of the next slot that needs
//! each of them while it stays held (downloads needed by no later slot of their hold
//! run come last, in the evaluator's default order), each receiving exactly
//! `min(S_k - received, volume left)`. EDF is optimal for divisible jobs with release
//! times and deadlines on one resource of fixed capacity per slot, so whenever the
//! MILP's (integer) holds and assignment admit a download schedule, this one meets
//! every need; the replay of [`crate::model::Replay`] checks it.

use std::collections::BTreeMap;

use super::encoding::{site_key, BlockShape, Prepared};
use crate::model::{
    Decision, DownloadPlan, Holdings, Location, Network, PlacementState, Replay, Site, Slot, SlotDecision,
    Solution, Store, FORMAT_VERSION,
};

/// The integer part of a MILP solution, over every block.
#[derive(Debug, Clone, PartialEq)]
pub struct Chosen {
    /// Chosen serving column (index into [`Prepared::cols`]) per slot and task.
    pub serve: BTreeMap<(usize, usize), usize>,
    /// Held models per slot and site key.
    pub hold: Vec<BTreeMap<(u8, usize), Vec<usize>>>,
    /// Slots in which each (site key, model) must serve, increasing.
    pub needs: BTreeMap<((u8, usize), usize), Vec<usize>>,
    /// Sum of the chosen columns' accuracies, summed slot by slot.
    pub accuracy_sum: f64,
}

/// Reads the binaries of every block (rounded at 0.5). `values[i]` is block `i`'s
/// column values (`None`: no incumbent, every column 0). Errors when the values break
/// the encoding (two options for one task, a model served but not held).
pub fn read_values(
    prep: &Prepared,
    models: &[Option<BlockShape>],
    values: &[Option<Vec<f64>>],
    n_slots: usize,
) -> Result<Chosen, String> {
    let mut serve = BTreeMap::new();
    let mut hold: Vec<BTreeMap<(u8, usize), Vec<usize>>> = vec![BTreeMap::new(); n_slots];
    let mut needs: BTreeMap<((u8, usize), usize), Vec<usize>> = BTreeMap::new();
    let mut per_slot = vec![0.0; n_slots];
    for ((block, model), vals) in prep.blocks.iter().zip(models).zip(values) {
        let (Some(model), Some(vals)) = (model, vals) else { continue };
        if vals.len() != model.n_cols {
            return Err(format!(
                "HiGHS returned {} column values, the model has {}",
                vals.len(),
                model.n_cols
            ));
        }
        let on = |j: usize| vals[j] > 0.5;
        for (i, &j) in block.cols.iter().enumerate() {
            if !on(i) {
                continue;
            }
            let c = &prep.cols[j];
            if let Some(prev) = serve.insert((c.slot, c.task), j) {
                return Err(format!(
                    "slot {} task {}: two options selected (columns {prev} and {j})",
                    c.slot, c.task
                ));
            }
            per_slot[c.slot] += c.accuracy;
            if let Some(tj) = c.track {
                let tr = &prep.tracks[tj];
                let e = needs.entry((site_key(tr.site), tr.model)).or_default();
                if e.last() != Some(&c.slot) {
                    e.push(c.slot);
                }
            }
        }
        for (li, &tj) in block.tracks.iter().enumerate() {
            let tr = &prep.tracks[tj];
            let l = &model.layout[li];
            // A free track is held from slot 0 to its last use.
            for (t, slot_hold) in hold.iter_mut().enumerate().take(tr.last() + 1) {
                if l.h.is_none_or(|h0| on(h0 + t)) {
                    slot_hold.entry(site_key(tr.site)).or_default().push(tr.model);
                }
            }
        }
    }
    for ((site, k), slots) in &needs {
        if let Some(&t) = slots.iter().find(|&&t| !hold[t].get(site).is_some_and(|h| h.contains(k))) {
            return Err(format!("slot {t}: model {k} serves at site {site:?} without being held"));
        }
    }
    for h in &mut hold {
        h.values_mut().for_each(|ks| ks.sort_unstable());
    }
    Ok(Chosen { serve, hold, needs, accuracy_sum: per_slot.iter().sum() })
}

/// The store of a site in a placement state.
fn store(state: &PlacementState, s: Site) -> &Store {
    match s {
        Site::Edge(m) => &state.edges[m],
        Site::Device(n) => &state.devices[n],
    }
}

/// The download amounts of one site in slot `t` (EDF, see the module docs).
fn site_downloads(
    net: &Network,
    chosen: &Chosen,
    t: usize,
    s: Site,
    before: &Store,
    hold: &[usize],
    volume: f64,
) -> Vec<(usize, f64)> {
    // The downloads after step 2, as the evaluator builds them.
    let mut list: Vec<(usize, f64)> = before
        .downloading
        .iter()
        .filter(|d| hold.contains(&d.model))
        .map(|d| (d.model, d.received_mb))
        .collect();
    let mut new: Vec<usize> = hold.iter().copied().filter(|&k| !before.holds(k)).collect();
    new.sort_unstable();
    list.extend(new.into_iter().map(|k| (k, 0.0)));
    let key = site_key(s);
    let held_at =
        |k: usize, u: usize| chosen.hold.get(u).and_then(|h| h.get(&key)).is_some_and(|h| h.contains(&k));
    // The next slot that needs `k`, if the site holds it from `t` until then.
    let deadline = |k: usize| -> usize {
        let next = chosen.needs.get(&(key, k)).and_then(|needs| needs.iter().copied().find(|&n| n > t));
        match next {
            Some(need) if (t + 1..=need).all(|u| held_at(k, u)) => need,
            _ => usize::MAX,
        }
    };
    let mut order: Vec<(usize, usize)> =
        list.iter().enumerate().map(|(i, &(k, _))| (deadline(k), i)).collect();
    order.sort_unstable();
    let mut left = volume;
    let mut out = vec![(0, 0.0); list.len()];
    for (_, i) in order {
        let (k, received) = list[i];
        let remaining = net.models[k].size_mb - received;
        let g = remaining.min(left).max(0.0);
        left = (left - g).max(0.0);
        out[i] = (k, g);
    }
    out
}

/// The plan of a whole episode from the chosen columns. Slots before `window` (and
/// slots without chosen columns) are assigned by `unscored` on the kept-resident slot
/// instance. Returns the decisions, or the first rule the replay finds broken.
pub fn build_plan(
    ep: &crate::model::Episode,
    prep: &Prepared,
    chosen: &Chosen,
    unscored: &dyn Fn(&Slot, &Holdings) -> Option<Solution>,
) -> Result<Vec<SlotDecision>, String> {
    let net = &ep.network;
    let mut replay = Replay::new(ep);
    let mut out = Vec::with_capacity(ep.slots.len());
    for (t, slot) in ep.slots.iter().enumerate() {
        let sites: Vec<Site> =
            (0..net.edges.len()).map(Site::Edge).chain((0..net.devices.len()).map(Site::Device)).collect();
        let hold_of = |s: Site| chosen.hold[t].get(&site_key(s)).cloned().unwrap_or_default();
        let hold = Holdings {
            edges: (0..net.edges.len()).map(|m| hold_of(Site::Edge(m))).collect(),
            devices: (0..net.devices.len()).map(|n| hold_of(Site::Device(n))).collect(),
        };
        let state = replay.state().clone();
        let mut plan = DownloadPlan {
            edges: vec![Vec::new(); net.edges.len()],
            devices: vec![Vec::new(); net.devices.len()],
        };
        for &s in &sites {
            let (h, volume) = match s {
                Site::Edge(m) => (&hold.edges[m], net.edge_volume_mb(m)),
                Site::Device(n) => (&hold.devices[n], net.device_volume_mb(n)),
            };
            let d = site_downloads(net, chosen, t, s, store(&state, s), h, volume);
            match s {
                Site::Edge(m) => plan.edges[m] = d,
                Site::Device(n) => plan.devices[n] = d,
            }
        }
        let kept = Holdings {
            edges: state.edges.iter().zip(&hold.edges).map(|(s, h)| kept(s, h)).collect(),
            devices: state.devices.iter().zip(&hold.devices).map(|(s, h)| kept(s, h)).collect(),
        };
        let solution = if t >= net.window {
            scored_solution(net, prep, chosen, t, slot)
        } else {
            unscored(slot, &kept).unwrap_or_else(|| reject_all(net, slot))
        };
        let d = SlotDecision { hold, solution, downloads: Some(plan) };
        replay.step(&d).map_err(|v| v.to_string())?;
        out.push(d);
    }
    Ok(out)
}

fn kept(s: &Store, h: &[usize]) -> Vec<usize> {
    s.resident.iter().copied().filter(|k| h.contains(k)).collect()
}

/// Rejects every task of a slot.
pub fn reject_all(net: &Network, slot: &Slot) -> Solution {
    Solution {
        format_version: FORMAT_VERSION,
        edge_cache: vec![Vec::new(); net.edges.len()],
        device_models: vec![Vec::new(); slot.tasks.len()],
        decisions: vec![Decision::Reject; slot.tasks.len()],
    }
}

/// The MILP's assignment of a scored slot.
fn scored_solution(net: &Network, prep: &Prepared, chosen: &Chosen, t: usize, slot: &Slot) -> Solution {
    let mut sol = reject_all(net, slot);
    for (i, task) in slot.tasks.iter().enumerate() {
        if let Some(&j) = chosen.serve.get(&(t, i)) {
            let a = prep.cols[j].assignment;
            sol.decisions[i] = Decision::Serve(a);
            if a.location == Location::Edge && !sol.edge_cache[task.edge].contains(&a.model) {
                sol.edge_cache[task.edge].push(a.model);
            }
        }
    }
    sol.edge_cache.iter_mut().for_each(|c| c.sort_unstable());
    sol.store_local_models();
    sol
}
