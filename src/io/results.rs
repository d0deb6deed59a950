//! The results format: one CSV row per (set, instance, solver, options, seed) run,
//! read, written (atomically, in canonical order) and merged here. Columns are the
//! fields of [`ResultRow`] in order; the README documents them.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::atomic::write_atomic;
use super::IoError;

/// How a run ended, as recorded in the `status` column: the solver's own termination
/// status, or `error` when the solver failed or its answer broke a constraint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RowStatus {
    /// Proven optimal by an exact solver.
    Optimal,
    /// A complete answer without an optimality claim.
    Heuristic,
    /// Stopped by the time limit; the best incumbent.
    TimeLimit,
    /// No solution found; the reject-all answer.
    NoSolution,
    /// The solver failed; the runner's fallback solver produced the answer.
    Fallback,
    /// The solver returned an error or an answer the evaluator rejected: no objective.
    Error,
}

impl RowStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RowStatus::Optimal => "optimal",
            RowStatus::Heuristic => "heuristic",
            RowStatus::TimeLimit => "time-limit",
            RowStatus::NoSolution => "no-solution",
            RowStatus::Fallback => "fallback",
            RowStatus::Error => "error",
        }
    }
}

impl std::fmt::Display for RowStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of a results CSV: one (instance, solver, options, seed) run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultRow {
    /// Instance set (the scenario CSV's stem, or the batch file's).
    pub set: String,
    pub instance: String,
    pub n_tasks: usize,
    pub solver: String,
    /// The run's options as `key=value` pairs: time limit, threads, the settings that
    /// apply to this solver, and the runner's fallback if any.
    pub options: String,
    /// Solver version (crate version, plus the checkpoint for learned solvers).
    pub version: String,
    /// Run seed; for a learned solver, the training seed of its checkpoint.
    pub seed: u64,
    pub status: RowStatus,
    /// Objective `A` as computed by the evaluator (empty on error).
    pub objective: Option<f64>,
    /// Upper bound on `A` reported by the solver, if any.
    pub bound: Option<f64>,
    /// Objective over the exact solver's proven optimum of the same instance, only
    /// where it proved optimality.
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
    /// Git revision of the binary that produced the row.
    pub revision: String,
    /// Machine description (CPU, cores).
    pub machine: String,
    /// Solver statistics as `name=value` pairs separated by `;` (e.g. MILP nodes).
    pub stats: String,
    /// The solver's reason, or the error message.
    pub message: String,
}

/// The identity of a run: (set, instance, solver, options, seed).
pub type RunKey = (String, String, String, String, u64);

impl ResultRow {
    /// One statistic of the `stats` column.
    pub fn stat(&self, name: &str) -> Option<f64> {
        self.stats.split(';').find_map(|kv| kv.split_once('=').filter(|(k, _)| *k == name)?.1.parse().ok())
    }

    /// The identity of a run; a rerun with the same key replaces the row.
    pub fn key(&self) -> RunKey {
        (self.set.clone(), self.instance.clone(), self.solver.clone(), self.options.clone(), self.seed)
    }

    /// Whether the run produced a judged answer (any status but `error`).
    pub fn ok(&self) -> bool {
        self.status != RowStatus::Error
    }
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
    write_atomic(path, &bytes)
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

/// Sets `ratio_to_opt` of every row whose instance has a proven optimum by `exact`.
pub fn fill_ratio_to_opt(rows: &mut [ResultRow], exact: &str) {
    let mut opt: BTreeMap<(String, String), f64> = BTreeMap::new();
    for r in rows.iter() {
        if r.solver == exact && r.status == RowStatus::Optimal {
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

/// A results file kept in canonical order (set, instance, solver, options, seed) and
/// rewritten atomically to `path` (when given) after every insertion.
pub struct ResultsFile {
    path: Option<PathBuf>,
    /// Name of the exact solver whose proven optima fill `ratio_to_opt`.
    exact: String,
    rows: BTreeMap<RunKey, ResultRow>,
}

impl ResultsFile {
    /// Starts from the rows already in `path` when it exists and `resume` is set.
    pub fn open(path: Option<&Path>, resume: bool, exact: &str) -> Result<Self, IoError> {
        let mut rows = BTreeMap::new();
        if let (Some(p), true) = (path, resume) {
            if p.exists() {
                for r in read_rows(p)? {
                    rows.insert(r.key(), r);
                }
            }
        }
        Ok(ResultsFile { path: path.map(Path::to_path_buf), exact: exact.to_string(), rows })
    }

    /// Whether a row with this key and revision is already present.
    pub fn done(&self, key: &RunKey, revision: &str) -> bool {
        self.rows.get(key).is_some_and(|r| r.revision == revision)
    }

    /// Adds (or replaces) rows and rewrites the file.
    pub fn insert(&mut self, rows: Vec<ResultRow>) -> Result<(), IoError> {
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
        fill_ratio_to_opt(&mut rows, &self.exact);
        rows
    }
}

/// Merges results files (e.g. shards): the union of their rows in canonical order; a
/// row present in several files is taken from the last one.
pub fn merge(paths: &[PathBuf], exact: &str) -> Result<Vec<ResultRow>, IoError> {
    let mut file = ResultsFile { path: None, exact: exact.to_string(), rows: BTreeMap::new() };
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
