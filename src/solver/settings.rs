//! Solver settings from the command line, unchecked (linfa's habit): each registered
//! solver declares the [`Setting`]s it takes, the registry refuses any other one with
//! a clear error, and the solver builds and checks its own configuration from them.
//! Only the settings that apply to a solver reach its results' `options` column.

use std::path::PathBuf;

use super::SolverError;

/// A setting a solver may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    /// Checkpoint folder of a learned solver (`--checkpoint`).
    Checkpoint,
    /// Relative MIP gap at which the MILP stops (`--mip-gap`).
    MipGap,
    /// Start the MILP from the `greedy-ls` solution (`--warm-start`).
    WarmStart,
}

impl Setting {
    /// The command-line flag.
    pub fn flag(self) -> &'static str {
        match self {
            Setting::Checkpoint => "--checkpoint",
            Setting::MipGap => "--mip-gap",
            Setting::WarmStart => "--warm-start",
        }
    }
}

/// The settings as given; `None`/`false` means not given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SolverSettings {
    pub checkpoint: Option<PathBuf>,
    pub mip_rel_gap: Option<f64>,
    pub warm_start: bool,
}

impl SolverSettings {
    /// The settings that were given.
    pub fn given(&self) -> Vec<Setting> {
        let mut v = Vec::new();
        if self.checkpoint.is_some() {
            v.push(Setting::Checkpoint);
        }
        if self.mip_rel_gap.is_some() {
            v.push(Setting::MipGap);
        }
        if self.warm_start {
            v.push(Setting::WarmStart);
        }
        v
    }

    /// Refuses every given setting that `solver` does not take.
    pub fn check_applicable(&self, solver: &str, takes: &[Setting]) -> Result<(), SolverError> {
        let foreign: Vec<&str> =
            self.given().into_iter().filter(|s| !takes.contains(s)).map(Setting::flag).collect();
        if foreign.is_empty() {
            return Ok(());
        }
        let accepted = if takes.is_empty() {
            "none".to_string()
        } else {
            takes.iter().map(|s| s.flag()).collect::<Vec<_>>().join(", ")
        };
        Err(SolverError::Config {
            solver: solver.to_string(),
            reason: format!("{} does not apply to this solver (it takes: {accepted})", foreign.join(", ")),
        })
    }

    /// The given settings among `takes` as `key=value` pairs joined by `;`.
    pub fn label(&self, takes: &[Setting]) -> String {
        let mut parts = Vec::new();
        for s in self.given().into_iter().filter(|s| takes.contains(s)) {
            parts.push(match s {
                Setting::Checkpoint => {
                    format!(
                        "checkpoint={}",
                        self.checkpoint.as_ref().map(|c| c.display().to_string()).unwrap_or_default()
                    )
                }
                Setting::MipGap => format!("mip_rel_gap={}", self.mip_rel_gap.unwrap_or(0.0)),
                Setting::WarmStart => "warm_start=true".to_string(),
            });
        }
        parts.join(";")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn foreign_settings_are_refused_by_name_and_labels_keep_only_applicable_ones() {
        let s = SolverSettings { mip_rel_gap: Some(0.01), warm_start: true, ..Default::default() };
        let e = s.check_applicable("greedy", &[]).unwrap_err().to_string();
        assert!(e.contains("greedy") && e.contains("--mip-gap") && e.contains("--warm-start"), "{e}");
        assert!(e.contains("takes: none"), "{e}");
        assert!(s.check_applicable("milp", &[Setting::MipGap, Setting::WarmStart]).is_ok());
        assert_eq!(s.label(&[Setting::MipGap, Setting::WarmStart]), "mip_rel_gap=0.01;warm_start=true");
        assert_eq!(s.label(&[Setting::MipGap]), "mip_rel_gap=0.01");
        assert_eq!(SolverSettings::default().label(&[Setting::Checkpoint]), "");
    }
}
