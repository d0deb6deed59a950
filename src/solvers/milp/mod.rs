//! `milp`: the exact MILP of MODEL.md §6, written with good_lp and solved by HiGHS, and
//! `milp-lp`: its LP relaxation, a cheap upper bound on `A`.
//!
//! The encoding (variables, objective and rows as good_lp expressions and constraints)
//! and its exact reductions are documented in [`encoding`]; how one solve is run (the
//! good_lp model handed to HiGHS through `HighsProblem::try_into_inner`, in its own OS
//! thread, silenced, with a wall-clock guard) in [`run`]. By default the MILP is solved
//! as one independent MILP per edge server (reduction 5 of [`encoding`]): the optimum
//! and the bound are the sums over servers.
//!
//! Status rules of `milp`, so that a non-optimal answer is never called optimal:
//! - `optimal`: every per-server MILP ended with HiGHS status *optimal* (within
//!   `mip_rel_gap`, default 0, and HiGHS's default absolute gap 1e-6 on the sum of
//!   accuracies), the decoded solution passes the evaluator, and its objective is
//!   within that gap of the summed dual bound, or within the relative slack
//!   [`run::OPTIMAL_REL_SLACK`] (1e-7) that HiGHS's feasibility tolerances leave
//!   ([`run::proven_status`], shared with `hindsight`);
//! - `time-limit`: the time limit stopped HiGHS (or HiGHS overran it and the guard gave
//!   up); servers without a HiGHS incumbent keep the local base (every task on its most
//!   accurate local model, or rejected), which is feasible;
//! - `heuristic`: HiGHS stopped on another limit, or reported optimal but the decoded
//!   objective does not match its bound;
//! - `no-solution`: the MILP failed (a HiGHS error, an undecodable or invalid
//!   solution): reject-all, with the reason. Falling back to another solver is the
//!   benchmark runner's business, not the MILP's.
//!
//! `bound` is always a valid upper bound on `A` when present: per server the HiGHS
//! `mip_dual_bound` (plus the encoding's constant), or the solver-free bound
//! [`encoding::Block::trivial_bound`] when HiGHS has none, summed and divided by `N`.

pub mod encoding;
pub mod run;

use std::time::Instant;

use highs::HighsModelStatus;

use self::encoding::{assemble, reduce, Block, Decoded, TaskChoices};
use self::run::{proven_status, status_name, Outcome, RunSettings, GUARD_GRACE, HIGHS_MIP_ABS_GAP};
use super::partial::Partial;
use super::GreedyLocalSearch;
use crate::model::{enumerate_options, evaluate, Decision, Instance, Location, Solution};
use crate::solver::{SolveOptions, SolveReport, Solver, SolverError, Status};

/// What one per-server solve produced (shared with `hindsight`).
#[derive(Debug, Clone, Default)]
pub(crate) struct BlockRun {
    pub(crate) values: Option<Vec<f64>>,
    /// HiGHS proved optimality (within the gaps).
    pub(crate) proven: bool,
    pub(crate) hit_time_limit: bool,
    /// Why the block is not proven optimal.
    pub(crate) note: Option<String>,
    pub(crate) failure: Option<String>,
    /// Upper bound on the block's objective without its constant.
    pub(crate) dual_bound: Option<f64>,
    pub(crate) objective: f64,
    pub(crate) nodes: u64,
    pub(crate) iterations: u64,
    pub(crate) solve_s: f64,
}

