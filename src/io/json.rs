//! Instance and solution JSON (each carries `format_version`).

use std::path::Path;

use serde::de::DeserializeOwned;

use super::IoError;
use crate::model::{Instance, Solution, FORMAT_VERSION};

fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T, IoError> {
    let text = std::fs::read_to_string(path).map_err(|e| IoError::read(path, e))?;
    serde_json::from_str(&text).map_err(|e| IoError::Json {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        reason: e.to_string().split(" at line ").next().unwrap_or_default().to_string(),
    })
}

/// Reads and validates an instance; an impossible value is reported with its field.
pub fn read_instance(path: &Path) -> Result<Instance, IoError> {
    let inst: Instance = read_json(path)?;
    inst.validate().map_err(|e| IoError::Field {
        path: path.to_path_buf(),
        field: e.field,
        reason: e.reason,
    })?;
    Ok(inst)
}

/// Reads a solution. Its consistency with an instance is the evaluator's job.
pub fn read_solution(path: &Path) -> Result<Solution, IoError> {
    let sol: Solution = read_json(path)?;
    if sol.format_version != FORMAT_VERSION {
        return Err(IoError::Field {
            path: path.to_path_buf(),
            field: "format_version".into(),
            reason: format!("unsupported version {} (this build reads {FORMAT_VERSION})", sol.format_version),
        });
    }
    Ok(sol)
}
