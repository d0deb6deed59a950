//! The generated report (`results/summary.md`): per-set tables, the headline figure and
//! links to the plots. Generated, never edited by hand; stamped with its command.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::runner::EXACT_SOLVER;
use super::stats::{ci95_half_width, mean, median, shifted_geomean};
use crate::io::provenance;
use crate::io::ResultRow;

/// Shift of the shifted geometric mean of solve times, in seconds.
pub const TIME_SHIFT_S: f64 = 0.01;

/// What the report singles out: the one place naming solvers, sets and targets.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportSpec {
    /// The set of the headline, the targets and the decision-time table.
    pub main_set: &'static str,
    /// The proposed scheme.
    pub proposed: &'static str,
    /// The paper's benchmark and the margin the paper reports over it, in %.
    pub benchmark: &'static str,
    pub paper_margin_pct: f64,
    /// Target: the proposed scheme's mean ratio to the MILP optimum.
    pub min_ratio_to_opt: f64,
    /// Targets: the proposed scheme's mean objective over these solvers' (ratio).
    pub at_least_over: &'static [(&'static str, f64)],
    /// The sweep whose N values get a ratio-to-optimum row each.
    pub n_sweep: &'static str,
    /// Sets whose rows feed the time-against-N plot.
    pub timing_sets: &'static [&'static str],
}

/// The report of `dnnrm bench`.
pub const REPORT: ReportSpec = ReportSpec {
    main_set: "default",
    proposed: "drl",
    benchmark: "ddpg",
    paper_margin_pct: 31.4,
    min_ratio_to_opt: 0.97,
    at_least_over: &[("ddpg", 1.314), ("greedy-ls", 1.0)],
    n_sweep: "sweep-n_devices",
    timing_sets: &["scale", "sweep-n_devices"],
};

/// Aggregates of one solver over a set.
#[derive(Debug, Clone, PartialEq)]
pub struct SolverSummary {
    pub solver: String,
    pub runs: usize,
    pub errors: usize,
    pub mean_objective: f64,
    pub ci95: f64,
    /// Mean of `ratio_to_opt` over the rows that have one, and how many.
    pub ratio_to_opt: Option<(f64, usize)>,
    /// Instances where the solver is best among the non-exact solvers (ties count).
    pub wins: usize,
    pub mean_served: f64,
    pub median_time_s: f64,
    pub sgm_time_s: f64,
    /// Mean share of the possible gain over the baseline captured,
    /// `(A - A_base) / (OPT - A_base)`, over the instances with a proven optimum above
    /// the baseline, and how many.
    pub gain_captured: Option<(f64, usize)>,
}

/// The baseline of the gain-captured column: what every device achieves alone.
pub const GAIN_BASELINE: &str = "local-only";

fn solver_order(rows: &[ResultRow]) -> Vec<String> {
    let mut order: Vec<String> = Vec::new();
    for r in rows {
        if !order.contains(&r.solver) {
            order.push(r.solver.clone());
        }
    }
    // The exact solver first, then registry order where known, then the rest.
    let rank = |s: &str| {
        (s != EXACT_SOLVER, crate::solvers::registry().iter().position(|i| i.name == s).unwrap_or(usize::MAX))
    };
    order.sort_by_key(|s| rank(s));
    order
}

/// Mean objective per (solver, instance), over seeds.
fn per_instance(rows: &[ResultRow]) -> BTreeMap<(String, String), f64> {
    let mut acc: BTreeMap<(String, String), Vec<f64>> = BTreeMap::new();
    for r in rows {
        if let Some(o) = r.objective {
            acc.entry((r.solver.clone(), r.instance.clone())).or_default().push(o);
        }
    }
    acc.into_iter().map(|(k, v)| (k, mean(&v))).collect()
}

