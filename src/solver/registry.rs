//! The registry: solver name -> constructor, for the CLI and the benchmark.

use std::path::PathBuf;

use super::{Solver, SolverError};
use crate::model::Location;
use crate::solvers::drl::construct::Variant;
use crate::solvers::drl::{default_checkpoint, DrlSolver, DrlUntrained};
use crate::solvers::{Greedy, GreedyLocalSearch, OnlyLocation, RandomSolver};
use crate::solvers::{Milp, MilpLp};

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

impl SolverConfig {
    /// The settings as `key=value` pairs (for the results' `options` column).
    pub fn label(&self) -> String {
        let mut parts = Vec::new();
        if let Some(c) = &self.checkpoint {
            parts.push(format!("checkpoint={}", c.display()));
        }
        if let Some(g) = self.mip_rel_gap {
            parts.push(format!("mip_rel_gap={g}"));
        }
        if self.warm_start {
            parts.push("warm_start=true".into());
        }
        if let Some(f) = &self.fallback {
            parts.push(format!("fallback={f}"));
        }
        parts.join(";")
    }
}

/// A registered solver.
pub struct SolverInfo {
    pub name: &'static str,
    pub description: &'static str,
    /// Learned solvers load checkpoints; the benchmark runs them once per training seed.
    pub learned: bool,
    pub build: fn(&SolverConfig) -> Result<Box<dyn Solver>, SolverError>,
}

/// Every registered solver, in the order the benchmark runs them.
pub fn registry() -> &'static [SolverInfo] {
    static REGISTRY: &[SolverInfo] = &[
        SolverInfo {
            name: "random",
            description: "seeded random feasible decisions (a floor, not a baseline)",
            learned: false,
            build: |_| Ok(Box::new(RandomSolver)),
        },
        SolverInfo {
            name: "local-only",
            description: "every task on its device with its most accurate local model",
            learned: false,
            build: |_| Ok(Box::new(OnlyLocation(Location::Local))),
        },
        SolverInfo {
            name: "edge-only",
            description: "edge servers only: coverage-per-MB cache, gain-per-resource assignment",
            learned: false,
            build: |_| Ok(Box::new(OnlyLocation(Location::Edge))),
        },
        SolverInfo {
            name: "cloud-only",
            description: "cloud only: gain-per-resource assignment of RBs",
            learned: false,
            build: |_| Ok(Box::new(OnlyLocation(Location::Cloud))),
        },
        SolverInfo {
            name: "greedy",
            description: "best local base, coverage-per-MB cache, gain-per-resource assignment",
            learned: false,
            build: |_| Ok(Box::new(Greedy)),
        },
        SolverInfo {
            name: "greedy-ls",
            description: "greedy, then local search over assignments and cache contents",
            learned: false,
            build: |_| Ok(Box::new(GreedyLocalSearch)),
        },
        SolverInfo {
            name: "ddpg",
            description: "DDPG benchmark (one-shot view, MODEL.md §8): trained policy, decode and repair",
            learned: true,
            build: |cfg| Ok(Box::new(crate::solvers::DdpgSolver::from_config(cfg)?)),
        },
        SolverInfo {
            name: "milp",
            description:
                "exact MILP (MODEL.md §6) by HiGHS, one per edge server; proven optimum and dual bound",
            learned: false,
            build: |cfg| Ok(Box::new(Milp::from_config(cfg)?)),
        },
        SolverInfo {
            name: "milp-lp",
            description: "LP relaxation of the milp encoding: an upper bound on A, solution by LP rounding",
            learned: false,
            build: |_| Ok(Box::new(MilpLp)),
        },
        SolverInfo {
            name: "drl",
            description: "proposed scheme: learned cache/location/model choices + exact RB/unit packing",
            learned: true,
            build: |cfg| drl_solver(cfg, Variant::Full),
        },
        SolverInfo {
            name: "drl-untrained",
            description:
                "ablation of drl: the same construction with the untrained network (prior rules only)",
            learned: false,
            build: |_| Ok(Box::new(DrlUntrained)),
        },
        SolverInfo {
            name: "drl-nosub",
            description: "ablation of drl: the policy also picks RBs and units (no packing subroutine)",
            learned: true,
            build: |cfg| drl_solver(cfg, Variant::NoSubroutine),
        },
        SolverInfo {
            name: "drl-nomask",
            description: "ablation of drl: no masking, infeasible choices repaired by rejection",
            learned: true,
            build: |cfg| drl_solver(cfg, Variant::NoMasking),
        },
    ];
    REGISTRY
}

fn drl_solver(cfg: &SolverConfig, variant: Variant) -> Result<Box<dyn Solver>, SolverError> {
    let dir = cfg.checkpoint.clone().unwrap_or_else(|| default_checkpoint(variant));
    Ok(Box::new(DrlSolver::load(&dir, variant)?))
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
