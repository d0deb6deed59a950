//! The benchmark: the runner (instances x solvers x seeds -> rows) and the report.

pub mod report;
pub mod runner;

pub use runner::{load_batch, run_batch, run_one, BatchItem, ResultRow};
