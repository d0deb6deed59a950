//! Training of the proposed scheme (`drl`): the set DQN on the sequential environment,
//! driven by the shared training loop. Writes the best checkpoint (by validation
//! objective) and `curve.csv` into the output folder.

use std::cell::RefCell;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use serde::{Deserialize, Serialize};

use crate::model::{enumerate_options, evaluate, Instance};
use crate::rl::sequential::{encode, Family, SequentialEnv, OBS_DIM};
use crate::rl::set_dqn::{SetDqn, SetDqnConfig, SetDqnError};
use crate::rl::set_pg::{SetPg, SetPgConfig};
use crate::rl::train::{train, Callback, Event, Hooks, Progress, TrainConfig, TrainReport};
use crate::rl::{seeded_rng, RlError};
use crate::scenario::{generate, ScenarioParams};
use crate::solvers::drl::construct::{Construction, Variant, FEATURES, MAX_CANDIDATES, PRIOR};

/// Hidden width of the scoring network (compile-time for dfdx).
pub const HIDDEN: usize = 32;

/// The agent of the proposed scheme.
pub type DrlAgent = SetDqn<FEATURES, MAX_CANDIDATES, HIDDEN>;

/// First validation seed: far from the training seeds and the benchmark seeds.
pub const VALIDATION_SEED_BASE: u64 = 2_000_000;

