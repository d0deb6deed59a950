//! The seeded trace generator of MODEL.md §9.3: an episode of slots over one network,
//! with production regimes in a cycle, sticky device services, AR(1) shadowing,
//! optional mobility and download rates. Every value is a parameter
//! ([`DynamicsParams`], beside the scenario's [`ScenarioParams`]).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use super::channel::{db_to_linear, dbm_to_w, grid_positions, inf_sl_path_loss_db};
use super::params::{params_struct, type_desc, DeviceClass, ParamError, Scenario};
use super::SERVICES;
use crate::model::episode::MAX_SLOTS;
use crate::model::{
    Cloud, Demand, Episode, EpisodeDevice, Instance, Network, Physics, PlacementState, Regime, Slot,
    SlotTask, Store, EPISODE_FORMAT_VERSION,
};
use serde::{Deserialize, Serialize};

/// Minimum 3D distance used in the path-loss formula, m (as the slot generator).
const MIN_DISTANCE_M: f64 = 1.0;

params_struct! {
    /// The episode dynamics of MODEL.md §9.3; each field is a `dnnrm generate-episode`
    /// flag (with `-` for `_`). Unchecked: call [`Self::check`].
    DynamicsParams, DYNAMICS_NAMES, DYNAMICS_DOCS,
    /// Slots per episode, T.
    n_slots: usize = 30,
    /// Slot length Delta, s.
    slot_s: f64 = 1.0,
    /// Service mixes of the regimes: `;` between regimes, `/` between services (classification/detection/segmentation).
    regime_mixes: String = "0.7/0.2/0.1;0.3/0.6/0.1;0.3/0.2/0.5".to_string(),
    /// Mean regime length L, slots (the regime moves on with probability 1/L after a slot).
    regime_length: f64 = 15.0,
    /// Probability p_act that a device has a task in a slot.
    p_active: f64 = 0.8,
    /// Per-regime activity probabilities, `;`-separated; empty: p_active in every regime.
    regime_p_active: String = String::new(),
    /// Per-regime deadline scales (on top of deadline_scale), `;`-separated; empty: 1 in every regime.
    regime_deadline_scales: String = String::new(),
    /// AR(1) coefficient c of the per-link shadowing in dB.
    shadowing_ar: f64 = 0.9,
    /// Edge download rate R^dl_m, bit/s.
    edge_download_bps: f64 = 4e8,
    /// Device download rate R^dl_n, bit/s.
    device_download_bps: f64 = 2e7,
    /// Initial placement: empty (everything absent) or warm (see MODEL.md §9.3).
    init: String = "empty".to_string(),
    /// First scored slot W (the warm-up window).
    window: usize = 0,
    /// Share of devices that move (re-associated to the strongest gain every slot).
    mobile_share: f64 = 0.0,
    /// Speed of moving devices, m/s.
    mobile_speed_mps: f64 = 1.0,
}

/// How an episode starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Init {
    Empty,
    Warm,
}

/// Validated dynamics.
#[derive(Debug, Clone, PartialEq)]
pub struct Dynamics {
    pub params: DynamicsParams,
    pub mixes: Vec<Vec<f64>>,
    pub p_active: Vec<f64>,
    pub deadline_scales: Vec<f64>,
    pub init: Init,
}

fn invalid(name: &str, reason: impl Into<String>) -> ParamError {
    ParamError::Invalid { name: name.to_string(), reason: reason.into() }
}

fn list(name: &str, text: &str, sep: char) -> Result<Vec<f64>, ParamError> {
    text.split(sep)
        .map(|x| {
            x.trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| invalid(name, format!("expected numbers separated by `{sep}`, got `{text}`")))
        })
        .collect()
}

