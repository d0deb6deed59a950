//! Scenario CSV (one instance per row: scenario parameters plus `seed` and optional
//! `id`; a missing column or an empty cell takes the default) and instance-list CSV (a
//! `path` column, relative paths resolved against the list's folder).

use std::path::{Path, PathBuf};

use super::IoError;
use crate::scenario::{ParamError, Scenario, ScenarioParams};

/// One valid row of a scenario CSV.
#[derive(Debug, Clone)]
pub struct ScenarioRow {
    /// Line of the row in the file (the header is line 1).
    pub line: u64,
    /// The `id` column, or `<file stem>-<row index from 0, 4 digits>`.
    pub id: String,
    pub seed: u64,
    pub scenario: Scenario,
}

/// One row of an instance list.
#[derive(Debug, Clone)]
pub struct InstanceListRow {
    pub line: u64,
    pub path: PathBuf,
}

/// Longest identifier accepted.
pub const MAX_ID_LEN: usize = 128;

/// Checks an instance identifier, which also names files (`<id>.json`): 1 to
/// [`MAX_ID_LEN`] characters among letters, digits, `.`, `_`, `-`, `+` and `=`, not
/// starting with `.` (so no `..`, no hidden files) and without path separators.
pub fn check_id(id: &str) -> Result<(), String> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | '=');
    if id.is_empty() || id.len() > MAX_ID_LEN {
        return Err(format!("id `{id}` must have 1 to {MAX_ID_LEN} characters"));
    }
    if let Some(c) = id.chars().find(|&c| !ok_char(c)) {
        return Err(format!(
            "id `{id}` contains `{c}`; ids name files, so only letters, digits, `.`, `_`, `-`, `+` and `=` are allowed"
        ));
    }
    if id.starts_with('.') {
        return Err(format!("id `{id}` must not start with `.`"));
    }
    Ok(())
}

fn csv_err(path: &Path, line: u64, column: Option<&str>, reason: impl Into<String>) -> IoError {
    IoError::Csv { path: path.to_path_buf(), line, column: column.map(str::to_string), reason: reason.into() }
}

fn open(path: &Path) -> Result<(csv::Reader<std::fs::File>, Vec<String>), IoError> {
    let file = std::fs::File::open(path).map_err(|e| IoError::read(path, e))?;
    let mut rdr = csv::ReaderBuilder::new().trim(csv::Trim::All).flexible(false).from_reader(file);
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| csv_err(path, 1, None, format!("bad header: {e}")))?
        .iter()
        .map(str::to_string)
        .collect();
    Ok((rdr, headers))
}

/// Reads a scenario CSV. A bad header fails the whole file; a bad row gives an error
/// for that row only, naming its line and column, and the other rows are still read.
pub fn read_scenario_csv(path: &Path) -> Result<Vec<Result<ScenarioRow, IoError>>, IoError> {
    let (mut rdr, headers) = open(path)?;
    for h in &headers {
        if h != "seed" && h != "id" && !crate::scenario::PARAM_NAMES.contains(&h.as_str()) {
            return Err(csv_err(
                path,
                1,
                Some(h),
                "unknown column (not a scenario parameter, `seed` or `id`)",
            ));
        }
    }
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let mut rows = Vec::new();
    let mut seen: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    for (index, rec) in rdr.records().enumerate() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(index as u64 + 2);
                rows.push(Err(csv_err(path, line, None, e.to_string())));
                continue;
            }
        };
        let line = rec.position().map(|p| p.line()).unwrap_or(index as u64 + 2);
        let row = parse_scenario_row(path, line, index, &stem, &headers, &rec).and_then(|row| {
            match seen.insert(row.id.clone(), line) {
                Some(first) => {
                    seen.insert(row.id.clone(), first);
                    Err(csv_err(
                        path,
                        line,
                        Some("id"),
                        format!("id `{}` is already used on line {first}", row.id),
                    ))
                }
                None => Ok(row),
            }
        });
        rows.push(row);
    }
    Ok(rows)
}

fn parse_scenario_row(
    path: &Path,
    line: u64,
    index: usize,
    stem: &str,
    headers: &[String],
    rec: &csv::StringRecord,
) -> Result<ScenarioRow, IoError> {
    let mut params = ScenarioParams::default();
    let (mut seed, mut id) = (0u64, format!("{stem}-{index:04}"));
    for (h, v) in headers.iter().zip(rec.iter()) {
        if v.is_empty() {
            continue;
        }
        match h.as_str() {
            "seed" => {
                seed = v.parse().map_err(|_| {
                    csv_err(path, line, Some(h), format!("expected a non-negative integer, got `{v}`"))
                })?
            }
            "id" => {
                check_id(v).map_err(|e| csv_err(path, line, Some(h), e))?;
                id = v.to_string()
            }
            name => params.set(name, v).map_err(|e| csv_err(path, line, Some(name), param_reason(e)))?,
        }
    }
    let scenario = params.check().map_err(|e| match e {
        ParamError::Invalid { name, reason } => csv_err(path, line, Some(&name), reason),
        other => csv_err(path, line, None, other.to_string()),
    })?;
    Ok(ScenarioRow { line, id, seed, scenario })
}

