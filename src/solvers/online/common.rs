//! What the rule-based online policies share: the per-slot assignment on the resident
//! placement (MODEL.md §9.4), lazy eviction, the edge download order and fill, and the
//! device rule.

use crate::model::{
    DownloadPlan, Holdings, Network, PlacementState, Slot, SlotTask, Solution, Store, FORMAT_VERSION,
};
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

/// `inner`'s answer on the placement `hold` keeps: the policies pass `dp`, the per-slot
/// optimum there.
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
pub fn lazy_hold(
    net: &Network,
    store: &Store,
    target: &[usize],
    cap_mb: f64,
    priority: impl Fn(usize) -> f64,
) -> Vec<usize> {
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

/// The device rule every online policy shares (v5): a device with a task targets the set
/// of models of the task's service that fits its storage with the largest expected
/// accuracy over the rest of the service's run ([`device_target`]): for a deadline
/// drawn from the service's range in the current regime, the best model of the set that
/// meets it locally, each model's accuracy weighed by `(1 - p)^d_k`:
/// - the deadline range is the demand model's uniform range times the regime's deadline
///   scale, so the target does not depend on one task's draw: a single tight deadline no
///   longer drops a download that most tasks of the service would use;
/// - `d_k`, the slots until `k` is resident at the device's download rate (0 when
///   resident; the set's missing models download smallest first), and `p` the regime
///   switch probability (services are redrawn at a regime start, so `1 - p` is the chance
///   the service still runs next slot): a small model that arrives soon beats a larger,
///   more accurate one that would arrive late.
///
/// A set of one model is worth `alpha_k P_k (1 - p)^d_k` (`P_k` the chance that `k` meets
/// the deadline), the single target of rule v4; a set of several holds a fast model for
/// the tight deadlines beside an accurate one for the loose ones. No target when no
/// model has a positive value. Once the target is resident, the device prefetches for
/// the next regime ([`prefetch`]) into storage nothing else uses. Resident models stay
/// while they fit (lazy eviction, the task's service first, most accurate first). A
/// device without a task keeps what it holds.
pub fn device_holds(net: &Network, slot: &Slot, state: &PlacementState) -> Vec<Vec<usize>> {
    device_rule(net, slot, state).0
}

/// [`device_holds`] and each device's target ([`device_target`]; empty for a device
/// without a task), for policies that build on the rule's target.
pub fn device_rule(net: &Network, slot: &Slot, state: &PlacementState) -> (Vec<Vec<usize>>, Vec<Vec<usize>>) {
    let mut hold: Vec<Vec<usize>> = state.devices.iter().map(Store::held).collect();
    let mut targets = vec![Vec::new(); state.devices.len()];
    for task in &slot.tasks {
        let n = task.device;
        let dev = &net.devices[n];
        let store = &state.devices[n];
        targets[n] = device_target(net, slot, state, task);
        let mut target = targets[n].clone();
        if target.iter().all(|&k| store.resident.contains(&k)) {
            target.extend(prefetch(net, slot, store, n, task.service));
        }
        hold[n] = lazy_hold(net, store, &target, dev.storage_mb, |k| {
            let md = &net.models[k];
            md.accuracy + if md.service == task.service { 1.0 } else { 0.0 }
        });
    }
    (hold, targets)
}

/// The target of the device rule for `task`'s device ([`device_holds`]): the subset of
/// the models of the task's service with a positive single value that fits the device's
/// storage and has the largest expected discounted accuracy (every such subset is
/// scored; ties keep the single best model, then the first set found), ordered as it
/// downloads: residents first, then the smallest first. Empty when no model has a
/// positive value.
pub fn device_target(net: &Network, slot: &Slot, state: &PlacementState, task: &SlotTask) -> Vec<usize> {
    let n = task.device;
    let stay = (1.0 - net.demand.switch_prob).clamp(0.0, 1.0);
    let range = deadline_range(net, slot.regime, task.service).unwrap_or((task.deadline_s, task.deadline_s));
    let store = &state.devices[n];
    let cap = net.devices[n].storage_mb;
    // The candidates, models of the service with a positive value alone; the best of
    // them (ties: the lower index) is the single target.
    let cands: Vec<(usize, f64)> = (0..net.models.len())
        .filter(|&k| net.models[k].service == task.service && net.models[k].size_mb <= cap)
        .map(|k| (k, local_value(net, store, n, k, range, stay)))
        .filter(|&(_, v)| v > 0.0)
        .collect();
    let Some(&(single, _)) = cands.iter().max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0))) else {
        return Vec::new();
    };
    let cands: Vec<usize> = cands.into_iter().map(|(k, _)| k).collect();
    let rate = net.device_volume_mb(n);
    let flops = net.devices[n].flops;
    // The set's value: the expected accuracy of its best model that meets a deadline,
    // each model's accuracy discounted by the chance the service lasts until it arrives
    // (downloads in the set's order: residents, then the smallest first).
    let value = |set: &mut Vec<usize>| -> f64 {
        set.sort_by(|&a, &b| {
            let ra = store.resident.contains(&a);
            let rb = store.resident.contains(&b);
            rb.cmp(&ra).then(net.models[a].size_mb.total_cmp(&net.models[b].size_mb)).then(a.cmp(&b))
        });
        let mut missing = 0.0;
        let mut pts = Vec::with_capacity(set.len());
        for &k in set.iter() {
            let d = if store.resident.contains(&k) {
                0.0
            } else {
                missing += (net.models[k].size_mb - store.received_mb(k)).max(0.0);
                if rate > 0.0 {
                    (missing / rate - 1e-9).ceil().max(0.0)
                } else {
                    f64::INFINITY
                }
            };
            if d.is_finite() {
                pts.push((net.models[k].flops / flops, net.models[k].accuracy * stay.powf(d)));
            }
        }
        expected_best_points(pts, range)
    };
    let mut best = (value(&mut vec![single]), vec![single]);
    // No set is worth more than its best model's discounted accuracy alone (the expected
    // best is at most the largest value, and a model arrives no sooner in a set): when
    // the single target reaches that for every candidate, it is the best set.
    let bound = cands.iter().fold(0.0_f64, |b, &k| {
        b.max(net.models[k].accuracy * stay.powf(slots_to_resident(net, store, k, rate)))
    });
    if best.0 >= bound - 1e-12 {
        return best.1;
    }
    let size = |k: usize| net.models[k].size_mb;
    // Every subset of the candidates that fits the storage (depth-first, pruned on size).
    let mut stack: Vec<(Vec<usize>, usize, f64)> = vec![(Vec::new(), 0, 0.0)];
    while let Some((set, from, used)) = stack.pop() {
        for (i, &k) in cands.iter().enumerate().skip(from) {
            if used + size(k) <= cap {
                // The order within a set does not matter to the enumeration.
                let mut next = set.clone();
                next.push(k);
                let v = value(&mut next);
                if v > best.0 + 1e-9 {
                    best = (v, next.clone());
                }
                stack.push((next, i + 1, used + size(k)));
            }
        }
    }
    best.1
}

