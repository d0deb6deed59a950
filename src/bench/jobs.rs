//! Jobs: which solver configurations a run executes. Each solver runs once per run
//! seed, or, for a learned solver without an explicit `--checkpoint`, once per
//! committed checkpoint (its training seed as the seed). The `options` column of a job
//! holds the run options, the settings that apply to that solver and the fallback.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::runner::{error_chain, Job, Unavailable};
use crate::solver::{SolveOptions, Solver, SolverError, SolverSettings};
use crate::solvers::{create, info};

/// Everything `dnnrm bench` and `dnnrm eval` need to build their jobs.
#[derive(Debug, Clone)]
pub struct JobSpec {
    /// Solver names (registry names).
    pub solvers: Vec<String>,
    /// Run seeds (default `[0]`); for a learned solver without `--checkpoint`, the
    /// training seeds of the checkpoints to run (default: every checkpoint found).
    pub seeds: Option<Vec<u64>>,
    /// Solver settings as given; each solver must take every given one.
    pub settings: SolverSettings,
    /// Solver run when the primary fails, labelled `fallback`.
    pub fallback: Option<String>,
    pub base: SolveOptions,
    /// Folder holding `<solver>/seed<k>/` checkpoints of learned solvers.
    pub models_dir: PathBuf,
}

/// The `options` label of a job: run options, applicable settings, fallback.
pub fn options_label(
    base: &SolveOptions,
    solver: &str,
    settings: &SolverSettings,
    fallback: Option<&str>,
) -> String {
    let mut parts = vec![base.label()];
    if let Ok(i) = info(solver) {
        let s = settings.label(i.settings);
        if !s.is_empty() {
            parts.push(s);
        }
    }
    if let Some(f) = fallback {
        parts.push(format!("fallback={f}"));
    }
    parts.join(";")
}

/// Checkpoints `<models_dir>/<solver>/seed<k>/` of a learned solver, by training seed.
pub fn checkpoints(models_dir: &Path, solver: &str) -> Vec<(u64, PathBuf)> {
    let mut out: Vec<(u64, PathBuf)> = std::fs::read_dir(models_dir.join(solver))
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let seed = e.file_name().to_str()?.strip_prefix("seed")?.parse().ok()?;
                    e.path().is_dir().then(|| (seed, e.path()))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// What [`build_jobs`] produced: the jobs and the warnings (solvers skipped, solvers
/// that could not be built).
#[derive(Default)]
pub struct Jobs {
    pub jobs: Vec<Job>,
    pub warnings: Vec<String>,
}

/// Builds the jobs (see the module docs). A learned solver with no checkpoint at all is
/// skipped with a warning when `skip_untrained` is set (the benchmark). An unknown
/// name, a setting a solver does not take, or a bad fallback is an error of the whole
/// spec; a solver that fails to build (e.g. a corrupt checkpoint) becomes an
/// [`Unavailable`] job, so it gets error rows and the other solvers still run.
pub fn build_jobs(spec: &JobSpec, skip_untrained: bool) -> Result<Jobs, SolverError> {
    let fallback: Option<Arc<dyn Solver>> = match spec.fallback.as_deref() {
        None => None,
        Some(name) => Some(Arc::from(create(name, &SolverSettings::default())?)),
    };
    let mut out = Jobs::default();
    for name in &spec.solvers {
        let entry = info(name)?;
        spec.settings.check_applicable(name, entry.settings)?;
        if spec.fallback.as_deref() == Some(name.as_str()) {
            return Err(SolverError::Config {
                solver: name.clone(),
                reason: "the fallback of a solver cannot be the solver itself".into(),
            });
        }
        let explicit = spec.settings.checkpoint.is_some();
        let mut found = if entry.learned && !explicit { checkpoints(&spec.models_dir, name) } else { vec![] };
        if let (Some(seeds), false) = (&spec.seeds, found.is_empty()) {
            if let Some(missing) = seeds.iter().find(|s| !found.iter().any(|(k, _)| k == *s)) {
                let have: Vec<String> = found.iter().map(|(k, _)| k.to_string()).collect();
                return Err(SolverError::Config {
                    solver: name.clone(),
                    reason: format!(
                        "no checkpoint for seed {missing} in {}/{name}/ (a learned solver runs once per \
                         checkpoint, and --seeds chooses among them: {})",
                        spec.models_dir.display(),
                        have.join(", ")
                    ),
                });
            }
            found.retain(|(k, _)| seeds.contains(k));
        }
        if entry.learned && !explicit && found.is_empty() && skip_untrained {
            out.warnings.push(format!(
                "{name}: no checkpoint in {}/{name}/seed<k>/ (train it with `dnnrm train`); skipped",
                spec.models_dir.display()
            ));
            continue;
        }
        let configs: Vec<(SolverSettings, Vec<u64>)> = if found.is_empty() {
            vec![(spec.settings.clone(), spec.seeds.clone().unwrap_or_else(|| vec![0]))]
        } else {
            found
                .into_iter()
                .map(|(seed, dir)| {
                    (SolverSettings { checkpoint: Some(dir), ..spec.settings.clone() }, vec![seed])
                })
                .collect()
        };
        for (settings, seeds) in configs {
            let solver: Arc<dyn Solver> = match create(name, &settings) {
                Ok(s) => Arc::from(s),
                Err(e) => {
                    let why = error_chain(&e);
                    out.warnings.push(format!("{why}; its runs become error rows"));
                    Arc::new(Unavailable { name: name.clone(), why })
                }
            };
            for seed in seeds {
                let options = SolveOptions { seed, ..spec.base.clone() };
                out.jobs.push(Job {
                    label: options_label(&options, name, &settings, spec.fallback.as_deref()),
                    solver: solver.clone(),
                    fallback: fallback.clone(),
                    options,
                });
            }
        }
    }
    Ok(out)
}
