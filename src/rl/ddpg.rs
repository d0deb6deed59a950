//! Deep Deterministic Policy Gradient (Lillicrap et al., 2016), CleanRL style.
//!
//! Per update, on a uniformly sampled replay batch `(s, a, r, s', d)`:
//!
//! 1. target `y = r + γ (1 − d) Q'(s', μ'(s'))` with the target networks;
//! 2. critic: minimise `mean((Q(s, a) − y)²)` with Adam (lr `critic_lr`);
//! 3. actor: minimise `−mean(Q(s, μ(s)))` with Adam (lr `actor_lr`);
//! 4. targets: `θ' ← (1 − τ) θ' + τ θ` for actor and critic (dfdx `ema`).
//!
//! Exploration adds [`NoiseConfig`] noise (scaled by the half-width of the action box)
//! and clamps to the bounds. Warm-up (uniform random actions before learning starts) and
//! the update schedule belong to the training loop ([`crate::rl::train::TrainConfig`]).
//!
//! The agent is generic over compile-time sizes `OBS`, `ACT`, `HIDDEN` (see
//! [`crate::rl::nets`]); `HIDDEN` is therefore not part of [`DdpgConfig`] but is recorded
//! in checkpoints and checked when loading.

use std::path::Path;

use dfdx::optim::{Adam, AdamConfig, WeightDecay};
use dfdx::prelude::*;
use rand::Rng as _;
use serde::{Deserialize, Serialize};

use crate::rl::checkpoint::{self, CheckpointError, Meta};
use crate::rl::nets::{flat_params, polyak_update, ActionScaler, Actor, Critic, Dev, Squash};
use crate::rl::noise::{NoiseConfig, NoiseProcess};
use crate::rl::normalize::RunningNorm;
use crate::rl::optim::clipped_step;
use crate::rl::replay::{Batch, ReplayBuffer};
use crate::rl::train::{Agent, Continuous, Transition, UpdateStats};
use crate::rl::{RlError, Rng};

/// DDPG hyperparameters. Every field has a default (`DdpgConfig::default()`); validate
/// with [`DdpgConfig::check`] (done by [`Ddpg::new`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DdpgConfig {
    /// Actor Adam learning rate. Default 1e-4.
    pub actor_lr: f64,
    /// Critic Adam learning rate. Default 1e-3.
    pub critic_lr: f64,
    /// Polyak coefficient τ for the target networks (`ema` decay 1 − τ). Default 0.005.
    pub tau: f64,
    /// Discount factor γ. Default 0.99.
    pub gamma: f32,
    /// Replay batch size. Default 64.
    pub batch_size: usize,
    /// Replay buffer capacity (transitions). Default 100 000.
    pub buffer_capacity: usize,
    /// Exploration noise, in units of the action half-width. Default Gaussian σ = 0.1.
    pub noise: NoiseConfig,
    /// Clip each network's gradient to this global L2 norm (`None`: no clipping).
    /// Default `None`.
    pub grad_clip_norm: Option<f32>,
    /// L2 weight decay on the critic (the paper used 1e-2; modern implementations 0).
    /// Default 0.
    pub critic_weight_decay: f32,
    /// Normalise observations with running statistics. Default false.
    pub normalize_obs: bool,
    /// Clip normalised observations to ±`obs_clip`. Default 10.
    pub obs_clip: f32,
    /// Squashing of the actor output onto the action box. Default tanh.
    pub squash: Squash,
    /// Final layers of actor and critic are drawn from `U[−x, x]` (0 keeps dfdx's
    /// default initialisation). Default 3e-3, as in the paper.
    pub final_layer_init: f32,
    /// Seed of the network initialisation. Default 0.
    pub seed: u64,
}

impl Default for DdpgConfig {
    fn default() -> Self {
        Self {
            actor_lr: 1e-4,
            critic_lr: 1e-3,
            tau: 0.005,
            gamma: 0.99,
            batch_size: 64,
            buffer_capacity: 100_000,
            noise: NoiseConfig::default(),
            grad_clip_norm: None,
            critic_weight_decay: 0.0,
            normalize_obs: false,
            obs_clip: 10.0,
            squash: Squash::Tanh,
            final_layer_init: 3e-3,
            seed: 0,
        }
    }
}

