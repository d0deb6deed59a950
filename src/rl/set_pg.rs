//! Policy gradient over candidate sets (REINFORCE with a baseline): the learner of the
//! proposed scheme.
//!
//! The policy is a softmax over a step's valid candidates of `(prior + net(row)) / T`,
//! with the shared scoring network and observation layout of [`crate::rl::scorer`];
//! an action is a candidate index. With a heuristic prior and a small-initialised network the
//! untrained policy is a softened version of the heuristic. The environment subtracts
//! a baseline (the reference policy's return on the same edge server) at an episode's
//! last step, so an episode's return is its advantage `A`; every `episodes_per_update`
//! episodes the agent takes one Adam step on
//! `-(1/E) sum_episodes (A / std(A)) sum_steps log pi(a_t | s_t)`
//! (self-critical REINFORCE), with global-norm gradient clipping. Evaluation acts
//! greedily (argmax of the scores).

use dfdx::optim::Adam;
use dfdx::prelude::*;
use rand::Rng as _;
use serde::{Deserialize, Serialize};

use crate::rl::checkpoint::CheckpointError;
use crate::rl::nets::{flat_params, Dev};
use crate::rl::optim::clipped_step;
use crate::rl::scorer::{init_scorer, rows, save_scorer, valid_count, FastScorer, ScoreNet, ScorerError};
use crate::rl::train::{Agent, Discrete, Transition, UpdateStats};
use crate::rl::{RlError, Rng};

/// Hyperparameters of the set policy gradient. Every field has a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SetPgConfig {
    /// Adam learning rate. Default 3e-4.
    pub lr: f64,
    /// Softmax temperature of the training policy. Default 0.02 (prior score gaps
    /// between options are a few hundredths).
    pub temperature: f32,
    /// Episodes per gradient step. Default 16.
    pub episodes_per_update: usize,
    /// Global gradient-norm clip. Default 1.
    pub grad_clip_norm: f32,
    /// Feature column of the prior score (`None`: no prior). Default none.
    pub prior_column: Option<usize>,
    /// Seed of the network initialisation. Default 0.
    pub seed: u64,
}

impl Default for SetPgConfig {
    fn default() -> Self {
        Self {
            lr: 3e-4,
            temperature: 0.02,
            episodes_per_update: 16,
            grad_clip_norm: 1.0,
            prior_column: None,
            seed: 0,
        }
    }
}

impl SetPgConfig {
    pub fn check(&self) -> Result<(), ScorerError> {
        let bad = |f: &str, v: String| {
            Err(ScorerError::Config { learner: "set-pg", reason: format!("{f} = {v} is out of range") })
        };
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad("lr", self.lr.to_string());
        }
        if !(self.temperature.is_finite() && self.temperature > 0.0) {
            return bad("temperature", self.temperature.to_string());
        }
        if self.episodes_per_update == 0 {
            return bad("episodes_per_update", "0".into());
        }
        if !(self.grad_clip_norm.is_finite() && self.grad_clip_norm > 0.0) {
            return bad("grad_clip_norm", self.grad_clip_norm.to_string());
        }
        Ok(())
    }
}

/// One recorded step: its observation block and the chosen candidate.
struct Record {
    obs: Vec<f32>,
    index: usize,
}

/// The set policy-gradient agent.
pub struct SetPg<const FEAT: usize, const SLOTS: usize, const HIDDEN: usize> {
    cfg: SetPgConfig,
    dev: Dev,
    net: ScoreNet<FEAT, HIDDEN>,
    opt: Adam<ScoreNet<FEAT, HIDDEN>, f32, Dev>,
    grads: Gradients<f32, Dev>,
    current: Vec<Record>,
    current_return: f64,
    done: Vec<(Vec<Record>, f64)>,
    updates: u64,
}

impl<const FEAT: usize, const SLOTS: usize, const HIDDEN: usize> SetPg<FEAT, SLOTS, HIDDEN> {
    /// Observation length: `SLOTS * (FEAT + 1)`.
    pub const OBS: usize = SLOTS * (FEAT + 1);

