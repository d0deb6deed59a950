//! Double DQN over candidate sets (an alternative learner of the proposed scheme `drl`;
//! its default is [`crate::rl::set_pg`]).
//!
//! A state is a set of at most `SLOTS` candidates, each a feature row of width
//! `FEAT`; one shared network `Q(row)` scores every candidate, so the same network
//! serves any number of tasks, servers and models. The observation handed to the
//! training loop is the flattened `[SLOTS x (FEAT + 1)]` block of [`crate::rl::scorer`];
//! an action is the index of one valid candidate.
//!
//! Per update, on a replay batch `(s, a, r, s', d)`:
//! 1. `a* = argmax_{valid a'} Q(s', a')` with the online network (double DQN);
//! 2. `y = r + gamma (1 - d) Q_target(s', a*)` (0 when `s'` has no valid candidate);
//! 3. minimise `mean((Q(s, a) - y)^2)` with Adam, global-norm gradient clipping;
//! 4. Polyak-average the target network (dfdx `ema`, decay `1 - tau`).
//!
//! Exploration is epsilon-greedy with a linear decay over the exploration steps.

use std::path::Path;

use dfdx::optim::Adam;
use dfdx::prelude::*;
use rand::Rng as _;
use serde::{Deserialize, Serialize};

use crate::rl::checkpoint::CheckpointError;
use crate::rl::nets::{flat_params, polyak_update, Dev};
use crate::rl::optim::clipped_step;
use crate::rl::replay::{Batch, ReplayBuffer};
use crate::rl::scorer::{
    backend, init_scorer, rows, save_scorer, valid_count, FastScorer, ScoreNet, ScorerError,
};
use crate::rl::train::{Agent, Discrete, Transition, UpdateStats};
use crate::rl::{RlError, Rng};

/// Hyperparameters of the set DQN. Every field has a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SetDqnConfig {
    /// Adam learning rate. Default 5e-4.
    pub lr: f64,
    /// Discount factor. Default 1.0: an episode is one edge server's decisions and its
    /// return, the sum of accuracies, is the quantity to maximise.
    pub gamma: f32,
    /// Polyak coefficient of the target network. Default 0.01.
    pub tau: f64,
    /// Replay batch size. Default 64.
    pub batch_size: usize,
    /// Replay capacity (transitions). Default 50 000.
    pub buffer_capacity: usize,
    /// Initial exploration rate. Default 1.0.
    pub eps_start: f64,
    /// Final exploration rate. Default 0.02.
    pub eps_end: f64,
    /// Agent steps over which epsilon decays linearly. Default 20 000.
    pub eps_decay_steps: u64,
    /// Global gradient-norm clip. Default 10.
    pub grad_clip_norm: f32,
    /// Seed of the network initialisation. Default 0.
    pub seed: u64,
    /// Feature column holding a fixed prior score added to the network's output:
    /// `Q(row) = row[prior] + net(row)` (residual Q-learning). Default none.
    pub prior_column: Option<usize>,
}

impl Default for SetDqnConfig {
    fn default() -> Self {
        Self {
            lr: 5e-4,
            gamma: 1.0,
            tau: 0.01,
            batch_size: 64,
            buffer_capacity: 50_000,
            eps_start: 1.0,
            eps_end: 0.02,
            eps_decay_steps: 20_000,
            grad_clip_norm: 10.0,
            seed: 0,
            prior_column: None,
        }
    }
}

impl SetDqnConfig {
    /// Validates every field once.
    pub fn check(&self) -> Result<(), ScorerError> {
        let bad = |f: &str, v: String| {
            Err(ScorerError::Config { learner: "set-dqn", reason: format!("{f} = {v} is out of range") })
        };
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad("lr", self.lr.to_string());
        }
        if !(0.0..=1.0).contains(&self.gamma) {
            return bad("gamma", self.gamma.to_string());
        }
        if !(self.tau > 0.0 && self.tau <= 1.0) {
            return bad("tau", self.tau.to_string());
        }
        if self.batch_size == 0 || self.buffer_capacity < self.batch_size {
            return bad(
                "batch_size/buffer_capacity",
                format!("{}/{}", self.batch_size, self.buffer_capacity),
            );
        }
        if !(0.0..=1.0).contains(&self.eps_start) || !(0.0..=1.0).contains(&self.eps_end) {
            return bad("eps_start/eps_end", format!("{}/{}", self.eps_start, self.eps_end));
        }
        if !(self.grad_clip_norm.is_finite() && self.grad_clip_norm > 0.0) {
            return bad("grad_clip_norm", self.grad_clip_norm.to_string());
        }

        Ok(())
    }
}

/// The set DQN agent, generic over the feature width, slot count and hidden width.
pub struct SetDqn<const FEAT: usize, const SLOTS: usize, const HIDDEN: usize> {
    cfg: SetDqnConfig,
    dev: Dev,
    net: ScoreNet<FEAT, HIDDEN>,
    target: ScoreNet<FEAT, HIDDEN>,
    opt: Adam<ScoreNet<FEAT, HIDDEN>, f32, Dev>,
    grads: Gradients<f32, Dev>,
    buffer: ReplayBuffer,
    batch: Batch,
    acted: u64,
    updates: u64,
}

