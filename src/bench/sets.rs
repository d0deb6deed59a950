//! Instance sets: `instances/<set>.csv` scenario files, generated deterministically into
//! `instances/<set>/<id>.json` with a `list.csv`. A set named `sweep-<param>` varies
//! the scenario parameter `<param>` one value at a time.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::io::{read_scenario_csv, write_json_atomic, IoError};
use crate::scenario::generate;

/// The swept parameter of a set (`sweep-rbs` -> `rbs`).
pub fn sweep_param(set: &str) -> Option<&str> {
    set.strip_prefix("sweep-")
}

/// Every instance set spec in `dir` (the stems of `*.csv` files except `zoo.csv` and
/// the episode sets `online-*.csv`), sorted.
pub fn available_sets(dir: &Path) -> Vec<String> {
    all_specs(dir).into_iter().filter(|s| !s.starts_with(ONLINE_PREFIX)).collect()
}

/// Prefix of episode set specs (MODEL.md §9; `dnnrm bench-online`).
pub const ONLINE_PREFIX: &str = "online-";

/// Every episode set spec in `dir` (`online-*.csv`), sorted.
pub fn available_online_sets(dir: &Path) -> Vec<String> {
    all_specs(dir).into_iter().filter(|s| s.starts_with(ONLINE_PREFIX)).collect()
}

fn all_specs(dir: &Path) -> Vec<String> {
    let mut sets: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let p = e.path();
                    (p.extension().is_some_and(|x| x == "csv"))
                        .then(|| p.file_stem()?.to_str().map(str::to_string))?
                })
                .filter(|s| s != "zoo")
                .collect()
        })
        .unwrap_or_default();
    sets.sort();
    sets
}

/// A generated set: its instance files in spec order, and the spec rows that failed.
#[derive(Debug)]
pub struct GeneratedSet {
    pub files: Vec<PathBuf>,
    pub errors: Vec<IoError>,
}

/// Generates every row of the scenario CSV `spec` into `dir` as `<id>.json` (only the
/// missing files unless `overwrite`) and writes `dir/list.csv`. Bad rows are returned,
/// not fatal.
pub fn generate_set(spec: &Path, dir: &Path, overwrite: bool) -> Result<GeneratedSet, IoError> {
    let mut list = String::from("path\n");
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for row in read_scenario_csv(spec)? {
        match row {
            Ok(r) => {
                let file = format!("{}.json", r.id);
                let path = dir.join(&file);
                if overwrite || !path.exists() {
                    write_json_atomic(&path, &generate(&r.scenario, r.seed, &r.id))?;
                }
                list.push_str(&file);
                list.push('\n');
                files.push(path);
            }
            Err(e) => errors.push(e),
        }
    }
    crate::io::write_atomic(&dir.join("list.csv"), list.as_bytes())?;
    Ok(GeneratedSet { files, errors })
}

/// For a sweep set, the swept parameter's value of each instance id.
pub fn sweep_values(spec: &Path, param: &str) -> Result<BTreeMap<String, f64>, IoError> {
    let mut out = BTreeMap::new();
    for row in read_scenario_csv(spec)?.into_iter().flatten() {
        if let Some(v) = row.scenario.params.get(param).and_then(|s| s.parse::<f64>().ok()) {
            out.insert(row.id, v);
        }
    }
    Ok(out)
}