impl DynamicsParams {
    /// Validates every value once; the error names the first impossible parameter.
    pub fn check(&self) -> Result<Dynamics, ParamError> {
        let p = self;
        if !(1..=MAX_SLOTS).contains(&p.n_slots) {
            return Err(invalid("n_slots", format!("must lie in 1..={MAX_SLOTS}, got {}", p.n_slots)));
        }
        if p.window >= p.n_slots {
            return Err(invalid(
                "window",
                format!("must be below n_slots ({}), got {}", p.n_slots, p.window),
            ));
        }
        for (name, v, lo, hi) in [
            ("slot_s", p.slot_s, 1e-6, 1e6),
            ("regime_length", p.regime_length, 1.0, 1e9),
            ("edge_download_bps", p.edge_download_bps, 1e-3, 1e15),
            ("device_download_bps", p.device_download_bps, 1e-3, 1e15),
            ("mobile_speed_mps", p.mobile_speed_mps, 0.0, 1e3),
        ] {
            if !(v.is_finite() && v >= lo && v <= hi) {
                return Err(invalid(name, format!("must lie in [{lo}, {hi}], got {v}")));
            }
        }
        for (name, v) in
            [("p_active", p.p_active), ("shadowing_ar", p.shadowing_ar), ("mobile_share", p.mobile_share)]
        {
            if !(v.is_finite() && (0.0..=1.0).contains(&v)) {
                return Err(invalid(name, format!("must lie in [0, 1], got {v}")));
            }
        }
        let mut mixes = Vec::new();
        for (r, text) in p.regime_mixes.split(';').enumerate() {
            let mix = list("regime_mixes", text, '/')?;
            if mix.len() != SERVICES.len() || mix.iter().any(|&s| s < 0.0) || mix.iter().sum::<f64>() <= 0.0 {
                return Err(invalid(
                    "regime_mixes",
                    format!(
                        "regime {r}: expected {} non-negative shares with a positive sum, got `{text}`",
                        SERVICES.len()
                    ),
                ));
            }
            let sum: f64 = mix.iter().sum();
            mixes.push(mix.iter().map(|s| s / sum).collect());
        }
        let per_regime =
            |name: &str, text: &str, default: f64, lo: f64, hi: f64| -> Result<Vec<f64>, ParamError> {
                if text.trim().is_empty() {
                    return Ok(vec![default; mixes.len()]);
                }
                let v = list(name, text, ';')?;
                if v.len() != mixes.len() || v.iter().any(|&x| !(lo..=hi).contains(&x)) {
                    return Err(invalid(
                        name,
                        format!(
                            "expected {} values in [{lo}, {hi}] (one per regime), got `{text}`",
                            mixes.len()
                        ),
                    ));
                }
                Ok(v)
            };
        let p_active = per_regime("regime_p_active", &p.regime_p_active, p.p_active, 0.0, 1.0)?;
        let deadline_scales =
            per_regime("regime_deadline_scales", &p.regime_deadline_scales, 1.0, 1e-6, 1e6)?;
        if deadline_scales.iter().any(|&x| x <= 0.0) {
            return Err(invalid("regime_deadline_scales", "every scale must be positive"));
        }
        let init = match p.init.trim() {
            "empty" => Init::Empty,
            "warm" => Init::Warm,
            other => return Err(invalid("init", format!("expected `empty` or `warm`, got `{other}`"))),
        };
        Ok(Dynamics { params: p.clone(), mixes, p_active, deadline_scales, init })
    }
}

fn draw_index(rng: &mut ChaCha8Rng, shares: &[f64]) -> usize {
    let draw: f64 = rng.gen();
    let mut acc = 0.0;
    let last = shares.iter().rposition(|&s| s > 0.0).unwrap_or(0);
    for (i, &s) in shares.iter().enumerate() {
        acc += s;
        if draw < acc && s > 0.0 {
            return i;
        }
    }
    last
}

fn uniform(rng: &mut ChaCha8Rng, lo: f64, hi: f64) -> f64 {
    if hi > lo {
        rng.gen_range(lo..hi)
    } else {
        lo
    }
}

/// What the caller supplies for a `warm` start: the edge placement that is optimal for
/// one slot instance (the generator has no solver; `dnnrm` passes the MILP).
pub type WarmPlacement<'a> = &'a dyn Fn(&Instance) -> Vec<Vec<usize>>;

