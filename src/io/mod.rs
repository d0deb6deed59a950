//! Files: instance and solution JSON, scenario CSV, instance-list CSV, the results
//! format, the one atomic writer, and provenance (revision, machine, date). Every
//! error names the file and, where it has them, the line, column or field.

pub mod atomic;
pub mod csvfiles;
pub mod json;
pub mod keyed_cache;
pub mod provenance;
pub mod results;

pub use atomic::{write_atomic, write_json_atomic};
pub use csvfiles::{read_instance_list, read_scenario_csv, InstanceListRow, ScenarioRow};
pub use json::{read_decisions, read_episode, read_instance, read_solution};
pub use keyed_cache::{CacheRow, KeyedCache};
pub use results::{ResultRow, ResultsFile, RowStatus};

use std::path::{Path, PathBuf};

/// An input file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum IoError {
    #[error("{path}: cannot read: {cause}")]
    Read { path: PathBuf, cause: std::io::Error },
    #[error("{path}: cannot write: {cause}")]
    Write { path: PathBuf, cause: std::io::Error },
    #[error("{path}, line {line}, column {column}: {reason}")]
    Json { path: PathBuf, line: usize, column: usize, reason: String },
    #[error("{path}: field {field}: {reason}")]
    Field { path: PathBuf, field: String, reason: String },
    #[error("{path}, line {line}{}: {reason}", column.as_ref().map(|c| format!(", column `{c}`")).unwrap_or_default())]
    Csv { path: PathBuf, line: u64, column: Option<String>, reason: String },
    /// A file named on a line of a list could not be used.
    #[error("{list}, line {line}: {source}")]
    Listed { list: PathBuf, line: u64, source: Box<IoError> },
}

impl IoError {
    pub(crate) fn read(path: &Path, source: std::io::Error) -> Self {
        IoError::Read { path: path.to_path_buf(), cause: source }
    }
}
