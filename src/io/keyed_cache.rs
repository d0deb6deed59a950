//! A persistent cache of results keyed by content: a CSV file with a header, one row per
//! entry, read whole at open and rewritten atomically at each insert. Two processes may
//! share one file: an insert first merges what the file holds now (the other process's
//! entries), then writes. The bench keeps its proven hindsight optima
//! (`results/hindsight-cache.csv`) and long-run placements
//! (`results/placement-cache.csv`) in such files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{write_atomic, IoError};

/// A row of a keyed cache: its key (a content hash and a version, typically) and a
/// check of what serde cannot see.
pub trait CacheRow: Serialize + DeserializeOwned + Clone {
    fn key(&self) -> (String, String);

    /// Why a row read from the file is unusable (named with its line), if it is.
    fn check(&self) -> Result<(), String> {
        Ok(())
    }
}

/// The cache: the rows by key, and the file they came from (none: in memory only).
#[derive(Debug)]
pub struct KeyedCache<R> {
    path: Option<PathBuf>,
    entries: BTreeMap<(String, String), R>,
}

impl<R> Default for KeyedCache<R> {
    fn default() -> Self {
        KeyedCache { path: None, entries: BTreeMap::new() }
    }
}

impl<R: CacheRow> KeyedCache<R> {
    /// Reads the cache at `path` (an absent file is an empty cache; a malformed one is
    /// an error naming the line).
    pub fn open(path: &Path) -> Result<Self, IoError> {
        Ok(KeyedCache { path: Some(path.to_path_buf()), entries: read(path)? })
    }

    pub fn get(&self, key: &str, version: &str) -> Option<&R> {
        self.entries.get(&(key.to_string(), version.to_string()))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds `row` and rewrites the file atomically, keeping what another process added
    /// to it since this one read it.
    pub fn insert(&mut self, row: R) -> Result<(), IoError> {
        self.entries.insert(row.key(), row);
        let Some(path) = self.path.clone() else { return Ok(()) };
        if let Ok(now) = read::<R>(&path) {
            for (k, v) in now {
                self.entries.entry(k).or_insert(v);
            }
        }
        let werr = |e: String| IoError::Write { path: path.clone(), cause: std::io::Error::other(e) };
        let mut w = csv::Writer::from_writer(Vec::new());
        for r in self.entries.values() {
            w.serialize(r).map_err(|e| werr(e.to_string()))?;
        }
        let bytes = w.into_inner().map_err(|e| werr(e.to_string()))?;
        write_atomic(&path, &bytes)
    }
}

fn read<R: CacheRow>(path: &Path) -> Result<BTreeMap<(String, String), R>, IoError> {
    let mut entries = BTreeMap::new();
    if !path.exists() {
        return Ok(entries);
    }
    let csv_err =
        |line: u64, reason: String| IoError::Csv { path: path.to_path_buf(), line, column: None, reason };
    let mut rdr = csv::Reader::from_path(path).map_err(|e| csv_err(1, e.to_string()))?;
    for (i, rec) in rdr.deserialize::<R>().enumerate() {
        let line = i as u64 + 2;
        let row = rec.map_err(|e| csv_err(e.position().map_or(line, |p| p.line()), e.to_string()))?;
        row.check().map_err(|reason| csv_err(line, reason))?;
        entries.insert(row.key(), row);
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Row {
        key: String,
        version: String,
        value: i64,
    }

    impl CacheRow for Row {
        fn key(&self) -> (String, String) {
            (self.key.clone(), self.version.clone())
        }

        fn check(&self) -> Result<(), String> {
            if self.value >= 0 {
                Ok(())
            } else {
                Err(format!("value {} is negative", self.value))
            }
        }
    }

    #[test]
    fn rows_that_fail_their_check_name_their_line_and_inserts_merge() {
        let dir = std::env::temp_dir().join(format!("dnnrm-keyed-cache-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let p = dir.join("c.csv");
        let mut a: KeyedCache<Row> = KeyedCache::open(&p).expect("absent file: empty");
        let mut b: KeyedCache<Row> = KeyedCache::open(&p).expect("absent file: empty");
        a.insert(Row { key: "x".into(), version: "1".into(), value: 3 }).expect("a writes");
        b.insert(Row { key: "y".into(), version: "1".into(), value: 4 }).expect("b writes");
        let both: KeyedCache<Row> = KeyedCache::open(&p).expect("reads");
        assert_eq!(both.len(), 2, "b's rewrite kept a's row");
        assert_eq!(both.get("x", "1").map(|r| r.value), Some(3));
        assert!(both.get("x", "2").is_none(), "another version is another key");
        std::fs::write(&p, "key,version,value\nx,1,3\ny,1,-4\n").expect("write");
        let err = KeyedCache::<Row>::open(&p).expect_err("a negative value is refused");
        assert!(err.to_string().contains("line 3") && err.to_string().contains("negative"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
