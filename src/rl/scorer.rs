//! What every learner over candidate sets shares: the scoring network (one MLP that
//! scores a candidate from its feature row), its initialisation, a plain-Rust copy for
//! fast inference ([`FastScorer`]), the observation layout, and the scorer checkpoint
//! (the one format of every set learner's policy).
//!
//! Observation layout: a state is a set of at most `SLOTS` candidates, each a feature
//! row of width `FEAT`, flattened as `[SLOTS x (FEAT + 1)]`: the features and a validity
//! mask in the last column (padding rows are masked). A discrete action is the index of
//! one valid candidate.

use std::path::Path;

use dfdx::optim::{Adam, AdamConfig};
use dfdx::prelude::*;
use serde::{Deserialize, Serialize};

use crate::rl::checkpoint::{self, CheckpointError, Meta};
use crate::rl::nets::{Actor, Dev};

/// Errors of the learners over candidate sets.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScorerError {
    #[error("{learner} config: {reason}")]
    Config { learner: &'static str, reason: String },
    #[error("observation has length {got}, expected {expected}")]
    ObsDim { expected: usize, got: usize },
    #[error("tensor backend error: {0}")]
    Backend(String),
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

    /// The prior alone: a network whose output is zero, so a row scores its `prior`
    /// column (the untrained policy of a learner with a prior).
    pub fn prior_only(feat: usize, prior: usize) -> Self {
        FastScorer {
            feat,
            prior: Some(prior),
            hidden: 1,
            w1: vec![0.0; feat],
            b1: vec![0.0],
            w2: vec![0.0],
            b2: vec![0.0],
            w3: vec![0.0],
            b3: 0.0,
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

/// A uniformly random valid candidate of an observation block (the warm-up action of
/// the set learners): a number in `[0, 1)` scaled by the number of valid candidates.
pub fn random_candidate(obs: &[f32], feat: usize, rng: &mut crate::rl::Rng) -> usize {
    use rand::Rng as _;
    let n = valid_count(obs, feat);
    let x: f32 = rng.gen_range(0.0..1.0);
    ((x * n as f32) as usize).min(n.saturating_sub(1))
}

/// The valid candidates' feature rows of an observation block, without the mask column.
pub fn rows(obs: &[f32], feat: usize) -> Vec<f32> {
    obs.chunks_exact(feat + 1).flat_map(|r| r[..feat].iter().copied()).collect()
}

pub(crate) fn backend(e: impl std::fmt::Debug) -> ScorerError {
    ScorerError::Backend(format!("{e:?}"))
}

/// The pieces every learner over candidate sets starts from: the device seeded with
/// `seed`, a scoring network with a small last layer, its Adam optimiser and gradients.
/// Checks that the prior column lies inside the feature row.
#[allow(clippy::type_complexity)]
pub(crate) fn init_scorer<const FEAT: usize, const HIDDEN: usize>(
    learner: &'static str,
    seed: u64,
    lr: f64,
    prior_column: Option<usize>,
) -> Result<
    (Dev, ScoreNet<FEAT, HIDDEN>, Adam<ScoreNet<FEAT, HIDDEN>, f32, Dev>, Gradients<f32, Dev>),
    ScorerError,
> {
    if prior_column.is_some_and(|c| c >= FEAT) {
        return Err(ScorerError::Config {
            learner,
            reason: format!("prior_column {prior_column:?} is not below {FEAT}"),
        });
    }
    let dev = Dev::seed_from_u64(seed);
    let net = ScoreNet::<FEAT, HIDDEN>::init(&dev, 3e-3);
    let opt = Adam::new(&net, AdamConfig { lr, ..Default::default() });
    let grads = net.try_alloc_grads().map_err(backend)?;
    Ok((dev, net, opt, grads))
}

/// Learners whose scorer checkpoints this build reads.
pub const SCORER_ALGORITHMS: [&str; 2] = ["set-pg", "set-dqn"];
/// The online network.
pub const NET_FILE: &str = "scorer.safetensors";
/// The target network (a copy of the online one for learners without a target).
pub const TARGET_FILE: &str = "scorer_target.safetensors";

/// What a scorer checkpoint holds.
pub struct ScorerCheckpoint<const FEAT: usize, const HIDDEN: usize> {
    pub net: ScoreNet<FEAT, HIDDEN>,
    pub target: ScoreNet<FEAT, HIDDEN>,
    pub prior_column: Option<usize>,
    pub meta: Meta,
}

/// The `state` of a scorer checkpoint: what scoring needs besides the network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScorerState {
    /// Feature column holding the prior score added to the network's output.
    pub prior_column: Option<usize>,
}

/// Writes a scorer checkpoint into `dir` (atomically, as a whole folder).
#[allow(clippy::too_many_arguments)]
pub fn save_scorer<const FEAT: usize, const HIDDEN: usize>(
    dir: &Path,
    algorithm: &str,
    slots: usize,
    net: &ScoreNet<FEAT, HIDDEN>,
    target: &ScoreNet<FEAT, HIDDEN>,
    step: u64,
    updates: u64,
    config: serde_json::Value,
    env: serde_json::Value,
) -> Result<(), CheckpointError> {
    let prior_column = config.get("prior_column").and_then(|v| v.as_u64()).map(|c| c as usize);
    let mut meta =
        Meta::new(algorithm, &[("feat", FEAT), ("slots", slots), ("hidden", HIDDEN)], step, updates);
    meta.config = config;
    meta.env = env;
    meta.state = serde_json::to_value(ScorerState { prior_column }).unwrap_or_default();
    checkpoint::save(dir, meta, |tmp| {
        Ok(vec![
            checkpoint::save_model(net, tmp, NET_FILE)?,
            checkpoint::save_model(target, tmp, TARGET_FILE)?,
        ])
    })
}

/// Reads a scorer checkpoint written by [`save_scorer`]; every problem names the file.
pub fn load_scorer<const FEAT: usize, const HIDDEN: usize>(
    dir: &Path,
    slots: usize,
) -> Result<ScorerCheckpoint<FEAT, HIDDEN>, CheckpointError> {
    let meta = checkpoint::load_meta(dir)?;
    meta.check(dir, &SCORER_ALGORITHMS, &[("feat", FEAT), ("slots", slots), ("hidden", HIDDEN)])?;
    let state: ScorerState = meta.part(dir, "state", &meta.state)?;
    let prior_column = match state.prior_column {
        Some(c) if c >= FEAT => {
            return Err(CheckpointError::Meta {
                path: dir.join(checkpoint::META_FILE),
                reason: format!("state.prior_column = {c} is not a feature column below {FEAT}"),
            })
        }
        c => c,
    };
    let dev = Dev::seed_from_u64(0);
    let mut net = ScoreNet::<FEAT, HIDDEN>::init(&dev, 0.0);
    let mut target = net.clone();
    checkpoint::load_model(&mut net, dir, meta.file(dir, NET_FILE)?)?;
    checkpoint::load_model(&mut target, dir, meta.file(dir, TARGET_FILE)?)?;
    Ok(ScorerCheckpoint { net, target, prior_column, meta })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_scorer_matches_dfdx() {
        let dev = Dev::seed_from_u64(3);
        let net = ScoreNet::<4, 8>::init(&dev, 0.5);
        let fast = FastScorer::from_net(&net, None);
        let rows = vec![0.1, -0.4, 0.9, 0.3, 1.0, 0.0, -1.0, 0.5, 0.2, 0.2, 0.2, 0.2];
        let mut out = Vec::new();
        fast.scores(&rows, &mut out);
        let x = dev.tensor_from_vec(rows.clone(), (3usize, Const::<4>));
        let q = net.forward(x).as_vec();
        for (a, b) in out.iter().zip(&q) {
            assert!((a - b).abs() < 1e-5, "{out:?} vs {q:?}");
        }
        let with_prior = FastScorer::from_net(&net, Some(0));
        let mut out2 = Vec::new();
        with_prior.scores(&rows, &mut out2);
        assert!((out2[0] - out[0] - 0.1).abs() < 1e-6 && (out2[1] - out[1] - 1.0).abs() < 1e-6);
    }

    #[test]
    fn checkpoint_round_trips_and_refuses_other_sizes() {
        let dir = tempfile::tempdir().unwrap();
        let dev = Dev::seed_from_u64(1);
        let net = ScoreNet::<4, 8>::init(&dev, 0.5);
        let cfg = serde_json::json!({ "prior_column": 2 });
        save_scorer(dir.path(), "set-pg", 3, &net, &net, 7, 2, cfg, serde_json::json!({})).unwrap();
        let back = load_scorer::<4, 8>(dir.path(), 3).unwrap();
        assert_eq!(back.prior_column, Some(2));
        assert_eq!(back.meta.step, 7);
        assert_eq!(crate::rl::nets::flat_params(&back.net), crate::rl::nets::flat_params(&net));
        let err = load_scorer::<4, 16>(dir.path(), 3).err().expect("other hidden width");
        assert!(err.to_string().contains("hidden"), "{err}");
    }
}
