//! The registry: solver name -> constructor, for the CLI and the benchmark. Each entry
//! declares the settings its solver takes; [`create`] refuses the others.

use std::path::{Path, PathBuf};

use crate::model::Location;
use crate::solver::{Setting, Solver, SolverError, SolverSettings};

use super::ddpg::DdpgSolver;
use super::drl::{DrlSolver, DrlUntrained, Variant};
use super::milp::{Milp, MilpLp};
use super::{Greedy, GreedyLocalSearch, OnlyLocation, RandomSolver, SlotDp};

/// A registered solver.
pub struct SolverInfo {
    pub name: &'static str,
    pub description: &'static str,
    /// Learned solvers load checkpoints; the benchmark runs them once per training seed.
    pub learned: bool,
    /// Which family plots and tables group it with.
    pub family: Family,
    /// The settings this solver takes; any other given setting is an error.
    pub settings: &'static [Setting],
    /// Builds the solver from settings already checked to be among `settings`.
    pub build: fn(&SolverSettings) -> Result<Box<dyn Solver>, SolverError>,
}

const LEARNED: &[Setting] = &[Setting::Checkpoint];

/// How a solver is grouped in plots and tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Family {
    /// The MILP and its LP relaxation.
    Exact,
    /// Rules and local search.
    Heuristic,
    /// Trained policies (the proposed scheme and the DDPG benchmark).
    Learned,
    /// Ablations of the proposed scheme.
    Ablation,
}

impl Family {
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Exact => "exact",
            Family::Heuristic => "heuristic",
            Family::Learned => "learned",
            Family::Ablation => "ablation",
        }
    }
}

/// Every registered solver, in the order the benchmark runs them.
pub fn registry() -> &'static [SolverInfo] {
    static REGISTRY: &[SolverInfo] = &[
        SolverInfo {
            name: "random",
            description: "seeded random feasible decisions (a floor, not a baseline)",
            learned: false,
            family: Family::Heuristic,
            settings: &[],
            build: |_| Ok(Box::new(RandomSolver)),
        },
        SolverInfo {
            name: "local-only",
            description: "every task on its device with its most accurate local model",
            learned: false,
            family: Family::Heuristic,
            settings: &[],
            build: |_| Ok(Box::new(OnlyLocation(Location::Local))),
        },
        SolverInfo {
            name: "edge-only",
            description: "edge servers only: coverage-per-MB cache, gain-per-resource assignment",
            learned: false,
            family: Family::Heuristic,
            settings: &[],
            build: |_| Ok(Box::new(OnlyLocation(Location::Edge))),
        },
        SolverInfo {
            name: "cloud-only",
            description: "cloud only: gain-per-resource assignment of RBs",
            learned: false,
            family: Family::Heuristic,
            settings: &[],
            build: |_| Ok(Box::new(OnlyLocation(Location::Cloud))),
        },
        SolverInfo {
            name: "greedy",
            description: "best local base, coverage-per-MB cache, gain per scarcity-priced resource",
            learned: false,
            family: Family::Heuristic,
            settings: &[],
            build: |_| Ok(Box::new(Greedy)),
        },
        SolverInfo {
            name: "greedy-ls",
            description: "greedy, then local search over assignments and cache contents",
            learned: false,
            family: Family::Heuristic,
            settings: &[],
            build: |_| Ok(Box::new(GreedyLocalSearch)),
        },
        SolverInfo {
            name: "dp",
            description:
                "greedy's coverage-per-MB cache (every resident model when the placement is fixed), \
                          then the exact per-server assignment by dynamic programming over RBs and units",
            learned: false,
            family: Family::Heuristic,
            settings: &[],
            build: |_| Ok(Box::new(SlotDp)),
        },
        SolverInfo {
            name: "ddpg",
            description: "DDPG benchmark (one-shot view, MODEL.md §8): trained policy, decode and repair",
            learned: true,
            family: Family::Learned,
            settings: LEARNED,
            build: |s| {
                let dir = checkpoint_or(s, Path::new(super::ddpg::DEFAULT_CHECKPOINT));
                Ok(Box::new(DdpgSolver::load(&dir)?))
            },
        },
        SolverInfo {
            name: "milp",
            description:
                "exact MILP (MODEL.md §6) by HiGHS, one per edge server; proven optimum and dual bound",
            learned: false,
            family: Family::Exact,
            settings: &[Setting::MipGap, Setting::WarmStart],
            build: |s| {
                let milp = Milp::new(s.mip_rel_gap.unwrap_or(0.0), s.warm_start)
                    .map_err(|e| SolverError::Config { solver: "milp".into(), reason: e.to_string() })?;
                Ok(Box::new(milp))
            },
        },
        SolverInfo {
            name: "milp-lp",
            description: "LP relaxation of the milp encoding: an upper bound on A, solution by LP rounding",
            learned: false,
            family: Family::Exact,
            settings: &[],
            build: |_| Ok(Box::new(MilpLp)),
        },
        SolverInfo {
            name: "drl",
            description: "proposed scheme: learned cache/location/model choices + exact RB/unit packing, then the exact assignment (dp) on the learned cache",
            learned: true,
            family: Family::Learned,
            settings: LEARNED,
            build: |s| drl_solver(s, Variant::Full),
        },
        SolverInfo {
            name: "drl-default-trained",
            description: "the previous drl policy, trained on default-like instances only (one device class)",
            learned: true,
            family: Family::Ablation,
            settings: LEARNED,
            build: |s| {
                let dir = checkpoint_or(s, Path::new("models/drl-default-trained/seed0"));
                Ok(Box::new(DrlSolver::load_named(&dir, Variant::Full, "drl-default-trained")?))
            },
        },
        SolverInfo {
            name: "drl-untrained",
            description:
                "ablation of drl: the same construction with the untrained network (prior rules only)",
            learned: false,
            family: Family::Ablation,
            settings: &[],
            build: |_| Ok(Box::new(DrlUntrained)),
        },
        SolverInfo {
            name: "drl-noexact",
            description: "ablation of drl: the learned construction alone, without the exact assignment stage (checkpoint of drl)",
            learned: false,
            family: Family::Ablation,
            settings: LEARNED,
            build: |s| {
                let dir = checkpoint_or(s, &super::drl::default_checkpoint(Variant::Full));
                Ok(Box::new(DrlSolver::load(&dir, Variant::Full)?.without_exact_stage("drl-noexact")))
            },
        },
        SolverInfo {
            name: "drl-nosub",
            description: "ablation of drl: the policy also picks RBs and units (no packing subroutine)",
            learned: true,
            family: Family::Ablation,
            settings: LEARNED,
            build: |s| drl_solver(s, Variant::NoSubroutine),
        },
        SolverInfo {
            name: "drl-nomask",
            description: "ablation of drl: no masking, infeasible choices repaired by rejection",
            learned: true,
            family: Family::Ablation,
            settings: LEARNED,
            build: |s| drl_solver(s, Variant::NoMasking),
        },
    ];
    REGISTRY
}

