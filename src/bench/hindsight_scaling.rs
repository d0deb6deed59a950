//! The hindsight scaling table: how long `hindsight` takes to prove an episode optimal
//! (one thread) as the episode grows in slots `T` and devices `N`, on episodes generated
//! like the `online-default` set ([`ONLINE_DEFAULT`]). Every plan goes through the
//! episode evaluator before its timing counts; the time is measured here, around the
//! solve, not reported by the solver.

use std::fmt::Write;
use std::time::{Duration, Instant};

use indicatif::ProgressBar;

use super::report::fmt_time;
use super::stats::percentile;
use crate::model::evaluate_episode;
use crate::scenario::{DynamicsParams, ParamError, ScenarioParams};
use crate::solver::online::EpisodeSolver;
use crate::solver::{SolveOptions, Status};
use crate::solvers::Hindsight;

/// Parameters of the `online-default` episode set (MODEL.md §9.3), as in its spec.
pub const ONLINE_DEFAULT: &str = crate::scenario::ONLINE_DEFAULT_PARAMS;

/// The points of the table, `(T, N)`: `T` in {10, 20, 30, 40} at `N = 50`, then `N` in
/// {25, 100} at `T = 30` (`(30, 50)` is shared by both lines).
pub const DEFAULT_POINTS: [(usize, usize); 6] = [(10, 50), (20, 50), (30, 50), (40, 50), (30, 25), (30, 100)];

/// Offset of this table's seeds among the parts of [`crate::scenario::seeds::scaling`]
/// (the MILP scaling table uses parts below 100).
const SEED_PART: usize = 100;

/// Aggregates of one `(T, N)` point.
#[derive(Debug, Clone, PartialEq)]
pub struct HindsightScalingRow {
    pub n_slots: usize,
    pub n_devices: usize,
    pub episodes: usize,
    /// Episodes `hindsight` proved optimal.
    pub proven: usize,
    /// Episodes whose plan the evaluator rejected.
    pub invalid: usize,
    /// Mean scored tasks per episode.
    pub tasks_mean: f64,
    /// Solve time of each episode, s (in seed order).
    pub solve_s: Vec<f64>,
    pub solve_p50_s: f64,
    pub solve_p95_s: f64,
    pub solve_max_s: f64,
    /// Mean relative gap `(bound - A_ep) / bound` (0 on proven episodes).
    pub mean_gap: f64,
}

/// The scenario and dynamics of `params` (`name=value` pairs separated by spaces, as in
/// an episode set spec) with `n_slots = t` and `n_devices = n`.
pub fn point_params(
    params: &str,
    t: usize,
    n: usize,
) -> Result<(ScenarioParams, DynamicsParams), ParamError> {
    let (mut sp, mut dp) = (ScenarioParams::default(), DynamicsParams::default());
    let pairs = params.split_whitespace().map(|kv| kv.split_once('=').unwrap_or((kv, "")));
    let (t, n) = (t.to_string(), n.to_string());
    for (k, v) in pairs.chain([("n_slots", t.as_str()), ("n_devices", n.as_str())]) {
        let k = k.trim().replace('-', "_");
        match sp.set(&k, v) {
            Err(ParamError::Unknown(_)) => dp.set(&k, v)?,
            other => other?,
        }
    }
    Ok((sp, dp))
}

