//! Training the DDPG benchmark on the one-shot view ([`super::env`]).
//!
//! [`train_ddpg`] runs the shared harness ([`crate::rl::harness`]) with a [`Ddpg`]
//! agent on a [`OneShotEnv`], scores the deterministic policy on a fixed validation set
//! (mean objective `A` over `val_instances` instances with the first seeds of
//! [`seeds::VALIDATION`]) every `eval_every` steps, and writes into `out`:
//!
//! ```text
//! out/policy/meta.json           the best policy by validation objective:
//! out/policy/actor.safetensors   actor + observation statistics (atomic directory)
//! out/curve.csv, out/train.json  the harness's files (one format for every learner)
//! ```
//!
//! Only the actor is kept (a policy, not a resumable training state): the solver needs
//! nothing else, and the four networks of a full DDPG checkpoint would not fit the
//! size budget of committed models. Everything is seeded by `seed`; on one thread the
//! same configuration gives the same curve, bit for bit.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use serde::{Deserialize, Serialize};

use super::env::{
    check_scenario, score, validation_set, OneShotConfig, OneShotEnv, OneShotError, Slot, ACT_DIM, K_MAX,
    M_MAX, N_MAX, OBS_DIM,
};
use super::policy::{PolicyState, ACTOR_FILE, POLICY_ALGORITHM, POLICY_DIR, SUPPORTED_HIDDEN};
use crate::rl::checkpoint::{self, CheckpointError, Meta};
use crate::rl::ddpg::{Ddpg, DdpgConfig};
use crate::rl::harness::{self, RunInfo, TrainOutcome};
use crate::rl::nets::Squash;
use crate::rl::noise::NoiseConfig;
use crate::rl::train::{Callback, ContinuousEnv, Hooks, TrainConfig};
use crate::rl::{seeded_rng, RlError};
use crate::scenario::{seeds, ParamError, Scenario, ScenarioParams};

/// Everything a DDPG training run needs. Every field has a default; validated once by
/// [`DdpgTrainConfig::check`] (done by [`train_ddpg`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DdpgTrainConfig {
    /// Scenario the training and validation instances are drawn from. Default: the
    /// default scenario (MODEL.md §7).
    pub scenario: ScenarioParams,
    /// Seed of the whole run (network initialisation, noise, replay, instance stream).
    /// Default 0.
    pub seed: u64,
    /// Environment steps (slots). Default 36 000 (about 10 minutes on one core).
    pub steps: u64,
    /// Uniformly random actions before learning starts. Default 1 000.
    pub warmup_steps: u64,
    /// Validate every this many steps. Default 2 000.
    pub eval_every: u64,
    /// Validation instances (seeds `2_000_000..`). Default 20.
    pub val_instances: usize,
    /// Width of both hidden layers, one of [`SUPPORTED_HIDDEN`]. Default 400.
    pub hidden: usize,
    /// Episode length and repair penalty.
    pub env: OneShotConfig,
    /// DDPG hyperparameters; `seed` is replaced by the run's seed and `squash` is always
    /// sigmoid (actions live in `[0, 1]`).
    pub ddpg: DdpgConfig,
}

/// The benchmark's DDPG hyperparameters (see `docs/ddpg.md` for how they were chosen):
/// the paper-family defaults (critic lr 1e-3, τ 0.005, buffer 1e5) with the tuned
/// batch 128 (and hidden width 400, see [`DdpgTrainConfig`]), actor lr 3e-4, Gaussian σ 0.2 (half-widths, i.e. 0.1 in action units),
/// observation normalisation, and γ = 0: slots are drawn independently, so an action
/// never changes the next state and the one-shot view is a contextual bandit; with
/// γ > 0 the critic only adds a bootstrapped constant that slowed learning.
pub fn default_ddpg_config() -> DdpgConfig {
    DdpgConfig {
        actor_lr: 3e-4,
        critic_lr: 1e-3,
        tau: 0.005,
        gamma: 0.0,
        batch_size: 128,
        buffer_capacity: 100_000,
        noise: NoiseConfig::Gaussian { sigma: 0.2 },
        grad_clip_norm: None,
        critic_weight_decay: 0.0,
        normalize_obs: true,
        obs_clip: 10.0,
        squash: Squash::Sigmoid,
        final_layer_init: 3e-3,
        seed: 0,
    }
}

