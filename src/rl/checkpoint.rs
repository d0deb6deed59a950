//! Checkpoints, one format for every learner: a directory of safetensors files plus a
//! `meta.json` of one schema ([`Meta`]).
//!
//! ```text
//! <dir>/meta.json              format_version; algorithm (what wrote it: `ddpg`,
//!                              `ddpg-oneshot`, `set-pg`, `set-dqn`); sizes (the
//!                              compile-time sizes, checked at load); step; updates;
//!                              config (hyperparameters); env (the training environment,
//!                              for provenance); state (what acting needs besides the
//!                              networks, e.g. observation statistics); files (name,
//!                              bytes, FNV-1a hash of each network file)
//! <dir>/<name>.safetensors     one file per network (DDPG: `actor`, `critic`,
//!                              `actor_target`, `critic_target`; a policy: `actor`;
//!                              a scorer: `scorer`, `scorer_target`)
//! ```
//!
//! Saving is atomic at directory level: everything is written to a hidden sibling
//! directory which is then renamed into place (an existing checkpoint is moved aside
//! first and deleted afterwards), so a crash never leaves a half-written checkpoint under
//! the final name. Loading validates before touching any network: missing files, wrong
//! size (truncation), wrong hash (corruption), unparsable safetensors, missing tensors,
//! wrong dtypes or shapes and an unknown format version each give a
//! [`CheckpointError`] that names the file.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use dfdx::nn::tensor_collection::{
    RecursiveWalker, TensorCollection, TensorOptions, TensorVisitor, ViewTensorName, ViewTensorRef,
};
use dfdx::prelude::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::rl::nets::Dev;

/// Version of the checkpoint layout this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// Name of the metadata file inside a checkpoint directory.
pub const META_FILE: &str = "meta.json";

/// Why a checkpoint could not be saved or loaded. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// A weight or a statistic is NaN or infinite.
    #[error("checkpoint file {path}: {what} is not a finite number")]
    NonFinite {
        /// The file.
        path: PathBuf,
        /// Which value.
        what: String,
    },
    /// A required file does not exist.
    #[error("checkpoint file {path} is missing")]
    Missing {
        /// The file.
        path: PathBuf,
    },
    /// Reading or writing failed.
    #[error("checkpoint file {path}: I/O error: {cause}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Underlying error (shown in the message, so not chained as a source).
        cause: std::io::Error,
    },
    /// The file has a different size than recorded (typically truncation).
    #[error(
        "checkpoint file {path} has {found} bytes, meta.json records {expected} (truncated or replaced?)"
    )]
    Size {
        /// The file.
        path: PathBuf,
        /// Recorded size.
        expected: u64,
        /// Actual size.
        found: u64,
    },
    /// The file's content hash differs from the recorded one.
    #[error(
        "checkpoint file {path} is corrupt: FNV-1a hash {found:016x}, meta.json records {expected:016x}"
    )]
    Checksum {
        /// The file.
        path: PathBuf,
        /// Recorded hash.
        expected: u64,
        /// Actual hash.
        found: u64,
    },
    /// The safetensors container could not be parsed or written.
    #[error("checkpoint file {path} is not valid safetensors: {reason}")]
    Safetensors {
        /// The file.
        path: PathBuf,
        /// Parser message.
        reason: String,
    },
    /// A tensor the network needs is absent.
    #[error("checkpoint file {path} lacks tensor '{tensor}'")]
    MissingTensor {
        /// The file.
        path: PathBuf,
        /// Tensor name.
        tensor: String,
    },
    /// A tensor has the wrong shape (e.g. a different hidden size).
    #[error("checkpoint file {path}: tensor '{tensor}' has shape {found:?}, expected {expected:?}")]
    Shape {
        /// The file.
        path: PathBuf,
        /// Tensor name.
        tensor: String,
        /// Shape the network needs.
        expected: Vec<usize>,
        /// Shape in the file.
        found: Vec<usize>,
    },
    /// A tensor is not `f32`.
    #[error("checkpoint file {path}: tensor '{tensor}' has dtype {found}, expected F32")]
    Dtype {
        /// The file.
        path: PathBuf,
        /// Tensor name.
        tensor: String,
        /// Dtype in the file.
        found: String,
    },
    /// `meta.json` has a format version this build does not read.
    #[error("checkpoint file {path}: format version {found}, this build reads version {expected}")]
    Version {
        /// The meta file.
        path: PathBuf,
        /// Version found (None when absent).
        found: String,
        /// Version supported.
        expected: u32,
    },
    /// `meta.json` is not valid JSON or lacks fields.
    #[error("checkpoint file {path} is not a valid checkpoint description: {reason}")]
    Meta {
        /// The meta file.
        path: PathBuf,
        /// Parser message.
        reason: String,
    },
    /// The checkpoint was written for another algorithm or other dimensions.
    #[error("checkpoint file {path} does not fit this agent: {what} is {found}, expected {expected}")]
    Incompatible {
        /// The meta file.
        path: PathBuf,
        /// Which property differs.
        what: &'static str,
        /// Value in the checkpoint.
        found: String,
        /// Value required.
        expected: String,
    },
}

