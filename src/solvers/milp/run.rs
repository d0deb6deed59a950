//! Running one HiGHS solve of a good_lp model safely.
//!
//! The model is built with good_lp ([`super::encoding::Block::model`]), but solved
//! through good_lp's escape hatch: [`HighsProblem::try_into_inner`] hands over the
//! underlying [`highs::Model`], which is solved and read with the `highs` crate. good_lp's
//! own `solve()` is not used because it does not expose the MIP dual bound, the node
//! count or the iteration count, and it reports an optimal solve with a non-zero gap as
//! `GapLimit`. good_lp keeps options and initial solutions in its `HighsProblem` and
//! applies them only in its own `solve()`, so they are set here, on the inner model.
//!
//! The solve runs in a freshly spawned OS thread (HiGHS fixes its thread count per OS
//! thread at the first solve, so a new thread honours `threads` on every call),
//! silenced, with a wall-clock guard (HiGHS does not check its time limit in every
//! phase), and every HiGHS status is turned into plain data.

use std::ffi::{c_char, c_int, c_void};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use good_lp::solvers::highs::HighsProblem;
use highs::{HighsModelStatus, HighsOptionValue, HighsSolutionStatus, SolvedModel};

use crate::solver::Status;

extern "C" {
    // Part of the HiGHS C API linked by `highs-sys`; the safe `highs` crate only reads
    // `HighsInt` infos, and `mip_node_count` is an `int64` info.
    fn Highs_getInt64InfoValue(highs: *const c_void, info: *const c_char, value: *mut i64) -> c_int;
}

/// Extra wall time granted beyond the HiGHS time limit before the guard gives up.
pub const GUARD_GRACE: Duration = Duration::from_secs(2);

/// HiGHS's default absolute MIP gap (on the sum of accuracies), left unchanged.
pub const HIGHS_MIP_ABS_GAP: f64 = 1e-6;

/// Relative slack under which an answer whose sub-MILPs HiGHS all reported optimal
/// counts as optimal even beyond [`HIGHS_MIP_ABS_GAP`]: HiGHS's primal and integrality
/// feasibility tolerances (1e-6) let its dual bound sit a hair above the exactly
/// evaluated integral answer (measured: 2.3e-8 relative, 1.3e-5 on the sum of 991
/// accuracies, on a T = 30 episode of `hindsight`).
pub const OPTIMAL_REL_SLACK: f64 = 1e-7;

/// Status of an answer worth `objective` (a mean over `n` tasks) when HiGHS proved every
/// one of its `blocks` sub-MILPs, whose dual bounds sum to `bound` (same scale):
/// `Optimal` within HiGHS's absolute gap per sub-MILP or [`OPTIMAL_REL_SLACK`];
/// `GapLimit` within the relative gap `mip_rel_gap` the solve was allowed; else
/// `Heuristic`, with the reason.
pub fn proven_status(
    bound: f64,
    objective: f64,
    mip_rel_gap: f64,
    blocks: usize,
    n: f64,
) -> (Status, String) {
    let exact = blocks as f64 * HIGHS_MIP_ABS_GAP / n + OPTIMAL_REL_SLACK * bound.abs() + 1e-9;
    let gap = if bound > 0.0 { ((bound - objective) / bound).max(0.0) } else { 0.0 };
    if bound - objective <= exact {
        (Status::Optimal, "proven optimal by HiGHS".into())
    } else if bound - objective <= mip_rel_gap * bound + exact {
        (
            Status::GapLimit,
            format!(
                "stopped by the relative gap {mip_rel_gap}: within it of the optimum, not proven optimal (gap {gap:.3e})"
            ),
        )
    } else {
        (
            Status::Heuristic,
            format!(
                "HiGHS reported optimal but the decoded objective {objective} is {} below the bound {bound}",
                bound - objective
            ),
        )
    }
}

