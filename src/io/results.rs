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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RowStatus {
    /// Proven optimal by an exact solver.
    Optimal,
    /// Within a relative MIP gap of the optimum, not proven optimal.
    GapLimit,
    /// A complete answer without an optimality claim.
    Heuristic,
    /// Stopped by the time limit; the best incumbent.
    TimeLimit,
    /// No solution found; the reject-all answer.
    NoSolution,
    /// The solver failed; the runner's fallback solver produced the answer.
    Fallback,
    /// The solver returned an error or an answer the evaluator rejected: no objective.
    #[default]
    Error,
}

impl RowStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RowStatus::Optimal => "optimal",
            RowStatus::GapLimit => "gap-limit",
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

/// One row of a results CSV: one (instance, solver, options, seed) run. The default
/// row is an `error` row with every field empty.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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

/// The header line of a results CSV.
pub fn header() -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.serialize(ResultRow::default());
    let bytes = w.into_inner().unwrap_or_default();
    String::from_utf8_lossy(&bytes).lines().next().unwrap_or_default().to_string()
}

/// Reads a results CSV written by [`write_rows`]. Refuses what is not one: a folder, a
/// file with another header (naming both), an empty file, a torn last row (the writer
/// ends every row with a newline); a bad row names its line.
pub fn read_rows(path: &Path) -> Result<Vec<ResultRow>, IoError> {
    let not_results =
        |reason: String| IoError::Field { path: path.to_path_buf(), field: "(file)".into(), reason };
    if path.is_dir() {
        return Err(not_results("is a folder, not a results CSV".into()));
    }
    let bytes = std::fs::read(path).map_err(|e| IoError::read(path, e))?;
    if bytes.is_empty() {
        return Err(not_results("is empty, not a results CSV (it has no header)".into()));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        not_results(format!("is not a results CSV: not UTF-8 text (byte {})", e.utf8_error().valid_up_to()))
    })?;
    let first = text.lines().next().unwrap_or_default();
    let expected = header();
    if first != expected {
        let shown: String = first.chars().take(120).collect();
        return Err(not_results(format!(
            "is not a results CSV: its first line is `{shown}`, expected `{expected}`"
        )));
    }
    if !text.ends_with('\n') {
        let line = text.lines().count();
        return Err(IoError::Csv {
            path: path.to_path_buf(),
            line: line as u64,
            column: None,
            reason: "torn last row: the file does not end with a newline (an interrupted copy?)".into(),
        });
    }
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
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
/// rewritten atomically to `path` (when given) after every insertion. While it is open
/// it holds an advisory lock on `.<name>.lock` beside it, so a second process writing
/// the same file fails at once instead of losing rows; temporary files left by a
/// killed writer are removed when the lock is taken.
pub struct ResultsFile {
    path: Option<PathBuf>,
    /// Name of the exact solver whose proven optima fill `ratio_to_opt`.
    exact: String,
    rows: BTreeMap<RunKey, ResultRow>,
    /// The lock file, locked until dropped.
    _lock: Option<std::fs::File>,
}

/// Takes the advisory lock of the results file `path` and removes stale temporaries.
fn lock(path: &Path) -> Result<std::fs::File, IoError> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| IoError::Write { path: dir.to_path_buf(), cause: e })?;
    let lock_path = dir.join(format!(".{name}.lock"));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| IoError::Write { path: lock_path.clone(), cause: e })?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(IoError::Field {
                path: path.to_path_buf(),
                field: "(file)".into(),
                reason: format!(
                    "is being written by another dnnrm process (it holds {}); wait for it or choose another --out",
                    lock_path.display()
                ),
            })
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(IoError::Write { path: lock_path, cause: e }),
    }
    // We hold the lock: any temporary file of this results file is a leftover.
    let prefix = format!(".{name}.tmp");
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    Ok(file)
}

