//! The one-shot view of MODEL.md §8: the environment of the DDPG benchmark.
//!
//! An episode is `episode_len` slots (default 20) drawn independently from a scenario;
//! one environment step decides one whole slot. This file answers three questions:
//! how a slot is encoded as a fixed-size state ([`encode`]), how a continuous action
//! in `[0, 1]^ACT_DIM` becomes a valid [`Solution`] ([`decode`]), and what the reward
//! is ([`OneShotEnv`]).
//!
//! # Sizes (compile-time, because dfdx networks have const shapes)
//!
//! `N_MAX = 64` tasks, `M_MAX = 4` edge servers, `K_MAX = 24` models, `Q_MAX = 3`
//! services: the default scenario family (N = 50, M = 4, the 24-model zoo). Smaller
//! instances are padded with zeros (and a zero mask); larger ones are refused with
//! [`OneShotError::TooLarge`], never truncated.
//!
//! # State (`OBS_DIM` = 64·18 + 4·6 + 1 = 1177 values)
//!
//! Per task slot `n` (18 values, zeros for padding): mask; service one-hot (3); input
//! size `s_n / 2 Mbit`; deadline `T_n / 1 s`; device compute `f_n / 2e10`; storage
//! `C_n / 100 MB`; channel gain `(10 log10 g_n + 110) / 50`; spectral efficiency with
//! one RB over `eta_max`; the best accuracy of a deadline-feasible local, edge (model
//! fits the cache, whole server free) and cloud option (0 when none, from
//! [`crate::model::options`]); the smallest RB share of the best cloud option (1 when
//! none); edge one-hot (4). Per edge slot (6): mask; `NB_m / 20`; `U_m / 20`;
//! `F_m / 2e12`; `C_m / 500 MB`; tasks at the server / 16. Global (1): `N / N_MAX`.
//! The constants only bring the default scenario near `[0, 1]`; the agent may also
//! normalise with running statistics.
//!
//! # Action (`ACT_DIM` = 64·4 + 4·24 = 352 values in `[0, 1]`)
//!
//! Per task slot `n`, at `4n..4n+4`: location, model, RB share, compute share. Then per
//! (edge `m`, model `k`) at `4·N_MAX + m·K_MAX + k`: the cache score. Padding entries
//! are ignored.
//!
//! # Decoding (MODEL.md §8), see [`decode`]
//!
//! 1. *Location*: the location value split into four equal bins, `[0, ¼)` local,
//!    `[¼, ½)` edge, `[½, ¾)` cloud, `[¾, 1]` reject.
//! 2. *Model*: the models of the task's service sorted by increasing accuracy (ties:
//!    index); the model value picks `⌊x · |K_q|⌋` (clamped), so larger means more
//!    accurate and more costly.
//! 3. *Caches*: per edge, models in decreasing score (ties: index) are added while
//!    they fit (a model that does not fit is skipped, smaller ones may follow).
//! 4. *Local* tasks are served when the model fits the device's storage and meets the
//!    deadline (the device stores exactly that model); *edge* tasks need their model
//!    cached. Otherwise the task is rejected and counted as repaired.
//! 5. *Shares*: per edge, the RB shares of its edge and cloud tasks are normalised to
//!    `NB_m` and the compute shares of its edge tasks to `U_m`, each rounded down to
//!    whole units. A task with 0 RBs (or 0 units at the edge) or whose delay breaks its
//!    deadline is rejected and counted as repaired. The capacity it held is shared
//!    again among the remaining tasks (normalise, round down, check) until no task is
//!    rejected; removing a task only raises the others' shares, so this stops.
//!
//! Tasks the action itself rejects are not repairs. The decoded solution always passes
//! [`crate::model::evaluate`].
//!
//! # Reward
//!
//! `A − repair_penalty · repaired / N` per slot, with `A` the evaluator's objective
//! (default penalty 0.1, so each repaired task costs a tenth of a served task's
//! average accuracy weight `1/N`). Episodes are truncated (never terminated) after
//! `episode_len` slots.

