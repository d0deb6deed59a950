//! `hindsight`: the exact MILP of a whole episode with every slot known in advance
//! (MODEL.md §9.4), written with good_lp and solved by HiGHS; and [`plan`], the same
//! MILP over predicted slots from a given placement state, for model-predictive control.
//!
//! # The encoding
//!
//! Notation: a *site* `s` is an edge server `m` or a device `n`, with capacity `C_s` MB
//! and download volume `V_s` MB per slot (`net.edge_volume_mb(m)`,
//! `net.device_volume_mb(n)`); `S_k` is the size of model `k`; slots `t = 0..T-1`.
//!
//! **Serving columns** (binary), one per scored slot `t >= W`, task `i` of the slot and
//! option `o` of the §6 enumeration ([`crate::model::enumerate_options`] on the slot
//! instance with placement free): every local option `(k)` (model fits the device, meets
//! the deadline), every edge `(k, r, u)` Pareto pair and every cloud `(k, r)` left by the
//! static reductions 3 and 4 of [`crate::solvers::milp::encoding`] (a cloud option with
//! no more RBs and no lower accuracy dominates cloud and edge options, since the cloud
//! needs no placement). The static reductions 1 and 2 (only the best local model, no
//! shared option below it) are *not* used: which local model is resident is a decision
//! here. Objective: `max sum alpha_k x`, divided by the number of tasks of the scored
//! slots, `A_ep`.
//!
//! **Tracks** `(s, k)`: one per site and model that some serving column needs (an edge
//! option of `k` at the task's server, a local option of `k` at the task's device), over
//! slots `0..=L` with `L` its last use (holding after the last use cannot help). Its
//! *residency* `rho_t` (binary), for each slot `t` that uses it, is 1 when `k` is resident
//! at `s` at the start of `t` and kept by the placement change; every column of the track
//! in slot `t` needs it. A track is encoded in one of two ways.
//!
//! *Flow tracks* (sites whose tracks do not all fit `C_s` at once: eviction can pay):
//! - `h_t` in {0,1}: `k` held at `s` after the placement change of slot `t` (§9.2 step 2);
//! - `x_t` in `[0, min(S_k, V_s)]` (`t < L`): MB received in slot `t`;
//! - `b_t` in `[0, S_k]` (`t < L`): MB held at the end of slot `t`;
//!   `b_t <= b_{t-1} + x_t` with `b_{-1}` the initial state (`S_k` resident, the received
//!   MB downloading, else 0), and `b_t <= S_k h_t` (an eviction loses the progress);
//! - `rho_t <= h_t` and `S_k rho_t <= b_{t-1}` (`rho_0 = 0` unless resident at the start);
//! - per site and slot, storage `sum_k S_k h_t <= C_s` (on the holdings after step 2: an
//!   initial state above capacity is allowed) and volume `sum_k x_t <= V_s`.
//!
//! *Free tracks* (sites whose tracks all fit `C_s` at once, most devices): eviction
//! never helps, so WLOG every track is held from slot 0 to its last use and its download
//! starts at slot 0 (progress kept, never lost). With one resource of `V_s` MB per slot,
//! a common release and deadlines, the completions are feasible exactly when (EDF) for
//! every slot `t`: `sum_k M_k rho_{k,t} <= t V_s`, `M_k` the MB missing at the start and
//! `rho_{k,t}` the residency of `k` at its latest use `<= t`; residency is monotone
//! (`rho` at a use `<= rho` at the next one). No `h`, `x`, `b`: a track resident at the
//! start has no variable at all. These rows are knapsacks, on which HiGHS derives cover
//! cuts.
//!
//! **Rows** beside the tracks': per task, `sum_o x_o <= 1`; per task and track, the
//! disaggregated link `sum_{o of that track} x_o <= rho_t`; per slot and edge server,
//! the spectrum `sum r x <= NB_m` and computing `sum u x <= U_m` rows. Rows that can
//! never bind are left out.
//!
//! **Why it is exact.** Every evaluator run maps to a feasible point (`h` = holdings,
//! `x` = amounts, `b` = received MB, `rho` = kept residency; at a free site, the run that
//! holds every track from slot 0 and downloads in EDF order is at least as good), with
//! the same objective. Conversely, from a feasible point with integer `h` and serving
//! columns, the evaluator's replay of received MB `r_t = min(S_k, r_{t-1} + x_t)` within
//! each hold run satisfies `r_t >= b_t` by induction, so every model a column needs is
//! resident in time; [`decode`] builds such a plan (EDF amounts, the schedule that meets
//! every deadline whenever one exists) and the replay checks it.
//!
//! **Exact reductions.** (1) The static cloud dominance above. (2) Slots before `W`
//! carry no columns: serving never changes the placement state, so their assignment is
//! free; the decoder fills them with the per-slot optimum (`milp`) on the resident
//! placement. (3) A track exists only where a column needs it; sites and models no
//! column needs are evicted at slot 0 (eviction is free and frees storage and volume).
//! (4) A column of model `k` at site `s` in slot `t` is dropped when `k` cannot be
//! resident by `t`: from `b_{-1}`, at `V_s` per slot, the missing MB take more than `t`
//! slots (rounded down at the evaluator's 1e-9 MB slack). (5) Model dominance: `k'`
//! replaces `k` at site `s` when `S_k' <= S_k`, `alpha_k' >= alpha_k`, `k'` misses no
//! more MB than `k` at the start, and every column needing `k` at `s` has a column of the
//! same task needing `k'` at `s` with no more RBs and units. Swapping `k` for `k'` in any
//! plan (held wherever either was, receiving both their amounts) keeps it feasible and
//! loses nothing, so the track of `k` and its columns go. (6) Always-served local
//! models: at a device whose needed models all fit its storage (a free site), a model
//! resident at the start serves the device's tasks in every slot at no cost (no RBs,
//! no units, no decision), so a task of that device keeps, of its columns no more
//! accurate than the best such model, only that local column (a plan taking another
//! holds the site's models from slot 0 and serves locally instead, losing nothing).
//! Off by default ([`encoding::EncodingOptions::below_always`]): measured not to pay.
//! (7) Decomposition: servers are grouped into connected components (a task's server
//! joined with its device's server); without mobility every server is its own MILP, as
//! in `milp`.
//!
//! **Valid inequalities** on the flow tracks of edge servers (devices: off by default,
//! [`encoding::EncodingOptions::device_cuts`], measured not to pay). They cut the LP
//! points that serve from a partly downloaded model, which an integer plan cannot:
//! - lead cuts: a download from zero takes at least `D = ceil(S_k / V_s)` slots, so a
//!   model resident at `t` was held in every slot of `[t - D, t]` (or since slot 0):
//!   `rho_t <= h_{t-d}` for `d = 1..min(D, t)`;
//! - window cuts: at most `w V_s` MB arrive in the `w` slots before `t`, so
//!   `(S_k - w V_s) rho_t <= b_{t-1-w}` for every `w` with `S_k > w V_s`;
//! - `x_t <= min(S_k, V_s) h_t`: a download in progress holds the whole model's storage.
//!
//! Measured (one thread, `N = 50`, `M = 4`, `T = 30`): see the report of the commit that
//! introduced them and the `measure_episode_files` test in `tests/hindsight.rs`.
//!
//! # HiGHS settings
//!
//! HiGHS's defaults, except that it does not restart after the root
//! (`mip_allow_restart` off, [`Hindsight::restarts`]): measured on the 20 `online-default`
//! episodes, one thread each, the same binary otherwise, p95 145 s against 162 s and a
//! total of 1 299 s against 1 341 s (docs/online.md). `mpc`'s plans keep the restarts.
//!
//! # Status
//!
//! As `milp`: `optimal` only when every sub-MILP is proven optimal by HiGHS, the
//! decoded plan replays through [`crate::model::evaluate_episode`] to the MILP's
//! objective (within 1e-9) and that objective is within HiGHS's absolute gap of the
//! summed bound or 1e-7 of it relative (`milp::run::proven_status`); `gap-limit` within a positive `mip_rel_gap`; `time-limit` with the
//! incumbent (sub-MILPs without one hold nothing and reject their tasks); `heuristic`
//! when HiGHS stopped on another limit or the replay differs from the MILP's objective
//! (the plan is still valid and scored by the evaluator); `no-solution` when HiGHS
//! failed or the decoded plan breaks a rule: the plan then holds nothing and rejects
//! every task. `bound` is always a valid upper bound on `A_ep`.

