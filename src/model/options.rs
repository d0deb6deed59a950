//! Option enumeration (MODEL.md §6), shared by every solver.
//!
//! For each task: the local options that meet the deadline (model fits the device), for
//! each edge model (fits the edge cache) the Pareto list of `(r, u)` pairs, and for each
//! cloud model the smallest feasible `r`. Capacity sharing and cache contents are not
//! considered here: an option is feasible for the task alone on an empty network. When
//! the instance fixes the placement ([`Instance::resident`]), local and edge options use
//! resident models only, so every solver built on options respects it.

use super::delay;
use super::instance::Instance;
use super::meets_deadline;
use super::solution::Assignment;

/// Running task `n` locally with `model`.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalOption {
    pub model: usize,
    pub delay: f64,
}

/// Running task `n` on its edge with `model`: the non-dominated `(r, u)` pairs,
/// sorted by increasing `r` (and so strictly decreasing `u`).
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeOption {
    pub model: usize,
    pub pareto: Vec<(u32, u32)>,
}

/// Running task `n` in the cloud with `model`, with the smallest feasible `r`.
#[derive(Debug, Clone, PartialEq)]
pub struct CloudOption {
    pub model: usize,
    pub rbs: u32,
}

/// Every deadline-feasible option of one task.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TaskOptions {
    pub local: Vec<LocalOption>,
    pub edge: Vec<EdgeOption>,
    pub cloud: Vec<CloudOption>,
}

impl TaskOptions {
    /// The most accurate local option (ties: the lower model index).
    pub fn best_local(&self, inst: &Instance) -> Option<&LocalOption> {
        self.local.iter().fold(None, |best: Option<&LocalOption>, o| match best {
            Some(b) if inst.models[b.model].accuracy >= inst.models[o.model].accuracy => Some(b),
            _ => Some(o),
        })
    }

    /// Every option as an assignment: local, each edge Pareto pair, cloud.
    pub fn assignments(&self) -> impl Iterator<Item = Assignment> + '_ {
        let local = self.local.iter().map(|o| Assignment::local(o.model));
        let edge = self
            .edge
            .iter()
            .flat_map(|o| o.pareto.iter().map(move |&(r, u)| Assignment::edge(o.model, r, u)));
        let cloud = self.cloud.iter().map(|o| Assignment::cloud(o.model, o.rbs));
        local.chain(edge).chain(cloud)
    }

    /// True when the task has no feasible option at all (it must be rejected).
    pub fn is_empty(&self) -> bool {
        self.local.is_empty() && self.edge.is_empty() && self.cloud.is_empty()
    }
}

/// Upload delays `s_n / R_n(r)` of task `n` for `r = 1..=NB_m` (index `r - 1`).
pub fn upload_delays(inst: &Instance, n: usize) -> Vec<f64> {
    (1..=inst.edges[inst.devices[n].edge].rbs).map(|r| delay::upload_delay(inst, n, r)).collect()
}

/// Smallest number of compute units `u` in `1..=U_m` such that the edge option
/// `(k, r, u)` meets the deadline, or `None`. Starts from the closed form
/// `ceil(w_k U_m / (F_m (T_n - s_n / R_n(r))))` and corrects it against the exact delay
/// test, so the answer agrees with the evaluator even at the tolerance boundary.
pub fn min_units(inst: &Instance, n: usize, k: usize, r: u32) -> Option<u32> {
    min_units_with(inst, n, k, delay::upload_delay(inst, n, r))
}