impl<const FEAT: usize, const SLOTS: usize, const HIDDEN: usize> SetDqn<FEAT, SLOTS, HIDDEN> {
    /// Observation length: `SLOTS * (FEAT + 1)`.
    pub const OBS: usize = SLOTS * (FEAT + 1);

    pub fn new(cfg: SetDqnConfig) -> Result<Self, ScorerError> {
        cfg.check()?;
        let (dev, net, opt, grads) =
            init_scorer::<FEAT, HIDDEN>("set-dqn", cfg.seed, cfg.lr, cfg.prior_column)?;
        let buffer = ReplayBuffer::new(cfg.buffer_capacity, Self::OBS, 1)
            .map_err(|e| ScorerError::Config { learner: "set-dqn", reason: e.to_string() })?;
        Ok(Self {
            grads,
            target: net.clone(),
            net,
            opt,
            buffer,
            batch: Batch::default(),
            acted: 0,
            updates: 0,
            dev,
            cfg,
        })
    }

    pub fn config(&self) -> &SetDqnConfig {
        &self.cfg
    }

    pub fn updates(&self) -> u64 {
        self.updates
    }

    /// The online scoring network.
    pub fn net(&self) -> &ScoreNet<FEAT, HIDDEN> {
        &self.net
    }

    /// All parameters, flattened (determinism tests).
    pub fn flat_parameters(&self) -> Vec<f32> {
        let mut v = flat_params(&self.net);
        v.extend(flat_params(&self.target));
        v
    }

    /// Current exploration rate.
    pub fn epsilon(&self) -> f64 {
        let c = &self.cfg;
        let frac = (self.acted as f64 / c.eps_decay_steps.max(1) as f64).min(1.0);
        c.eps_start + (c.eps_end - c.eps_start) * frac
    }

    fn rows(obs: &[f32]) -> Vec<f32> {
        rows(obs, FEAT)
    }

    /// The prior of every row (zeros without a prior column).
    fn priors(&self, obs_batch: &[f32]) -> Vec<f32> {
        obs_batch.chunks_exact(FEAT + 1).map(|r| self.cfg.prior_column.map_or(0.0, |c| r[c])).collect()
    }

    fn scores(&self, net: &ScoreNet<FEAT, HIDDEN>, obs_batch: &[f32], b: usize) -> Vec<f32> {
        let x = self.dev.tensor_from_vec(Self::rows(obs_batch), (b * SLOTS, Const::<FEAT>));
        let mut q = net.forward(x).as_vec();
        for (q, p) in q.iter_mut().zip(self.priors(obs_batch)) {
            *q += p;
        }
        q
    }

    /// A fast plain-Rust copy of the online network (with its prior column).
    pub fn fast_scorer(&self) -> FastScorer {
        FastScorer::from_net(&self.net, self.cfg.prior_column)
    }

    /// Greedy index among the valid candidates of one observation.
    pub fn greedy_index(&self, obs: &[f32]) -> Result<usize, ScorerError> {
        if obs.len() != Self::OBS {
            return Err(ScorerError::ObsDim { expected: Self::OBS, got: obs.len() });
        }
        let n = valid_count(obs, FEAT);
        let q = self.scores(&self.net, obs, 1);
        Ok((0..n).max_by(|&a, &b| q[a].total_cmp(&q[b]).then(b.cmp(&a))).unwrap_or(0))
    }

    /// One double-DQN update on `batch`.
    pub fn update_on_batch(&mut self, batch: &Batch) -> Result<UpdateStats, ScorerError> {
        let b = batch.size;
        if batch.obs.len() != b * Self::OBS {
            return Err(ScorerError::ObsDim { expected: b * Self::OBS, got: batch.obs.len() });
        }
        // Targets (no gradient): online argmax, target value.
        let q_next_online = self.scores(&self.net, &batch.next_obs, b);
        let q_next_target = self.scores(&self.target, &batch.next_obs, b);
        let mut y = vec![0f32; b * SLOTS];
        let mut sel = vec![0f32; b * SLOTS];
        for i in 0..b {
            let next = &batch.next_obs[i * Self::OBS..(i + 1) * Self::OBS];
            let n_next = valid_count(next, FEAT);
            let bootstrap = if n_next == 0 || batch.terminated[i] > 0.5 {
                0.0
            } else {
                let row = &q_next_online[i * SLOTS..i * SLOTS + n_next];
                let a = (0..n_next).max_by(|&x, &z| row[x].total_cmp(&row[z]).then(z.cmp(&x))).unwrap_or(0);
                q_next_target[i * SLOTS + a]
            };
            let target = batch.reward[i] + self.cfg.gamma * bootstrap;
            let n = valid_count(&batch.obs[i * Self::OBS..(i + 1) * Self::OBS], FEAT);
            let a = (batch.act[i] as usize).min(n.saturating_sub(1));
            y[i * SLOTS + a] = target;
            sel[i * SLOTS + a] = 1.0;
        }
        let y = self.dev.tensor_from_vec(y, (b * SLOTS, Const::<1>));
        let sel = self.dev.tensor_from_vec(sel, (b * SLOTS, Const::<1>));
        let x = self.dev.tensor_from_vec(Self::rows(&batch.obs), (b * SLOTS, Const::<FEAT>));
        let grads = std::mem::replace(&mut self.grads, Gradients::leaky());
        let prior = self.dev.tensor_from_vec(self.priors(&batch.obs), (b * SLOTS, Const::<1>));
        let q = self.net.forward(x.traced(grads)) + prior;
        let loss = ((q - y).square() * sel).sum::<Rank0, _>() * (1.0 / b as f32);
        let loss_value = loss.array();
        let mut grads = loss.backward();
        let norm = clipped_step(&mut self.net, &mut self.opt, &mut grads, Some(self.cfg.grad_clip_norm))
            .map_err(ScorerError::Backend)?;
        self.grads = grads;
        polyak_update(&mut self.target, &self.net, self.cfg.tau).map_err(backend)?;
        self.updates += 1;
        Ok(UpdateStats { metrics: vec![("td_loss".into(), loss_value), ("grad_norm".into(), norm)] })
    }

