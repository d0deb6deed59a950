//! The one atomic writer: every file dnnrm writes (instances, solutions, results,
//! reports, curves, checkpoints' metadata) goes through a temporary sibling and a
//! rename, so a reader never sees a half-written file and an interrupted run leaves
//! the previous version in place.

use std::path::Path;

use serde::Serialize;

use super::IoError;

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, then a
/// rename. Creates the parent folder. The temporary file is removed when the write
/// fails.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), IoError> {
    let werr = |e| IoError::Write { path: path.to_path_buf(), cause: e };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(werr)?;
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp{}", std::process::id()));
    let written = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(werr(e));
    }
    Ok(())
}

/// Writes a value as pretty JSON (with a final newline), atomically.
pub fn write_json_atomic<T: Serialize>(path: &Path, value: &T) -> Result<(), IoError> {
    let mut bytes = serde_json::to_vec_pretty(value)
        .map_err(|e| IoError::Write { path: path.to_path_buf(), cause: std::io::Error::other(e) })?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}
