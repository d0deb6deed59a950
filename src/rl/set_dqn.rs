//! Double DQN over candidate sets: the learner of the proposed scheme (`drl`).
//!
//! A state is a set of at most `SLOTS` candidates, each a feature row of width
//! `FEAT`; one shared network `Q(row)` scores every candidate, so the same network
//! serves any number of tasks, servers and models. The observation handed to the
//! training loop is the flattened `[SLOTS x (FEAT + 1)]` block: the features and a
//! validity mask in the last column (padding rows are masked). An action is one number
//! `x` in `[0, 1)`: the environment takes candidate `floor(x * n)` of its `n` valid
//! candidates, so uniformly random warm-up actions are uniform over valid candidates.
//!
//! Per update, on a replay batch `(s, a, r, s', d)`:
//! 1. `a* = argmax_{valid a'} Q(s', a')` with the online network (double DQN);
//! 2. `y = r + gamma (1 - d) Q_target(s', a*)` (0 when `s'` has no valid candidate);
//! 3. minimise `mean((Q(s, a) - y)^2)` with Adam, global-norm gradient clipping;
//! 4. Polyak-average the target network (dfdx `ema`, decay `1 - tau`).
//!
//! Exploration is epsilon-greedy with a linear decay over the exploration steps.

use std::path::Path;

use dfdx::optim::{Adam, AdamConfig};
use dfdx::prelude::*;
use rand::Rng as _;
use serde::{Deserialize, Serialize};

use crate::rl::checkpoint::{self, CheckpointError, FileEntry, FORMAT_VERSION};
use crate::rl::nets::{flat_params, polyak_update, Actor, Dev};
use crate::rl::optim::clipped_step;
use crate::rl::replay::{Batch, ReplayBuffer};
use crate::rl::train::{Agent, Transition, UpdateStats};
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

/// Errors of the set DQN.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SetDqnError {
    #[error("set-dqn config: {0}")]
    Config(String),
    #[error("set-dqn: observation has length {got}, expected {expected}")]
    ObsDim { expected: usize, got: usize },
    #[error("set-dqn: tensor backend error: {0}")]
    Backend(String),
}

impl SetDqnConfig {
    /// Validates every field once.
    pub fn check(&self) -> Result<(), SetDqnError> {
        let bad = |f: &str, v: String| Err(SetDqnError::Config(format!("{f} = {v} is out of range")));
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

/// The scoring network: `FEAT -> HIDDEN -> HIDDEN -> 1` with ReLU (the core's MLP).
pub type ScoreNet<const FEAT: usize, const HIDDEN: usize> = Actor<FEAT, 1, HIDDEN, f32, Dev>;

/// Plain-Rust copy of a [`ScoreNet`] for fast single-state inference (no tensors).
#[derive(Debug, Clone, PartialEq)]
pub struct FastScorer {
    feat: usize,
    prior: Option<usize>,
    hidden: usize,
    w1: Vec<f32>,
    b1: Vec<f32>,
    w2: Vec<f32>,
    b2: Vec<f32>,
    w3: Vec<f32>,
    b3: f32,
}

impl FastScorer {
    pub fn from_net<const FEAT: usize, const HIDDEN: usize>(
        net: &ScoreNet<FEAT, HIDDEN>,
        prior: Option<usize>,
    ) -> Self {
        FastScorer {
            feat: FEAT,
            prior,
            hidden: HIDDEN,
            w1: net.l1.weight.as_vec(),
            b1: net.l1.bias.as_vec(),
            w2: net.l2.weight.as_vec(),
            b2: net.l2.bias.as_vec(),
            w3: net.l3.weight.as_vec(),
            b3: net.l3.bias.as_vec()[0],
        }
    }

    /// Scores each row of `rows` (`rows.len()` a multiple of the feature width).
    pub fn scores(&self, rows: &[f32], out: &mut Vec<f32>) {
        let (f, h) = (self.feat, self.hidden);
        let mut h1 = vec![0f32; h];
        let mut h2 = vec![0f32; h];
        out.clear();
        for x in rows.chunks_exact(f) {
            for ((hj, w), b) in h1.iter_mut().zip(self.w1.chunks_exact(f)).zip(&self.b1) {
                *hj = (dot(w, x) + b).max(0.0);
            }
            for ((hj, w), b) in h2.iter_mut().zip(self.w2.chunks_exact(h)).zip(&self.b2) {
                *hj = (dot(w, &h1) + b).max(0.0);
            }
            let p = self.prior.map_or(0.0, |c| x[c]);
            out.push(dot(&self.w3, &h2) + self.b3 + p);
        }
    }

    /// Index of the best-scoring row (ties: the first).
    pub fn argmax(&self, rows: &[f32], buf: &mut Vec<f32>) -> usize {
        self.scores(rows, buf);
        let mut best = (0, f32::NEG_INFINITY);
        for (i, &s) in buf.iter().enumerate() {
            if s > best.1 {
                best = (i, s);
            }
        }
        best.0
    }
}

/// Dot product in four independent lanes (lets the compiler vectorise it).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..4 {
            acc[i] += x[i] * y[i];
        }
    }
    let tail: f32 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    acc[0] + acc[1] + acc[2] + acc[3] + tail
}