fn io_err(path: &Path, source: std::io::Error) -> CheckpointError {
    if source.kind() == std::io::ErrorKind::NotFound {
        CheckpointError::Missing { path: path.to_path_buf() }
    } else {
        CheckpointError::Io { path: path.to_path_buf(), cause: source }
    }
}

/// Size and content hash of one file of a checkpoint, as recorded in `meta.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// File name inside the checkpoint directory.
    pub name: String,
    /// Size in bytes.
    pub bytes: u64,
    /// 64-bit FNV-1a hash of the content.
    pub fnv1a64: u64,
}

/// 64-bit FNV-1a hash (a corruption check, not a cryptographic one).
pub fn fnv1a64(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in data {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Writes `model` to `dir/name` and returns its [`FileEntry`].
pub fn save_model<M: TensorCollection<f32, Dev>>(
    model: &M,
    dir: &Path,
    name: &str,
) -> Result<FileEntry, CheckpointError> {
    let path = dir.join(name);
    model
        .save_safetensors(&path)
        .map_err(|e| CheckpointError::Safetensors { path: path.clone(), reason: format!("{e:?}") })?;
    let data = fs::read(&path).map_err(|e| io_err(&path, e))?;
    Ok(FileEntry { name: name.to_string(), bytes: data.len() as u64, fnv1a64: fnv1a64(&data) })
}

/// Collects the names and shapes of a model's tensors.
struct ShapeLister(Vec<(String, Vec<usize>)>);

impl TensorVisitor<f32, Dev> for ShapeLister {
    type Viewer = (ViewTensorRef, ViewTensorName);
    type Err = std::convert::Infallible;
    type E2 = f32;
    type D2 = Dev;

    fn visit<S: Shape>(
        &mut self,
        _opts: TensorOptions<S, f32, Dev>,
        (t, name): (&Tensor<S, f32, Dev>, String),
    ) -> Result<Option<Tensor<S, f32, Dev>>, Self::Err> {
        self.0.push((name, t.shape().concrete().into_iter().collect()));
        Ok(None)
    }
}

/// Names and shapes of every tensor of `model`, in visiting order.
pub fn tensor_shapes<M: TensorCollection<f32, Dev>>(model: &M) -> Vec<(String, Vec<usize>)> {
    let mut lister = ShapeLister(Vec::new());
    let walked = M::iter_tensors(&mut RecursiveWalker { m: (model, String::new()), f: &mut lister });
    match walked {
        Ok(_) => lister.0,
        Err(never) => match never {},
    }
}

/// Loads `dir/entry.name` into `model` after checking size, hash, container, tensor
/// names, dtypes and shapes. On error `model` is unchanged.
pub fn load_model<M: TensorCollection<f32, Dev>>(
    model: &mut M,
    dir: &Path,
    entry: &FileEntry,
) -> Result<(), CheckpointError> {
    let path = dir.join(&entry.name);
    let data = fs::read(&path).map_err(|e| io_err(&path, e))?;
    if data.len() as u64 != entry.bytes {
        return Err(CheckpointError::Size { path, expected: entry.bytes, found: data.len() as u64 });
    }
    let found = fnv1a64(&data);
    if found != entry.fnv1a64 {
        return Err(CheckpointError::Checksum { path, expected: entry.fnv1a64, found });
    }
    load_model_bytes(model, &path, &data)
}

/// Validates and loads safetensors `data` (read from `path`, used in messages).
pub fn load_model_bytes<M: TensorCollection<f32, Dev>>(
    model: &mut M,
    path: &Path,
    data: &[u8],
) -> Result<(), CheckpointError> {
    let mut st = ::safetensors::SafeTensors::deserialize(data)
        .map_err(|e| CheckpointError::Safetensors { path: path.to_path_buf(), reason: format!("{e:?}") })?;
    for (name, expected) in tensor_shapes(model) {
        let view = st
            .tensor(&name)
            .map_err(|_| CheckpointError::MissingTensor { path: path.to_path_buf(), tensor: name.clone() })?;
        if view.dtype() != ::safetensors::Dtype::F32 {
            return Err(CheckpointError::Dtype {
                path: path.to_path_buf(),
                tensor: name,
                found: format!("{:?}", view.dtype()),
            });
        }
        if view.shape() != expected.as_slice() {
            return Err(CheckpointError::Shape {
                path: path.to_path_buf(),
                tensor: name,
                expected,
                found: view.shape().to_vec(),
            });
        }
    }
    // A tensor with NaN or infinity would make every decision meaningless: refuse it.
    for name in st.names() {
        let Ok(view) = st.tensor(name) else { continue };
        if view.dtype() == ::safetensors::Dtype::F32 {
            let bad = view
                .data()
                .chunks_exact(4)
                .position(|b| !f32::from_le_bytes([b[0], b[1], b[2], b[3]]).is_finite());
            if let Some(i) = bad {
                return Err(CheckpointError::NonFinite {
                    path: path.to_path_buf(),
                    what: format!("tensor {name}, element {i}"),
                });
            }
        }
    }
    // Everything checked: load into a copy-free walk over the model.
    M::iter_tensors(&mut RecursiveWalker { m: (model, String::new()), f: &mut st })
        .map_err(|e| CheckpointError::Safetensors { path: path.to_path_buf(), reason: format!("{e:?}") })?;
    Ok(())
}

/// `meta.json` of every checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// What wrote it (and what may read it).
    pub algorithm: String,
    /// Compile-time sizes (e.g. `obs_dim`, `hidden`), checked at load.
    pub sizes: std::collections::BTreeMap<String, usize>,
    /// Environment steps trained when saved.
    pub step: u64,
    /// Updates performed when saved.
    pub updates: u64,
    /// The algorithm's hyperparameters.
    pub config: serde_json::Value,
    /// The training environment (provenance).
    pub env: serde_json::Value,
    /// What acting needs besides the networks (e.g. observation statistics).
    pub state: serde_json::Value,
    /// The network files with their sizes and hashes.
    pub files: Vec<FileEntry>,
}

impl Meta {
    /// A meta record of the current format; `files` are filled by [`save`].
    pub fn new(algorithm: &str, sizes: &[(&str, usize)], step: u64, updates: u64) -> Self {
        Meta {
            format_version: FORMAT_VERSION,
            algorithm: algorithm.to_string(),
            sizes: sizes.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            step,
            updates,
            config: serde_json::Value::Null,
            env: serde_json::Value::Null,
            state: serde_json::Value::Null,
            files: Vec::new(),
        }
    }

    /// Checks that the checkpoint in `dir` was written by one of `algorithms` with the
    /// same compile-time sizes, given as `(name, expected)`.
    pub fn check(
        &self,
        dir: &Path,
        algorithms: &[&str],
        sizes: &[(&'static str, usize)],
    ) -> Result<(), CheckpointError> {
        let incompatible = |what, found: String, expected: String| CheckpointError::Incompatible {
            path: dir.join(META_FILE),
            what,
            found,
            expected,
        };
        if !algorithms.contains(&self.algorithm.as_str()) {
            return Err(incompatible("algorithm", self.algorithm.clone(), algorithms.join(" or ")));
        }
        for &(what, expected) in sizes {
            match self.sizes.get(what) {
                Some(&found) if found == expected => {}
                found => {
                    return Err(incompatible(
                        what,
                        found.map_or("none".to_string(), |f| f.to_string()),
                        expected.to_string(),
                    ))
                }
            }
        }
        Ok(())
    }

    /// A typed view of part of the record (`config`, `env` or `state`), with an error
    /// naming the meta file and the part.
    pub fn part<T: DeserializeOwned>(
        &self,
        dir: &Path,
        name: &str,
        value: &serde_json::Value,
    ) -> Result<T, CheckpointError> {
        serde_json::from_value(value.clone())
            .map_err(|e| CheckpointError::Meta { path: dir.join(META_FILE), reason: format!("{name}: {e}") })
    }

    /// The entry of file `name`.
    pub fn file(&self, dir: &Path, name: &str) -> Result<&FileEntry, CheckpointError> {
        file_entry(dir, &self.files, name)
    }
}

/// Writes a checkpoint into `dir` atomically: each `(file name, network)` through
/// `save`, then `meta` with the file entries.
pub fn save(
    dir: &Path,
    mut meta: Meta,
    save_files: impl FnOnce(&Path) -> Result<Vec<FileEntry>, CheckpointError>,
) -> Result<(), CheckpointError> {
    write_dir_atomically(dir, |tmp| {
        meta.files = save_files(tmp)?;
        write_meta(tmp, &meta)
    })
}

/// Reads the `meta.json` of the checkpoint in `dir` (format version first).
pub fn load_meta(dir: &Path) -> Result<Meta, CheckpointError> {
    read_meta(dir)
}

/// The entry of file `name` in a checkpoint's file list (meta file of `dir`).
pub fn file_entry<'a>(
    dir: &Path,
    files: &'a [FileEntry],
    name: &str,
) -> Result<&'a FileEntry, CheckpointError> {
    files.iter().find(|f| f.name == name).ok_or_else(|| CheckpointError::Meta {
        path: dir.join(META_FILE),
        reason: format!("no entry for {name}"),
    })
}

/// Writes `value` as pretty JSON to `dir/META_FILE`.
pub fn write_meta<T: Serialize>(dir: &Path, value: &T) -> Result<(), CheckpointError> {
    let path = dir.join(META_FILE);
    let json = serde_json::to_vec_pretty(value)
        .map_err(|e| CheckpointError::Meta { path: path.clone(), reason: e.to_string() })?;
    let mut f = fs::File::create(&path).map_err(|e| io_err(&path, e))?;
    f.write_all(&json).map_err(|e| io_err(&path, e))?;
    f.sync_all().map_err(|e| io_err(&path, e))?;
    Ok(())
}

/// Reads `dir/META_FILE`, checks `format_version` first, then deserialises.
pub fn read_meta<T: DeserializeOwned>(dir: &Path) -> Result<T, CheckpointError> {
    let path = dir.join(META_FILE);
    let text = fs::read(&path).map_err(|e| io_err(&path, e))?;
    let value: serde_json::Value = serde_json::from_slice(&text)
        .map_err(|e| CheckpointError::Meta { path: path.clone(), reason: e.to_string() })?;
    let version = value.get("format_version").and_then(|v| v.as_u64());
    if version != Some(FORMAT_VERSION as u64) {
        return Err(CheckpointError::Version {
            path,
            found: value.get("format_version").map_or_else(|| "none".to_string(), |v| v.to_string()),
            expected: FORMAT_VERSION,
        });
    }
    serde_json::from_value(value).map_err(|e| CheckpointError::Meta { path, reason: e.to_string() })
}

/// Runs `write` on a fresh hidden sibling directory of `dir`, then renames it to `dir`
/// (replacing an existing checkpoint). A failed `write` removes the temporary directory
/// and leaves any existing checkpoint untouched.
pub fn write_dir_atomically(
    dir: &Path,
    write: impl FnOnce(&Path) -> Result<(), CheckpointError>,
) -> Result<(), CheckpointError> {
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(|e| io_err(&parent, e))?;
    let base =
        dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "checkpoint".to_string());
    let pid = std::process::id();
    let tmp = parent.join(format!(".{base}.tmp-{pid}"));
    let old = parent.join(format!(".{base}.old-{pid}"));
    for stale in [&tmp, &old] {
        if stale.exists() {
            fs::remove_dir_all(stale).map_err(|e| io_err(stale, e))?;
        }
    }
    fs::create_dir(&tmp).map_err(|e| io_err(&tmp, e))?;
    if let Err(e) = write(&tmp) {
        let _ = fs::remove_dir_all(&tmp);
        return Err(e);
    }
    let had_old = dir.exists();
    if had_old {
        fs::rename(dir, &old).map_err(|e| io_err(dir, e))?;
    }
    if let Err(e) = fs::rename(&tmp, dir) {
        if had_old {
            let _ = fs::rename(&old, dir);
        }
        return Err(io_err(dir, e));
    }
    if had_old {
        fs::remove_dir_all(&old).map_err(|e| io_err(&old, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rl::nets::Actor;

    #[test]
    fn fnv_matches_reference_values() {
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
    }

    #[test]
    fn atomic_write_replaces_and_keeps_old_on_failure() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("ck");
        write_dir_atomically(&dir, |d| write_meta(d, &serde_json::json!({"format_version": 1, "x": 1})))
            .unwrap();
        let failing =
            write_dir_atomically(&dir, |_d| Err(CheckpointError::Missing { path: PathBuf::from("x") }));
        assert!(failing.is_err());
        let v: serde_json::Value = read_meta(&dir).unwrap();
        assert_eq!(v["x"], 1);
        write_dir_atomically(&dir, |d| write_meta(d, &serde_json::json!({"format_version": 1, "x": 2})))
            .unwrap();
        let v: serde_json::Value = read_meta(&dir).unwrap();
        assert_eq!(v["x"], 2);
        // no temporary directories left behind
        let names: Vec<_> = fs::read_dir(root.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn model_round_trip_and_shape_check() {
        let dev = Dev::seed_from_u64(0);
        let a = Actor::<3, 1, 8, f32, Dev>::init(&dev, 0.0);
        let dir = tempfile::tempdir().unwrap();
        let entry = save_model(&a, dir.path(), "actor.safetensors").unwrap();
        let mut b = Actor::<3, 1, 8, f32, Dev>::init(&dev, 0.0);
        assert_ne!(a.l1.weight.as_vec(), b.l1.weight.as_vec());
        load_model(&mut b, dir.path(), &entry).unwrap();
        assert_eq!(a.l1.weight.as_vec(), b.l1.weight.as_vec());
        assert_eq!(a.l3.bias.as_vec(), b.l3.bias.as_vec());
        let mut wide = Actor::<3, 1, 16, f32, Dev>::init(&dev, 0.0);
        let err = load_model(&mut wide, dir.path(), &entry).unwrap_err();
        match err {
            CheckpointError::Shape { path, tensor, .. } => {
                assert!(path.ends_with("actor.safetensors"));
                assert_eq!(tensor, "l1.weight");
            }
            other => panic!("unexpected {other}"),
        }
    }
}
