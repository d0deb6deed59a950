//! Plots with plotters, each written as SVG and PNG: objective against each sweep
//! parameter, solve time against N, learning curves and a Dolan-Moré performance
//! profile.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use super::stats::{mean, median};
use crate::io::ResultRow;

type PlotResult = Result<(), Box<dyn std::error::Error>>;

/// One named series of (x, y) points, with an optional 95% band `(x, lo, hi)` and a
/// style group (solver family: 0 exact, 1 heuristic, 2 learned, 3 ablation), which
/// picks the line style; the colour and marker follow the series' index.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub band: Vec<(f64, f64, f64)>,
    pub group: usize,
}

impl Series {
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Series { name: name.into(), points, band: Vec::new(), group: 1 }
    }
}

/// One panel: a y axis and its series. Panels share the x axis and the legend.
#[derive(Debug, Clone)]
pub struct Panel {
    pub y_label: String,
    pub log_y: bool,
    pub series: Vec<Series>,
}

/// A figure: one or more panels side by side, the legend outside them on the right.
#[derive(Debug, Clone)]
pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub log_x: bool,
    /// Label the x axis with integers (the parameter is an integer).
    pub integer_x: bool,
    /// Draw as steps (performance profiles) instead of straight segments.
    pub steps: bool,
    /// Shaded x ranges `(from, to, shade)` behind the data (e.g. the regimes of an
    /// episode); `shade` picks one of three grey levels.
    pub shades: Vec<(f64, f64, usize)>,
    pub panels: Vec<Panel>,
}

impl Chart {
    /// A single-panel chart.
    pub fn single(title: &str, x_label: &str, y_label: &str, series: Vec<Series>) -> Self {
        Chart {
            title: title.into(),
            x_label: x_label.into(),
            log_x: false,
            integer_x: false,
            steps: false,
            shades: Vec::new(),
            panels: vec![Panel { y_label: y_label.into(), log_y: false, series }],
        }
    }

    /// Every series of every panel, first occurrence of each name (the legend).
    fn legend(&self) -> Vec<&Series> {
        let mut seen = std::collections::BTreeSet::new();
        self.panels.iter().flat_map(|p| &p.series).filter(|s| seen.insert(s.name.clone())).collect()
    }
}

const FAMILY_NAMES: [&str; 4] = ["exact", "heuristic", "learned", "ablation"];

fn bounds(panel: &Panel, log_x: bool) -> Option<((f64, f64), (f64, f64))> {
    let ok =
        |x: f64, y: f64| x.is_finite() && y.is_finite() && (!log_x || x > 0.0) && (!panel.log_y || y > 0.0);
    let mut pts: Vec<(f64, f64)> =
        panel.series.iter().flat_map(|s| s.points.iter().copied()).filter(|&(x, y)| ok(x, y)).collect();
    for s in &panel.series {
        for &(x, lo, hi) in &s.band {
            if ok(x, lo) && ok(x, hi) {
                pts.push((x, lo));
                pts.push((x, hi));
            }
        }
    }
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
    Some((pad(x0, x1, log_x), pad(y0, y1, panel.log_y)))
}

/// A high-contrast palette (the "tab10" colours, then darker and lighter shades).
const PALETTE: [(u8, u8, u8); 14] = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
    (0, 0, 0),
    (31, 60, 120),
    (150, 70, 0),
    (20, 90, 20),
];

/// Colour of the series with index `i` in the legend.
fn colour(i: usize) -> RGBAColor {
    let (r, g, b) = PALETTE[i % PALETTE.len()];
    RGBColor(r, g, b).to_rgba()
}

