//! The environment of the proposed scheme: the sequential view of MODEL.md §8 (see
//! [`super::construct`]) as a discrete-action [`Env`] of the shared training loop.
//!
//! Instances are streamed from a scenario family whose number of devices and edge
//! servers are drawn uniformly from ranges (default N in [10, 200], M in [2, 8], the
//! rest at the defaults), with seeds counted up through the training run's range of
//! [`crate::scenario::seeds::training`]. An episode is one edge server's decisions: edge servers share no
//! resource, so its end is a true terminal state. The reward of a task step is the
//! accuracy it earns minus the accuracy of the task's best local option (cache steps
//! earn 0), so an instance's return is `N * A` minus a constant of the instance: the
//! optimal policies are those of `N * A`, and the values to learn stay small.

use std::sync::Arc;

use rand::Rng as _;
use serde::{Deserialize, Serialize};

use super::construct::{reference_choice, Construction, Variant, FEATURES, MAX_CANDIDATES};
use crate::model::{enumerate_options, Instance, TaskOptions};
use crate::rl::train::{Discrete, Env, EnvError, Step};
use crate::rl::Rng;
use crate::scenario::{generate, seeds, ParamError, Scenario, ScenarioParams};

/// Observation length: `MAX_CANDIDATES` rows of `FEATURES` values and a mask.
pub const OBS_DIM: usize = MAX_CANDIDATES * (FEATURES + 1);

/// The family of training instances. Every field has a default; the class-share ranges
/// default to `(0, 0)` (a one-class fleet, as the committed policies were trained), and
/// only a non-empty range draws a share, so the default family's instance stream is
/// unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Family {
    /// Parameters other than N, M and the class shares.
    pub base: ScenarioParams,
    /// Inclusive range of the number of devices.
    pub n_devices: (usize, usize),
    /// Inclusive range of the number of edge servers.
    pub n_edges: (usize, usize),
    /// Range of the share of `mcu` devices (uniform per instance).
    pub share_mcu: (f64, f64),
    /// Range of the share of `gpu-node` devices (uniform per instance, capped so the
    /// two shares sum to at most 1).
    pub share_gpu_node: (f64, f64),
}

impl Default for Family {
    fn default() -> Self {
        Family {
            base: ScenarioParams::default(),
            n_devices: (10, 200),
            n_edges: (2, 8),
            share_mcu: (0.0, 0.0),
            share_gpu_node: (0.0, 0.0),
        }
    }
}

impl Family {
    /// The scenario with `n` devices, `m` edge servers and the given class shares,
    /// validated.
    pub fn scenario(&self, n: usize, m: usize, shares: (f64, f64)) -> Result<Scenario, ParamError> {
        let (share_mcu, share_gpu_node) = shares;
        ScenarioParams { n_devices: n, n_edges: m, share_mcu, share_gpu_node, ..self.base.clone() }.check()
    }

    /// Draws the class shares of one instance (no draw for an empty range).
    fn draw_shares(&self, rng: &mut Rng) -> (f64, f64) {
        let mut draw = |(lo, hi): (f64, f64)| if hi > lo { rng.gen_range(lo..=hi) } else { lo };
        let mcu = draw(self.share_mcu);
        let gpu = draw(self.share_gpu_node).min(1.0 - mcu).max(0.0);
        (mcu, gpu)
    }

    /// Validates the ranges and the base parameters once, at the extremes of the size
    /// ranges (the largest instances are the ones the size limits bind).
    pub fn check(&self) -> Result<(), ParamError> {
        let bad = |name: &str, r: (usize, usize)| ParamError::Invalid {
            name: name.to_string(),
            reason: format!("range {}..={} must be non-empty and start at 1 or more", r.0, r.1),
        };
        if self.n_devices.0 == 0 || self.n_devices.0 > self.n_devices.1 {
            return Err(bad("n_devices", self.n_devices));
        }
        if self.n_edges.0 == 0 || self.n_edges.0 > self.n_edges.1 {
            return Err(bad("n_edges", self.n_edges));
        }
        for (name, (lo, hi)) in [("share_mcu", self.share_mcu), ("share_gpu_node", self.share_gpu_node)] {
            if !(0.0..=1.0).contains(&lo) || !(0.0..=1.0).contains(&hi) || lo > hi {
                return Err(ParamError::Invalid {
                    name: name.to_string(),
                    reason: format!("range {lo}..={hi} must lie in [0, 1] and be non-empty"),
                });
            }
        }
        let low = (self.share_mcu.0, self.share_gpu_node.0.min(1.0 - self.share_mcu.0));
        self.scenario(self.n_devices.0, self.n_edges.0, low)?;
        self.scenario(self.n_devices.1, self.n_edges.1, low).map(|_| ())
    }
}

