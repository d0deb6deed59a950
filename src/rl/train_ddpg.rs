//! Training the DDPG benchmark on the one-shot view ([`crate::rl::oneshot`]).
//!
//! [`train_ddpg`] runs the shared loop ([`crate::rl::train::train`]) with a
//! [`Ddpg`] agent on a [`OneShotEnv`], scores the deterministic policy on a fixed
//! validation set (mean objective `A` over `val_instances` instances with seeds from
//! [`VALIDATION_SEED_START`]) every `eval_every` steps, and writes into `out`:
//!
//! ```text
//! out/policy/meta.json           the best policy by validation objective:
//! out/policy/actor.safetensors   actor + observation statistics (atomic directory)
//! out/curve.csv                  step,train_return,val_objective (rewritten at each
//!                                evaluation, atomically)
//! out/train.json                 the configuration and the outcome
//! ```
//!
//! `train_return` is the undiscounted return of a training episode (the sum of its
//! `episode_len` slot rewards, exploration noise included); `val_objective` the mean
//! `A` of the deterministic policy on the validation set.
//!
//! Only the actor is kept (a policy, not a resumable training state): the solver needs
//! nothing else, and the four networks of a full DDPG checkpoint would not fit the
//! size budget of committed models. Everything is seeded by `seed`; on one thread the
//! same configuration gives the same curve, bit for bit.

use std::cell::RefCell;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Instant;

use dfdx::prelude::*;
use serde::{Deserialize, Serialize};

use crate::rl::checkpoint::{self, CheckpointError, FileEntry};
use crate::rl::ddpg::{Ddpg, DdpgConfig};
use crate::rl::nets::{ActionScaler, Actor, Dev, Squash};
use crate::rl::noise::NoiseConfig;
use crate::rl::normalize::RunningNorm;
use crate::rl::oneshot::{
    check_scenario, score, validation_set, OneShotConfig, OneShotEnv, OneShotError, Slot, ACT_DIM, K_MAX,
    M_MAX, N_MAX, OBS_DIM, VALIDATION_SEED_START,
};
use crate::rl::train::{train, Callback, CurvePoint, Env, Event, Hooks, Progress, TrainConfig, TrainReport};
use crate::rl::{seeded_rng, RlError};
use crate::scenario::{ParamError, Scenario, ScenarioParams};

/// Hidden widths the training and the solver are compiled for.
pub const SUPPORTED_HIDDEN: [usize; 4] = [64, 128, 256, 400];
/// `algorithm` field of a policy's `meta.json`.
pub const POLICY_ALGORITHM: &str = "ddpg-oneshot";
/// Sub-folder of the output folder holding the best policy.
pub const POLICY_DIR: &str = "policy";
/// File name of the actor inside a policy folder.
pub const ACTOR_FILE: &str = "actor.safetensors";

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
    /// Output folder (e.g. `models/ddpg/seed0`). Default `models/ddpg/seed0`.
    pub out: PathBuf,
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
            out: PathBuf::from("models/ddpg/seed0"),
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
    #[error("ddpg training scenario: {0}")]
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
    /// Writing the curve or the summary failed.
    #[error("ddpg training: cannot write {path}: {reason}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
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
        if self.out.as_os_str().is_empty() {
            return bad("out must name a folder".into());
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

/// What a finished training run reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DdpgTrainOutcome {
    /// The loop's report (curve, steps, updates, best, stop reason).
    pub report: TrainReport,
    /// Best validation objective and its step (the policy saved in `out/policy`).
    pub best: Option<(u64, f64)>,
    /// Mean tasks repaired per validation instance at the best evaluation.
    pub best_val_repaired: Option<f64>,
    /// Mean objective of `greedy` on the same validation set (a reference).
    pub val_greedy: f64,
    /// Wall-clock seconds of the training loop.
    pub secs: f64,
    /// Environment steps per second (updates included).
    pub env_steps_per_s: f64,
    /// Gradient updates per second.
    pub updates_per_s: f64,
    /// Folder of the best policy.
    pub policy_dir: PathBuf,
}