/// Draws the marker `i % 4` (circle, triangle, square, cross) at `p`.
fn marker<'a, DB: DrawingBackend + 'a>(
    i: usize,
    p: (i32, i32),
    c: RGBAColor,
) -> DynElement<'a, DB, (i32, i32)> {
    match i % 4 {
        0 => Circle::new(p, 4, c.filled()).into_dyn(),
        1 => TriangleMarker::new(p, 5, c.filled()).into_dyn(),
        2 => Rectangle::new([(p.0 - 3, p.1 - 3), (p.0 + 3, p.1 + 3)], c.filled()).into_dyn(),
        _ => Cross::new(p, 4, c.stroke_width(2)).into_dyn(),
    }
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    chart: &Chart,
    panel: &Panel,
    index: &BTreeMap<String, usize>,
) -> PlotResult
where
    DB::ErrorType: 'static,
{
    let Some(((x0, x1), (y0, y1))) = bounds(panel, chart.log_x) else { return Ok(()) };
    let mut builder = ChartBuilder::on(area);
    builder.margin(10).x_label_area_size(45).y_label_area_size(70);
    let integer = chart.integer_x;
    let fmt_x = move |x: &f64| match (integer, x.abs()) {
        (true, a) if a >= 10_000.0 => format!("{:.0}k", x / 1000.0),
        (true, _) => format!("{:.0}", x),
        // Tick values like 0.6000000000000001: three decimals at most.
        _ => format!("{}", (x * 1000.0).round() / 1000.0),
    };
    macro_rules! body {
        ($ctx:expr) => {{
            let mut ctx = $ctx;
            ctx.configure_mesh()
                .x_labels(6)
                .x_desc(chart.x_label.as_str())
                .y_desc(panel.y_label.as_str())
                .x_label_formatter(&fmt_x)
                .label_style(("sans-serif", 14))
                .draw()?;
            const GREYS: [(u8, u8, u8); 3] = [(235, 235, 235), (215, 215, 215), (195, 195, 195)];
            for &(a, b, g) in &chart.shades {
                let (r, gg, bb) = GREYS[g % GREYS.len()];
                let fill = RGBColor(r, gg, bb).mix(0.6).filled();
                ctx.draw_series(std::iter::once(Rectangle::new([(a.max(x0), y0), (b.min(x1), y1)], fill)))?;
            }
            for s in &panel.series {
                let i = index.get(&s.name).copied().unwrap_or(0);
                let c = colour(i);
                if s.band.len() >= 2 {
                    let mut poly: Vec<(f64, f64)> = s.band.iter().map(|&(x, lo, _)| (x, lo)).collect();
                    poly.extend(s.band.iter().rev().map(|&(x, _, hi)| (x, hi)));
                    ctx.draw_series(std::iter::once(Polygon::new(poly, c.mix(0.15).filled())))?;
                }
                let mut pts: Vec<(f64, f64)> =
                    s.points.iter().copied().filter(|(x, y)| x.is_finite() && y.is_finite()).collect();
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
                let style = c.stroke_width(2);
                match s.group {
                    2 => {
                        ctx.draw_series(DashedLineSeries::new(pts.clone(), 10, 5, style))?;
                    }
                    3 => {
                        ctx.draw_series(DashedLineSeries::new(pts.clone(), 3, 4, style))?;
                    }
                    _ => {
                        ctx.draw_series(LineSeries::new(pts.clone(), style))?;
                    }
                }
                if !chart.steps {
                    let at = pts.clone();
                    match i % 4 {
                        0 => ctx.draw_series(
                            at.into_iter().map(|p| EmptyElement::at(p) + Circle::new((0, 0), 4, c.filled())),
                        )?,
                        1 => ctx.draw_series(
                            at.into_iter()
                                .map(|p| EmptyElement::at(p) + TriangleMarker::new((0, 0), 5, c.filled())),
                        )?,
                        2 => {
                            ctx.draw_series(at.into_iter().map(|p| {
                                EmptyElement::at(p) + Rectangle::new([(-3, -3), (3, 3)], c.filled())
                            }))?
                        }
                        _ => ctx.draw_series(
                            at.into_iter()
                                .map(|p| EmptyElement::at(p) + Cross::new((0, 0), 4, c.stroke_width(2))),
                        )?,
                    };
                }
            }
        }};
    }
    match (chart.log_x, panel.log_y) {
        (false, false) => body!(builder.build_cartesian_2d(x0..x1, y0..y1)?),
        (true, false) => body!(builder.build_cartesian_2d((x0..x1).log_scale(), y0..y1)?),
        (false, true) => body!(builder.build_cartesian_2d(x0..x1, (y0..y1).log_scale())?),
        (true, true) => body!(builder.build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())?),
    }
    Ok(())
}

fn draw<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, chart: &Chart) -> PlotResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let root = root.titled(&chart.title, ("sans-serif", 22))?;
    let (w, _) = root.dim_in_pixel();
    let (plots, legend_area) = root.split_horizontally(w.saturating_sub(230));
    let legend = chart.legend();
    let index: BTreeMap<String, usize> =
        legend.iter().enumerate().map(|(i, s)| (s.name.clone(), i)).collect();
    let n = chart.panels.len().max(1);
    let areas = plots.split_evenly((1, n));
    for (area, panel) in areas.iter().zip(&chart.panels) {
        draw_panel(area, chart, panel, &index)?;
    }
    // The legend, outside the data, grouped by family.
    let mut y = 30;
    for (g, fam) in FAMILY_NAMES.iter().enumerate() {
        let members: Vec<&&Series> = legend.iter().filter(|s| s.group == g).collect();
        if members.is_empty() {
            continue;
        }
        legend_area.draw(&Text::new(
            fam.to_string(),
            (8, y),
            ("sans-serif", 14).into_font().style(FontStyle::Bold),
        ))?;
        y += 20;
        for s in members {
            let i = index[&s.name];
            let c = colour(i);
            let style = c.stroke_width(2);
            let line = vec![(10, y + 7), (40, y + 7)];
            match s.group {
                2 => legend_area.draw(&DashedPathElement::new(line, 8, 4, style))?,
                3 => legend_area.draw(&DashedPathElement::new(line, 3, 3, style))?,
                _ => legend_area.draw(&PathElement::new(line, style))?,
            }
            if !chart.steps {
                legend_area.draw(&marker(i, (25, y + 7), c))?;
            }
            legend_area.draw(&Text::new(s.name.clone(), (48, y), ("sans-serif", 13)))?;
            y += 18;
        }
        y += 8;
    }
    root.present()?;
    Ok(())
}

