//! Online benchmark sets (MODEL.md §9.5): episode sets generated from
//! `instances/online-<set>.csv`, every online policy run through the runner on the same
//! episodes (common random numbers), the hindsight optimum from a cache of proven
//! optima keyed by the episode's content hash and the encoding's version, one results
//! row per (episode, policy, seed), and the §9.5 table.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;

use super::stats::{ci95_half_width, mean, percentile};
use crate::io::csvfiles::{read_episode_specs, EpisodeSpecRow};
use crate::io::provenance;
use crate::io::{write_atomic, IoError, ResultRow, RowStatus};
use crate::model::Episode;
use crate::solver::online::{run_online, EpisodeSolver};
use crate::solver::{SolveOptions, Status};
use crate::solvers::online::PolicyInfo;

/// The name of the offline yardstick in results and tables.
pub const HINDSIGHT: &str = "hindsight";

/// The rule-based policy the gap closed is measured from (MODEL.md §9.5).
pub const GAP_BASE: &str = "myopic";

/// A generated episode set: the spec rows and their episodes, in spec order.
#[derive(Debug)]
pub struct EpisodeSet {
    pub name: String,
    pub episodes: Vec<(EpisodeSpecRow, Episode)>,
    pub errors: Vec<IoError>,
}

/// Generates every row of an episode set spec (deterministic: the same spec gives the
/// same episodes, bit for bit), in parallel. With `dir`, also writes `<id>.json` there.
pub fn generate_episode_set(spec: &Path, dir: Option<&Path>) -> Result<EpisodeSet, IoError> {
    let name = spec.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let (mut ok, mut errors) = (Vec::new(), Vec::new());
    for row in read_episode_specs(spec)? {
        match row {
            Ok(r) => ok.push(r),
            Err(e) => errors.push(e),
        }
    }
    let episodes: Vec<(EpisodeSpecRow, Episode)> = ok
        .into_par_iter()
        .map(|r| {
            let ep = crate::solvers::online::generate_episode(&r.scenario, &r.dynamics, r.seed, &r.id);
            (r, ep)
        })
        .collect();
    if let Some(dir) = dir {
        for (r, ep) in &episodes {
            crate::io::write_json_atomic(&dir.join(format!("{}.json", r.id)), ep)?;
        }
    }
    Ok(EpisodeSet { name, episodes, errors })
}

/// FNV-1a 64 of the episode's canonical JSON: the key of the hindsight cache.
pub fn episode_hash(ep: &Episode) -> String {
    let text = serde_json::to_string(ep).unwrap_or_default();
    format!("{:016x}", crate::rl::checkpoint::fnv1a64(text.as_bytes()))
}

/// One cached hindsight solve.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CachedOptimum {
    pub hash: String,
    pub encoding: String,
    pub episode: String,
    pub status: String,
    pub objective: f64,
    pub bound: Option<f64>,
    pub solve_s: f64,
    pub revision: String,
    /// `A(t)` of every slot, space-separated (for plots).
    #[serde(default)]
    pub per_slot: String,
}

/// The cache of hindsight optima (`results/hindsight-cache.csv`): proven optima keyed
/// by (episode hash, encoding version), so a new revision of the code reuses them and
/// a changed episode or encoding solves again. Only proven optima are stored.
#[derive(Debug, Default)]
pub struct HindsightCache {
    path: Option<PathBuf>,
    entries: BTreeMap<(String, String), CachedOptimum>,
}

impl HindsightCache {
    /// Reads the cache (an absent file is an empty cache).
    pub fn open(path: &Path) -> Result<Self, IoError> {
        let mut entries = BTreeMap::new();
        if path.exists() {
            let mut rdr = csv::Reader::from_path(path).map_err(|e| IoError::Csv {
                path: path.to_path_buf(),
                line: 1,
                column: None,
                reason: e.to_string(),
            })?;
            for (i, rec) in rdr.deserialize::<CachedOptimum>().enumerate() {
                let c = rec.map_err(|e| IoError::Csv {
                    path: path.to_path_buf(),
                    line: e.position().map_or(i as u64 + 2, |p| p.line()),
                    column: None,
                    reason: e.to_string(),
                })?;
                entries.insert((c.hash.clone(), c.encoding.clone()), c);
            }
        }
        Ok(HindsightCache { path: Some(path.to_path_buf()), entries })
    }

