//! The episode view of the DDPG benchmark (`ddpg-online`): the one-shot action of
//! MODEL.md §8 per slot of an episode (§9), its placement scores now deciding what each
//! edge server starts downloading and evicts.
//!
//! This file answers three questions: how a slot of an episode is observed
//! ([`observe`]), how an action becomes a valid [`SlotDecision`] ([`decide`]), and what
//! the reward is ([`DdpgOnlineEnv`]).
//!
//! # State (`ONLINE_OBS_DIM` = 1177 + 4·24·4 + 4 + 2 = 1567 values)
//!
//! 1. The one-shot encoding of the slot ([`super::env::encode`], 1177 values) on the
//!    slot instance (task `i` = the slot's task `i`), with its option features (best
//!    local / edge / cloud accuracy) restricted to the models **resident at the start of
//!    the slot**: what the slot can use if the policy keeps it.
//! 2. Per (edge `m`, model `k`) at `PLACE_OFFSET + (m·K_MAX + k)·4`: resident flag;
//!    received fraction of a download (`received / S_k`, 0 when not downloading);
//!    `S_k / C_m`; the number of this slot's tasks at `m` for which `k` is a
//!    deadline-feasible edge option (whole server, capacities ignored) / 16. Zeros for
//!    padding.
//! 3. The regime signal `rho(t)`, one-hot over `R_MAX = 4` slots.
//! 4. `min(t / T, 1)` with `T` the configured horizon ([`OnlineEnvConfig::horizon`]), and
//!    the scored flag `t >= W`.
//!
//! # Action (`ACT_DIM` = 352 values in `[0, 1]`, the one-shot layout)
//!
//! Per task slot: location, model, RB share, compute share (as [`super::env`]). Per
//! (edge `m`, model `k`) at `CACHE_OFFSET + m·K_MAX + k`: the **placement score** (the
//! one-shot cache score).
//!
//! # Decoding ([`decide`])
//!
//! 1. *Placement (§9.2 step 2).* Edge `m`'s target holding: models by decreasing score
//!    (ties: index), each added while it fits `C_m` (one that does not fit is skipped).
//!    Held models outside the target are evicted, target models not held start
//!    downloading; each server's download volume goes to its target's missing models
//!    in decreasing score ([`download_plan`]), so the top-scored model arrives first.
//!    Devices follow the shared device rule
//!    ([`common::device_holds`]): per-device scores (50 × 24 more outputs, for sites that
//!    hold at most one or two models) were not added.
//! 2. *Assignment (§9.2 step 3).* The one-shot decode with repair
//!    ([`super::env::decode`]) on the slot instance whose placement is fixed to the
//!    models resident at the start of the slot and kept by step 1. One change: the
//!    model value of a local or edge task picks among the service's models *available
//!    there* (resident on the device, or at the server), by increasing accuracy
//!    ([`onto_available`]); with none available the task is repaired. (With the static
//!    decode's list of all the service's models, a local request succeeds only when the
//!    value happens to hit the one model the device holds: trained that way, the policy
//!    learned to reject nearly every task, docs/ddpg-online.md.) Deadlines and shares
//!    are repaired exactly as in the one-shot view: the choice of what exists is given,
//!    feasibility is not.
//!
//! Every decision passes the episode evaluator ([`Replay`]); the environment steps
//! through it, and a violation is an error (a decoder bug), never a low reward.
//!
//! # Reward
//!
//! Per slot `t`: `scale · (acc(t)·[t >= W] − p · repaired(t)) / N_ep`, with `acc(t)`
//! the slot's summed accuracy, `N_ep` the episode's number of scored tasks (slots
//! `W..T-1`), `p` the repair penalty (as the one-shot view) and `scale` the reward scale:
//! with `p = 0` the undiscounted return is `scale · A_ep`. The episode terminates after
//! its last slot (the time feature makes the finite horizon observable).

use rand::Rng as _;
use serde::{Deserialize, Serialize};

