//! Online policies over episodes (MODEL.md §9) and their registry: rule-based
//! baselines built on the per-slot optimum with the placement fixed.

pub mod common;
pub mod rules;

pub use rules::{Lfu, Myopic, StaticPlacement};

use crate::solver::online::OnlinePolicy;
use crate::solver::SolverError;

/// A registered online policy.
pub struct PolicyInfo {
    pub name: &'static str,
    pub description: &'static str,
    pub build: fn() -> Box<dyn OnlinePolicy>,
}

/// Every online policy, in report order.
pub fn policies() -> &'static [PolicyInfo] {
    static POLICIES: &[PolicyInfo] = &[
        PolicyInfo {
            name: "static-placement",
            description: "one edge placement for the long-run service mix, never changed",
            build: || Box::new(StaticPlacement::default()),
        },
        PolicyInfo {
            name: "lfu",
            description: "edge caches by decayed request counts per MB",
            build: || Box::new(Lfu::default()),
        },
        PolicyInfo {
            name: "myopic",
            description: "each slot, the placement optimal for this slot becomes the download target",
            build: || Box::new(Myopic::default()),
        },
    ];
    POLICIES
}

/// Builds a registered online policy by name.
pub fn create_policy(name: &str) -> Result<Box<dyn OnlinePolicy>, SolverError> {
    policies().iter().find(|p| p.name == name).map(|p| (p.build)()).ok_or_else(|| SolverError::Unknown {
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
