//! The core of `dnnrm/Slot-v0` and its vector form: a batch of the `drl` learner's
//! environment ([`SequentialEnv`], the sequential view of MODEL.md §8), stepped in one
//! call with the GIL released. Features, mask and reward are exactly the learner's.
//!
//! Observation of one environment: the learner's block of `MAX_CANDIDATES` rows, split
//! into the feature rows (`MAX_CANDIDATES x FEATURES`, zero padding) and the mask (1 for
//! the candidates the step offers). Action: a candidate index whose mask is 1; any other
//! index raises `InvalidAction` before any environment of the batch moves.
//!
//! Seeding: `reset` with seed `s` starts the instance stream of training run `s`
//! (instances from [`dnnrm::scenario::seeds::training`]`(s)`, sizes drawn by a generator
//! seeded with `s`). An episode is one edge server; a reset without a seed after a
//! finished episode continues the stream (next server, or next instance).

use std::collections::BTreeMap;

use dnnrm::rl::train::Env;
use dnnrm::rl::{seeded_rng, Rng};
use dnnrm::scenario::ScenarioParams;
use dnnrm::solvers::drl::construct::{Variant, FEATURES, MAX_CANDIDATES};
use dnnrm::solvers::drl::env::{Family, SequentialEnv};
use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray1};
use pyo3::prelude::*;
use rand::Rng as _;
use serde::Deserialize;

use crate::errors::{dnnrm_err, invalid_action, msg};

/// The configuration of the environments (JSON from Python): the learner's instance
/// family ([`Family`]: base scenario parameters, ranges of N and M, device-class
/// shares), the variant and the learner's REINFORCE baseline (the last reward of an
/// episode carries minus the reference policy's return on the same server).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct SlotConfig {
    /// Base scenario parameters (text values, as `dnnrm generate` flags).
    params: BTreeMap<String, String>,
    n_devices: (usize, usize),
    n_edges: (usize, usize),
    share_mcu: (f64, f64),
    share_gpu_node: (f64, f64),
    variant: Variant,
    reference_baseline: bool,
}

impl Default for SlotConfig {
    fn default() -> Self {
        let f = Family::default();
        SlotConfig {
            params: BTreeMap::new(),
            n_devices: f.n_devices,
            n_edges: f.n_edges,
            share_mcu: f.share_mcu,
            share_gpu_node: f.share_gpu_node,
            variant: Variant::Full,
            reference_baseline: false,
        }
    }
}

impl SlotConfig {
    /// The checked family.
    fn family(&self) -> PyResult<Family> {
        let mut base = ScenarioParams::default();
        for (k, v) in &self.params {
            if ["n_devices", "n_edges", "share_mcu", "share_gpu_node"].contains(&k.as_str()) {
                return Err(msg(format!(
                    "parameter `{k}` is drawn per instance from its range: give `{k}=(lo, hi)` instead"
                )));
            }
            base.set(k, v).map_err(|e| dnnrm_err(&e))?;
        }
        let f = Family {
            base,
            n_devices: self.n_devices,
            n_edges: self.n_edges,
            share_mcu: self.share_mcu,
            share_gpu_node: self.share_gpu_node,
        };
        f.check().map_err(|e| dnnrm_err(&e))?;
        Ok(f)
    }
}

type Arrays<'py> = (Bound<'py, PyAny>, Bound<'py, PyAny>);

struct Sub {
    env: Option<SequentialEnv>,
    rng: Rng,
    /// The learner's observation block of the current state.
    obs: Vec<f32>,
    /// An episode is under way (a reset without a seed must then start a new stream).
    running: bool,
}

/// Column of the mask in a row of the learner's observation block.
const MASK: usize = FEATURES;
const ROW: usize = FEATURES + 1;

impl Sub {
    fn offered(&self, a: i64) -> bool {
        a >= 0 && (a as usize) < MAX_CANDIDATES && self.obs[a as usize * ROW + MASK] > 0.5
    }
}

/// A batch of `dnnrm/Slot-v0` environments.
#[pyclass(module = "dnnrm")]
pub struct SlotEnvs {
    subs: Vec<Sub>,
    family: Family,
    variant: Variant,
    reference_baseline: bool,
    autoreset: bool,
}

impl SlotEnvs {
    fn seed_sub(&self, seed: u64) -> PyResult<Sub> {
        let env = SequentialEnv::new(self.family.clone(), self.variant, seed)
            .map_err(|e| dnnrm_err(&e))?
            .with_reference_baseline(self.reference_baseline);
        Ok(Sub { env: Some(env), rng: seeded_rng(seed), obs: Vec::new(), running: false })
    }

    fn arrays<'py>(&self, py: Python<'py>) -> PyResult<Arrays<'py>> {
        let n = self.subs.len();
        let mut feats = vec![0f32; n * MAX_CANDIDATES * FEATURES];
        let mut mask = vec![0i8; n * MAX_CANDIDATES];
        for (i, s) in self.subs.iter().enumerate() {
            for (r, row) in s.obs.chunks_exact(ROW).take(MAX_CANDIDATES).enumerate() {
                let o = (i * MAX_CANDIDATES + r) * FEATURES;
                feats[o..o + FEATURES].copy_from_slice(&row[..FEATURES]);
                mask[i * MAX_CANDIDATES + r] = i8::from(row[MASK] > 0.5);
            }
        }
        let feats = PyArray1::from_vec(py, feats).reshape([n, MAX_CANDIDATES, FEATURES])?;
        let mask = PyArray1::from_vec(py, mask).reshape([n, MAX_CANDIDATES])?;
        Ok((feats.into_any(), mask.into_any()))
    }
}

