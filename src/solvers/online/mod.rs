//! Online policies over episodes (MODEL.md §9) and their registry: rule-based
//! baselines built on the per-slot optimum with the placement fixed.

pub mod common;
pub mod counterfactual;
pub mod mpc;
pub mod placement_cache;
pub mod rules;
pub mod tune;

pub use mpc::Mpc;
pub use rules::{DemandPlacement, Hysteresis, Lfu, Myopic, RegimePlacement, StaticPlacement};

use std::path::Path;

use crate::solver::online::OnlinePolicy;
use crate::solver::SolverError;
use crate::solvers::drl_online::{DrlOnline, DEFAULT_CHECKPOINT};

pub use tune::ParamSpec;

/// What a registry entry's builder returns (a learned policy may fail to load).
pub type Built = Result<Box<dyn OnlinePolicy>, SolverError>;

/// Loads a learned policy from one checkpoint folder.
pub type LoadCheckpoint = fn(&Path) -> Built;

/// A registered online policy.
pub struct PolicyInfo {
    pub name: &'static str,
    pub description: &'static str,
    /// Tunable parameters (empty for a parameter-free policy).
    pub params: &'static [ParamSpec],
    /// Their defaults (the tuned values, docs/online.md).
    pub defaults: &'static [f64],
    /// Builds the policy with the given parameter values (in the order of `params`).
    pub build_with: fn(&[f64]) -> Built,
    /// A rule-based baseline (the "best rule" of MODEL.md §9.5 is the best of these).
    pub rule_based: bool,
    /// A learned policy with one checkpoint per training seed: the folder under
    /// `models/` holding `seed<k>/`, and how to load one (the bench runs every seed).
    pub checkpoints: Option<(&'static str, LoadCheckpoint)>,
}

impl PolicyInfo {
    /// The policy with its defaults (a learned policy loads its checkpoint).
    pub fn build(&self) -> Result<Box<dyn OnlinePolicy>, SolverError> {
        (self.build_with)(self.defaults)
    }
}

fn drl_online(dir: &Path) -> Built {
    Ok(Box::new(DrlOnline::load(dir)?))
}

/// Every online policy, in report order.
pub fn policies() -> &'static [PolicyInfo] {
    static POLICIES: &[PolicyInfo] = &[
        PolicyInfo {
            name: "static-placement",
            description: "one edge placement for the long-run service mix, never changed",
            params: &[],
            defaults: &[],
            build_with: |_| Ok(Box::new(StaticPlacement::default())),
            rule_based: true,
            checkpoints: None,
        },
        PolicyInfo {
            name: "regime-placement",
            description: "for each production regime, static-placement's placement for that regime's demand; follows the regime signal",
            params: &[],
            defaults: &[],
            build_with: |_| Ok(Box::new(RegimePlacement::default())),
            rule_based: true,
            checkpoints: None,
        },
        PolicyInfo {
            name: "demand-placement",
            description: "the placement optimal for the devices' current services (remembered since the regime began), recomputed when a regime starts or a new device shows up",
            params: &[],
            defaults: &[],
            build_with: |_| Ok(Box::new(DemandPlacement::default())),
            rule_based: true,
            checkpoints: None,
        },
        PolicyInfo {
            name: "lfu",
            description: "edge caches by decayed request counts per MB",
            params: &[ParamSpec { name: "decay", lo: 0.0, hi: 1.0 }],
            defaults: &rules::LFU_DEFAULTS,
            build_with: |p| Ok(Box::new(Lfu::new(p[0]))),
            rule_based: true,
            checkpoints: None,
        },
        PolicyInfo {
            name: "myopic",
            description: "each slot, the placement optimal for this slot becomes the download target",
            params: &[],
            defaults: &[],
            build_with: |_| Ok(Box::new(Myopic::default())),
            rule_based: true,
            checkpoints: None,
        },
        PolicyInfo {
            name: "hysteresis",
            description: "myopic, switching a server only when the projected gain exceeds the download cost",
            params: &[
                ParamSpec { name: "horizon", lo: 1.0, hi: 60.0 },
                ParamSpec { name: "threshold", lo: 0.0, hi: 20.0 },
            ],
            defaults: &rules::HYSTERESIS_DEFAULTS,
            build_with: |p| Ok(Box::new(Hysteresis::new(p[0], p[1]))),
            rule_based: true,
            checkpoints: None,
        },
        PolicyInfo {
            name: "mpc",
            description: "rolling-horizon plan of the exact episode MILP over the observed slot and the expected demand",
            params: &[ParamSpec { name: "horizon", lo: 1.0, hi: 10.0 }],
            defaults: &mpc::MPC_DEFAULTS,
            build_with: |p| Ok(Box::new(Mpc::new(p[0]))),
            rule_based: true,
            checkpoints: None,
        },
        PolicyInfo {
            name: "ddpg-online",
            description: "the DDPG benchmark on episodes: the one-shot action per slot, its cache scores as edge placement targets",
            params: &[],
            defaults: &[],
            build_with: |_| crate::solvers::ddpg::online_policy::build_default(),
            rule_based: false,
            checkpoints: Some(("ddpg-online", |dir| {
                Ok(Box::new(crate::solvers::ddpg::online_policy::DdpgOnline::load(dir)?))
            })),
        },
        PolicyInfo {
            name: "drl-online",
            description: "the proposed scheme: a learned edge placement (trained scorer over the models that fit, static-placement as its prior), each slot assigned by dp",
            params: &[],
            defaults: &[],
            build_with: |_| drl_online(Path::new(DEFAULT_CHECKPOINT)),
            rule_based: false,
            checkpoints: Some(("drl-online", drl_online)),
        },
        PolicyInfo {
            name: "drl-online-prior",
            description: "drl-online untrained: its prior, static-placement's edge targets (so static-placement itself)",
            params: &[],
            defaults: &[],
            build_with: |_| Ok(Box::new(DrlOnline::prior())),
            rule_based: false,
            checkpoints: None,
        },
    ];
    POLICIES
}

/// Builds a registered online policy by name.
pub fn create_policy(name: &str) -> Result<Box<dyn OnlinePolicy>, SolverError> {
    info_policy(name).and_then(PolicyInfo::build)
}

/// The registry entry of an online policy.
pub fn info_policy(name: &str) -> Result<&'static PolicyInfo, SolverError> {
    policies().iter().find(|p| p.name == name).ok_or_else(|| SolverError::Unknown {
        name: name.to_string(),
        known: policies().iter().map(|p| p.name).collect::<Vec<_>>().join(", "),
    })
}

/// Generates an episode (MODEL.md §9.3) with a `warm` start solved by `milp`: each edge
/// server starts with the placement optimal for one warm-up slot of the first regime.
pub fn generate_episode(
    sc: &crate::scenario::Scenario,
    dy: &crate::scenario::Dynamics,
    seed: u64,
    id: &str,
) -> crate::model::Episode {
    use crate::solver::{SolveOptions, Solver};
    // No time limit: the episode must not depend on the machine's speed.
    let warm = |inst: &crate::model::Instance| match crate::solvers::Milp::default()
        .solve(inst, &SolveOptions::default())
    {
        Ok(rep) => rep.solution.edge_cache,
        Err(_) => vec![Vec::new(); inst.edges.len()],
    };
    crate::scenario::generate_episode(sc, dy, seed, id, Some(&warm))
}
