//! The benchmark suite behind `dnnrm bench`: generate the sets, run every solver on
//! every instance (learned solvers once per training seed with a checkpoint), write one
//! results CSV per set, the plots and `results/summary.md`.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::jobs::{build_jobs, checkpoints, JobSpec, Jobs};
use super::plots::{self, write_chart};
use super::report::{summary_markdown, REPORT};
use super::runner::{progress_bar, run_batch, shard, BatchItem, Job, RowContext, EXACT_SOLVER};
use super::sets::{generate_set, sweep_param, sweep_values};
use crate::io::results::{ResultRow, ResultsFile};
use crate::io::{provenance, write_atomic, IoError};
use crate::solver::SolverError;
use crate::solvers::registry;

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

/// What [`run_set`] produced: the rows of the jobs run (rows of other solvers or
/// options stay in the file, not here), and the items that could not be loaded.
pub struct SetOutcome {
    pub rows: Vec<ResultRow>,
    pub load_errors: Vec<IoError>,
}

/// Runs every job on every item of the set `set` into the results file `path`
/// (resuming the rows of this revision unless `fresh`), with a progress bar labelled
/// `what`. `dnnrm eval` and every set of `dnnrm bench` go through here.
pub fn run_set(
    what: &str,
    set: &str,
    items: &[BatchItem],
    jobs: &[Job],
    path: &Path,
    fresh: bool,
) -> Result<SetOutcome, IoError> {
    let results = Mutex::new(ResultsFile::open(Some(path), !fresh, EXACT_SOLVER)?);
    let ctx = RowContext {
        set: set.to_string(),
        options: String::new(),
        revision: provenance::revision().to_string(),
        machine: provenance::machine(),
    };
    let pb = progress_bar(items.len() as u64, &format!("{what} {set}"));
    let load_errors = run_batch(items, jobs, &ctx, &results, &pb);
    pb.finish_and_clear();
    let load_errors = load_errors?;
    let rows = results.into_inner().map(|r| r.rows()).unwrap_or_default();
    let labels: Vec<(String, String)> =
        jobs.iter().map(|j| (j.solver.name().to_string(), j.label.clone())).collect();
    let rows =
        rows.into_iter().filter(|r| labels.iter().any(|(s, l)| *s == r.solver && *l == r.options)).collect();
    Ok(SetOutcome { rows, load_errors })
}