use super::env::{
    decode, encode, location_bin, service_models, OneShotError, ACT_DIM, ACT_PER_TASK, CACHE_OFFSET, K_MAX,
    M_MAX, N_MAX, OBS_DIM, Q_MAX,
};
use crate::model::{
    enumerate_options, Episode, EpisodeViolation, Holdings, Instance, Network, PlacementState, Replay, Slot,
    SlotDecision, TaskOptions, EPISODE_FORMAT_VERSION,
};
use crate::rl::train::{Continuous, ContinuousEnv, Env, EnvError, Step};
use crate::rl::Rng;
use crate::scenario::{seeds, Dynamics, Scenario};
use crate::solvers::online::common::{device_holds, download_plan, empty_solution, kept_resident};

/// Regime slots of the one-hot regime signal.
pub const R_MAX: usize = 4;
/// Values per (edge, model) pair in the state.
pub const PLACE_FEATURES: usize = 4;
/// Offset of the (edge, model) features in the state.
pub const PLACE_OFFSET: usize = OBS_DIM;
/// Offset of the regime one-hot.
pub const REGIME_OFFSET: usize = PLACE_OFFSET + M_MAX * K_MAX * PLACE_FEATURES;
/// Offset of the time features (`t / T`, scored flag).
pub const TIME_OFFSET: usize = REGIME_OFFSET + R_MAX;
/// State length of the episode view.
pub const ONLINE_OBS_DIM: usize = TIME_OFFSET + 2;
/// Offset of the placement scores in the action (the one-shot cache scores).
pub const PLACE_SCORE_OFFSET: usize = CACHE_OFFSET;

/// Why a slot of an episode cannot be observed or decided.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OnlineViewError {
    /// The slot instance or the action does not fit the one-shot view.
    #[error(transparent)]
    OneShot(#[from] OneShotError),
    /// The network exceeds the compile-time sizes.
    #[error(
        "ddpg-online: the network has {found} {what}, more than the {max} the networks were built for \
         (N_MAX = {N_MAX} devices, M_MAX = {M_MAX}, K_MAX = {K_MAX}, Q_MAX = {Q_MAX}, R_MAX = {R_MAX} regimes)"
    )]
    TooLarge {
        /// `devices`, `edge servers`, `models`, `services` or `regimes`.
        what: &'static str,
        /// Count in the network.
        found: usize,
        /// Supported maximum.
        max: usize,
    },
    /// The decoded decision failed the episode evaluator (a bug in the decoder).
    #[error("ddpg-online: the decoded decision broke a rule (decoder bug)")]
    Invalid(#[source] EpisodeViolation),
}

/// Checks that every slot of an episode on `net` fits the compile-time sizes (a slot
/// has at most one task per device, so `N_MAX` bounds the devices).
pub fn check_network(net: &Network) -> Result<(), OnlineViewError> {
    for (what, found, max) in [
        ("devices", net.devices.len(), N_MAX),
        ("edge servers", net.edges.len(), M_MAX),
        ("models", net.models.len(), K_MAX),
        ("services", net.services.len(), Q_MAX),
        ("regimes", net.demand.regimes.len(), R_MAX),
    ] {
        if found > max {
            return Err(OnlineViewError::TooLarge { what, found, max });
        }
    }
    Ok(())
}

/// Checks that every episode of a setting fits the compile-time sizes.
pub fn check_setting(sc: &Scenario, dy: &Dynamics) -> Result<(), OnlineViewError> {
    super::env::check_scenario(sc)?;
    if dy.mixes.len() > R_MAX {
        return Err(OnlineViewError::TooLarge { what: "regimes", found: dy.mixes.len(), max: R_MAX });
    }
    Ok(())
}