use rand::Rng as _;
use serde::{Deserialize, Serialize};

use crate::model::{delay, evaluate, meets_deadline, Assignment, Decision, Instance, Location, Solution};
use crate::model::{enumerate_options, TaskOptions, FORMAT_VERSION};
use crate::rl::train::{Continuous, ContinuousEnv, Env, EnvError, Step};
use crate::rl::Rng;
use crate::scenario::{seeds, Scenario};

/// Task slots of the state and action.
pub const N_MAX: usize = 64;
/// Edge-server slots.
pub const M_MAX: usize = 4;
/// Model slots (cache scores per edge).
pub const K_MAX: usize = 24;
/// Service slots (one-hot).
pub const Q_MAX: usize = 3;
/// Values per task slot in the state.
pub const TASK_FEATURES: usize = 18;
/// Values per edge slot in the state.
pub const EDGE_FEATURES: usize = 6;
/// Values describing the whole slot.
pub const GLOBAL_FEATURES: usize = 1;
/// State length.
pub const OBS_DIM: usize = N_MAX * TASK_FEATURES + M_MAX * EDGE_FEATURES + GLOBAL_FEATURES;
/// Action values per task slot: location, model, RB share, compute share.
pub const ACT_PER_TASK: usize = 4;
/// Offset of the cache scores in the action.
pub const CACHE_OFFSET: usize = N_MAX * ACT_PER_TASK;
/// Action length.
pub const ACT_DIM: usize = CACHE_OFFSET + M_MAX * K_MAX;

/// Why a slot cannot be encoded or an action decoded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OneShotError {
    /// The instance exceeds the compile-time sizes of the networks.
    #[error(
        "one-shot DDPG: the instance has {found} {what}, more than the {max} the networks were built for \
         (N_MAX = {N_MAX}, M_MAX = {M_MAX}, K_MAX = {K_MAX}, Q_MAX = {Q_MAX})"
    )]
    TooLarge {
        /// `tasks`, `edge servers`, `models` or `services`.
        what: &'static str,
        /// Count in the instance.
        found: usize,
        /// Supported maximum.
        max: usize,
    },
    /// The action has the wrong length.
    #[error("one-shot DDPG: action has length {got}, expected {ACT_DIM}")]
    ActionDim {
        /// Received length.
        got: usize,
    },
    /// The action contains NaN or infinity.
    #[error("one-shot DDPG: action contains a non-finite value")]
    NonFinite,
    /// The decoded solution failed the evaluator (a bug in the decoder).
    #[error("one-shot DDPG: decoded solution is invalid (decoder bug): {0}")]
    Invalid(String),
}

/// Checks that `inst` fits the compile-time sizes.
pub fn check_size(inst: &Instance) -> Result<(), OneShotError> {
    for (what, found, max) in [
        ("tasks", inst.n_tasks(), N_MAX),
        ("edge servers", inst.edges.len(), M_MAX),
        ("models", inst.models.len(), K_MAX),
        ("services", inst.services.len(), Q_MAX),
    ] {
        if found > max {
            return Err(OneShotError::TooLarge { what, found, max });
        }
    }
    Ok(())
}

/// Checks that every instance of `sc` fits the compile-time sizes.
pub fn check_scenario(sc: &Scenario) -> Result<(), OneShotError> {
    let p = &sc.params;
    for (what, found, max) in [
        ("tasks", p.n_devices, N_MAX),
        ("edge servers", p.n_edges, M_MAX),
        ("models", sc.zoo.models.len(), K_MAX),
    ] {
        if found > max {
            return Err(OneShotError::TooLarge { what, found, max });
        }
    }
    Ok(())
}

fn max_accuracy(inst: &Instance, models: impl Iterator<Item = usize>) -> f64 {
    models.map(|k| inst.models[k].accuracy).fold(0.0, f64::max)
}

