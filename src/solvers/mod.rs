//! One file per solver, plus the partial-solution state they share.

pub mod baselines;
pub mod drl;
pub mod greedy;
pub mod local_search;
pub mod partial;

pub use baselines::{OnlyLocation, RandomSolver};
pub use greedy::Greedy;
pub use local_search::GreedyLocalSearch;