/// DDPG errors.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DdpgError {
    /// A hyperparameter is out of range.
    #[error("ddpg config: {field} = {value} is invalid ({rule})")]
    InvalidConfig {
        /// Field name.
        field: &'static str,
        /// Offending value.
        value: String,
        /// What is allowed.
        rule: &'static str,
    },
    /// Action bounds have the wrong length or are not ordered.
    #[error("ddpg: action bounds must have length {act} with finite low < high")]
    InvalidBounds {
        /// Action dimension.
        act: usize,
    },
    /// An observation had the wrong length.
    #[error("ddpg: observation has length {got}, expected {expected}")]
    ObsDim {
        /// Expected length.
        expected: usize,
        /// Received length.
        got: usize,
    },
    /// The tensor backend failed (e.g. out of memory).
    #[error("ddpg: tensor backend error: {0}")]
    Backend(String),
}

fn invalid(field: &'static str, value: impl ToString, rule: &'static str) -> DdpgError {
    DdpgError::InvalidConfig { field, value: value.to_string(), rule }
}

impl DdpgConfig {
    /// Validates every field once.
    pub fn check(&self) -> Result<(), DdpgError> {
        let pos = |x: f64| x.is_finite() && x > 0.0;
        if !pos(self.actor_lr) {
            return Err(invalid("actor_lr", self.actor_lr, "finite and > 0"));
        }
        if !pos(self.critic_lr) {
            return Err(invalid("critic_lr", self.critic_lr, "finite and > 0"));
        }
        if !(self.tau > 0.0 && self.tau <= 1.0) {
            return Err(invalid("tau", self.tau, "in (0, 1]"));
        }
        if !(self.gamma >= 0.0 && self.gamma <= 1.0) {
            return Err(invalid("gamma", self.gamma, "in [0, 1]"));
        }
        if self.batch_size == 0 {
            return Err(invalid("batch_size", self.batch_size, "> 0"));
        }
        if self.buffer_capacity == 0 {
            return Err(invalid("buffer_capacity", self.buffer_capacity, "> 0"));
        }
        if !self.noise.is_valid() {
            return Err(invalid("noise", format!("{:?}", self.noise), "finite, non-negative"));
        }
        if let Some(c) = self.grad_clip_norm {
            if !(c.is_finite() && c > 0.0) {
                return Err(invalid("grad_clip_norm", c, "finite and > 0"));
            }
        }
        if !(self.critic_weight_decay.is_finite() && self.critic_weight_decay >= 0.0) {
            return Err(invalid("critic_weight_decay", self.critic_weight_decay, ">= 0"));
        }
        if !(self.obs_clip.is_finite() && self.obs_clip > 0.0) {
            return Err(invalid("obs_clip", self.obs_clip, "finite and > 0"));
        }
        if !(self.final_layer_init.is_finite() && self.final_layer_init >= 0.0) {
            return Err(invalid("final_layer_init", self.final_layer_init, ">= 0"));
        }
        Ok(())
    }
}

fn backend<E: std::fmt::Debug>(e: E) -> DdpgError {
    DdpgError::Backend(format!("{e:?}"))
}

/// Actor type of a DDPG agent.
pub type ActorNet<const OBS: usize, const ACT: usize, const HIDDEN: usize> =
    Actor<OBS, ACT, HIDDEN, f32, Dev>;
/// Critic type of a DDPG agent.
pub type CriticNet<const OBS: usize, const ACT: usize, const HIDDEN: usize> =
    Critic<OBS, ACT, HIDDEN, f32, Dev>;

/// A DDPG agent with `OBS` observation and `ACT` action dimensions and `HIDDEN` units
/// in each of the two hidden layers of both networks.
pub struct Ddpg<const OBS: usize, const ACT: usize, const HIDDEN: usize> {
    cfg: DdpgConfig,
    dev: Dev,
    actor: ActorNet<OBS, ACT, HIDDEN>,
    actor_target: ActorNet<OBS, ACT, HIDDEN>,
    critic: CriticNet<OBS, ACT, HIDDEN>,
    critic_target: CriticNet<OBS, ACT, HIDDEN>,
    actor_opt: Adam<ActorNet<OBS, ACT, HIDDEN>, f32, Dev>,
    critic_opt: Adam<CriticNet<OBS, ACT, HIDDEN>, f32, Dev>,
    actor_grads: Gradients<f32, Dev>,
    critic_grads: Gradients<f32, Dev>,
    scaler: ActionScaler<ACT>,
    low: Vec<f32>,
    high: Vec<f32>,
    noise: NoiseProcess,
    buffer: ReplayBuffer,
    norm: Option<RunningNorm>,
    batch: Batch,
    updates: u64,
}

/// File names inside a DDPG checkpoint.
pub const DDPG_FILES: [&str; 4] =
    ["actor.safetensors", "critic.safetensors", "actor_target.safetensors", "critic_target.safetensors"];