impl ResultsFile {
    /// Opens the results file `path` (locked while this value lives), starting from
    /// the rows already in it when it exists and `resume` is set. An existing file that
    /// is not a results CSV is refused, even with `resume` off, so it is never
    /// overwritten by mistake (an empty file counts as new).
    pub fn open(path: Option<&Path>, resume: bool, exact: &str) -> Result<Self, IoError> {
        let mut rows = BTreeMap::new();
        let mut lock_file = None;
        if let Some(p) = path {
            lock_file = Some(lock(p)?);
            let exists_with_content =
                p.is_dir() || std::fs::metadata(p).map(|m| m.len() > 0).unwrap_or(false);
            if exists_with_content {
                let existing = read_rows(p)?;
                if resume {
                    for r in existing {
                        rows.insert(r.key(), r);
                    }
                }
            }
        }
        Ok(ResultsFile {
            path: path.map(Path::to_path_buf),
            exact: exact.to_string(),
            rows,
            _lock: lock_file,
        })
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

    /// Drops the rows for which `keep` is false (the file is rewritten at the next
    /// `insert`).
    pub fn retain(&mut self, keep: impl Fn(&ResultRow) -> bool) {
        self.rows.retain(|_, r| keep(r));
    }

    /// All rows in canonical order, with `ratio_to_opt` filled in.
    pub fn rows(&self) -> Vec<ResultRow> {
        let mut rows: Vec<ResultRow> = self.rows.values().cloned().collect();
        fill_ratio_to_opt(&mut rows, &self.exact);
        rows
    }
}

/// Which row `merge` keeps when two inputs hold the same run with different results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnConflict {
    /// Refuse to merge, naming the run and both files (the default).
    Error,
    /// Keep the row of the earlier input.
    First,
    /// Keep the row of the later input.
    Last,
}

impl std::str::FromStr for OnConflict {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "error" => Ok(OnConflict::Error),
            "first" => Ok(OnConflict::First),
            "last" => Ok(OnConflict::Last),
            _ => Err(format!("expected error, first or last, got `{s}`")),
        }
    }
}

/// Merges results files (e.g. shards): the union of their rows in canonical order.
/// Every input must be a results CSV. A run present in several inputs with the same
/// objective, status and revision is kept once; with different ones it is a conflict,
/// refused unless `on_conflict` says which to keep.
pub fn merge(paths: &[PathBuf], exact: &str, on_conflict: OnConflict) -> Result<Vec<ResultRow>, IoError> {
    let mut rows: BTreeMap<RunKey, (ResultRow, usize)> = BTreeMap::new();
    for (i, p) in paths.iter().enumerate() {
        for r in read_rows(p)? {
            let key = r.key();
            match rows.get(&key) {
                Some((old, j)) => {
                    let same =
                        old.objective == r.objective && old.status == r.status && old.revision == r.revision;
                    if same || on_conflict == OnConflict::First {
                        continue;
                    }
                    if on_conflict == OnConflict::Error {
                        return Err(IoError::Field {
                            path: p.clone(),
                            field: "(rows)".into(),
                            reason: format!(
                                "conflicts with {}: instance `{}` of set `{}`, solver `{}`, seed {} has objective {:?} \
                                 ({}, revision {}) there and {:?} ({}, revision {}) here; choose with \
                                 --on-conflict first|last",
                                paths[*j].display(),
                                key.1,
                                key.0,
                                key.2,
                                key.4,
                                old.objective,
                                old.status,
                                old.revision,
                                r.objective,
                                r.status,
                                r.revision
                            ),
                        });
                    }
                    rows.insert(key, (r, i));
                }
                None => {
                    rows.insert(key, (r, i));
                }
            }
        }
    }
    let mut out: Vec<ResultRow> = rows.into_values().map(|(r, _)| r).collect();
    fill_ratio_to_opt(&mut out, exact);
    Ok(out)
}

/// A judged row for tests: `solver` on `instance` of set `s` with `objective`.
#[cfg(test)]
pub(crate) fn test_row(solver: &str, instance: &str, objective: f64, status: RowStatus) -> ResultRow {
    ResultRow {
        set: "s".into(),
        instance: instance.into(),
        n_tasks: 10,
        solver: solver.into(),
        status,
        objective: Some(objective),
        served_fraction: Some(1.0),
        wall_s: 0.001,
        ..ResultRow::default()
    }
}

/// Distinct instance ids of `rows`, in order.
pub fn instances_of(rows: &[ResultRow]) -> Vec<String> {
    let mut seen = HashSet::new();
    rows.iter().filter(|r| seen.insert(r.instance.clone())).map(|r| r.instance.clone()).collect()
}