/// The expected value of the best point `(delay, value)` whose delay meets a deadline
/// drawn uniformly from `(lo, hi)` (0 when none meets it); a point range is a plain test.
pub fn expected_best_points(mut pts: Vec<(f64, f64)>, (lo, hi): (f64, f64)) -> f64 {
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    if hi <= lo {
        return pts.iter().filter(|p| crate::model::meets_deadline(p.0, lo)).map(|p| p.1).fold(0.0, f64::max);
    }
    // best(D) = max value over delays <= D: a step function rising at each delay.
    let (mut total, mut best) = (0.0, 0.0f64);
    for (i, &(delay, acc)) in pts.iter().enumerate() {
        best = best.max(acc);
        let from = delay.max(lo);
        let to = pts.get(i + 1).map_or(hi, |p| p.0.min(hi)).max(from);
        if from < hi {
            total += best * (to - from).min(hi - from);
        }
    }
    // Delays within the deadline test's tolerance of `lo` count as meeting it.
    (total / (hi - lo)).clamp(0.0, 1.0)
}

/// The deadline range of service `q` in regime `r`: the demand model's range times the
/// regime's deadline scale (none for an unknown service).
pub fn deadline_range(net: &Network, r: usize, q: usize) -> Option<(f64, f64)> {
    let scale = net.demand.regimes.get(r).map_or(1.0, |g| g.deadline_scale);
    net.demand.deadlines_s.get(q).map(|&(lo, hi)| (lo * scale, hi * scale))
}

