//! Rates and delays of MODEL.md §3. Every component computes delays through these
//! functions, so the evaluator, option enumeration and solvers agree to the bit.

use super::instance::Instance;
use super::solution::{Assignment, Location};

/// Uplink rate `R_n(r)` in bit/s of task `n` with `r >= 1` RBs: the device spreads its
/// power over the RBs and the spectral efficiency is capped at `eta_max`.
pub fn uplink_rate(inst: &Instance, n: usize, r: u32) -> f64 {
    debug_assert!(r >= 1);
    let d = &inst.devices[n];
    let e = &inst.edges[d.edge];
    let bw = f64::from(r) * e.rb_width_hz;
    let snr = d.tx_power_w * d.gain / (bw * inst.physics.noise_w_per_hz());
    bw * inst.physics.eta_max.min((1.0 + snr).log2())
}

/// `D^L_{n,k} = w_k / f_n`.
pub fn local_delay(inst: &Instance, n: usize, k: usize) -> f64 {
    inst.models[k].flops / inst.devices[n].flops
}

/// Upload time `s_n / R_n(r)`.
pub fn upload_delay(inst: &Instance, n: usize, r: u32) -> f64 {
    inst.devices[n].task.input_bits / uplink_rate(inst, n, r)
}

/// `D^E_{n,k}(r, u) = s_n / R_n(r) + w_k / (u F_m / U_m)`.
pub fn edge_delay(inst: &Instance, n: usize, k: usize, r: u32, u: u32) -> f64 {
    upload_delay(inst, n, r) + edge_compute_delay(inst, n, k, u)
}

/// `w_k / (u F_m / U_m)`.
pub fn edge_compute_delay(inst: &Instance, n: usize, k: usize, u: u32) -> f64 {
    let e = &inst.edges[inst.devices[n].edge];
    inst.models[k].flops / (f64::from(u) * e.flops / f64::from(e.units))
}

/// The fixed part of a cloud option: `s_n / R^bh_m + tau^bh_m + w_k / F_c`.
pub fn cloud_fixed_delay(inst: &Instance, n: usize, k: usize) -> f64 {
    let d = &inst.devices[n];
    let e = &inst.edges[d.edge];
    d.task.input_bits / e.backhaul_bps + e.backhaul_delay_s + inst.models[k].flops / inst.cloud.flops
}

/// `D^C_{n,k}(r) = s_n / R_n(r) + s_n / R^bh_m + tau^bh_m + w_k / F_c`.
pub fn cloud_delay(inst: &Instance, n: usize, k: usize, r: u32) -> f64 {
    upload_delay(inst, n, r) + cloud_fixed_delay(inst, n, k)
}

/// Delay of an assignment. The caller guarantees `rbs >= 1` for edge/cloud and
/// `units >= 1` for edge (the evaluator checks this first).
pub fn delay(inst: &Instance, n: usize, a: &Assignment) -> f64 {
    match a.location {
        Location::Local => local_delay(inst, n, a.model),
        Location::Edge => edge_delay(inst, n, a.model, a.rbs, a.units),
        Location::Cloud => cloud_delay(inst, n, a.model, a.rbs),
    }
}