/// Number of valid candidates in an observation block.
pub fn valid_count(obs: &[f32], feat: usize) -> usize {
    obs.chunks_exact(feat + 1).take_while(|row| row[feat] > 0.5).count()
}

/// The action number that selects candidate `index` of `n`.
pub fn action_for(index: usize, n: usize) -> f32 {
    ((index as f32 + 0.5) / n.max(1) as f32).min(0.999_999)
}

/// The candidate index an action number selects among `n`.
pub fn index_for(action: f32, n: usize) -> usize {
    ((action.clamp(0.0, 1.0) * n as f32) as usize).min(n.saturating_sub(1))
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

/// Saved alongside the network.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SetDqnMeta {
    format_version: u32,
    algorithm: String,
    feat: usize,
    slots: usize,
    hidden: usize,
    step: u64,
    updates: u64,
    config: SetDqnConfig,
    /// Free-form description of the environment the policy was trained on.
    env: serde_json::Value,
    files: Vec<FileEntry>,
}

const NET_FILE: &str = "scorer.safetensors";
const TARGET_FILE: &str = "scorer_target.safetensors";

pub(crate) fn backend(e: impl std::fmt::Debug) -> SetDqnError {
    SetDqnError::Backend(format!("{e:?}"))
}

/// The pieces every learner over candidate sets starts from: the device seeded with
/// `seed`, a scoring network with a small last layer, its Adam optimiser and gradients.
/// Checks that the prior column lies inside the feature row.
#[allow(clippy::type_complexity)]
pub(crate) fn init_scorer<const FEAT: usize, const HIDDEN: usize>(
    seed: u64,
    lr: f64,
    prior_column: Option<usize>,
) -> Result<
    (Dev, ScoreNet<FEAT, HIDDEN>, Adam<ScoreNet<FEAT, HIDDEN>, f32, Dev>, Gradients<f32, Dev>),
    SetDqnError,
> {
    if prior_column.is_some_and(|c| c >= FEAT) {
        return Err(SetDqnError::Config(format!("prior_column {prior_column:?} is not below {FEAT}")));
    }
    let dev = Dev::seed_from_u64(seed);
    let net = ScoreNet::<FEAT, HIDDEN>::init(&dev, 3e-3);
    let opt = Adam::new(&net, AdamConfig { lr, ..Default::default() });
    let grads = net.try_alloc_grads().map_err(backend)?;
    Ok((dev, net, opt, grads))
}

impl<const FEAT: usize, const SLOTS: usize, const HIDDEN: usize> SetDqn<FEAT, SLOTS, HIDDEN> {
    /// Observation length: `SLOTS * (FEAT + 1)`.
    pub const OBS: usize = SLOTS * (FEAT + 1);

