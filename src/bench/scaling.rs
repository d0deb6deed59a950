//! The MILP scaling table: how long `milp` takes to build and to prove optimality as
//! the instance grows (default scenario, N devices on M edge servers, one thread).
//! Every answer goes through the evaluator before its timing counts.

use std::fmt::Write;
use std::time::Duration;

use indicatif::ProgressBar;

use super::report::fmt_time;
use super::runner::{run_job, RowContext};
use super::stats::percentile;
use crate::io::RowStatus;
use crate::scenario::{generate, ScenarioParams};
use crate::solver::SolveOptions;
use crate::solvers::Milp;

/// The sizes of the benchmark: N grows 10 -> 1000 while M grows 2 -> 16.
pub const DEFAULT_SIZES: [(usize, usize); 6] = [(10, 2), (50, 4), (100, 4), (200, 8), (500, 12), (1000, 16)];

/// The stress part (`milp-stress`): tight deadlines (scale [`STRESS_DEADLINE_SCALE`]),
/// where most tasks need the edge and the MILP's root work grows fastest.
pub const STRESS_SIZES: [(usize, usize); 3] = [(200, 8), (400, 8), (800, 16)];

/// Deadline scale of the stress part.
pub const STRESS_DEADLINE_SCALE: f64 = 0.3;

/// Aggregates of one size.
#[derive(Debug, Clone, PartialEq)]
pub struct ScalingRow {
    pub n: usize,
    pub m: usize,
    pub instances: usize,
    /// Instances `milp` proved optimal.
    pub optimal: usize,
    /// Instances whose answer the evaluator rejected, or where the solver errored.
    pub invalid: usize,
    pub build_p50_s: f64,
    pub build_p95_s: f64,
    pub solve_p50_s: f64,
    pub solve_p95_s: f64,
    /// Median branch-and-bound nodes (summed over the per-server MILPs).
    pub nodes_p50: f64,
    /// Largest reported relative gap.
    pub max_gap: f64,
}

/// Solves `instances_per_size` default-scenario instances of each `(N, M)` with `milp`
/// (one thread, `time_limit` each) and aggregates the timings. The progress bar moves
/// by one per instance.
pub fn milp_scaling(
    sizes: &[(usize, usize)],
    deadline_scale: f64,
    instances_per_size: usize,
    time_limit: Duration,
    progress: &ProgressBar,
) -> Vec<ScalingRow> {
    let milp = Milp::default();
    let opts = SolveOptions { seed: 0, time_limit: Some(time_limit), threads: 1 };
    let mut rows = Vec::with_capacity(sizes.len());
    for (s, &(n, m)) in sizes.iter().enumerate() {
        let params = ScenarioParams { n_devices: n, n_edges: m, deadline_scale, ..ScenarioParams::default() };
        let (mut build, mut solve, mut nodes) = (Vec::new(), Vec::new(), Vec::new());
        let (mut optimal, mut invalid, mut max_gap) = (0, 0, 0.0f64);
        for i in 0..instances_per_size {
            progress.set_message(format!("N={n} M={m} #{i}"));
            // The stress part draws other instances than the default part.
            let part = if deadline_scale == 1.0 { 0 } else { 10 };
            let seed = crate::scenario::seeds::scaling(part + s, i);
            let scenario = match params.check() {
                Ok(sc) => sc,
                Err(_) => {
                    invalid += 1;
                    progress.inc(1);
                    continue;
                }
            };
            let inst = generate(&scenario, seed, &format!("scaling-n{n}-m{m}-s{seed}"));
            // The runner's one path: timed, and judged by the evaluator.
            match run_job(&inst, &milp, None, &opts, &RowContext::default()) {
                (row, Some(rep)) if row.ok() => {
                    optimal += usize::from(row.status == RowStatus::Optimal);
                    let stat = |k: &str| rep.stats.get(k).copied().unwrap_or(f64::NAN);
                    build.push(stat("build_s"));
                    solve.push(stat("solve_s"));
                    nodes.push(stat("nodes"));
                    max_gap = max_gap.max(stat("gap"));
                }
                _ => invalid += 1,
            }
            progress.inc(1);
        }
        rows.push(ScalingRow {
            n,
            m,
            instances: instances_per_size,
            optimal,
            invalid,
            build_p50_s: percentile(&build, 0.5),
            build_p95_s: percentile(&build, 0.95),
            solve_p50_s: percentile(&solve, 0.5),
            solve_p95_s: percentile(&solve, 0.95),
            nodes_p50: percentile(&nodes, 0.5),
            max_gap,
        });
    }
    rows
}

/// The markdown table of [`milp_scaling`] rows.
pub fn scaling_markdown(rows: &[ScalingRow]) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "| N | M | instances | proven optimal | invalid | build p50 | build p95 | solve p50 | solve p95 | nodes p50 | max gap |"
    );
    let _ = writeln!(md, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        let share = if r.instances > 0 { r.optimal as f64 / r.instances as f64 } else { f64::NAN };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {:.0}% ({}/{}) | {} | {} | {} | {} | {} | {:.0} | {:.1e} |",
            r.n,
            r.m,
            r.instances,
            share * 100.0,
            r.optimal,
            r.instances,
            r.invalid,
            fmt_time(r.build_p50_s),
            fmt_time(r.build_p95_s),
            fmt_time(r.solve_p50_s),
            fmt_time(r.solve_p95_s),
            r.nodes_p50,
            r.max_gap
        );
    }
    md
}