/// Writes `<stem>.svg` and `<stem>.png` (1100 x 550 per panel pair) and returns their
/// paths.
pub fn write_chart(dir: &Path, stem: &str, chart: &Chart) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let svg = dir.join(format!("{stem}.svg"));
    let png = dir.join(format!("{stem}.png"));
    let size = (230 + 520 * chart.panels.len().max(1) as u32, 560);
    draw(SVGBackend::new(&svg, size).into_drawing_area(), chart)
        .map_err(|e| format!("{}: {e}", svg.display()))?;
    draw(BitMapBackend::new(&png, size).into_drawing_area(), chart)
        .map_err(|e| format!("{}: {e}", png.display()))?;
    Ok(vec![svg, png])
}

/// The style group of a solver (its registry family).
fn group_of(solver: &str) -> usize {
    crate::solvers::info(solver).map_or(1, |i| i.family as usize)
}

fn by_solver(rows: &[ResultRow]) -> BTreeMap<String, Vec<&ResultRow>> {
    let mut m: BTreeMap<String, Vec<&ResultRow>> = BTreeMap::new();
    for r in rows {
        m.entry(r.solver.clone()).or_default().push(r);
    }
    m
}

/// Against the swept parameter: mean objective with its 95% interval (left) and mean
/// ratio to the proven optimum (right), one series per solver, styled by family.
pub fn sweep_chart(param: &str, rows: &[ResultRow], values: &BTreeMap<String, f64>) -> Chart {
    let mut objective = Vec::new();
    let mut ratio = Vec::new();
    let mut solvers: Vec<(String, Vec<&ResultRow>)> = by_solver(rows).into_iter().collect();
    solvers.sort_by_key(|(name, _)| {
        (group_of(name), crate::solvers::registry().iter().position(|i| i.name == name))
    });
    for (name, rs) in solvers {
        let mut at: BTreeMap<u64, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
        for r in rs {
            if let (Some(o), Some(&v)) = (r.objective, values.get(&r.instance)) {
                let e = at.entry(v.to_bits()).or_default();
                e.0.push(o);
                if let Some(x) = r.ratio_to_opt {
                    e.1.push(x);
                }
            }
        }
        let group = group_of(&name);
        let (mut pts, mut band, mut rpts) = (Vec::new(), Vec::new(), Vec::new());
        for (b, (os, rs)) in at {
            let x = f64::from_bits(b);
            let m = mean(&os);
            let h = super::stats::ci95_half_width(&os);
            pts.push((x, m));
            if h.is_finite() {
                band.push((x, m - h, m + h));
            }
            if !rs.is_empty() {
                rpts.push((x, mean(&rs)));
            }
        }
        objective.push(Series { name: name.clone(), points: pts, band, group });
        if !rpts.is_empty() {
            ratio.push(Series { name, points: rpts, band: Vec::new(), group });
        }
    }
    let integer = values.values().all(|v| v.fract() == 0.0);
    Chart {
        title: format!("Against {param}"),
        x_label: param.to_string(),
        log_x: false,
        integer_x: integer,
        steps: false,
        shades: Vec::new(),
        panels: vec![
            Panel { y_label: "mean accuracy A (95% interval)".into(), log_y: false, series: objective },
            Panel { y_label: "ratio to the MILP optimum".into(), log_y: false, series: ratio },
        ],
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
            let group = group_of(&name);
            Series {
                name,
                points: at.into_iter().map(|(n, t)| (n as f64, median(&t))).collect(),
                band: Vec::new(),
                group,
            }
        })
        .collect();
    Chart {
        title: "Median solve time against N".into(),
        x_label: "N (tasks)".into(),
        log_x: true,
        integer_x: true,
        steps: false,
        shades: Vec::new(),
        panels: vec![Panel { y_label: "time (s)".into(), log_y: true, series }],
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
            let group = group_of(&s);
            Series { name: s, points, band: Vec::new(), group }
        })
        .collect();
    Chart {
        title: "Performance profile (objective)".into(),
        x_label: "tau (best objective / solver objective)".into(),
        log_x: false,
        integer_x: false,
        steps: true,
        shades: Vec::new(),
        panels: vec![Panel { y_label: "fraction of instances within tau".into(), log_y: false, series }],
    }
}

