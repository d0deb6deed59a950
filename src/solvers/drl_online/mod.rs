//! `drl-online`: the proposed scheme on episodes (MODEL.md §9). A learned placement
//! policy decides, each slot and for each edge server, the target holding: a sequence
//! of choices among the models that still fit plus a stop action, scored by the shared
//! candidate scorer ([`crate::rl::scorer`], trained by self-critical REINFORCE over whole
//! episodes, [`crate::rl::set_pg`], [`train`]). Resident models outside the target stay
//! while they fit (lazy eviction) and storage left free is filled
//! ([`crate::solvers::online::common::fill_edges`]), as for the rule-based policies.
//! Devices follow a second learned scorer ([`device`], prior: the shared device rule,
//! which devices follow when the checkpoint has no device scorer); each slot's tasks
//! are then assigned on the resident placement with the per-slot optimum, as the rules
//! assign: `dp`, the exact dynamic program over each server's RBs and units (about a
//! millisecond per slot at N = 50), so the learned placement and the rules' placements
//! are compared on equal terms.
//!
//! The untrained policy is `static-placement`: the prior column scores the models of the
//! long-run placement (computed at reset as `static-placement` does) above the stop
//! action and every other model below it, and the network starts near zero, so training
//! learns when to deviate from it (what to prefetch for the next regime, what to add for
//! the demand of the moment).
//!
//! Candidate features (`FEAT` = 18, in this order): the prior; stop flag; accuracy;
//! size over the cache; resident; fraction received (downloading); `(1 - p)^d`, `d` the
//! slots until resident at the edge's rate; the share of this slot's tasks at the
//! server that ask for the model's service; the service's share in the current and in
//! the next regime's mix; its decayed request share at the server (decay 0.8); in the
//! long-run placement; the best accuracy of the service among the models chosen so far
//! and the model's gain over it; the cache fraction left after adding it; the current
//! regime's deadline scale; the share of the slot's tasks of the service at the server
//! whose deadline the model meets at the edge on the whole server's compute (upload
//! aside); the share of the slot's tasks at the server that ask for the service and
//! wait, their device holding no resident model of it that meets their deadline (what
//! the edge must serve while devices download, as after a regime start). The stop row carries the prior, the stop flag and the cache
//! fraction left.

pub mod device;
pub mod train;

use std::path::{Path, PathBuf};

use crate::model::{Holdings, Network, PlacementState, Site, Slot, SlotDecision};
use crate::rl::checkpoint::CheckpointError;
use crate::rl::scorer::{load_scorer, FastScorer};
use crate::solver::online::OnlinePolicy;
use crate::solver::{SolveOptions, SolverError};
use crate::solvers::online::common::{
    assign, device_rule, edge_downloads, fill_edges, lazy_hold, regime_value, slots_to_resident,
};
use crate::solvers::online::StaticPlacement;
use crate::solvers::SlotDp;

/// Width of a candidate's feature row.
pub const FEAT: usize = 18;
/// Candidates per step (models of the zoo plus the stop action), padded.
pub const SLOTS: usize = 32;
/// Hidden width of the scoring network.
pub const HIDDEN: usize = 32;
/// Column of the prior score.
pub const PRIOR: usize = 0;
/// Prior of a model of the long-run placement.
const STATIC_PRIOR: f64 = 0.2;
/// Prior of the stop action: below the long-run placement's models, above the rest (0).
/// The gaps are a few times the sampling temperature, so training explores.
const STOP_PRIOR: f32 = 0.1;
/// Decay of the per-server request counts.
const DECAY: f64 = 0.8;
/// Checkpoint used when none is given, relative to the working folder.
pub const DEFAULT_CHECKPOINT: &str = "models/drl-online/seed0";

/// What the policy knows of an episode after `reset`: the network, the long-run
/// placement and the decayed request counts per server and service.
#[derive(Debug, Clone)]
pub struct Context {
    pub net: Network,
    pub static_targets: Vec<Vec<usize>>,
    /// Devices follow the learned device scorer ([`device`]) instead of the shared rule.
    pub learned_devices: bool,
    counts: Vec<Vec<f64>>,
    seed: u64,
}

/// What the slot asks of server `m`, per service: the deadlines of its tasks, and how
/// many of them wait (their device holds no resident model of the service that meets
/// the task's deadline locally, so only the edge or the cloud can serve them).
struct SlotDemand {
    deadlines: Vec<Vec<f64>>,
    waiting: Vec<f64>,
}