/// Contents of a policy's `meta.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyMeta {
    /// Checkpoint layout version ([`checkpoint::FORMAT_VERSION`]).
    pub format_version: u32,
    /// Always [`POLICY_ALGORITHM`].
    pub algorithm: String,
    /// State length ([`OBS_DIM`]).
    pub obs_dim: usize,
    /// Action length ([`ACT_DIM`]).
    pub act_dim: usize,
    /// Hidden width.
    pub hidden: usize,
    /// Task slots ([`N_MAX`]).
    pub n_max: usize,
    /// Edge slots ([`M_MAX`]).
    pub m_max: usize,
    /// Model slots ([`K_MAX`]).
    pub k_max: usize,
    /// Squashing of the actor output.
    pub squash: Squash,
    /// Observation statistics (when the agent normalised observations).
    pub obs_norm: Option<RunningNorm>,
    /// Training seed.
    pub train_seed: u64,
    /// Environment steps trained when saved.
    pub step: u64,
    /// Validation objective when saved.
    pub val_objective: f64,
    /// Environment settings used in training.
    pub env: OneShotConfig,
    /// The actor file with its size and hash.
    pub files: Vec<FileEntry>,
}

/// The deterministic actor of one hidden width.
trait ActorNet: Send + Sync {
    /// Squashed actions for a flat batch of (already normalised) states.
    fn forward(&self, obs: Vec<f32>) -> Vec<f32>;
}

struct Net<const H: usize> {
    dev: Dev,
    actor: Actor<OBS_DIM, ACT_DIM, H, f32, Dev>,
    scaler: ActionScaler<ACT_DIM>,
}

impl<const H: usize> ActorNet for Net<H> {
    fn forward(&self, obs: Vec<f32>) -> Vec<f32> {
        let n = obs.len() / OBS_DIM;
        let x = self.dev.tensor_from_vec(obs, (n, Const::<OBS_DIM>));
        self.scaler.apply(self.actor.forward(x)).as_vec()
    }
}

fn load_net<const H: usize>(
    dir: &Path,
    meta: &PolicyMeta,
    entry: &FileEntry,
) -> Result<Box<dyn ActorNet>, CheckpointError> {
    let dev = Dev::seed_from_u64(0);
    let mut actor = Actor::<OBS_DIM, ACT_DIM, H, f32, Dev>::init(&dev, 0.0);
    checkpoint::load_model(&mut actor, dir, entry)?;
    let scaler = ActionScaler::new(&dev, meta.squash, &[0.0; ACT_DIM], &[1.0; ACT_DIM]);
    Ok(Box::new(Net { dev, actor, scaler }))
}

/// A trained one-shot policy: actor and observation statistics, acting
/// deterministically.
pub struct OneShotPolicy {
    net: Box<dyn ActorNet>,
    meta: PolicyMeta,
    dir: PathBuf,
}

impl std::fmt::Debug for OneShotPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OneShotPolicy").field("dir", &self.dir).field("meta", &self.meta).finish()
    }
}

impl OneShotPolicy {
    /// Loads a policy from `dir`: either a policy folder (with `meta.json`) or a
    /// training output folder holding one in `policy/`. Every problem (missing file,
    /// corruption, other sizes) is a [`CheckpointError`] naming the file.
    pub fn load(dir: &Path) -> Result<Self, CheckpointError> {
        let dir = if dir.join(checkpoint::META_FILE).exists() || !dir.join(POLICY_DIR).is_dir() {
            dir.to_path_buf()
        } else {
            dir.join(POLICY_DIR)
        };
        let meta: PolicyMeta = checkpoint::read_meta(&dir)?;
        let meta_path = dir.join(checkpoint::META_FILE);
        let incompatible = |what, found: String, expected: String| CheckpointError::Incompatible {
            path: meta_path.clone(),
            what,
            found,
            expected,
        };
        checkpoint::check_compatible(
            &dir,
            (&meta.algorithm, POLICY_ALGORITHM),
            &[
                ("obs_dim", meta.obs_dim, OBS_DIM),
                ("act_dim", meta.act_dim, ACT_DIM),
                ("n_max", meta.n_max, N_MAX),
                ("m_max", meta.m_max, M_MAX),
                ("k_max", meta.k_max, K_MAX),
            ],
        )?;
        if let Some(n) = &meta.obs_norm {
            if n.dim() != OBS_DIM {
                return Err(incompatible("obs_norm dimension", n.dim().to_string(), OBS_DIM.to_string()));
            }
        }
        let entry = checkpoint::file_entry(&dir, &meta.files, ACTOR_FILE)?;
        let net = match meta.hidden {
            64 => load_net::<64>(&dir, &meta, entry)?,
            128 => load_net::<128>(&dir, &meta, entry)?,
            256 => load_net::<256>(&dir, &meta, entry)?,
            400 => load_net::<400>(&dir, &meta, entry)?,
            h => return Err(incompatible("hidden", h.to_string(), format!("one of {SUPPORTED_HIDDEN:?}"))),
        };
        Ok(Self { net, meta, dir })
    }