/// Prefetch for the next regime (part of the device rule): a device whose target is
/// resident uses its idle download volume for models of the services it may draw when
/// the next regime of the cycle starts. Per service `q` other than the current one and
/// without a resident model, the candidate is the model of `q` with the largest
/// `mix'_q alpha_k P'_k (1 - p)^d_k` (`mix'` and `P'` the next regime's share and deadline
/// probability; `(1 - p)^d_k` the chance the regime lasts until `k` arrives); candidates
/// by decreasing value while they fit the storage left free by everything the device
/// holds, so a prefetch never evicts. Started after the target arrived, a prefetch comes
/// after it in the default download order.
fn prefetch(net: &Network, slot: &Slot, store: &Store, n: usize, service: usize) -> Vec<usize> {
    let dev = &net.devices[n];
    let r_next = (slot.regime + 1) % net.demand.regimes.len().max(1);
    let Some(next) = net.demand.regimes.get(r_next) else {
        return Vec::new();
    };
    let stay = (1.0 - net.demand.switch_prob).clamp(0.0, 1.0);
    // Called once the target is resident: the resident models are all the device holds.
    let used: f64 = store.resident.iter().map(|&k| net.models[k].size_mb).sum();
    let mut free = dev.storage_mb - used;
    let covered = |q: usize| store.resident.iter().any(|&k| net.models[k].service == q);
    let mut picks: Vec<(f64, usize)> = Vec::new();
    for (q, &share) in next.mix.iter().enumerate() {
        if q == service || share <= 0.0 || covered(q) {
            continue;
        }
        let Some(range) = deadline_range(net, r_next, q) else { continue };
        let value = |k: usize| share * local_value(net, store, n, k, range, stay);
        if let Some(k) = best_local_model(net, q, free, value) {
            picks.push((value(k), k));
        }
    }
    picks.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut out = Vec::new();
    for (_, k) in picks {
        let size = net.models[k].size_mb;
        if size <= free {
            free -= size;
            out.push(k);
        }
    }
    out
}

/// The expected accuracy of model `k` at device `n` over the rest of a service's run:
/// `alpha_k P_k (1 - p)^d_k`, `P_k` the probability of meeting a deadline drawn from
/// `range` locally, `d_k` the slots until `k` is resident (0 without a download rate).
fn local_value(net: &Network, store: &Store, n: usize, k: usize, range: (f64, f64), stay: f64) -> f64 {
    let md = &net.models[k];
    let d = slots_to_resident(net, store, k, net.device_volume_mb(n));
    if d.is_finite() {
        md.accuracy * meet_probability(md.flops / net.devices[n].flops, range) * stay.powf(d)
    } else {
        0.0
    }
}

/// The model of `service` with at most `max_mb` MB and the largest positive `value`
/// (ties: the lower index).
fn best_local_model(
    net: &Network,
    service: usize,
    max_mb: f64,
    value: impl Fn(usize) -> f64,
) -> Option<usize> {
    (0..net.models.len())
        .filter(|&k| net.models[k].service == service && net.models[k].size_mb <= max_mb && value(k) > 0.0)
        .max_by(|&a, &b| value(a).total_cmp(&value(b)).then(b.cmp(&a)))
}