/// Turns one HiGHS outcome into plain data: proof, incumbent, dual bound and why it is
/// not proven (shared with `hindsight`, whose status rules are the same).
pub(crate) fn classify(outcome: Outcome, integer: bool) -> BlockRun {
    let mut b = BlockRun::default();
    let r = match outcome {
        Outcome::Finished(r) => r,
        Outcome::GuardTimeout { waited_s } => {
            b.hit_time_limit = true;
            b.solve_s = waited_s;
            b.note = Some(format!("HiGHS did not return within the time limit plus {GUARD_GRACE:?} grace"));
            return b;
        }
        Outcome::Failed(e) => {
            b.failure = Some(e);
            return b;
        }
    };
    b.nodes = r.nodes;
    b.iterations = r.iterations;
    b.solve_s = r.solve_s;
    b.objective = r.objective;
    let name = status_name(r.status);
    match r.status {
        HighsModelStatus::Optimal => {
            if r.values.is_none() {
                b.failure = Some("HiGHS reported optimal without a primal solution".into());
            }
            b.proven = true;
            // An LP's optimum is its own bound; a MIP's is its dual bound.
            b.dual_bound = if integer {
                r.dual_bound.or(Some(r.objective + HIGHS_MIP_ABS_GAP))
            } else {
                Some(r.objective)
            };
        }
        HighsModelStatus::ReachedTimeLimit => {
            b.hit_time_limit = true;
            b.note = Some(name.into());
            b.dual_bound = if integer { r.dual_bound } else { None };
        }
        HighsModelStatus::ReachedIterationLimit
        | HighsModelStatus::ReachedSolutionLimit
        | HighsModelStatus::ReachedInterrupt
        | HighsModelStatus::ReachedMemoryLimit
        | HighsModelStatus::ObjectiveBound
        | HighsModelStatus::ObjectiveTarget => {
            b.note = Some(name.into());
            b.dual_bound = if integer { r.dual_bound } else { None };
        }
        HighsModelStatus::Infeasible
        | HighsModelStatus::Unbounded
        | HighsModelStatus::UnboundedOrInfeasible => {
            b.failure =
                Some(format!("HiGHS says `{name}`, impossible since rejecting every task is feasible"));
        }
        HighsModelStatus::NotSet
        | HighsModelStatus::LoadError
        | HighsModelStatus::ModelError
        | HighsModelStatus::PresolveError
        | HighsModelStatus::SolveError
        | HighsModelStatus::PostsolveError
        | HighsModelStatus::ModelEmpty
        | HighsModelStatus::Unknown => {
            b.failure = Some(format!("HiGHS ended with status `{name}`"));
        }
        // The enum is non-exhaustive: a status this build does not know is no proof.
        _ => b.failure = Some(format!("HiGHS ended with an unrecognised status `{name}`")),
    }
    // A dual bound below the incumbent is a numerical accident: do not trust it.
    if let (Some(d), Some(_)) = (b.dual_bound, &r.values) {
        if d < r.objective - 1e-6 {
            b.dual_bound = None;
        }
    }
    b.values = r.values;
    b
}

/// Everything the two solvers build before calling HiGHS.
struct Prepared {
    choices: Vec<TaskChoices>,
    blocks: Vec<Block>,
    build_s: f64,
}

fn prepare(inst: &Instance, decompose: bool) -> Prepared {
    let t0 = Instant::now();
    let options = enumerate_options(inst);
    let choices = reduce(inst, &options);
    let mut blocks: Vec<Block> = if decompose {
        (0..inst.edges.len()).map(|m| Block::new(inst, &choices, vec![m])).collect()
    } else {
        vec![Block::new(inst, &choices, (0..inst.edges.len()).collect())]
    };
    // Small blocks first: they finish fast and leave their time to the large ones.
    blocks.sort_by_key(|b| (b.n_cols(), b.edges.first().copied()));
    Prepared { choices, blocks, build_s: t0.elapsed().as_secs_f64() }
}

/// Solves every block in turn. Each block gets an equal share of the time left.
fn solve_blocks(
    inst: &Instance,
    prep: &Prepared,
    opts: &SolveOptions,
    deadline: Option<Instant>,
    integer: bool,
    mip_rel_gap: f64,
    warm: Option<&Solution>,
) -> (Vec<BlockRun>, f64, usize, usize) {
    let mut runs = Vec::with_capacity(prep.blocks.len());
    let (mut build_s, mut vars, mut rows) = (0.0, 0, 0);
    for (i, block) in prep.blocks.iter().enumerate() {
        if block.n_cols() == 0 {
            runs.push(BlockRun {
                values: Some(Vec::new()),
                proven: true,
                dual_bound: Some(0.0),
                ..BlockRun::default()
            });
            continue;
        }
        if crate::solver::expired(deadline) {
            // The model build counts against the time limit: no time is left for this
            // sub-MILP, so its tasks keep their local base.
            runs.push(BlockRun {
                hit_time_limit: true,
                note: Some("time limit reached before the sub-MILP was built".into()),
                ..BlockRun::default()
            });
            continue;
        }
        let t0 = Instant::now();
        let model = block.model(inst, integer);
        let initial = warm.map(|s| block.warm_start_values(inst, s));
        build_s += t0.elapsed().as_secs_f64();
        vars += block.n_cols();
        rows += model.rows;
        let budget = deadline.map(|d| {
            let left = d.saturating_duration_since(Instant::now());
            left / u32::try_from(prep.blocks.len() - i).unwrap_or(u32::MAX)
        });
        let settings = RunSettings {
            time_limit_s: budget.map(|b| b.as_secs_f64()),
            threads: u32::try_from(opts.threads.max(1)).unwrap_or(1),
            mip_rel_gap,
            guard: budget.map(|b| b + GUARD_GRACE),
            presolve: block.n_cols() <= PRESOLVE_MAX_COLS,
            primal_heuristics: true,
            restarts: true,
        };
        runs.push(classify(run::run(model.problem, initial, &settings), integer));
    }
    (runs, build_s, vars, rows)
}