#[pymethods]
impl SlotEnvs {
    /// `n` environments configured by `config` (JSON: `family`, `variant`,
    /// `reference_baseline`); `autoreset`: a finished episode is followed at once by the
    /// next one of the stream (the vector form), else the terminal observation is kept.
    #[new]
    #[pyo3(signature = (n, config = "{}", autoreset = true))]
    fn new(n: usize, config: &str, autoreset: bool) -> PyResult<Self> {
        if n == 0 {
            return Err(msg("the number of environments must be at least 1"));
        }
        let cfg: SlotConfig =
            serde_json::from_str(config).map_err(|e| msg(format!("Slot-v0 config: {e}")))?;
        let family = cfg.family()?;
        let subs = (0..n)
            .map(|i| Sub { env: None, rng: seeded_rng(i as u64), obs: Vec::new(), running: false })
            .collect();
        Ok(SlotEnvs {
            subs,
            family,
            variant: cfg.variant,
            reference_baseline: cfg.reference_baseline,
            autoreset,
        })
    }

    /// Candidate rows per observation.
    #[classattr]
    const MAX_CANDIDATES: usize = MAX_CANDIDATES;
    /// Values per candidate row.
    #[classattr]
    const FEATURES: usize = FEATURES;

    #[getter]
    fn num_envs(&self) -> usize {
        self.subs.len()
    }

    /// Resets the environments `indices` (default: all), environment `indices[j]` with
    /// `seeds[j]` when given (else it continues its stream, or draws a seed from its
    /// generator when an episode is under way or it was never seeded). Returns the
    /// observations of every environment: features `(n, 32, 17)` float32 and mask
    /// `(n, 32)` int8.
    #[pyo3(signature = (seeds = None, indices = None))]
    fn reset<'py>(
        &mut self,
        py: Python<'py>,
        seeds: Option<Vec<Option<u64>>>,
        indices: Option<Vec<usize>>,
    ) -> PyResult<Arrays<'py>> {
        let n = self.subs.len();
        let indices = indices.unwrap_or_else(|| (0..n).collect());
        let seeds = seeds.unwrap_or_else(|| vec![None; indices.len()]);
        if seeds.len() != indices.len() {
            return Err(msg(format!("{} seeds given for {} environments", seeds.len(), indices.len())));
        }
        for (&i, seed) in indices.iter().zip(&seeds) {
            if i >= n {
                return Err(msg(format!("environment index {i} out of range (there are {n})")));
            }
            let seed = match seed {
                Some(s) => Some(*s),
                None if self.subs[i].env.is_none() || self.subs[i].running => {
                    Some(self.subs[i].rng.gen::<u64>() >> 1)
                }
                None => None,
            };
            if let Some(s) = seed {
                self.subs[i] = self.seed_sub(s)?;
            }
        }
        let subs = &mut self.subs;
        py.allow_threads(|| {
            for &i in &indices {
                let s = &mut subs[i];
                if let Some(env) = s.env.as_mut() {
                    s.obs = env.reset(&mut s.rng);
                    s.running = true;
                }
            }
        });
        self.arrays(py)
    }

    /// Steps every environment with `actions` (int64, one candidate index each). Returns
    /// features, mask, rewards (float32), terminated and truncated (bool). With
    /// `autoreset`, a terminated environment's observation is the first one of its next
    /// episode. An action the step does not offer raises `InvalidAction` before any
    /// environment moves.
    #[allow(clippy::type_complexity)]
    fn step<'py>(
        &mut self,
        py: Python<'py>,
        actions: PyReadonlyArray1<'py, i64>,
    ) -> PyResult<(
        Bound<'py, PyAny>,
        Bound<'py, PyAny>,
        Bound<'py, PyAny>,
        Bound<'py, PyAny>,
        Bound<'py, PyAny>,
    )> {
        let actions = actions.as_slice()?;
        let n = self.subs.len();
        if actions.len() != n {
            return Err(invalid_action(format!("{} actions given for {n} environments", actions.len())));
        }
        for (i, (s, &a)) in self.subs.iter().zip(actions).enumerate() {
            if s.env.is_none() || !s.running {
                return Err(msg(format!("environment {i}: step before reset (or after the episode ended)")));
            }
            if !s.offered(a) {
                let offered: Vec<usize> = (0..MAX_CANDIDATES).filter(|&c| s.offered(c as i64)).collect();
                return Err(invalid_action(format!(
                    "environment {i}: action {a} is not offered (mask 0); offered candidates: {offered:?}"
                )));
            }
        }
        let autoreset = self.autoreset;
        let subs = &mut self.subs;
        let (rewards, terminated) = py.allow_threads(|| -> PyResult<(Vec<f32>, Vec<bool>)> {
            let mut rewards = vec![0f32; n];
            let mut terminated = vec![false; n];
            for (i, s) in subs.iter_mut().enumerate() {
                let Some(env) = s.env.as_mut() else { continue };
                let step = env
                    .step(&(actions[i] as usize), &mut s.rng)
                    .map_err(|e| msg(format!("environment {i}: {}", crate::errors::chain(&e))))?;
                rewards[i] = step.reward;
                terminated[i] = step.terminated;
                if step.terminated && autoreset {
                    s.obs = env.reset(&mut s.rng);
                } else {
                    s.running = !step.terminated;
                    s.obs = step.obs;
                }
            }
            Ok((rewards, terminated))
        })?;
        let (feats, mask) = self.arrays(py)?;
        let truncated = vec![false; n];
        Ok((
            feats,
            mask,
            PyArray1::from_vec(py, rewards).into_any(),
            PyArray1::from_vec(py, terminated).into_any(),
            PyArray1::from_vec(py, truncated).into_any(),
        ))
    }
}
