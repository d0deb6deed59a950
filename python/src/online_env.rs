//! The core of `dnnrm/Online-v0` and its vector form: the episode view of MODEL.md §9,
//! one step per slot, for a batch of environments stepped in one call with the GIL
//! released.
//!
//! The action of a step is the edge placement target: one bit per (edge server, model).
//! With `eviction="lazy"` (the default, the rule-based policies' lazy eviction) the
//! target's models are held while they fit (already resident first, then downloading,
//! then new ones by model index) and resident models outside the target stay while they
//! fit (most valuable in the slot's regime first); with `eviction="strict"` each server
//! holds exactly its target, and a target that exceeds the cache is rejected by the
//! episode evaluator (`ConstraintViolation`, rule `storage`). Devices follow the shared
//! device rule of the rule-based policies; the slot's tasks are assigned on the resident
//! placement by the configured assigner (a registered solver, or `drl-online`: the
//! `drl` scheme with `greedy-ls` as a safeguard, as the `drl-online` policy does). The
//! decision is played through the episode evaluator ([`Replay`]), the only judge of
//! `A_ep`; the reward is the slot's contribution to `A_ep` (its scored accuracy sum over
//! the episode's scored tasks), so an episode's return is exactly `A_ep`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dnnrm::model::{Episode, Holdings, PlacementState, Replay, SlotDecision, Store};
use dnnrm::scenario::{Dynamics, DynamicsParams, Scenario, ScenarioParams};
use dnnrm::solver::online::EpisodeSolver;
use dnnrm::solver::{SolveOptions, Solver, SolverSettings};
use dnnrm::solvers::online::common::{assign, device_holds, lazy_hold, regime_value};
use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde::Deserialize;

use crate::api::PyEpisode;
use crate::errors::{chain, dnnrm_err, episode_violation, invalid_action, msg};

self_cell::self_cell!(
    /// An episode and its replay (the replay borrows the episode).
    struct Run {
        owner: Arc<Episode>,
        #[covariant]
        dependent: Replay,
    }
);

/// The configuration of the environments (JSON from Python).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct OnlineConfig {
    /// Scenario parameters (text values, as `dnnrm generate-episode` flags).
    params: BTreeMap<String, String>,
    /// Episode dynamics (text values).
    dynamics: BTreeMap<String, String>,
    /// A registered solver name, or `drl-online`.
    assigner: String,
    /// Checkpoint of a learned assigner.
    checkpoint: Option<PathBuf>,
    /// `lazy` or `strict`.
    eviction: String,
    /// Solve the hindsight optimum of each episode (once, cached) and report it.
    hindsight: bool,
    hindsight_time_limit: Option<f64>,
    /// Padding of the observation and action (at least the episodes' sizes).
    pad_edges: Option<usize>,
    pad_models: Option<usize>,
    pad_services: Option<usize>,
    pad_regimes: Option<usize>,
}

impl Default for OnlineConfig {
    fn default() -> Self {
        OnlineConfig {
            params: BTreeMap::new(),
            dynamics: BTreeMap::new(),
            assigner: "drl-untrained".into(),
            checkpoint: None,
            eviction: "lazy".into(),
            hindsight: false,
            hindsight_time_limit: None,
            pad_edges: None,
            pad_models: None,
            pad_services: None,
            pad_regimes: None,
        }
    }
}

/// Where episodes come from.
enum Source {
    /// Generated with the episode's seed (as `dnnrm generate-episode --seed`).
    Generated(Box<(Scenario, Dynamics)>),
    /// A fixed list; seed `s` plays episode `s % len`.
    Fixed(Vec<Arc<Episode>>),
}

impl Source {
    fn episode(&self, seed: u64) -> Arc<Episode> {
        match self {
            Source::Generated(b) => {
                let (sc, dy) = &**b;
                Arc::new(dnnrm::solvers::online::generate_episode(sc, dy, seed, &format!("episode{seed}")))
            }
            Source::Fixed(eps) => eps[(seed % eps.len() as u64) as usize].clone(),
        }
    }

