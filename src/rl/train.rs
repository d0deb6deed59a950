//! The one training loop every algorithm uses, with its environment and agent
//! traits, callbacks and evaluation helper.
//!
//! The loop (`train`) owns the step counter, the random warm-up, the update schedule,
//! periodic evaluation, the learning curve, best-model tracking and callbacks. The agent
//! only acts, stores transitions and performs gradient updates; the environment only
//! steps. Nothing here prints, sleeps or reads the clock: progress reporting and timing
//! are the caller's business (see [`ProgressReporter`]).

use std::ops::ControlFlow;

use serde::{Deserialize, Serialize};

use crate::rl::{RlError, Rng};

/// The result of one environment step.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Observation after the step.
    pub obs: Vec<f32>,
    /// Reward for the step.
    pub reward: f32,
    /// The episode reached a terminal state (no bootstrapping past it).
    pub terminated: bool,
    /// The episode was cut off (time limit); the value of `obs` still bootstraps.
    pub truncated: bool,
}

/// Errors raised by environments.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    /// The action had the wrong length.
    #[error("environment: action has length {got}, expected {expected}")]
    ActionDim {
        /// Expected length.
        expected: usize,
        /// Received length.
        got: usize,
    },
    /// The action contained NaN or infinity.
    #[error("environment: action contains a non-finite value")]
    NonFiniteAction,
    /// Any other environment-specific failure.
    #[error("environment")]
    Other(#[from] Box<dyn std::error::Error + Send + Sync>),
}

/// An environment with actions of type `Action`: [`Continuous`] vectors (DDPG) or a
/// [`Discrete`] index (set learners choose one candidate of those the observation
/// marks valid).
pub trait Env {
    /// What the agent hands to [`Env::step`].
    type Action;
    /// Observation length.
    fn obs_dim(&self) -> usize;
    /// Starts a new episode and returns the first observation.
    fn reset(&mut self, rng: &mut Rng) -> Vec<f32>;
    /// Applies `action`.
    fn step(&mut self, action: &Self::Action, rng: &mut Rng) -> Result<Step, EnvError>;
}

/// A continuous action: one value per action dimension.
pub type Continuous = Vec<f32>;
/// A discrete action: the index of the chosen candidate.
pub type Discrete = usize;

/// What a continuous-action environment tells its agent besides [`Env`].
pub trait ContinuousEnv: Env<Action = Continuous> {
    /// Action length.
    fn act_dim(&self) -> usize;
    /// Per-dimension action bounds `(low, high)`, each of length `act_dim`.
    fn action_bounds(&self) -> (Vec<f32>, Vec<f32>);
}

/// One transition handed to [`Agent::observe`].
#[derive(Debug, Clone, Copy)]
pub struct Transition<'a, A> {
    /// Observation before the action.
    pub obs: &'a [f32],
    /// Action taken.
    pub action: &'a A,
    /// Reward received.
    pub reward: f32,
    /// Observation after the action.
    pub next_obs: &'a [f32],
    /// True only for real terminal states (not time-limit truncation).
    pub terminated: bool,
}

/// Named scalar diagnostics of one gradient update (e.g. `critic_loss`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UpdateStats {
    /// `(name, value)` pairs in a fixed order chosen by the algorithm.
    pub metrics: Vec<(String, f32)>,
}

impl UpdateStats {
    /// Value of the metric `name`, if present.
    pub fn get(&self, name: &str) -> Option<f32> {
        self.metrics.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }
}