/// Learning curves: validation objective against environment steps (one call of the
/// environment's `step`, the same count for every learner), one panel per solver.
pub fn learning_chart(curves: &[(String, Vec<(f64, f64)>)]) -> Chart {
    let mut panels: Vec<Panel> = Vec::new();
    for (name, points) in curves {
        let solver = name.split(" seed ").next().unwrap_or(name).to_string();
        let series =
            Series { name: name.clone(), points: points.clone(), band: Vec::new(), group: group_of(&solver) };
        match panels.iter_mut().find(|p| p.y_label.starts_with(&format!("{solver}:"))) {
            Some(p) => p.series.push(series),
            None => panels.push(Panel {
                y_label: format!("{solver}: validation A"),
                log_y: false,
                series: vec![series],
            }),
        }
    }
    Chart {
        title: "Learning curves (validation objective against environment steps)".into(),
        x_label: "environment steps".into(),
        log_x: false,
        integer_x: true,
        steps: false,
        shades: Vec::new(),
        panels,
    }
}

/// `A(t)` of one episode per policy, the regimes shaded: `per_slot` holds each
/// policy's `A(t)` and `regimes` the regime of every slot.
pub fn episode_chart(
    title: &str,
    per_slot: &[(String, Vec<f64>)],
    regimes: &[usize],
    rule_based: &[&str],
) -> Chart {
    let series = per_slot
        .iter()
        .map(|(name, a)| {
            let mut s =
                Series::new(name.clone(), a.iter().enumerate().map(|(t, &v)| (t as f64, v)).collect());
            s.group = if name == "hindsight" {
                0
            } else if rule_based.contains(&name.as_str()) {
                1
            } else {
                2
            };
            s
        })
        .collect();
    let mut chart = Chart::single(title, "slot t (shading: production regime)", "A(t)", series);
    chart.integer_x = true;
    let mut start = 0;
    for t in 1..=regimes.len() {
        if t == regimes.len() || regimes[t] != regimes[start] {
            chart.shades.push((start as f64 - 0.5, t as f64 - 0.5, regimes[start]));
            start = t;
        }
    }
    chart
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(solver: &str, instance: &str, objective: f64) -> ResultRow {
        crate::io::results::test_row(solver, instance, objective, crate::io::RowStatus::Heuristic)
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
        let a = &c.panels[0].series[0].points;
        let b = &c.panels[0].series[1].points;
        assert_eq!(a[0], (1.0, 2.0 / 3.0));
        assert_eq!(*a.last().unwrap(), (2.0, 1.0));
        assert_eq!(b[0], (1.0, 1.0 / 3.0));
        assert_eq!(b[1], (1.25, 2.0 / 3.0));
        // b's ratio on i2 is 3 > tau_max.
        assert_eq!(*b.last().unwrap(), (2.0, 2.0 / 3.0));
    }

    #[test]
    fn sweep_chart_has_a_ratio_panel_bands_and_integer_ticks() {
        let mut rows = vec![row("greedy", "x-1", 0.5), row("greedy", "y-1", 0.7), row("greedy", "x-2", 0.6)];
        rows[0].ratio_to_opt = Some(0.9);
        let values: BTreeMap<String, f64> =
            [("x-1".to_string(), 10.0), ("x-2".to_string(), 10.0), ("y-1".to_string(), 20.0)]
                .into_iter()
                .collect();
        let c = sweep_chart("rbs", &rows, &values);
        assert!(c.integer_x);
        assert_eq!(c.panels.len(), 2);
        let s = &c.panels[0].series[0];
        assert_eq!(s.points, vec![(10.0, 0.55), (20.0, 0.7)]);
        // a band where there are two or more runs: mean 0.55 +- t(1) * s / sqrt(2)
        assert_eq!(s.band.len(), 1);
        assert!(s.band[0].1 < 0.55 && s.band[0].2 > 0.55);
        assert_eq!(c.panels[1].series[0].points, vec![(10.0, 0.9)]);
        assert_eq!(s.group, crate::solvers::Family::Heuristic as usize);
        let dir = tempfile::tempdir().unwrap();
        let files = write_chart(dir.path(), "sweep", &c).unwrap();
        assert!(files.iter().all(|f| std::fs::metadata(f).unwrap().len() > 1000));
    }
}