    pub fn get(&self, hash: &str, encoding: &str) -> Option<&CachedOptimum> {
        self.entries.get(&(hash.to_string(), encoding.to_string()))
    }

    /// Adds a proven optimum and rewrites the file atomically.
    pub fn insert(&mut self, c: CachedOptimum) -> Result<(), IoError> {
        self.entries.insert((c.hash.clone(), c.encoding.clone()), c);
        let Some(path) = &self.path else { return Ok(()) };
        let mut w = csv::Writer::from_writer(Vec::new());
        for c in self.entries.values() {
            w.serialize(c)
                .map_err(|e| IoError::Write { path: path.clone(), cause: std::io::Error::other(e) })?;
        }
        let bytes = w
            .into_inner()
            .map_err(|e| IoError::Write { path: path.clone(), cause: std::io::Error::other(e) })?;
        write_atomic(path, &bytes)
    }
}

fn base_row(
    set: &str,
    r: &EpisodeSpecRow,
    ep: &Episode,
    name: &str,
    version: String,
    seed: u64,
) -> ResultRow {
    let scored: usize = ep.slots[ep.network.window..].iter().map(|s| s.tasks.len()).sum();
    ResultRow {
        set: set.to_string(),
        instance: r.id.clone(),
        n_tasks: scored,
        solver: name.to_string(),
        options: if r.point.is_empty() { String::new() } else { format!("point={}", r.point) },
        version,
        seed,
        revision: provenance::revision().to_string(),
        machine: provenance::machine(),
        ..ResultRow::default()
    }
}

/// Runs one online policy over one episode: its results row and per-slot `A(t)`.
pub fn run_policy_row(
    set: &str,
    r: &EpisodeSpecRow,
    ep: &Episode,
    info: &PolicyInfo,
    seed: u64,
) -> (ResultRow, Vec<f64>) {
    let start = Instant::now();
    let mut policy = match info.build() {
        Ok(p) => p,
        Err(e) => {
            let mut row = base_row(set, r, ep, info.name, String::new(), seed);
            row.status = RowStatus::Error;
            row.message = super::runner::error_chain(&e);
            return (row, Vec::new());
        }
    };
    let mut row = base_row(set, r, ep, info.name, policy.version(), seed);
    match run_online(policy.as_mut(), ep, seed) {
        Ok(run) => {
            let ev = &run.evaluation;
            row.status = RowStatus::Heuristic;
            row.objective = Some(ev.objective);
            row.served_fraction = Some(ev.served_fraction);
            row.wall_s = run.decision_s.iter().sum::<f64>() + run.reset_s;
            row.stats = format!(
                "decide_p50_ms={:.4};decide_p95_ms={:.4};edge_mb={:.3};device_mb={:.3};evictions={};reset_s={:.4}",
                percentile(&run.decision_s, 0.5) * 1e3,
                percentile(&run.decision_s, 0.95) * 1e3,
                ev.edge_downloaded_mb.iter().sum::<f64>(),
                ev.device_downloaded_mb,
                ev.evictions,
                run.reset_s
            );
            (row, run.evaluation.per_slot)
        }
        Err(e) => {
            row.status = RowStatus::Error;
            row.wall_s = start.elapsed().as_secs_f64();
            row.message = super::runner::error_chain(&e);
            (row, Vec::new())
        }
    }
}