/// A learning agent as seen by the training loop: off-policy (DDPG, DQN: `observe`
/// stores into a replay buffer) or on-policy (REINFORCE: `observe` records the episode,
/// `update` learns once enough episodes have ended).
pub trait Agent {
    /// The action type, matched with the environment's.
    type Action;
    /// Chooses an action; `explore` adds exploration (noise, sampling), otherwise the
    /// action is a deterministic function of `obs` (evaluation).
    fn act(&mut self, obs: &[f32], explore: bool, rng: &mut Rng) -> Result<Self::Action, RlError>;
    /// A uniformly random action for `obs` (warm-up phase).
    fn random_action(&mut self, obs: &[f32], rng: &mut Rng) -> Self::Action;
    /// Stores a transition (and updates observation statistics, if any).
    fn observe(&mut self, transition: &Transition<'_, Self::Action>) -> Result<(), RlError>;
    /// One update; `Ok(None)` when there is not yet enough data.
    fn update(&mut self, rng: &mut Rng) -> Result<Option<UpdateStats>, RlError>;
    /// Called at the start of every training episode (e.g. to reset correlated noise).
    fn on_episode_start(&mut self);
}

/// Training-loop settings (algorithm-independent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainConfig {
    /// Environment steps to run in total (counted from 0, including `start_step`).
    /// Default 30 000.
    pub total_steps: u64,
    /// Steps at the start taking uniformly random actions, with no gradient updates
    /// ("learning starts"). Default 1 000.
    pub warmup_steps: u64,
    /// Update every `train_freq` environment steps. Default 1.
    pub train_freq: u64,
    /// Gradient updates each time updating is due. Default 1.
    pub gradient_steps: u32,
    /// Evaluate every this many steps (0: never periodically). Default 5 000.
    pub eval_every: u64,
    /// Also evaluate after the last step (if not just done). Default true.
    pub eval_at_end: bool,
    /// Step to start counting from, when resuming from a checkpoint. Default 0.
    pub start_step: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            total_steps: 30_000,
            warmup_steps: 1_000,
            train_freq: 1,
            gradient_steps: 1,
            eval_every: 5_000,
            eval_at_end: true,
            start_step: 0,
        }
    }
}

/// Errors of the training loop itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrainError {
    /// `train_freq` must be at least 1.
    #[error("training config: train_freq must be at least 1")]
    ZeroTrainFreq,
    /// `start_step` beyond `total_steps`.
    #[error("training config: start_step {start} exceeds total_steps {total}")]
    StartAfterEnd {
        /// Start step.
        start: u64,
        /// Total steps.
        total: u64,
    },
    /// Environment and agent disagree on dimensions.
    #[error("environment returned an observation of length {got}, expected {expected}")]
    ObsDim {
        /// Expected length.
        expected: usize,
        /// Received length.
        got: usize,
    },
}

impl TrainConfig {
    /// Validates the settings once, before training.
    pub fn check(&self) -> Result<(), TrainError> {
        if self.train_freq == 0 {
            return Err(TrainError::ZeroTrainFreq);
        }
        if self.start_step > self.total_steps {
            return Err(TrainError::StartAfterEnd { start: self.start_step, total: self.total_steps });
        }
        Ok(())
    }
}

/// What just happened in the loop.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// An environment step (and any updates due) finished.
    Step,
    /// A training episode ended.
    EpisodeEnd {
        /// Undiscounted return of the episode.
        episode_return: f64,
        /// Its length in steps.
        length: u64,
    },
    /// An evaluation finished.
    Evaluation {
        /// The score returned by the evaluation closure (higher is better).
        score: f64,
        /// Whether it is the best so far.
        is_best: bool,
    },
}

/// Snapshot of the loop handed to callbacks.
#[derive(Debug, Clone)]
pub struct Progress {
    /// Environment steps done so far.
    pub step: u64,
    /// Total planned steps.
    pub total_steps: u64,
    /// Finished training episodes.
    pub episodes: u64,
    /// Gradient updates performed.
    pub updates: u64,
    /// The event that triggered this call.
    pub event: Event,
    /// Return of the last finished training episode.
    pub last_episode_return: Option<f64>,
    /// Last evaluation score.
    pub last_eval: Option<f64>,
    /// Best evaluation score so far.
    pub best_eval: Option<f64>,
    /// Diagnostics of the last update.
    pub last_update: Option<UpdateStats>,
}

/// Observer of training, called after every step, episode end and evaluation;
/// returning `ControlFlow::Break(())` stops training (stable-baselines3 style).
pub trait Callback {
    /// React to progress.
    fn on_step(&mut self, info: &Progress) -> ControlFlow<()>;
}

