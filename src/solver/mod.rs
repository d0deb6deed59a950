//! The `Solver` trait, its options and report, and the registry of solvers by name.

pub mod registry;
pub mod report;

pub use registry::{create, registry, SolverConfig, SolverInfo};
pub use report::{SolveReport, Status};

use std::time::{Duration, Instant};

use crate::model::Instance;

/// Options every solver receives. Solvers that do not use one ignore it.
#[derive(Debug, Clone, PartialEq)]
pub struct SolveOptions {
    /// Seed of every random choice the solver makes.
    pub seed: u64,
    /// Wall-clock limit; `None` for no limit. Reaching it is a status, not an error.
    pub time_limit: Option<Duration>,
    /// Threads the solver may use (the MILP passes it to HiGHS).
    pub threads: usize,
}

impl Default for SolveOptions {
    fn default() -> Self {
        SolveOptions { seed: 0, time_limit: None, threads: 1 }
    }
}

impl SolveOptions {
    /// The instant at which the time limit expires, counted from `start`.
    pub fn deadline(&self, start: Instant) -> Option<Instant> {
        self.time_limit.map(|t| start + t)
    }
}

/// Why a solver could not produce a report.
#[derive(Debug, thiserror::Error)]
pub enum SolverError {
    #[error("unknown solver `{name}`; registered solvers: {known}")]
    Unknown { name: String, known: String },
    #[error("solver `{solver}`: invalid configuration: {reason}")]
    Config { solver: String, reason: String },
    #[error("solver `{solver}` failed: {reason}")]
    Failed { solver: String, reason: String },
}

/// A solver of MODEL.md. Object-safe, so solvers are used as `Box<dyn Solver>`.
///
/// A solver only solves: the runner times it and the evaluator judges its answer. It
/// does not print, time itself for reporting, or write files.
pub trait Solver: Send + Sync {
    /// The registry name, e.g. `greedy-ls`.
    fn name(&self) -> &str;

    /// The solver's version, recorded in every results row: the crate version, plus
    /// what identifies the solver's own state (e.g. a learned solver's checkpoint).
    fn version(&self) -> String {
        env!("CARGO_PKG_VERSION").to_string()
    }

    /// Solves one instance. The instance has been validated.
    fn solve(&self, inst: &Instance, opts: &SolveOptions) -> Result<SolveReport, SolverError>;
}

/// True when `deadline` has passed.
pub fn expired(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|d| Instant::now() >= d)
}