    /// The hindsight cache key of seed `seed`.
    fn key(&self, seed: u64) -> u64 {
        match self {
            Source::Generated(_) => seed,
            Source::Fixed(eps) => seed % eps.len() as u64,
        }
    }
}

/// How a slot's tasks are assigned: a registered solver on the slot with the
/// resident placement fixed (`dp`, the default, is the per-slot optimum).
struct AssignBy(Box<dyn Solver>);

/// Padded sizes of the observation and action.
#[derive(Debug, Clone, Copy)]
struct Dims {
    edges: usize,
    models: usize,
    services: usize,
    regimes: usize,
}

/// The hindsight optimum of an episode.
#[derive(Debug, Clone)]
struct HindsightInfo {
    objective: f64,
    bound: f64,
    optimal: bool,
}

struct Sub {
    run: Option<Run>,
    /// Seed of the current episode and of the next one (a reset without a seed).
    seed: u64,
    next_seed: u64,
    /// Tasks of the scored slots of the current episode.
    scored_tasks: usize,
    hindsight: Option<HindsightInfo>,
}

/// A batch of `dnnrm/Online-v0` environments.
#[pyclass(module = "dnnrm")]
pub struct OnlineEnvs {
    subs: Vec<Sub>,
    source: Source,
    assign_by: AssignBy,
    strict: bool,
    hindsight: bool,
    hindsight_limit: Option<Duration>,
    cache: Mutex<BTreeMap<u64, HindsightInfo>>,
    dims: Dims,
    autoreset: bool,
    /// Seed step between consecutive episodes of one environment.
    stride: u64,
}

/// The observation arrays of a batch, in the order of [`OBS_KEYS`].
const OBS_KEYS: [&str; 9] = [
    "resident",
    "received",
    "demand",
    "regime",
    "progress",
    "model_accuracy",
    "model_size",
    "model_service",
    "action_mask",
];

fn checked(cfg: &OnlineConfig) -> PyResult<(Scenario, Dynamics)> {
    let mut p = ScenarioParams::default();
    for (k, v) in &cfg.params {
        p.set(k, v).map_err(|e| dnnrm_err(&e))?;
    }
    let mut d = DynamicsParams::default();
    for (k, v) in &cfg.dynamics {
        d.set(k, v).map_err(|e| dnnrm_err(&e))?;
    }
    Ok((p.check().map_err(|e| dnnrm_err(&e))?, d.check().map_err(|e| dnnrm_err(&e))?))
}

/// Rank of a model in a lazy target: resident, then downloading, then absent.
fn rank(store: &Store, k: usize) -> u8 {
    if store.resident.contains(&k) {
        0
    } else if store.downloading.iter().any(|d| d.model == k) {
        1
    } else {
        2
    }
}

impl OnlineEnvs {
    /// The decision of slot `t` for the action bits `act` (one per padded (edge, model)).
    fn decide(
        &self,
        ep: &Episode,
        state: &PlacementState,
        t: usize,
        act: &[i8],
        seed: u64,
    ) -> PyResult<SlotDecision> {
        let net = &ep.network;
        let slot = &ep.slots[t];
        let k_pad = self.dims.models;
        let mut edges = Vec::with_capacity(net.edges.len());
        for (m, e) in net.edges.iter().enumerate() {
            let bits = &act[m * k_pad..(m + 1) * k_pad];
            let mut target: Vec<usize> = (0..net.models.len()).filter(|&k| bits[k] == 1).collect();
            if self.strict {
                edges.push(target);
            } else {
                let store = &state.edges[m];
                target.sort_by_key(|&k| (rank(store, k), k));
                edges.push(lazy_hold(net, store, &target, e.cache_mb, |k| regime_value(net, slot.regime, k)));
            }
        }
        let hold = Holdings { edges, devices: device_holds(net, slot, state) };
        let opts = SolveOptions { seed, ..SolveOptions::default() };
        let solution = assign(self.assign_by.0.as_ref(), net, slot, state, &hold, &opts)
            .map_err(|e| msg(format!("slot {t}: assignment: {}", chain(&e))))?;
        Ok(SlotDecision { hold, solution, downloads: None })
    }