fn param_reason(e: ParamError) -> String {
    match e {
        ParamError::Invalid { reason, .. } => reason,
        other => other.to_string(),
    }
}

/// Reads an instance list: a header with a `path` column, one instance file per row.
pub fn read_instance_list(path: &Path) -> Result<Vec<Result<InstanceListRow, IoError>>, IoError> {
    let (mut rdr, headers) = open(path)?;
    let col = headers.iter().position(|h| h == "path").ok_or_else(|| {
        csv_err(path, 1, None, "missing column `path` (the first line must be a header naming it)")
    })?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut rows = Vec::new();
    let mut seen: std::collections::HashMap<PathBuf, u64> = std::collections::HashMap::new();
    for (index, rec) in rdr.records().enumerate() {
        let row = rec.map_err(|e| {
            csv_err(path, e.position().map(|p| p.line()).unwrap_or(index as u64 + 2), None, e.to_string())
        });
        rows.push(row.and_then(|rec| {
            let line = rec.position().map(|p| p.line()).unwrap_or(index as u64 + 2);
            match rec.get(col) {
                Some(p) if !p.is_empty() => {
                    let file = base.join(p);
                    match seen.get(&file) {
                        Some(first) => Err(csv_err(
                            path,
                            line,
                            Some("path"),
                            format!("`{p}` is already listed on line {first}"),
                        )),
                        None => {
                            seen.insert(file.clone(), line);
                            Ok(InstanceListRow { line, path: file })
                        }
                    }
                }
                _ => Err(csv_err(path, line, Some("path"), "empty path")),
            }
        }));
    }
    Ok(rows)
}

/// One row of an episode set spec (`instances/online-<set>.csv`).
#[derive(Debug, Clone)]
pub struct EpisodeSpecRow {
    pub line: u64,
    pub id: String,
    pub seed: u64,
    /// Label of the sweep point the row belongs to (empty outside sweeps).
    pub point: String,
    pub scenario: Scenario,
    pub dynamics: crate::scenario::Dynamics,
}

/// Reads an episode set spec: columns `id,seed,point,params`, where `params` is a
/// space-separated list of `name=value` scenario or dynamics parameters (MODEL.md §7 and
/// §9.3; the defaults for the rest). A bad header fails the file; a bad row gives an
/// error naming its line and column, and the other rows are still read.
pub fn read_episode_specs(path: &Path) -> Result<Vec<Result<EpisodeSpecRow, IoError>>, IoError> {
    let (mut rdr, headers) = open(path)?;
    let want = ["id", "seed", "point", "params"];
    if headers != want {
        return Err(csv_err(
            path,
            1,
            None,
            format!("the header must be `{}`, got `{}`", want.join(","), headers.join(",")),
        ));
    }
    let mut rows = Vec::new();
    let mut seen: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    for (index, rec) in rdr.records().enumerate() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(index as u64 + 2);
                rows.push(Err(csv_err(path, line, None, e.to_string())));
                continue;
            }
        };
        let line = rec.position().map(|p| p.line()).unwrap_or(index as u64 + 2);
        let parse = || -> Result<EpisodeSpecRow, IoError> {
            let id = rec[0].to_string();
            check_id(&id).map_err(|e| csv_err(path, line, Some("id"), e))?;
            if let Some(first) = seen.get(&id) {
                return Err(csv_err(
                    path,
                    line,
                    Some("id"),
                    format!("id `{id}` is already used on line {first}"),
                ));
            }
            let seed: u64 = rec[1].parse().map_err(|_| {
                csv_err(
                    path,
                    line,
                    Some("seed"),
                    format!("expected a non-negative integer, got `{}`", &rec[1]),
                )
            })?;
            let mut sp = crate::scenario::ScenarioParams::default();
            let mut dp = crate::scenario::DynamicsParams::default();
            for kv in rec[3].split_whitespace() {
                let (k, v) = kv.split_once('=').ok_or_else(|| {
                    csv_err(path, line, Some("params"), format!("expected name=value, got `{kv}`"))
                })?;
                let k = k.trim().replace('-', "_");
                let res = match sp.set(&k, v) {
                    Err(crate::scenario::ParamError::Unknown(_)) => dp.set(&k, v),
                    other => other,
                };
                res.map_err(|e| match e {
                    crate::scenario::ParamError::Unknown(_) => csv_err(
                        path,
                        line,
                        Some("params"),
                        format!("unknown parameter `{k}` (not a scenario or dynamics parameter)"),
                    ),
                    e => csv_err(path, line, Some("params"), e.to_string()),
                })?;
            }
            let scenario = sp.check().map_err(|e| csv_err(path, line, Some("params"), e.to_string()))?;
            let dynamics = dp.check().map_err(|e| csv_err(path, line, Some("params"), e.to_string()))?;
            Ok(EpisodeSpecRow { line, id, seed, point: rec[2].to_string(), scenario, dynamics })
        };
        let row = parse();
        if let Ok(r) = &row {
            seen.insert(r.id.clone(), line);
        }
        rows.push(row);
    }
    Ok(rows)
}