/// The hindsight row of one episode: from the cache when a proven optimum of the same
/// episode and encoding is there, else solved (one thread) and cached when proven.
pub fn hindsight_row(
    set: &str,
    r: &EpisodeSpecRow,
    ep: &Episode,
    solver: &dyn EpisodeSolver,
    cache: &std::sync::Mutex<HindsightCache>,
    opts: &SolveOptions,
) -> Result<(ResultRow, Vec<f64>), IoError> {
    let hash = episode_hash(ep);
    let encoding = solver.version();
    let mut row = base_row(set, r, ep, HINDSIGHT, encoding.clone(), 0);
    let cached = cache.lock().ok().and_then(|c| c.get(&hash, &encoding).cloned());
    if let Some(c) = cached {
        row.status = RowStatus::Optimal;
        row.objective = Some(c.objective);
        row.bound = c.bound;
        row.wall_s = c.solve_s;
        row.stats = "cached=1".into();
        row.message = format!("cached proven optimum (revision {})", c.revision);
        let per_slot = c.per_slot.split_whitespace().filter_map(|x| x.parse().ok()).collect();
        return Ok((row, per_slot));
    }
    let start = Instant::now();
    let mut per_slot = Vec::new();
    match solver.solve_episode(ep, opts) {
        Ok(rep) => {
            row.wall_s = start.elapsed().as_secs_f64();
            row.bound = rep.bound;
            row.message = rep.reason.clone();
            row.stats = rep.stats.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(";");
            match crate::model::evaluate_episode(ep, &rep.decisions) {
                Ok(ev) => {
                    row.objective = Some(ev.objective);
                    row.served_fraction = Some(ev.served_fraction);
                    row.status = rep.status.into();
                    per_slot.clone_from(&ev.per_slot);
                    if rep.status == Status::Optimal {
                        if let Ok(mut c) = cache.lock() {
                            c.insert(CachedOptimum {
                                hash,
                                encoding,
                                episode: r.id.clone(),
                                status: "optimal".into(),
                                objective: ev.objective,
                                bound: rep.bound,
                                solve_s: row.wall_s,
                                revision: provenance::revision().to_string(),
                                per_slot: ev
                                    .per_slot
                                    .iter()
                                    .map(|v| format!("{v:.6}"))
                                    .collect::<Vec<_>>()
                                    .join(" "),
                            })?;
                        }
                    }
                }
                Err(v) => {
                    row.status = RowStatus::Error;
                    row.message = format!("the plan breaks a rule: {v}");
                }
            }
        }
        Err(e) => {
            row.wall_s = start.elapsed().as_secs_f64();
            row.status = RowStatus::Error;
            row.message = super::runner::error_chain(&e);
        }
    }
    Ok((row, per_slot))
}

