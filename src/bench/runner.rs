//! The runner owns the loop: it times each solve, sends every answer through the
//! evaluator and turns it into a results row. A solver error or an answer the
//! evaluator rejects becomes an `error` row; the batch goes on.
//!
//! Long runs are safe to stop: after each instance the results file is rewritten
//! atomically (temporary file, then rename), so Ctrl-C leaves a valid file, and a rerun
//! skips the rows already present for the same (instance, solver, options, seed,
//! revision).

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::io::{read_instance, read_instance_list, read_scenario_csv, IoError};
use crate::model::{evaluate, Instance};
use crate::scenario::generate;
use crate::solver::{SolveOptions, SolveReport, Solver};

/// Name of the exact solver whose proven optima are the yardstick.
pub const EXACT_SOLVER: &str = "milp";

/// One row of a results CSV: one (instance, solver, options, seed) run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultRow {
    /// Instance set (the scenario CSV's stem, or the batch file's).
    pub set: String,
    pub instance: String,
    pub n_tasks: usize,
    pub solver: String,
    /// Solver options (time limit, threads, solver settings) as `key=value` pairs.
    pub options: String,
    /// Solver version (crate version, plus the checkpoint for learned solvers).
    pub version: String,
    /// Run seed; for a learned solver, the training seed of its checkpoint.
    pub seed: u64,
    /// A [`crate::solver::Status`], or `error` when the solver failed or its answer
    /// broke a constraint.
    pub status: String,
    /// Objective `A` as computed by the evaluator (empty on error).
    pub objective: Option<f64>,
    /// Upper bound on `A` reported by the solver, if any.
    pub bound: Option<f64>,
    /// Objective over the MILP optimum of the same instance, only where the MILP
    /// proved optimality.
    pub ratio_to_opt: Option<f64>,
    pub served_fraction: Option<f64>,
    pub local: Option<usize>,
    pub edge: Option<usize>,
    pub cloud: Option<usize>,
    pub rejected: Option<usize>,
    pub rb_utilisation: Option<f64>,
    pub compute_utilisation: Option<f64>,
    /// Wall time of the solve call, measured by the runner.
    pub wall_s: f64,
    /// Git revision of the code that produced the row.
    pub revision: String,
    /// Machine description (CPU, cores).
    pub machine: String,
    /// Solver statistics as `name=value` pairs separated by `;` (e.g. MILP nodes).
    pub stats: String,
    /// The solver's reason, or the error message.
    pub message: String,
}

impl ResultRow {
    /// One statistic of the `stats` column.
    pub fn stat(&self, name: &str) -> Option<f64> {
        self.stats.split(';').find_map(|kv| kv.split_once('=').filter(|(k, _)| *k == name)?.1.parse().ok())
    }

    /// The identity of a run; a rerun with the same key replaces the row.
    pub fn key(&self) -> (String, String, String, String, u64) {
        (self.set.clone(), self.instance.clone(), self.solver.clone(), self.options.clone(), self.seed)
    }
}

/// What a row records besides the run itself.
#[derive(Debug, Clone, Default)]
pub struct RowContext {
    pub set: String,
    pub options: String,
    pub revision: String,
    pub machine: String,
}

/// Solves `inst` with `solver`, timing the call and judging the answer. The report is
/// returned with the row when the solver produced one.
pub fn run_one(
    inst: &Instance,
    solver: &dyn Solver,
    opts: &SolveOptions,
) -> (ResultRow, Option<SolveReport>) {
    run_one_in(inst, solver, opts, &RowContext::default())
}