/// Settings of the view. Every field has a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OnlineEnvConfig {
    /// `T` of the time feature `min(t / T, 1)` (the benchmark's episode length). Default 30.
    pub horizon: usize,
    /// Penalty per repaired task, in units of `1 / N_ep`. Default 0.1 (the one-shot value).
    pub repair_penalty: f64,
    /// Factor on every reward (the return is `scale · A_ep` without repairs). Default 1.
    pub reward_scale: f64,
}

impl Default for OnlineEnvConfig {
    fn default() -> Self {
        Self { horizon: 30, repair_penalty: 0.1, reward_scale: 1.0 }
    }
}

/// The state of slot `t` (layout in the module docs) with placement `state` at its start.
pub fn observe(
    net: &Network,
    t: usize,
    slot: &Slot,
    state: &PlacementState,
    cfg: &OnlineEnvConfig,
) -> Result<Vec<f32>, OnlineViewError> {
    check_network(net)?;
    let inst = net.slot_instance(slot, None, "observe");
    let free = enumerate_options(&inst);
    // The one-shot encoding, its options restricted to what is resident now.
    let resident: Vec<TaskOptions> = free
        .iter()
        .zip(&slot.tasks)
        .map(|(o, task)| {
            let dev = &state.devices[task.device].resident;
            let edge = &state.edges[task.edge].resident;
            TaskOptions {
                local: o.local.iter().filter(|x| dev.contains(&x.model)).cloned().collect(),
                edge: o.edge.iter().filter(|x| edge.contains(&x.model)).cloned().collect(),
                cloud: o.cloud.clone(),
            }
        })
        .collect();
    let mut obs = encode(&inst, &resident)?;
    obs.resize(ONLINE_OBS_DIM, 0.0);
    // Demand per (edge, model) in this slot.
    let mut demand = vec![[0u32; K_MAX]; M_MAX];
    for (o, task) in free.iter().zip(&slot.tasks) {
        for e in &o.edge {
            demand[task.edge][e.model] += 1;
        }
    }
    for (m, store) in state.edges.iter().enumerate() {
        let cap = net.edges[m].cache_mb;
        for (k, md) in net.models.iter().enumerate() {
            let f = &mut obs[PLACE_OFFSET + (m * K_MAX + k) * PLACE_FEATURES..][..PLACE_FEATURES];
            f[0] = if store.resident.contains(&k) { 1.0 } else { 0.0 };
            f[1] = store
                .downloading
                .iter()
                .find(|d| d.model == k)
                .map_or(0.0, |d| (d.received_mb / md.size_mb) as f32);
            f[2] = (md.size_mb / cap) as f32;
            f[3] = demand[m][k] as f32 / 16.0;
        }
    }
    obs[REGIME_OFFSET + slot.regime] = 1.0;
    obs[TIME_OFFSET] = (t as f32 / cfg.horizon.max(1) as f32).min(1.0);
    obs[TIME_OFFSET + 1] = if t >= net.window { 1.0 } else { 0.0 };
    Ok(obs)
}

/// A decoded slot: the decision (placement change, download split, assignment) and the number of tasks the repair rejected.
#[derive(Debug, Clone, PartialEq)]
pub struct OnlineDecoded {
    /// The slot's decision.
    pub decision: SlotDecision,
    /// Tasks the action asked to serve that the repair rejected.
    pub repaired: usize,
}

/// The target holding of every edge server: models by decreasing placement score,
/// each added while it fits.
pub fn edge_targets(net: &Network, action: &[f32]) -> Vec<Vec<usize>> {
    net.edges
        .iter()
        .enumerate()
        .map(|(m, e)| {
            let score = |k: usize| action[PLACE_SCORE_OFFSET + m * K_MAX + k].clamp(0.0, 1.0);
            let mut order: Vec<usize> = (0..net.models.len()).collect();
            order.sort_by(|&x, &y| score(y).total_cmp(&score(x)).then(x.cmp(&y)));
            let mut used = 0.0;
            let mut hold = Vec::new();
            for k in order {
                let s = net.models[k].size_mb;
                if used + s <= e.cache_mb {
                    used += s;
                    hold.push(k);
                }
            }
            hold
        })
        .collect()
}

