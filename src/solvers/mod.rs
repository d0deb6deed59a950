//! The registry, then one file or folder per solver, plus the partial-solution state
//! the heuristics share. A learned solver's folder holds its environment (`env`), its
//! inference (`policy`, used by the solver) and its training (`train`, used only by
//! `dnnrm train`): inference never imports training.

pub mod baselines;
pub mod brute_force;
pub mod ddpg;
pub mod dp;
pub mod drl;
pub mod drl_online;
pub mod greedy;
pub mod hindsight;
pub mod local_search;
pub mod milp;
pub mod online;
pub mod partial;
pub mod registry;

pub use baselines::{OnlyLocation, RandomSolver};
pub use brute_force::brute_force_optimum;
pub use ddpg::DdpgSolver;
pub use dp::SlotDp;
pub use greedy::Greedy;
pub use hindsight::Hindsight;
pub use local_search::GreedyLocalSearch;
pub use milp::{Milp, MilpLp};
pub use registry::{create, info, registry, Family, SolverInfo};