/// The probability that a delay `delay` meets a deadline drawn uniformly from `(lo, hi)`
/// (the deadline test of MODEL.md §4 at the range's ends; a point range is a plain test).
pub fn meet_probability(delay: f64, (lo, hi): (f64, f64)) -> f64 {
    if crate::model::meets_deadline(delay, lo) {
        1.0
    } else if !crate::model::meets_deadline(delay, hi) {
        0.0
    } else if hi > lo {
        ((hi - delay) / (hi - lo)).clamp(0.0, 1.0)
    } else {
        1.0
    }
}

/// Slots until model `k` is resident at a site receiving `mb_per_slot` MB per slot: 0
/// when resident, else the missing MB (after what is already received) over the rate,
/// rounded up (infinite without a download rate).
pub fn slots_to_resident(net: &Network, store: &Store, k: usize, mb_per_slot: f64) -> f64 {
    if store.resident.contains(&k) {
        return 0.0;
    }
    let got = store.received_mb(k);
    let missing = (net.models[k].size_mb - got).max(0.0);
    if mb_per_slot > 0.0 {
        (missing / mb_per_slot - 1e-9).ceil().max(0.0)
    } else {
        f64::INFINITY
    }
}

/// Priority of keeping model `k` at an edge under regime `r`: its service's share in
/// the regime's mix times its accuracy.
pub fn regime_value(net: &Network, r: usize, k: usize) -> f64 {
    let md = &net.models[k];
    net.demand.regimes[r].mix.get(md.service).copied().unwrap_or(0.0) * md.accuracy
}

/// Fills each edge server's free cache: after the policy's holdings, while some model
/// fits the storage they leave free, the server also holds the model with the largest
/// expected gain per missing MB (the density of [`edge_downloads`]: its service's share
/// in the current regime's mix times its accuracy over the best model of the service the
/// server holds resident or has added here), while that gain is positive. Storage left
/// free serves nobody: at a cold or turning-over cache a small model arrives within a
/// slot and serves while the larger ones of the target download (Smith's rule puts it
/// first), and lazy eviction drops it as soon as the policy's own holdings need the room.
pub fn fill_edges(net: &Network, slot: &Slot, state: &PlacementState, holds: &mut [Vec<usize>]) {
    let mix = net.demand.regimes.get(slot.regime).map(|r| r.mix.as_slice()).unwrap_or(&[]);
    for ((m, hold), store) in holds.iter_mut().enumerate().zip(&state.edges) {
        let size = |k: usize| net.models[k].size_mb;
        let mut free = net.edges[m].cache_mb - hold.iter().map(|&k| size(k)).sum::<f64>();
        let mut best = vec![0.0_f64; net.services.len()];
        for &k in store.resident.iter().filter(|k| hold.contains(k)) {
            let md = &net.models[k];
            if let Some(b) = best.get_mut(md.service) {
                *b = b.max(md.accuracy);
            }
        }
        loop {
            let pick = (0..net.models.len())
                .filter(|&k| !hold.contains(&k) && size(k) <= free)
                .map(|k| {
                    let over = best.get(net.models[k].service).copied().unwrap_or(f64::INFINITY);
                    (gain_density(net, mix, store, k, over), k)
                })
                .filter(|&(d, _)| d > 0.0)
                .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)));
            let Some((_, k)) = pick else { break };
            free -= size(k);
            hold.push(k);
            let md = &net.models[k];
            best[md.service] = best[md.service].max(md.accuracy);
        }
    }
}

/// The edge servers' download split of a policy that holds `holds` (lists of
/// models per server): the models to download go by Smith's rule, the largest expected
/// gain per missing megabyte first, so that a cold cache serves early: the gain of `k`
/// is its service's share in the current regime's mix times its accuracy over the best
/// resident model of the service at the server (0 when one is as accurate); ties (and
/// the models with no gain) by fewest missing MB, then model index. Devices keep the
/// default order.
pub fn edge_downloads(
    net: &Network,
    slot: &Slot,
    state: &PlacementState,
    holds: &[Vec<usize>],
) -> DownloadPlan {
    download_plan(net, state, &smith_order(net, slot, state, holds))
}

