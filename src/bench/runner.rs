//! The runner owns the loop (argmin's executor habit): it times each solve, applies
//! the fallback, sends every answer through the evaluator and turns it into a results
//! row ([`crate::io::results`]). A solver error or an answer the evaluator rejects
//! becomes an `error` row; the batch goes on. Every run, timed or not, goes through
//! [`run_job`].
//!
//! Long runs are safe to stop: after each instance the results file is rewritten
//! atomically (temporary file, then rename), so Ctrl-C leaves a valid file, and a rerun
//! skips the rows already present for the same (instance, solver, options, seed,
//! revision).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;

use crate::io::results::{ResultRow, ResultsFile, RunKey};
use crate::io::{read_instance, read_instance_list, read_scenario_csv, IoError};
use crate::model::{evaluate, Evaluation, Instance};
use crate::scenario::generate;
use crate::solver::{SolveOptions, SolveReport, Solver, Status};

/// Name of the exact solver whose proven optima are the yardstick.
pub const EXACT_SOLVER: &str = "milp";

/// What a row records besides the run itself.
#[derive(Debug, Clone, Default)]
pub struct RowContext {
    pub set: String,
    pub options: String,
    pub revision: String,
    pub machine: String,
}

/// Solves `inst` with `solver`, timing the call and judging the answer. The report is
/// returned with the row when the solver produced an answer the evaluator accepted.
pub fn run_one(
    inst: &Instance,
    solver: &dyn Solver,
    opts: &SolveOptions,
) -> (ResultRow, Option<SolveReport>) {
    run_job(inst, solver, None, opts, &RowContext::default())
}

fn empty_row(inst: &Instance, solver: &dyn Solver, opts: &SolveOptions, ctx: &RowContext) -> ResultRow {
    ResultRow {
        set: ctx.set.clone(),
        instance: inst.id.clone(),
        n_tasks: inst.n_tasks(),
        solver: solver.name().to_string(),
        options: ctx.options.clone(),
        version: solver.version(),
        seed: opts.seed,
        revision: ctx.revision.clone(),
        machine: ctx.machine.clone(),
        ..ResultRow::default()
    }
}

/// Why an attempt gave no usable answer, with the `no-solution` report if there was one.
type Failure = (String, Option<Box<SolveReport>>);

/// Adds the wall time of the solve call (not of the evaluation) to `solve_s`.
fn attempt(
    inst: &Instance,
    solver: &dyn Solver,
    opts: &SolveOptions,
    solve_s: &mut f64,
) -> Result<(SolveReport, Evaluation), Failure> {
    let t = Instant::now();
    let result = solver.solve(inst, opts);
    *solve_s += t.elapsed().as_secs_f64();
    match result {
        Err(e) => Err((error_chain(&e), None)),
        Ok(report) => match evaluate(inst, &report.solution) {
            Err(v) => Err((format!("invalid solution: {v}"), None)),
            Ok(_) if report.status == Status::NoSolution => {
                Err((report.reason.clone(), Some(Box::new(report))))
            }
            Ok(ev) => Ok((report, ev)),
        },
    }
}

/// An error with its causes, `outer: inner: ...`.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}

/// The runner's one path for every run (batch, benchmark, timing): solve, time the
/// solve calls (the `wall_s` column; evaluation excluded), judge with the evaluator, and, when the primary fails (error, rejected answer or
/// `no-solution`) and a `fallback` is given, solve again with it in the time left,
/// labelled `fallback`.
pub fn run_job(
    inst: &Instance,
    solver: &dyn Solver,
    fallback: Option<&dyn Solver>,
    opts: &SolveOptions,
    ctx: &RowContext,
) -> (ResultRow, Option<SolveReport>) {
    let start = Instant::now();
    let mut solve_s = 0.0;
    let mut row = empty_row(inst, solver, opts, ctx);
    let first = attempt(inst, solver, opts, &mut solve_s);
    let judged = match (first, fallback) {
        (Ok(ok), _) => Ok(ok),
        (Err((why, _)), Some(fb)) => {
            let sub = SolveOptions {
                time_limit: opts.time_limit.map(|t| t.saturating_sub(start.elapsed())),
                ..opts.clone()
            };
            match attempt(inst, fb, &sub, &mut solve_s) {
                Ok((mut r, ev)) => {
                    r.reason = format!(
                        "{}: {why}; solution from fallback `{}` ({}: {})",
                        solver.name(),
                        fb.name(),
                        r.status,
                        r.reason
                    );
                    r.status = Status::Fallback;
                    Ok((r, ev))
                }
                Err((fb_why, _)) => {
                    Err((format!("{why}; fallback `{}` failed too: {fb_why}", fb.name()), None))
                }
            }
        }
        (Err((why, Some(report))), None) => {
            // `no-solution` is an honest answer: judge it like any other.
            match evaluate(inst, &report.solution) {
                Ok(ev) => Ok((*report, ev)),
                Err(_) => Err((why, None)),
            }
        }
        (Err(e), None) => Err(e),
    };
    row.wall_s = solve_s;
    match judged {
        Err((why, _)) => {
            row.message = why;
            (row, None)
        }
        Ok((report, ev)) => {
            row.status = report.status.into();
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
            (row, Some(report))
        }
    }
}

/// Where an instance of a batch comes from.
#[derive(Debug, Clone)]
pub enum BatchItem {
    /// A row of a scenario CSV, generated on demand.
    Scenario(Box<crate::io::ScenarioRow>),
    /// An instance file, with the list and line that named it (if any).
    File { path: PathBuf, listed: Option<(PathBuf, u64)> },
}