/// Decodes `action` (length [`ACT_DIM`]) for slot `slot` with placement `state` at its
/// start, as described in the module docs.
pub fn decide(
    net: &Network,
    slot: &Slot,
    state: &PlacementState,
    action: &[f32],
) -> Result<OnlineDecoded, OnlineViewError> {
    check_network(net)?;
    if action.len() != ACT_DIM {
        return Err(OneShotError::ActionDim { got: action.len() }.into());
    }
    if action.iter().any(|x| !x.is_finite()) {
        return Err(OneShotError::NonFinite.into());
    }
    let hold = Holdings { edges: edge_targets(net, action), devices: device_holds(net, slot, state) };
    let downloads = Some(download_plan(net, state, &hold.edges));
    if slot.tasks.is_empty() {
        return Ok(OnlineDecoded {
            decision: SlotDecision { hold, solution: empty_solution(net), downloads },
            repaired: 0,
        });
    }
    let kept = kept_resident(state, &hold);
    let inst = net.slot_instance(slot, Some(&kept), "ddpg-online");
    let d = decode(&inst, &onto_available(&inst, action))?;
    Ok(OnlineDecoded {
        decision: SlotDecision { hold, solution: d.solution, downloads },
        repaired: d.repaired,
    })
}

/// The action with the model value of every local or edge task moved onto the models
/// of its service available there (resident and kept: on the device and fitting its
/// storage, or at its edge server), by increasing accuracy: the value `x` picks
/// `avail[floor(x · |avail|)]`, written back as the centre of that model's bin in the
/// one-shot decode's list of all the service's models. Tasks with nothing available
/// keep their value (the decode repairs them).
pub fn onto_available(inst: &Instance, action: &[f32]) -> Vec<f32> {
    let mut a = action.to_vec();
    let by_service: Vec<Vec<usize>> = (0..inst.services.len()).map(|q| service_models(inst, q)).collect();
    for (n, dev) in inst.devices.iter().enumerate() {
        let bin = location_bin(a[n * ACT_PER_TASK]);
        if bin > 1 {
            continue;
        }
        let all = &by_service[dev.task.service];
        let avail: Vec<usize> = all
            .iter()
            .copied()
            .filter(|&k| {
                if bin == 0 {
                    inst.device_may_use(n, k) && inst.models[k].size_mb <= dev.storage_mb
                } else {
                    inst.edge_may_use(dev.edge, k)
                }
            })
            .collect();
        if avail.is_empty() {
            continue;
        }
        let x = a[n * ACT_PER_TASK + 1].clamp(0.0, 1.0);
        let k = avail[((x * avail.len() as f32).floor() as usize).min(avail.len() - 1)];
        let pos = all.iter().position(|&j| j == k).unwrap_or(0);
        a[n * ACT_PER_TASK + 1] = (pos as f32 + 0.5) / all.len() as f32;
    }
    a
}

/// What one played slot gave.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlayedSlot {
    /// Summed accuracy of the served tasks.
    pub accuracy_sum: f64,
    /// Tasks rejected by the repair.
    pub repaired: usize,
}

/// Plays one slot of a one-slot sub-episode through the evaluator: returns the outcome
/// and the placement state after the slot. `sub` holds the network (window 0), its
/// `initial` and `slots[0]` are overwritten.
fn play(
    sub: &mut Episode,
    slot: &Slot,
    state: &PlacementState,
    action: &[f32],
) -> Result<(PlayedSlot, PlacementState), OnlineViewError> {
    let d = decide(&sub.network, slot, state, action)?;
    sub.initial = state.clone();
    sub.slots.clear();
    sub.slots.push(slot.clone());
    let mut replay = Replay::new(sub);
    let out = replay.step(&d.decision).map_err(OnlineViewError::Invalid)?;
    Ok((PlayedSlot { accuracy_sum: out.accuracy_sum, repaired: d.repaired }, replay.state().clone()))
}