impl Default for DdpgTrainConfig {
    fn default() -> Self {
        Self {
            scenario: ScenarioParams::default(),
            seed: 0,
            steps: 36_000,
            warmup_steps: 1_000,
            eval_every: 2_000,
            val_instances: 20,
            hidden: 400,
            env: OneShotConfig::default(),
            ddpg: default_ddpg_config(),
        }
    }
}

/// Why training could not run or finish.
#[derive(Debug, thiserror::Error)]
pub enum DdpgTrainError {
    /// A setting is out of range.
    #[error("ddpg training config: {0}")]
    Config(String),
    /// The scenario parameters are invalid.
    #[error("ddpg training scenario")]
    Scenario(#[from] ParamError),
    /// The scenario's instances do not fit the networks, or decoding failed.
    #[error(transparent)]
    OneShot(#[from] OneShotError),
    /// The RL core failed.
    #[error(transparent)]
    Rl(#[from] RlError),
    /// Writing the policy failed.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
}

impl DdpgTrainConfig {
    /// Validates every setting once and returns the checked scenario.
    pub fn check(&self) -> Result<Scenario, DdpgTrainError> {
        let bad = |s: String| Err(DdpgTrainError::Config(s));
        if !SUPPORTED_HIDDEN.contains(&self.hidden) {
            return bad(format!("hidden = {} is not one of {SUPPORTED_HIDDEN:?}", self.hidden));
        }
        if self.steps == 0 {
            return bad("steps must be at least 1".into());
        }
        if self.val_instances == 0 {
            return bad("val_instances must be at least 1".into());
        }
        if self.env.episode_len == 0 {
            return bad("env.episode_len must be at least 1".into());
        }
        if !(self.env.repair_penalty.is_finite() && self.env.repair_penalty >= 0.0) {
            return bad(format!("env.repair_penalty = {} must be finite and >= 0", self.env.repair_penalty));
        }
        self.agent_config().check().map_err(|e| DdpgTrainError::Config(e.to_string()))?;
        let sc = self.scenario.check()?;
        check_scenario(&sc)?;
        Ok(sc)
    }

    /// The DDPG settings actually used (run seed, sigmoid squash).
    pub fn agent_config(&self) -> DdpgConfig {
        DdpgConfig { seed: self.seed, squash: Squash::Sigmoid, ..self.ddpg.clone() }
    }
}

/// What a finished training run reports besides the harness's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct DdpgTrainOutcome {
    /// The loop's report (curve, steps, updates, best, stop reason) and wall time.
    pub outcome: TrainOutcome,
    /// Mean tasks repaired per validation instance at the best evaluation.
    pub best_val_repaired: Option<f64>,
    /// Mean objective of `greedy` on the same validation set (a reference).
    pub val_greedy: f64,
    /// Folder of the best policy.
    pub policy_dir: PathBuf,
}

/// Saves the actor and observation statistics of `agent` as a policy folder `dir`
/// (atomically).
pub fn save_policy<const H: usize>(
    agent: &Ddpg<OBS_DIM, ACT_DIM, H>,
    dir: &Path,
    train_seed: u64,
    step: u64,
    val_objective: f64,
    env: &OneShotConfig,
) -> Result<(), CheckpointError> {
    let sizes =
        [("obs_dim", OBS_DIM), ("act_dim", ACT_DIM), ("n_max", N_MAX), ("m_max", M_MAX), ("k_max", K_MAX)];
    save_actor(agent, dir, POLICY_ALGORITHM, &sizes, train_seed, step, val_objective, env)
}

/// Saves the actor and observation statistics of a DDPG agent as a policy folder `dir`
/// (atomically): `meta.json` under `algorithm` with `sizes` and the hidden width, the
/// agent's config, `env` and the [`PolicyState`]; shared by `ddpg` and `ddpg-online`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn save_actor<const O: usize, const H: usize>(
    agent: &Ddpg<O, ACT_DIM, H>,
    dir: &Path,
    algorithm: &str,
    sizes: &[(&str, usize)],
    train_seed: u64,
    step: u64,
    val_objective: f64,
    env: &impl Serialize,
) -> Result<(), CheckpointError> {
    let mut sizes = sizes.to_vec();
    sizes.push(("hidden", H));
    let mut meta = Meta::new(algorithm, &sizes, step, agent.updates());
    let state = PolicyState {
        squash: agent.config().squash,
        obs_norm: agent.obs_norm().cloned(),
        train_seed,
        val_objective,
    };
    meta.config = serde_json::to_value(agent.config()).unwrap_or_default();
    meta.env = serde_json::to_value(env).unwrap_or_default();
    meta.state = serde_json::to_value(state).unwrap_or_default();
    checkpoint::save(dir, meta, |tmp| Ok(vec![checkpoint::save_model(agent.actor(), tmp, ACTOR_FILE)?]))
}

/// Mean objective and mean repaired count of deterministic `actions` (one row of
/// `ACT_DIM` per slot) on `slots`.
pub fn score_actions(
    slots: &[Slot],
    actions: &[f32],
    env: &OneShotConfig,
) -> Result<(f64, f64), OneShotError> {
    if actions.len() != slots.len() * ACT_DIM {
        return Err(OneShotError::ActionDim { got: actions.len() / slots.len().max(1) });
    }
    let (mut obj, mut rep) = (0.0, 0.0);
    for (slot, a) in slots.iter().zip(actions.chunks(ACT_DIM)) {
        let o = score(&slot.inst, a, env)?;
        obj += o.objective;
        rep += o.repaired as f64;
    }
    let n = slots.len().max(1) as f64;
    Ok((obj / n, rep / n))
}

fn greedy_mean(slots: &[Slot]) -> f64 {
    use crate::solver::{SolveOptions, Solver};
    let mut sum = 0.0;
    for s in slots {
        if let Ok(r) = crate::solvers::Greedy.solve(&s.inst, &SolveOptions::default()) {
            sum += crate::model::evaluate(&s.inst, &r.solution).map_or(0.0, |e| e.objective);
        }
    }
    sum / slots.len().max(1) as f64
}

/// Trains the DDPG benchmark as configured by `cfg` into the folder `out` through the
/// shared harness ([`crate::rl::harness`]: `curve.csv`, `train.json`), saving the best
/// policy in `out/policy`; `callbacks` observe progress (any may stop training).
pub fn train_ddpg<'a>(
    cfg: &DdpgTrainConfig,
    out: &Path,
    callbacks: Vec<Box<dyn Callback + 'a>>,
) -> Result<DdpgTrainOutcome, DdpgTrainError> {
    let scenario = cfg.check()?;
    match cfg.hidden {
        64 => run::<64>(cfg, out, scenario, callbacks),
        128 => run::<128>(cfg, out, scenario, callbacks),
        256 => run::<256>(cfg, out, scenario, callbacks),
        400 => run::<400>(cfg, out, scenario, callbacks),
        h => Err(DdpgTrainError::Config(format!("hidden = {h} is not one of {SUPPORTED_HIDDEN:?}"))),
    }
}

