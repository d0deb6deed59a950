//! The benchmark suite behind `dnnrm bench`: generate the sets, run every solver on
//! every instance (learned solvers once per training seed with a checkpoint), write one
//! results CSV per set, the plots and `results/summary.md`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::plots::{self, write_chart};
use super::report::{git_revision, machine_description, summary_markdown};
use super::runner::{progress_bar, run_batch, shard, BatchItem, Job, ResultRow, ResultsFile, RowContext};
use super::sets::{generate_set, sweep_param, sweep_values};
use crate::io::IoError;
use crate::solver::{create, registry, SolveOptions, SolverConfig, SolverError};

/// Everything `dnnrm bench` and `dnnrm eval` need to build their jobs.
#[derive(Debug, Clone)]
pub struct JobSpec {
    /// Solver names (registry names).
    pub solvers: Vec<String>,
    /// Run seeds for solvers without checkpoints.
    pub seeds: Vec<u64>,
    pub config: SolverConfig,
    pub base: SolveOptions,
    /// Folder holding `<solver>/seed<k>/` checkpoints of learned solvers.
    pub models_dir: PathBuf,
}

/// The `options` label of a job.
pub fn options_label(base: &SolveOptions, cfg: &SolverConfig) -> String {
    let tl = base.time_limit.map_or("none".to_string(), |t| format!("{}s", t.as_secs_f64()));
    let mut s = format!("time_limit={tl};threads={}", base.threads);
    let extra = cfg.label();
    if !extra.is_empty() {
        s.push(';');
        s.push_str(&extra);
    }
    s
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

/// Builds the jobs: each solver once per run seed, or, for a learned solver without an
/// explicit `--checkpoint`, once per checkpoint found (its training seed as the seed).
/// A learned solver with no checkpoint at all is skipped with a warning when
/// `skip_untrained` is set (the benchmark), and is an error otherwise.
pub fn build_jobs(spec: &JobSpec, skip_untrained: bool) -> Result<(Vec<Job>, Vec<String>), SolverError> {
    let mut jobs = Vec::new();
    let mut warnings = Vec::new();
    for name in &spec.solvers {
        let learned = registry().iter().find(|i| i.name == name).is_some_and(|i| i.learned);
        let found = if learned && spec.config.checkpoint.is_none() {
            checkpoints(&spec.models_dir, name)
        } else {
            vec![]
        };
        if learned && spec.config.checkpoint.is_none() && found.is_empty() && skip_untrained {
            warnings.push(format!(
                "{name}: no checkpoint in {}/{name}/seed<k>/ (train it with `dnnrm train`); skipped",
                spec.models_dir.display()
            ));
            continue;
        }
        if !found.is_empty() {
            for (seed, dir) in found {
                let cfg = SolverConfig { checkpoint: Some(dir), ..spec.config.clone() };
                let options = SolveOptions { seed, ..spec.base.clone() };
                jobs.push(Job {
                    solver: Arc::from(create(name, &cfg)?),
                    label: options_label(&options, &cfg),
                    options,
                });
            }
            continue;
        }
        let solver: Arc<dyn crate::solver::Solver> = Arc::from(create(name, &spec.config)?);
        for &seed in &spec.seeds {
            let options = SolveOptions { seed, ..spec.base.clone() };
            jobs.push(Job { solver: solver.clone(), label: options_label(&options, &spec.config), options });
        }
    }
    Ok((jobs, warnings))
}

/// Settings of a benchmark run.
#[derive(Debug, Clone)]
pub struct SuiteConfig {
    pub instances_dir: PathBuf,
    pub out_dir: PathBuf,
    pub sets: Vec<String>,
    pub jobs: JobSpec,
    /// Ignore existing results instead of resuming.
    pub fresh: bool,
    /// The command line, stamped into the summary.
    pub command: String,
    /// Only this shard `(i, n)` of every set's instances.
    pub shard: Option<(usize, usize)>,
    /// Instances per size of the MILP scaling table (0: no table). It runs after the
    /// sets, one solve at a time, so its timings are not disturbed by parallel runs.
    pub milp_scaling: usize,
}

/// Why a benchmark run stopped.
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    #[error(transparent)]
    Io(#[from] IoError),
    #[error(transparent)]
    Solver(#[from] SolverError),
}

/// What a finished run produced.
#[derive(Debug, Default)]
pub struct SuiteOutcome {
    pub written: Vec<PathBuf>,
    /// Bad spec rows and instances that could not be loaded (each names its place).
    pub skipped: Vec<String>,
    /// Rows whose run failed (status `error`).
    pub error_rows: usize,
    /// Solvers skipped (e.g. learned solvers without a checkpoint).
    pub warnings: Vec<String>,
}

/// Runs the suite; see the module documentation.
pub fn run_suite(cfg: &SuiteConfig) -> Result<SuiteOutcome, SuiteError> {
    let (jobs, warnings) = build_jobs(&cfg.jobs, true)?;
    let revision = git_revision();
    let machine = machine_description();
    let mut out = SuiteOutcome { warnings, ..Default::default() };
    let mut all_sets: Vec<(String, Vec<ResultRow>)> = Vec::new();
    for set in &cfg.sets {
        let spec = cfg.instances_dir.join(format!("{set}.csv"));
        let generated = generate_set(&spec, &cfg.instances_dir.join(set), false)?;
        out.skipped.extend(generated.errors.iter().map(|e| e.to_string()));
        let mut items: Vec<BatchItem> = generated.files.into_iter().map(BatchItem::File).collect();
        if let Some((i, n)) = cfg.shard {
            items = shard(items, i, n);
        }
        let path = match cfg.shard {
            Some((i, n)) => cfg.out_dir.join(format!("{set}.shard{i}of{n}.csv")),
            None => cfg.out_dir.join(format!("{set}.csv")),
        };
        let results = Mutex::new(ResultsFile::open(Some(&path), !cfg.fresh)?);
        let ctx = RowContext {
            set: set.clone(),
            options: String::new(),
            revision: revision.clone(),
            machine: machine.clone(),
        };
        let pb = progress_bar(items.len() as u64, &format!("bench {set}"));
        let load_errors = run_batch(&items, &jobs, &ctx, &results, &pb);
        pb.finish_and_clear();
        out.skipped.extend(load_errors.iter().map(|e| e.to_string()));
        let rows = results.into_inner().map(|r| r.rows()).unwrap_or_default();
        // Rows of solvers or options not in this run stay in the file, not in the report.
        let labels: Vec<(String, String)> =
            jobs.iter().map(|j| (j.solver.name().to_string(), j.label.clone())).collect();
        let rows: Vec<ResultRow> = rows
            .into_iter()
            .filter(|r| labels.iter().any(|(s, l)| *s == r.solver && *l == r.options))
            .collect();
        out.error_rows += rows.iter().filter(|r| r.status == "error").count();
        out.written.push(path);
        all_sets.push((set.clone(), rows));
    }
    if cfg.shard.is_none() {
        let mut extra = Vec::new();
        if cfg.milp_scaling > 0 {
            use super::scaling::{milp_scaling, scaling_markdown, DEFAULT_SIZES};
            let pb = progress_bar((DEFAULT_SIZES.len() * cfg.milp_scaling) as u64, "milp scaling");
            let limit = cfg.jobs.base.time_limit.unwrap_or(std::time::Duration::from_secs(60));
            let rows = milp_scaling(&DEFAULT_SIZES, cfg.milp_scaling, limit, &pb);
            pb.finish_and_clear();
            let md = format!(
                "## MILP scaling\n\nDefault scenario with N devices and M edge servers, {} instances per size, one \
                 thread, time limit {} s; build = model construction, solve = HiGHS. Goal: every instance up to \
                 N = 500 proven optimal with p95 solve time <= 5 s.\n\n{}",
                cfg.milp_scaling,
                limit.as_secs_f64(),
                scaling_markdown(&rows)
            );
            let path = cfg.out_dir.join("milp_scaling.md");
            crate::io::json::write_atomic(&path, md.as_bytes())?;
            out.written.push(path);
            extra.push(md);
        }
        if let Some(md) = super::report::drl_section(&all_sets) {
            extra.insert(0, md);
        }
        if cfg.sets.iter().any(|s| s == "default") {
            extra.insert(0, decision_times(cfg, &jobs)?);
        }
        let (paths, plot_md) = write_plots(cfg, &all_sets);
        out.written.extend(paths);
        extra.push(plot_md);
        let md = summary_markdown(&cfg.command, &all_sets, &extra);
        let path = cfg.out_dir.join("summary.md");
        crate::io::json::write_atomic(&path, md.as_bytes())?;
        out.written.push(path);
    }
    Ok(out)
}

/// Writes every plot the sets allow; returns the files and a markdown section linking
/// them (plot failures are listed there, not fatal).
fn write_plots(cfg: &SuiteConfig, sets: &[(String, Vec<ResultRow>)]) -> (Vec<PathBuf>, String) {
    let dir = cfg.out_dir.join("plots");
    let mut md = String::from("## Plots\n\n");
    let mut files = Vec::new();
    let mut emit = |stem: &str, chart: plots::Chart, md: &mut String| match write_chart(&dir, stem, &chart) {
        Ok(f) => {
            md.push_str(&format!("- [{}](plots/{stem}.svg) ([PNG](plots/{stem}.png))\n", chart.title));
            files.extend(f);
        }
        Err(e) => md.push_str(&format!("- {stem}: could not be drawn: {e}\n")),
    };
    for (set, rows) in sets {
        if let Some(param) = sweep_param(set) {
            let spec = cfg.instances_dir.join(format!("{set}.csv"));
            if let Ok(values) = sweep_values(&spec, param) {
                emit(&format!("sweep-{param}"), plots::sweep_chart(param, rows, &values), &mut md);
            }
        }
        if set == "default" {
            emit("profile-default", plots::performance_profile(rows, 2.0), &mut md);
        }
    }
    let timing: Vec<ResultRow> = sets
        .iter()
        .filter(|(s, _)| s == "scale" || s == "sweep-n_devices")
        .flat_map(|(_, r)| r.iter().cloned())
        .collect();
    if !timing.is_empty() {
        emit("time-vs-n", plots::time_chart(&timing), &mut md);
    }
    let curves = learning_curves(&cfg.jobs.models_dir);
    if !curves.is_empty() {
        emit("learning-curves", plots::learning_chart(&curves), &mut md);
    }
    (files, md)
}

/// Learning curves `<models_dir>/<algo>/seed<k>/curve.csv` (columns `step` and
/// `val_objective`), named `<algo> seed <k>`.
pub fn learning_curves(models_dir: &Path) -> Vec<(String, Vec<(f64, f64)>)> {
    let mut out = Vec::new();
    for info in registry().iter().filter(|i| i.learned) {
        for (seed, dir) in checkpoints(models_dir, info.name) {
            let Ok(mut rdr) = csv::Reader::from_path(dir.join("curve.csv")) else { continue };
            let Ok(h) = rdr.headers().cloned() else { continue };
            let (Some(si), Some(vi)) =
                (h.iter().position(|c| c == "step"), h.iter().position(|c| c == "val_objective"))
            else {
                continue;
            };
            let pts: Vec<(f64, f64)> = rdr
                .records()
                .filter_map(|r| r.ok())
                .filter_map(|r| Some((r.get(si)?.parse().ok()?, r.get(vi)?.parse().ok()?)))
                .collect();
            if !pts.is_empty() {
                out.push((format!("{} seed {seed}", info.name), pts));
            }
        }
    }
    out
}

/// Decision time of each solver on one thread, one solve at a time (no parallel runs):
/// the first 20 instances of `default`, each solved 3 times, the fastest kept. Medians
/// and the ratio to the MILP are measured in this one run.
fn decision_times(cfg: &SuiteConfig, jobs: &[Job]) -> Result<String, SuiteError> {
    use super::stats::{median, percentile};
    let dir = cfg.instances_dir.join("default");
    let generated = generate_set(&cfg.instances_dir.join("default.csv"), &dir, false)?;
    let instances: Vec<crate::model::Instance> =
        generated.files.iter().take(20).map(|p| crate::io::read_instance(p)).collect::<Result<_, _>>()?;
    let mut seen = std::collections::BTreeSet::new();
    let mut rows: Vec<(String, f64, f64)> = Vec::new();
    let pb = progress_bar((instances.len() * jobs.len()) as u64, "decision times");
    for job in jobs {
        pb.inc(instances.len() as u64);
        if !seen.insert(job.solver.name().to_string()) {
            continue; // one checkpoint per learned solver is enough for timing
        }
        let opts = crate::solver::SolveOptions { threads: 1, ..job.options.clone() };
        let times: Vec<f64> = instances
            .iter()
            .map(|inst| {
                (0..3)
                    .map(|_| {
                        let t = std::time::Instant::now();
                        let _ = job.solver.solve(inst, &opts);
                        t.elapsed().as_secs_f64()
                    })
                    .fold(f64::INFINITY, f64::min)
            })
            .collect();
        rows.push((job.solver.name().to_string(), median(&times), percentile(&times, 0.95)));
    }
    pb.finish_and_clear();
    let milp = rows.iter().find(|r| r.0 == super::runner::EXACT_SOLVER).map(|r| r.1);
    let mut md = String::from(
        "## Decision time (one thread, one solve at a time)\n\nFirst 20 instances of `default` (N = 50), \
         each solved 3 times, fastest kept; includes option enumeration.\n\n\
         | solver | p50 | p95 | MILP p50 / solver p50 |\n|---|---:|---:|---:|\n",
    );
    for (name, p50, p95) in rows {
        let ratio = milp.map_or("-".to_string(), |m| format!("{:.0}x", m / p50));
        md.push_str(&format!(
            "| {name} | {} | {} | {ratio} |\n",
            super::report::fmt_time(p50),
            super::report::fmt_time(p95)
        ));
    }
    Ok(md)
}