fn checkpoint_or(s: &SolverSettings, default: &Path) -> PathBuf {
    s.checkpoint.clone().unwrap_or_else(|| default.to_path_buf())
}

fn drl_solver(s: &SolverSettings, variant: Variant) -> Result<Box<dyn Solver>, SolverError> {
    let dir = checkpoint_or(s, &super::drl::default_checkpoint(variant));
    Ok(Box::new(DrlSolver::load(&dir, variant)?))
}

/// The registry entry of `name`.
pub fn info(name: &str) -> Result<&'static SolverInfo, SolverError> {
    registry().iter().find(|s| s.name == name).ok_or_else(|| SolverError::Unknown {
        name: name.to_string(),
        known: registry().iter().map(|s| s.name).collect::<Vec<_>>().join(", "),
    })
}

/// Builds the solver registered under `name`, after refusing every given setting it
/// does not take.
pub fn create(name: &str, settings: &SolverSettings) -> Result<Box<dyn Solver>, SolverError> {
    let info = info(name)?;
    settings.check_applicable(info.name, info.settings)?;
    (info.build)(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inapplicable_settings_and_unknown_names_are_refused() {
        let gap = SolverSettings { mip_rel_gap: Some(0.1), ..Default::default() };
        let e = create("greedy", &gap).err().expect("refused").to_string();
        assert!(e.contains("--mip-gap") && e.contains("greedy"), "{e}");
        assert!(create("milp", &gap).is_ok());
        let bad_gap = SolverSettings { mip_rel_gap: Some(-1.0), ..Default::default() };
        assert!(create("milp", &bad_gap).err().expect("refused").to_string().contains("mip_rel_gap"));
        let e = create("nosuch", &SolverSettings::default()).err().expect("refused").to_string();
        assert!(e.contains("nosuch") && e.contains("greedy-ls"), "{e}");
        let ckpt = SolverSettings { checkpoint: Some("x".into()), ..Default::default() };
        assert!(create("milp", &ckpt).err().expect("refused").to_string().contains("--checkpoint"));
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<&str> = registry().iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), registry().len());
    }
}