/// Runs the suite; see the module documentation.
pub fn run_suite(cfg: &SuiteConfig) -> Result<SuiteOutcome, SuiteError> {
    let Jobs { jobs, warnings } = build_jobs(&cfg.jobs, true)?;
    let mut out = SuiteOutcome { warnings, ..Default::default() };
    let mut all_sets: Vec<(String, Vec<ResultRow>)> = Vec::new();
    for set in &cfg.sets {
        let spec = cfg.instances_dir.join(format!("{set}.csv"));
        let generated = generate_set(&spec, &cfg.instances_dir.join(set), false)?;
        out.skipped.extend(generated.errors.iter().map(|e| e.to_string()));
        let mut items: Vec<BatchItem> = generated.files.into_iter().map(BatchItem::file).collect();
        if let Some((i, n)) = cfg.shard {
            items = shard(items, i, n);
        }
        let path = match cfg.shard {
            Some((i, n)) => cfg.out_dir.join(format!("{set}.shard{i}of{n}.csv")),
            None => cfg.out_dir.join(format!("{set}.csv")),
        };
        let done = run_set("bench", set, &items, &jobs, &path, cfg.fresh)?;
        out.skipped.extend(done.load_errors.iter().map(|e| e.to_string()));
        out.error_rows += done.rows.iter().filter(|r| !r.ok()).count();
        out.written.push(path);
        all_sets.push((set.clone(), done.rows));
    }
    if cfg.shard.is_none() {
        let mut extra = Vec::new();
        if cfg.milp_scaling > 0 {
            use super::scaling::{
                milp_scaling, scaling_markdown, DEFAULT_SIZES, STRESS_DEADLINE_SCALE, STRESS_SIZES,
            };
            let total = (DEFAULT_SIZES.len() + STRESS_SIZES.len()) * cfg.milp_scaling;
            let pb = progress_bar(total as u64, "milp scaling");
            let limit = cfg.jobs.base.time_limit.unwrap_or(std::time::Duration::from_secs(60));
            let rows = milp_scaling(&DEFAULT_SIZES, 1.0, cfg.milp_scaling, limit, &pb);
            let stress = milp_scaling(&STRESS_SIZES, STRESS_DEADLINE_SCALE, cfg.milp_scaling, limit, &pb);
            pb.finish_and_clear();
            let md = format!(
                "## MILP scaling\n\nDefault scenario with N devices and M edge servers, {} instances per size, one \
                 thread, time limit {} s; build = model construction, solve = HiGHS. Goal: every instance up to \
                 N = 500 proven optimal with p95 solve time <= 5 s.\n\n{}\n### milp-stress\n\nThe same with \
                 deadline scale {STRESS_DEADLINE_SCALE} (most tasks need the edge). Goal: every instance at N = 800 \
                 proven optimal within 10 s on one thread.\n\n{}",
                cfg.milp_scaling,
                limit.as_secs_f64(),
                scaling_markdown(&rows),
                scaling_markdown(&stress)
            );
            let path = cfg.out_dir.join("milp_scaling.md");
            write_atomic(&path, md.as_bytes())?;
            out.written.push(path);
            extra.push(md);
        }
        if let Some(md) = super::report::proposed_section(&REPORT, &all_sets) {
            extra.insert(0, md);
        }
        if cfg.sets.iter().any(|s| s == REPORT.main_set) {
            extra.insert(0, decision_times(cfg, &jobs)?);
        }
        let (paths, plot_md) = write_plots(cfg, &all_sets);
        out.written.extend(paths);
        extra.push(plot_md);
        let md = summary_markdown(&cfg.command, &all_sets, &extra);
        let path = cfg.out_dir.join("summary.md");
        // The online suite's section (from its marker on) stays.
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        let md = match old.find(super::online::SUMMARY_MARKER) {
            Some(i) => format!("{}\n\n{}", md.trim_end(), &old[i..]),
            None => md,
        };
        write_atomic(&path, md.as_bytes())?;
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
        if set == REPORT.main_set {
            emit(&format!("profile-{set}"), plots::performance_profile(rows, 2.0), &mut md);
        }
    }
    let timing: Vec<ResultRow> = sets
        .iter()
        .filter(|(s, _)| REPORT.timing_sets.contains(&s.as_str()))
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

/// Learning curves `<models_dir>/<solver>/seed<k>/curve.csv` (the harness format,
/// [`crate::rl::harness`]), named `<solver> seed <k>`. Unreadable curves are skipped.
pub fn learning_curves(models_dir: &Path) -> Vec<(String, Vec<(f64, f64)>)> {
    let mut out = Vec::new();
    for info in registry().iter().filter(|i| i.learned) {
        for (seed, dir) in checkpoints(models_dir, info.name) {
            let Ok(points) = crate::rl::harness::read_curve(&dir.join(crate::rl::harness::CURVE_FILE)) else {
                continue;
            };
            let pts: Vec<(f64, f64)> = points.into_iter().map(|(s, v)| (s as f64, v)).collect();
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
    let set = REPORT.main_set;
    let generated =
        generate_set(&cfg.instances_dir.join(format!("{set}.csv")), &cfg.instances_dir.join(set), false)?;
    let instances: Vec<crate::model::Instance> =
        generated.files.iter().take(20).map(|p| crate::io::read_instance(p)).collect::<Result<_, _>>()?;
    let mut seen = std::collections::BTreeSet::new();
    let mut rows: Vec<(String, f64, f64, usize)> = Vec::new();
    let pb = progress_bar((instances.len() * jobs.len()) as u64, "decision times");
    for job in jobs {
        pb.inc(instances.len() as u64);
        if !seen.insert(job.solver.name().to_string()) {
            continue; // one checkpoint per learned solver is enough for timing
        }
        let timed =
            Job { options: crate::solver::SolveOptions { threads: 1, ..job.options.clone() }, ..job.clone() };
        let ctx = RowContext::default();
        let mut times = Vec::with_capacity(instances.len());
        let mut failed = 0;
        for inst in &instances {
            let mut best = f64::INFINITY;
            for _ in 0..3 {
                // The runner's one path: the answer is judged by the evaluator.
                let (row, _) = timed.run(inst, &ctx);
                if !row.ok() {
                    failed += 1;
                }
                best = best.min(row.wall_s);
            }
            times.push(best);
        }
        rows.push((job.solver.name().to_string(), median(&times), percentile(&times, 0.95), failed));
    }
    pb.finish_and_clear();
    let milp = rows.iter().find(|r| r.0 == EXACT_SOLVER).map(|r| r.1);
    let mut md = String::from(
        "## Decision time (one thread, one solve at a time)\n\nFirst 20 instances of the main set (N = 50), \
         each solved 3 times, fastest kept; includes option enumeration.\n\n\
         Every timed answer is judged by the evaluator (the runner's one path); `invalid` counts the \
         timed runs whose answer was an error.\n\n\
         | solver | p50 | p95 | MILP p50 / solver p50 | invalid |\n|---|---:|---:|---:|---:|\n",
    );
    for (name, p50, p95, failed) in rows {
        let ratio = milp.map_or("-".to_string(), |m| format!("{:.0}x", m / p50));
        md.push_str(&format!(
            "| {name} | {} | {} | {ratio} | {failed} |\n",
            super::report::fmt_time(p50),
            super::report::fmt_time(p95)
        ));
    }
    Ok(md)
}
