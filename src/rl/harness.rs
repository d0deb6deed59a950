//! The one training harness every learner runs through: it owns the output folder and
//! what every run writes there besides its checkpoint, so all learners' outputs read
//! the same way (CleanRL's habit: runs are named and self-describing).
//!
//! ```text
//! <out>/curve.csv    step,episodes,train_return,val_objective: one row per evaluation,
//!                    rewritten atomically after each. `train_return` is the mean
//!                    undiscounted return of the training episodes that ended since the
//!                    previous row (empty when none did); `val_objective` the learner's
//!                    validation score (mean objective A of its greedy policy).
//! <out>/train.json   the run: solver, learner, seed, configuration, steps, episodes,
//!                    updates, best validation and its step, why it stopped, wall time,
//!                    throughput, revision and machine, plus learner-specific extras.
//! ```
//!
//! Environment steps are counted the same way for every learner: one call of
//! [`crate::rl::Env::step`].

use std::cell::RefCell;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::io::{provenance, write_atomic, write_json_atomic, IoError};
use crate::rl::train::{
    train, Agent, Callback, Env, Event, Hooks, Progress, StopReason, TrainConfig, TrainReport,
};
use crate::rl::{RlError, Rng};

/// File name of the learning curve.
pub const CURVE_FILE: &str = "curve.csv";
/// File name of the run description.
pub const TRAIN_FILE: &str = "train.json";

/// One row of `curve.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurveRow {
    pub step: u64,
    pub episodes: u64,
    pub train_return: Option<f64>,
    pub val_objective: f64,
}

/// The curve as CSV text (the format of the module docs).
pub fn curve_csv(rows: &[CurveRow]) -> String {
    let mut s = String::from("step,episodes,train_return,val_objective\n");
    for r in rows {
        let ret = r.train_return.map_or(String::new(), |x| format!("{x:.6}"));
        s.push_str(&format!("{},{},{ret},{:.6}\n", r.step, r.episodes, r.val_objective));
    }
    s
}

/// Reads the `(step, val_objective)` points of a `curve.csv`.
pub fn read_curve(path: &Path) -> Result<Vec<(u64, f64)>, IoError> {
    let mut rdr = csv::Reader::from_path(path)
        .map_err(|e| IoError::Read { path: path.to_path_buf(), cause: std::io::Error::other(e) })?;
    rdr.deserialize::<CurveRow>()
        .map(|r| {
            r.map(|c| (c.step, c.val_objective)).map_err(|e| IoError::Csv {
                path: path.to_path_buf(),
                line: e.position().map_or(0, |p| p.line()),
                column: None,
                reason: e.to_string(),
            })
        })
        .collect()
}

/// Records the curve and rewrites `curve.csv` at every evaluation.
struct CurveRecorder {
    path: PathBuf,
    rows: Vec<CurveRow>,
    since: Vec<f64>,
    error: Rc<RefCell<Option<IoError>>>,
}

impl Callback for CurveRecorder {
    fn on_step(&mut self, p: &Progress) -> ControlFlow<()> {
        match p.event {
            Event::EpisodeEnd { episode_return, .. } => self.since.push(episode_return),
            Event::Evaluation { score, .. } => {
                let n = self.since.len();
                let train_return = (n > 0).then(|| self.since.iter().sum::<f64>() / n as f64);
                self.since.clear();
                self.rows.push(CurveRow {
                    step: p.step,
                    episodes: p.episodes,
                    train_return,
                    val_objective: score,
                });
                if let Err(e) = write_atomic(&self.path, curve_csv(&self.rows).as_bytes()) {
                    *self.error.borrow_mut() = Some(e);
                    return ControlFlow::Break(());
                }
            }
            Event::Step => {}
        }
        ControlFlow::Continue(())
    }
}

/// Who a run is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunInfo {
    /// The registry name of the solver the run trains (e.g. `drl`, `ddpg`).
    pub solver: String,
    /// The learning algorithm (e.g. `set-pg`, `ddpg`).
    pub learner: String,
    pub seed: u64,
    /// The learner's whole training configuration.
    pub config: serde_json::Value,
}

/// What [`run`] returns.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOutcome {
    pub report: TrainReport,
    /// Wall-clock seconds of the training loop.
    pub secs: f64,
}

impl TrainOutcome {
    pub fn env_steps_per_s(&self, start_step: u64) -> f64 {
        (self.report.steps - start_step) as f64 / self.secs.max(1e-9)
    }
    pub fn updates_per_s(&self) -> f64 {
        self.report.updates as f64 / self.secs.max(1e-9)
    }
}

#[derive(Serialize)]
struct TrainJson<'a> {
    #[serde(flatten)]
    info: &'a RunInfo,
    steps: u64,
    episodes: u64,
    updates: u64,
    best_step: Option<u64>,
    best_val_objective: Option<f64>,
    stop: StopReason,
    secs: f64,
    env_steps_per_s: f64,
    updates_per_s: f64,
    revision: &'static str,
    machine: String,
    extra: serde_json::Value,
}