pub mod decode;
pub mod encoding;
pub mod export;

use std::collections::BTreeMap;
use std::time::Instant;

use self::decode::{build_plan, read_values, reject_all};
use self::encoding::{prepare, BlockShape, EncodingOptions, Prepared};
use crate::model::{
    evaluate, evaluate_episode, Episode, Holdings, Network, PlacementState, Slot, SlotDecision, Solution,
    EPISODE_FORMAT_VERSION,
};
use crate::solver::online::{EpisodeReport, EpisodeSolver};
use crate::solver::{SolveOptions, Solver, SolverError, Status};
use crate::solvers::milp::run::{self, RunSettings, GUARD_GRACE, HIGHS_MIP_ABS_GAP};
use crate::solvers::milp::{classify, BlockRun, Milp};

/// Tolerance between the replayed `A_ep` and the MILP's objective.
pub const REPLAY_TOLERANCE: f64 = 1e-9;

/// Invalid `hindsight` settings, caught by [`Hindsight::new`].
#[derive(Debug, thiserror::Error)]
pub enum HindsightError {
    #[error("hindsight: mip_rel_gap must be a finite number >= 0, got {0}")]
    Gap(f64),
}

/// The hindsight-optimal MILP of an episode.
#[derive(Debug, Clone)]
pub struct Hindsight {
    /// Relative MIP gap at which HiGHS stops (0: prove optimality).
    pub mip_rel_gap: f64,
    /// One MILP per group of edge servers that share nothing (exact), else one MILP.
    pub decompose: bool,
    /// Run HiGHS's presolve.
    pub presolve: bool,
    /// Run HiGHS's improvement heuristics (see [`RunSettings::primal_heuristics`]).
    pub primal_heuristics: bool,
    /// Let HiGHS restart after its root (see [`RunSettings::restarts`]; off by default).
    pub restarts: bool,
    pub encoding: EncodingOptions,
    /// Shows the sub-MILPs solved so far (length: the sub-MILPs with columns; message:
    /// the one being solved). Hidden when none is given.
    pub progress: Option<indicatif::ProgressBar>,
}