/// Summaries per solver (the exact solver first, then registry order, then the rest).
pub fn summarise(rows: &[ResultRow]) -> Vec<SolverSummary> {
    let per = per_instance(rows);
    let mut best: BTreeMap<&str, f64> = BTreeMap::new();
    for ((s, i), &o) in &per {
        if s != EXACT_SOLVER {
            let b = best.entry(i.as_str()).or_insert(f64::NEG_INFINITY);
            *b = b.max(o);
        }
    }
    // Proven optima, and the baseline, per instance.
    let mut opt: BTreeMap<&str, f64> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.solver == EXACT_SOLVER && r.status == crate::io::RowStatus::Optimal) {
        if let Some(o) = r.objective {
            opt.insert(r.instance.as_str(), o);
        }
    }
    solver_order(rows)
        .into_iter()
        .map(|s| {
            let captured: Vec<f64> = per
                .iter()
                .filter(|((ps, _), _)| *ps == s)
                .filter_map(|((_, i), &a)| {
                    let o = *opt.get(i.as_str())?;
                    let base = *per.get(&(GAIN_BASELINE.to_string(), i.clone()))?;
                    (o - base > 1e-9).then(|| (a - base) / (o - base))
                })
                .collect();
            let rs: Vec<&ResultRow> = rows.iter().filter(|r| r.solver == s).collect();
            let objs: Vec<f64> = rs.iter().filter_map(|r| r.objective).collect();
            let ratios: Vec<f64> = rs.iter().filter_map(|r| r.ratio_to_opt).collect();
            let times: Vec<f64> = rs.iter().map(|r| r.wall_s).collect();
            let wins = if s == EXACT_SOLVER {
                0
            } else {
                per.iter().filter(|((ps, i), &o)| *ps == s && o >= best[i.as_str()] - 1e-9).count()
            };
            SolverSummary {
                runs: rs.len(),
                errors: rs.len() - objs.len(),
                mean_objective: mean(&objs),
                ci95: ci95_half_width(&objs),
                ratio_to_opt: (!ratios.is_empty()).then(|| (mean(&ratios), ratios.len())),
                wins,
                mean_served: mean(&rs.iter().filter_map(|r| r.served_fraction).collect::<Vec<_>>()),
                median_time_s: median(&times),
                sgm_time_s: shifted_geomean(&times, TIME_SHIFT_S),
                gain_captured: (!captured.is_empty()).then(|| (mean(&captured), captured.len())),
                solver: s,
            }
        })
        .collect()
}

/// Formats seconds compactly.
pub fn fmt_time(s: f64) -> String {
    if !s.is_finite() {
        "-".into()
    } else if s < 1e-3 {
        format!("{:.1} µs", s * 1e6)
    } else if s < 1.0 {
        format!("{:.2} ms", s * 1e3)
    } else {
        format!("{s:.2} s")
    }
}

/// The markdown table of one set.
pub fn set_table(set: &str, rows: &[ResultRow]) -> String {
    let mut md = String::new();
    let n_inst = crate::io::results::instances_of(rows).len();
    let _ = writeln!(md, "### Set `{set}` ({n_inst} instances)\n");
    let _ = writeln!(
        md,
        "| solver | runs | errors | mean objective ± 95% CI | ratio to MILP optimum | gain captured | wins | served fraction | median time | SGM time |"
    );
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for s in summarise(rows) {
        let ratio = s.ratio_to_opt.map_or("-".to_string(), |(r, n)| format!("{r:.4} (n={n})"));
        let captured = s.gain_captured.map_or("-".to_string(), |(g, _)| format!("{:.1}%", 100.0 * g));
        let ci = if s.ci95.is_finite() { format!(" ± {:.4}", s.ci95) } else { String::new() };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {:.4}{} | {} | {} | {} | {:.3} | {} | {} |",
            s.solver,
            s.runs,
            s.errors,
            s.mean_objective,
            ci,
            ratio,
            captured,
            if s.solver == EXACT_SOLVER { "-".to_string() } else { s.wins.to_string() },
            s.mean_served,
            fmt_time(s.median_time_s),
            fmt_time(s.sgm_time_s)
        );
    }
    md
}

