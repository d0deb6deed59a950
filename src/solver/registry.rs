//! The registry: solver name -> constructor, for the CLI and the benchmark.

use std::path::PathBuf;

use super::{Solver, SolverError};
use crate::model::Location;
use crate::solvers::{Greedy, GreedyLocalSearch, OnlyLocation, RandomSolver};

/// Solver-specific settings from the command line. Solvers ignore what they do not use.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SolverConfig {
    /// Folder of trained checkpoints (learned solvers).
    pub checkpoint: Option<PathBuf>,
    /// Relative MIP gap at which the MILP stops (default 0).
    pub mip_rel_gap: Option<f64>,
    /// Warm-start the MILP from `greedy-ls`.
    pub warm_start: bool,
    /// Solver whose answer is returned, labelled `fallback`, when the primary fails.
    pub fallback: Option<String>,
}

/// A registered solver.
pub struct SolverInfo {
    pub name: &'static str,
    pub description: &'static str,
    pub build: fn(&SolverConfig) -> Result<Box<dyn Solver>, SolverError>,
}

/// Every registered solver, in the order the benchmark runs them.
pub fn registry() -> &'static [SolverInfo] {
    static REGISTRY: &[SolverInfo] = &[
        SolverInfo {
            name: "random",
            description: "seeded random feasible decisions (a floor, not a baseline)",
            build: |_| Ok(Box::new(RandomSolver)),
        },
        SolverInfo {
            name: "local-only",
            description: "every task on its device with its most accurate local model",
            build: |_| Ok(Box::new(OnlyLocation(Location::Local))),
        },
        SolverInfo {
            name: "edge-only",
            description: "edge servers only: coverage-per-MB cache, gain-per-resource assignment",
            build: |_| Ok(Box::new(OnlyLocation(Location::Edge))),
        },
        SolverInfo {
            name: "cloud-only",
            description: "cloud only: gain-per-resource assignment of RBs",
            build: |_| Ok(Box::new(OnlyLocation(Location::Cloud))),
        },
        SolverInfo {
            name: "greedy",
            description: "best local base, coverage-per-MB cache, gain-per-resource assignment",
            build: |_| Ok(Box::new(Greedy)),
        },
        SolverInfo {
            name: "greedy-ls",
            description: "greedy, then local search over assignments and cache contents",
            build: |_| Ok(Box::new(GreedyLocalSearch)),
        },
    ];
    REGISTRY
}

/// Builds the solver registered under `name`.
pub fn create(name: &str, cfg: &SolverConfig) -> Result<Box<dyn Solver>, SolverError> {
    match registry().iter().find(|s| s.name == name) {
        Some(info) => (info.build)(cfg),
        None => Err(SolverError::Unknown {
            name: name.to_string(),
            known: registry().iter().map(|s| s.name).collect::<Vec<_>>().join(", "),
        }),
    }
}