/// Largest sub-MILP (columns) that HiGHS presolves. Presolve is where HiGHS spends its
/// time on larger models of this encoding: at tight deadlines (deadline scale 0.3,
/// N = 400-800) it took 8-19 s of root processing per instance and the solve after it
/// under a second, while the encoding is already reduced (see [`encoding`]), so presolve
/// finds little. On small models it pays: it solves them outright, where the full MIP
/// machinery costs a few milliseconds each.
/// Measured (one thread, two cores shared): 64 keeps the 4000 tiny solves of the
/// brute-force test at 9 s (65 s with presolve always off) and solves the first 20
/// `default` instances in 0.95 s (1.48 s with presolve always on).
pub const PRESOLVE_MAX_COLS: usize = 64;

/// Invalid `milp` settings, caught by [`Milp::new`].
#[derive(Debug, thiserror::Error)]
pub enum MilpError {
    #[error("milp: mip_rel_gap must be a finite number >= 0, got {0}")]
    Gap(f64),
}

/// The exact MILP solver `milp`.
#[derive(Debug, Clone)]
pub struct Milp {
    /// Relative MIP gap at which HiGHS stops (0: prove optimality).
    pub mip_rel_gap: f64,
    /// Start HiGHS from the better of the `dp` and `greedy-ls` solutions.
    pub warm_start: bool,
    /// One MILP per edge server (exact; see [`encoding`]) instead of one for all.
    pub decompose: bool,
}

impl Default for Milp {
    fn default() -> Self {
        Milp { mip_rel_gap: 0.0, warm_start: false, decompose: true }
    }
}

impl Milp {
    /// Validates the settings once: `mip_rel_gap` must be finite and non-negative.
    pub fn new(mip_rel_gap: f64, warm_start: bool) -> Result<Self, MilpError> {
        if !(mip_rel_gap.is_finite() && mip_rel_gap >= 0.0) {
            return Err(MilpError::Gap(mip_rel_gap));
        }
        Ok(Milp { mip_rel_gap, warm_start, ..Milp::default() })
    }

    /// One MILP per edge server (`true`, the default) or one MILP for all (`false`).
    pub fn with_decompose(mut self, decompose: bool) -> Self {
        self.decompose = decompose;
        self
    }
}

/// The answer when the MILP failed: reject-all (always feasible), no bound (the
/// failed solve's numbers are not trusted), and the stats gathered so far.
fn failed(inst: &Instance, why: &str, stats: &[(&str, f64)]) -> SolveReport {
    let mut rep = SolveReport::new(
        Solution::reject_all(inst),
        Status::NoSolution,
        format!("milp: {why}; reject-all returned"),
    );
    for &(k, v) in stats {
        rep = rep.with_stat(k, v);
    }
    rep
}

fn decode_all(prep: &Prepared, runs: &[BlockRun]) -> Result<Vec<Decoded>, String> {
    prep.blocks
        .iter()
        .zip(runs)
        .map(|(b, r)| match &r.values {
            Some(v) => b.decode(&prep.choices, v),
            None => b.decode(&prep.choices, &vec![0.0; b.n_cols()]),
        })
        .collect()
}

/// Summed upper bound on the sum of accuracies: per block the HiGHS bound (plus the
/// constant) capped by the solver-free bound.
fn bound_sum(prep: &Prepared, runs: &[BlockRun]) -> f64 {
    prep.blocks.iter().zip(runs).map(|(b, r)| block_bound(b, r)).sum()
}

/// One block's upper bound: its HiGHS bound (plus the constant) capped by the
/// solver-free bound.
fn block_bound(b: &Block, r: &BlockRun) -> f64 {
    match r.dual_bound {
        Some(d) if r.failure.is_none() => (b.base + d).min(b.trivial_bound),
        _ => b.trivial_bound,
    }
}