/// The state of slot `inst` (layout in the module docs); `opts` are its enumerated
/// options ([`enumerate_options`]).
pub fn encode(inst: &Instance, opts: &[TaskOptions]) -> Result<Vec<f32>, OneShotError> {
    check_size(inst)?;
    let mut obs = vec![0.0f32; OBS_DIM];
    let noise = inst.physics.noise_w_per_hz();
    for (n, dev) in inst.devices.iter().enumerate() {
        let f = &mut obs[n * TASK_FEATURES..(n + 1) * TASK_FEATURES];
        let e = &inst.edges[dev.edge];
        let t = &dev.task;
        let o = &opts[n];
        f[0] = 1.0;
        f[1 + t.service] = 1.0;
        f[4] = (t.input_bits / 2e6) as f32;
        f[5] = t.deadline_s as f32;
        f[6] = (dev.flops / 2e10) as f32;
        f[7] = (dev.storage_mb / 100.0) as f32;
        f[8] = ((10.0 * dev.gain.log10() + 110.0) / 50.0) as f32;
        let snr1 = dev.tx_power_w * dev.gain / (e.rb_width_hz * noise);
        f[9] = (inst.physics.eta_max.min((1.0 + snr1).log2()) / inst.physics.eta_max) as f32;
        f[10] = max_accuracy(inst, o.local.iter().map(|x| x.model)) as f32;
        f[11] = max_accuracy(inst, o.edge.iter().map(|x| x.model)) as f32;
        f[12] = max_accuracy(inst, o.cloud.iter().map(|x| x.model)) as f32;
        let best_cloud = o.cloud.iter().fold(None, |b: Option<(f64, u32)>, c| {
            let a = inst.models[c.model].accuracy;
            match b {
                Some((ba, _)) if ba >= a => b,
                _ => Some((a, c.rbs)),
            }
        });
        f[13] = best_cloud.map_or(1.0, |(_, r)| (f64::from(r) / f64::from(e.rbs)) as f32);
        f[14 + dev.edge] = 1.0;
    }
    let base = N_MAX * TASK_FEATURES;
    for (m, e) in inst.edges.iter().enumerate() {
        let f = &mut obs[base + m * EDGE_FEATURES..base + (m + 1) * EDGE_FEATURES];
        f[0] = 1.0;
        f[1] = (f64::from(e.rbs) / 20.0) as f32;
        f[2] = (f64::from(e.units) / 20.0) as f32;
        f[3] = (e.flops / 2e12) as f32;
        f[4] = (e.cache_mb / 500.0) as f32;
        f[5] = inst.devices.iter().filter(|d| d.edge == m).count() as f32 / 16.0;
    }
    obs[OBS_DIM - 1] = inst.n_tasks() as f32 / N_MAX as f32;
    Ok(obs)
}

/// What the action asked for a task, before repair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// The action rejects the task (not a repair).
    Reject,
    /// Run with `model` at `location`.
    Serve {
        /// Model index into the instance's zoo.
        model: usize,
        /// Requested location.
        location: Location,
    },
}

/// The location bin of a location value (module docs, step 1): 0 local, 1 edge,
/// 2 cloud, 3 reject.
pub fn location_bin(x: f32) -> usize {
    ((x.clamp(0.0, 1.0) * 4.0).floor() as usize).min(3)
}

/// The models of service `q`, by increasing accuracy (ties: index).
pub fn service_models(inst: &Instance, q: usize) -> Vec<usize> {
    let mut ks: Vec<usize> = (0..inst.models.len()).filter(|&k| inst.models[k].service == q).collect();
    ks.sort_by(|&a, &b| inst.models[a].accuracy.total_cmp(&inst.models[b].accuracy).then(a.cmp(&b)));
    ks
}

/// The decoded slot: a valid solution and what had to be repaired.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The solution (passes the evaluator).
    pub solution: Solution,
    /// Tasks the action asked to serve that the repair rejected.
    pub repaired: usize,
    /// What the action asked per task, before repair.
    pub intents: Vec<Intent>,
}

