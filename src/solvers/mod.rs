//! One file per solver, plus the partial-solution state they share.

pub mod baselines;
pub mod brute_force;
pub mod ddpg;
pub mod drl;
pub mod greedy;
pub mod local_search;
pub mod milp;
pub mod partial;

pub use baselines::{OnlyLocation, RandomSolver};
pub use brute_force::brute_force_optimum;
pub use ddpg::DdpgSolver;
pub use greedy::Greedy;
pub use local_search::GreedyLocalSearch;
pub use milp::{Milp, MilpLp};
