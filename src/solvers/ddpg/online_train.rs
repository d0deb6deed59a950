//! Training `ddpg-online` on the episode view ([`super::online`]).
//!
//! [`train_ddpg_online`] runs the shared harness ([`crate::rl::harness`]) with a [`Ddpg`]
//! agent on a [`DdpgOnlineEnv`], scores the deterministic policy every `eval_every`
//! steps on a fixed validation set (mean `A_ep` by the episode evaluator over
//! `val_episodes` episodes of the setting with seeds from [`validation_seed`]), and
//! writes into `out`:
//!
//! ```text
//! out/policy/meta.json           the best policy by validation A_ep:
//! out/policy/actor.safetensors   actor + observation statistics (atomic directory)
//! out/curve.csv, out/train.json  the harness's files (one format for every learner)
//! ```
//!
//! As for the one-shot `ddpg`, only the actor is kept. Everything is seeded by `seed`;
//! on one thread the same configuration gives the same curve, bit for bit.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::env::ACT_DIM;
use super::online::{
    check_setting, run_episodes, DdpgOnlineEnv, OnlineEnvConfig, OnlineViewError, ONLINE_OBS_DIM,
};
use super::online_policy::{online_sizes, ONLINE_POLICY_ALGORITHM};
use super::policy::{POLICY_DIR, SUPPORTED_HIDDEN};
use super::train::{default_ddpg_config, run_ddpg, save_actor, DdpgRun};
use crate::model::Episode;
use crate::rl::checkpoint::CheckpointError;
use crate::rl::ddpg::{Ddpg, DdpgConfig};
use crate::rl::harness::TrainOutcome;
use crate::rl::nets::Squash;
use crate::rl::train::{Callback, ContinuousEnv};
use crate::rl::RlError;
use crate::scenario::{seeds, Dynamics, DynamicsParams, ParamError, Scenario, ScenarioParams};

/// The `online-default` setting (scenario and dynamics parameters, as in the `params`
/// column of `instances/online-*.csv`).
pub const ONLINE_DEFAULT_SETTING: &str = crate::scenario::ONLINE_DEFAULT_PARAMS;

/// Offset of the validation episodes' seeds inside [`seeds::VALIDATION`] (away from the
/// one-shot validation instances at its start).
pub const VALIDATION_EPISODE_OFFSET: u64 = 100_000;

/// Seed of the `i`-th validation episode: `2_100_000 + i`.
pub fn validation_seed(i: usize) -> u64 {
    seeds::VALIDATION.start + VALIDATION_EPISODE_OFFSET + i as u64
}

/// Parses a setting `name=value ...` (scenario parameters, then dynamics parameters,
/// `-` or `_` in names) into a checked scenario and dynamics.
pub fn parse_setting(text: &str) -> Result<(Scenario, Dynamics), ParamError> {
    let mut sp = ScenarioParams::default();
    let mut dp = DynamicsParams::default();
    for kv in text.split_whitespace() {
        let (k, v) = kv.split_once('=').ok_or_else(|| ParamError::Invalid {
            name: kv.to_string(),
            reason: format!("expected name=value, got `{kv}`"),
        })?;
        let k = k.trim().replace('-', "_");
        match sp.set(&k, v) {
            Err(ParamError::Unknown(_)) => dp.set(&k, v)?,
            other => other?,
        }
    }
    Ok((sp.check()?, dp.check()?))
}

/// The validation episodes of a setting: seeds [`validation_seed`]`(0..count)`.
pub fn validation_episodes(sc: &Scenario, dy: &Dynamics, count: usize) -> Vec<Episode> {
    (0..count)
        .map(|i| {
            let seed = validation_seed(i);
            crate::solvers::online::generate_episode(sc, dy, seed, &format!("val-{seed}"))
        })
        .collect()
}