/// The §9.5 table of one set (or one sweep point): per policy, mean `A_ep` with its 95%
/// interval, the mean ratio to hindsight, the share of the gap from `myopic` and from
/// the best rule-based policy to hindsight closed, the 5th percentile of the ratio,
/// decision time per slot (median over episodes of the per-episode p50 and p95) and
/// megabytes downloaded per episode.
pub fn online_table(rows: &[ResultRow], rule_based: &[&str]) -> String {
    let mut by: BTreeMap<&str, Vec<&ResultRow>> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.ok()) {
        by.entry(r.solver.as_str()).or_default().push(r);
    }
    let mean_of =
        |name: &str| by.get(name).map(|v| mean(&v.iter().filter_map(|r| r.objective).collect::<Vec<_>>()));
    let hind = mean_of(HINDSIGHT);
    let base = mean_of(GAP_BASE);
    let best_rule =
        rule_based.iter().filter_map(|n| mean_of(n).map(|v| (*n, v))).max_by(|a, b| a.1.total_cmp(&b.1));
    let closed = |a: f64, from: Option<f64>| match (from, hind) {
        (Some(f), Some(h)) if h - f > 1e-12 => format!("{:.3}", (a - f) / (h - f)),
        _ => "-".into(),
    };
    let mut out = String::from(
        "| policy | episodes | mean A_ep (95% CI) | ratio to hindsight | p5 ratio | gap closed vs myopic | gap closed vs best rule | decide p50 / p95 (ms) | MB downloaded |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let mut order: Vec<&str> = by.keys().copied().collect();
    order.sort_by_key(|n| (*n != HINDSIGHT, !rule_based.contains(n), *n));
    for name in order {
        let v = &by[name];
        let objs: Vec<f64> = v.iter().filter_map(|r| r.objective).collect();
        let ratios: Vec<f64> = v.iter().filter_map(|r| r.ratio_to_opt).collect();
        let a = mean(&objs);
        let p50: Vec<f64> = v.iter().filter_map(|r| r.stat("decide_p50_ms")).collect();
        let p95: Vec<f64> = v.iter().filter_map(|r| r.stat("decide_p95_ms")).collect();
        let mb: Vec<f64> =
            v.iter().filter_map(|r| Some(r.stat("edge_mb")? + r.stat("device_mb").unwrap_or(0.0))).collect();
        let f = |x: f64, d: usize| if x.is_finite() { format!("{x:.d$}") } else { "-".into() };
        out.push_str(&format!(
            "| {name} | {} | {} ± {} | {} | {} | {} | {} | {} / {} | {} |\n",
            objs.len(),
            f(a, 4),
            f(ci95_half_width(&objs), 4),
            f(mean(&ratios), 4),
            f(percentile(&ratios, 0.05), 4),
            if name == HINDSIGHT { "-".into() } else { closed(a, base) },
            if name == HINDSIGHT { "-".into() } else { closed(a, best_rule.map(|b| b.1)) },
            f(super::stats::median(&p50), 2),
            f(super::stats::median(&p95), 2),
            f(mean(&mb), 0),
        ));
    }
    if let Some((n, _)) = best_rule {
        out.push_str(&format!("\nBest rule-based policy on these episodes: `{n}`.\n"));
    }
    let hs: Vec<&ResultRow> = rows.iter().filter(|r| r.solver == HINDSIGHT).collect();
    if !hs.is_empty() {
        let proven = hs.iter().filter(|r| r.status == RowStatus::Optimal).count();
        let times: Vec<f64> = hs.iter().map(|r| r.wall_s).collect();
        let gaps: Vec<f64> =
            hs.iter().filter_map(|r| Some((r.bound? - r.objective?) / r.bound?.max(1e-12))).collect();
        out.push_str(&format!(
            "`hindsight` proven optimal on {proven} of {} episodes; solve time median {:.1} s, p95 {:.1} s; largest relative gap {:.2e}.\n",
            hs.len(),
            super::stats::median(&times),
            percentile(&times, 0.95),
            gaps.iter().copied().fold(0.0, f64::max)
        ));
    }
    out
}

/// The offline yardstick of a set run: the solver, its cache of proven optima and the
/// options of each solve.
pub struct Yardstick<'a> {
    pub solver: &'a dyn EpisodeSolver,
    pub cache: std::sync::Mutex<HindsightCache>,
    pub opts: SolveOptions,
}

/// What one online set run produced.
#[derive(Debug)]
pub struct OnlineSetRun {
    /// Every row of the set (canonical order, `ratio_to_opt` filled from hindsight).
    pub rows: Vec<ResultRow>,
    /// `A(t)` per slot of the set's first episode, per policy: for the plot.
    pub first_episode: Vec<(String, Vec<f64>)>,
}

