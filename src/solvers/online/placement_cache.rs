//! A persistent cache of long-run placements (`results/placement-cache.csv`).
//!
//! `static-placement`, `regime-placement` and `drl-online` (its prior and every
//! checkpoint) compute, at reset, the `milp` optimum over slots sampled from the demand
//! model ([`super::rules::sampled_placement`]): an offline design decision that depends
//! only on the network, the sampled tasks and the seed, and takes seconds to a minute per
//! episode. Within a process it is memoised; across processes the bench keeps the proven
//! optima here, keyed by the content hash of the sampled instance and
//! [`PLACEMENT_VERSION`], as it keeps the hindsight optima: a new revision of the code
//! reuses them, a changed episode or sampler solves again. Only proven optima are stored,
//! so a cached placement is what a fresh solve would return (up to ties between optima).
//!
//! Format: CSV with a header, one row per placement: `key` (16 hex digits, FNV-1a 64 of
//! the canonical JSON of (network, sampled tasks, seed)), `version`, `edges` (the models
//! cached at each edge server: servers separated by `|`, model indices by spaces) and
//! `revision` (of the code that solved it).
//!
//! The cache is off unless a process enables it ([`enable`]); the bench does, training
//! does not (its episodes are new every time).

use std::path::Path;
use std::sync::{Mutex, OnceLock};

use crate::io::{CacheRow, IoError, KeyedCache};

/// Version of the sampled placement (the sampler, the capacity scaling and the `milp`
/// encoding): change it whenever they change what a placement is, so cached entries
/// are solved again.
pub const PLACEMENT_VERSION: &str = "1";

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Row {
    key: String,
    version: String,
    edges: String,
    revision: String,
}

impl CacheRow for Row {
    fn key(&self) -> (String, String) {
        (self.key.clone(), self.version.clone())
    }

    fn check(&self) -> Result<(), String> {
        decode_edges(&self.edges).map(|_| ()).map_err(|reason| format!("column `edges`: {reason}"))
    }
}

fn store() -> &'static Mutex<Option<KeyedCache<Row>>> {
    static STORE: OnceLock<Mutex<Option<KeyedCache<Row>>>> = OnceLock::new();
    STORE.get_or_init(|| Mutex::new(None))
}

fn encode_edges(edges: &[Vec<usize>]) -> String {
    edges
        .iter()
        .map(|ms| ms.iter().map(usize::to_string).collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("|")
}

fn decode_edges(text: &str) -> Result<Vec<Vec<usize>>, String> {
    text.split('|')
        .map(|server| {
            server
                .split_whitespace()
                .map(|m| m.parse::<usize>().map_err(|_| format!("`{m}` is not a model index")))
                .collect()
        })
        .collect()
}

/// Turns the persistent cache on for this process, reading `path` (an absent file is an
/// empty cache; a malformed one is an error naming the line).
pub fn enable(path: &Path) -> Result<(), IoError> {
    let cache = KeyedCache::open(path)?;
    if let Ok(mut s) = store().lock() {
        *s = Some(cache);
    }
    Ok(())
}

/// The cached placement of `key` (with `n_edges` servers), when the cache is on.
pub fn get(key: u64, n_edges: usize) -> Option<Vec<Vec<usize>>> {
    let s = store().lock().ok()?;
    let row = s.as_ref()?.get(&format!("{key:016x}"), PLACEMENT_VERSION)?;
    decode_edges(&row.edges).ok().filter(|e| e.len() == n_edges)
}

/// Stores a proven-optimal placement when the cache is on, rewriting the file
/// atomically and keeping what another process added since this one read it.
pub fn insert(key: u64, edges: &[Vec<usize>]) -> Result<(), IoError> {
    let Ok(mut guard) = store().lock() else { return Ok(()) };
    let Some(cache) = guard.as_mut() else { return Ok(()) };
    cache.insert(Row {
        key: format!("{key:016x}"),
        version: PLACEMENT_VERSION.to_string(),
        edges: encode_edges(edges),
        revision: crate::io::provenance::revision().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_round_trip_including_empty_servers() {
        let e = vec![vec![0, 3, 17], vec![], vec![5]];
        assert_eq!(encode_edges(&e), "0 3 17||5");
        assert_eq!(decode_edges(&encode_edges(&e)), Ok(e));
        assert!(decode_edges("0 x").is_err());
    }
}
