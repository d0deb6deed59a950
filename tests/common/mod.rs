//! Shared fixtures: a tiny instance whose rates and delays are easy to compute by hand.
#![allow(dead_code)]

use dnnrm::model::*;

/// Linear noise power per Hz of the default physics (N0 = -174 dBm/Hz, NF = 9 dB).
pub fn noise() -> f64 {
    Physics::default().noise_w_per_hz()
}

/// One edge server (4 RBs of 1 MHz, 1e12 FLOP/s in 10 units, 100 MB cache, backhaul
/// 1e8 bit/s and 0.01 s), cloud 1e13 FLOP/s, three models and two devices:
/// - device 0: SNR(1 RB) = 15, so R(1) = 1e6 * log2(16) = 4e6 bit/s; 1e11 FLOP/s,
///   50 MB storage; classification task of 4e5 bits, deadline 0.15 s;
/// - device 1: SNR(1 RB) = 1023, so log2(1024) = 10 is capped at 7.4; 1e10 FLOP/s;
///   detection task of 7.4e5 bits, deadline 1.0 s.
///
/// Models: 0 classification (acc 0.7, 1e10 FLOPs, 10 MB), 1 classification (0.8,
/// 1e11, 60 MB), 2 detection (0.4, 2e11, 50 MB).
pub fn tiny() -> Instance {
    let p0 = 0.1;
    let w = 1e6;
    Instance {
        format_version: FORMAT_VERSION,
        id: "tiny".into(),
        physics: Physics::default(),
        cloud: Cloud { flops: 1e13 },
        edges: vec![EdgeServer {
            rbs: 4,
            rb_width_hz: w,
            flops: 1e12,
            units: 10,
            cache_mb: 100.0,
            backhaul_bps: 1e8,
            backhaul_delay_s: 0.01,
        }],
        services: vec!["classification".into(), "detection".into(), "segmentation".into()],
        models: vec![
            DnnModel { name: "small".into(), service: 0, accuracy: 0.7, flops: 1e10, size_mb: 10.0 },
            DnnModel { name: "big".into(), service: 0, accuracy: 0.8, flops: 1e11, size_mb: 60.0 },
            DnnModel { name: "det".into(), service: 1, accuracy: 0.4, flops: 2e11, size_mb: 50.0 },
        ],
        devices: vec![
            Device {
                edge: 0,
                tx_power_w: p0,
                gain: 15.0 * w * noise() / p0,
                flops: 1e11,
                storage_mb: 50.0,
                task: Task { service: 0, input_bits: 4e5, deadline_s: 0.15 },
            },
            Device {
                edge: 0,
                tx_power_w: p0,
                gain: 1023.0 * w * noise() / p0,
                flops: 1e10,
                storage_mb: 20.0,
                task: Task { service: 1, input_bits: 7.4e5, deadline_s: 1.0 },
            },
        ],
        resident: None,
    }
}

/// A small random instance of the default scenario family.
pub fn small_random(seed: u64) -> Instance {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
    let p = dnnrm::scenario::ScenarioParams {
        n_devices: rng.gen_range(1..=12),
        n_edges: rng.gen_range(1..=3),
        rbs: rng.gen_range(1..=10),
        edge_units: rng.gen_range(1..=8),
        edge_cache_mb: [0.0, 30.0, 150.0, 500.0][rng.gen_range(0..4)],
        deadline_scale: [0.3, 1.0, 3.0][rng.gen_range(0..3)],
        ..Default::default()
    };
    let sc = p.check().expect("valid params");
    dnnrm::scenario::generate(&sc, seed, &format!("small{seed}"))
}
