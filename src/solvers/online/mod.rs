//! Online policies over episodes (MODEL.md §9) and their registry: rule-based
//! baselines built on the per-slot optimum with the placement fixed.

pub mod common;
pub mod mpc;
pub mod rules;
pub mod tune;

pub use mpc::Mpc;
pub use rules::{Hysteresis, Lfu, Myopic, StaticPlacement};

use crate::solver::online::OnlinePolicy;
use crate::solver::SolverError;

pub use tune::ParamSpec;

/// A registered online policy.
pub struct PolicyInfo {
    pub name: &'static str,
    pub description: &'static str,
    /// Tunable parameters (empty for a parameter-free policy).
    pub params: &'static [ParamSpec],
    /// Their defaults (the tuned values, docs/online.md).
    pub defaults: &'static [f64],
    /// Builds the policy with the given parameter values (in the order of `params`).
    pub build_with: fn(&[f64]) -> Box<dyn OnlinePolicy>,
}

impl PolicyInfo {
    /// The policy with its defaults.
    pub fn build(&self) -> Box<dyn OnlinePolicy> {
        (self.build_with)(self.defaults)
    }
}

/// Every online policy, in report order.
pub fn policies() -> &'static [PolicyInfo] {
    static POLICIES: &[PolicyInfo] = &[
        PolicyInfo {
            name: "static-placement",
            description: "one edge placement for the long-run service mix, never changed",
            params: &[],
            defaults: &[],
            build_with: |_| Box::new(StaticPlacement::default()),
        },
        PolicyInfo {
            name: "lfu",
            description: "edge caches by decayed request counts per MB",
            params: &[ParamSpec { name: "decay", lo: 0.0, hi: 1.0 }],
            defaults: &rules::LFU_DEFAULTS,
            build_with: |p| Box::new(Lfu::new(p[0])),
        },
        PolicyInfo {
            name: "myopic",
            description: "each slot, the placement optimal for this slot becomes the download target",
            params: &[],
            defaults: &[],
            build_with: |_| Box::new(Myopic::default()),
        },
        PolicyInfo {
            name: "hysteresis",
            description: "myopic, switching a server only when the projected gain exceeds the download cost",
            params: &[
                ParamSpec { name: "horizon", lo: 1.0, hi: 60.0 },
                ParamSpec { name: "threshold", lo: 0.0, hi: 20.0 },
            ],
            defaults: &rules::HYSTERESIS_DEFAULTS,
            build_with: |p| Box::new(Hysteresis::new(p[0], p[1])),
        },
        PolicyInfo {
            name: "mpc",
            description: "rolling-horizon plan of the exact episode MILP over the observed slot and the expected demand",
            params: &[ParamSpec { name: "horizon", lo: 1.0, hi: 10.0 }],
            defaults: &mpc::MPC_DEFAULTS,
            build_with: |p| Box::new(Mpc::new(p[0])),
        },
    ];
    POLICIES
}

/// Builds a registered online policy by name.
pub fn create_policy(name: &str) -> Result<Box<dyn OnlinePolicy>, SolverError> {
    info_policy(name).map(PolicyInfo::build)
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
    let warm = |inst: &crate::model::Instance| {
        match crate::solvers::Milp::default().solve(inst, &SolveOptions::default()) {
            Ok(rep) => rep.solution.edge_cache,
            Err(_) => vec![Vec::new(); inst.edges.len()],
        }
    };
    crate::scenario::generate_episode(sc, dy, seed, id, Some(&warm))
}