/// The `state` of a DDPG checkpoint: what acting needs besides the networks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DdpgState {
    /// Action box lower bounds.
    pub action_low: Vec<f32>,
    /// Action box upper bounds.
    pub action_high: Vec<f32>,
    /// Observation normalisation statistics, if enabled.
    pub obs_norm: Option<RunningNorm>,
}

impl<const OBS: usize, const ACT: usize, const HIDDEN: usize> Ddpg<OBS, ACT, HIDDEN> {
    /// A fresh agent for actions in the box `[low, high]`.
    pub fn new(cfg: DdpgConfig, low: Vec<f32>, high: Vec<f32>) -> Result<Self, DdpgError> {
        cfg.check()?;
        let ok_bounds = low.len() == ACT
            && high.len() == ACT
            && low.iter().zip(&high).all(|(l, h)| l.is_finite() && h.is_finite() && l < h);
        if !ok_bounds {
            return Err(DdpgError::InvalidBounds { act: ACT });
        }
        let dev = Dev::seed_from_u64(cfg.seed);
        let actor = ActorNet::<OBS, ACT, HIDDEN>::init(&dev, cfg.final_layer_init);
        let critic = CriticNet::<OBS, ACT, HIDDEN>::init(&dev, cfg.final_layer_init);
        let actor_opt = Adam::new(&actor, AdamConfig { lr: cfg.actor_lr, ..Default::default() });
        let critic_opt = Adam::new(
            &critic,
            AdamConfig {
                lr: cfg.critic_lr,
                weight_decay: (cfg.critic_weight_decay > 0.0)
                    .then_some(WeightDecay::L2(cfg.critic_weight_decay as f64)),
                ..Default::default()
            },
        );
        let buffer = ReplayBuffer::new(cfg.buffer_capacity, OBS, ACT)
            .map_err(|e| invalid("buffer_capacity/OBS/ACT", e.to_string(), "positive sizes"))?;
        Ok(Self {
            actor_grads: actor.try_alloc_grads().map_err(backend)?,
            critic_grads: critic.try_alloc_grads().map_err(backend)?,
            actor_target: actor.clone(),
            critic_target: critic.clone(),
            scaler: ActionScaler::new(&dev, cfg.squash, &low, &high),
            noise: NoiseProcess::new(&cfg.noise, ACT),
            norm: cfg.normalize_obs.then(|| RunningNorm::new(OBS, cfg.obs_clip)),
            actor,
            critic,
            actor_opt,
            critic_opt,
            buffer,
            batch: Batch::default(),
            updates: 0,
            dev,
            low,
            high,
            cfg,
        })
    }

    /// Hyperparameters.
    pub fn config(&self) -> &DdpgConfig {
        &self.cfg
    }

    /// The online actor.
    pub fn actor(&self) -> &ActorNet<OBS, ACT, HIDDEN> {
        &self.actor
    }

    /// The online critic.
    pub fn critic(&self) -> &CriticNet<OBS, ACT, HIDDEN> {
        &self.critic
    }

    /// The replay buffer.
    pub fn buffer(&self) -> &ReplayBuffer {
        &self.buffer
    }

    /// Observation statistics, when normalisation is on.
    pub fn obs_norm(&self) -> Option<&RunningNorm> {
        self.norm.as_ref()
    }

    /// Gradient updates performed.
    pub fn updates(&self) -> u64 {
        self.updates
    }

    /// All parameters of the four networks (actor, critic, targets) as one vector.
    pub fn flat_parameters(&self) -> Vec<f32> {
        let mut v = flat_params(&self.actor);
        v.extend(flat_params(&self.critic));
        v.extend(flat_params(&self.actor_target));
        v.extend(flat_params(&self.critic_target));
        v
    }

    fn normalized(&self, obs: &[f32]) -> Vec<f32> {
        match &self.norm {
            Some(n) => n.normalize(obs),
            None => obs.to_vec(),
        }
    }

    /// Deterministic actions `μ(s)` for a flat batch of observations (`n * OBS` values).
    pub fn policy(&self, obs: &[f32]) -> Result<Vec<f32>, DdpgError> {
        if obs.is_empty() || !obs.len().is_multiple_of(OBS) {
            return Err(DdpgError::ObsDim { expected: OBS, got: obs.len() });
        }
        let n = obs.len() / OBS;
        let x = self.dev.tensor_from_vec(self.normalized(obs), (n, Const::<OBS>));
        Ok(self.scaler.apply(self.actor.forward(x)).as_vec())
    }

