//! The `Solver` trait, its options, settings, status and report, and its errors. A
//! leaf: nothing here imports a solver (the registry lives in the `solvers` folder).

pub mod online;
pub mod report;
pub mod settings;

pub use report::{SolveReport, Status};
pub use settings::{Setting, SolverSettings};

use std::time::{Duration, Instant};

use crate::model::Instance;

/// Options every run has, set by the runner. Solvers that do not use one ignore it.
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

    /// The `options` column's part common to every solver: time limit and threads.
    pub fn label(&self) -> String {
        let tl = self.time_limit.map_or("none".to_string(), |t| format!("{}s", t.as_secs_f64()));
        format!("time_limit={tl};threads={}", self.threads)
    }
}

/// Any error, kept whole so its chain of causes can be shown.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a solver could not be built or could not produce a report.
#[derive(Debug, thiserror::Error)]
pub enum SolverError {
    #[error("unknown solver `{name}`; registered solvers: {known}")]
    Unknown { name: String, known: String },
    #[error("solver `{solver}`: invalid configuration: {reason}")]
    Config { solver: String, reason: String },
    /// A learned solver's checkpoint could not be loaded (the source says why).
    #[error("solver `{solver}`: cannot load checkpoint {path}")]
    Checkpoint {
        solver: String,
        path: std::path::PathBuf,
        #[source]
        source: BoxError,
    },
    #[error("solver `{solver}` failed: {reason}")]
    Failed { solver: String, reason: String },
}

/// A solver of MODEL.md. Object-safe, so solvers are used as `Box<dyn Solver>`.
///
/// A solver only solves: the runner times it, enforces the fallback and sends its
/// answer to the evaluator. It does not print, time itself for reporting, or write
/// files.
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