impl SlotDemand {
    fn new(net: &Network, m: usize, slot: &Slot, state: &PlacementState) -> Self {
        let q = net.services.len();
        let (mut deadlines, mut waiting) = (vec![Vec::new(); q], vec![0.0; q]);
        for task in slot.tasks.iter().filter(|t| t.edge == m && t.service < q) {
            deadlines[task.service].push(task.deadline_s);
            let dev = &net.devices[task.device];
            let local = state.devices.get(task.device).is_some_and(|s| {
                s.resident.iter().any(|&k| {
                    let md = &net.models[k];
                    md.service == task.service
                        && crate::model::meets_deadline(md.flops / dev.flops, task.deadline_s)
                })
            });
            if !local {
                waiting[task.service] += 1.0;
            }
        }
        SlotDemand { deadlines, waiting }
    }
}

impl Context {
    /// The context of a new episode: the long-run placement as `static-placement`
    /// computes it (same seed, same placement).
    pub fn new(net: &Network, initial: &PlacementState, seed: u64) -> Result<Self, SolverError> {
        if net.models.len() + 1 > SLOTS {
            return Err(SolverError::Config {
                solver: "drl-online".into(),
                reason: format!(
                    "a zoo of {} models exceeds the {} candidates of a step",
                    net.models.len(),
                    SLOTS - 1
                ),
            });
        }
        let mut st = StaticPlacement::default();
        st.reset(net, initial, seed)?;
        Ok(Context {
            net: net.clone(),
            static_targets: st.targets().to_vec(),
            learned_devices: false,
            counts: vec![vec![0.0; net.services.len()]; net.edges.len()],
            seed,
        })
    }

    /// Forgets the request counts (a new run of the same episode).
    pub fn restart(&mut self) {
        for c in &mut self.counts {
            c.iter_mut().for_each(|x| *x = 0.0);
        }
    }

    /// The observation block of one step at server `m`: candidate rows (each `FEAT`
    /// values and a mask) for every model not yet chosen that fits what is left, then
    /// the stop row; the candidates' models (`None` for stop).
    #[allow(clippy::too_many_arguments)]
    fn step_obs(
        &self,
        m: usize,
        slot: &Slot,
        state: &PlacementState,
        chosen: &[usize],
        now: &[f64],
        obs: &mut Vec<f32>,
        cands: &mut Vec<Option<usize>>,
    ) {
        let net = &self.net;
        let demand = SlotDemand::new(net, m, slot, state);
        let cap = net.edges[m].cache_mb.max(1e-9);
        let used: f64 = chosen.iter().map(|&k| net.models[k].size_mb).sum();
        let left = (cap - used).max(0.0);
        let r = slot.regime.min(net.demand.regimes.len().saturating_sub(1));
        let next = (r + 1) % net.demand.regimes.len().max(1);
        let stay = (1.0 - net.demand.switch_prob).clamp(0.0, 1.0);
        let store = &state.edges[m];
        let total_now: f64 = now.iter().sum::<f64>().max(1.0);
        let total_count: f64 = self.counts[m].iter().sum::<f64>().max(1e-9);
        let scale = net.demand.regimes.get(r).map_or(1.0, |g| g.deadline_scale);
        obs.clear();
        cands.clear();
        for (k, md) in net.models.iter().enumerate() {
            if chosen.contains(&k) || md.size_mb > left {
                continue;
            }
            let q = md.service;
            let best_chosen = chosen
                .iter()
                .filter(|&&j| net.models[j].service == q)
                .map(|&j| net.models[j].accuracy)
                .fold(0.0, f64::max);
            let d = slots_to_resident(net, store, k, net.edge_volume_mb(m));
            let received = store.received_mb(k) / md.size_mb;
            let in_static = self.static_targets[m].contains(&k);
            let mix = |g: usize| net.demand.regimes.get(g).and_then(|g| g.mix.get(q)).copied().unwrap_or(0.0);
            let edge_delay = md.flops / net.edges[m].flops.max(1e-9);
            let q_tasks = demand.deadlines[q].len().max(1) as f64;
            let edge_feasible =
                demand.deadlines[q].iter().filter(|&&t| crate::model::meets_deadline(edge_delay, t)).count()
                    as f64
                    / q_tasks;
            let row = [
                if in_static { STATIC_PRIOR } else { 0.0 },
                0.0,
                md.accuracy,
                md.size_mb / cap,
                if store.resident.contains(&k) { 1.0 } else { 0.0 },
                received,
                if d.is_finite() { stay.powf(d) } else { 0.0 },
                now[q] / total_now,
                mix(r),
                mix(next),
                self.counts[m][q] / total_count,
                if in_static { 1.0 } else { 0.0 },
                best_chosen,
                (md.accuracy - best_chosen).max(0.0),
                (left - md.size_mb) / cap,
                scale,
                edge_feasible,
                demand.waiting[q] / total_now,
            ];
            obs.extend(row.iter().map(|&x| x as f32));
            obs.push(1.0);
            cands.push(Some(k));
        }
        push_stop::<FEAT>(obs, cands, STOP_PRIOR, (left / cap) as f32, SLOTS);
    }