    /// Starts the episode of `seed` in environment `i` (solving its hindsight optimum
    /// when asked, once per episode).
    fn start(&self, sub: &mut Sub, seed: u64) -> PyResult<()> {
        let ep = self.source.episode(seed);
        let d = &self.dims;
        let net = &ep.network;
        if net.edges.len() > d.edges
            || net.models.len() > d.models
            || net.services.len() > d.services
            || net.demand.regimes.len() > d.regimes
        {
            return Err(msg(format!(
                "episode of seed {seed} has {} edge servers, {} models, {} services and {} regimes; \
                 the padding is {}, {}, {}, {}",
                net.edges.len(),
                net.models.len(),
                net.services.len(),
                net.demand.regimes.len(),
                d.edges,
                d.models,
                d.services,
                d.regimes
            )));
        }
        sub.scored_tasks =
            ep.slots.iter().enumerate().filter(|(t, _)| *t >= net.window).map(|(_, s)| s.tasks.len()).sum();
        sub.hindsight = if self.hindsight { Some(self.hindsight_of(&ep, seed)?) } else { None };
        sub.seed = seed;
        sub.next_seed = seed.wrapping_add(self.stride);
        sub.run = Some(Run::new(ep, |ep| Replay::new(ep)));
        Ok(())
    }