/// Floors `cap · w_i / Σw` for the active entries (0 for the others), never handing
/// out more than `cap` in total even with rounding error.
fn split_capacity(cap: u32, weights: &[f32], active: &[bool]) -> Vec<u32> {
    let total: f64 = weights.iter().zip(active).filter(|(_, &a)| a).map(|(&w, _)| f64::from(w)).sum();
    let mut out: Vec<u32> = weights
        .iter()
        .zip(active)
        .map(|(&w, &a)| {
            if !a || total <= 0.0 {
                0
            } else {
                ((f64::from(cap) * f64::from(w) / total).floor() as u32).min(cap)
            }
        })
        .collect();
    while out.iter().map(|&x| u64::from(x)).sum::<u64>() > u64::from(cap) {
        if let Some(i) = (0..out.len()).max_by_key(|&i| out[i]) {
            out[i] -= 1;
        }
    }
    out
}

/// Decodes `action` (length [`ACT_DIM`], values clamped to `[0, 1]`) into a valid
/// solution of `inst`, as described in the module docs.
pub fn decode(inst: &Instance, action: &[f32]) -> Result<Decoded, OneShotError> {
    check_size(inst)?;
    if action.len() != ACT_DIM {
        return Err(OneShotError::ActionDim { got: action.len() });
    }
    if action.iter().any(|x| !x.is_finite()) {
        return Err(OneShotError::NonFinite);
    }
    let a = |i: usize| action[i].clamp(0.0, 1.0);
    let n_tasks = inst.n_tasks();
    let by_service: Vec<Vec<usize>> = (0..inst.services.len()).map(|q| service_models(inst, q)).collect();

    // 1-2. intents
    let intents: Vec<Intent> = (0..n_tasks)
        .map(|n| {
            let ks = &by_service[inst.devices[n].task.service];
            let location = match location_bin(a(n * ACT_PER_TASK)) {
                0 => Location::Local,
                1 => Location::Edge,
                2 => Location::Cloud,
                _ => return Intent::Reject,
            };
            if ks.is_empty() {
                return Intent::Reject;
            }
            let i = ((a(n * ACT_PER_TASK + 1) * ks.len() as f32).floor() as usize).min(ks.len() - 1);
            Intent::Serve { model: ks[i], location }
        })
        .collect();

    // 3. caches, greedily by score
    let mut edge_cache: Vec<Vec<usize>> = Vec::with_capacity(inst.edges.len());
    for (m, e) in inst.edges.iter().enumerate() {
        let score = |k: usize| a(CACHE_OFFSET + m * K_MAX + k);
        let mut order: Vec<usize> = (0..inst.models.len()).filter(|&k| inst.edge_may_use(m, k)).collect();
        order.sort_by(|&x, &y| score(y).total_cmp(&score(x)).then(x.cmp(&y)));
        let mut used = 0.0;
        let mut cache = Vec::new();
        for k in order {
            let s = inst.models[k].size_mb;
            if used + s <= e.cache_mb {
                used += s;
                cache.push(k);
            }
        }
        cache.sort_unstable();
        edge_cache.push(cache);
    }

    // 4. per-task checks that do not depend on shares
    let mut decisions = vec![Decision::Reject; n_tasks];
    let mut alive = vec![false; n_tasks]; // edge/cloud tasks still competing for shares
    let mut repaired = 0usize;
    for (n, intent) in intents.iter().enumerate() {
        let Intent::Serve { model, location } = *intent else { continue };
        let dev = &inst.devices[n];
        match location {
            Location::Local => {
                let fits = inst.models[model].size_mb <= dev.storage_mb && inst.device_may_use(n, model);
                if fits && meets_deadline(delay::local_delay(inst, n, model), dev.task.deadline_s) {
                    decisions[n] = Decision::Serve(Assignment::local(model));
                } else {
                    repaired += 1;
                }
            }
            Location::Edge if edge_cache[dev.edge].binary_search(&model).is_err() => repaired += 1,
            Location::Edge | Location::Cloud => alive[n] = true,
        }
    }

    // 5. shares: normalise, round down, reject what breaks a constraint, repeat
    for (m, e) in inst.edges.iter().enumerate() {
        let tasks: Vec<usize> = (0..n_tasks).filter(|&n| alive[n] && inst.devices[n].edge == m).collect();
        let rb_w: Vec<f32> = tasks.iter().map(|&n| a(n * ACT_PER_TASK + 2)).collect();
        let cu_w: Vec<f32> = tasks.iter().map(|&n| a(n * ACT_PER_TASK + 3)).collect();
        let is_edge: Vec<bool> = tasks
            .iter()
            .map(|&n| matches!(intents[n], Intent::Serve { location: Location::Edge, .. }))
            .collect();
        let mut live = vec![true; tasks.len()];
        loop {
            let rbs = split_capacity(e.rbs, &rb_w, &live);
            let live_edge: Vec<bool> = live.iter().zip(&is_edge).map(|(&l, &x)| l && x).collect();
            let units = split_capacity(e.units, &cu_w, &live_edge);
            let mut changed = false;
            for (i, &n) in tasks.iter().enumerate() {
                if !live[i] {
                    continue;
                }
                let Intent::Serve { model, location } = intents[n] else { continue };
                let assignment = match location {
                    Location::Edge => Assignment::edge(model, rbs[i], units[i]),
                    _ => Assignment::cloud(model, rbs[i]),
                };
                let ok = rbs[i] >= 1
                    && (location != Location::Edge || units[i] >= 1)
                    && meets_deadline(delay::delay(inst, n, &assignment), inst.devices[n].task.deadline_s);
                if ok {
                    decisions[n] = Decision::Serve(assignment);
                } else {
                    live[i] = false;
                    decisions[n] = Decision::Reject;
                    repaired += 1;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
    }

    let mut solution = Solution {
        format_version: FORMAT_VERSION,
        edge_cache,
        device_models: vec![Vec::new(); n_tasks],
        decisions,
    };
    solution.store_local_models();
    Ok(Decoded { solution, repaired, intents })
}

/// Environment settings. Every field has a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OneShotConfig {
    /// Slots per episode `T_ep`. Default 20.
    pub episode_len: usize,
    /// Penalty per repaired task, in units of `1/N` (reward `A − p · repaired / N`).
    /// Default 0.1.
    pub repair_penalty: f64,
}

impl Default for OneShotConfig {
    fn default() -> Self {
        Self { episode_len: 20, repair_penalty: 0.1 }
    }
}

/// One slot ready to be acted on: the instance, its options and its state.
#[derive(Debug, Clone)]
pub struct Slot {
    /// The instance.
    pub inst: Instance,
    /// The state vector.
    pub obs: Vec<f32>,
}

impl Slot {
    /// Encodes `inst`.
    pub fn new(inst: Instance) -> Result<Self, OneShotError> {
        let opts = enumerate_options(&inst);
        let obs = encode(&inst, &opts)?;
        Ok(Self { inst, obs })
    }
}

/// The outcome of acting on one slot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlotOutcome {
    /// The evaluator's objective `A`.
    pub objective: f64,
    /// Tasks rejected by the repair.
    pub repaired: usize,
    /// `A − penalty · repaired / N`.
    pub reward: f64,
}

/// Decodes `action` on `inst`, evaluates it and computes the reward.
pub fn score(inst: &Instance, action: &[f32], cfg: &OneShotConfig) -> Result<SlotOutcome, OneShotError> {
    let d = decode(inst, action)?;
    let ev = evaluate(inst, &d.solution).map_err(|v| OneShotError::Invalid(v.to_string()))?;
    let reward = ev.objective - cfg.repair_penalty * d.repaired as f64 / inst.n_tasks() as f64;
    Ok(SlotOutcome { objective: ev.objective, repaired: d.repaired, reward })
}

/// The one-shot environment: each step decides one slot; slots are drawn from the
/// scenario with instance seeds uniform in the training run's range of
/// [`crate::scenario::seeds::training`], taken from the training generator (so the
/// training seed fixes the instance stream and training never sees a benchmark or
/// validation instance).
#[derive(Debug, Clone)]
pub struct OneShotEnv {
    scenario: Scenario,
    seeds: std::ops::Range<u64>,
    cfg: OneShotConfig,
    slot: Option<Slot>,
    t: usize,
    /// Slots decided so far (all episodes).
    pub slots: u64,
}

fn draw_slot(sc: &Scenario, seeds: &std::ops::Range<u64>, rng: &mut Rng) -> Slot {
    let seed = rng.gen_range(seeds.clone());
    let inst = crate::scenario::generate(sc, seed, &format!("train-{seed}"));
    // The scenario was checked against the sizes in `new`, so encoding cannot fail;
    // fall back to an all-padding state rather than panic if it ever did.
    let obs = encode(&inst, &enumerate_options(&inst)).unwrap_or_else(|_| vec![0.0; OBS_DIM]);
    Slot { inst, obs }
}

impl OneShotEnv {
    /// An environment over `scenario` for training run `run` (its seed); fails when
    /// the scenario's instances exceed the sizes.
    pub fn new(scenario: Scenario, cfg: OneShotConfig, run: u64) -> Result<Self, OneShotError> {
        check_scenario(&scenario)?;
        Ok(Self { scenario, seeds: seeds::training(run), cfg, slot: None, t: 0, slots: 0 })
    }

    /// The environment settings.
    pub fn config(&self) -> &OneShotConfig {
        &self.cfg
    }
}

impl ContinuousEnv for OneShotEnv {
    fn act_dim(&self) -> usize {
        ACT_DIM
    }

    fn action_bounds(&self) -> (Vec<f32>, Vec<f32>) {
        (vec![0.0; ACT_DIM], vec![1.0; ACT_DIM])
    }
}

impl Env for OneShotEnv {
    type Action = Continuous;

    fn obs_dim(&self) -> usize {
        OBS_DIM
    }

    fn reset(&mut self, rng: &mut Rng) -> Vec<f32> {
        self.t = 0;
        let slot = draw_slot(&self.scenario, &self.seeds, rng);
        let obs = slot.obs.clone();
        self.slot = Some(slot);
        obs
    }

    fn step(&mut self, action: &Continuous, rng: &mut Rng) -> Result<Step, EnvError> {
        if action.len() != ACT_DIM {
            return Err(EnvError::ActionDim { expected: ACT_DIM, got: action.len() });
        }
        if action.iter().any(|x| !x.is_finite()) {
            return Err(EnvError::NonFiniteAction);
        }
        let slot = match self.slot.take() {
            Some(s) => s,
            None => draw_slot(&self.scenario, &self.seeds, rng),
        };
        let out = score(&slot.inst, action, &self.cfg).map_err(|e| EnvError::Other(Box::new(e)))?;
        self.t += 1;
        self.slots += 1;
        let next = draw_slot(&self.scenario, &self.seeds, rng);
        let obs = next.obs.clone();
        self.slot = Some(next);
        Ok(Step {
            obs,
            reward: out.reward as f32,
            terminated: false,
            truncated: self.t >= self.cfg.episode_len,
        })
    }
}

/// The fixed validation set: `count` instances of `scenario` with the first seeds of
/// [`seeds::VALIDATION`] (disjoint from training and benchmark seeds).
pub fn validation_set(scenario: &Scenario, count: usize) -> Result<Vec<Slot>, OneShotError> {
    (0..count as u64)
        .map(|i| {
            let seed = seeds::VALIDATION.start + i;
            Slot::new(crate::scenario::generate(scenario, seed, &format!("val-{seed}")))
        })
        .collect()
}