    /// One slot's decision. `choose(site, obs, cands)` picks a candidate index of the
    /// observation block `obs` at `site` (an edge server, or a device when
    /// `learned_devices`), below `cands.len()` (`cands[i]`: the model of candidate `i`,
    /// `None` for stop); the edge targets and device holdings it builds and the per-slot
    /// optimum (`dp`) give the decision.
    pub fn decide(
        &mut self,
        slot: &Slot,
        state: &PlacementState,
        mut choose: impl FnMut(Site, &[f32], &[Option<usize>]) -> usize,
    ) -> Result<SlotDecision, SolverError> {
        let net = &self.net;
        let n_edges = net.edges.len();
        let mut now = vec![vec![0.0; net.services.len()]; n_edges];
        for task in &slot.tasks {
            if let Some(c) = now.get_mut(task.edge).and_then(|v| v.get_mut(task.service)) {
                *c += 1.0;
            }
        }
        for (c, n) in self.counts.iter_mut().zip(&now) {
            for (x, y) in c.iter_mut().zip(n) {
                *x = DECAY * *x + y;
            }
        }
        let (mut obs, mut cands) = (Vec::with_capacity(SLOTS * (FEAT + 1)), Vec::with_capacity(SLOTS));
        let mut edges = Vec::with_capacity(n_edges);
        for (m, now_m) in now.iter().enumerate() {
            let mut chosen: Vec<usize> = Vec::new();
            loop {
                self.step_obs(m, slot, state, &chosen, now_m, &mut obs, &mut cands);
                let i = choose(Site::Edge(m), &obs, &cands).min(cands.len() - 1);
                match cands[i] {
                    Some(k) => chosen.push(k),
                    None => break,
                }
            }
            let net = &self.net;
            edges.push(lazy_hold(net, &state.edges[m], &chosen, net.edges[m].cache_mb, |k| {
                regime_value(net, slot.regime, k)
            }));
        }
        fill_edges(&self.net, slot, state, &mut edges);
        let (mut devices, targets) = device_rule(&self.net, slot, state);
        if self.learned_devices {
            devices = device::device_holds_learned(
                &self.net,
                slot,
                state,
                devices,
                &targets,
                SLOTS,
                |n, obs, c| choose(Site::Device(n), obs, c),
            );
        }
        let hold = Holdings { edges, devices };
        let opts = SolveOptions { seed: self.seed, ..SolveOptions::default() };
        let solution = assign(&SlotDp, &self.net, slot, state, &hold, &opts)?;
        let mut downloads = edge_downloads(&self.net, slot, state, &hold.edges);
        if self.learned_devices {
            downloads.devices = device::device_downloads(&self.net, slot, state, &hold.devices);
        }
        let downloads = Some(downloads);
        Ok(SlotDecision { hold, solution, downloads })
    }
}

// The stop row of both scorers puts the prior in column 0.
const _: () = assert!(PRIOR == 0 && device::DPRIOR == 0);

/// Ends an observation block of candidate rows `F` wide: the stop row (prior
/// `stop_prior` in column 0, the stop flag in column 1, the capacity fraction left
/// `left` in column 14), then padding to `slots` rows.
pub(crate) fn push_stop<const F: usize>(
    obs: &mut Vec<f32>,
    cands: &mut Vec<Option<usize>>,
    stop_prior: f32,
    left: f32,
    slots: usize,
) {
    let mut stop = [0f32; F];
    stop[0] = stop_prior;
    stop[1] = 1.0;
    stop[14] = left;
    obs.extend_from_slice(&stop);
    obs.push(1.0);
    cands.push(None);
    obs.resize(slots * (F + 1), 0.0);
}

/// A loaded placement scorer.
#[derive(Debug, Clone)]
pub struct PlacementScorer {
    pub scorer: FastScorer,
    pub step: u64,
    /// Width of a candidate row (`FEAT` at the edge, `device::DFEAT` at devices).
    pub feat: usize,
}

impl PlacementScorer {
    /// Reads a checkpoint written by `dnnrm train drl-online`.
    pub fn load(dir: &Path) -> Result<Self, CheckpointError> {
        Self::load_with::<FEAT>(dir, PRIOR, "drl-online")
    }

    /// Reads the device scorer of a checkpoint (`dir/device`, [`device`]).
    pub fn load_device(dir: &Path) -> Result<Self, CheckpointError> {
        Self::load_with::<{ device::DFEAT }>(dir, device::DPRIOR, "the device scorer")
    }