fn run<'a, const H: usize>(
    cfg: &DdpgTrainConfig,
    out: &Path,
    scenario: Scenario,
    callbacks: Vec<Box<dyn Callback + 'a>>,
) -> Result<DdpgTrainOutcome, DdpgTrainError> {
    let val = validation_set(&scenario, cfg.val_instances)?;
    let val_obs: Vec<f32> = val.iter().flat_map(|s| s.obs.iter().copied()).collect();
    let val_greedy = greedy_mean(&val);
    let mut env = OneShotEnv::new(scenario, cfg.env.clone(), cfg.seed)?;
    let (low, high) = env.action_bounds();
    let mut agent = Ddpg::<OBS_DIM, ACT_DIM, H>::new(cfg.agent_config(), low, high).map_err(RlError::from)?;
    let policy_dir = out.join(POLICY_DIR);
    let val_seeds = (seeds::VALIDATION.start, seeds::VALIDATION.start + cfg.val_instances as u64);
    let (outcome, best_val_repaired) = run_ddpg(
        DdpgRun::new(
            out,
            "ddpg",
            cfg.seed,
            cfg,
            (cfg.steps, cfg.warmup_steps, cfg.eval_every),
            serde_json::json!({ "validation_seeds": val_seeds, "val_greedy": val_greedy }),
            callbacks,
        ),
        &mut env,
        &mut agent,
        |agent| {
            let actions = agent.policy(&val_obs).map_err(RlError::from)?;
            score_actions(&val, &actions, &cfg.env)
                .map_err(|e| RlError::Env(crate::rl::EnvError::Other(Box::new(e))))
        },
        |agent, step, score| save_policy(agent, &policy_dir, cfg.seed, step, score, &cfg.env),
    )?;
    Ok(DdpgTrainOutcome { outcome, best_val_repaired, val_greedy, policy_dir })
}