/// Stops training after `patience` consecutive evaluations without an improvement
/// of more than `min_delta` over the best score.
#[derive(Debug, Clone, PartialEq)]
pub struct EarlyStopping {
    /// Evaluations without improvement tolerated. Default 5.
    pub patience: usize,
    /// Minimum improvement that counts. Default 0.
    pub min_delta: f64,
    best: Option<f64>,
    stale: usize,
}

impl EarlyStopping {
    /// Early stopping with the given patience and `min_delta = 0`.
    pub fn new(patience: usize) -> Self {
        Self { patience, min_delta: 0.0, best: None, stale: 0 }
    }
}

impl Default for EarlyStopping {
    fn default() -> Self {
        Self::new(5)
    }
}

impl Callback for EarlyStopping {
    fn on_step(&mut self, info: &Progress) -> ControlFlow<()> {
        if let Event::Evaluation { score, .. } = info.event {
            match self.best {
                Some(b) if score <= b + self.min_delta => self.stale += 1,
                _ => {
                    self.best = Some(score);
                    self.stale = 0;
                }
            }
            if self.stale >= self.patience {
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    }
}

/// Progress reporting as a callback: calls `report` every `every` steps, at every
/// evaluation and at every episode end if `episodes` is set. The CLI plugs a progress
/// bar in here.
pub struct ProgressReporter<F: FnMut(&Progress)> {
    /// Report every this many steps (0: never on plain steps).
    pub every: u64,
    /// Also report at each episode end.
    pub episodes: bool,
    report: F,
}

impl<F: FnMut(&Progress)> ProgressReporter<F> {
    /// Reports through `report`.
    pub fn new(every: u64, report: F) -> Self {
        Self { every, episodes: false, report }
    }
}

impl<F: FnMut(&Progress)> Callback for ProgressReporter<F> {
    fn on_step(&mut self, info: &Progress) -> ControlFlow<()> {
        let due = match info.event {
            Event::Step => self.every > 0 && info.step.is_multiple_of(self.every),
            Event::EpisodeEnd { .. } => self.episodes,
            Event::Evaluation { .. } => true,
        };
        if due {
            (self.report)(info);
        }
        ControlFlow::Continue(())
    }
}

/// One row of the learning curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    /// Environment steps done when recorded.
    pub step: u64,
    /// Return of the training episode that just ended, if this row records one.
    pub train_return: Option<f64>,
    /// Evaluation score, if this row records an evaluation.
    pub eval_score: Option<f64>,
}

/// Why training stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StopReason {
    /// All steps were run.
    Completed,
    /// A callback asked to stop.
    Callback,
}

/// Outcome of [`train`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainReport {
    /// Learning curve (training episodes and evaluations, in order).
    pub curve: Vec<CurvePoint>,
    /// Environment steps done (including `start_step`).
    pub steps: u64,
    /// Finished training episodes.
    pub episodes: u64,
    /// Gradient updates performed.
    pub updates: u64,
    /// Best evaluation `(step, score)`.
    pub best: Option<(u64, f64)>,
    /// Last evaluation `(step, score)`.
    pub last_eval: Option<(u64, f64)>,
    /// Why the loop ended.
    pub stop: StopReason,
    /// Diagnostics of the last gradient update.
    pub last_update: Option<UpdateStats>,
}

/// Evaluation closure: scores the agent at a given step (higher is better). It should
/// use its own environment and generator so that evaluating does not change training.
pub type EvaluateFn<'a, A> = dyn FnMut(&mut A, u64) -> Result<f64, RlError> + 'a;
/// Hook called when an evaluation beats the best so far (e.g. save a checkpoint).
pub type BestFn<'a, A> = dyn FnMut(&A, u64, f64) -> Result<(), RlError> + 'a;

/// What the caller plugs into the loop.
pub struct Hooks<'a, A: ?Sized> {
    /// Periodic evaluation; without it no evaluation happens.
    pub evaluate: Option<Box<EvaluateFn<'a, A>>>,
    /// Called on each new best evaluation score.
    pub on_new_best: Option<Box<BestFn<'a, A>>>,
    /// Observers, called in order; any may stop training.
    pub callbacks: Vec<Box<dyn Callback + 'a>>,
}