/// A scored run of a policy over one episode.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpisodeScore {
    /// `A_ep` by the episode evaluator.
    pub objective: f64,
    /// Tasks repaired over the whole episode.
    pub repaired: usize,
}

/// Runs deterministic actions over `episodes` in lockstep (slot `t` of every episode in
/// one batch through `act`, which maps `b · ONLINE_OBS_DIM` states to `b · ACT_DIM`
/// actions) and scores each with the episode evaluator ([`Replay`]).
pub fn run_episodes<E>(
    episodes: &[Episode],
    cfg: &OnlineEnvConfig,
    mut act: impl FnMut(&[f32]) -> Result<Vec<f32>, E>,
) -> Result<Vec<EpisodeScore>, RunEpisodesError<E>>
where
    E: std::error::Error + Send + Sync + 'static,
{
    for ep in episodes {
        check_network(&ep.network)?;
    }
    let mut replays: Vec<Replay> = episodes.iter().map(Replay::new).collect();
    let mut repaired = vec![0usize; episodes.len()];
    let longest = episodes.iter().map(Episode::n_slots).max().unwrap_or(0);
    for t in 0..longest {
        let live: Vec<usize> = (0..episodes.len()).filter(|&i| t < episodes[i].n_slots()).collect();
        let mut obs = Vec::with_capacity(live.len() * ONLINE_OBS_DIM);
        for &i in &live {
            let ep = &episodes[i];
            obs.extend(observe(&ep.network, t, &ep.slots[t], replays[i].state(), cfg)?);
        }
        let actions = act(&obs).map_err(RunEpisodesError::Act)?;
        if actions.len() != live.len() * ACT_DIM {
            return Err(OnlineViewError::from(OneShotError::ActionDim {
                got: actions.len() / live.len().max(1),
            })
            .into());
        }
        for (&i, a) in live.iter().zip(actions.chunks(ACT_DIM)) {
            let ep = &episodes[i];
            let d = decide(&ep.network, &ep.slots[t], replays[i].state(), a)?;
            replays[i].step(&d.decision).map_err(OnlineViewError::Invalid)?;
            repaired[i] += d.repaired;
        }
    }
    replays
        .into_iter()
        .zip(repaired)
        .map(|(r, repaired)| {
            let ev = r.finish().map_err(OnlineViewError::Invalid)?;
            Ok(EpisodeScore { objective: ev.objective, repaired })
        })
        .collect()
}

