//! The benchmark: jobs (which solver configurations run), the runner (every run goes
//! through one path that times it and judges the answer), instance sets, the suite
//! behind `dnnrm bench`, the MILP scaling table, statistics, the report and the plots.

pub mod hindsight_scaling;
pub mod jobs;
pub mod online;
pub mod plots;
pub mod report;
pub mod runner;
pub mod scaling;
pub mod sets;
pub mod stats;
pub mod suite;

pub use jobs::{build_jobs, JobSpec, Jobs};
pub use runner::{load_batch, run_batch, run_job, run_one, BatchItem, Job, RowContext, EXACT_SOLVER};