/// Runs every policy (and `hindsight` when given) on every episode of a set, in
/// parallel over (episode, policy) runs, writing `out` atomically after each run. With
/// `resume`, runs already in `out` for this revision are skipped.
pub fn run_online_set(
    set: &EpisodeSet,
    policies: &[&PolicyInfo],
    yardstick: Option<&Yardstick>,
    out: Option<&Path>,
    resume: bool,
    progress: &indicatif::ProgressBar,
) -> Result<OnlineSetRun, IoError> {
    let file = std::sync::Mutex::new(crate::io::ResultsFile::open(out, resume, HINDSIGHT)?);
    let revision = provenance::revision().to_string();
    // Jobs: hindsight first (the longest), then every policy.
    let mut jobs: Vec<(usize, Option<&PolicyInfo>)> = Vec::new();
    for i in 0..set.episodes.len() {
        if yardstick.is_some() {
            jobs.push((i, None));
        }
        for p in policies {
            jobs.push((i, Some(*p)));
        }
    }
    let done = |i: usize, name: &str| {
        let (r, ep) = &set.episodes[i];
        let key = base_row(&set.name, r, ep, name, String::new(), 0).key();
        file.lock().map(|f| f.done(&key, &revision)).unwrap_or(false)
    };
    let jobs: Vec<_> = jobs
        .into_iter()
        .filter(|(i, p)| {
            // The first episode always runs (for the A(t) plot; hindsight from the cache).
            let name = p.map_or(HINDSIGHT, |p| p.name);
            !(resume && *i > 0 && done(*i, name))
        })
        .collect();
    progress.set_length(jobs.len() as u64);
    type Done = (usize, String, Vec<f64>);
    let results: Vec<Result<Done, IoError>> = jobs
        .par_iter()
        .map(|&(i, p)| {
            let (r, ep) = &set.episodes[i];
            let (row, per_slot) = match (p, yardstick) {
                (Some(info), _) => run_policy_row(&set.name, r, ep, info, 0),
                (None, Some(y)) => hindsight_row(&set.name, r, ep, y.solver, &y.cache, &y.opts)?,
                (None, None) => unreachable!("hindsight jobs exist only with a solver"),
            };
            let name = row.solver.clone();
            file.lock()
                .map_err(|_| IoError::Field {
                    path: PathBuf::new(),
                    field: "results".into(),
                    reason: "lock poisoned".into(),
                })?
                .insert(vec![row])?;
            progress.inc(1);
            Ok((i, name, per_slot))
        })
        .collect();
    let mut first_episode = Vec::new();
    for res in results {
        let (i, name, per_slot) = res?;
        if i == 0 && !per_slot.is_empty() {
            first_episode.push((name, per_slot));
        }
    }
    let rows = file.into_inner().map(|f| f.rows()).unwrap_or_default();
    Ok(OnlineSetRun { rows, first_episode })
}

/// What the online suite runs.
#[derive(Debug, Clone)]
pub struct OnlineSuiteConfig {
    /// Where the set specs are (`<set>.csv`); episodes are written to `<set>/`.
    pub instances_dir: PathBuf,
    pub out_dir: PathBuf,
    pub sets: Vec<String>,
    /// Online policies by name.
    pub policies: Vec<String>,
    /// The offline yardstick (None: no hindsight column).
    pub hindsight: bool,
    /// Time limit of each hindsight solve (None: solve to proven optimality).
    pub hindsight_time_limit: Option<std::time::Duration>,
    pub fresh: bool,
    pub command: String,
}

/// What the online suite wrote.
#[derive(Debug, Default)]
pub struct OnlineSuiteOutcome {
    pub written: Vec<PathBuf>,
    pub skipped: Vec<String>,
    pub error_rows: usize,
}

/// The swept parameter of an online set (`online-sweep-regime_length` -> `regime_length`).
pub fn online_sweep_param(set: &str) -> Option<&str> {
    set.strip_prefix("online-sweep-")
}