fn run_one_in(
    inst: &Instance,
    solver: &dyn Solver,
    opts: &SolveOptions,
    ctx: &RowContext,
) -> (ResultRow, Option<SolveReport>) {
    let start = Instant::now();
    let result = solver.solve(inst, opts);
    let wall_s = start.elapsed().as_secs_f64();
    let mut row = ResultRow {
        set: ctx.set.clone(),
        instance: inst.id.clone(),
        n_tasks: inst.n_tasks(),
        solver: solver.name().to_string(),
        options: ctx.options.clone(),
        version: solver.version(),
        seed: opts.seed,
        status: "error".into(),
        objective: None,
        bound: None,
        ratio_to_opt: None,
        served_fraction: None,
        local: None,
        edge: None,
        cloud: None,
        rejected: None,
        rb_utilisation: None,
        compute_utilisation: None,
        wall_s,
        revision: ctx.revision.clone(),
        machine: ctx.machine.clone(),
        stats: String::new(),
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
            row.stats = report.stats.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(";");
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

/// Keeps the items of shard `i` of `n` (item index modulo `n`), so that `n` shards
/// together run every item exactly once.
pub fn shard<T>(items: Vec<T>, i: usize, n: usize) -> Vec<T> {
    items.into_iter().enumerate().filter(|(k, _)| k % n == i).map(|(_, x)| x).collect()
}

/// A progress bar on stderr. When stderr is not a terminal the bar is hidden and the
/// runner prints a plain line every tenth of the way instead.
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

fn tick(progress: &ProgressBar) {
    progress.inc(1);
    if progress.is_hidden() {
        let (pos, len) = (progress.position(), progress.length().unwrap_or(0));
        let step = (len / 10).max(1);
        if pos % step == 0 || pos == len {
            eprintln!(
                "{}: {pos}/{len} instances ({:.0} s)",
                progress.prefix(),
                progress.elapsed().as_secs_f64()
            );
        }
    }
}

/// One solver configuration to run on every instance.
#[derive(Clone)]
pub struct Job {
    pub solver: Arc<dyn Solver>,
    pub options: SolveOptions,
    /// The `options` column: `key=value` pairs describing this configuration.
    pub label: String,
}

/// The results of a batch, kept in canonical order (set, instance, solver, options,
/// seed) and rewritten atomically to `path` (when given) after every instance.
pub struct ResultsFile {
    path: Option<PathBuf>,
    rows: BTreeMap<(String, String, String, String, u64), ResultRow>,
}

impl ResultsFile {
    /// Starts from the rows already in `path` when it exists and `resume` is set.
    pub fn open(path: Option<&Path>, resume: bool) -> Result<Self, IoError> {
        let mut rows = BTreeMap::new();
        if let (Some(p), true) = (path, resume) {
            if p.exists() {
                for r in read_rows(p)? {
                    rows.insert(r.key(), r);
                }
            }
        }
        Ok(ResultsFile { path: path.map(Path::to_path_buf), rows })
    }

    /// Whether a row with this key and revision is already present.
    fn done(&self, key: &(String, String, String, String, u64), revision: &str) -> bool {
        self.rows.get(key).is_some_and(|r| r.revision == revision)
    }

    fn insert(&mut self, rows: Vec<ResultRow>) -> Result<(), IoError> {
        for r in rows {
            self.rows.insert(r.key(), r);
        }
        match &self.path {
            Some(p) => write_rows(p, &self.rows()),
            None => Ok(()),
        }
    }

    /// All rows in canonical order, with `ratio_to_opt` filled in.
    pub fn rows(&self) -> Vec<ResultRow> {
        let mut rows: Vec<ResultRow> = self.rows.values().cloned().collect();
        fill_ratio_to_opt(&mut rows);
        rows
    }
}

/// Sets `ratio_to_opt` of every row whose instance has a proven MILP optimum.
pub fn fill_ratio_to_opt(rows: &mut [ResultRow]) {
    let mut opt: BTreeMap<(String, String), f64> = BTreeMap::new();
    for r in rows.iter() {
        if r.solver == EXACT_SOLVER && r.status == "optimal" {
            if let Some(o) = r.objective {
                opt.insert((r.set.clone(), r.instance.clone()), o);
            }
        }
    }
    for r in rows.iter_mut() {
        r.ratio_to_opt = match (r.objective, opt.get(&(r.set.clone(), r.instance.clone()))) {
            (Some(o), Some(&best)) if best > 0.0 => Some(o / best),
            (Some(_), Some(_)) => Some(1.0),
            _ => None,
        };
    }
}

/// Runs every job on every item, in parallel over items, skipping the runs already in
/// `results` for this revision. Returns the items that could not be loaded.
pub fn run_batch(
    items: &[BatchItem],
    jobs: &[Job],
    ctx: &RowContext,
    results: &Mutex<ResultsFile>,
    progress: &ProgressBar,
) -> Vec<IoError> {
    let outcome: Vec<Result<(), IoError>> = items
        .par_iter()
        .map(|item| {
            let inst = match item.instance() {
                Ok(i) => i,
                Err(e) => {
                    tick(progress);
                    return Err(e);
                }
            };
            let mut rows = Vec::new();
            for job in jobs {
                let row_ctx = RowContext { options: job.label.clone(), ..ctx.clone() };
                let key = (
                    ctx.set.clone(),
                    inst.id.clone(),
                    job.solver.name().to_string(),
                    job.label.clone(),
                    job.options.seed,
                );
                if results.lock().map(|r| r.done(&key, &ctx.revision)).unwrap_or(false) {
                    continue;
                }
                progress.set_message(format!("{} {}", job.solver.name(), inst.id));
                rows.push(run_one_in(&inst, job.solver.as_ref(), &job.options, &row_ctx).0);
            }
            let written = match results.lock() {
                Ok(mut r) => r.insert(rows),
                Err(_) => Ok(()),
            };
            tick(progress);
            written
        })
        .collect();
    outcome.into_iter().filter_map(Result::err).collect()
}

/// Writes rows as CSV, atomically.
pub fn write_rows(path: &Path, rows: &[ResultRow]) -> Result<(), IoError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r)
            .map_err(|e| IoError::Write { path: path.to_path_buf(), cause: std::io::Error::other(e) })?;
    }
    let bytes =
        w.into_inner().map_err(|e| IoError::Write { path: path.to_path_buf(), cause: e.into_error() })?;
    crate::io::json::write_atomic(path, &bytes)
}

/// Reads a results CSV written by [`write_rows`]; a bad row names its line.
pub fn read_rows(path: &Path) -> Result<Vec<ResultRow>, IoError> {
    let mut rdr = csv::Reader::from_path(path)
        .map_err(|e| IoError::Read { path: path.to_path_buf(), cause: std::io::Error::other(e) })?;
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

/// Merges results files (e.g. shards): the union of their rows in canonical order; a
/// row present in several files is taken from the last one.
pub fn merge(paths: &[PathBuf]) -> Result<Vec<ResultRow>, IoError> {
    let mut file = ResultsFile { path: None, rows: BTreeMap::new() };
    for p in paths {
        file.insert(read_rows(p)?)?;
    }
    Ok(file.rows())
}

/// Distinct instance ids of `rows`, in order.
pub fn instances_of(rows: &[ResultRow]) -> Vec<String> {
    let mut seen = HashSet::new();
    rows.iter().filter(|r| seen.insert(r.instance.clone())).map(|r| r.instance.clone()).collect()
}
