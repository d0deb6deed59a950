//! Plots with plotters, each written as SVG and PNG: objective against each sweep
//! parameter, solve time against N, learning curves and a Dolan-Moré performance
//! profile.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::stats::{mean, median};
use crate::io::ResultRow;

type PlotResult = Result<(), Box<dyn std::error::Error>>;

/// One named series of (x, y) points.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// A line chart description.
#[derive(Debug, Clone)]
pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub log_x: bool,
    pub log_y: bool,
    /// Draw as steps (performance profiles) instead of straight segments.
    pub steps: bool,
    pub series: Vec<Series>,
}

fn bounds(chart: &Chart) -> Option<((f64, f64), (f64, f64))> {
    let pts: Vec<(f64, f64)> = chart
        .series
        .iter()
        .flat_map(|s| s.points.iter().copied())
        .filter(|(x, y)| {
            x.is_finite() && y.is_finite() && (!chart.log_x || *x > 0.0) && (!chart.log_y || *y > 0.0)
        })
        .collect();
    if pts.is_empty() {
        return None;
    }
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for (x, y) in pts {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    let pad = |lo: f64, hi: f64, log: bool| {
        if log {
            (lo / 1.5, hi * 1.5)
        } else {
            let d = ((hi - lo) * 0.05).max(1e-6 * hi.abs().max(1.0));
            (lo - d, hi + d)
        }
    };
    Some((pad(x0, x1, chart.log_x), pad(y0, y1, chart.log_y)))
}

fn draw<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, chart: &Chart) -> PlotResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let Some(((x0, x1), (y0, y1))) = bounds(chart) else {
        root.present()?;
        return Ok(());
    };
    let mut builder = ChartBuilder::on(&root);
    builder.caption(&chart.title, ("sans-serif", 22)).margin(12).x_label_area_size(45).y_label_area_size(70);
    macro_rules! body {
        ($ctx:expr) => {{
            let mut ctx = $ctx;
            ctx.configure_mesh()
                .x_desc(chart.x_label.as_str())
                .y_desc(chart.y_label.as_str())
                .label_style(("sans-serif", 14))
                .draw()?;
            for (i, s) in chart.series.iter().enumerate() {
                let color = Palette99::pick(i).to_rgba();
                let mut pts: Vec<(f64, f64)> = s
                    .points
                    .iter()
                    .copied()
                    .filter(|(x, y)| {
                        x.is_finite()
                            && y.is_finite()
                            && (!chart.log_x || *x > 0.0)
                            && (!chart.log_y || *y > 0.0)
                    })
                    .collect();
                if chart.steps {
                    let mut st = Vec::new();
                    for w in pts.windows(2) {
                        st.push(w[0]);
                        st.push((w[1].0, w[0].1));
                    }
                    if let Some(&l) = pts.last() {
                        st.push(l);
                    }
                    pts = st;
                }
                ctx.draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))?
                    .label(s.name.as_str())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2)));
                if !chart.steps {
                    ctx.draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled())))?;
                }
            }
            ctx.configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .position(SeriesLabelPosition::LowerRight)
                .label_font(("sans-serif", 13))
                .draw()?;
        }};
    }
    match (chart.log_x, chart.log_y) {
        (false, false) => body!(builder.build_cartesian_2d(x0..x1, y0..y1)?),
        (true, false) => body!(builder.build_cartesian_2d((x0..x1).log_scale(), y0..y1)?),
        (false, true) => body!(builder.build_cartesian_2d(x0..x1, (y0..y1).log_scale())?),
        (true, true) => body!(builder.build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())?),
    }
    root.present()?;
    Ok(())
}

/// Writes `<stem>.svg` and `<stem>.png` (900 x 600) and returns their paths.
pub fn write_chart(dir: &Path, stem: &str, chart: &Chart) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let svg = dir.join(format!("{stem}.svg"));
    let png = dir.join(format!("{stem}.png"));
    draw(SVGBackend::new(&svg, (900, 600)).into_drawing_area(), chart)
        .map_err(|e| format!("{}: {e}", svg.display()))?;
    draw(BitMapBackend::new(&png, (900, 600)).into_drawing_area(), chart)
        .map_err(|e| format!("{}: {e}", png.display()))?;
    Ok(vec![svg, png])
}

fn by_solver(rows: &[ResultRow]) -> BTreeMap<String, Vec<&ResultRow>> {
    let mut m: BTreeMap<String, Vec<&ResultRow>> = BTreeMap::new();
    for r in rows {
        m.entry(r.solver.clone()).or_default().push(r);
    }
    m
}

/// Mean objective against the swept parameter, one series per solver.
pub fn sweep_chart(param: &str, rows: &[ResultRow], values: &BTreeMap<String, f64>) -> Chart {
    let series = by_solver(rows)
        .into_iter()
        .map(|(name, rs)| {
            let mut at: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
            for r in rs {
                if let (Some(o), Some(&v)) = (r.objective, values.get(&r.instance)) {
                    at.entry(v.to_bits()).or_default().push(o);
                }
            }
            let mut points: Vec<(f64, f64)> =
                at.into_iter().map(|(b, os)| (f64::from_bits(b), mean(&os))).collect();
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            Series { name, points }
        })
        .collect();
    Chart {
        title: format!("Mean objective against {param}"),
        x_label: param.to_string(),
        y_label: "mean accuracy A".into(),
        log_x: false,
        log_y: false,
        steps: false,
        series,
    }
}