/// Generates one episode. The same scenario, dynamics and seed give the same episode,
/// bit for bit. `warm` is called once for a `warm` start (it is not used otherwise);
/// without it a `warm` start falls back to the device part only.
///
/// Order of draws: network (per device: position, class, compute, storage; then the
/// initial shadowing of every link, device by device), mobility directions, the first
/// regime; then per slot: the regime step (after slot 0), the services at a regime
/// start, the shadowing step (after slot 0), the moves, then the tasks. The warm-up slot
/// draws from its own stream.
pub fn generate_episode(
    sc: &Scenario,
    dy: &Dynamics,
    seed: u64,
    id: &str,
    warm: Option<WarmPlacement>,
) -> Episode {
    let p = &sc.params;
    let d = &dy.params;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (models, edges) = (super::generate::zoo_models(sc), super::generate::edge_servers(sc));
    let bs = grid_positions(p.n_edges, p.floor_m);
    let dh = p.bs_height_m - p.device_height_m;
    let path_loss = |(x, y): (f64, f64), m: usize| {
        let (bx, by) = bs[m];
        let d3d = ((x - bx).powi(2) + (y - by).powi(2) + dh * dh).sqrt().max(MIN_DISTANCE_M);
        inf_sl_path_loss_db(d3d, p.carrier_ghz)
    };
    let classes = p.device_classes();
    let mixed = p.mixed_fleet();
    let n = p.n_devices;

    // Network.
    let mut fleet: Vec<(f64, f64, DeviceClass, f64, f64)> = Vec::with_capacity(n);
    for _ in 0..n {
        let (x, y) = (uniform(&mut rng, 0.0, p.floor_m), uniform(&mut rng, 0.0, p.floor_m));
        let class = if mixed {
            let shares: Vec<f64> = classes.iter().map(|c| c.share).collect();
            classes[draw_index(&mut rng, &shares)]
        } else {
            classes[1]
        };
        let flops = uniform(&mut rng, class.flops.0, class.flops.1);
        let storage_mb = uniform(&mut rng, class.storage_mb.0, class.storage_mb.1);
        fleet.push((x, y, class, flops, storage_mb));
    }
    let sigma = p.shadowing_db;
    let normal = |rng: &mut ChaCha8Rng| -> f64 { StandardNormal.sample(rng) };
    let mut shadow: Vec<Vec<f64>> =
        (0..n).map(|_| (0..p.n_edges).map(|_| sigma * normal(&mut rng)).collect()).collect();
    let mut pos: Vec<(f64, f64)> = fleet.iter().map(|f| (f.0, f.1)).collect();
    let mobile: Vec<Option<(f64, f64)>> = (0..n)
        .map(|_| {
            let moves = rng.gen_bool(d.mobile_share);
            let angle = rng.gen_range(0.0..std::f64::consts::TAU);
            moves.then(|| (angle.cos(), angle.sin()))
        })
        .collect();
    let mut dirs = mobile.clone();
    let gain_db = |pos: (f64, f64), shadow: &[f64], m: usize| -(path_loss(pos, m) + shadow[m]);
    let strongest = |pos: (f64, f64), shadow: &[f64]| {
        (0..p.n_edges).fold(0, |b, m| if gain_db(pos, shadow, m) > gain_db(pos, shadow, b) { m } else { b })
    };
    let assoc0: Vec<usize> = (0..n).map(|i| strongest(pos[i], &shadow[i])).collect();
    let devices: Vec<EpisodeDevice> = fleet
        .iter()
        .enumerate()
        .map(|(i, f)| EpisodeDevice {
            class: f.2.name.to_string(),
            position: (f.0, f.1),
            edge: assoc0[i],
            mean_gain: db_to_linear(-path_loss((f.0, f.1), assoc0[i])),
            tx_power_w: dbm_to_w(p.tx_power_dbm),
            flops: f.3,
            storage_mb: f.4,
            download_bps: d.device_download_bps,
        })
        .collect();
    let regimes: Vec<Regime> = (0..dy.mixes.len())
        .map(|r| Regime {
            mix: dy.mixes[r].clone(),
            p_active: dy.p_active[r],
            deadline_scale: dy.deadline_scales[r] * p.deadline_scale,
        })
        .collect();
    let network = Network {
        slot_s: d.slot_s,
        window: d.window,
        physics: Physics {
            noise_dbm_per_hz: p.noise_dbm_per_hz,
            noise_figure_db: p.noise_figure_db,
            eta_max: p.eta_max,
        },
        cloud: Cloud { flops: p.cloud_flops },
        edges,
        edge_download_bps: vec![d.edge_download_bps; p.n_edges],
        services: SERVICES.iter().map(|s| s.to_string()).collect(),
        models,
        devices,
        demand: Demand {
            regimes,
            switch_prob: 1.0 / d.regime_length,
            input_bits: (p.input_mbit_min * 1e6, p.input_mbit_max * 1e6),
            deadlines_s: p.deadline_ranges().to_vec(),
        },
    };

    // Trace.
    let n_regimes = dy.mixes.len();
    let mut regime = rng.gen_range(0..n_regimes);
    let mut services = vec![0usize; n];
    let mut first_services = Vec::new();
    let c = d.shadowing_ar;
    let innovation = (1.0 - c * c).max(0.0).sqrt() * sigma;
    let step = d.mobile_speed_mps * d.slot_s;
    let mut slots = Vec::with_capacity(d.n_slots);
    for t in 0..d.n_slots {
        let regime_start = if t == 0 {
            true
        } else if rng.gen_bool(1.0 / d.regime_length) {
            regime = (regime + 1) % n_regimes;
            true
        } else {
            false
        };
        if regime_start {
            for s in services.iter_mut() {
                *s = draw_index(&mut rng, &dy.mixes[regime]);
            }
            if t == 0 {
                first_services = services.clone();
            }
        }
        if t > 0 {
            for links in shadow.iter_mut() {
                for x in links.iter_mut() {
                    *x = c * *x + innovation * normal(&mut rng);
                }
            }
            for (i, dir) in dirs.iter_mut().enumerate() {
                if let Some((dx, dy_)) = dir {
                    let (mut x, mut y) = (pos[i].0 + *dx * step, pos[i].1 + *dy_ * step);
                    // Reflect off the walls.
                    if !(0.0..=p.floor_m).contains(&x) {
                        *dx = -*dx;
                        x = x.clamp(0.0, p.floor_m);
                    }
                    if !(0.0..=p.floor_m).contains(&y) {
                        *dy_ = -*dy_;
                        y = y.clamp(0.0, p.floor_m);
                    }
                    pos[i] = (x, y);
                }
            }
        }
        let reg = &network.demand.regimes[regime];
        let mut tasks = Vec::new();
        for i in 0..n {
            if !rng.gen_bool(reg.p_active) {
                continue;
            }
            let edge = if mobile[i].is_some() { strongest(pos[i], &shadow[i]) } else { assoc0[i] };
            let q = services[i];
            let input_bits = uniform(&mut rng, p.input_mbit_min, p.input_mbit_max) * 1e6;
            let (lo, hi) = network.demand.deadlines_s[q];
            let deadline_s = uniform(&mut rng, lo, hi) * reg.deadline_scale;
            tasks.push(SlotTask {
                device: i,
                edge,
                gain: db_to_linear(gain_db(pos[i], &shadow[i], edge)),
                service: q,
                input_bits,
                deadline_s,
            });
        }
        slots.push(Slot { regime, tasks });
    }

    let mut initial = PlacementState::empty(&network);
    if dy.init == Init::Warm {
        let first = slots[0].regime;
        // Devices: the most accurate model of the first service that fits and meets the
        // service's mid-range deadline in the first regime (else the fastest that fits).
        for (i, store) in initial.devices.iter_mut().enumerate() {
            let q = first_services[i];
            let dev = &network.devices[i];
            let (lo, hi) = network.demand.deadlines_s[q];
            let mid = (lo + hi) / 2.0 * network.demand.regimes[first].deadline_scale;
            let fits: Vec<usize> = (0..network.models.len())
                .filter(|&k| network.models[k].service == q && network.models[k].size_mb <= dev.storage_mb)
                .collect();
            let fast = |k: &usize| network.models[*k].flops / dev.flops <= mid;
            let best = fits
                .iter()
                .filter(|k| fast(k))
                .max_by(|a, b| {
                    network.models[**a].accuracy.total_cmp(&network.models[**b].accuracy).then(b.cmp(a))
                })
                .or_else(|| {
                    fits.iter().min_by(|a, b| network.models[**a].flops.total_cmp(&network.models[**b].flops))
                });
            if let Some(&k) = best {
                *store = Store { resident: vec![k], downloading: Vec::new() };
            }
        }
        // Edges: the optimum of one warm-up slot drawn from the first regime.
        if let Some(warm) = warm {
            let mut wrng = ChaCha8Rng::seed_from_u64(seed);
            wrng.set_stream(1);
            let reg = &network.demand.regimes[first];
            let tasks: Vec<SlotTask> = (0..n)
                .filter_map(|i| {
                    if !wrng.gen_bool(reg.p_active) {
                        return None;
                    }
                    let q = draw_index(&mut wrng, &reg.mix);
                    let input_bits = uniform(&mut wrng, p.input_mbit_min, p.input_mbit_max) * 1e6;
                    let (lo, hi) = network.demand.deadlines_s[q];
                    let deadline_s = uniform(&mut wrng, lo, hi) * reg.deadline_scale;
                    // Planning gains: path loss only, as a planner knows them.
                    let (edge, gain) = (assoc0[i], network.devices[i].mean_gain);
                    Some(SlotTask { device: i, edge, gain, service: q, input_bits, deadline_s })
                })
                .collect();
            if !tasks.is_empty() {
                let inst = network.slot_instance(&Slot { regime: first, tasks }, None, "warm-up");
                for (m, cache) in warm(&inst).into_iter().enumerate().take(initial.edges.len()) {
                    initial.edges[m] = Store { resident: cache, downloading: Vec::new() };
                }
            }
        }
    }
    Episode { format_version: EPISODE_FORMAT_VERSION, id: id.to_string(), network, initial, slots }
}
