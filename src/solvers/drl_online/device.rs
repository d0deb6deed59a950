//! The learned device placement of `drl-online`: per device with a task, the device
//! holds the shared device rule's target (the set of models of its service with the
//! largest expected accuracy, [`crate::solvers::online::common::device_target`]) and a candidate
//! scorer picks what else it holds, one model at a time until *stop*, among the models
//! that fit the storage left and can meet a deadline locally. Its prior is the rule
//! ([`crate::solvers::online::common::device_holds`]): the rule's other holdings
//! (prefetches, resident models it keeps) score above the stop action and every other
//! model below it, so the untrained scorer holds exactly what the rule holds (tested),
//! and training learns when to deviate from it (faster models of the service for tight
//! deadlines instead of a prefetch, for instance). The target is not the scorer's to
//! drop: a device never holds less for its own service than the rule.
//!
//! Candidate features (`DFEAT` = 16, in this order): the prior; stop flag; accuracy;
//! size over the device's storage; resident; fraction received (downloading);
//! `(1 - p)^d`, `d` the slots until resident at the device's rate; the model serves the
//! task's service; the service's share in the current and in the next regime's mix;
//! the probability that the model meets a deadline of its service locally in the
//! current and in the next regime; its *coverage gain* in the current and in the next
//! regime (the expected accuracy of the best chosen model of its service that meets a
//! deadline drawn from the regime's range, with the model minus without it); the
//! storage fraction left after adding it; the current regime's deadline scale. The stop
//! row carries the prior, the stop flag and the storage fraction left.

use crate::model::{Network, PlacementState, Slot};
use crate::solvers::online::common::{
    deadline_range as range, expected_best_points, lazy_hold, meet_probability, slots_to_resident,
};

/// Width of a device candidate's feature row.
pub const DFEAT: usize = 16;
/// Column of the prior score.
pub const DPRIOR: usize = 0;
/// Prior of a model the device rule holds.
const RULE_PRIOR: f32 = 0.2;
/// Prior of the stop action: below the rule's models, above the rest (0).
const STOP_PRIOR: f32 = 0.1;

/// The expected accuracy of the best of `models` that meets a deadline drawn uniformly
/// from `(lo, hi)` locally at device `n` (0 when none meets it).
pub fn expected_best(net: &Network, n: usize, models: &[usize], range: (f64, f64)) -> f64 {
    let flops = net.devices[n].flops;
    if flops <= 0.0 {
        return 0.0;
    }
    let pts = models.iter().map(|&k| (net.models[k].flops / flops, net.models[k].accuracy)).collect();
    expected_best_points(pts, range)
}

/// The observation block of one step at device `n` (task of service `service`): a row
/// per candidate model not yet chosen that fits what is left of the storage and may
/// meet a deadline locally in the current or the next regime, then the stop row; the
/// candidates' models (`None` for stop). Padded to `slots` rows.
#[allow(clippy::too_many_arguments)]
pub fn step_obs(
    net: &Network,
    slot: &Slot,
    state: &PlacementState,
    n: usize,
    service: usize,
    rule: &[usize],
    chosen: &[usize],
    slots: usize,
    obs: &mut Vec<f32>,
    cands: &mut Vec<Option<usize>>,
) {
    let dev = &net.devices[n];
    let store = &state.devices[n];
    let cap = dev.storage_mb.max(1e-9);
    let used: f64 = chosen.iter().map(|&k| net.models[k].size_mb).sum();
    let left = (cap - used).max(0.0);
    let regimes = net.demand.regimes.len().max(1);
    let r = slot.regime.min(regimes - 1);
    let next = (r + 1) % regimes;
    let stay = (1.0 - net.demand.switch_prob).clamp(0.0, 1.0);
    let scale = net.demand.regimes.get(r).map_or(1.0, |g| g.deadline_scale);
    let volume = net.device_volume_mb(n);
    obs.clear();
    cands.clear();
    // A device that cannot compute has no candidate (only the stop row).
    let models = if dev.flops > 0.0 { net.models.as_slice() } else { &[] };
    for (k, md) in models.iter().enumerate() {
        if chosen.contains(&k) || md.size_mb > left || cands.len() + 2 > slots {
            continue;
        }
        let q = md.service;
        let delay = md.flops / dev.flops;
        let p_now = range(net, r, q).map_or(0.0, |g| meet_probability(delay, g));
        let p_next = range(net, next, q).map_or(0.0, |g| meet_probability(delay, g));
        if p_now <= 0.0 && p_next <= 0.0 {
            continue;
        }
        let same: Vec<usize> = chosen.iter().copied().filter(|&j| net.models[j].service == q).collect();
        let gain = |g: usize| {
            range(net, g, q).map_or(0.0, |rg| {
                let mut with = same.clone();
                with.push(k);
                expected_best(net, n, &with, rg) - expected_best(net, n, &same, rg)
            })
        };
        let mix = |g: usize| net.demand.regimes.get(g).and_then(|g| g.mix.get(q)).copied().unwrap_or(0.0);
        let d = slots_to_resident(net, store, k, volume);
        let row = [
            if rule.contains(&k) { RULE_PRIOR } else { 0.0 },
            0.0,
            md.accuracy as f32,
            (md.size_mb / cap) as f32,
            if store.resident.contains(&k) { 1.0 } else { 0.0 },
            (store.received_mb(k) / md.size_mb) as f32,
            if d.is_finite() { stay.powf(d) as f32 } else { 0.0 },
            if q == service { 1.0 } else { 0.0 },
            mix(r) as f32,
            mix(next) as f32,
            p_now as f32,
            p_next as f32,
            gain(r) as f32,
            gain(next) as f32,
            ((left - md.size_mb) / cap) as f32,
            scale as f32,
        ];
        obs.extend_from_slice(&row);
        obs.push(1.0);
        cands.push(Some(k));
    }
    super::push_stop::<DFEAT>(obs, cands, STOP_PRIOR, (left / cap) as f32, slots);
}