/// Median solve time against N (log-log), one series per solver.
pub fn time_chart(rows: &[ResultRow]) -> Chart {
    let series = by_solver(rows)
        .into_iter()
        .map(|(name, rs)| {
            let mut at: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
            for r in rs {
                at.entry(r.n_tasks).or_default().push(r.wall_s);
            }
            Series { name, points: at.into_iter().map(|(n, t)| (n as f64, median(&t))).collect() }
        })
        .collect();
    Chart {
        title: "Median solve time against N".into(),
        x_label: "N (tasks)".into(),
        y_label: "time (s)".into(),
        log_x: true,
        log_y: true,
        steps: false,
        series,
    }
}

/// Dolan-Moré performance profile of the objective: for each solver, the fraction of
/// instances on which `best / objective <= tau` (best over all solvers), for tau in
/// [1, tau_max]. A failed run counts as an infinite ratio.
pub fn performance_profile(rows: &[ResultRow], tau_max: f64) -> Chart {
    let mut per: BTreeMap<(String, String), Vec<f64>> = BTreeMap::new();
    for r in rows {
        per.entry((r.solver.clone(), r.instance.clone())).or_default().push(r.objective.unwrap_or(0.0));
    }
    let per: BTreeMap<(String, String), f64> = per.into_iter().map(|(k, v)| (k, mean(&v))).collect();
    let mut best: BTreeMap<&str, f64> = BTreeMap::new();
    for ((_, i), &o) in &per {
        let b = best.entry(i.as_str()).or_insert(0.0);
        *b = b.max(o);
    }
    let n_inst = best.len().max(1) as f64;
    let solvers: Vec<String> =
        per.keys().map(|(s, _)| s.clone()).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    let series = solvers
        .into_iter()
        .map(|s| {
            let mut ratios: Vec<f64> = per
                .iter()
                .filter(|((ps, _), _)| *ps == s)
                .map(|((_, i), &o)| {
                    let b = best[i.as_str()];
                    if b <= 0.0 {
                        1.0
                    } else if o <= 0.0 {
                        f64::INFINITY
                    } else {
                        b / o
                    }
                })
                .collect();
            ratios.sort_by(f64::total_cmp);
            let mut points =
                vec![(1.0, ratios.iter().filter(|&&r| r <= 1.0 + 1e-12).count() as f64 / n_inst)];
            for (k, &r) in ratios.iter().enumerate() {
                if r > 1.0 + 1e-12 && r <= tau_max {
                    points.push((r, (k + 1) as f64 / n_inst));
                }
            }
            points.push((tau_max, ratios.iter().filter(|&&r| r <= tau_max).count() as f64 / n_inst));
            Series { name: s, points }
        })
        .collect();
    Chart {
        title: "Performance profile (objective)".into(),
        x_label: "tau (best objective / solver objective)".into(),
        y_label: "fraction of instances within tau".into(),
        log_x: false,
        log_y: false,
        steps: true,
        series,
    }
}

/// Learning curves: validation objective against training step, one series per run.
pub fn learning_chart(curves: &[(String, Vec<(f64, f64)>)]) -> Chart {
    Chart {
        title: "Learning curves (validation objective)".into(),
        x_label: "environment steps".into(),
        y_label: "validation mean accuracy A".into(),
        log_x: false,
        log_y: false,
        steps: false,
        series: curves.iter().map(|(n, p)| Series { name: n.clone(), points: p.clone() }).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(solver: &str, instance: &str, objective: f64) -> ResultRow {
        ResultRow {
            set: "s".into(),
            instance: instance.into(),
            n_tasks: 10,
            solver: solver.into(),
            options: String::new(),
            version: String::new(),
            seed: 0,
            status: crate::io::RowStatus::Heuristic,
            objective: Some(objective),
            bound: None,
            ratio_to_opt: None,
            served_fraction: Some(1.0),
            local: None,
            edge: None,
            cloud: None,
            rejected: None,
            rb_utilisation: None,
            compute_utilisation: None,
            wall_s: 0.001,
            revision: String::new(),
            machine: String::new(),
            stats: String::new(),
            message: String::new(),
        }
    }

    #[test]
    fn profile_by_hand() {
        // a is best on i1 and i2; b is best on i3 and within 1.25 of a on i1.
        let rows = vec![
            row("a", "i1", 0.5),
            row("b", "i1", 0.4),
            row("a", "i2", 0.6),
            row("b", "i2", 0.2),
            row("a", "i3", 0.4),
            row("b", "i3", 0.5),
        ];
        let c = performance_profile(&rows, 2.0);
        let a = &c.series[0].points;
        let b = &c.series[1].points;
        assert_eq!(a[0], (1.0, 2.0 / 3.0));
        assert_eq!(*a.last().unwrap(), (2.0, 1.0));
        assert_eq!(b[0], (1.0, 1.0 / 3.0));
        assert_eq!(b[1], (1.25, 2.0 / 3.0));
        // b's ratio on i2 is 3 > tau_max.
        assert_eq!(*b.last().unwrap(), (2.0, 2.0 / 3.0));
    }
}