impl BatchItem {
    /// A file named by no list (e.g. a generated set).
    pub fn file(path: PathBuf) -> Self {
        BatchItem::File { path, listed: None }
    }

    /// The instance, generated or read and validated. A file's error names the list
    /// line that named it.
    pub fn instance(&self) -> Result<Instance, IoError> {
        match self {
            BatchItem::Scenario(row) => Ok(generate(&row.scenario, row.seed, &row.id)),
            BatchItem::File { path, listed } => read_instance(path).map_err(|e| match listed {
                Some((list, line)) => {
                    IoError::Listed { list: list.clone(), line: *line, source: Box::new(e) }
                }
                None => e,
            }),
        }
    }
}

/// The `id` of an instance file, read without validating the rest (`None` when the
/// file cannot be parsed; reading it for real reports why).
fn instance_id(path: &Path) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct IdOnly {
        id: String,
    }
    let file = std::fs::File::open(path).ok()?;
    serde_json::from_reader::<_, IdOnly>(std::io::BufReader::new(file)).ok().map(|x| x.id)
}

/// Reads a batch from a scenario CSV or an instance list: the good items and the
/// errors of the bad rows (each naming its file and line). Ids are unique per batch:
/// a row whose instance id was already used is an error naming both lines (rows
/// are keyed by instance id, so it would replace the first one's results).
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
        let mut seen: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
        for row in read_instance_list(path)? {
            match row {
                Ok(r) => {
                    if let Some(id) = instance_id(&r.path) {
                        if let Some(first) = seen.get(&id) {
                            errors.push(IoError::Csv {
                                path: path.to_path_buf(),
                                line: r.line,
                                column: Some("path".into()),
                                reason: format!(
                                    "{} has instance id `{id}`, already the id of the instance on line {first}",
                                    r.path.display()
                                ),
                            });
                            continue;
                        }
                        seen.insert(id, r.line);
                    }
                    items.push(BatchItem::File { path: r.path, listed: Some((path.to_path_buf(), r.line)) })
                }
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

/// A solver that could not be built (e.g. its checkpoint is corrupt): every run of it
/// fails with the reason, so it gets error rows while the other solvers run.
pub struct Unavailable {
    pub name: String,
    pub why: String,
}

impl Solver for Unavailable {
    fn name(&self) -> &str {
        &self.name
    }

    fn version(&self) -> String {
        "unavailable".into()
    }

    fn solve(
        &self,
        _inst: &Instance,
        _opts: &SolveOptions,
    ) -> Result<SolveReport, crate::solver::SolverError> {
        Err(crate::solver::SolverError::Failed { solver: self.name.clone(), reason: self.why.clone() })
    }
}

/// One solver configuration to run on every instance.
#[derive(Clone)]
pub struct Job {
    pub solver: Arc<dyn Solver>,
    /// Solver run when the primary fails (labelled `fallback`).
    pub fallback: Option<Arc<dyn Solver>>,
    pub options: SolveOptions,
    /// The `options` column: `key=value` pairs describing this configuration.
    pub label: String,
}

impl Job {
    /// Runs this job on one instance through [`run_job`].
    pub fn run(&self, inst: &Instance, ctx: &RowContext) -> (ResultRow, Option<SolveReport>) {
        let ctx = RowContext { options: self.label.clone(), ..ctx.clone() };
        run_job(inst, self.solver.as_ref(), self.fallback.as_deref(), &self.options, &ctx)
    }

    /// The key of this job's row on `inst` in `set`.
    pub fn key(&self, set: &str, inst: &Instance) -> RunKey {
        (
            set.to_string(),
            inst.id.clone(),
            self.solver.name().to_string(),
            self.label.clone(),
            self.options.seed,
        )
    }
}

/// Runs every job on every item, in parallel over items, skipping the runs already in
/// `results` for this revision. Returns the items that could not be loaded, or the
/// error that stopped the batch when the results could not be written.
pub fn run_batch(
    items: &[BatchItem],
    jobs: &[Job],
    ctx: &RowContext,
    results: &Mutex<ResultsFile>,
    progress: &ProgressBar,
) -> Result<Vec<IoError>, IoError> {
    // A failed write stops the batch: rows that cannot be kept must not be computed,
    // nor counted as done.
    let write_failed: Mutex<Option<IoError>> = Mutex::new(None);
    let stopped = || write_failed.lock().map(|w| w.is_some()).unwrap_or(true);
    let load_errors: Vec<IoError> = items
        .par_iter()
        .filter_map(|item| {
            if stopped() {
                return None;
            }
            let inst = match item.instance() {
                Ok(i) => i,
                Err(e) => {
                    tick(progress);
                    return Some(e);
                }
            };
            let mut rows = Vec::new();
            for job in jobs {
                let key = job.key(&ctx.set, &inst);
                if results.lock().map(|r| r.done(&key, &ctx.revision)).unwrap_or(false) {
                    continue;
                }
                progress.set_message(format!("{} {}", job.solver.name(), inst.id));
                rows.push(job.run(&inst, ctx).0);
            }
            let written = match results.lock() {
                Ok(mut r) => r.insert(rows),
                Err(_) => Ok(()),
            };
            if let Err(e) = written {
                if let Ok(mut w) = write_failed.lock() {
                    w.get_or_insert(e);
                }
            }
            tick(progress);
            None
        })
        .collect();
    match write_failed.into_inner().ok().flatten() {
        Some(e) => Err(e),
        None => Ok(load_errors),
    }
}
