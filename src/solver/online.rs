//! Online policies over episodes (MODEL.md §9), beside [`super::Solver`]: a policy is
//! reset with the network and the initial placement, then asked for one slot's
//! decisions at a time by [`run_online`], which hands it slots in order and replays its
//! decisions through the episode evaluator. A policy never receives the episode: it
//! cannot read a later slot. Offline solvers of whole episodes (the hindsight optimum)
//! implement [`EpisodeSolver`] instead.

use std::collections::BTreeMap;
use std::time::Instant;

use super::{SolveOptions, SolverError, Status};
use crate::model::{
    Episode, EpisodeEvaluation, EpisodeViolation, Network, PlacementState, Replay, Slot, SlotDecision,
};

/// A policy that decides slot by slot.
pub trait OnlinePolicy: Send {
    /// The registry name, e.g. `myopic`.
    fn name(&self) -> &str;

    /// The policy's version, recorded with its results.
    fn version(&self) -> String {
        env!("CARGO_PKG_VERSION").to_string()
    }

    /// Starts an episode: the network (fixed for the episode, with the demand model a
    /// policy may know) and the initial placement state. Seeds every random choice.
    fn reset(&mut self, net: &Network, initial: &PlacementState, seed: u64) -> Result<(), SolverError>;

    /// Decides slot `t`: the slot as observed (tasks, gains, associations, regime
    /// signal) and the placement state at its start.
    fn decide(&mut self, t: usize, slot: &Slot, state: &PlacementState) -> Result<SlotDecision, SolverError>;
}

/// An offline solver of whole episodes (it sees every slot in advance).
pub trait EpisodeSolver: Send + Sync {
    fn name(&self) -> &str;

    fn version(&self) -> String {
        env!("CARGO_PKG_VERSION").to_string()
    }

    /// Solves a validated episode.
    fn solve_episode(&self, ep: &Episode, opts: &SolveOptions) -> Result<EpisodeReport, SolverError>;
}

/// An offline solver's answer: the plan, a status, an optional upper bound on `A_ep`.
#[derive(Debug, Clone)]
pub struct EpisodeReport {
    pub decisions: Vec<SlotDecision>,
    pub status: Status,
    pub reason: String,
    pub bound: Option<f64>,
    pub stats: BTreeMap<String, f64>,
}

/// Why an online run did not produce an evaluation.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("policy `{policy}`, slot {slot}")]
    Policy {
        policy: String,
        slot: usize,
        #[source]
        source: SolverError,
    },
    #[error("policy `{policy}` broke a rule")]
    Invalid {
        policy: String,
        #[source]
        source: EpisodeViolation,
    },
}

/// A completed online run: the evaluation, the decisions and the decision time of
/// every slot (seconds spent in [`OnlinePolicy::decide`]).
#[derive(Debug, Clone)]
pub struct EpisodeRun {
    pub evaluation: EpisodeEvaluation,
    pub decisions: Vec<SlotDecision>,
    pub decision_s: Vec<f64>,
    /// Seconds spent in [`OnlinePolicy::reset`].
    pub reset_s: f64,
}

/// Runs `policy` over a validated episode: reset, then one slot at a time in order,
/// each decision replayed by the episode evaluator before the next slot is shown. A
/// decision that breaks a rule ends the run with an error (never a low score).
pub fn run_online(policy: &mut dyn OnlinePolicy, ep: &Episode, seed: u64) -> Result<EpisodeRun, RunError> {
    let name = policy.name().to_string();
    let start = Instant::now();
    policy.reset(&ep.network, &ep.initial, seed).map_err(|source| RunError::Policy {
        policy: name.clone(),
        slot: 0,
        source,
    })?;
    let reset_s = start.elapsed().as_secs_f64();
    let mut replay = Replay::new(ep);
    let mut decisions = Vec::with_capacity(ep.slots.len());
    let mut decision_s = Vec::with_capacity(ep.slots.len());
    for (t, slot) in ep.slots.iter().enumerate() {
        let start = Instant::now();
        let d = policy.decide(t, slot, replay.state()).map_err(|source| RunError::Policy {
            policy: name.clone(),
            slot: t,
            source,
        })?;
        decision_s.push(start.elapsed().as_secs_f64());
        replay.step(&d).map_err(|source| RunError::Invalid { policy: name.clone(), source })?;
        decisions.push(d);
    }
    let evaluation = replay.finish().map_err(|source| RunError::Invalid { policy: name, source })?;
    Ok(EpisodeRun { evaluation, decisions, decision_s, reset_s })
}