/// Everything a `ddpg-online` training run needs. Every field has a default; validated
/// once by [`DdpgOnlineTrainConfig::check`] (done by [`train_ddpg_online`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DdpgOnlineTrainConfig {
    /// Scenario and dynamics of the training and validation episodes. Default
    /// [`ONLINE_DEFAULT_SETTING`].
    pub setting: String,
    /// Seed of the whole run (network initialisation, noise, replay, episode stream).
    /// Default 0.
    pub seed: u64,
    /// Environment steps (slots). Default 96 000 (3 200 episodes of 30 slots): 6 000 was
    /// the tuning budget, and longer runs kept improving (docs/ddpg-online.md).
    pub steps: u64,
    /// Uniformly random actions before learning starts. Default 1 500.
    pub warmup_steps: u64,
    /// Validate every this many steps. Default 4 000.
    pub eval_every: u64,
    /// Validation episodes (seeds `2_100_000..`). Default 10.
    pub val_episodes: usize,
    /// Width of both hidden layers, one of [`SUPPORTED_HIDDEN`]. Default 256.
    pub hidden: usize,
    /// Time feature horizon, repair penalty, reward scale
    /// ([`default_online_env_config`]).
    pub env: OnlineEnvConfig,
    /// DDPG hyperparameters; `seed` is replaced by the run's seed and `squash` is always
    /// sigmoid (actions live in `[0, 1]`).
    pub ddpg: DdpgConfig,
}

/// The DDPG hyperparameters of `ddpg-online` (docs/ddpg-online.md): the one-shot
/// benchmark's tuned values ([`default_ddpg_config`]: actor lr 3e-4, critic lr 1e-3,
/// Gaussian σ 0.2, observation normalisation) with batch 64 and a discount `γ = 0.5`:
/// the placement scores change the next state, so `γ > 0`; of 0.5, 0.9 and 0.95, 0.5
/// scored best on validation within the budget (critic errors grow with the horizon).
pub fn default_online_ddpg_config() -> DdpgConfig {
    DdpgConfig { gamma: 0.5, batch_size: 64, ..default_ddpg_config() }
}

/// The view settings of the committed run: reward scale 25 (a slot's reward is then
/// about its `A(t)`) and no repair penalty (with 0.1 the policy first learned to reject).
pub fn default_online_env_config() -> OnlineEnvConfig {
    OnlineEnvConfig { horizon: 30, repair_penalty: 0.0, reward_scale: 25.0 }
}

impl Default for DdpgOnlineTrainConfig {
    fn default() -> Self {
        Self {
            setting: ONLINE_DEFAULT_SETTING.to_string(),
            seed: 0,
            steps: 96_000,
            warmup_steps: 1_500,
            eval_every: 4_000,
            val_episodes: 10,
            hidden: 256,
            env: default_online_env_config(),
            ddpg: default_online_ddpg_config(),
        }
    }
}