/// Runs the online suite: for each set, generate its episodes, run every policy and
/// `hindsight`, write `<out>/<set>.csv`, the `A(t)` plot of its first episode and, for
/// sweeps, the gap-closed plot; then `<out>/online.md` with every table.
pub fn run_online_suite(
    cfg: &OnlineSuiteConfig,
    hindsight: Option<&dyn EpisodeSolver>,
) -> Result<OnlineSuiteOutcome, Box<dyn std::error::Error + Send + Sync>> {
    let mut outcome = OnlineSuiteOutcome::default();
    let infos: Vec<&PolicyInfo> =
        cfg.policies.iter().map(|n| crate::solvers::online::info_policy(n)).collect::<Result<_, _>>()?;
    let rule_based: Vec<&str> = infos.iter().map(|p| p.name).collect();
    let yardstick = match hindsight {
        Some(solver) => Some(Yardstick {
            solver,
            cache: std::sync::Mutex::new(HindsightCache::open(&cfg.out_dir.join("hindsight-cache.csv"))?),
            opts: SolveOptions { time_limit: cfg.hindsight_time_limit, ..SolveOptions::default() },
        }),
        None => None,
    };
    let mut md = format!(
        "# Online benchmark (MODEL.md §9.5)\n\nGenerated by `{}` at revision {} on {}.\n\n\
         Every policy replays the same episodes (common random numbers); `hindsight` is the \
         proven optimum of the time-expanded MILP with every slot known in advance. Gap closed: \
         `(A - A_base) / (A_hindsight - A_base)` on the set means.\n\n",
        cfg.command,
        provenance::revision(),
        provenance::machine()
    );
    for set_name in &cfg.sets {
        let spec = cfg.instances_dir.join(format!("{set_name}.csv"));
        let set = generate_episode_set(&spec, Some(&cfg.instances_dir.join(set_name)))?;
        for e in &set.errors {
            outcome.skipped.push(e.to_string());
        }
        let pb = super::runner::progress_bar(0, set_name);
        let out = cfg.out_dir.join(format!("{set_name}.csv"));
        let run = run_online_set(&set, &infos, yardstick.as_ref(), Some(&out), !cfg.fresh, &pb)?;
        pb.finish_and_clear();
        outcome.written.push(out);
        outcome.error_rows += run.rows.iter().filter(|r| !r.ok()).count();
        md.push_str(&format!("## {set_name}\n\n"));
        let points: Vec<String> = {
            let mut seen = Vec::new();
            for (r, _) in &set.episodes {
                if !seen.contains(&r.point) {
                    seen.push(r.point.clone());
                }
            }
            seen
        };
        let mut sweep_series: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
        for point in &points {
            let rows: Vec<ResultRow> = run
                .rows
                .iter()
                .filter(|r| {
                    r.options == if point.is_empty() { String::new() } else { format!("point={point}") }
                })
                .cloned()
                .collect();
            if !point.is_empty() {
                md.push_str(&format!("### {point}\n\n"));
            }
            md.push_str(&online_table(&rows, &rule_based));
            md.push('\n');
            if let (Some(_), Some(x)) =
                (online_sweep_param(set_name), point.split('=').nth(1).and_then(|v| v.parse::<f64>().ok()))
            {
                for (name, closed) in gap_closed(&rows, &rule_based) {
                    sweep_series.entry(name).or_default().push((x, closed));
                }
            }
        }
        let plots = cfg.out_dir.join("plots");
        if let Some((r0, ep0)) = set.episodes.first() {
            let regimes: Vec<usize> = ep0.slots.iter().map(|s| s.regime).collect();
            let chart = super::plots::episode_chart(
                &format!("{set_name}: A(t) over episode {}", r0.id),
                &run.first_episode,
                &regimes,
                &rule_based,
            );
            outcome.written.extend(super::plots::write_chart(
                &plots,
                &format!("{set_name}-episode"),
                &chart,
            )?);
        }
        if let Some(param) = online_sweep_param(set_name) {
            let series = sweep_series.into_iter().map(|(n, pts)| super::plots::Series::new(n, pts)).collect();
            let mut chart = super::plots::Chart::single(
                &format!("{set_name}: share of the gap from the best rule to hindsight closed"),
                param,
                "gap closed",
                series,
            );
            chart.log_x = param.ends_with("bps");
            outcome.written.extend(super::plots::write_chart(&plots, set_name, &chart)?);
        }
    }
    let path = cfg.out_dir.join("online.md");
    write_atomic(&path, md.as_bytes())?;
    outcome.written.push(path);
    Ok(outcome)
}

/// Per policy, the share of the gap from the best rule-based policy to hindsight closed
/// (on the means of `rows`); empty without a hindsight optimum.
pub fn gap_closed(rows: &[ResultRow], rule_based: &[&str]) -> Vec<(String, f64)> {
    let mut by: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.ok()) {
        if let Some(o) = r.objective {
            by.entry(r.solver.as_str()).or_default().push(o);
        }
    }
    let means: BTreeMap<&str, f64> = by.iter().map(|(k, v)| (*k, mean(v))).collect();
    let Some(&h) = means.get(HINDSIGHT) else { return Vec::new() };
    let best = rule_based.iter().filter_map(|n| means.get(n)).copied().fold(f64::NEG_INFINITY, f64::max);
    if h - best <= 1e-12 || best.is_nan() {
        return Vec::new();
    }
    means
        .iter()
        .filter(|(k, _)| **k != HINDSIGHT)
        .map(|(k, &a)| (k.to_string(), (a - best) / (h - best)))
        .collect()
}