/// [`bound_sum`] with, per block, the LP relaxation's optimum when it is tighter (an
/// LP run that did not reach optimality bounds nothing).
fn bound_sum_with_lp(prep: &Prepared, runs: &[BlockRun], lp_runs: &[BlockRun]) -> f64 {
    prep.blocks
        .iter()
        .zip(runs)
        .zip(lp_runs)
        .map(|((b, r), lp)| {
            let highs = block_bound(b, r);
            match lp.dual_bound {
                Some(d) if lp.proven && lp.failure.is_none() => highs.min(b.base + d),
                _ => highs,
            }
        })
        .sum()
}

impl Solver for Milp {
    fn name(&self) -> &str {
        "milp"
    }

    fn solve(&self, inst: &Instance, opts: &SolveOptions) -> Result<SolveReport, SolverError> {
        let start = Instant::now();
        let deadline = opts.deadline(start);
        let n = inst.n_tasks() as f64;
        let mut stats: Vec<(&str, f64)> =
            vec![("mip_rel_gap", self.mip_rel_gap), ("threads", opts.threads as f64)];

        // Under a time limit the MILP starts from the better of `dp` and `greedy-ls` (a
        // tenth of the limit) and never answers worse than it: a time-limited solve is at
        // least a good heuristic. `dp` stops at the tenth (it checks the deadline per
        // server, per task of its table and per price of its greedy pricing, after the
        // option enumeration), and `greedy-ls` runs only if `dp` left some of it.
        let warm = if self.warm_start || opts.time_limit.is_some() {
            let t0 = Instant::now();
            let sub = SolveOptions { time_limit: opts.time_limit.map(|t| t / 10), ..opts.clone() };
            let score = |s: &crate::model::Solution| evaluate(inst, s).ok().map(|e| e.objective);
            let dp = super::SlotDp.solve(inst, &sub).ok().map(|r| r.solution);
            // What `dp` left of the tenth.
            let left = sub.time_limit.map(|t| t.saturating_sub(t0.elapsed()));
            let ls = if left.is_some_and(|l| l.is_zero()) {
                stats.push(("warm_start_skipped_greedy_ls", 1.0));
                None
            } else {
                let rest = SolveOptions { time_limit: left, ..sub.clone() };
                GreedyLocalSearch.solve(inst, &rest).ok().map(|r| r.solution)
            };
            let starts = [dp, ls];
            let w = starts.into_iter().flatten().filter_map(|s| score(&s).map(|o| (o, s))).fold(
                None,
                |best: Option<(f64, crate::model::Solution)>, (o, s)| match best {
                    Some((b, _)) if b >= o => best,
                    _ => Some((o, s)),
                },
            );
            stats.push(("warm_start_s", t0.elapsed().as_secs_f64()));
            if let Some((obj, _)) = &w {
                stats.push(("warm_start_objective", *obj));
            }
            w.map(|(_, s)| s)
        } else {
            None
        };

        let prep = prepare(inst, self.decompose);
        let (runs, extra_build_s, vars, rows) =
            solve_blocks(inst, &prep, opts, deadline, true, self.mip_rel_gap, warm.as_ref());
        stats.extend([
            ("build_s", prep.build_s + extra_build_s),
            ("solve_s", runs.iter().map(|r| r.solve_s).sum()),
            ("nodes", runs.iter().map(|r| r.nodes as f64).sum()),
            ("variables", vars as f64),
            ("constraints", rows as f64),
            ("sub_milps", prep.blocks.iter().filter(|b| b.n_cols() > 0).count() as f64),
        ]);

        if let Some(why) = runs.iter().find_map(|r| r.failure.as_deref()) {
            return Ok(failed(inst, why, &stats));
        }
        let decoded = match decode_all(&prep, &runs) {
            Ok(d) => d,
            Err(why) => return Ok(failed(inst, &why, &stats)),
        };
        let solution = assemble(inst, &prep.choices, &decoded);
        let objective = match evaluate(inst, &solution) {
            Ok(e) => e.objective,
            Err(v) => {
                let why = format!("the decoded MILP solution is invalid ({v})");
                return Ok(failed(inst, &why, &stats));
            }
        };
        let mut bound = bound_sum(&prep, &runs) / n;
        // Not proven: the LP relaxation of each unproven block may bound it tighter than
        // HiGHS's dual bound (which can stay at the trivial bound when the limit hits
        // during root processing). It gets a tenth of the time limit, at least 0.25 s,
        // beyond the limit (the LP takes 0.05-0.2 s at N = 800).
        let mut lp_note = String::new();
        if runs.iter().any(|r| !r.proven) {
            let lp_deadline =
                opts.time_limit.map(|t| Instant::now() + (t / 10).max(std::time::Duration::from_millis(250)));
            let (lp_runs, _, _, _) = solve_blocks(inst, &prep, opts, lp_deadline, false, 0.0, None);
            let tighter = bound_sum_with_lp(&prep, &runs, &lp_runs) / n;
            stats.push(("highs_bound", bound));
            stats.push(("lp_bound_s", lp_runs.iter().map(|r| r.solve_s).sum()));
            stats.push(("lp_bound_proven", f64::from(u8::from(lp_runs.iter().all(|r| r.proven)))));
            if tighter < bound - 1e-12 {
                lp_note = format!("; bound {tighter:.6} from the LP relaxation (HiGHS's: {bound:.6})");
                bound = tighter;
            }
        }
        let gap = if bound > 0.0 { ((bound - objective) / bound).max(0.0) } else { 0.0 };
        stats.push(("gap", gap));
        let gap_text = format!(
            "mip_rel_gap {} (HiGHS mip_abs_gap {HIGHS_MIP_ABS_GAP:e} on the sum of accuracies), {} sub-MILP(s)",
            self.mip_rel_gap,
            prep.blocks.len()
        );

        // Why sub-MILPs are not proven, counted by reason, e.g. "time limit reached x12".
        let mut notes: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
        for r in runs.iter().filter(|r| !r.proven) {
            *notes.entry(r.note.as_deref().unwrap_or("not proven")).or_default() += 1;
        }
        let unproven: Vec<String> =
            notes.iter().map(|(k, c)| format!("{k} on {c} of {} sub-MILP(s)", runs.len())).collect();
        let (status, reason) = if unproven.is_empty() {
            let (status, why) = proven_status(bound, objective, self.mip_rel_gap, prep.blocks.len(), n);
            (status, format!("{why}; {gap_text}"))
        } else if runs.iter().any(|r| r.hit_time_limit) {
            let missing = runs.iter().filter(|r| r.values.is_none()).count();
            let base = if missing > 0 {
                format!("; {missing} sub-MILP(s) without a HiGHS incumbent keep the local base")
            } else {
                String::new()
            };
            (
                Status::TimeLimit,
                format!(
                    "stopped before proving optimality ({}){base}; gap {gap:.3e}; {gap_text}",
                    unproven.join("; ")
                ),
            )
        } else {
            (
                Status::Heuristic,
                format!("HiGHS stopped early ({}); gap {gap:.3e}; {gap_text}", unproven.join("; ")),
            )
        };
        let reason = format!("{reason}{lp_note}");
        let (solution, reason) = match (&warm, status) {
            (Some(w), Status::TimeLimit | Status::Heuristic | Status::GapLimit) => {
                match evaluate(inst, w).map(|e| e.objective) {
                    Ok(wo) if wo > objective + 1e-12 => {
                        stats.push(("gap", if bound > 0.0 { ((bound - wo) / bound).max(0.0) } else { 0.0 }));
                        (
                            w.clone(),
                            format!(
                                "{reason}; the MILP incumbent {objective:.6} is below its heuristic start (the better of dp and greedy-ls) {wo:.6}, \
                                 which is returned"
                            ),
                        )
                    }
                    _ => (solution, reason),
                }
            }
            _ => (solution, reason),
        };
        let mut rep = SolveReport::new(solution, status, reason);
        rep.bound = Some(bound);
        for (k, v) in stats {
            rep = rep.with_stat(k, v);
        }
        Ok(rep)
    }
}