/// [`min_units`] with the upload delay already computed (the same value, so the same
/// answer). Feasibility is monotone in `u` (every step of the delay is a monotone
/// floating-point operation), so the estimate is corrected by a galloping search: two
/// delay tests when the estimate is right, `O(log U_m)` at worst, whatever `U_m` is.
fn min_units_with(inst: &Instance, n: usize, k: usize, upload: f64) -> Option<u32> {
    let e = &inst.edges[inst.devices[n].edge];
    let t = inst.devices[n].task.deadline_s;
    let slack = t - upload;
    let cap = u64::from(e.units);
    // In u64: `cap + 1` must not wrap when `U_m = u32::MAX`.
    let estimate = if slack > 0.0 {
        let x = inst.models[k].flops * f64::from(e.units) / (e.flops * slack);
        if x.is_finite() && x < cap as f64 + 1.0 {
            (x.ceil() as u64).max(1)
        } else {
            cap + 1
        }
    } else {
        cap + 1
    };
    // Same sum as `delay::edge_delay`, so the same rounding. `u <= cap` fits in u32.
    let feasible = |u: u64| meets_deadline(upload + delay::edge_compute_delay(inst, n, k, u as u32), t);
    let u = estimate.clamp(1, cap + 1);
    // Invariant: `hi` is feasible or `cap + 1` ("none"); `lo` is infeasible or 0.
    let (mut lo, mut hi) = if u > cap || feasible(u) {
        let (mut hi, mut step) = (u, 1u64);
        loop {
            let probe = hi.saturating_sub(step);
            if probe == 0 || !feasible(probe) {
                break (probe, hi);
            }
            hi = probe;
            step *= 2;
        }
    } else {
        let (mut lo, mut step) = (u, 1u64);
        loop {
            let probe = (lo + step).min(cap + 1);
            if probe > cap || feasible(probe) {
                break (lo, probe);
            }
            lo = probe;
            step *= 2;
        }
    };
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if feasible(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    (hi <= cap).then_some(hi as u32)
}

/// The Pareto list of `(r, u)` pairs of edge option `(n, k)`.
pub fn edge_pareto(inst: &Instance, n: usize, k: usize) -> Vec<(u32, u32)> {
    edge_pareto_with(inst, n, k, &upload_delays(inst, n))
}

fn edge_pareto_with(inst: &Instance, n: usize, k: usize, uploads: &[f64]) -> Vec<(u32, u32)> {
    let mut pareto: Vec<(u32, u32)> = Vec::new();
    for (i, &upload) in uploads.iter().enumerate() {
        if let Some(u) = min_units_with(inst, n, k, upload) {
            if pareto.last().is_none_or(|&(_, last_u)| u < last_u) {
                pareto.push((i as u32 + 1, u));
            }
            if u == 1 {
                break; // no larger r can lower u further
            }
        }
    }
    pareto
}

/// Smallest `r` in `1..=NB_m` such that the cloud option `(n, k, r)` meets the deadline.
pub fn min_cloud_rbs(inst: &Instance, n: usize, k: usize) -> Option<u32> {
    min_cloud_rbs_with(inst, n, k, &upload_delays(inst, n))
}

fn min_cloud_rbs_with(inst: &Instance, n: usize, k: usize, uploads: &[f64]) -> Option<u32> {
    let t = inst.devices[n].task.deadline_s;
    let fixed = delay::cloud_fixed_delay(inst, n, k);
    // Same sum as `delay::cloud_delay`; the delay is decreasing in r.
    let ok = |i: usize| meets_deadline(uploads[i] + fixed, t);
    if uploads.is_empty() || !ok(uploads.len() - 1) {
        return None;
    }
    (0..uploads.len()).find(|&i| ok(i)).map(|i| i as u32 + 1)
}

/// The options of task `n`.
pub fn task_options(inst: &Instance, n: usize) -> TaskOptions {
    let dev = &inst.devices[n];
    let edge = &inst.edges[dev.edge];
    let mut opts = TaskOptions::default();
    let uploads = upload_delays(inst, n);
    for (k, md) in inst.models.iter().enumerate() {
        if md.service != dev.task.service {
            continue;
        }
        if md.size_mb <= dev.storage_mb && inst.device_may_use(n, k) {
            let d = delay::local_delay(inst, n, k);
            if meets_deadline(d, dev.task.deadline_s) {
                opts.local.push(LocalOption { model: k, delay: d });
            }
        }
        if md.size_mb <= edge.cache_mb && inst.edge_may_use(dev.edge, k) {
            let pareto = edge_pareto_with(inst, n, k, &uploads);
            if !pareto.is_empty() {
                opts.edge.push(EdgeOption { model: k, pareto });
            }
        }
        if let Some(rbs) = min_cloud_rbs_with(inst, n, k, &uploads) {
            opts.cloud.push(CloudOption { model: k, rbs });
        }
    }
    opts
}

/// The options of every task, in device order.
pub fn enumerate_options(inst: &Instance) -> Vec<TaskOptions> {
    (0..inst.n_tasks()).map(|n| task_options(inst, n)).collect()
}