impl<A: ?Sized> Default for Hooks<'_, A> {
    fn default() -> Self {
        Self { evaluate: None, on_new_best: None, callbacks: Vec::new() }
    }
}

fn notify<A: ?Sized>(hooks: &mut Hooks<'_, A>, p: &Progress) -> ControlFlow<()> {
    let mut flow = ControlFlow::Continue(());
    for cb in hooks.callbacks.iter_mut() {
        if cb.on_step(p).is_break() {
            flow = ControlFlow::Break(());
        }
    }
    flow
}

/// Runs off-policy training of `agent` on `env` (see the module docs). The generator
/// `rng` drives the environment resets/steps, warm-up actions, exploration noise and
/// replay sampling, so one seed fixes the run.
pub fn train<E, A>(
    env: &mut E,
    agent: &mut A,
    cfg: &TrainConfig,
    rng: &mut Rng,
    hooks: &mut Hooks<'_, A>,
) -> Result<TrainReport, RlError>
where
    E: Env + ?Sized,
    A: Agent<Action = E::Action> + ?Sized,
{
    cfg.check()?;
    let mut report = TrainReport {
        curve: Vec::new(),
        steps: cfg.start_step,
        episodes: 0,
        updates: 0,
        best: None,
        last_eval: None,
        stop: StopReason::Completed,
        last_update: None,
    };
    let mut last_episode_return = None;
    let mut obs = env.reset(rng);
    agent.on_episode_start();
    let (mut ep_return, mut ep_len) = (0.0f64, 0u64);

    for step in cfg.start_step..cfg.total_steps {
        if obs.len() != env.obs_dim() {
            return Err(TrainError::ObsDim { expected: env.obs_dim(), got: obs.len() }.into());
        }
        // 1. act: uniformly random during warm-up, then the policy plus noise
        let action = if step < cfg.warmup_steps {
            agent.random_action(&obs, rng)
        } else {
            agent.act(&obs, true, rng)?
        };
        // 2. step the environment and store the transition
        let s = env.step(&action, rng)?;
        agent.observe(&Transition {
            obs: &obs,
            action: &action,
            reward: s.reward,
            next_obs: &s.obs,
            terminated: s.terminated,
        })?;
        ep_return += s.reward as f64;
        ep_len += 1;
        let done_steps = step + 1;
        report.steps = done_steps;

        // 3. learn
        if step >= cfg.warmup_steps && done_steps % cfg.train_freq == 0 {
            for _ in 0..cfg.gradient_steps {
                if let Some(u) = agent.update(rng)? {
                    report.updates += 1;
                    report.last_update = Some(u);
                }
            }
        }

        let mut progress = Progress {
            step: done_steps,
            total_steps: cfg.total_steps,
            episodes: report.episodes,
            updates: report.updates,
            event: Event::Step,
            last_episode_return,
            last_eval: report.last_eval.map(|(_, s)| s),
            best_eval: report.best.map(|(_, s)| s),
            last_update: report.last_update.clone(),
        };
        let mut flow = ControlFlow::Continue(());

        // 4. episode bookkeeping
        if s.terminated || s.truncated {
            report.episodes += 1;
            last_episode_return = Some(ep_return);
            report.curve.push(CurvePoint {
                step: done_steps,
                train_return: Some(ep_return),
                eval_score: None,
            });
            progress.episodes = report.episodes;
            progress.last_episode_return = last_episode_return;
            progress.event = Event::EpisodeEnd { episode_return: ep_return, length: ep_len };
            if notify(hooks, &progress).is_break() {
                flow = ControlFlow::Break(());
            }
            obs = env.reset(rng);
            agent.on_episode_start();
            ep_return = 0.0;
            ep_len = 0;
        } else {
            obs = s.obs;
        }

        // 5. evaluate
        let periodic = cfg.eval_every > 0 && done_steps % cfg.eval_every == 0;
        let last = cfg.eval_at_end && done_steps == cfg.total_steps;
        if periodic || last {
            if let Some(eval) = hooks.evaluate.as_mut() {
                let score = eval(agent, done_steps)?;
                let is_best = report.best.is_none_or(|(_, b)| score > b);
                report.last_eval = Some((done_steps, score));
                report.curve.push(CurvePoint {
                    step: done_steps,
                    train_return: None,
                    eval_score: Some(score),
                });
                if is_best {
                    report.best = Some((done_steps, score));
                    if let Some(on_best) = hooks.on_new_best.as_mut() {
                        on_best(agent, done_steps, score)?;
                    }
                }
                progress.last_eval = Some(score);
                progress.best_eval = report.best.map(|(_, s)| s);
                progress.event = Event::Evaluation { score, is_best };
                if notify(hooks, &progress).is_break() {
                    flow = ControlFlow::Break(());
                }
            }
        }

        progress.event = Event::Step;
        if notify(hooks, &progress).is_break() {
            flow = ControlFlow::Break(());
        }
        if flow.is_break() {
            report.stop = StopReason::Callback;
            break;
        }
    }
    Ok(report)
}