/// Mean objective of `solver` over `rows`, if it has any.
fn mean_objective(rows: &[ResultRow], solver: &str) -> Option<f64> {
    let v: Vec<f64> = rows.iter().filter(|r| r.solver == solver).filter_map(|r| r.objective).collect();
    (!v.is_empty()).then(|| mean(&v))
}

/// The paper's headline figure: the proposed scheme's improvement over the benchmark
/// in %, on the given rows (mean objectives), if both solvers are present.
pub fn headline(spec: &ReportSpec, rows: &[ResultRow]) -> Option<f64> {
    Some((mean_objective(rows, spec.proposed)? / mean_objective(rows, spec.benchmark)? - 1.0) * 100.0)
}

/// The whole summary: a header stamped with the command, date, revision and machine,
/// the headline, one table per set, then `extra` sections (already markdown).
pub fn summary_markdown(command: &str, sets: &[(String, Vec<ResultRow>)], extra: &[String]) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# dnnrm benchmark summary\n");
    let _ = writeln!(
        md,
        "Generated by `{command}` on {} at revision `{}`, on {}. Do not edit: rerun the command.\n",
        provenance::utc_date(),
        provenance::revision(),
        provenance::machine()
    );
    let _ = writeln!(
        md,
        "Objective: mean inference accuracy `A` (MODEL.md §5) as judged by the evaluator, mean ± 95% Student-t \
         interval over runs. Ratio to MILP optimum: mean of objective / optimum over the instances where `milp` \
         proved optimality (n of them). Gain captured: mean over those instances of `(A - A_local) / (OPT - A_local)`, the share of \
         the possible gain over `local-only` the solver captures (devices alone supply most of the optimum on \
         the default set, which hides differences). Wins: instances where the solver is best among the non-exact solvers \
         (ties count for each). Times: wall time of one solve measured by the runner; median and shifted \
         geometric mean (shift {TIME_SHIFT_S} s).\n"
    );
    let spec = &REPORT;
    if let Some((_, rows)) = sets.iter().find(|(s, _)| s == spec.main_set) {
        if let Some(h) = headline(spec, rows) {
            let _ = writeln!(
                md,
                "**Headline (set `{}`):** the proposed scheme `{}` improves the mean objective over `{}` by \
                 **{h:.1}%** (the paper reports {}%).\n",
                spec.main_set, spec.proposed, spec.benchmark, spec.paper_margin_pct
            );
        }
    }
    for (set, rows) in sets {
        md.push_str(&set_table(set, rows));
        md.push('\n');
    }
    for e in extra {
        md.push_str(e);
        md.push('\n');
    }
    md
}