impl Default for Hindsight {
    fn default() -> Self {
        Hindsight {
            mip_rel_gap: 0.0,
            decompose: true,
            presolve: true,
            primal_heuristics: true,
            restarts: false,
            encoding: EncodingOptions::default(),
            progress: None,
        }
    }
}

impl Hindsight {
    /// Validates the settings once: `mip_rel_gap` must be finite and non-negative.
    pub fn new(mip_rel_gap: f64) -> Result<Self, HindsightError> {
        if !(mip_rel_gap.is_finite() && mip_rel_gap >= 0.0) {
            return Err(HindsightError::Gap(mip_rel_gap));
        }
        Ok(Hindsight { mip_rel_gap, ..Hindsight::default() })
    }

    /// Split into independent MILPs (`true`, the default) or solve one MILP.
    pub fn with_decompose(mut self, decompose: bool) -> Self {
        self.decompose = decompose;
        self
    }

    /// Another (equally exact) variant of the encoding.
    pub fn with_encoding(mut self, encoding: EncodingOptions) -> Self {
        self.encoding = encoding;
        self
    }

    /// HiGHS presolve on or off.
    pub fn with_presolve(mut self, presolve: bool) -> Self {
        self.presolve = presolve;
        self
    }

    /// Reports progress on `pb` (see [`Hindsight::progress`]).
    pub fn with_progress(mut self, pb: indicatif::ProgressBar) -> Self {
        self.progress = Some(pb);
        self
    }