/// `milp-lp`: the LP relaxation of the `milp` encoding (per edge server). Its optimum
/// is an upper bound on `A` (reported as `bound`); the solution is a rounding of the
/// LP solution (status `heuristic`: no optimality claim).
#[derive(Debug, Default, Clone)]
pub struct MilpLp;

/// Rounds LP values into a feasible solution: the local base, then models cached at
/// each server in decreasing `z` while they fit, then shared options in decreasing
/// `x` when they raise the task's accuracy and fit.
fn round_lp(inst: &Instance, prep: &Prepared, runs: &[BlockRun]) -> Solution {
    let options = enumerate_options(inst);
    let mut p = Partial::new(inst, &options);
    for n in 0..inst.n_tasks() {
        p.set_best_local(n);
    }
    for (b, r) in prep.blocks.iter().zip(runs) {
        let Some(v) = &r.values else { continue };
        if v.len() != b.n_cols() {
            continue;
        }
        let mut zs: Vec<usize> = (0..b.z.len()).filter(|&j| v[b.x.len() + j] > 1e-9).collect();
        zs.sort_by(|&i, &j| v[b.x.len() + j].total_cmp(&v[b.x.len() + i]));
        for j in zs {
            let (m, k) = b.z[j];
            p.cache_add(m, k);
        }
        let mut xs: Vec<usize> = (0..b.x.len()).filter(|&j| v[j] > 1e-9).collect();
        xs.sort_by(|&i, &j| v[j].total_cmp(&v[i]));
        for j in xs {
            let c = &b.x[j];
            let d = Decision::Serve(c.assignment);
            let better = inst.models[c.assignment.model].accuracy > p.accuracy_of(c.task);
            let cached = c.assignment.location != Location::Edge || p.is_cached(c.edge, c.assignment.model);
            if better && cached && p.fits(c.task, &d) {
                p.set(c.task, d);
            }
        }
    }
    p.into_solution()
}