/// Settings of one solve.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSettings {
    /// HiGHS time limit in seconds; `None` for none.
    pub time_limit_s: Option<f64>,
    pub threads: u32,
    /// Relative MIP gap (ignored by LPs).
    pub mip_rel_gap: f64,
    /// Wall-clock guard; `None` waits for HiGHS however long it takes.
    pub guard: Option<Duration>,
    /// Run HiGHS's presolve (see [`super::PRESOLVE_MAX_COLS`]).
    pub presolve: bool,
    /// Run HiGHS's improvement heuristics feasibility jump, RINS and RENS (its
    /// default). Off, HiGHS still proves optimality; on the small plans of `mpc` they
    /// cost more root time than they save (docs/online.md).
    pub primal_heuristics: bool,
    /// Let HiGHS restart its search after root processing (`mip_allow_restart`, its
    /// default). Off for `hindsight`, where a restart costs more than it saves
    /// (docs/online.md).
    pub restarts: bool,
}

/// What HiGHS returned, as plain data.
#[derive(Debug, Clone, PartialEq)]
pub struct RunResult {
    pub status: HighsModelStatus,
    /// Column values when HiGHS holds a feasible primal solution.
    pub values: Option<Vec<f64>>,
    /// Objective of that solution (without the encoding's constant).
    pub objective: f64,
    /// MIP dual bound (`mip_dual_bound`), for a MIP; `None` if not finite.
    pub dual_bound: Option<f64>,
    /// HiGHS `mip_gap`; `None` if not finite.
    pub mip_gap: Option<f64>,
    /// `mip_node_count`.
    pub nodes: u64,
    /// Simplex iterations (LP relaxations).
    pub iterations: u64,
    /// Wall time of loading the model into HiGHS and `Highs_run`, s.
    pub solve_s: f64,
}

/// The outcome of [`run`].
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Finished(RunResult),
    /// HiGHS did not return within the guard; its thread is left to finish alone.
    GuardTimeout {
        waited_s: f64,
    },
    /// HiGHS refused the model or an option, or its thread died.
    Failed(String),
}

fn collect(solved: &SolvedModel, solve_s: f64) -> RunResult {
    let status = solved.status();
    let feasible = solved.primal_solution_status() == HighsSolutionStatus::Feasible;
    let finite = |v: Result<f64, _>| v.ok().filter(|x: &f64| x.is_finite());
    let mut nodes: i64 = 0;
    // SAFETY: the pointer is a live HiGHS instance owned by `solved`; the name is a
    // NUL-terminated string and `nodes` outlives the call.
    let rc = unsafe { Highs_getInt64InfoValue(solved.as_ptr(), c"mip_node_count".as_ptr(), &mut nodes) };
    RunResult {
        status,
        values: feasible.then(|| solved.get_solution().columns().to_vec()),
        objective: solved.objective_value(),
        dual_bound: finite(solved.double_info_value(c"mip_dual_bound")),
        mip_gap: finite(solved.double_info_value(c"mip_gap")),
        nodes: if rc == 0 { nodes.max(0) as u64 } else { 0 },
        iterations: solved.int_info_value(c"simplex_iteration_count").unwrap_or(0).max(0) as u64,
        solve_s,
    }
}

fn opt<V: HighsOptionValue>(model: &mut highs::Model, name: &str, value: V) -> Result<(), String> {
    model.try_set_option(name, value).map_err(|_| format!("HiGHS rejected option `{name}`"))
}

/// Writes `problem` (good_lp's HiGHS model, maximise), as HiGHS receives it before
/// presolve, to `path` with HiGHS's own writer (MPS for a `.mps` name, CPLEX LP for
/// `.lp`): columns `c0, c1, ...` in the model's column order, rows `r0, r1, ...`. The
/// file is written under a temporary name in the same folder and renamed, so a file at
/// `path` is always whole.
pub fn write_model(problem: HighsProblem, path: &std::path::Path) -> Result<(), String> {
    let mut model = problem.try_into_inner().map_err(|e| format!("HiGHS refused the model: {e}"))?;
    opt(&mut model, "output_flag", false)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".tmp-{}-{name}", std::process::id()));
    let c_path = std::ffi::CString::new(tmp.to_string_lossy().as_bytes())
        .map_err(|_| format!("cannot write the model to {}: the path holds a NUL byte", path.display()))?;
    // SAFETY: the pointer is the live HiGHS instance owned by `model`, and `c_path` is a
    // NUL-terminated string that outlives the call.
    let rc = unsafe { highs_sys::Highs_writeModel(model.as_mut_ptr(), c_path.as_ptr()) };
    if rc < 0 || !tmp.is_file() {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!("cannot write the model to {} (HiGHS returned {rc})", path.display()));
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot write the model to {}: {e}", path.display())
    })
}

