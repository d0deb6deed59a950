//! What the rule-based online policies share: the per-slot assignment on the resident
//! placement (MODEL.md §9.4), lazy eviction, and the device rule.

use crate::model::{Holdings, Network, PlacementState, Slot, Solution, Store, FORMAT_VERSION};
use crate::solver::{SolveOptions, Solver, SolverError};

/// The models each site may serve with in a slot: resident at its start and kept by
/// the slot's placement change.
pub fn kept_resident(state: &PlacementState, hold: &Holdings) -> Holdings {
    let keep = |s: &Store, h: &Vec<usize>| s.resident.iter().copied().filter(|k| h.contains(k)).collect();
    Holdings {
        edges: state.edges.iter().zip(&hold.edges).map(|(s, h)| keep(s, h)).collect(),
        devices: state.devices.iter().zip(&hold.devices).map(|(s, h)| keep(s, h)).collect(),
    }
}

/// The solution of a slot without tasks.
pub fn empty_solution(net: &Network) -> Solution {
    Solution {
        format_version: FORMAT_VERSION,
        edge_cache: vec![Vec::new(); net.edges.len()],
        device_models: Vec::new(),
        decisions: Vec::new(),
    }
}

/// The per-slot optimum (or `inner`'s answer) on the placement `hold` keeps.
pub fn assign(
    inner: &dyn Solver,
    net: &Network,
    slot: &Slot,
    state: &PlacementState,
    hold: &Holdings,
    opts: &SolveOptions,
) -> Result<Solution, SolverError> {
    if slot.tasks.is_empty() {
        return Ok(empty_solution(net));
    }
    let kept = kept_resident(state, hold);
    let inst = net.slot_instance(slot, Some(&kept), "slot");
    Ok(inner.solve(&inst, opts)?.solution)
}

/// Lazy eviction at one site: the target first (in its order, while it fits), then the
/// resident models outside the target by decreasing `priority`, while they fit. A
/// download outside the target is dropped (it would hold storage and, in the default
/// order, bandwidth).
pub fn lazy_hold(net: &Network, store: &Store, target: &[usize], cap_mb: f64, priority: impl Fn(usize) -> f64) -> Vec<usize> {
    let size = |k: usize| net.models[k].size_mb;
    let (mut used, mut hold) = (0.0, Vec::new());
    for &k in target {
        if !hold.contains(&k) && used + size(k) <= cap_mb {
            used += size(k);
            hold.push(k);
        }
    }
    let mut extra: Vec<usize> = store.resident.iter().copied().filter(|k| !hold.contains(k)).collect();
    extra.sort_by(|&a, &b| priority(b).total_cmp(&priority(a)).then(a.cmp(&b)));
    for k in extra {
        if used + size(k) <= cap_mb {
            used += size(k);
            hold.push(k);
        }
    }
    hold
}

/// The device rule every rule-based policy uses: a device with a task targets the most
/// accurate model of the task's service that fits its storage and meets the task's
/// deadline locally (none when no model does); resident models stay while they fit
/// (lazy eviction, most accurate first). A device without a task keeps what it holds.
pub fn device_holds(net: &Network, slot: &Slot, state: &PlacementState) -> Vec<Vec<usize>> {
    let mut hold: Vec<Vec<usize>> = state.devices.iter().map(Store::held).collect();
    for task in &slot.tasks {
        let n = task.device;
        let dev = &net.devices[n];
        let best = (0..net.models.len())
            .filter(|&k| {
                let md = &net.models[k];
                md.service == task.service
                    && md.size_mb <= dev.storage_mb
                    && crate::model::meets_deadline(md.flops / dev.flops, task.deadline_s)
            })
            .max_by(|&a, &b| net.models[a].accuracy.total_cmp(&net.models[b].accuracy).then(b.cmp(&a)));
        let target: Vec<usize> = best.into_iter().collect();
        hold[n] = lazy_hold(net, &state.devices[n], &target, dev.storage_mb, |k| {
            let md = &net.models[k];
            md.accuracy + if md.service == task.service { 1.0 } else { 0.0 }
        });
    }
    hold
}

/// Priority of keeping model `k` at an edge under regime `r`: its service's share in
/// the regime's mix times its accuracy.
pub fn regime_value(net: &Network, r: usize, k: usize) -> f64 {
    let md = &net.models[k];
    net.demand.regimes[r].mix.get(md.service).copied().unwrap_or(0.0) * md.accuracy
}