/// Result of [`evaluate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalStats {
    /// Mean undiscounted episode return.
    pub mean: f64,
    /// Population standard deviation of the returns.
    pub std: f64,
    /// Every episode's return.
    pub returns: Vec<f64>,
}

/// Runs `episodes` episodes with deterministic actions (`explore = false`) and returns
/// the return statistics. Episodes end on termination or truncation.
pub fn evaluate<E, A>(
    env: &mut E,
    agent: &mut A,
    episodes: usize,
    rng: &mut Rng,
) -> Result<EvalStats, RlError>
where
    E: Env + ?Sized,
    A: Agent<Action = E::Action> + ?Sized,
{
    let mut returns = Vec::with_capacity(episodes);
    for _ in 0..episodes {
        let mut obs = env.reset(rng);
        let mut ret = 0.0f64;
        loop {
            let a = agent.act(&obs, false, rng)?;
            let s = env.step(&a, rng)?;
            ret += s.reward as f64;
            if s.terminated || s.truncated {
                break;
            }
            obs = s.obs;
        }
        returns.push(ret);
    }
    let n = returns.len().max(1) as f64;
    let mean = returns.iter().sum::<f64>() / n;
    let std = (returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n).sqrt();
    Ok(EvalStats { mean, std, returns })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rl::seeded_rng;
    use rand::Rng as _;

    /// Reward = action; episodes of 10 steps; obs = step count.
    struct Counter {
        t: usize,
    }
    impl Env for Counter {
        type Action = Continuous;
        fn obs_dim(&self) -> usize {
            1
        }
        fn reset(&mut self, _rng: &mut Rng) -> Vec<f32> {
            self.t = 0;
            vec![0.0]
        }
        fn step(&mut self, a: &Continuous, _rng: &mut Rng) -> Result<Step, EnvError> {
            self.t += 1;
            Ok(Step { obs: vec![self.t as f32], reward: a[0], terminated: false, truncated: self.t == 10 })
        }
    }

    /// Acts with a fixed value `level`; counts calls.
    #[derive(Default)]
    struct Fixed {
        level: f32,
        observed: u64,
        updates: u64,
        random: u64,
        episode_starts: u64,
    }
    impl Agent for Fixed {
        type Action = Continuous;
        fn act(&mut self, _o: &[f32], _e: bool, _r: &mut Rng) -> Result<Vec<f32>, RlError> {
            Ok(vec![self.level])
        }
        fn random_action(&mut self, _obs: &[f32], rng: &mut Rng) -> Vec<f32> {
            self.random += 1;
            vec![rng.gen_range(0.0..1.0)]
        }
        fn observe(&mut self, _t: &Transition<'_, Continuous>) -> Result<(), RlError> {
            self.observed += 1;
            Ok(())
        }
        fn update(&mut self, _r: &mut Rng) -> Result<Option<UpdateStats>, RlError> {
            self.updates += 1;
            Ok(Some(UpdateStats::default()))
        }
        fn on_episode_start(&mut self) {
            self.episode_starts += 1;
        }
    }

    #[test]
    fn loop_counts_warmup_updates_episodes_and_evaluations() {
        let cfg = TrainConfig {
            total_steps: 100,
            warmup_steps: 20,
            train_freq: 2,
            gradient_steps: 3,
            eval_every: 30,
            eval_at_end: true,
            start_step: 0,
        };
        let mut agent = Fixed { level: 0.5, ..Default::default() };
        let mut evals = Vec::new();
        let mut bests = Vec::new();
        let report = {
            let mut hooks: Hooks<'_, Fixed> = Hooks {
                evaluate: Some(Box::new(|_a: &mut Fixed, step| {
                    evals.push(step);
                    Ok(-((step as f64) - 60.0).abs()) // best at step 60
                })),
                on_new_best: Some(Box::new(|_a: &Fixed, step, _s| {
                    bests.push(step);
                    Ok(())
                })),
                callbacks: Vec::new(),
            };
            train(&mut Counter { t: 0 }, &mut agent, &cfg, &mut seeded_rng(0), &mut hooks).unwrap()
        };
        assert_eq!(agent.random, 20);
        assert_eq!(agent.observed, 100);
        // updates on steps 21..=100 with even step count: 40 times x 3
        assert_eq!(agent.updates, 120);
        assert_eq!(report.updates, 120);
        assert_eq!(report.episodes, 10);
        assert_eq!(agent.episode_starts, 11);
        assert_eq!(evals, vec![30, 60, 90, 100]);
        assert_eq!(bests, vec![30, 60]);
        assert_eq!(report.best, Some((60, 0.0)));
        // episodes 3..10 are fully after warm-up: return 10 * 0.5
        let train_returns: Vec<f64> = report.curve.iter().filter_map(|c| c.train_return).collect();
        assert_eq!(train_returns.len(), 10);
        assert!(train_returns[2..].iter().all(|&r| (r - 5.0).abs() < 1e-9));
        assert_eq!(report.stop, StopReason::Completed);
    }

    #[test]
    fn early_stopping_stops_after_patience_evaluations() {
        let cfg = TrainConfig { total_steps: 1000, warmup_steps: 0, eval_every: 10, ..Default::default() };
        let mut agent = Fixed::default();
        let mut hooks: Hooks<'_, Fixed> = Hooks {
            // improves until step 50, then flat
            evaluate: Some(Box::new(|_a: &mut Fixed, step| Ok((step.min(50)) as f64))),
            on_new_best: None,
            callbacks: vec![Box::new(EarlyStopping::new(3))],
        };
        let report = train(&mut Counter { t: 0 }, &mut agent, &cfg, &mut seeded_rng(0), &mut hooks).unwrap();
        assert_eq!(report.stop, StopReason::Callback);
        assert_eq!(report.steps, 80); // evaluations at 60, 70, 80 do not improve
        assert_eq!(report.best, Some((50, 50.0)));
    }

    #[test]
    fn progress_reporter_fires_on_schedule_and_config_is_checked() {
        let mut seen = Vec::new();
        {
            let cfg = TrainConfig { total_steps: 50, warmup_steps: 0, eval_every: 0, ..Default::default() };
            let mut hooks: Hooks<'_, Fixed> = Hooks {
                callbacks: vec![Box::new(ProgressReporter::new(20, |p: &Progress| seen.push(p.step)))],
                ..Default::default()
            };
            train(&mut Counter { t: 0 }, &mut Fixed::default(), &cfg, &mut seeded_rng(0), &mut hooks)
                .unwrap();
        }
        assert_eq!(seen, vec![20, 40]);
        let bad = TrainConfig { train_freq: 0, ..Default::default() };
        assert_eq!(bad.check(), Err(TrainError::ZeroTrainFreq));
    }

    #[test]
    fn evaluate_reports_mean_and_std() {
        let mut agent = Fixed { level: 0.25, ..Default::default() };
        let s = evaluate(&mut Counter { t: 0 }, &mut agent, 4, &mut seeded_rng(0)).unwrap();
        assert_eq!(s.returns, vec![2.5; 4]);
        assert!((s.mean - 2.5).abs() < 1e-12 && s.std.abs() < 1e-12);
    }
}