    /// A scorer checkpoint of rows `F` wide whose prior is column `prior`.
    fn load_with<const F: usize>(dir: &Path, prior: usize, what: &str) -> Result<Self, CheckpointError> {
        let ck = load_scorer::<F, HIDDEN>(dir, SLOTS)?;
        if ck.prior_column != Some(prior) {
            return Err(CheckpointError::Meta {
                path: dir.join(crate::rl::checkpoint::META_FILE),
                reason: format!("state.prior_column is {:?}, {what} needs Some({prior})", ck.prior_column),
            });
        }
        Ok(PlacementScorer {
            scorer: FastScorer::from_net(&ck.net, ck.prior_column),
            step: ck.meta.step,
            feat: F,
        })
    }

    /// The untrained policy: the prior alone (a zero network).
    pub fn prior_only() -> Self {
        PlacementScorer { scorer: FastScorer::prior_only(FEAT, PRIOR), step: 0, feat: FEAT }
    }

    /// The untrained device scorer: the device rule.
    pub fn device_prior_only() -> Self {
        PlacementScorer {
            scorer: FastScorer::prior_only(device::DFEAT, device::DPRIOR),
            step: 0,
            feat: device::DFEAT,
        }
    }

    /// Index of the best candidate among the first `n` rows of `obs`.
    pub fn choose(&self, obs: &[f32], n: usize, buf: &mut Vec<f32>, rows: &mut Vec<f32>) -> usize {
        rows.clear();
        for row in obs.chunks_exact(self.feat + 1).take(n) {
            rows.extend_from_slice(&row[..self.feat]);
        }
        self.scorer.argmax(rows, buf)
    }
}

/// The `drl-online` policy.
pub struct DrlOnline {
    name: &'static str,
    scorer: PlacementScorer,
    /// The learned device scorer (`dir/device`); none: devices follow the shared rule.
    device: Option<PlacementScorer>,
    ctx: Option<Context>,
    checkpoint: Option<PathBuf>,
}

/// Folder of the device scorer inside a `drl-online` checkpoint.
pub const DEVICE_DIR: &str = "device";

impl DrlOnline {
    /// The trained policy of `dir` (with its device scorer when `dir/device` exists).
    pub fn load(dir: &Path) -> Result<Self, SolverError> {
        let err = |path: &Path, e: CheckpointError| SolverError::Checkpoint {
            solver: "drl-online".into(),
            path: path.to_path_buf(),
            source: Box::new(e),
        };
        let scorer = PlacementScorer::load(dir).map_err(|e| err(dir, e))?;
        let device_dir = dir.join(DEVICE_DIR);
        let device = if device_dir.exists() {
            Some(PlacementScorer::load_device(&device_dir).map_err(|e| err(&device_dir, e))?)
        } else {
            None
        };
        Ok(DrlOnline { name: "drl-online", scorer, device, ctx: None, checkpoint: Some(dir.into()) })
    }

    /// The untrained prior (`drl-online-prior`): `static-placement`'s edge targets.
    pub fn prior() -> Self {
        DrlOnline {
            name: "drl-online-prior",
            scorer: PlacementScorer::prior_only(),
            device: None,
            ctx: None,
            checkpoint: None,
        }
    }
}

impl OnlinePolicy for DrlOnline {
    fn name(&self) -> &str {
        self.name
    }

    fn version(&self) -> String {
        match &self.checkpoint {
            Some(p) => format!("{} step {}", p.display(), self.scorer.step),
            None => "prior".into(),
        }
    }

    fn reset(&mut self, net: &Network, initial: &PlacementState, seed: u64) -> Result<(), SolverError> {
        let mut ctx = Context::new(net, initial, seed)?;
        ctx.learned_devices = self.device.is_some();
        self.ctx = Some(ctx);
        Ok(())
    }

    fn decide(
        &mut self,
        _t: usize,
        slot: &Slot,
        state: &PlacementState,
    ) -> Result<SlotDecision, SolverError> {
        let ctx = self.ctx.as_mut().ok_or_else(|| SolverError::Failed {
            solver: self.name.into(),
            reason: "decide called before reset".into(),
        })?;
        let (mut buf, mut rows) = (Vec::new(), Vec::new());
        let (scorer, device) = (&self.scorer, self.device.as_ref());
        ctx.decide(slot, state, |site, obs, c| match (site, device) {
            (Site::Device(_), Some(d)) => d.choose(obs, c.len(), &mut buf, &mut rows),
            _ => scorer.choose(obs, c.len(), &mut buf, &mut rows),
        })
    }
}