fn run_here(problem: HighsProblem, initial: Option<Vec<f64>>, s: &RunSettings) -> Result<RunResult, String> {
    let t0 = Instant::now();
    // Loads good_lp's problem (with its sense, maximise) into a HiGHS instance.
    let mut model = problem.try_into_inner().map_err(|e| format!("HiGHS refused the model: {e}"))?;
    opt(&mut model, "output_flag", false)?;
    opt(&mut model, "log_to_console", false)?;
    opt(&mut model, "threads", i32::try_from(s.threads.max(1)).unwrap_or(1))?;
    opt(&mut model, "mip_rel_gap", s.mip_rel_gap)?;
    if !s.presolve {
        opt(&mut model, "presolve", "off")?;
    }
    if !s.primal_heuristics {
        for name in ["mip_heuristic_run_feasibility_jump", "mip_heuristic_run_rins", "mip_heuristic_run_rens"]
        {
            opt(&mut model, name, false)?;
        }
    }
    if !s.restarts {
        opt(&mut model, "mip_allow_restart", false)?;
    }
    if let Some(t) = s.time_limit_s {
        opt(&mut model, "time_limit", t.max(1e-3))?;
    }
    if let Some(v) = initial {
        // An infeasible or mis-sized start is only a missed hint, not an error.
        let _ = model.try_set_solution(Some(&v), None, None, None);
    }
    let solved = model.try_solve().map_err(|e| format!("HiGHS run failed: {e:?}"))?;
    Ok(collect(&solved, t0.elapsed().as_secs_f64()))
}

/// Solves `problem` (good_lp's HiGHS model, maximise) in a new OS thread and waits at
/// most `s.guard`. `initial` holds column values in the model's column order.
pub fn run(problem: HighsProblem, initial: Option<Vec<f64>>, s: &RunSettings) -> Outcome {
    let (tx, rx) = mpsc::channel();
    let settings = s.clone();
    let spawned = std::thread::Builder::new().name("dnnrm-highs".into()).spawn(move || {
        let _ = tx.send(run_here(problem, initial, &settings));
    });
    if let Err(e) = spawned {
        return Outcome::Failed(format!("cannot spawn the HiGHS thread: {e}"));
    }
    let t0 = Instant::now();
    let received = match s.guard {
        Some(g) => rx.recv_timeout(g),
        None => rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected),
    };
    match received {
        Ok(Ok(r)) => Outcome::Finished(r),
        Ok(Err(e)) => Outcome::Failed(e),
        Err(mpsc::RecvTimeoutError::Timeout) => {
            Outcome::GuardTimeout { waited_s: t0.elapsed().as_secs_f64() }
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            Outcome::Failed("the HiGHS thread stopped without an answer (it panicked)".into())
        }
    }
}

/// Name of a HiGHS model status, for reasons.
pub fn status_name(s: HighsModelStatus) -> &'static str {
    match s {
        HighsModelStatus::NotSet => "not set",
        HighsModelStatus::LoadError => "load error",
        HighsModelStatus::ModelError => "model error",
        HighsModelStatus::PresolveError => "presolve error",
        HighsModelStatus::SolveError => "solve error",
        HighsModelStatus::PostsolveError => "postsolve error",
        HighsModelStatus::ModelEmpty => "model empty",
        HighsModelStatus::Infeasible => "infeasible",
        HighsModelStatus::UnboundedOrInfeasible => "unbounded or infeasible",
        HighsModelStatus::Unbounded => "unbounded",
        HighsModelStatus::Optimal => "optimal",
        HighsModelStatus::ObjectiveBound => "objective bound reached",
        HighsModelStatus::ObjectiveTarget => "objective target reached",
        HighsModelStatus::ReachedTimeLimit => "time limit reached",
        HighsModelStatus::ReachedIterationLimit => "iteration limit reached",
        HighsModelStatus::Unknown => "unknown",
        HighsModelStatus::ReachedSolutionLimit => "solution limit reached",
        HighsModelStatus::ReachedInterrupt => "interrupted",
        HighsModelStatus::ReachedMemoryLimit => "memory limit reached",
        _ => "unrecognised status",
    }
}