/// The proposed scheme against its targets: per training seed on the main set, mean and
/// interquartile mean over seeds with bootstrap 95% intervals, the ratio to the MILP
/// optimum at each N of the N sweep, and the ratios to the solvers of the targets.
pub fn proposed_section(spec: &ReportSpec, sets: &[(String, Vec<ResultRow>)]) -> Option<String> {
    use super::stats::{bootstrap_ci95, iqm};
    let (_, rows) = sets.iter().find(|(s, _)| s == spec.main_set)?;
    let drl: Vec<&ResultRow> =
        rows.iter().filter(|r| r.solver == spec.proposed && r.objective.is_some()).collect();
    if drl.is_empty() {
        return None;
    }
    let mut seeds: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
    let mut ratios: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
    for r in &drl {
        seeds.entry(r.seed).or_default().push(r.objective.unwrap_or(0.0));
        if let Some(x) = r.ratio_to_opt {
            ratios.entry(r.seed).or_default().push(x);
        }
    }
    let per_seed: Vec<f64> = seeds.values().map(|v| mean(v)).collect();
    let per_seed_ratio: Vec<f64> = ratios.values().map(|v| mean(v)).collect();
    let mut md = format!("## The proposed scheme (`{}`) against its targets\n\n", spec.proposed);
    let _ = writeln!(
        md,
        "| training seed | mean objective on `{}` | ratio to MILP optimum |\n|---:|---:|---:|",
        spec.main_set
    );
    for (seed, v) in &seeds {
        let r = ratios.get(seed).map_or("-".to_string(), |x| format!("{:.4}", mean(x)));
        let _ = writeln!(md, "| {seed} | {:.4} | {r} |", mean(v));
    }
    let (lo, hi) = bootstrap_ci95(&per_seed, mean, 10_000, 7);
    let (ilo, ihi) = bootstrap_ci95(&per_seed, iqm, 10_000, 7);
    let _ = writeln!(
        md,
        "\nOver {} seeds: mean {:.4} (bootstrap 95% CI {:.4}-{:.4}), interquartile mean {:.4} ({:.4}-{:.4}).",
        per_seed.len(),
        mean(&per_seed),
        lo,
        hi,
        iqm(&per_seed),
        ilo,
        ihi
    );
    if !per_seed_ratio.is_empty() {
        let (rlo, rhi) = bootstrap_ci95(&per_seed_ratio, mean, 10_000, 7);
        let _ = writeln!(
            md,
            "Ratio to the MILP optimum: mean {:.4} (bootstrap 95% CI {:.4}-{:.4}); target >= {}.",
            mean(&per_seed_ratio),
            rlo,
            rhi,
            spec.min_ratio_to_opt
        );
    }
    let d = mean(&per_seed);
    for &(other, target) in spec.at_least_over {
        if let Some(o) = mean_objective(rows, other) {
            let _ = writeln!(md, "Ratio to `{other}`: {:.3} (target >= {target}).", d / o);
        }
    }
    if let Some((_, sweep)) = sets.iter().find(|(s, _)| s == spec.n_sweep) {
        let mut by_n: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
        for r in sweep.iter().filter(|r| r.solver == spec.proposed) {
            if let Some(x) = r.ratio_to_opt {
                by_n.entry(r.n_tasks).or_default().push(x);
            }
        }
        if !by_n.is_empty() {
            let _ = writeln!(
                md,
                "\n| N (set `{}`) | {} / MILP optimum (all seeds) |\n|---:|---:|",
                spec.n_sweep, spec.proposed
            );
            for (n, v) in by_n {
                let _ = writeln!(md, "| {n} | {:.4} (n={}) |", mean(&v), v.len());
            }
        }
    }
    Some(md)
}

#[cfg(test)]
mod gain_tests {
    use super::*;
    use crate::io::RowStatus;

    use crate::io::results::test_row as row;

    #[test]
    fn gain_captured_is_the_share_of_the_gap_from_local_only_to_the_optimum() {
        use RowStatus::*;
        let rows = vec![
            row("milp", "a", 0.8, Optimal),
            row("local-only", "a", 0.6, Heuristic),
            row("greedy", "a", 0.7, Heuristic),
            row("milp", "b", 0.9, Optimal),
            row("local-only", "b", 0.5, Heuristic),
            row("greedy", "b", 0.9, Heuristic),
            // no proven optimum: not counted
            row("milp", "c", 0.9, GapLimit),
            row("local-only", "c", 0.5, Heuristic),
            row("greedy", "c", 0.5, Heuristic),
        ];
        let s = summarise(&rows);
        let get = |n: &str| s.iter().find(|x| x.solver == n).unwrap().gain_captured.unwrap();
        let (g, n) = get("greedy");
        assert_eq!(n, 2);
        assert!((g - 0.75).abs() < 1e-12, "{g}"); // (0.5 + 1.0) / 2
        assert_eq!(get("local-only"), (0.0, 2));
        assert_eq!(get("milp"), (1.0, 2));
    }
}