    fn hindsight_of(&self, ep: &Episode, seed: u64) -> PyResult<HindsightInfo> {
        let key = self.source.key(seed);
        if let Some(h) = self.cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
            return Ok(h);
        }
        let opts = SolveOptions { seed: 0, time_limit: self.hindsight_limit, threads: 1 };
        let rep = dnnrm::solvers::Hindsight::default().solve_episode(ep, &opts).map_err(|e| dnnrm_err(&e))?;
        let ev = dnnrm::model::evaluate_episode(ep, &rep.decisions)
            .map_err(|v| msg(format!("the hindsight plan breaks a rule: {v}")))?;
        let h = HindsightInfo {
            objective: ev.objective,
            bound: rep.bound.unwrap_or(f64::NAN),
            optimal: rep.status == dnnrm::solver::Status::Optimal,
        };
        if let Ok(mut c) = self.cache.lock() {
            c.insert(key, h.clone());
        }
        Ok(h)
    }

    /// The observation arrays of every environment.
    fn arrays<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let n = self.subs.len();
        let Dims { edges: me, models: ke, services: qe, regimes: re } = self.dims;
        let mut resident = vec![0f32; n * me * ke];
        let mut received = vec![0f32; n * me * ke];
        let mut demand = vec![0f32; n * me * qe];
        let mut regime = vec![0f32; n * re];
        let mut progress = vec![0f32; n];
        let mut accuracy = vec![0f32; n * ke];
        let mut size = vec![0f32; n * me * ke];
        let mut service = vec![0f32; n * ke * qe];
        let mut mask = vec![0i8; n * me * ke];
        for (i, s) in self.subs.iter().enumerate() {
            let Some(run) = &s.run else { continue };
            let ep = run.borrow_owner();
            let replay = run.borrow_dependent();
            let net = &ep.network;
            let t = replay.slot();
            progress[i] = t as f32 / ep.slots.len().max(1) as f32;
            for (k, md) in net.models.iter().enumerate() {
                accuracy[i * ke + k] = md.accuracy as f32;
                if md.service < qe {
                    service[(i * ke + k) * qe + md.service] = 1.0;
                }
            }
            let mut assoc = vec![0usize; net.edges.len()];
            for d in &net.devices {
                if d.edge < assoc.len() {
                    assoc[d.edge] += 1;
                }
            }
            for (m, e) in net.edges.iter().enumerate() {
                let store = &replay.state().edges[m];
                for (k, md) in net.models.iter().enumerate() {
                    let o = (i * me + m) * ke + k;
                    size[o] = if e.cache_mb > 0.0 { (md.size_mb / e.cache_mb) as f32 } else { f32::MAX };
                    mask[o] = i8::from(md.size_mb <= e.cache_mb);
                    if store.resident.contains(&k) {
                        resident[o] = 1.0;
                    }
                    if let Some(dl) = store.downloading.iter().find(|d| d.model == k) {
                        received[o] = (dl.received_mb / md.size_mb) as f32;
                    }
                }
            }
            if let Some(slot) = ep.slots.get(t) {
                if slot.regime < re {
                    regime[i * re + slot.regime] = 1.0;
                }
                for task in &slot.tasks {
                    if task.edge < me && task.service < qe {
                        demand[(i * me + task.edge) * qe + task.service] +=
                            1.0 / assoc[task.edge].max(1) as f32;
                    }
                }
            }
        }
        let d = PyDict::new(py);
        let arrays: [Bound<'py, PyAny>; 9] = [
            PyArray1::from_vec(py, resident).reshape([n, me, ke])?.into_any(),
            PyArray1::from_vec(py, received).reshape([n, me, ke])?.into_any(),
            PyArray1::from_vec(py, demand).reshape([n, me, qe])?.into_any(),
            PyArray1::from_vec(py, regime).reshape([n, re])?.into_any(),
            PyArray1::from_vec(py, progress).reshape([n, 1])?.into_any(),
            PyArray1::from_vec(py, accuracy).reshape([n, ke])?.into_any(),
            PyArray1::from_vec(py, size).reshape([n, me, ke])?.into_any(),
            PyArray1::from_vec(py, service).reshape([n, ke, qe])?.into_any(),
            PyArray1::from_vec(py, mask).reshape([n, me * ke])?.into_any(),
        ];
        for (k, a) in OBS_KEYS.iter().zip(arrays) {
            d.set_item(*k, a)?;
        }
        Ok(d)
    }

    fn hindsight_arrays<'py>(&self, py: Python<'py>, d: &Bound<'py, PyDict>) -> PyResult<()> {
        let h = |f: fn(&HindsightInfo) -> f64| -> Vec<f64> {
            self.subs.iter().map(|s| s.hindsight.as_ref().map_or(f64::NAN, f)).collect()
        };
        d.set_item("hindsight_objective", PyArray1::from_vec(py, h(|x| x.objective)))?;
        d.set_item("hindsight_bound", PyArray1::from_vec(py, h(|x| x.bound)))?;
        d.set_item(
            "hindsight_optimal",
            PyArray1::from_vec(
                py,
                self.subs.iter().map(|s| s.hindsight.as_ref().is_some_and(|x| x.optimal)).collect(),
            ),
        )?;
        Ok(())
    }
}

/// Per-environment results of one step.
#[derive(Default, Clone)]
struct StepOut {
    reward: f64,
    terminated: bool,
    slot_objective: f64,
    episode_objective: f64,
    seed: u64,
}

