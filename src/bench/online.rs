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

impl crate::io::CacheRow for CachedOptimum {
    fn key(&self) -> (String, String) {
        (self.hash.clone(), self.encoding.clone())
    }
}

/// The cache of hindsight optima (`results/hindsight-cache.csv`): proven optima keyed
/// by (episode hash, encoding version), so a new revision of the code reuses them and
/// a changed episode or encoding solves again. Only proven optima are stored.
pub type HindsightCache = crate::io::KeyedCache<CachedOptimum>;

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

/// One policy to run on a set: a registry entry and, for a learned policy, one of its
/// checkpoints (whose training seed is the row's `seed`).
#[derive(Clone)]
pub struct PolicyRun<'a> {
    pub info: &'a PolicyInfo,
    pub seed: u64,
    pub checkpoint: Option<PathBuf>,
}

impl PolicyRun<'_> {
    fn build(&self) -> crate::solvers::online::Built {
        match (&self.checkpoint, self.info.checkpoints) {
            (Some(dir), Some((_, load))) => load(dir),
            _ => self.info.build(),
        }
    }
}

/// The runs of `policies`: a learned policy once per checkpoint `<models_dir>/<folder>/
/// seed<k>/` (once with its default build when there is none), every other policy once.
pub fn policy_runs<'a>(policies: &[&'a PolicyInfo], models_dir: &Path) -> Vec<PolicyRun<'a>> {
    let mut runs = Vec::new();
    for &info in policies {
        let found = info.checkpoints.map(|(folder, _)| super::jobs::checkpoints(models_dir, folder));
        match found {
            Some(found) if !found.is_empty() => runs.extend(found.into_iter().map(|(seed, dir)| PolicyRun {
                info,
                seed,
                checkpoint: Some(dir),
            })),
            _ => runs.push(PolicyRun { info, seed: 0, checkpoint: None }),
        }
    }
    runs
}

