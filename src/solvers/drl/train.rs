//! Training of the proposed scheme (`drl`): a learner over candidate sets (default
//! self-critical REINFORCE, [`crate::rl::set_pg`]; or double DQN,
//! [`crate::rl::set_dqn`]) on the sequential environment ([`super::env`]), through the
//! shared harness ([`crate::rl::harness`]). Writes the best scorer checkpoint (by
//! validation objective), `curve.csv` and `train.json` into the output folder.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::construct::{Action, Step, Variant, FEATURES, MAX_CANDIDATES, PRIOR};
use super::env::{encode, Family, SequentialEnv, OBS_DIM};
use super::policy::{run_policy, HIDDEN};
use crate::model::{evaluate, Instance};
use crate::rl::harness::{self, RunInfo, TrainOutcome};
use crate::rl::scorer::ScorerError;
use crate::rl::set_dqn::{SetDqn, SetDqnConfig};
use crate::rl::set_pg::{SetPg, SetPgConfig};
use crate::rl::train::{Agent, Callback, Discrete, Hooks, TrainConfig};
use crate::rl::{seeded_rng, RlError};
use crate::scenario::{generate, seeds, ScenarioParams};

/// The double-DQN learner of the scheme.
pub type DrlDqnAgent = SetDqn<FEATURES, MAX_CANDIDATES, HIDDEN>;

/// The learner of the scoring network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Learner {
    /// Self-critical REINFORCE ([`crate::rl::set_pg`]) against the reference policy.
    Reinforce,
    /// Double DQN ([`crate::rl::set_dqn`]).
    Dqn,
}

/// Everything a training run needs. Every field has a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DrlTrainConfig {
    /// Seed of the whole run (network, exploration, replay, instance stream).
    pub seed: u64,
    /// Which parts of the scheme are on.
    pub variant: Variant,
    /// Training instance family.
    pub family: Family,
    /// Validation instances (default scenario, the first seeds of [`seeds::VALIDATION`]).
    pub validation_instances: usize,
    /// Which learner trains the network. Default REINFORCE.
    pub learner: Learner,
    pub pg: SetPgConfig,
    pub dqn: SetDqnConfig,
    pub train: TrainConfig,
}

impl Default for DrlTrainConfig {
    fn default() -> Self {
        DrlTrainConfig {
            seed: 0,
            variant: Variant::Full,
            family: Family::default(),
            validation_instances: 20,
            learner: Learner::Reinforce,
            pg: SetPgConfig { prior_column: Some(PRIOR), ..SetPgConfig::default() },
            // The prior already acts like the greedy rules: explore around it.
            dqn: SetDqnConfig {
                prior_column: Some(PRIOR),
                eps_start: 0.3,
                eps_decay_steps: 30_000,
                ..SetDqnConfig::default()
            },
            train: TrainConfig {
                total_steps: 500_000,
                warmup_steps: 0,
                train_freq: 1,
                gradient_steps: 1,
                eval_every: 50_000,
                eval_at_end: true,
                start_step: 0,
            },
        }
    }
}