    /// Saves the scorer checkpoint ([`crate::rl::scorer`]) into `dir`. `env` describes
    /// the training environment (kept for provenance).
    pub fn save_checkpoint(
        &self,
        dir: &Path,
        step: u64,
        env: serde_json::Value,
    ) -> Result<(), CheckpointError> {
        let cfg = serde_json::to_value(&self.cfg).unwrap_or_default();
        save_scorer(dir, "set-dqn", SLOTS, &self.net, &self.target, step, self.updates, cfg, env)
    }
}

impl<const FEAT: usize, const SLOTS: usize, const HIDDEN: usize> Agent for SetDqn<FEAT, SLOTS, HIDDEN> {
    type Action = Discrete;

    fn act(&mut self, obs: &[f32], explore: bool, rng: &mut Rng) -> Result<Discrete, RlError> {
        let n = valid_count(obs, FEAT);
        let index = if explore && rng.gen_bool(self.epsilon().clamp(0.0, 1.0)) {
            rng.gen_range(0..n.max(1))
        } else {
            self.greedy_index(obs)?
        };
        if explore {
            self.acted += 1;
        }
        Ok(index)
    }

    /// Uniform over the valid candidates (drawn as a number in `[0, 1)` scaled by their
    /// count, so the stream of random numbers matches earlier versions).
    fn random_action(&mut self, obs: &[f32], rng: &mut Rng) -> Discrete {
        crate::rl::scorer::random_candidate(obs, FEAT, rng)
    }

    fn observe(&mut self, t: &Transition<'_, Discrete>) -> Result<(), RlError> {
        self.buffer.push(t.obs, &[*t.action as f32], t.reward, t.next_obs, t.terminated)?;
        Ok(())
    }

    fn update(&mut self, rng: &mut Rng) -> Result<Option<UpdateStats>, RlError> {
        if self.buffer.len() < self.cfg.batch_size {
            return Ok(None);
        }
        let mut batch = std::mem::take(&mut self.batch);
        self.buffer.sample_into(self.cfg.batch_size, rng, &mut batch)?;
        let stats = self.update_on_batch(&batch);
        self.batch = batch;
        Ok(Some(stats?))
    }

    fn on_episode_start(&mut self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_a_bandit_over_sets() {
        // One-step episodes: two valid candidates; reward 1 for the one whose first
        // feature is larger. After training the greedy choice must be right.
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let cfg = SetDqnConfig { eps_decay_steps: 500, lr: 3e-3, ..Default::default() };
        let mut agent = SetDqn::<2, 3, 16>::new(cfg).unwrap();
        let make = |rng: &mut rand_chacha::ChaCha8Rng| {
            let (a, b): (f32, f32) = (rng.gen(), rng.gen());
            vec![a, 0.5, 1.0, b, 0.5, 1.0, 0.0, 0.0, 0.0]
        };
        let terminal = vec![0.0; 9];
        for _ in 0..3000 {
            let obs = make(&mut rng);
            let act = agent.act(&obs, true, &mut rng).unwrap();
            let i = act;
            let r = if obs[i * 3] >= obs[(1 - i) * 3] { 1.0 } else { 0.0 };
            agent
                .observe(&Transition {
                    obs: &obs,
                    action: &act,
                    reward: r,
                    next_obs: &terminal,
                    terminated: true,
                })
                .unwrap();
            agent.update(&mut rng).unwrap();
        }
        let mut right = 0;
        for _ in 0..200 {
            let obs = make(&mut rng);
            let i = agent.greedy_index(&obs).unwrap();
            right += usize::from(obs[i * 3] >= obs[(1 - i) * 3]);
        }
        assert!(right >= 180, "{right}/200");
    }
}
