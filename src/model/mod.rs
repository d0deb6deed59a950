//! The problem of MODEL.md: instances, solutions, the physics of delays, option
//! enumeration (§6) and the evaluator, the only place the objective is computed; and
//! episodes of §9 with their evaluator, the only place `A_ep` is computed.

pub mod delay;
pub mod episode;
pub mod episode_eval;
pub mod evaluate;
pub mod instance;
pub mod limits;
pub mod options;
pub mod solution;

pub use episode::{
    Demand, Download, DownloadPlan, Episode, EpisodeDecisions, EpisodeDevice, Holdings, Network,
    PlacementState, Regime, Slot, SlotDecision, SlotTask, Store, EPISODE_FORMAT_VERSION,
};
pub use episode_eval::{evaluate_episode, EpisodeEvaluation, EpisodeViolation, Replay, Site, SlotOutcome};
pub use evaluate::{evaluate, Evaluation, LocationCounts, TaskOutcome, Violation};
pub use instance::{Cloud, Device, DnnModel, EdgeServer, Instance, InstanceError, Physics, Resident, Task};
pub use options::{enumerate_options, CloudOption, EdgeOption, LocalOption, TaskOptions};
pub use solution::{Assignment, Decision, Location, Solution};

/// Format version written into and required from every instance and solution file.
pub const FORMAT_VERSION: u32 = 1;

/// Relative deadline tolerance of MODEL.md §4.5, shared by every component.
pub const DEADLINE_RTOL: f64 = 1e-9;

/// `delay <= deadline` with the relative tolerance of MODEL.md §4.5.
#[inline]
pub fn meets_deadline(delay: f64, deadline: f64) -> bool {
    delay <= deadline * (1.0 + DEADLINE_RTOL)
}