type Built = Construction<Arc<Instance>, Arc<Vec<TaskOptions>>>;

/// The sequential environment.
pub struct SequentialEnv {
    family: Family,
    variant: Variant,
    next_seed: u64,
    current: Option<Built>,
    edge: usize,
    /// Subtract the reference policy's return on the same edge server at the episode's
    /// last step (a baseline: the return becomes the gain over the greedy rules).
    reference_baseline: bool,
    baseline: f64,
}

/// Return of the reference policy from the current state to the end of the current
/// edge server (accuracies above each task's best local one).
fn reference_return(c: &Built) -> f64 {
    let mut sim = c.clone();
    let edge = sim.edge();
    let mut ret = 0.0;
    while !sim.done() && sim.edge() == edge {
        let b = sim.baseline();
        let i = reference_choice(sim.step());
        ret += sim.apply(i) - b;
    }
    ret
}

impl SequentialEnv {
    /// The environment of training run `run` (its seed picks the instance range).
    pub fn new(family: Family, variant: Variant, run: u64) -> Result<Self, ParamError> {
        family.check()?;
        Ok(SequentialEnv {
            family,
            variant,
            next_seed: seeds::training(run).start,
            current: None,
            edge: 0,
            reference_baseline: false,
            baseline: 0.0,
        })
    }

    /// Makes the last reward of each episode carry minus the reference policy's return
    /// on the same edge server, so an episode's return is its gain over the greedy rules.
    pub fn with_reference_baseline(mut self, on: bool) -> Self {
        self.reference_baseline = on;
        self
    }

    fn new_instance(&mut self, rng: &mut Rng) {
        let n = rng.gen_range(self.family.n_devices.0..=self.family.n_devices.1);
        let m = rng.gen_range(self.family.n_edges.0..=self.family.n_edges.1);
        let shares = self.family.draw_shares(rng);
        let seed = self.next_seed;
        self.next_seed += 1;
        let inst = match self.family.scenario(n, m, shares) {
            Ok(sc) => generate(&sc, seed, &format!("train-{seed}")),
            // `check` validated the size extremes (every limit is monotone in N and M)
            // and the shares are drawn inside validated ranges summing to at most 1:
            // a failure here is a bug, not bad input.
            Err(e) => unreachable!("validated family failed: {e}"),
        };
        let opts = Arc::new(enumerate_options(&inst));
        let c = Construction::new(Arc::new(inst), opts, self.variant);
        self.edge = c.edge();
        self.current = Some(c);
    }

    fn observe(&self) -> Vec<f32> {
        let mut obs = vec![0f32; OBS_DIM];
        if let Some(c) = &self.current {
            encode(c.step(), &mut obs);
        }
        obs
    }
}

/// Writes a step's candidates into an observation block (features, then the mask).
pub fn encode(step: &super::construct::Step, obs: &mut [f32]) {
    obs.fill(0.0);
    for (i, row) in step.features.chunks_exact(FEATURES).take(MAX_CANDIDATES).enumerate() {
        let o = &mut obs[i * (FEATURES + 1)..(i + 1) * (FEATURES + 1)];
        o[..FEATURES].copy_from_slice(row);
        o[FEATURES] = 1.0;
    }
}

impl Env for SequentialEnv {
    type Action = Discrete;

    fn obs_dim(&self) -> usize {
        OBS_DIM
    }

    fn reset(&mut self, rng: &mut Rng) -> Vec<f32> {
        if self.current.as_ref().is_none_or(|c| c.done()) {
            self.new_instance(rng);
            while self.current.as_ref().is_some_and(|c| c.done()) {
                self.new_instance(rng); // an instance with nothing to decide
            }
        }
        if let Some(c) = &self.current {
            self.edge = c.edge();
            self.baseline = if self.reference_baseline { reference_return(c) } else { 0.0 };
        }
        self.observe()
    }

    fn step(&mut self, action: &Discrete, _rng: &mut Rng) -> Result<Step, EnvError> {
        let Some(c) = self.current.as_mut() else {
            return Err(EnvError::Other("step before reset".into()));
        };
        let n = c.step().actions.len();
        if *action >= n.max(1) {
            return Err(EnvError::Other(format!("candidate {action} chosen among {n}").into()));
        }
        let baseline = c.baseline();
        let mut reward = c.apply(*action) - baseline;
        let terminated = c.done() || c.edge() != self.edge;
        if terminated {
            reward -= self.baseline;
        }
        let reward = reward as f32;
        let obs = if terminated { vec![0f32; OBS_DIM] } else { self.observe() };
        Ok(Step { obs, reward, terminated, truncated: false })
    }
}