    pub fn new(cfg: SetPgConfig) -> Result<Self, ScorerError> {
        cfg.check()?;
        let (dev, net, opt, grads) =
            init_scorer::<FEAT, HIDDEN>("set-pg", cfg.seed, cfg.lr, cfg.prior_column)?;
        Ok(Self {
            grads,
            net,
            opt,
            current: Vec::new(),
            current_return: 0.0,
            done: Vec::new(),
            updates: 0,
            dev,
            cfg,
        })
    }

    pub fn net(&self) -> &ScoreNet<FEAT, HIDDEN> {
        &self.net
    }

    pub fn config(&self) -> &SetPgConfig {
        &self.cfg
    }

    pub fn updates(&self) -> u64 {
        self.updates
    }

    pub fn flat_parameters(&self) -> Vec<f32> {
        flat_params(&self.net)
    }

    /// A fast plain-Rust copy of the network (with its prior column).
    pub fn fast_scorer(&self) -> FastScorer {
        FastScorer::from_net(&self.net, self.cfg.prior_column)
    }

    /// Saves the scorer checkpoint ([`crate::rl::scorer`]) into `dir`; the network is
    /// also its own target (the format has one for learners that keep a target).
    pub fn save_checkpoint(
        &self,
        dir: &std::path::Path,
        step: u64,
        env: serde_json::Value,
    ) -> Result<(), CheckpointError> {
        let cfg = serde_json::to_value(&self.cfg).unwrap_or_default();
        save_scorer(dir, "set-pg", SLOTS, &self.net, &self.net, step, self.updates, cfg, env)
    }

    fn scores(&self, obs: &[f32]) -> Vec<f32> {
        let rows = rows(obs, FEAT);
        let mut out = Vec::with_capacity(SLOTS);
        self.fast_scorer().scores(&rows, &mut out);
        out
    }

    /// Greedy index among the valid candidates.
    pub fn greedy_index(&self, obs: &[f32]) -> Result<usize, ScorerError> {
        if obs.len() != Self::OBS {
            return Err(ScorerError::ObsDim { expected: Self::OBS, got: obs.len() });
        }
        let n = valid_count(obs, FEAT);
        let q = self.scores(obs);
        Ok((0..n).max_by(|&a, &b| q[a].total_cmp(&q[b]).then(b.cmp(&a))).unwrap_or(0))
    }

    /// One policy-gradient step on the finished episodes.
    fn learn(&mut self) -> Result<UpdateStats, ScorerError> {
        let episodes = std::mem::take(&mut self.done);
        let advantages: Vec<f64> = episodes.iter().map(|(_, a)| *a).collect();
        let mean = advantages.iter().sum::<f64>() / advantages.len() as f64;
        let std =
            (advantages.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / advantages.len() as f64).sqrt();
        let scale = if std > 1e-6 { 1.0 / std } else { 0.0 };
        let steps: usize = episodes.iter().map(|(r, _)| r.len()).sum();
        if steps == 0 || scale == 0.0 {
            return Ok(UpdateStats { metrics: vec![("advantage_std".into(), std as f32)] });
        }
        // Self-critical advantage (the return already has the baseline subtracted).
        let weighted = episodes.iter().flat_map(|(records, adv)| {
            let w = (adv * scale) as f32 / episodes.len() as f32;
            records.iter().map(move |r| (r.obs.as_slice(), r.index, w))
        });
        let (loss_value, norm) = self.weighted_step(weighted, steps)?;
        Ok(UpdateStats {
            metrics: vec![
                ("pg_loss".into(), loss_value),
                ("grad_norm".into(), norm),
                ("advantage_mean".into(), mean as f32),
            ],
        })
    }