    /// Deterministic actions for a flat batch of states (`k · OBS_DIM` values).
    pub fn act(&self, obs: &[f32]) -> Vec<f32> {
        if obs.is_empty() || !obs.len().is_multiple_of(OBS_DIM) {
            return Vec::new();
        }
        let x = match &self.meta.obs_norm {
            Some(n) => n.normalize(obs),
            None => obs.to_vec(),
        };
        self.net.forward(x)
    }

    /// The policy's metadata.
    pub fn meta(&self) -> &PolicyMeta {
        &self.meta
    }

    /// The folder it was loaded from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A short identifier: the first 8 hex digits of the actor file's FNV-1a hash.
    pub fn id(&self) -> String {
        let h = self.meta.files.iter().find(|f| f.name == ACTOR_FILE).map_or(0, |f| f.fnv1a64);
        format!("{:08x}", h >> 32)
    }
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
    checkpoint::write_dir_atomically(dir, |tmp| {
        let files = vec![checkpoint::save_model(agent.actor(), tmp, ACTOR_FILE)?];
        let meta = PolicyMeta {
            format_version: checkpoint::FORMAT_VERSION,
            algorithm: POLICY_ALGORITHM.to_string(),
            obs_dim: OBS_DIM,
            act_dim: ACT_DIM,
            hidden: H,
            n_max: N_MAX,
            m_max: M_MAX,
            k_max: K_MAX,
            squash: agent.config().squash,
            obs_norm: agent.obs_norm().cloned(),
            train_seed,
            step,
            val_objective,
            env: env.clone(),
            files,
        };
        checkpoint::write_meta(tmp, &meta)
    })
}

/// Writes `data` to `path` through a temporary sibling and a rename.
fn write_atomically(path: &Path, data: &[u8]) -> Result<(), DdpgTrainError> {
    let err = |e: std::io::Error| DdpgTrainError::Write { path: path.to_path_buf(), reason: e.to_string() };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(err)?;
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, data).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}

/// The learning curve as CSV (`step,train_return,val_objective`, empty cells where a
/// row records only one of the two).
pub fn curve_csv(curve: &[CurvePoint]) -> String {
    let mut s = String::from("step,train_return,val_objective\n");
    let cell = |v: Option<f64>| v.map_or(String::new(), |x| format!("{x:.6}"));
    for p in curve {
        s.push_str(&format!("{},{},{}\n", p.step, cell(p.train_return), cell(p.eval_score)));
    }
    s
}

/// Keeps the curve and rewrites `curve.csv` at every evaluation.
struct CurveWriter {
    path: PathBuf,
    curve: Vec<CurvePoint>,
    error: Rc<RefCell<Option<DdpgTrainError>>>,
}

impl Callback for CurveWriter {
    fn on_step(&mut self, p: &Progress) -> ControlFlow<()> {
        match p.event {
            Event::EpisodeEnd { episode_return, .. } => self.curve.push(CurvePoint {
                step: p.step,
                train_return: Some(episode_return),
                eval_score: None,
            }),
            Event::Evaluation { score, .. } => {
                self.curve.push(CurvePoint { step: p.step, train_return: None, eval_score: Some(score) });
                if let Err(e) = write_atomically(&self.path, curve_csv(&self.curve).as_bytes()) {
                    *self.error.borrow_mut() = Some(e);
                    return ControlFlow::Break(());
                }
            }
            Event::Step => {}
        }
        ControlFlow::Continue(())
    }
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

/// Trains the DDPG benchmark as configured by `cfg`, calling `callbacks` (e.g. a
/// progress bar through [`crate::rl::train::ProgressReporter`]; any may stop training)
/// and writing the outputs described in the module docs into `cfg.out`.
pub fn train_ddpg<'a>(
    cfg: &DdpgTrainConfig,
    callbacks: Vec<Box<dyn Callback + 'a>>,
) -> Result<DdpgTrainOutcome, DdpgTrainError> {
    let scenario = cfg.check()?;
    match cfg.hidden {
        64 => run::<64>(cfg, scenario, callbacks),
        128 => run::<128>(cfg, scenario, callbacks),
        256 => run::<256>(cfg, scenario, callbacks),
        400 => run::<400>(cfg, scenario, callbacks),
        h => Err(DdpgTrainError::Config(format!("hidden = {h} is not one of {SUPPORTED_HIDDEN:?}"))),
    }
}