/// Solves `episodes_per_point` episodes of each `(T, N)` point (parameters `params`,
/// seeds from the scaling range) with the default `hindsight` on one thread, at most
/// `time_limit` each, and aggregates the timings. The progress bar moves by one per
/// episode.
pub fn hindsight_scaling(
    params: &str,
    points: &[(usize, usize)],
    episodes_per_point: usize,
    time_limit: Duration,
    progress: &ProgressBar,
) -> Result<Vec<HindsightScalingRow>, ParamError> {
    let solver = Hindsight::default();
    let opts = SolveOptions { seed: 0, time_limit: Some(time_limit), threads: 1 };
    let mut rows = Vec::with_capacity(points.len());
    for (p, &(t, n)) in points.iter().enumerate() {
        let (sp, dp) = point_params(params, t, n)?;
        let (scenario, dynamics) = (sp.check()?, dp.check()?);
        let (mut times, mut gaps, mut tasks) = (Vec::new(), Vec::new(), Vec::new());
        let (mut proven, mut invalid) = (0, 0);
        for i in 0..episodes_per_point {
            progress.set_message(format!("T={t} N={n} #{i}"));
            let seed = crate::scenario::seeds::scaling(SEED_PART + p, i);
            let id = format!("hs-scaling-t{t}-n{n}-s{seed}");
            let ep = crate::solvers::online::generate_episode(&scenario, &dynamics, seed, &id);
            tasks.push(ep.slots.iter().skip(ep.network.window).map(|s| s.tasks.len()).sum::<usize>() as f64);
            let start = Instant::now();
            let rep = solver.solve_episode(&ep, &opts);
            let wall = start.elapsed().as_secs_f64();
            times.push(wall);
            let judged = rep.ok().and_then(|rep| {
                let objective = evaluate_episode(&ep, &rep.decisions).ok()?.objective;
                Some((rep.status, objective, rep.bound))
            });
            match judged {
                Some((status, objective, bound)) => {
                    proven += usize::from(status == Status::Optimal);
                    let b = bound.unwrap_or(f64::INFINITY);
                    gaps.push(if b > 0.0 { ((b - objective) / b).max(0.0) } else { 0.0 });
                }
                None => invalid += 1,
            }
            progress.inc(1);
        }
        let mean = |v: &[f64]| if v.is_empty() { f64::NAN } else { v.iter().sum::<f64>() / v.len() as f64 };
        rows.push(HindsightScalingRow {
            n_slots: t,
            n_devices: n,
            episodes: episodes_per_point,
            proven,
            invalid,
            tasks_mean: mean(&tasks),
            solve_p50_s: percentile(&times, 0.5),
            solve_p95_s: percentile(&times, 0.95),
            solve_max_s: times.iter().copied().fold(f64::NAN, f64::max),
            mean_gap: mean(&gaps),
            solve_s: times,
        });
    }
    Ok(rows)
}

/// The table as markdown, headed by the command that generated it.
pub fn hindsight_scaling_table(rows: &[HindsightScalingRow], params: &str, command: &str) -> String {
    let mut s = format!(
        "<!-- generated by `{command}`; do not edit -->\n\n`hindsight` (one thread) on episodes `{params}` \
         with T slots and N devices; time per episode, measured around the solve.\n\n\
         | T | N | scored tasks (mean) | episodes | proven optimal | invalid | solve p50 | solve p95 | solve max | mean gap |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    );
    for r in rows {
        let _ = writeln!(
            s,
            "| {} | {} | {:.0} | {} | {} | {} | {} | {} | {} | {:.2e} |",
            r.n_slots,
            r.n_devices,
            r.tasks_mean,
            r.episodes,
            r.proven,
            r.invalid,
            fmt_time(r.solve_p50_s),
            fmt_time(r.solve_p95_s),
            fmt_time(r.solve_max_s),
            r.mean_gap
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn point_params_override_slots_and_devices() {
        let (sp, dp) = point_params(ONLINE_DEFAULT, 12, 7).expect("valid");
        assert_eq!((sp.n_devices, dp.n_slots, dp.window), (7, 12, 5));
        assert_eq!(sp.share_mcu, 0.5);
        assert!(point_params("no_such_param=1", 10, 5).is_err());
    }

    #[test]
    fn a_tiny_point_is_solved_and_proven() {
        let rows = hindsight_scaling(
            "n_slots=4 init=warm window=1 n_edges=1",
            &[(4, 3)],
            2,
            Duration::from_secs(60),
            &ProgressBar::hidden(),
        )
        .expect("valid parameters");
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert_eq!((r.episodes, r.proven, r.invalid), (2, 2, 0));
        // Two episodes: the median is their mean, the p95 nearly the larger one.
        let (lo, hi) = (r.solve_s[0].min(r.solve_s[1]), r.solve_s[0].max(r.solve_s[1]));
        assert!((r.solve_p50_s - (lo + hi) / 2.0).abs() <= 1e-12, "{r:?}");
        assert!((r.solve_p95_s - (lo + 0.95 * (hi - lo))).abs() <= 1e-12, "{r:?}");
        assert_eq!(r.solve_max_s, hi);
        assert!(r.mean_gap < 1e-6);
        let table = hindsight_scaling_table(&rows, "n_slots=4", "cmd");
        assert!(table.contains("| 4 | 3 |") && table.contains("`cmd`"));
    }
}