/// Trains `agent` on `env` with the shared loop into the folder `out`: creates it,
/// records `curve.csv`, and writes `train.json` at the end (with `extra(report)`, the
/// learner's own figures). `hooks` hold the learner's evaluation, checkpointing on a
/// new best, and the caller's observers (e.g. a progress bar).
#[allow(clippy::too_many_arguments)]
pub fn run<E, A>(
    out: &Path,
    info: &RunInfo,
    env: &mut E,
    agent: &mut A,
    cfg: &TrainConfig,
    rng: &mut Rng,
    mut hooks: Hooks<'_, A>,
    extra: impl FnOnce(&TrainReport) -> serde_json::Value,
) -> Result<TrainOutcome, RlError>
where
    E: Env + ?Sized,
    A: Agent<Action = E::Action> + ?Sized,
{
    std::fs::create_dir_all(out).map_err(|e| IoError::Write { path: out.to_path_buf(), cause: e })?;
    let error = Rc::new(RefCell::new(None));
    hooks.callbacks.insert(
        0,
        Box::new(CurveRecorder {
            path: out.join(CURVE_FILE),
            rows: Vec::new(),
            since: Vec::new(),
            error: error.clone(),
        }),
    );
    let t0 = Instant::now();
    let report = train(env, agent, cfg, rng, &mut hooks)?;
    let secs = t0.elapsed().as_secs_f64();
    drop(hooks);
    if let Some(e) = error.borrow_mut().take() {
        return Err(e.into());
    }
    let outcome = TrainOutcome { report, secs };
    let json = TrainJson {
        info,
        steps: outcome.report.steps,
        episodes: outcome.report.episodes,
        updates: outcome.report.updates,
        best_step: outcome.report.best.map(|b| b.0),
        best_val_objective: outcome.report.best.map(|b| b.1),
        stop: outcome.report.stop,
        secs,
        env_steps_per_s: outcome.env_steps_per_s(cfg.start_step),
        updates_per_s: outcome.updates_per_s(),
        revision: provenance::revision(),
        machine: provenance::machine(),
        extra: extra(&outcome.report),
    };
    write_json_atomic(&out.join(TRAIN_FILE), &json)?;
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rl::train::{Continuous, Step, Transition, UpdateStats};
    use crate::rl::{seeded_rng, EnvError};

    /// Episodes of 5 steps, reward = step index within the episode.
    struct Count(u32);
    impl Env for Count {
        type Action = Continuous;
        fn obs_dim(&self) -> usize {
            1
        }
        fn reset(&mut self, _rng: &mut Rng) -> Vec<f32> {
            self.0 = 0;
            vec![0.0]
        }
        fn step(&mut self, _a: &Continuous, _rng: &mut Rng) -> Result<Step, EnvError> {
            self.0 += 1;
            Ok(Step {
                obs: vec![self.0 as f32],
                reward: self.0 as f32,
                terminated: self.0 == 5,
                truncated: false,
            })
        }
    }
    struct Idle;
    impl Agent for Idle {
        type Action = Continuous;
        fn act(&mut self, _o: &[f32], _e: bool, _r: &mut Rng) -> Result<Continuous, RlError> {
            Ok(vec![0.0])
        }
        fn random_action(&mut self, _o: &[f32], _r: &mut Rng) -> Continuous {
            vec![0.0]
        }
        fn observe(&mut self, _t: &Transition<'_, Continuous>) -> Result<(), RlError> {
            Ok(())
        }
        fn update(&mut self, _r: &mut Rng) -> Result<Option<UpdateStats>, RlError> {
            Ok(None)
        }
        fn on_episode_start(&mut self) {}
    }

    #[test]
    fn writes_one_curve_row_per_evaluation_and_train_json() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("run");
        let cfg = TrainConfig { total_steps: 23, warmup_steps: 0, eval_every: 10, ..Default::default() };
        let hooks: Hooks<'_, Idle> = Hooks {
            evaluate: Some(Box::new(|_a: &mut Idle, step| Ok(step as f64 / 100.0))),
            ..Default::default()
        };
        let info = RunInfo {
            solver: "x".into(),
            learner: "idle".into(),
            seed: 3,
            config: serde_json::json!({"a": 1}),
        };
        let o = run(
            &out,
            &info,
            &mut Count(0),
            &mut Idle,
            &cfg,
            &mut seeded_rng(0),
            hooks,
            |_| serde_json::json!({"k": 2}),
        )
        .unwrap();
        assert_eq!(o.report.steps, 23);
        // Episodes end at steps 5, 10, 15, 20 with return 1+2+3+4+5 = 15; evaluations at
        // 10, 20 and 23 (end): 2 episodes, 2 episodes, then none.
        let text = std::fs::read_to_string(out.join(CURVE_FILE)).unwrap();
        assert_eq!(
            text,
            "step,episodes,train_return,val_objective\n10,2,15.000000,0.100000\n20,4,15.000000,0.200000\n23,4,,0.230000\n"
        );
        assert_eq!(read_curve(&out.join(CURVE_FILE)).unwrap(), vec![(10, 0.1), (20, 0.2), (23, 0.23)]);
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join(TRAIN_FILE)).unwrap()).unwrap();
        assert_eq!(json["learner"], "idle");
        assert_eq!(json["seed"], 3);
        assert_eq!(json["episodes"], 4);
        assert_eq!(json["best_step"], 23);
        assert_eq!(json["extra"]["k"], 2);
        assert_eq!(json["config"]["a"], 1);
    }
}