    /// Critic loss `mean((Q(s,a) − y)²)` on `batch` with the current networks, without
    /// updating anything (diagnostics and tests).
    pub fn critic_loss(&self, batch: &Batch) -> Result<f32, DdpgError> {
        let (obs, act, y) = self.tensors_and_targets(batch)?;
        Ok(mse_loss(self.critic.forward(obs, act), y).array())
    }

    #[allow(clippy::type_complexity)]
    fn tensors_and_targets(
        &self,
        batch: &Batch,
    ) -> Result<
        (
            Tensor<(usize, Const<OBS>), f32, Dev>,
            Tensor<(usize, Const<ACT>), f32, Dev>,
            Tensor<(usize, Const<1>), f32, Dev>,
        ),
        DdpgError,
    > {
        let b = batch.size;
        if batch.obs.len() != b * OBS || batch.next_obs.len() != b * OBS {
            return Err(DdpgError::ObsDim { expected: b * OBS, got: batch.obs.len() });
        }
        let obs = self.dev.tensor_from_vec(self.normalized(&batch.obs), (b, Const::<OBS>));
        let next_obs = self.dev.tensor_from_vec(self.normalized(&batch.next_obs), (b, Const::<OBS>));
        let act = self.dev.tensor_from_vec(batch.act.clone(), (b, Const::<ACT>));
        // y = r + γ (1 − d) Q'(s', μ'(s'))   (no gradient)
        let next_act = self.scaler.apply(self.actor_target.forward(next_obs.clone()));
        let q_next = self.critic_target.forward(next_obs, next_act).as_vec();
        let y: Vec<f32> = (0..b)
            .map(|i| batch.reward[i] + self.cfg.gamma * (1.0 - batch.terminated[i]) * q_next[i])
            .collect();
        let y = self.dev.tensor_from_vec(y, (b, Const::<1>));
        Ok((obs, act, y))
    }

    /// One DDPG update (critic, actor, targets) on `batch`.
    pub fn update_on_batch(&mut self, batch: &Batch) -> Result<UpdateStats, DdpgError> {
        let (obs, act, y) = self.tensors_and_targets(batch)?;

        // critic: minimise the TD error
        let grads = std::mem::replace(&mut self.critic_grads, Gradients::leaky());
        let q = self.critic.forward(obs.clone(), act.traced(grads));
        let critic_loss = mse_loss(q, y);
        let critic_loss_value = critic_loss.array();
        let mut grads = critic_loss.backward();
        let critic_norm =
            clipped_step(&mut self.critic, &mut self.critic_opt, &mut grads, self.cfg.grad_clip_norm)
                .map_err(DdpgError::Backend)?;
        self.critic_grads = grads;

        // actor: maximise Q(s, μ(s))
        let grads = std::mem::replace(&mut self.actor_grads, Gradients::leaky());
        let a = self.scaler.apply(self.actor.forward(obs.clone().traced(grads)));
        let actor_loss = self.critic.forward(obs, a).mean().negate();
        let actor_loss_value = actor_loss.array();
        let mut grads = actor_loss.backward();
        let actor_norm =
            clipped_step(&mut self.actor, &mut self.actor_opt, &mut grads, self.cfg.grad_clip_norm)
                .map_err(DdpgError::Backend)?;
        self.actor_grads = grads;

        // targets: Polyak averaging
        polyak_update(&mut self.actor_target, &self.actor, self.cfg.tau).map_err(backend)?;
        polyak_update(&mut self.critic_target, &self.critic, self.cfg.tau).map_err(backend)?;
        self.updates += 1;

        let mut metrics = vec![
            ("critic_loss".to_string(), critic_loss_value),
            ("actor_loss".to_string(), actor_loss_value),
        ];
        if self.cfg.grad_clip_norm.is_some() {
            metrics.push(("critic_grad_norm".to_string(), critic_norm));
            metrics.push(("actor_grad_norm".to_string(), actor_norm));
        }
        Ok(UpdateStats { metrics })
    }

    /// Saves the agent (four networks and `meta.json`) atomically into `dir`. The replay
    /// buffer and the optimiser state are **not** saved.
    pub fn save_checkpoint(&self, dir: &Path, step: u64) -> Result<(), CheckpointError> {
        let mut meta =
            Meta::new("ddpg", &[("obs_dim", OBS), ("act_dim", ACT), ("hidden", HIDDEN)], step, self.updates);
        meta.config = serde_json::to_value(&self.cfg).unwrap_or_default();
        let state = DdpgState {
            action_low: self.low.clone(),
            action_high: self.high.clone(),
            obs_norm: self.norm.clone(),
        };
        meta.state = serde_json::to_value(state).unwrap_or_default();
        checkpoint::save(dir, meta, |tmp| {
            Ok(vec![
                checkpoint::save_model(&self.actor, tmp, DDPG_FILES[0])?,
                checkpoint::save_model(&self.critic, tmp, DDPG_FILES[1])?,
                checkpoint::save_model(&self.actor_target, tmp, DDPG_FILES[2])?,
                checkpoint::save_model(&self.critic_target, tmp, DDPG_FILES[3])?,
            ])
        })
    }

