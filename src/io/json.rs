//! Instance, solution, episode and decisions JSON (each carries `format_version`).

use std::path::Path;

use serde::de::DeserializeOwned;

use super::IoError;
use crate::model::{Episode, EpisodeDecisions, Instance, Solution, EPISODE_FORMAT_VERSION, FORMAT_VERSION};

/// The UTF-8 byte order mark some Windows editors put at the start of a file.
const BOM: char = '\u{feff}';

/// Parses JSON text (a leading byte order mark is skipped); `path` names the source in
/// errors. An unknown field is an error naming the field and the fields expected there.
fn parse_json<T: DeserializeOwned>(text: &str, path: &Path) -> Result<T, IoError> {
    serde_json::from_str(text.strip_prefix(BOM).unwrap_or(text)).map_err(|e| IoError::Json {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        reason: e.to_string().split(" at line ").next().unwrap_or_default().to_string(),
    })
}

/// Reads and validates an instance; an impossible value is reported with its field.
pub fn read_instance(path: &Path) -> Result<Instance, IoError> {
    let text = std::fs::read_to_string(path).map_err(|e| IoError::read(path, e))?;
    parse_instance(&text, path)
}

/// [`read_instance`] on text already read; `path` names the source in errors.
pub fn parse_instance(text: &str, path: &Path) -> Result<Instance, IoError> {
    let inst: Instance = parse_json(text, path)?;
    inst.validate().map_err(|e| IoError::Field {
        path: path.to_path_buf(),
        field: e.field,
        reason: e.reason,
    })?;
    Ok(inst)
}

/// Reads a solution. Its consistency with an instance is the evaluator's job.
pub fn read_solution(path: &Path) -> Result<Solution, IoError> {
    let text = std::fs::read_to_string(path).map_err(|e| IoError::read(path, e))?;
    parse_solution(&text, path)
}

/// [`read_solution`] on text already read; `path` names the source in errors.
pub fn parse_solution(text: &str, path: &Path) -> Result<Solution, IoError> {
    let sol: Solution = parse_json(text, path)?;
    if sol.format_version != FORMAT_VERSION {
        return Err(IoError::Field {
            path: path.to_path_buf(),
            field: "format_version".into(),
            reason: format!("unsupported version {} (this build reads {FORMAT_VERSION})", sol.format_version),
        });
    }
    Ok(sol)
}

/// Reads and validates an episode (MODEL.md §9); an impossible value is reported with
/// its field, e.g. `slots[3].tasks[7].deadline_s`.
pub fn read_episode(path: &Path) -> Result<Episode, IoError> {
    let text = std::fs::read_to_string(path).map_err(|e| IoError::read(path, e))?;
    parse_episode(&text, path)
}

/// [`read_episode`] on text already read; `path` names the source in errors.
pub fn parse_episode(text: &str, path: &Path) -> Result<Episode, IoError> {
    let ep: Episode = parse_json(text, path)?;
    ep.validate().map_err(|e| IoError::Field {
        path: path.to_path_buf(),
        field: e.field,
        reason: e.reason,
    })?;
    Ok(ep)
}

/// Reads a policy's decisions for an episode. Their consistency with the episode is
/// the episode evaluator's job.
pub fn read_decisions(path: &Path) -> Result<EpisodeDecisions, IoError> {
    let text = std::fs::read_to_string(path).map_err(|e| IoError::read(path, e))?;
    let d: EpisodeDecisions = parse_json(&text, path)?;
    if d.format_version != EPISODE_FORMAT_VERSION {
        return Err(IoError::Field {
            path: path.to_path_buf(),
            field: "format_version".into(),
            reason: format!(
                "unsupported version {} (this build reads {EPISODE_FORMAT_VERSION})",
                d.format_version
            ),
        });
    }
    Ok(d)
}