#[pymethods]
impl OnlineEnvs {
    /// `n` environments configured by `config` (JSON, see `dnnrm.envs.OnlineEnv`),
    /// playing `episodes` when given (seed `s` plays `episodes[s % len]`), else episodes
    /// generated with their seed. `autoreset`: a finished episode is followed at once by
    /// the next one (the vector form).
    #[new]
    #[pyo3(signature = (n, config = "{}", episodes = None, autoreset = true))]
    fn new(n: usize, config: &str, episodes: Option<Vec<PyEpisode>>, autoreset: bool) -> PyResult<Self> {
        if n == 0 {
            return Err(msg("the number of environments must be at least 1"));
        }
        let cfg: OnlineConfig =
            serde_json::from_str(config).map_err(|e| msg(format!("Online-v0 config: {e}")))?;
        let strict = match cfg.eviction.as_str() {
            "lazy" => false,
            "strict" => true,
            e => return Err(msg(format!("eviction must be `lazy` or `strict`, got `{e}`"))),
        };
        let (source, dims) = match episodes {
            Some(eps) if !eps.is_empty() => {
                if !cfg.params.is_empty() || !cfg.dynamics.is_empty() {
                    return Err(msg("give either episodes or scenario/dynamics parameters, not both"));
                }
                let eps: Vec<Arc<Episode>> = eps.into_iter().map(|e| e.inner).collect();
                let max = |f: fn(&Episode) -> usize| eps.iter().map(|e| f(e)).max().unwrap_or(0);
                let dims = Dims {
                    edges: max(|e| e.network.edges.len()),
                    models: max(|e| e.network.models.len()),
                    services: max(|e| e.network.services.len()),
                    regimes: max(|e| e.network.demand.regimes.len()),
                };
                (Source::Fixed(eps), dims)
            }
            Some(_) => return Err(msg("episodes: the list is empty")),
            None => {
                let (sc, dy) = checked(&cfg)?;
                let dims = Dims {
                    edges: sc.params.n_edges,
                    models: sc.zoo.models.len(),
                    services: dnnrm::scenario::SERVICES.len(),
                    regimes: dy.mixes.len(),
                };
                (Source::Generated(Box::new((sc, dy))), dims)
            }
        };
        let pad = |name: &str, given: Option<usize>, need: usize| -> PyResult<usize> {
            match given {
                Some(p) if p < need => Err(msg(format!("{name} = {p} is below the episodes' {need}"))),
                Some(p) => Ok(p),
                None => Ok(need),
            }
        };
        let dims = Dims {
            edges: pad("pad_edges", cfg.pad_edges, dims.edges)?,
            models: pad("pad_models", cfg.pad_models, dims.models)?,
            services: pad("pad_services", cfg.pad_services, dims.services)?,
            regimes: pad("pad_regimes", cfg.pad_regimes, dims.regimes)?,
        };
        let settings = SolverSettings { checkpoint: cfg.checkpoint.clone(), ..Default::default() };
        let assign_by =
            AssignBy(dnnrm::solvers::create(&cfg.assigner, &settings).map_err(|e| dnnrm_err(&e))?);
        let hindsight_limit = match cfg.hindsight_time_limit {
            Some(t) if !(t.is_finite() && t > 0.0) => {
                return Err(msg(format!(
                    "hindsight_time_limit must be a positive number of seconds, got {t}"
                )))
            }
            t => t.map(Duration::from_secs_f64),
        };
        let subs = (0..n)
            .map(|i| Sub { run: None, seed: i as u64, next_seed: i as u64, scored_tasks: 0, hindsight: None })
            .collect();
        Ok(OnlineEnvs {
            subs,
            source,
            assign_by,
            strict,
            hindsight: cfg.hindsight,
            hindsight_limit,
            cache: Mutex::new(BTreeMap::new()),
            dims,
            autoreset,
            stride: n as u64,
        })
    }

    #[getter]
    fn num_envs(&self) -> usize {
        self.subs.len()
    }

    /// Padded sizes: `(edges, models, services, regimes)`.
    #[getter]
    fn dims(&self) -> (usize, usize, usize, usize) {
        (self.dims.edges, self.dims.models, self.dims.services, self.dims.regimes)
    }

    /// Sets the seed step between consecutive episodes of one environment (default: the
    /// number of environments, so the environments of a batch never share an episode).
    fn set_stride(&mut self, stride: u64) {
        self.stride = stride.max(1);
    }

