//! The benchmark: instance sets, the runner (instances x solvers x seeds -> rows), the
//! statistics, the report and the plots.

pub mod plots;
pub mod report;
pub mod runner;
pub mod scaling;
pub mod sets;
pub mod stats;
pub mod suite;

pub use runner::{load_batch, run_batch, run_one, BatchItem, Job, ResultRow, ResultsFile, RowContext};