/// Why training failed.
#[derive(Debug, thiserror::Error)]
pub enum DrlTrainError {
    #[error(transparent)]
    Rl(#[from] RlError),
    #[error("training family")]
    Family(#[from] crate::scenario::ParamError),
}

/// The validation instances.
pub fn validation_set(count: usize) -> Vec<Instance> {
    let sc = ScenarioParams::default().check().expect("default scenario is valid");
    (0..count as u64).map(|i| generate(&sc, seeds::VALIDATION.start + i, &format!("val-{i}"))).collect()
}

/// The policy gradient learner of the proposed scheme.
pub type DrlPgAgent = SetPg<FEATURES, MAX_CANDIDATES, HIDDEN>;

/// What training needs of a learner besides [`Agent`]: its greedy choice and its
/// checkpoint.
pub trait ScoringAgent {
    /// The learning algorithm's name (`set-pg`, `set-dqn`).
    const LEARNER: &'static str;
    fn greedy_index(&self, obs: &[f32]) -> Result<usize, ScorerError>;
    /// Saves the scorer checkpoint of `drl`.
    fn save(&self, dir: &Path, step: u64, env: serde_json::Value) -> Result<(), RlError>;
}

impl ScoringAgent for DrlDqnAgent {
    const LEARNER: &'static str = "set-dqn";
    fn greedy_index(&self, obs: &[f32]) -> Result<usize, ScorerError> {
        SetDqn::greedy_index(self, obs)
    }
    fn save(&self, dir: &Path, step: u64, env: serde_json::Value) -> Result<(), RlError> {
        Ok(self.save_checkpoint(dir, step, env)?)
    }
}

impl ScoringAgent for DrlPgAgent {
    const LEARNER: &'static str = "set-pg";
    fn greedy_index(&self, obs: &[f32]) -> Result<usize, ScorerError> {
        SetPg::greedy_index(self, obs)
    }
    fn save(&self, dir: &Path, step: u64, env: serde_json::Value) -> Result<(), RlError> {
        Ok(self.save_checkpoint(dir, step, env)?)
    }
}

/// Mean objective of the agent's greedy policy on `instances`.
pub fn validate<A: ScoringAgent>(agent: &A, instances: &[Instance], variant: Variant) -> f64 {
    let mut obs = vec![0f32; OBS_DIM];
    let total: f64 = instances
        .iter()
        .map(|inst| {
            let (sol, _) = run_policy(inst, variant, |features, n| {
                let step = Step { actions: vec![Action::Reject; n], features: features.to_vec() };
                encode(&step, &mut obs);
                agent.greedy_index(&obs).unwrap_or(0)
            });
            evaluate(inst, &sol).map(|e| e.objective).unwrap_or(0.0)
        })
        .sum();
    total / instances.len().max(1) as f64
}

/// Trains into `out` (best checkpoint, `curve.csv`, `train.json`); `callbacks` observe
/// progress (e.g. a progress bar) and may stop training.
pub fn train_drl(
    cfg: &DrlTrainConfig,
    out: &Path,
    callbacks: Vec<Box<dyn Callback + '_>>,
) -> Result<TrainOutcome, DrlTrainError> {
    match cfg.learner {
        Learner::Reinforce => {
            let agent =
                DrlPgAgent::new(SetPgConfig { seed: cfg.seed, ..cfg.pg.clone() }).map_err(RlError::from)?;
            run_training(cfg, out, agent, true, callbacks)
        }
        Learner::Dqn => {
            let agent = DrlDqnAgent::new(SetDqnConfig { seed: cfg.seed, ..cfg.dqn.clone() })
                .map_err(RlError::from)?;
            run_training(cfg, out, agent, false, callbacks)
        }
    }
}

fn run_training<A: Agent<Action = Discrete> + ScoringAgent>(
    cfg: &DrlTrainConfig,
    out: &Path,
    mut agent: A,
    reference_baseline: bool,
    callbacks: Vec<Box<dyn Callback + '_>>,
) -> Result<TrainOutcome, DrlTrainError> {
    let mut env = SequentialEnv::new(cfg.family.clone(), cfg.variant, cfg.seed)?
        .with_reference_baseline(reference_baseline);
    let mut rng = seeded_rng(cfg.seed);
    let val = validation_set(cfg.validation_instances);
    let variant = cfg.variant;
    let env_meta = serde_json::json!({ "variant": variant, "family": cfg.family, "config": cfg });
    let hooks: Hooks<'_, A> = Hooks {
        evaluate: Some(Box::new(|agent: &mut A, _step| Ok(validate(&*agent, &val, variant)))),
        on_new_best: Some(Box::new(|agent: &A, step, _score| agent.save(out, step, env_meta.clone()))),
        callbacks,
    };
    let info = RunInfo {
        solver: super::solver_name(variant).into(),
        learner: A::LEARNER.into(),
        seed: cfg.seed,
        config: serde_json::to_value(cfg).unwrap_or_default(),
    };
    let val_seeds = (seeds::VALIDATION.start, seeds::VALIDATION.start + cfg.validation_instances as u64);
    let train_seeds = seeds::training(cfg.seed);
    Ok(harness::run(out, &info, &mut env, &mut agent, &cfg.train, &mut rng, hooks, |_| {
        serde_json::json!({
            "validation_seeds": val_seeds,
            "training_seeds_from": train_seeds.start,
        })
    })?)
}