    /// Resets the environments `indices` (default: all), environment `indices[j]` with
    /// the episode of `seeds[j]` when given, else with its next episode. Returns the
    /// observations (a dict of arrays) and an info dict (`seed`, and the hindsight
    /// optimum when configured).
    #[pyo3(signature = (seeds = None, indices = None))]
    fn reset<'py>(
        &mut self,
        py: Python<'py>,
        seeds: Option<Vec<Option<u64>>>,
        indices: Option<Vec<usize>>,
    ) -> PyResult<(Bound<'py, PyDict>, Bound<'py, PyDict>)> {
        let n = self.subs.len();
        let indices = indices.unwrap_or_else(|| (0..n).collect());
        let seeds = seeds.unwrap_or_else(|| vec![None; indices.len()]);
        if seeds.len() != indices.len() {
            return Err(msg(format!("{} seeds given for {} environments", seeds.len(), indices.len())));
        }
        if let Some(&i) = indices.iter().find(|&&i| i >= n) {
            return Err(msg(format!("environment index {i} out of range (there are {n})")));
        }
        let mut subs = std::mem::take(&mut self.subs);
        let this = &*self;
        let res = py.allow_threads(|| -> PyResult<()> {
            for (&i, seed) in indices.iter().zip(&seeds) {
                let s = &mut subs[i];
                let seed = seed.unwrap_or(s.next_seed);
                this.start(s, seed)?;
            }
            Ok(())
        });
        self.subs = subs;
        res?;
        let obs = self.arrays(py)?;
        let info = PyDict::new(py);
        info.set_item("seed", PyArray1::from_vec(py, self.subs.iter().map(|s| s.seed).collect()))?;
        if self.hindsight {
            self.hindsight_arrays(py, &info)?;
        }
        Ok((obs, info))
    }

    /// Steps every environment with its placement target `actions` (`(n, edges x
    /// models)` int8 of 0/1, padded positions ignored when 0). Returns observations,
    /// rewards (float64), terminated, truncated (bool) and an info dict of arrays:
    /// `slot_objective` (`A(t)`), `episode_objective` (`A_ep` where an episode ended,
    /// else NaN), `seed` (of the episode the step played) and, when configured, the
    /// hindsight optimum of that episode. With `autoreset`, a finished environment's
    /// observation is the first one of its next episode.
    #[allow(clippy::type_complexity)]
    fn step<'py>(
        &mut self,
        py: Python<'py>,
        actions: PyReadonlyArray2<'py, i8>,
    ) -> PyResult<(
        Bound<'py, PyDict>,
        Bound<'py, PyAny>,
        Bound<'py, PyAny>,
        Bound<'py, PyAny>,
        Bound<'py, PyDict>,
    )> {
        let n = self.subs.len();
        let width = self.dims.edges * self.dims.models;
        let shape = actions.shape().to_vec();
        if shape != [n, width] {
            return Err(invalid_action(format!(
                "actions have shape {shape:?}, expected [{n}, {width}] (environments, edge servers x models)"
            )));
        }
        let acts =
            actions.as_slice().map_err(|_| invalid_action("actions must be a contiguous int8 array"))?;
        for (i, s) in self.subs.iter().enumerate() {
            let row = &acts[i * width..(i + 1) * width];
            if let Some(j) = row.iter().position(|&b| b != 0 && b != 1) {
                return Err(invalid_action(format!(
                    "environment {i}: action[{j}] = {} (edge server {}, model {}) is not 0 or 1",
                    row[j],
                    j / self.dims.models,
                    j % self.dims.models
                )));
            }
            let Some(run) = &s.run else {
                return Err(msg(format!("environment {i}: step before reset")));
            };
            if run.borrow_dependent().done() {
                return Err(msg(format!("environment {i}: step after the episode ended (reset it)")));
            }
            let net = &run.borrow_owner().network;
            for (j, _) in row.iter().enumerate().filter(|(_, &b)| b == 1) {
                let (m, k) = (j / self.dims.models, j % self.dims.models);
                if m >= net.edges.len() || k >= net.models.len() {
                    return Err(invalid_action(format!(
                        "environment {i}: action[{j}] targets edge server {m}, model {k}, which the episode \
                         does not have (padding must be 0)"
                    )));
                }
            }
        }
        let mut subs = std::mem::take(&mut self.subs);
        let this = &*self;
        let res = py.allow_threads(|| -> PyResult<Vec<StepOut>> {
            let mut outs = vec![StepOut::default(); n];
            for (i, s) in subs.iter_mut().enumerate() {
                let Some(run) = s.run.as_mut() else { continue };
                let t = run.borrow_dependent().slot();
                let d = this
                    .decide(
                        run.borrow_owner(),
                        run.borrow_dependent().state(),
                        t,
                        &acts[i * width..(i + 1) * width],
                        s.seed,
                    )
                    .map_err(|e| Python::with_gil(|py| msg(format!("environment {i}: {}", e.value(py)))))?;
                let out = run.with_dependent_mut(|_, r| r.step(&d)).map_err(|v| {
                    Python::with_gil(|py| {
                        let e = episode_violation(&v);
                        let text = format!("environment {i}: {}", e.value(py));
                        crate::errors::violation_err(text, v.rule())
                    })
                })?;
                let o = &mut outs[i];
                o.seed = s.seed;
                o.slot_objective = out.objective();
                o.episode_objective = f64::NAN;
                if out.scored && s.scored_tasks > 0 {
                    o.reward = out.accuracy_sum / s.scored_tasks as f64;
                }
                if run.borrow_dependent().done() {
                    o.terminated = true;
                    let ev = run.borrow_dependent().clone().finish().map_err(|v| episode_violation(&v))?;
                    o.episode_objective = ev.objective;
                    if this.autoreset {
                        let next = s.next_seed;
                        this.start(s, next)?;
                    }
                }
            }
            Ok(outs)
        });
        // Hindsight of the episodes the step played (before an autoreset replaced them).
        let played: Vec<Option<HindsightInfo>> = match &res {
            Ok(outs) if self.hindsight => outs
                .iter()
                .map(|o| self.cache.lock().ok().and_then(|c| c.get(&self.source.key(o.seed)).cloned()))
                .collect(),
            _ => Vec::new(),
        };
        self.subs = subs;
        let outs = res?;
        let obs = self.arrays(py)?;
        let info = PyDict::new(py);
        info.set_item(
            "slot_objective",
            PyArray1::from_vec(py, outs.iter().map(|o| o.slot_objective).collect()),
        )?;
        info.set_item(
            "episode_objective",
            PyArray1::from_vec(py, outs.iter().map(|o| o.episode_objective).collect()),
        )?;
        info.set_item("seed", PyArray1::from_vec(py, outs.iter().map(|o| o.seed).collect()))?;
        if self.hindsight {
            let f = |g: fn(&HindsightInfo) -> f64| -> Vec<f64> {
                played.iter().map(|h| h.as_ref().map_or(f64::NAN, g)).collect()
            };
            info.set_item("hindsight_objective", PyArray1::from_vec(py, f(|x| x.objective)))?;
            info.set_item("hindsight_bound", PyArray1::from_vec(py, f(|x| x.bound)))?;
            info.set_item(
                "hindsight_optimal",
                PyArray1::from_vec(
                    py,
                    played.iter().map(|h| h.as_ref().is_some_and(|x| x.optimal)).collect(),
                ),
            )?;
        }
        Ok((
            obs,
            PyArray1::from_vec(py, outs.iter().map(|o| o.reward).collect()).into_any(),
            PyArray1::from_vec(py, outs.iter().map(|o| o.terminated).collect()).into_any(),
            PyArray1::from_vec(py, vec![false; n]).into_any(),
            info,
        ))
    }
}