/// Why training could not run or finish.
#[derive(Debug, thiserror::Error)]
pub enum DdpgOnlineTrainError {
    /// A setting is out of range.
    #[error("ddpg-online training config: {0}")]
    Config(String),
    /// The scenario or dynamics parameters are invalid.
    #[error("ddpg-online training setting")]
    Setting(#[from] ParamError),
    /// The setting's episodes do not fit the networks, or decoding failed.
    #[error(transparent)]
    View(#[from] OnlineViewError),
    /// The RL core failed.
    #[error(transparent)]
    Rl(#[from] RlError),
    /// Writing the policy failed.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
}

impl DdpgOnlineTrainConfig {
    /// Validates every setting once and returns the checked scenario and dynamics.
    pub fn check(&self) -> Result<(Scenario, Dynamics), DdpgOnlineTrainError> {
        let bad = |s: String| Err(DdpgOnlineTrainError::Config(s));
        if !SUPPORTED_HIDDEN.contains(&self.hidden) {
            return bad(format!("hidden = {} is not one of {SUPPORTED_HIDDEN:?}", self.hidden));
        }
        if self.steps == 0 {
            return bad("steps must be at least 1".into());
        }
        if self.val_episodes == 0 {
            return bad("val_episodes must be at least 1".into());
        }
        if self.env.horizon == 0 {
            return bad("env.horizon must be at least 1".into());
        }
        for (name, v) in
            [("env.repair_penalty", self.env.repair_penalty), ("env.reward_scale", self.env.reward_scale)]
        {
            if !(v.is_finite() && v >= 0.0) {
                return bad(format!("{name} = {v} must be finite and >= 0"));
            }
        }
        if self.env.reward_scale <= 0.0 {
            return bad("env.reward_scale must be > 0".into());
        }
        self.agent_config().check().map_err(|e| DdpgOnlineTrainError::Config(e.to_string()))?;
        let (sc, dy) = parse_setting(&self.setting)?;
        check_setting(&sc, &dy)?;
        Ok((sc, dy))
    }

    /// The DDPG settings actually used (run seed, sigmoid squash).
    pub fn agent_config(&self) -> DdpgConfig {
        DdpgConfig { seed: self.seed, squash: Squash::Sigmoid, ..self.ddpg.clone() }
    }
}

/// What a finished training run reports besides the harness's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct DdpgOnlineTrainOutcome {
    /// The loop's report (curve, steps, updates, best, stop reason) and wall time.
    pub outcome: TrainOutcome,
    /// Mean tasks repaired per validation episode at the best evaluation.
    pub best_val_repaired: Option<f64>,
    /// Folder of the best policy.
    pub policy_dir: PathBuf,
}

/// Saves the actor and observation statistics of `agent` as a policy folder `dir`
/// (atomically).
pub fn save_online_policy<const H: usize>(
    agent: &Ddpg<ONLINE_OBS_DIM, ACT_DIM, H>,
    dir: &Path,
    train_seed: u64,
    step: u64,
    val_objective: f64,
    env: &OnlineEnvConfig,
) -> Result<(), CheckpointError> {
    save_actor(agent, dir, ONLINE_POLICY_ALGORITHM, &online_sizes(), train_seed, step, val_objective, env)
}

/// Trains `ddpg-online` as configured by `cfg` into the folder `out` through the shared
/// harness (`curve.csv`, `train.json`), saving the best policy in `out/policy`;
/// `callbacks` observe progress (any may stop training).
pub fn train_ddpg_online<'a>(
    cfg: &DdpgOnlineTrainConfig,
    out: &Path,
    callbacks: Vec<Box<dyn Callback + 'a>>,
) -> Result<DdpgOnlineTrainOutcome, DdpgOnlineTrainError> {
    let (sc, dy) = cfg.check()?;
    match cfg.hidden {
        64 => run::<64>(cfg, out, sc, dy, callbacks),
        128 => run::<128>(cfg, out, sc, dy, callbacks),
        256 => run::<256>(cfg, out, sc, dy, callbacks),
        400 => run::<400>(cfg, out, sc, dy, callbacks),
        h => Err(DdpgOnlineTrainError::Config(format!("hidden = {h} is not one of {SUPPORTED_HIDDEN:?}"))),
    }
}

fn run<'a, const H: usize>(
    cfg: &DdpgOnlineTrainConfig,
    out: &Path,
    sc: Scenario,
    dy: Dynamics,
    callbacks: Vec<Box<dyn Callback + 'a>>,
) -> Result<DdpgOnlineTrainOutcome, DdpgOnlineTrainError> {
    let val = validation_episodes(&sc, &dy, cfg.val_episodes);
    let mut env = DdpgOnlineEnv::new(sc, dy, cfg.env.clone(), cfg.seed)?;
    let (low, high) = env.action_bounds();
    let mut agent =
        Ddpg::<ONLINE_OBS_DIM, ACT_DIM, H>::new(cfg.agent_config(), low, high).map_err(RlError::from)?;
    let policy_dir = out.join(POLICY_DIR);
    let val_seeds = (validation_seed(0), validation_seed(cfg.val_episodes));
    let (outcome, best_val_repaired) = run_ddpg(
        DdpgRun::new(
            out,
            "ddpg-online",
            cfg.seed,
            cfg,
            (cfg.steps, cfg.warmup_steps, cfg.eval_every),
            serde_json::json!({ "validation_seeds": val_seeds }),
            callbacks,
        ),
        &mut env,
        &mut agent,
        |agent| {
            let scores = run_episodes(&val, &cfg.env, |obs| agent.policy(obs))
                .map_err(|e| RlError::Env(crate::rl::EnvError::Other(Box::new(e))))?;
            let n = scores.len().max(1) as f64;
            let mean = |f: fn(&_) -> f64| scores.iter().map(f).sum::<f64>() / n;
            Ok((mean(|s| s.objective), mean(|s| s.repaired as f64)))
        },
        |agent, step, score| save_online_policy(agent, &policy_dir, cfg.seed, step, score, &cfg.env),
    )?;
    Ok(DdpgOnlineTrainOutcome { outcome, best_val_repaired, policy_dir })
}
