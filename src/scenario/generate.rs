//! The seeded instance generator of MODEL.md §7.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

use super::channel::{db_to_linear, dbm_to_w, grid_positions, inf_sl_path_loss_db};
use super::params::Scenario;
use super::SERVICES;
use crate::model::{Cloud, Device, DnnModel, EdgeServer, Instance, Physics, Task, FORMAT_VERSION};

/// Minimum 3D distance used in the path-loss formula (the model's validity range), m.
const MIN_DISTANCE_M: f64 = 1.0;

/// The scenario's zoo as instance models (`w_k = 2 x GMACs x 1e9`, `S_k` = file MB).
pub(crate) fn zoo_models(sc: &Scenario) -> Vec<DnnModel> {
    sc.zoo
        .models
        .iter()
        .map(|z| DnnModel {
            name: z.name.clone(),
            service: SERVICES.iter().position(|s| *s == z.service).unwrap_or(0),
            accuracy: z.accuracy_pct / 100.0,
            flops: z.flops(),
            size_mb: z.file_mb,
        })
        .collect()
}

/// The scenario's edge servers, all alike.
pub(crate) fn edge_servers(sc: &Scenario) -> Vec<EdgeServer> {
    let p = &sc.params;
    (0..p.n_edges)
        .map(|_| EdgeServer {
            rbs: p.rbs,
            rb_width_hz: p.rb_width_hz,
            flops: p.edge_flops,
            units: p.edge_units,
            cache_mb: p.edge_cache_mb,
            backhaul_bps: p.backhaul_bps,
            backhaul_delay_s: p.backhaul_delay_s,
        })
        .collect()
}

/// Generates one instance. The same scenario and seed give the same instance, bit for
/// bit. Per device, in order: position, the shadowing of each link (then association
/// to the strongest gain), the device class (only when the fleet mixes classes),
/// compute, storage, service, input size, deadline.
pub fn generate(sc: &Scenario, seed: u64, id: &str) -> Instance {
    let p = &sc.params;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let services: Vec<String> = SERVICES.iter().map(|s| s.to_string()).collect();
    let (models, edges) = (zoo_models(sc), edge_servers(sc));
    let bs = grid_positions(p.n_edges, p.floor_m);
    let shadowing =
        Normal::new(0.0, p.shadowing_db).unwrap_or_else(|_| Normal::new(0.0, 0.0).expect("sigma 0"));
    let dh = p.bs_height_m - p.device_height_m;
    let shares = p.shares();
    let deadlines = p.deadline_ranges();
    let classes = p.device_classes();
    let mixed = p.mixed_fleet();
    let uniform = |rng: &mut ChaCha8Rng, lo: f64, hi: f64| if hi > lo { rng.gen_range(lo..hi) } else { lo };

    let devices = (0..p.n_devices)
        .map(|_| {
            let (x, y) = (uniform(&mut rng, 0.0, p.floor_m), uniform(&mut rng, 0.0, p.floor_m));
            let (mut edge, mut best_gain_db) = (0, f64::NEG_INFINITY);
            for (m, &(bx, by)) in bs.iter().enumerate() {
                let d3d = ((x - bx).powi(2) + (y - by).powi(2) + dh * dh).sqrt().max(MIN_DISTANCE_M);
                let gain_db = -(inf_sl_path_loss_db(d3d, p.carrier_ghz) + shadowing.sample(&mut rng));
                if gain_db > best_gain_db {
                    (edge, best_gain_db) = (m, gain_db);
                }
            }
            // The class is drawn only in a mixed fleet, so single-class scenarios keep
            // their random stream (and committed instances) unchanged.
            let class = if mixed {
                let draw: f64 = rng.gen();
                let mut acc = 0.0;
                let mut chosen = classes[1];
                for c in classes.iter().filter(|c| c.share > 0.0) {
                    acc += c.share;
                    chosen = *c;
                    if draw < acc {
                        break;
                    }
                }
                chosen
            } else {
                classes[1]
            };
            let flops = uniform(&mut rng, class.flops.0, class.flops.1);
            let storage_mb = uniform(&mut rng, class.storage_mb.0, class.storage_mb.1);
            let draw: f64 = rng.gen();
            let mut service = shares.iter().rposition(|&s| s > 0.0).unwrap_or(0);
            let mut acc = 0.0;
            for (q, &s) in shares.iter().enumerate() {
                acc += s;
                if draw < acc && s > 0.0 {
                    service = q;
                    break;
                }
            }
            let input_bits = uniform(&mut rng, p.input_mbit_min, p.input_mbit_max) * 1e6;
            let (lo, hi) = deadlines[service];
            let deadline_s = uniform(&mut rng, lo, hi) * p.deadline_scale;
            Device {
                edge,
                tx_power_w: dbm_to_w(p.tx_power_dbm),
                gain: db_to_linear(best_gain_db),
                flops,
                storage_mb,
                task: Task { service, input_bits, deadline_s },
            }
        })
        .collect();

    Instance {
        format_version: FORMAT_VERSION,
        id: id.to_string(),
        physics: Physics {
            noise_dbm_per_hz: p.noise_dbm_per_hz,
            noise_figure_db: p.noise_figure_db,
            eta_max: p.eta_max,
        },
        cloud: Cloud { flops: p.cloud_flops },
        edges,
        services,
        models,
        devices,
        resident: None,
    }
}