/// Whether device `n` decides its holdings with the scorer when it has a task: it has
/// storage and can compute (the others follow the rule).
fn decides(net: &Network, n: usize) -> bool {
    let dev = &net.devices[n];
    dev.storage_mb > 0.0 && dev.flops > 0.0
}

/// The devices' holdings: `rule` (the shared device rule's holdings) for devices
/// without a task or without storage, else the rule's target set (`targets`, both from
/// [`crate::solvers::online::common::device_rule`]) and the models `choose(n, obs,
/// cands)` picks after it, then the resident models that still fit (lazy eviction, as
/// the rule keeps them).
pub fn device_holds_learned(
    net: &Network,
    slot: &Slot,
    state: &PlacementState,
    rule: Vec<Vec<usize>>,
    targets: &[Vec<usize>],
    slots: usize,
    mut choose: impl FnMut(usize, &[f32], &[Option<usize>]) -> usize,
) -> Vec<Vec<usize>> {
    let mut hold = rule;
    let (mut obs, mut cands) = (Vec::with_capacity(slots * (DFEAT + 1)), Vec::with_capacity(slots));
    for task in &slot.tasks {
        let n = task.device;
        let dev = &net.devices[n];
        if !decides(net, n) {
            continue;
        }
        let mut chosen = targets[n].clone();
        loop {
            step_obs(net, slot, state, n, task.service, &hold[n], &chosen, slots, &mut obs, &mut cands);
            let i = choose(n, &obs, &cands).min(cands.len() - 1);
            match cands[i] {
                Some(k) => chosen.push(k),
                None => break,
            }
        }
        hold[n] = lazy_hold(net, &state.devices[n], &chosen, dev.storage_mb, |k| {
            let md = &net.models[k];
            md.accuracy + if md.service == task.service { 1.0 } else { 0.0 }
        });
    }
    hold
}

/// The devices' download split under the learned holdings: a device that decided this
/// slot (it has a task and storage) gives its volume to its models that are not resident
/// in the order the scorer picked them (the first pick first), each what it still
/// needs while volume is left; the other devices keep the default order (empty lists).
pub fn device_downloads(
    net: &Network,
    slot: &Slot,
    state: &PlacementState,
    holds: &[Vec<usize>],
) -> Vec<Vec<(usize, f64)>> {
    let mut plan = vec![Vec::new(); net.devices.len()];
    for task in &slot.tasks {
        let n = task.device;
        if !decides(net, n) {
            continue;
        }
        let store = &state.devices[n];
        let mut left = net.device_volume_mb(n);
        for &k in holds[n].iter().filter(|k| !store.resident.contains(k)) {
            let mb = (net.models[k].size_mb - store.received_mb(k)).min(left).max(0.0);
            left -= mb;
            plan[n].push((k, mb));
        }
    }
    plan
}