/// Training run `s` draws its instances from seed `1_000_000 + s * TRAIN_SEED_STRIDE`
/// upward, so runs never share instances and never reach the validation seeds (a run
/// uses well under a million instances).
pub const TRAIN_SEED_STRIDE: u64 = 10_000_000;

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
    /// Validation instances (default scenario, seeds from 2,000,000).
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
    #[error("training family: {0}")]
    Family(#[from] crate::scenario::ParamError),
    #[error("{path}: cannot write: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

/// The greedy policy of a scoring function on one instance: returns the solution and
/// the number of repaired tasks (0 unless the variant has no masking).
pub fn run_policy(
    inst: &Instance,
    variant: Variant,
    mut choose: impl FnMut(&[f32], usize) -> usize,
) -> (crate::model::Solution, usize) {
    let opts = enumerate_options(inst);
    let mut c = Construction::new(inst, &opts, variant);
    while !c.done() {
        let step = c.step();
        let i = choose(&step.features, step.actions.len());
        c.apply(i);
    }
    let repaired = c.repaired();
    (c.into_solution(), repaired)
}

/// The validation instances.
pub fn validation_set(count: usize) -> Vec<Instance> {
    let sc = ScenarioParams::default().check().expect("default scenario is valid");
    (0..count as u64).map(|i| generate(&sc, VALIDATION_SEED_BASE + i, &format!("val-{i}"))).collect()
}

/// The policy gradient learner of the proposed scheme.
pub type DrlPgAgent = SetPg<FEATURES, MAX_CANDIDATES, HIDDEN>;

/// What training needs of a learner besides [`crate::rl::train::Agent`].
pub trait ScoringAgent {
    fn greedy_index(&self, obs: &[f32]) -> Result<usize, SetDqnError>;
    /// The agent in the checkpoint format of `drl` (scoring network + config).
    fn save(&self, dir: &Path, step: u64, env: serde_json::Value) -> Result<(), RlError>;
}

impl ScoringAgent for DrlAgent {
    fn greedy_index(&self, obs: &[f32]) -> Result<usize, SetDqnError> {
        SetDqn::greedy_index(self, obs)
    }
    fn save(&self, dir: &Path, step: u64, env: serde_json::Value) -> Result<(), RlError> {
        Ok(self.save_checkpoint(dir, step, env)?)
    }
}

impl ScoringAgent for DrlPgAgent {
    fn greedy_index(&self, obs: &[f32]) -> Result<usize, SetDqnError> {
        SetPg::greedy_index(self, obs)
    }
    fn save(&self, dir: &Path, step: u64, env: serde_json::Value) -> Result<(), RlError> {
        let cfg = SetDqnConfig {
            prior_column: self.config().prior_column,
            seed: self.config().seed,
            ..Default::default()
        };
        let mut holder = DrlAgent::new(cfg)?;
        holder.set_net(self.net());
        Ok(holder.save_checkpoint(dir, step, env)?)
    }
}

/// Mean objective of the agent's greedy policy on `instances`.
pub fn validate(agent: &dyn ScoringAgent, instances: &[Instance], variant: Variant) -> f64 {
    let mut obs = vec![0f32; OBS_DIM];
    let total: f64 = instances
        .iter()
        .map(|inst| {
            let (sol, _) = run_policy(inst, variant, |features, n| {
                let step = crate::solvers::drl::construct::Step {
                    actions: vec![crate::solvers::drl::construct::Action::Reject; n],
                    features: features.to_vec(),
                };
                encode(&step, &mut obs);
                agent.greedy_index(&obs).unwrap_or(0)
            });
            evaluate(inst, &sol).map(|e| e.objective).unwrap_or(0.0)
        })
        .sum();
    total / instances.len().max(1) as f64
}

/// Records the learning curve and writes `curve.csv` after every evaluation.
struct CurveWriter {
    path: PathBuf,
    rows: Vec<(u64, f64, f64)>,
    returns: Vec<f64>,
    error: Rc<RefCell<Option<DrlTrainError>>>,
}

impl CurveWriter {
    fn write(&self) -> Result<(), DrlTrainError> {
        let mut text = String::from("step,train_return,val_objective\n");
        for (s, r, v) in &self.rows {
            text.push_str(&format!("{s},{r},{v}\n"));
        }
        crate::io::json::write_atomic(&self.path, text.as_bytes()).map_err(|e| DrlTrainError::Write {
            path: self.path.clone(),
            source: std::io::Error::other(e.to_string()),
        })
    }
}

impl Callback for CurveWriter {
    fn on_step(&mut self, info: &Progress) -> ControlFlow<()> {
        match info.event {
            Event::EpisodeEnd { episode_return, .. } => self.returns.push(episode_return),
            Event::Evaluation { score, .. } => {
                let recent = &self.returns[self.returns.len().saturating_sub(200)..];
                let mean = if recent.is_empty() {
                    f64::NAN
                } else {
                    recent.iter().sum::<f64>() / recent.len() as f64
                };
                self.rows.push((info.step, mean, score));
                if let Err(e) = self.write() {
                    *self.error.borrow_mut() = Some(e);
                    return ControlFlow::Break(());
                }
            }
            Event::Step => {}
        }
        ControlFlow::Continue(())
    }
}

/// Trains into `out` (best checkpoint + `curve.csv`); `callbacks` observe progress
/// (e.g. a progress bar) and may stop training.
pub fn train_drl(
    cfg: &DrlTrainConfig,
    out: &Path,
    callbacks: Vec<Box<dyn Callback + '_>>,
) -> Result<TrainReport, DrlTrainError> {
    match cfg.learner {
        Learner::Reinforce => {
            let agent =
                DrlPgAgent::new(SetPgConfig { seed: cfg.seed, ..cfg.pg.clone() }).map_err(RlError::from)?;
            run_training(cfg, out, agent, true, callbacks)
        }
        Learner::Dqn => {
            let agent =
                DrlAgent::new(SetDqnConfig { seed: cfg.seed, ..cfg.dqn.clone() }).map_err(RlError::from)?;
            run_training(cfg, out, agent, false, callbacks)
        }
    }
}

fn run_training<A: crate::rl::train::Agent + ScoringAgent>(
    cfg: &DrlTrainConfig,
    out: &Path,
    mut agent: A,
    reference_baseline: bool,
    callbacks: Vec<Box<dyn Callback + '_>>,
) -> Result<TrainReport, DrlTrainError> {
    let mut env = SequentialEnv::new(cfg.family.clone(), cfg.variant, cfg.seed * TRAIN_SEED_STRIDE)?
        .with_reference_baseline(reference_baseline);
    let mut rng = seeded_rng(cfg.seed);
    let val = validation_set(cfg.validation_instances);
    let variant = cfg.variant;
    let env_meta = serde_json::json!({ "variant": variant, "family": cfg.family, "config": cfg });
    let error = Rc::new(RefCell::new(None));
    let mut hooks: Hooks<'_, A> = Hooks {
        evaluate: Some(Box::new(|agent: &mut A, _step| Ok(validate(&*agent, &val, variant)))),
        on_new_best: Some(Box::new(|agent: &A, step, _score| agent.save(out, step, env_meta.clone()))),
        callbacks: Vec::new(),
    };
    hooks.callbacks.push(Box::new(CurveWriter {
        path: out.join("curve.csv"),
        rows: Vec::new(),
        returns: Vec::new(),
        error: error.clone(),
    }));
    hooks.callbacks.extend(callbacks);
    std::fs::create_dir_all(out).map_err(|e| DrlTrainError::Write { path: out.to_path_buf(), source: e })?;
    let report = train(&mut env, &mut agent, &cfg.train, &mut rng, &mut hooks)?;
    drop(hooks);
    if let Some(e) = error.borrow_mut().take() {
        return Err(e);
    }
    Ok(report)
}