    /// One clipped Adam step on `-sum_steps weight log pi(index | obs)` over `steps`
    /// records `(obs, index, weight)`; returns the loss and the gradient norm.
    fn weighted_step<'a>(
        &mut self,
        records: impl Iterator<Item = (&'a [f32], usize, f32)>,
        steps: usize,
    ) -> Result<(f32, f32), ScorerError> {
        let mut x = Vec::with_capacity(steps * SLOTS * FEAT);
        let mut prior = Vec::with_capacity(steps * SLOTS);
        let mut mask = Vec::with_capacity(steps * SLOTS);
        let mut weight = vec![0f32; steps * SLOTS];
        let mut t = 0;
        for (obs, index, w) in records {
            for row in obs.chunks_exact(FEAT + 1) {
                x.extend_from_slice(&row[..FEAT]);
                prior.push(self.cfg.prior_column.map_or(0.0, |c| row[c]) / self.cfg.temperature);
                mask.push(if row[FEAT] > 0.5 { 0.0 } else { -1e9 });
            }
            weight[t * SLOTS + index.min(SLOTS - 1)] = w;
            t += 1;
        }
        debug_assert_eq!(t, steps);
        let x = self.dev.tensor_from_vec(x, (steps * SLOTS, Const::<FEAT>));
        let prior = self.dev.tensor_from_vec(prior, (steps, Const::<SLOTS>));
        let mask = self.dev.tensor_from_vec(mask, (steps, Const::<SLOTS>));
        let weight = self.dev.tensor_from_vec(weight, (steps, Const::<SLOTS>));
        let grads = std::mem::replace(&mut self.grads, Gradients::leaky());
        let out = self.net.forward(x.traced(grads)) * (1.0 / self.cfg.temperature);
        let logits = out.reshape_like(&(steps, Const::<SLOTS>)) + prior + mask;
        let logp = logits.log_softmax::<Axis<1>>();
        let loss = (logp * weight).sum::<Rank0, _>().negate();
        let loss_value = loss.array();
        let mut grads = loss.backward();
        let norm = clipped_step(&mut self.net, &mut self.opt, &mut grads, Some(self.cfg.grad_clip_norm))
            .map_err(ScorerError::Backend)?;
        self.grads = grads;
        self.updates += 1;
        Ok((loss_value, norm))
    }
}

impl<const FEAT: usize, const SLOTS: usize, const HIDDEN: usize> Agent for SetPg<FEAT, SLOTS, HIDDEN> {
    type Action = Discrete;

    fn act(&mut self, obs: &[f32], explore: bool, rng: &mut Rng) -> Result<Discrete, RlError> {
        let n = valid_count(obs, FEAT);
        if !explore {
            return Ok(self.greedy_index(obs)?);
        }
        let q = self.scores(obs);
        let max = q[..n.max(1)].iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let p: Vec<f64> = q[..n].iter().map(|&s| f64::from((s - max) / self.cfg.temperature).exp()).collect();
        let total: f64 = p.iter().sum();
        let mut u = rng.gen::<f64>() * total;
        let mut index = n.saturating_sub(1);
        for (i, &pi) in p.iter().enumerate() {
            if u < pi {
                index = i;
                break;
            }
            u -= pi;
        }
        Ok(index)
    }

    fn random_action(&mut self, obs: &[f32], rng: &mut Rng) -> Discrete {
        crate::rl::scorer::random_candidate(obs, FEAT, rng)
    }

    fn observe(&mut self, t: &Transition<'_, Discrete>) -> Result<(), RlError> {
        let n = valid_count(t.obs, FEAT);
        self.current.push(Record { obs: t.obs.to_vec(), index: (*t.action).min(n.saturating_sub(1)) });
        self.current_return += f64::from(t.reward);
        if t.terminated {
            let records = std::mem::take(&mut self.current);
            self.done.push((records, self.current_return));
            self.current_return = 0.0;
        }
        Ok(())
    }

    fn update(&mut self, _rng: &mut Rng) -> Result<Option<UpdateStats>, RlError> {
        if self.done.len() < self.cfg.episodes_per_update {
            return Ok(None);
        }
        Ok(Some(self.learn()?))
    }

    fn on_episode_start(&mut self) {}
}