fn run<'a, const H: usize>(
    cfg: &DdpgTrainConfig,
    scenario: Scenario,
    callbacks: Vec<Box<dyn Callback + 'a>>,
) -> Result<DdpgTrainOutcome, DdpgTrainError> {
    let val = validation_set(&scenario, cfg.val_instances)?;
    let val_obs: Vec<f32> = val.iter().flat_map(|s| s.obs.iter().copied()).collect();
    let val_greedy = greedy_mean(&val);
    let mut env = OneShotEnv::new(scenario, cfg.env.clone())?;
    let (low, high) = env.action_bounds();
    let mut agent = Ddpg::<OBS_DIM, ACT_DIM, H>::new(cfg.agent_config(), low, high).map_err(RlError::from)?;
    let train_cfg = TrainConfig {
        total_steps: cfg.steps,
        warmup_steps: cfg.warmup_steps,
        train_freq: 1,
        gradient_steps: 1,
        eval_every: cfg.eval_every,
        eval_at_end: true,
        start_step: 0,
    };
    let policy_dir = cfg.out.join(POLICY_DIR);
    let curve_error = Rc::new(RefCell::new(None));
    let last_repaired = Rc::new(RefCell::new(None::<f64>));
    let best_repaired = Rc::new(RefCell::new(None::<f64>));

    let mut all_callbacks: Vec<Box<dyn Callback + 'a>> = vec![Box::new(CurveWriter {
        path: cfg.out.join("curve.csv"),
        curve: Vec::new(),
        error: curve_error.clone(),
    })];
    all_callbacks.extend(callbacks);
    let (env_cfg, seed) = (cfg.env.clone(), cfg.seed);
    let t0 = Instant::now();
    let report = {
        let last_repaired_eval = last_repaired.clone();
        let mut hooks: Hooks<'_, Ddpg<OBS_DIM, ACT_DIM, H>> = Hooks {
            evaluate: Some(Box::new(|agent: &mut Ddpg<OBS_DIM, ACT_DIM, H>, _step| {
                let actions = agent.policy(&val_obs).map_err(RlError::from)?;
                let (obj, rep) = score_actions(&val, &actions, &env_cfg)
                    .map_err(|e| RlError::Env(crate::rl::EnvError::Other(Box::new(e))))?;
                *last_repaired_eval.borrow_mut() = Some(rep);
                Ok(obj)
            })),
            on_new_best: Some(Box::new(|agent: &Ddpg<OBS_DIM, ACT_DIM, H>, step, score| {
                *best_repaired.borrow_mut() = *last_repaired.borrow();
                save_policy(agent, &policy_dir, seed, step, score, &cfg.env)?;
                Ok(())
            })),
            callbacks: all_callbacks,
        };
        train(&mut env, &mut agent, &train_cfg, &mut seeded_rng(cfg.seed), &mut hooks)?
    };
    let secs = t0.elapsed().as_secs_f64();
    if let Some(e) = curve_error.borrow_mut().take() {
        return Err(e);
    }
    write_atomically(&cfg.out.join("curve.csv"), curve_csv(&report.curve).as_bytes())?;
    let trained = (report.steps - train_cfg.start_step) as f64;
    let outcome = DdpgTrainOutcome {
        best: report.best,
        best_val_repaired: *best_repaired.borrow(),
        val_greedy,
        secs,
        env_steps_per_s: trained / secs.max(1e-9),
        updates_per_s: report.updates as f64 / secs.max(1e-9),
        policy_dir,
        report,
    };
    #[derive(Serialize)]
    struct Summary<'s> {
        config: &'s DdpgTrainConfig,
        validation_seeds: (u64, u64),
        best_step: Option<u64>,
        best_val_objective: Option<f64>,
        best_val_repaired: Option<f64>,
        val_greedy: f64,
        steps: u64,
        updates: u64,
        secs: f64,
        env_steps_per_s: f64,
        updates_per_s: f64,
        revision: Option<String>,
    }
    let summary = Summary {
        config: cfg,
        validation_seeds: (VALIDATION_SEED_START, VALIDATION_SEED_START + cfg.val_instances as u64),
        best_step: outcome.best.map(|b| b.0),
        best_val_objective: outcome.best.map(|b| b.1),
        best_val_repaired: outcome.best_val_repaired,
        val_greedy,
        steps: outcome.report.steps,
        updates: outcome.report.updates,
        secs,
        env_steps_per_s: outcome.env_steps_per_s,
        updates_per_s: outcome.updates_per_s,
        revision: git_revision(),
    };
    let json = serde_json::to_vec_pretty(&summary)
        .map_err(|e| DdpgTrainError::Write { path: cfg.out.join("train.json"), reason: e.to_string() })?;
    write_atomically(&cfg.out.join("train.json"), &json)?;
    Ok(outcome)
}

fn git_revision() -> Option<String> {
    let out = std::process::Command::new("git").args(["rev-parse", "--short", "HEAD"]).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}