impl Solver for MilpLp {
    fn name(&self) -> &str {
        "milp-lp"
    }

    fn solve(&self, inst: &Instance, opts: &SolveOptions) -> Result<SolveReport, SolverError> {
        let start = Instant::now();
        let prep = prepare(inst, true);
        let (runs, extra_build_s, vars, rows) =
            solve_blocks(inst, &prep, opts, opts.deadline(start), false, 0.0, None);
        let solution = round_lp(inst, &prep, &runs);
        let all_optimal = runs.iter().all(|r| r.proven && r.failure.is_none());
        let lp_sum: f64 =
            prep.blocks.iter().zip(&runs).map(|(b, r)| b.base + r.dual_bound.unwrap_or(0.0)).sum();
        let (bound, reason) = if all_optimal {
            let bound = lp_sum / inst.n_tasks() as f64;
            (
                Some(bound),
                format!("LP relaxation of the milp encoding: bound {bound:.6} is its optimum; the solution is a rounding of the LP solution (no optimality claim)"),
            )
        } else {
            let why: Vec<String> = runs
                .iter()
                .filter_map(|r| {
                    r.failure.clone().or_else(|| (!r.proven).then(|| r.note.clone().unwrap_or_default()))
                })
                .collect();
            (None, format!("LP relaxation not solved to optimality ({}): no bound; the solution rounds what was solved", why.join("; ")))
        };
        let mut rep = SolveReport::new(solution, Status::Heuristic, reason)
            .with_stat("build_s", prep.build_s + extra_build_s)
            .with_stat("solve_s", runs.iter().map(|r| r.solve_s).sum())
            .with_stat("iterations", runs.iter().map(|r| r.iterations as f64).sum())
            .with_stat("variables", vars as f64)
            .with_stat("constraints", rows as f64);
        rep.bound = bound;
        Ok(rep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{generate, ScenarioParams};

    #[test]
    fn settings_are_checked_once() {
        for bad in [-0.1, f64::NAN, f64::INFINITY] {
            assert!(matches!(Milp::new(bad, false), Err(MilpError::Gap(_))), "gap {bad} accepted");
        }
        let m = Milp::new(0.01, true).expect("a valid gap");
        assert_eq!((m.mip_rel_gap, m.warm_start, m.decompose), (0.01, true, true));
        let msg = Milp::new(-1.0, false).expect_err("negative gap").to_string();
        assert!(msg.contains("mip_rel_gap must be a finite number >= 0, got -1"), "{msg}");
    }

    #[test]
    fn a_failed_milp_returns_reject_all_without_a_bound() {
        let p = ScenarioParams { n_devices: 6, n_edges: 2, ..ScenarioParams::default() };
        let inst = generate(&p.check().expect("valid"), 3, "failed");
        let rep = failed(&inst, "HiGHS ended with status `solve error`", &[("build_s", 0.5)]);
        assert_eq!(rep.status, Status::NoSolution);
        assert_eq!(rep.solution, Solution::reject_all(&inst));
        assert_eq!(rep.reason, "milp: HiGHS ended with status `solve error`; reject-all returned");
        assert_eq!(rep.bound, None);
        assert_eq!(rep.stats["build_s"], 0.5);
        assert_eq!(evaluate(&inst, &rep.solution).expect("reject-all is valid").objective, 0.0);
    }
}