/// Why [`run_episodes`] failed.
#[derive(Debug, thiserror::Error)]
pub enum RunEpisodesError<E: std::error::Error + 'static> {
    /// Observing or decoding failed.
    #[error(transparent)]
    View(#[from] OnlineViewError),
    /// The actor failed.
    #[error("ddpg-online: the actor failed")]
    Act(#[source] E),
}

/// The episode environment: each step decides one slot of an episode generated from
/// the setting with a seed drawn uniformly from the training run's range of
/// [`seeds::training`] (by the training generator, so the seed fixes the stream and
/// training never sees a benchmark or validation episode).
#[derive(Debug, Clone)]
pub struct DdpgOnlineEnv {
    scenario: Scenario,
    dynamics: Dynamics,
    seeds: std::ops::Range<u64>,
    cfg: OnlineEnvConfig,
    /// The current episode (with window) and its one-slot twin for stepping.
    ep: Option<(Episode, Episode)>,
    state: PlacementState,
    t: usize,
    scored_tasks: usize,
    /// Slots decided so far (all episodes).
    pub slots: u64,
    /// Episodes started so far.
    pub episodes: u64,
}

impl DdpgOnlineEnv {
    /// An environment over a setting for training run `run` (its seed); fails when the
    /// setting's episodes exceed the sizes.
    pub fn new(
        scenario: Scenario,
        dynamics: Dynamics,
        cfg: OnlineEnvConfig,
        run: u64,
    ) -> Result<Self, OnlineViewError> {
        check_setting(&scenario, &dynamics)?;
        Ok(Self {
            scenario,
            dynamics,
            seeds: seeds::training(run),
            cfg,
            ep: None,
            state: PlacementState::default(),
            t: 0,
            scored_tasks: 0,
            slots: 0,
            episodes: 0,
        })
    }

    /// The view settings.
    pub fn config(&self) -> &OnlineEnvConfig {
        &self.cfg
    }

    fn obs(&self) -> Vec<f32> {
        let Some((ep, _)) = &self.ep else { return vec![0.0; ONLINE_OBS_DIM] };
        let empty;
        let slot = match ep.slots.get(self.t) {
            Some(s) => s,
            None => {
                // After the last slot: the final placement, no tasks, time feature 1.
                empty = Slot { regime: ep.slots.last().map_or(0, |s| s.regime), tasks: Vec::new() };
                &empty
            }
        };
        // The setting was checked against the sizes in `new`, so observing cannot fail;
        // fall back to an all-zero state rather than panic if it ever did.
        observe(&ep.network, self.t, slot, &self.state, &self.cfg)
            .unwrap_or_else(|_| vec![0.0; ONLINE_OBS_DIM])
    }
}

impl ContinuousEnv for DdpgOnlineEnv {
    fn act_dim(&self) -> usize {
        ACT_DIM
    }

    fn action_bounds(&self) -> (Vec<f32>, Vec<f32>) {
        (vec![0.0; ACT_DIM], vec![1.0; ACT_DIM])
    }
}

impl Env for DdpgOnlineEnv {
    type Action = Continuous;

    fn obs_dim(&self) -> usize {
        ONLINE_OBS_DIM
    }

    fn reset(&mut self, rng: &mut Rng) -> Vec<f32> {
        let seed = rng.gen_range(self.seeds.clone());
        let ep = crate::solvers::online::generate_episode(
            &self.scenario,
            &self.dynamics,
            seed,
            &format!("train-{seed}"),
        );
        let mut sub = Episode {
            format_version: EPISODE_FORMAT_VERSION,
            id: ep.id.clone(),
            network: ep.network.clone(),
            initial: ep.initial.clone(),
            slots: Vec::with_capacity(1),
        };
        sub.network.window = 0;
        self.scored_tasks =
            ep.slots[ep.network.window.min(ep.slots.len())..].iter().map(|s| s.tasks.len()).sum();
        self.state = ep.initial.clone();
        self.t = 0;
        self.ep = Some((ep, sub));
        self.episodes += 1;
        self.obs()
    }

    fn step(&mut self, action: &Continuous, rng: &mut Rng) -> Result<Step, EnvError> {
        if action.len() != ACT_DIM {
            return Err(EnvError::ActionDim { expected: ACT_DIM, got: action.len() });
        }
        if action.iter().any(|x| !x.is_finite()) {
            return Err(EnvError::NonFiniteAction);
        }
        if self.ep.as_ref().is_none_or(|(ep, _)| self.t >= ep.slots.len()) {
            self.reset(rng);
        }
        let Some((ep, sub)) = self.ep.as_mut() else {
            return Err(EnvError::Other("ddpg-online: no episode after reset".into()));
        };
        let slot = &ep.slots[self.t];
        let (played, next) =
            play(sub, slot, &self.state, action).map_err(|e| EnvError::Other(Box::new(e)))?;
        let scored = self.t >= ep.network.window;
        let n = self.scored_tasks.max(1) as f64;
        let gain = if scored { played.accuracy_sum } else { 0.0 };
        let reward = self.cfg.reward_scale * (gain - self.cfg.repair_penalty * played.repaired as f64) / n;
        let last = self.t + 1 >= ep.slots.len();
        self.state = next;
        self.t += 1;
        self.slots += 1;
        Ok(Step { obs: self.obs(), reward: reward as f32, terminated: last, truncated: false })
    }
}