/// The expected gain per missing MB of model `k` at an edge (`store`) under the regime
/// `mix`: its service's share times its accuracy over `over` (0 when not above), over the
/// MB it still misses. Smith's rule ([`edge_downloads`]) and the fill ([`fill_edges`])
/// rank models by it.
fn gain_density(net: &Network, mix: &[f64], store: &Store, k: usize, over: f64) -> f64 {
    let md = &net.models[k];
    let share = mix.get(md.service).copied().unwrap_or(0.0);
    share * (md.accuracy - over).max(0.0) / (md.size_mb - store.received_mb(k)).max(1e-9)
}

/// The models of `holds` (per server) to download, by Smith's rule ([`edge_downloads`]).
pub fn smith_order(
    net: &Network,
    slot: &Slot,
    state: &PlacementState,
    holds: &[Vec<usize>],
) -> Vec<Vec<usize>> {
    holds
        .iter()
        .zip(&state.edges)
        .map(|(hold, store)| {
            let missing = |k: usize| net.models[k].size_mb - store.received_mb(k);
            let best = |q: usize| {
                store
                    .resident
                    .iter()
                    .filter(|&&j| net.models[j].service == q)
                    .map(|&j| net.models[j].accuracy)
                    .fold(0.0, f64::max)
            };
            let mix = net.demand.regimes.get(slot.regime).map(|r| r.mix.as_slice()).unwrap_or(&[]);
            let density = |k: usize| gain_density(net, mix, store, k, best(net.models[k].service));
            let mut order: Vec<usize> =
                hold.iter().copied().filter(|k| !store.resident.contains(k)).collect();
            order.sort_by(|&a, &b| {
                density(b).total_cmp(&density(a)).then(missing(a).total_cmp(&missing(b))).then(a.cmp(&b))
            });
            order
        })
        .collect()
}

/// The edge servers' download split: each server's volume goes to the models of its
/// target that are not resident, in target order (decreasing score), each getting what
/// it still needs while volume is left. Devices keep the default order.
pub fn download_plan(net: &Network, state: &PlacementState, targets: &[Vec<usize>]) -> DownloadPlan {
    let edges = targets
        .iter()
        .enumerate()
        .map(|(m, target)| {
            let store = &state.edges[m];
            let order = target.iter().copied().filter(|k| !store.resident.contains(k));
            split_volume(net, store, order, net.edge_volume_mb(m))
        })
        .collect();
    DownloadPlan { edges, devices: Vec::new() }
}

/// `volume` MB of one server over `order`: each model gets what it still misses while
/// volume is left (0 MB once none is).
pub fn split_volume(
    net: &Network,
    store: &Store,
    order: impl IntoIterator<Item = usize>,
    mut volume: f64,
) -> Vec<(usize, f64)> {
    order
        .into_iter()
        .map(|k| {
            let mb = (net.models[k].size_mb - store.received_mb(k)).min(volume).max(0.0);
            volume -= mb;
            (k, mb)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::meet_probability;

    #[test]
    fn meet_probability_by_hand() {
        // Deadlines uniform on (0.1, 0.3) s.
        assert_eq!(meet_probability(0.05, (0.1, 0.3)), 1.0);
        assert_eq!(meet_probability(0.1, (0.1, 0.3)), 1.0);
        assert!((meet_probability(0.15, (0.1, 0.3)) - 0.75).abs() < 1e-12);
        assert!((meet_probability(0.25, (0.1, 0.3)) - 0.25).abs() < 1e-12);
        assert!(meet_probability(0.3, (0.1, 0.3)).abs() < 1e-12, "meets only the largest deadline");
        assert_eq!(meet_probability(0.31, (0.1, 0.3)), 0.0);
        // A point range is the deadline test.
        assert_eq!(meet_probability(0.2, (0.2, 0.2)), 1.0);
        assert_eq!(meet_probability(0.21, (0.2, 0.2)), 0.0);
    }
}