    pub fn new(cfg: SetDqnConfig) -> Result<Self, SetDqnError> {
        cfg.check()?;
        let (dev, net, opt, grads) = init_scorer::<FEAT, HIDDEN>(cfg.seed, cfg.lr, cfg.prior_column)?;
        let buffer = ReplayBuffer::new(cfg.buffer_capacity, Self::OBS, 1)
            .map_err(|e| SetDqnError::Config(e.to_string()))?;
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

    /// Replaces the online and target networks (e.g. with a network trained by another
    /// learner over the same candidate sets, to save it in this checkpoint format).
    pub fn set_net(&mut self, net: &ScoreNet<FEAT, HIDDEN>) {
        self.net = net.clone();
        self.target = net.clone();
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
        obs.chunks_exact(FEAT + 1).flat_map(|r| r[..FEAT].iter().copied()).collect()
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
    pub fn greedy_index(&self, obs: &[f32]) -> Result<usize, SetDqnError> {
        if obs.len() != Self::OBS {
            return Err(SetDqnError::ObsDim { expected: Self::OBS, got: obs.len() });
        }
        let n = valid_count(obs, FEAT);
        let q = self.scores(&self.net, obs, 1);
        Ok((0..n).max_by(|&a, &b| q[a].total_cmp(&q[b]).then(b.cmp(&a))).unwrap_or(0))
    }

    /// One double-DQN update on `batch`.
    pub fn update_on_batch(&mut self, batch: &Batch) -> Result<UpdateStats, SetDqnError> {
        let b = batch.size;
        if batch.obs.len() != b * Self::OBS {
            return Err(SetDqnError::ObsDim { expected: b * Self::OBS, got: batch.obs.len() });
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
            let a = index_for(batch.act[i], n);
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
            .map_err(SetDqnError::Backend)?;
        self.grads = grads;
        polyak_update(&mut self.target, &self.net, self.cfg.tau).map_err(backend)?;
        self.updates += 1;
        Ok(UpdateStats { metrics: vec![("td_loss".into(), loss_value), ("grad_norm".into(), norm)] })
    }

    /// Saves the networks and `meta.json` atomically into `dir`. `env` describes the
    /// training environment (kept for provenance).
    pub fn save_checkpoint(
        &self,
        dir: &Path,
        step: u64,
        env: serde_json::Value,
    ) -> Result<(), CheckpointError> {
        checkpoint::write_dir_atomically(dir, |tmp| {
            let files = vec![
                checkpoint::save_model(&self.net, tmp, NET_FILE)?,
                checkpoint::save_model(&self.target, tmp, TARGET_FILE)?,
            ];
            let meta = SetDqnMeta {
                format_version: FORMAT_VERSION,
                algorithm: "set-dqn".into(),
                feat: FEAT,
                slots: SLOTS,
                hidden: HIDDEN,
                step,
                updates: self.updates,
                config: self.cfg.clone(),
                env,
                files,
            };
            checkpoint::write_meta(tmp, &meta)
        })
    }

    /// Loads an agent saved by [`Self::save_checkpoint`]: the agent, its step, and the
    /// environment description. Every problem names the file.
    pub fn load_checkpoint(dir: &Path) -> Result<(Self, u64, serde_json::Value), CheckpointError> {
        let meta: SetDqnMeta = checkpoint::read_meta(dir)?;
        checkpoint::check_compatible(
            dir,
            (&meta.algorithm, "set-dqn"),
            &[("feat", meta.feat, FEAT), ("slots", meta.slots, SLOTS), ("hidden", meta.hidden, HIDDEN)],
        )?;
        let mut agent = Self::new(meta.config.clone()).map_err(|e| CheckpointError::Meta {
            path: dir.join(checkpoint::META_FILE),
            reason: e.to_string(),
        })?;
        checkpoint::load_model(&mut agent.net, dir, checkpoint::file_entry(dir, &meta.files, NET_FILE)?)?;
        checkpoint::load_model(
            &mut agent.target,
            dir,
            checkpoint::file_entry(dir, &meta.files, TARGET_FILE)?,
        )?;
        agent.updates = meta.updates;
        Ok((agent, meta.step, meta.env))
    }
}

impl<const FEAT: usize, const SLOTS: usize, const HIDDEN: usize> Agent for SetDqn<FEAT, SLOTS, HIDDEN> {
    fn act(&mut self, obs: &[f32], explore: bool, rng: &mut Rng) -> Result<Vec<f32>, RlError> {
        let n = valid_count(obs, FEAT);
        let index = if explore && rng.gen_bool(self.epsilon().clamp(0.0, 1.0)) {
            rng.gen_range(0..n.max(1))
        } else {
            self.greedy_index(obs)?
        };
        if explore {
            self.acted += 1;
        }
        Ok(vec![action_for(index, n)])
    }

    fn random_action(&mut self, rng: &mut Rng) -> Vec<f32> {
        vec![rng.gen_range(0.0..1.0)]
    }

    fn observe(&mut self, t: &Transition<'_>) -> Result<(), RlError> {
        self.buffer.push(t.obs, t.action, t.reward, t.next_obs, t.terminated)?;
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
    fn fast_scorer_matches_dfdx() {
        let agent = SetDqn::<4, 3, 8>::new(SetDqnConfig::default()).unwrap();
        let fast = FastScorer::from_net(agent.net(), None);
        let rows = vec![0.1, -0.4, 0.9, 0.3, 1.0, 0.0, -1.0, 0.5, 0.2, 0.2, 0.2, 0.2];
        let mut out = Vec::new();
        fast.scores(&rows, &mut out);
        let x = agent.dev.tensor_from_vec(rows.clone(), (3usize, Const::<4>));
        let q = agent.net.forward(x).as_vec();
        for (a, b) in out.iter().zip(&q) {
            assert!((a - b).abs() < 1e-5, "{out:?} vs {q:?}");
        }
    }

    #[test]
    fn action_numbers_round_trip() {
        for n in 1..20 {
            for i in 0..n {
                assert_eq!(index_for(action_for(i, n), n), i);
            }
        }
        assert_eq!(index_for(0.9999999, 3), 2);
        assert_eq!(index_for(0.0, 3), 0);
    }

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
            let i = index_for(act[0], 2);
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