/// Runs one online policy over one episode (every policy sees the same run seed, 0:
/// common random numbers): its results row and per-slot `A(t)`.
pub fn run_policy_row(set: &str, r: &EpisodeSpecRow, ep: &Episode, run: &PolicyRun) -> (ResultRow, Vec<f64>) {
    let (info, seed) = (run.info, run.seed);
    let start = Instant::now();
    let mut policy = match run.build() {
        Ok(p) => p,
        Err(e) => {
            let mut row = base_row(set, r, ep, info.name, String::new(), seed);
            row.status = RowStatus::Error;
            row.message = super::runner::error_chain(&e);
            return (row, Vec::new());
        }
    };
    let mut row = base_row(set, r, ep, info.name, policy.version(), seed);
    match run_online(policy.as_mut(), ep, 0) {
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
/// episode and encoding is there, else solved (one thread) and cached when proven. With
/// `recheck` a cached episode is solved again: a proven optimum within
/// [`RECHECK_TOLERANCE`] of the cached one replaces the entry (its solve time and
/// revision now this run's), a different one is an error row naming both and leaves the
/// entry, and an unproven solve leaves it too.
pub fn hindsight_row(
    set: &str,
    r: &EpisodeSpecRow,
    ep: &Episode,
    solver: &dyn EpisodeSolver,
    cache: &std::sync::Mutex<HindsightCache>,
    opts: &SolveOptions,
    recheck: bool,
) -> Result<(ResultRow, Vec<f64>), IoError> {
    let hash = episode_hash(ep);
    let encoding = solver.version();
    let mut row = base_row(set, r, ep, HINDSIGHT, encoding.clone(), 0);
    let cached = cache.lock().ok().and_then(|c| c.get(&hash, &encoding).cloned());
    if let Some(c) = cached.as_ref().filter(|_| !recheck) {
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
                    let proven = rep.status == Status::Optimal;
                    // A re-solved optimum must be the cached one (the MIP gap of a proven
                    // optimum is far below the tolerance).
                    let differs = cached
                        .as_ref()
                        .filter(|c| proven && (ev.objective - c.objective).abs() > RECHECK_TOLERANCE);
                    if let Some(c) = differs {
                        row.status = RowStatus::Error;
                        row.message = format!(
                            "re-solved optimum {} differs from the cached {} (revision {})",
                            ev.objective, c.objective, c.revision
                        );
                    } else if proven {
                        if let Some(c) = cached.as_ref() {
                            row.message = format!(
                                "re-solved: equal to the cached optimum of revision {} (its time {:.1} s)",
                                c.revision, c.solve_s
                            );
                        }
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
                    } else if let Some(c) = cached.as_ref() {
                        row.message =
                            format!("{}; the cached optimum (revision {}) is kept", row.message, c.revision);
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

/// How far a re-solved hindsight optimum may be from the cached one.
pub const RECHECK_TOLERANCE: f64 = 1e-6;

/// The §9.5 table of one set (or one sweep point): per policy, mean `A_ep` with its 95%
/// interval, the mean ratio to hindsight, the share of the gap from `myopic` and from
/// the best rule-based policy to hindsight closed, the 5th percentile of the ratio,
/// decision time per slot (median over episodes of the per-episode p50 and p95) and
/// megabytes downloaded per episode.
pub fn online_table(rows: &[ResultRow], rule_based: &[&str]) -> String {
    let (rows, without) = with_hindsight(rows);
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
        "| policy | episodes | seeds | mean A_ep (95% CI) | ratio to hindsight | p5 ratio | gap closed vs myopic | gap closed vs best rule | decide p50 / p95 (ms) | MB downloaded |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let mut order: Vec<&str> = by.keys().copied().collect();
    order.sort_by_key(|n| (*n != HINDSIGHT, !rule_based.contains(n), *n));
    let mut seeded = String::new();
    for name in order {
        let v = &by[name];
        let objs: Vec<f64> = v.iter().filter_map(|r| r.objective).collect();
        // Per episode, the mean over training seeds: the interval is over episodes.
        let mut per_episode: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        let mut per_seed: BTreeMap<u64, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
        for r in v {
            if let Some(o) = r.objective {
                per_episode.entry(r.instance.as_str()).or_default().push(o);
                let e = per_seed.entry(r.seed).or_default();
                e.0.push(o);
                e.1.extend(r.ratio_to_opt);
            }
        }
        let episode_means: Vec<f64> = per_episode.values().map(|x| mean(x)).collect();
        if per_seed.len() > 1 {
            seeded.push_str(&seed_line(name, &per_seed, hind, best_rule.map(|b| b.1)));
        }
        let ratios: Vec<f64> = v.iter().filter_map(|r| r.ratio_to_opt).collect();
        let a = mean(&objs);
        let p50: Vec<f64> = v.iter().filter_map(|r| r.stat("decide_p50_ms")).collect();
        let p95: Vec<f64> = v.iter().filter_map(|r| r.stat("decide_p95_ms")).collect();
        let mb: Vec<f64> =
            v.iter().filter_map(|r| Some(r.stat("edge_mb")? + r.stat("device_mb").unwrap_or(0.0))).collect();
        let f = |x: f64, d: usize| if x.is_finite() { format!("{x:.d$}") } else { "-".into() };
        out.push_str(&format!(
            "| {name} | {} | {} | {} ± {} | {} | {} | {} | {} | {} / {} | {} |\n",
            episode_means.len(),
            per_seed.len(),
            f(a, 4),
            f(ci95_half_width(&episode_means), 4),
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
    if without > 0 {
        out.push_str(&format!(
            "{without} episode(s) without a hindsight result (none cached in this run) are left out of \
             this table (`dnnrm bench-online` solves them).\n"
        ));
    }
    out.push_str(&seeded);
    let hs: Vec<&ResultRow> = rows.iter().filter(|r| r.solver == HINDSIGHT).collect();
    if !hs.is_empty() {
        out.push('\n');
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

/// The rows of the episodes that have a valid `hindsight` row (all rows when none has:
/// a run without the yardstick), and how many episodes were left out. Means compared
/// with hindsight are then over the same episodes.
pub fn with_hindsight(rows: &[ResultRow]) -> (Vec<ResultRow>, usize) {
    let have: std::collections::BTreeSet<&str> =
        rows.iter().filter(|r| r.solver == HINDSIGHT && r.ok()).map(|r| r.instance.as_str()).collect();
    if have.is_empty() {
        return (rows.to_vec(), 0);
    }
    let all: std::collections::BTreeSet<&str> = rows.iter().map(|r| r.instance.as_str()).collect();
    let kept = rows.iter().filter(|r| have.contains(r.instance.as_str())).cloned().collect();
    (kept, all.len() - have.len())
}

/// A learned policy over its training seeds: the per-seed means of `A_ep` and of the
/// ratio to hindsight, and bootstrap 95% intervals over the seeds of the mean ratio and
/// of the share of the gap from the best rule to hindsight closed.
fn seed_line(
    name: &str,
    per_seed: &BTreeMap<u64, (Vec<f64>, Vec<f64>)>,
    hind: Option<f64>,
    best_rule: Option<f64>,
) -> String {
    use super::stats::bootstrap_ci95;
    let a: Vec<f64> = per_seed.values().map(|(o, _)| mean(o)).collect();
    let ratios: Vec<f64> = per_seed.values().filter(|(_, r)| !r.is_empty()).map(|(_, r)| mean(r)).collect();
    let list = |v: &[f64]| v.iter().map(|x| format!("{x:.4}")).collect::<Vec<_>>().join(", ");
    let mut line = format!(
        "\n`{name}` over {} training seeds ({}): mean A_ep per seed {}",
        per_seed.len(),
        per_seed.keys().map(|k| k.to_string()).collect::<Vec<_>>().join(", "),
        list(&a)
    );
    if ratios.len() == a.len() {
        let (lo, hi) = bootstrap_ci95(&ratios, mean, 10_000, 7);
        line.push_str(&format!(
            "; ratio to hindsight {:.4} (bootstrap 95% CI {lo:.4}-{hi:.4})",
            mean(&ratios)
        ));
    }
    if let (Some(h), Some(b)) = (hind, best_rule) {
        if h - b > 1e-12 {
            let closed: Vec<f64> = a.iter().map(|x| (x - b) / (h - b)).collect();
            let (lo, hi) = bootstrap_ci95(&closed, mean, 10_000, 7);
            line.push_str(&format!(
                "; gap closed vs best rule {:.3} (bootstrap 95% CI {lo:.3}-{hi:.3})",
                mean(&closed)
            ));
        }
    }
    line.push_str(".\n");
    line
}

/// The offline yardstick of a set run: the solver, its cache of proven optima and the
/// options of each solve.
pub struct Yardstick<'a> {
    pub solver: &'a dyn EpisodeSolver,
    pub cache: std::sync::Mutex<HindsightCache>,
    pub opts: SolveOptions,
    /// Take optima from the cache only: an episode without one gets no hindsight row.
    pub cache_only: bool,
    /// Re-solve the episodes whose optimum is cached ([`hindsight_row`]), whatever the
    /// results file already holds.
    pub recheck: bool,
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
    policies: &[PolicyRun],
    yardstick: Option<&Yardstick>,
    out: Option<&Path>,
    resume: bool,
    progress: &indicatif::ProgressBar,
) -> Result<OnlineSetRun, IoError> {
    let mut file = crate::io::ResultsFile::open(out, resume, HINDSIGHT)?;
    // Rows of a policy the registry no longer has (removed or renamed) would stay in
    // the tables forever: they are dropped. Rows of known policies not run now stay.
    let known = crate::solvers::online::policies();
    file.retain(|r| r.solver == HINDSIGHT || known.iter().any(|p| p.name == r.solver));
    let file = std::sync::Mutex::new(file);
    let revision = provenance::revision().to_string();
    // The cache keys of the episodes (each hashes the episode's JSON), once.
    let hashes: Vec<String> = match yardstick {
        Some(_) => set.episodes.iter().map(|(_, ep)| episode_hash(ep)).collect(),
        None => Vec::new(),
    };
    // Jobs: hindsight first (the longest), then every policy.
    let mut jobs: Vec<(usize, Option<&PolicyRun>)> = Vec::new();
    for i in 0..set.episodes.len() {
        let wanted = yardstick.is_some_and(|y| {
            !y.cache_only
                || hashes
                    .get(i)
                    .is_some_and(|h| y.cache.lock().is_ok_and(|c| c.get(h, &y.solver.version()).is_some()))
        });
        if wanted {
            jobs.push((i, None));
        }
        for p in policies {
            jobs.push((i, Some(p)));
        }
    }
    let done = |i: usize, name: &str, seed: u64| {
        let (r, ep) = &set.episodes[i];
        let key = base_row(&set.name, r, ep, name, String::new(), seed).key();
        file.lock().map(|f| f.done(&key, &revision)).unwrap_or(false)
    };
    let jobs: Vec<_> = jobs
        .into_iter()
        .filter(|(i, p)| {
            // The first episode always runs (for the A(t) plot; hindsight from the cache).
            let (name, seed) = p.map_or((HINDSIGHT, 0), |p| (p.info.name, p.seed));
            let recheck = p.is_none() && yardstick.is_some_and(|y| y.recheck);
            recheck || !(resume && *i > 0 && done(*i, name, seed))
        })
        .collect();
    progress.set_length(jobs.len() as u64);
    // Longest jobs first (expected time: the mean wall time of the policy's rows already
    // in the file, from any revision; a policy without rows and an uncached hindsight
    // solve count as longest), handed out in that order, so a set does not end with one
    // long run on one core while the others idle. Results are put back in job order.
    let expected: BTreeMap<String, f64> = {
        let rows = file.lock().map(|f| f.rows()).unwrap_or_default();
        let mut sums: BTreeMap<String, (f64, usize)> = BTreeMap::new();
        for r in rows.iter().filter(|r| r.solver != HINDSIGHT) {
            let e = sums.entry(r.solver.clone()).or_default();
            *e = (e.0 + r.wall_s, e.1 + 1);
        }
        sums.into_iter().map(|(k, (s, n))| (k, s / n as f64)).collect()
    };
    let cost = |&(i, p): &(usize, Option<&PolicyRun>)| match p {
        Some(run) => expected.get(run.info.name).copied().unwrap_or(f64::INFINITY),
        None => {
            let cached = yardstick.is_some_and(|y| {
                !y.recheck && y.cache.lock().is_ok_and(|c| c.get(&hashes[i], &y.solver.version()).is_some())
            });
            if cached {
                0.0
            } else {
                f64::INFINITY
            }
        }
    };
    let costs: Vec<f64> = jobs.iter().map(cost).collect();
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by(|&a, &b| costs[b].total_cmp(&costs[a])); // stable
    type Done = (usize, String, u64, Vec<f64>);
    let run_job = |(i, p): (usize, Option<&PolicyRun>)| -> Result<Done, IoError> {
        let (r, ep) = &set.episodes[i];
        let (row, per_slot) = match (p, yardstick) {
            (Some(run), _) => run_policy_row(&set.name, r, ep, run),
            (None, Some(y)) => hindsight_row(&set.name, r, ep, y.solver, &y.cache, &y.opts, y.recheck)?,
            (None, None) => unreachable!("hindsight jobs exist only with a solver"),
        };
        let (name, seed) = (row.solver.clone(), row.seed);
        file.lock()
            .map_err(|_| IoError::Field {
                path: PathBuf::new(),
                field: "results".into(),
                reason: "lock poisoned".into(),
            })?
            .insert(vec![row])?;
        progress.inc(1);
        Ok((i, name, seed, per_slot))
    };
    let mut indexed: Vec<(usize, Result<Done, IoError>)> =
        order.into_iter().par_bridge().map(|k| (k, run_job(jobs[k]))).collect();
    indexed.sort_by_key(|(k, _)| *k);
    let results = indexed.into_iter().map(|(_, r)| r);
    let mut first_episode = Vec::new();
    for res in results {
        // A learned policy's first checkpoint stands for it in the plot.
        let (i, name, seed, per_slot) = res?;
        if i == 0 && seed == 0 && !per_slot.is_empty() {
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
    /// Where learned policies' checkpoints are (`<models_dir>/<folder>/seed<k>/`).
    pub models_dir: PathBuf,
    /// The offline yardstick (None: no hindsight column).
    pub hindsight: bool,
    /// Time limit of each hindsight solve (None: solve to proven optimality).
    pub hindsight_time_limit: Option<std::time::Duration>,
    /// Hindsight optima from the cache only (no solve): the bench's mode, so that its
    /// time stays bounded; `bench-online` solves what the cache lacks.
    pub hindsight_cache_only: bool,
    /// Re-solve cached optima too ([`Yardstick::recheck`]).
    pub hindsight_recheck: bool,
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
    // Every registered rule counts for "the best rule", whichever policies this run adds
    // rows for (a set's file may hold rows of earlier runs).
    let rule_based: Vec<&str> =
        crate::solvers::online::policies().iter().filter(|p| p.rule_based).map(|p| p.name).collect();
    let runs = policy_runs(&infos, &cfg.models_dir);
    // Long-run placements are offline computations, kept like the hindsight optima.
    crate::solvers::online::placement_cache::enable(&cfg.out_dir.join("placement-cache.csv"))?;
    let yardstick = match hindsight {
        Some(solver) => Some(Yardstick {
            solver,
            cache: std::sync::Mutex::new(HindsightCache::open(&cfg.out_dir.join("hindsight-cache.csv"))?),
            opts: SolveOptions { time_limit: cfg.hindsight_time_limit, ..SolveOptions::default() },
            cache_only: cfg.hindsight_cache_only,
            recheck: cfg.hindsight_recheck,
        }),
        None => None,
    };
    let header = format!(
        "# Online benchmark (MODEL.md §9.5)\n\nLast written by `{}` at revision {} on {}; the sections of \
         sets that run did not include are kept from the file before it, each naming its revision.\n\n\
         Every policy replays the same episodes (common random numbers); `hindsight` is the \
         proven optimum of the time-expanded MILP with every slot known in advance. Gap closed: \
         `(A - A_base) / (A_hindsight - A_base)` on the set means.\n\n",
        cfg.command,
        provenance::revision(),
        provenance::machine()
    );
    let mut sections: Vec<(String, String)> = Vec::new();
    for set_name in &cfg.sets {
        let mut md = String::new();
        let spec = cfg.instances_dir.join(format!("{set_name}.csv"));
        let set = generate_episode_set(&spec, Some(&cfg.instances_dir.join(set_name)))?;
        for e in &set.errors {
            outcome.skipped.push(e.to_string());
        }
        let pb = super::runner::progress_bar(0, set_name);
        let out = cfg.out_dir.join(format!("{set_name}.csv"));
        let run = run_online_set(&set, &runs, yardstick.as_ref(), Some(&out), !cfg.fresh, &pb)?;
        pb.finish_and_clear();
        outcome.written.push(out);
        outcome.error_rows += run.rows.iter().filter(|r| !r.ok()).count();
        md.push_str(&format!("## {set_name}\n\nRun at revision {}.\n\n", provenance::revision()));
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
        sections.push((set_name.clone(), md));
    }
    let path = cfg.out_dir.join("online.md");
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    write_atomic(&path, merge_sections(&old, &header, &sections).as_bytes())?;
    outcome.written.push(path);
    let summary = cfg.out_dir.join("summary.md");
    update_summary(&summary, &online_targets(&cfg.out_dir, &rule_based)?)?;
    outcome.written.push(summary);
    Ok(outcome)
}

/// `online.md` after a run: `header`, then one section per set (a `## <set>` heading and
/// what follows up to the next), in the order of the set names: the sections of this run
/// (`new`), and those of `old` (the file before it) for the sets this run did not
/// include, so running some sets never drops the others' tables.
pub fn merge_sections(old: &str, header: &str, new: &[(String, String)]) -> String {
    let mut by: BTreeMap<String, String> = BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    for line in old.split_inclusive('\n') {
        if let Some(name) = line.strip_prefix("## ") {
            by.extend(current.take());
            current = Some((name.trim().to_string(), String::new()));
        }
        if let Some((_, body)) = current.as_mut() {
            body.push_str(line);
        }
    }
    by.extend(current);
    for (name, body) in new {
        by.insert(name.clone(), body.clone());
    }
    let mut out = header.to_string();
    for body in by.values() {
        out.push_str(body);
        if !out.ends_with("\n\n") {
            out.push('\n');
        }
    }
    out
}

/// The marker of the online section of `summary.md` (everything after it is rewritten).
pub const SUMMARY_MARKER: &str = "<!-- online targets: written by the online suite -->";

/// Replaces the online section of `summary.md` (from [`SUMMARY_MARKER`] on) with
/// `section`, keeping what the static suite wrote before it.
pub fn update_summary(path: &Path, section: &str) -> Result<(), IoError> {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let head = old.split(SUMMARY_MARKER).next().unwrap_or("").trim_end();
    let body = if head.is_empty() {
        format!("{SUMMARY_MARKER}\n{section}")
    } else {
        format!("{head}\n\n{SUMMARY_MARKER}\n{section}")
    };
    write_atomic(path, body.as_bytes())
}

/// The targets of the online problem (issue 12), from the results of every committed
/// online set in `out_dir`: `hindsight` proven with its solve times on `online-default`;
/// `drl-online` (mean over its training seeds) against every rule-based policy on every
/// set, the gap it closes and its ratio to `ddpg-online` on `online-default`; its
/// decision time.
pub fn online_targets(out_dir: &Path, rule_based: &[&str]) -> Result<String, IoError> {
    const MAIN: &str = "online-default";
    const PROPOSED: &str = "drl-online";
    let mut sets: Vec<(String, Vec<ResultRow>)> = Vec::new();
    let mut names: Vec<String> = std::fs::read_dir(out_dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| n.starts_with(super::sets::ONLINE_PREFIX) && n.ends_with(".csv"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    for n in names {
        let rows = crate::io::results::read_rows(&out_dir.join(&n))?;
        sets.push((n.trim_end_matches(".csv").to_string(), with_hindsight(&rows).0));
    }
    let mut md = String::from(
        "## Online targets (MODEL.md §9, issue 12)\n\nFrom the rows of `results/online-*.csv` (per-set tables in \
         `online.md`). `drl-online` is the mean over its training seeds.\n\n",
    );
    let means = |rows: &[ResultRow], name: &str| {
        let v: Vec<f64> =
            rows.iter().filter(|r| r.solver == name && r.ok()).filter_map(|r| r.objective).collect();
        (!v.is_empty()).then(|| mean(&v))
    };
    let mark = |ok: bool| if ok { "met" } else { "**missed**" };
    if let Some((_, rows)) = sets.iter().find(|(s, _)| s == MAIN) {
        let hs: Vec<&ResultRow> = rows.iter().filter(|r| r.solver == HINDSIGHT).collect();
        let proven = hs.iter().filter(|r| r.status == RowStatus::Optimal).count();
        let times: Vec<f64> = hs.iter().map(|r| r.wall_s).collect();
        let p95 = percentile(&times, 0.95);
        md.push_str(&format!(
            "- `hindsight` proven optimal on every `{MAIN}` episode: {proven} of {} ({}); solve time p95 {p95:.1} s, \
             median {:.1} s, max {:.1} s against 60 s ({}; the times of the cached proofs, one thread each, as last \
             measured: when first proven or by `bench-online --recheck-hindsight`).\n",
            hs.len(),
            mark(proven == hs.len() && !hs.is_empty()),
            super::stats::median(&times),
            times.iter().copied().fold(0.0, f64::max),
            mark(p95 <= 60.0)
        ));
        if let (Some(h), Some(d)) = (means(rows, HINDSIGHT), means(rows, PROPOSED)) {
            let best = rule_based
                .iter()
                .filter_map(|n| means(rows, n).map(|v| (*n, v)))
                .max_by(|a, b| a.1.total_cmp(&b.1));
            if let Some((bn, b)) = best {
                let closed = if h - b > 1e-12 { (d - b) / (h - b) } else { f64::NAN };
                md.push_str(&format!(
                    "- `{PROPOSED}` closes at least a third of the gap from the best rule (`{bn}`, {b:.4}) to \
                     `hindsight` ({h:.4}) on `{MAIN}`: {closed:.3} ({}; its mean {d:.4}).\n",
                    mark(closed >= 1.0 / 3.0)
                ));
            }
        }
        if let (Some(d), Some(g)) = (means(rows, PROPOSED), means(rows, "ddpg-online")) {
            md.push_str(&format!(
                "- `{PROPOSED}` at least 1.314 x `ddpg-online` on `{MAIN}`: {:.3} x ({}).\n",
                d / g.max(1e-12),
                mark(d >= 1.314 * g)
            ));
        }
        let p50: Vec<f64> = rows
            .iter()
            .filter(|r| r.solver == PROPOSED && r.ok())
            .filter_map(|r| r.stat("decide_p50_ms"))
            .collect();
        if !p50.is_empty() {
            let m = super::stats::median(&p50);
            md.push_str(&format!(
                "- `{PROPOSED}` decision time per slot p50 at most 2 ms at N = 50 on `{MAIN}`: {m:.2} ms, the median \
                 over its runs of the per-episode p50 ({}; measured inside the bench, which runs two jobs on the \
                 machine's cores).\n",
                mark(m <= 2.0)
            ));
        }
    }
    md.push_str(&format!(
        "\nMargin: `{PROPOSED}` minus the best rule-based policy, paired: the mean over the episodes both ran \
         of each of `{PROPOSED}`'s seeds minus the rule on the same episode; its interval is a \
         two-way bootstrap (95%, 10 000 resamples) drawing the episodes and `{PROPOSED}`'s training seeds \
         independently, so it counts both as samples. \"Met\" compares the means.\n\n\
         | set | `{PROPOSED}` | best rule-based policy | margin (95% CI) | rule-based policies above `{PROPOSED}` |\n\
         |---|---:|---:|---:|---|\n"
    ));
    for (set, rows) in &sets {
        let Some(d) = means(rows, PROPOSED) else { continue };
        let mut above: Vec<String> = Vec::new();
        let mut best: Option<(&str, f64)> = None;
        for n in rule_based {
            if let Some(v) = means(rows, n) {
                if v > d {
                    above.push(format!("`{n}` {v:.4}"));
                }
                if best.is_none_or(|b| v > b.1) {
                    best = Some((n, v));
                }
            }
        }
        let margin = best.map_or("-".into(), |(n, _)| {
            let pairs = paired_margins(rows, PROPOSED, n);
            let (lo, hi) = super::stats::bootstrap_grid_ci95(&pairs, 10_000, 7);
            if lo.is_nan() {
                "-".into()
            } else {
                let m = mean(&pairs.concat());
                format!("{m:+.4} ({lo:+.4} to {hi:+.4})")
            }
        });
        md.push_str(&format!(
            "| {set} | {d:.4} | {} | {margin} | {} |\n",
            best.map_or("-".into(), |(n, v)| format!("`{n}` {v:.4}")),
            if above.is_empty() { "none (met)".into() } else { above.join(", ") }
        ));
    }
    Ok(md)
}

/// The paired margins of `policy` over `rule`: one row per episode where `rule` ran
/// and `policy` ran with every one of its seeds, `policy`'s `A_ep` with each seed (in
/// seed order) minus `rule`'s.
pub fn paired_margins(rows: &[ResultRow], policy: &str, rule: &str) -> Vec<Vec<f64>> {
    let base: BTreeMap<&str, f64> = rows
        .iter()
        .filter(|r| r.solver == rule && r.ok())
        .filter_map(|r| Some((r.instance.as_str(), r.objective?)))
        .collect();
    let mut runs: BTreeMap<&str, BTreeMap<u64, f64>> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.solver == policy && r.ok()) {
        if let Some(o) = r.objective {
            runs.entry(r.instance.as_str()).or_default().insert(r.seed, o);
        }
    }
    let seeds: std::collections::BTreeSet<u64> = runs.values().flat_map(|m| m.keys().copied()).collect();
    runs.iter()
        .filter(|(_, by_seed)| by_seed.len() == seeds.len())
        .filter_map(|(ep, by_seed)| base.get(ep).map(|b| by_seed.values().map(|o| o - b).collect()))
        .collect()
}

/// Per policy, the share of the gap from the best rule-based policy to hindsight closed
/// (on the means of `rows`); empty without a hindsight optimum.
pub fn gap_closed(rows: &[ResultRow], rule_based: &[&str]) -> Vec<(String, f64)> {
    let (rows, _) = with_hindsight(rows);
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
