//! The runner owns the loop: it times each solve, sends every answer through the
//! evaluator and turns it into a results row. A solver error or an answer the
//! evaluator rejects becomes an `error` row; the batch goes on.

use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::io::{read_instance, read_instance_list, read_scenario_csv, IoError};
use crate::model::{evaluate, Instance};
use crate::scenario::generate;
use crate::solver::{SolveOptions, SolveReport, Solver};

/// One row of a results CSV: one (instance, solver, seed) run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultRow {
    pub instance: String,
    pub n_tasks: usize,
    pub solver: String,
    pub seed: u64,
    /// A [`crate::solver::Status`], or `error` when the solver failed or its answer
    /// broke a constraint.
    pub status: String,
    /// Objective `A` as computed by the evaluator (empty on error).
    pub objective: Option<f64>,
    /// Upper bound reported by the solver, if any.
    pub bound: Option<f64>,
    pub served_fraction: Option<f64>,
    pub local: Option<usize>,
    pub edge: Option<usize>,
    pub cloud: Option<usize>,
    pub rejected: Option<usize>,
    pub rb_utilisation: Option<f64>,
    pub compute_utilisation: Option<f64>,
    /// Wall time of the solve call, measured by the runner.
    pub wall_s: f64,
    /// The solver's reason, or the error message.
    pub message: String,
}

/// Solves `inst` with `solver`, timing the call and judging the answer. The report is
/// returned with the row when the solver produced one.
pub fn run_one(
    inst: &Instance,
    solver: &dyn Solver,
    opts: &SolveOptions,
) -> (ResultRow, Option<SolveReport>) {
    let start = Instant::now();
    let result = solver.solve(inst, opts);
    let wall_s = start.elapsed().as_secs_f64();
    let mut row = ResultRow {
        instance: inst.id.clone(),
        n_tasks: inst.n_tasks(),
        solver: solver.name().to_string(),
        seed: opts.seed,
        status: "error".into(),
        objective: None,
        bound: None,
        served_fraction: None,
        local: None,
        edge: None,
        cloud: None,
        rejected: None,
        rb_utilisation: None,
        compute_utilisation: None,
        wall_s,
        message: String::new(),
    };
    let report = match result {
        Err(e) => {
            row.message = e.to_string();
            return (row, None);
        }
        Ok(report) => report,
    };
    match evaluate(inst, &report.solution) {
        Err(v) => row.message = format!("invalid solution: {v}"),
        Ok(ev) => {
            row.status = report.status.to_string();
            row.objective = Some(ev.objective);
            row.bound = report.bound;
            row.served_fraction = Some(ev.served_fraction);
            row.local = Some(ev.counts.local);
            row.edge = Some(ev.counts.edge);
            row.cloud = Some(ev.counts.cloud);
            row.rejected = Some(ev.counts.rejected);
            row.rb_utilisation = Some(ev.rb_utilisation);
            row.compute_utilisation = Some(ev.compute_utilisation);
            row.message = report.reason.clone();
        }
    }
    (row, Some(report))
}

/// Where an instance of a batch comes from.
#[derive(Debug, Clone)]
pub enum BatchItem {
    /// A row of a scenario CSV, generated on demand.
    Scenario(Box<crate::io::ScenarioRow>),
    /// A file of an instance list.
    File(PathBuf),
}

impl BatchItem {
    /// The instance, generated or read and validated.
    pub fn instance(&self) -> Result<Instance, IoError> {
        match self {
            BatchItem::Scenario(row) => Ok(generate(&row.scenario, row.seed, &row.id)),
            BatchItem::File(path) => read_instance(path),
        }
    }
}

/// Reads a batch from a scenario CSV or an instance list: the good items and the
/// errors of the bad rows (each naming its file and line).
pub fn load_batch(
    scenarios: Option<&Path>,
    list: Option<&Path>,
) -> Result<(Vec<BatchItem>, Vec<IoError>), IoError> {
    let mut items = Vec::new();
    let mut errors = Vec::new();
    if let Some(path) = scenarios {
        for row in read_scenario_csv(path)? {
            match row {
                Ok(r) => items.push(BatchItem::Scenario(Box::new(r))),
                Err(e) => errors.push(e),
            }
        }
    }
    if let Some(path) = list {
        for row in read_instance_list(path)? {
            match row {
                Ok(r) => items.push(BatchItem::File(r.path)),
                Err(e) => errors.push(e),
            }
        }
    }
    Ok((items, errors))
}

/// A progress bar on stderr, hidden when stderr is not a terminal.
pub fn progress_bar(len: u64, what: &str) -> ProgressBar {
    use std::io::IsTerminal;
    let pb = ProgressBar::with_draw_target(
        Some(len),
        if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    pb.set_style(
        ProgressStyle::with_template("{prefix} [{elapsed_precise}] {wide_bar} {pos}/{len} (eta {eta}) {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb.set_prefix(what.to_string());
    pb
}

/// Runs every solver with every seed on every item, in parallel over items. Returns
/// the rows in (item, solver, seed) order and the items that could not be loaded.
pub fn run_batch(
    items: &[BatchItem],
    solvers: &[Box<dyn Solver>],
    seeds: &[u64],
    base: &SolveOptions,
    progress: &ProgressBar,
) -> (Vec<ResultRow>, Vec<IoError>) {
    let per_item: Vec<Result<Vec<ResultRow>, IoError>> = items
        .par_iter()
        .map(|item| {
            let inst = item.instance()?;
            let mut rows = Vec::with_capacity(solvers.len() * seeds.len());
            for solver in solvers {
                for &seed in seeds {
                    let opts = SolveOptions { seed, ..base.clone() };
                    let (row, _) = run_one(&inst, solver.as_ref(), &opts);
                    progress.set_message(format!("{} {}", row.solver, row.instance));
                    rows.push(row);
                }
            }
            progress.inc(1);
            Ok(rows)
        })
        .collect();
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for r in per_item {
        match r {
            Ok(mut v) => rows.append(&mut v),
            Err(e) => errors.push(e),
        }
    }
    (rows, errors)
}

/// Writes rows as CSV, atomically.
pub fn write_rows(path: &Path, rows: &[ResultRow]) -> Result<(), IoError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r)
            .map_err(|e| IoError::Write { path: path.to_path_buf(), source: std::io::Error::other(e) })?;
    }
    let bytes =
        w.into_inner().map_err(|e| IoError::Write { path: path.to_path_buf(), source: e.into_error() })?;
    crate::io::json::write_atomic(path, &bytes)
}

/// Reads a results CSV written by [`write_rows`].
pub fn read_rows(path: &Path) -> Result<Vec<ResultRow>, IoError> {
    let mut rdr = csv::Reader::from_path(path)
        .map_err(|e| IoError::Read { path: path.to_path_buf(), source: std::io::Error::other(e) })?;
    rdr.deserialize()
        .map(|r| {
            r.map_err(|e: csv::Error| IoError::Csv {
                path: path.to_path_buf(),
                line: e.position().map(|p| p.line()).unwrap_or(0),
                column: None,
                reason: e.to_string(),
            })
        })
        .collect()
}