    /// HiGHS's improvement heuristics on or off (optimality is proven either way).
    pub fn with_primal_heuristics(mut self, on: bool) -> Self {
        self.primal_heuristics = on;
        self
    }

    /// HiGHS's restarts after the root on or off (optimality is proven either way).
    pub fn with_restarts(mut self, on: bool) -> Self {
        self.restarts = on;
        self
    }

    /// Plans `slots` (predicted) from the placement state `initial`: the MILP of the
    /// episode they form, every slot weighted equally (window 0). For MPC, apply the
    /// first decision and plan again from the next state.
    pub fn plan(
        &self,
        net: &Network,
        initial: &PlacementState,
        slots: &[Slot],
        opts: &SolveOptions,
    ) -> Result<EpisodeReport, SolverError> {
        let ep = Episode {
            format_version: EPISODE_FORMAT_VERSION,
            id: "plan".into(),
            network: Network { window: 0, ..net.clone() },
            initial: initial.clone(),
            slots: slots.to_vec(),
        };
        ep.validate().map_err(|e| SolverError::Config {
            solver: "hindsight".into(),
            reason: format!("the plan's network, state or slots are invalid: {e}"),
        })?;
        Ok(self.solve(&ep, opts))
    }

    fn solve(&self, ep: &Episode, opts: &SolveOptions) -> EpisodeReport {
        let start = Instant::now();
        let deadline = opts.deadline(start);
        let net = &ep.network;
        let prep = prepare(net, &ep.initial, &ep.slots, net.window, self.decompose, self.encoding);
        let mut build_s = start.elapsed().as_secs_f64();
        let n = prep.scored_tasks.max(1) as f64;
        let mut stats: BTreeMap<String, f64> = BTreeMap::new();
        let mut stat = |k: &str, v: f64| {
            stats.insert(k.to_string(), v);
        };

        // Small blocks first: they finish fast and leave their time to the large ones.
        let mut order: Vec<usize> = (0..prep.blocks.len()).collect();
        order.sort_by_key(|&i| (prep.blocks[i].cols.len(), i));
        let mut runs: Vec<BlockRun> = vec![BlockRun::default(); prep.blocks.len()];
        let mut shapes: Vec<Option<BlockShape>> = vec![None; prep.blocks.len()];
        let (mut vars, mut rows) = (0usize, 0usize);
        let solvable = prep.blocks.iter().filter(|b| !b.cols.is_empty()).count();
        if let Some(pb) = &self.progress {
            pb.set_length(solvable as u64);
            pb.set_position(0);
        }
        for (pos, &bi) in order.iter().enumerate() {
            let block = &prep.blocks[bi];
            if block.cols.is_empty() {
                runs[bi] =
                    BlockRun { values: None, proven: true, dual_bound: Some(0.0), ..BlockRun::default() };
                continue;
            }
            if let Some(pb) = &self.progress {
                let edges: Vec<String> = block.edges.iter().map(|m| m.to_string()).collect();
                pb.set_message(format!("edge {}: {} columns", edges.join(","), block.cols.len()));
            }
            if crate::solver::expired(deadline) {
                runs[bi] = BlockRun {
                    hit_time_limit: true,
                    note: Some("time limit reached before the sub-MILP was built".into()),
                    ..BlockRun::default()
                };
                continue;
            }
            let t0 = Instant::now();
            let model = block.model(net, &ep.slots, &prep, self.encoding);
            build_s += t0.elapsed().as_secs_f64();
            vars += model.shape.n_cols;
            rows += model.shape.rows;
            let budget = deadline.map(|d| {
                let left = d.saturating_duration_since(Instant::now());
                left / u32::try_from(order.len() - pos).unwrap_or(u32::MAX)
            });
            let settings = RunSettings {
                time_limit_s: budget.map(|b| b.as_secs_f64()),
                threads: u32::try_from(opts.threads.max(1)).unwrap_or(1),
                mip_rel_gap: self.mip_rel_gap,
                guard: budget.map(|b| b + GUARD_GRACE),
                presolve: self.presolve,
                primal_heuristics: self.primal_heuristics,
                restarts: self.restarts,
            };
            shapes[bi] = Some(model.shape);
            runs[bi] = classify(run::run(model.problem, None, &settings), true);
            if let Some(pb) = &self.progress {
                pb.inc(1);
            }
        }
        stat("build_s", build_s);
        stat("solve_s", runs.iter().map(|r| r.solve_s).sum());
        stat("nodes", runs.iter().map(|r| r.nodes as f64).sum());
        stat("iterations", runs.iter().map(|r| r.iterations as f64).sum());
        stat("variables", vars as f64);
        stat("constraints", rows as f64);
        stat("serving_columns", prep.cols.len() as f64);
        stat("tracks", prep.tracks.len() as f64);
        stat("free_tracks", prep.tracks.iter().filter(|t| t.free).count() as f64);
        stat("dominated_tracks", prep.dominated as f64);
        stat("below_always_columns", prep.below_always as f64);
        stat("sub_milps", solvable as f64);
        stat("mip_rel_gap", self.mip_rel_gap);
        stat("threads", opts.threads as f64);

        let bound = bound_sum(&prep, &runs) / n;
        let failed = |why: String, stats: BTreeMap<String, f64>| EpisodeReport {
            decisions: hold_nothing(ep),
            status: Status::NoSolution,
            reason: format!("hindsight: {why}; a plan that holds nothing and rejects every task returned"),
            bound: Some(bound),
            stats,
        };
        if let Some(why) = runs.iter().find_map(|r| r.failure.clone()) {
            return EpisodeReport { bound: None, ..failed(why, stats) };
        }
        let t0 = Instant::now();
        let values: Vec<Option<Vec<f64>>> = runs.iter().map(|r| r.values.clone()).collect();
        let chosen = match read_values(&prep, &shapes, &values, ep.slots.len()) {
            Ok(c) => c,
            Err(why) => return failed(format!("undecodable MILP solution ({why})"), stats),
        };
        let unscored = |slot: &Slot, kept: &Holdings| per_slot_optimum(net, slot, kept, opts);
        let decisions = match build_plan(ep, &prep, &chosen, &unscored) {
            Ok(d) => d,
            Err(why) => return failed(format!("the decoded plan breaks a rule ({why})"), stats),
        };
        let replayed = match evaluate_episode(ep, &decisions) {
            Ok(e) => e.objective,
            Err(v) => return failed(format!("the decoded plan breaks a rule ({v})"), stats),
        };
        stat("decode_s", t0.elapsed().as_secs_f64());
        let milp_objective = chosen.accuracy_sum / n;
        let highs_sum: f64 = runs.iter().filter(|r| r.values.is_some()).map(|r| r.objective).sum();
        stat("objective", replayed);
        stat("milp_objective", milp_objective);
        let gap = if bound > 0.0 { ((bound - replayed) / bound).max(0.0) } else { 0.0 };
        stat("gap", gap);
        let gap_text = format!(
            "mip_rel_gap {} (HiGHS mip_abs_gap {HIGHS_MIP_ABS_GAP:e} on the sum of accuracies), {} sub-MILP(s)",
            self.mip_rel_gap,
            prep.blocks.len()
        );

        let mut notes: BTreeMap<&str, usize> = BTreeMap::new();
        for r in runs.iter().filter(|r| !r.proven) {
            *notes.entry(r.note.as_deref().unwrap_or("not proven")).or_default() += 1;
        }
        let unproven: Vec<String> =
            notes.iter().map(|(k, c)| format!("{k} on {c} of {} sub-MILP(s)", runs.len())).collect();
        let (status, reason) = if (replayed - milp_objective).abs() > REPLAY_TOLERANCE
            || (chosen.accuracy_sum - highs_sum).abs() > HIGHS_MIP_ABS_GAP + 1e-9 * prep.cols.len() as f64
        {
            (
                Status::Heuristic,
                format!(
                    "the decoded plan replays to {replayed} but the MILP solution is worth {milp_objective} \
                     (HiGHS: {}); {gap_text}",
                    highs_sum / n
                ),
            )
        } else if unproven.is_empty() {
            let (status, why) = run::proven_status(bound, replayed, self.mip_rel_gap, prep.blocks.len(), n);
            (status, format!("{why}; {gap_text}"))
        } else if runs.iter().any(|r| r.hit_time_limit) {
            let missing = runs
                .iter()
                .zip(&prep.blocks)
                .filter(|(r, b)| r.values.is_none() && !b.cols.is_empty())
                .count();
            let base = if missing > 0 {
                format!(
                    "; {missing} sub-MILP(s) without a HiGHS incumbent hold nothing and reject their tasks"
                )
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
        EpisodeReport { decisions, status, reason, bound: Some(bound), stats }
    }
}

/// Plans `slots` from `initial` with the default [`Hindsight`] (see [`Hindsight::plan`]).
pub fn plan(
    net: &Network,
    initial: &PlacementState,
    slots: &[Slot],
    opts: &SolveOptions,
) -> Result<EpisodeReport, SolverError> {
    Hindsight::default().plan(net, initial, slots, opts)
}

/// Version of the encoding, the key of the cache of proven optima
/// (`results/hindsight-cache.csv`) with the episode's hash: change it whenever a change
/// could change an optimum (a new reduction, a fixed bug), not for speed-ups.
pub const ENCODING_VERSION: &str = "hindsight-1";

impl EpisodeSolver for Hindsight {
    fn name(&self) -> &str {
        "hindsight"
    }

    fn version(&self) -> String {
        ENCODING_VERSION.to_string()
    }

    fn solve_episode(&self, ep: &Episode, opts: &SolveOptions) -> Result<EpisodeReport, SolverError> {
        Ok(self.solve(ep, opts))
    }
}

/// Summed upper bound on the sum of accuracies: per block the HiGHS bound capped by the
/// solver-free bound.
fn bound_sum(prep: &Prepared, runs: &[BlockRun]) -> f64 {
    prep.blocks
        .iter()
        .zip(runs)
        .map(|(b, r)| match r.dual_bound {
            Some(d) if r.failure.is_none() => d.min(b.trivial_bound),
            _ => b.trivial_bound,
        })
        .sum()
}

/// The plan that holds nothing and rejects every task: always valid.
fn hold_nothing(ep: &Episode) -> Vec<SlotDecision> {
    let net = &ep.network;
    ep.slots
        .iter()
        .map(|slot| SlotDecision {
            hold: Holdings {
                edges: vec![Vec::new(); net.edges.len()],
                devices: vec![Vec::new(); net.devices.len()],
            },
            solution: reject_all(net, slot),
            downloads: None,
        })
        .collect()
}

/// The assignment of an unscored slot: the per-slot optimum on the kept placement
/// (`None` when it fails; the slot's tasks are then rejected, which costs nothing).
fn per_slot_optimum(net: &Network, slot: &Slot, kept: &Holdings, opts: &SolveOptions) -> Option<Solution> {
    if slot.tasks.is_empty() {
        return None;
    }
    let inst = net.slot_instance(slot, Some(kept), "unscored");
    let sub = SolveOptions { time_limit: None, ..opts.clone() };
    let sol = Milp::default().solve(&inst, &sub).ok()?.solution;
    evaluate(&inst, &sol).ok().map(|_| sol)
}