/// The settings of one DDPG run through [`run_ddpg`].
pub(crate) struct DdpgRun<'p, 'a> {
    pub out: &'p Path,
    pub info: RunInfo,
    /// Total steps, warm-up steps, evaluation period.
    pub steps: (u64, u64, u64),
    /// Fields added to `train.json` (with `best_val_repaired`).
    pub extra: serde_json::Value,
    pub callbacks: Vec<Box<dyn Callback + 'a>>,
}

impl<'p, 'a> DdpgRun<'p, 'a> {
    /// The run of `solver` (learner `ddpg`) with seed `seed`, its configuration `config`
    /// recorded in `train.json`.
    pub fn new(
        out: &'p Path,
        solver: &str,
        seed: u64,
        config: &impl Serialize,
        steps: (u64, u64, u64),
        extra: serde_json::Value,
        callbacks: Vec<Box<dyn Callback + 'a>>,
    ) -> Self {
        let info = RunInfo {
            solver: solver.into(),
            learner: "ddpg".into(),
            seed,
            config: serde_json::to_value(config).unwrap_or_default(),
        };
        DdpgRun { out, info, steps, extra, callbacks }
    }
}

/// Trains `agent` on `env` through the shared harness, one gradient step per
/// environment step: `validate` gives the deterministic policy's validation objective
/// and mean repaired tasks, `save` writes each new best policy. Returns the harness's
/// outcome and the repaired count at the best evaluation; shared by `ddpg` and
/// `ddpg-online`.
pub(crate) fn run_ddpg<'a, E, const O: usize, const H: usize>(
    run: DdpgRun<'_, 'a>,
    env: &mut E,
    agent: &mut Ddpg<O, ACT_DIM, H>,
    mut validate: impl FnMut(&mut Ddpg<O, ACT_DIM, H>) -> Result<(f64, f64), RlError> + 'a,
    save: impl Fn(&Ddpg<O, ACT_DIM, H>, u64, f64) -> Result<(), CheckpointError> + 'a,
) -> Result<(TrainOutcome, Option<f64>), RlError>
where
    E: crate::rl::train::Env<Action = crate::rl::train::Continuous> + ?Sized,
{
    let (total_steps, warmup_steps, eval_every) = run.steps;
    let train_cfg = TrainConfig {
        total_steps,
        warmup_steps,
        train_freq: 1,
        gradient_steps: 1,
        eval_every,
        eval_at_end: true,
        start_step: 0,
    };
    let last_repaired = Rc::new(RefCell::new(None::<f64>));
    let best_repaired = Rc::new(RefCell::new(None::<f64>));
    let last_repaired_eval = last_repaired.clone();
    let best_repaired_save = best_repaired.clone();
    let hooks: Hooks<'a, Ddpg<O, ACT_DIM, H>> = Hooks {
        evaluate: Some(Box::new(move |agent: &mut Ddpg<O, ACT_DIM, H>, _step| {
            let (objective, repaired) = validate(agent)?;
            *last_repaired_eval.borrow_mut() = Some(repaired);
            Ok(objective)
        })),
        on_new_best: Some(Box::new(move |agent: &Ddpg<O, ACT_DIM, H>, step, score| {
            *best_repaired_save.borrow_mut() = *last_repaired.borrow();
            save(agent, step, score)?;
            Ok(())
        })),
        callbacks: run.callbacks,
    };
    let mut extra = run.extra;
    let outcome = harness::run(
        run.out,
        &run.info,
        env,
        agent,
        &train_cfg,
        &mut seeded_rng(run.info.seed),
        hooks,
        |_| {
            if let Some(map) = extra.as_object_mut() {
                map.insert("best_val_repaired".into(), serde_json::json!(*best_repaired.borrow()));
            }
            extra
        },
    )?;
    let best = *best_repaired.borrow();
    Ok((outcome, best))
}
