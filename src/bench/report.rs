//! The generated report: per-solver tables in markdown. Generated, never edited by hand.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::runner::ResultRow;

/// Aggregates of one solver over a set.
#[derive(Debug, Clone, PartialEq)]
pub struct SolverSummary {
    pub solver: String,
    pub runs: usize,
    pub errors: usize,
    pub mean_objective: f64,
    /// Mean objective over the best solver's mean objective.
    pub ratio_to_best: f64,
    pub mean_served: f64,
    pub median_time_s: f64,
}

/// Median of a non-empty slice (mean of the two middle values for even lengths).
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

/// Summaries per solver, in order of first appearance in `rows`.
pub fn summarise(rows: &[ResultRow]) -> Vec<SolverSummary> {
    let mut order: Vec<String> = Vec::new();
    let mut by: BTreeMap<&str, Vec<&ResultRow>> = BTreeMap::new();
    for r in rows {
        if !by.contains_key(r.solver.as_str()) {
            order.push(r.solver.clone());
        }
        by.entry(r.solver.as_str()).or_default().push(r);
    }
    let mut out: Vec<SolverSummary> = order
        .iter()
        .map(|s| {
            let rs = &by[s.as_str()];
            let ok: Vec<&&ResultRow> = rs.iter().filter(|r| r.objective.is_some()).collect();
            let mean = |f: &dyn Fn(&ResultRow) -> f64| {
                if ok.is_empty() {
                    f64::NAN
                } else {
                    ok.iter().map(|r| f(r)).sum::<f64>() / ok.len() as f64
                }
            };
            SolverSummary {
                solver: s.clone(),
                runs: rs.len(),
                errors: rs.len() - ok.len(),
                mean_objective: mean(&|r| r.objective.unwrap_or(0.0)),
                ratio_to_best: f64::NAN,
                mean_served: mean(&|r| r.served_fraction.unwrap_or(0.0)),
                median_time_s: median(&rs.iter().map(|r| r.wall_s).collect::<Vec<_>>()),
            }
        })
        .collect();
    let best = out.iter().map(|s| s.mean_objective).filter(|v| v.is_finite()).fold(f64::NAN, f64::max);
    for s in &mut out {
        s.ratio_to_best = s.mean_objective / best;
    }
    out
}

/// Formats seconds compactly (ms below one second).
pub fn fmt_time(s: f64) -> String {
    if s < 1e-3 {
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
    let n_inst = rows.iter().map(|r| r.instance.as_str()).collect::<std::collections::BTreeSet<_>>().len();
    let _ = writeln!(md, "### Set `{set}` ({n_inst} instances)\n");
    let _ = writeln!(
        md,
        "| solver | runs | errors | mean objective | ratio to best | served fraction | median time |"
    );
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|");
    for s in summarise(rows) {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {:.4} | {:.3} | {:.3} | {} |",
            s.solver,
            s.runs,
            s.errors,
            s.mean_objective,
            s.ratio_to_best,
            s.mean_served,
            fmt_time(s.median_time_s)
        );
    }
    md
}

/// A one-line description of this machine: CPU model and logical cores.
pub fn machine_description() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    format!("{cpu}, {cores} logical cores")
}

/// The current git revision, or `unknown`.
pub fn git_revision() -> String {
    std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// Today's UTC date as YYYY-MM-DD.
pub fn utc_date() -> String {
    let secs =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let days = (secs / 86_400) as i64;
    // Civil-from-days (H. Hinnant).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The whole summary: a header stamped with the command, date, revision and machine,
/// then one table per set.
pub fn summary_markdown(command: &str, sets: &[(String, Vec<ResultRow>)]) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# dnnrm benchmark summary\n");
    let _ = writeln!(
        md,
        "Generated by `{command}` on {} at revision `{}`, on {}. Do not edit: rerun the command.\n",
        utc_date(),
        git_revision(),
        machine_description()
    );
    let _ = writeln!(
        md,
        "Objective: mean inference accuracy `A` (MODEL.md §5) as judged by the evaluator; ratio: mean objective over \
         the best solver's mean; time: median wall time of one solve, measured by the runner.\n"
    );
    for (set, rows) in sets {
        md.push_str(&set_table(set, rows));
        md.push('\n');
    }
    md
}
