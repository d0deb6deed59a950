//! The model zoo: real DNN model profiles (instances/zoo.csv, from the torchvision
//! documentation). Workload `w_k = 2 x GMACs x 1e9` FLOPs; size `S_k` = weights file MB.

use std::path::Path;

/// The zoo shipped with the crate (instances/zoo.csv).
pub const EMBEDDED_ZOO_CSV: &str = include_str!("../../instances/zoo.csv");

/// One model of the zoo, as read from the CSV.
#[derive(Debug, Clone, PartialEq)]
pub struct ZooModel {
    pub name: String,
    /// One of [`super::SERVICES`].
    pub service: String,
    pub accuracy_pct: f64,
    pub gmacs: f64,
    pub file_mb: f64,
}

impl ZooModel {
    /// `w_k` in FLOPs (one MAC is two FLOPs).
    pub fn flops(&self) -> f64 {
        2.0 * self.gmacs * 1e9
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Zoo {
    pub models: Vec<ZooModel>,
}

/// A malformed zoo file, naming the file, line and column.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{source_name}{}: {reason}", line.map(|l| format!(", line {l}")).unwrap_or_default())]
pub struct ZooError {
    pub source_name: String,
    pub line: Option<u64>,
    pub reason: String,
}

const REQUIRED: [&str; 5] = ["name", "service", "accuracy_pct", "gmacs", "file_mb"];

impl Zoo {
    /// The embedded default zoo.
    pub fn embedded() -> Result<Zoo, ZooError> {
        Zoo::from_csv_str(EMBEDDED_ZOO_CSV, "embedded instances/zoo.csv")
    }

    pub fn from_path(path: &Path) -> Result<Zoo, ZooError> {
        let text = std::fs::read_to_string(path).map_err(|e| ZooError {
            source_name: path.display().to_string(),
            line: None,
            reason: format!("cannot read: {e}"),
        })?;
        Zoo::from_csv_str(&text, &path.display().to_string())
    }

    /// Parses a zoo CSV with at least the columns `name, service, accuracy_pct, gmacs,
    /// file_mb` (others, such as `metric`, `params_m` and `source`, are kept out).
    pub fn from_csv_str(text: &str, source_name: &str) -> Result<Zoo, ZooError> {
        let fail = |line: Option<u64>, reason: String| ZooError {
            source_name: source_name.to_string(),
            line,
            reason,
        };
        let mut rdr = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(text.as_bytes());
        let headers = rdr.headers().map_err(|e| fail(Some(1), format!("bad header: {e}")))?.clone();
        let mut col = [0usize; 5];
        for (i, name) in REQUIRED.iter().enumerate() {
            col[i] = headers
                .iter()
                .position(|h| h == *name)
                .ok_or_else(|| fail(Some(1), format!("missing column `{name}`")))?;
        }
        let mut models = Vec::new();
        for rec in rdr.records() {
            let rec = rec.map_err(|e| fail(e.position().map(|p| p.line()), e.to_string()))?;
            let line = rec.position().map(|p| p.line());
            let field = |i: usize| rec.get(col[i]).unwrap_or("");
            let number = |i: usize| -> Result<f64, ZooError> {
                let v: f64 = field(i).parse().map_err(|_| {
                    fail(line, format!("column `{}`: expected a number, got `{}`", REQUIRED[i], field(i)))
                })?;
                if v.is_finite() && v >= 0.0 {
                    Ok(v)
                } else {
                    Err(fail(
                        line,
                        format!("column `{}`: must be finite and non-negative, got {v}", REQUIRED[i]),
                    ))
                }
            };
            let service = field(1).to_string();
            if !super::SERVICES.contains(&service.as_str()) {
                return Err(fail(
                    line,
                    format!("column `service`: `{service}` is not one of {}", super::SERVICES.join(", ")),
                ));
            }
            let m = ZooModel {
                name: field(0).to_string(),
                service,
                accuracy_pct: number(2)?,
                gmacs: number(3)?,
                file_mb: number(4)?,
            };
            if m.name.is_empty() {
                return Err(fail(line, "column `name`: empty".to_string()));
            }
            if m.accuracy_pct > 100.0 {
                return Err(fail(line, format!("column `accuracy_pct`: {} exceeds 100", m.accuracy_pct)));
            }
            if m.gmacs <= 0.0 {
                return Err(fail(line, "column `gmacs`: must be positive".to_string()));
            }
            models.push(m);
        }
        if models.is_empty() {
            return Err(fail(None, "the zoo is empty".to_string()));
        }
        Ok(Zoo { models })
    }
}
