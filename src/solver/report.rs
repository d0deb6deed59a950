//! What a solver returns.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::Solution;

/// Termination status of a solve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Proven optimal (within the reported gap) by an exact solver.
    Optimal,
    /// Stopped by a positive relative MIP gap: within that gap of the optimum, not
    /// proven optimal (never a yardstick for ratios to the optimum).
    GapLimit,
    /// A complete answer of a heuristic or learned policy: no optimality claim.
    Heuristic,
    /// The time limit stopped the solver; the solution is its best incumbent.
    TimeLimit,
    /// No solution was found; the solution is the trivial reject-all.
    NoSolution,
    /// The solver failed and a fallback solver produced the solution (see the reason).
    Fallback,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Optimal => "optimal",
            Status::GapLimit => "gap-limit",
            Status::Heuristic => "heuristic",
            Status::TimeLimit => "time-limit",
            Status::NoSolution => "no-solution",
            Status::Fallback => "fallback",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A solver's answer: the solution, a status with its reason, an optional upper bound
/// on the objective and named statistics (e.g. `nodes`, `build_s`, `repaired`).
#[derive(Debug, Clone)]
pub struct SolveReport {
    pub solution: Solution,
    pub status: Status,
    pub reason: String,
    /// Upper bound on the objective `A` (exact solvers), if known.
    pub bound: Option<f64>,
    pub stats: BTreeMap<String, f64>,
}

impl SolveReport {
    /// A report with no bound and no statistics.
    pub fn new(solution: Solution, status: Status, reason: impl Into<String>) -> Self {
        SolveReport { solution, status, reason: reason.into(), bound: None, stats: BTreeMap::new() }
    }

    /// Adds one statistic.
    pub fn with_stat(mut self, name: &str, value: f64) -> Self {
        self.stats.insert(name.to_string(), value);
        self
    }
}

impl From<Status> for crate::io::RowStatus {
    fn from(s: Status) -> Self {
        use crate::io::RowStatus as R;
        match s {
            Status::Optimal => R::Optimal,
            Status::GapLimit => R::GapLimit,
            Status::Heuristic => R::Heuristic,
            Status::TimeLimit => R::TimeLimit,
            Status::NoSolution => R::NoSolution,
            Status::Fallback => R::Fallback,
        }
    }
}