    /// Loads an agent saved by [`Ddpg::save_checkpoint`], returning it with the saved
    /// step. Resuming training from it restarts with **fresh Adam moments and an empty
    /// replay buffer** (neither is checkpointed); pass the step as
    /// `TrainConfig::start_step`.
    pub fn load_checkpoint(dir: &Path) -> Result<(Self, u64), CheckpointError> {
        let meta = checkpoint::load_meta(dir)?;
        let meta_path = dir.join(checkpoint::META_FILE);
        meta.check(dir, &["ddpg"], &[("obs_dim", OBS), ("act_dim", ACT), ("hidden", HIDDEN)])?;
        let config: DdpgConfig = meta.part(dir, "config", &meta.config)?;
        let state: DdpgState = meta.part(dir, "state", &meta.state)?;
        let mut agent = Self::new(config, state.action_low.clone(), state.action_high.clone())
            .map_err(|e| CheckpointError::Meta { path: meta_path.clone(), reason: e.to_string() })?;
        let entry = |name: &str| meta.file(dir, name);
        checkpoint::load_model(&mut agent.actor, dir, entry(DDPG_FILES[0])?)?;
        checkpoint::load_model(&mut agent.critic, dir, entry(DDPG_FILES[1])?)?;
        checkpoint::load_model(&mut agent.actor_target, dir, entry(DDPG_FILES[2])?)?;
        checkpoint::load_model(&mut agent.critic_target, dir, entry(DDPG_FILES[3])?)?;
        if let Some(what) = state.obs_norm.as_ref().and_then(|n| n.first_non_finite()) {
            return Err(CheckpointError::NonFinite {
                path: meta_path,
                what: format!("state.obs_norm.{what}"),
            });
        }
        match (&state.obs_norm, agent.cfg.normalize_obs) {
            (Some(n), true) if n.dim() == OBS => agent.norm = Some(n.clone()),
            (None, false) => {}
            _ => {
                return Err(CheckpointError::Meta {
                    path: meta_path,
                    reason: "obs_norm does not match normalize_obs / obs_dim".into(),
                })
            }
        }
        agent.updates = meta.updates;
        Ok((agent, meta.step))
    }
}

impl<const OBS: usize, const ACT: usize, const HIDDEN: usize> Agent for Ddpg<OBS, ACT, HIDDEN> {
    type Action = Continuous;

    fn act(&mut self, obs: &[f32], explore: bool, rng: &mut Rng) -> Result<Vec<f32>, RlError> {
        if obs.len() != OBS {
            return Err(DdpgError::ObsDim { expected: OBS, got: obs.len() }.into());
        }
        let mut a = self.policy(obs)?;
        if explore {
            let noise = self.noise.sample(rng);
            for (i, x) in a.iter_mut().enumerate() {
                let half = 0.5 * (self.high[i] - self.low[i]);
                *x = (*x + half * noise[i]).clamp(self.low[i], self.high[i]);
            }
        }
        Ok(a)
    }

    fn random_action(&mut self, _obs: &[f32], rng: &mut Rng) -> Vec<f32> {
        self.low.iter().zip(&self.high).map(|(&l, &h)| rng.gen_range(l..h)).collect()
    }

    fn observe(&mut self, t: &Transition<'_, Continuous>) -> Result<(), RlError> {
        if let Some(n) = self.norm.as_mut() {
            n.update(t.obs);
        }
        self.buffer.push(t.obs, t.action, t.reward, t.next_obs, t.terminated)?;
        Ok(())
    }

    fn update(&mut self, rng: &mut Rng) -> Result<Option<UpdateStats>, RlError> {
        if self.buffer.len() < self.cfg.batch_size {
            return Ok(None);
        }
        let mut batch = std::mem::take(&mut self.batch);
        self.buffer.sample_into(self.cfg.batch_size, rng, &mut batch)?;
        let stats = self.update_on_batch(&batch);
        self.batch = batch;
        Ok(Some(stats?))
    }

    fn on_episode_start(&mut self) {
        self.noise.reset();
    }
}

#[cfg(test)]
mod tests;
