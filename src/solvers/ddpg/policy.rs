//! The trained `ddpg` policy (inference only): the actor network and observation
//! statistics saved by [`super::train`], loaded and run deterministically.

use std::path::{Path, PathBuf};

use dfdx::prelude::*;
use serde::{Deserialize, Serialize};

use super::env::{OneShotConfig, ACT_DIM, K_MAX, M_MAX, N_MAX, OBS_DIM};
use crate::rl::checkpoint::{self, CheckpointError, FileEntry, Meta};
use crate::rl::nets::{ActionScaler, Actor, Dev, Squash};
use crate::rl::normalize::RunningNorm;

/// Hidden widths the training and the solver are compiled for.
pub const SUPPORTED_HIDDEN: [usize; 4] = [64, 128, 256, 400];
/// `algorithm` field of a policy's `meta.json`.
pub const POLICY_ALGORITHM: &str = "ddpg-oneshot";
/// Sub-folder of the output folder holding the best policy.
pub const POLICY_DIR: &str = "policy";
/// File name of the actor inside a policy folder.
pub const ACTOR_FILE: &str = "actor.safetensors";

/// What acting needs besides the actor: the `state` part of a policy's `meta.json`
/// ([`checkpoint::Meta`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyState {
    /// Squashing of the actor output.
    pub squash: Squash,
    /// Observation statistics (when the agent normalised observations).
    pub obs_norm: Option<RunningNorm>,
    /// Training seed.
    pub train_seed: u64,
    /// Validation objective when saved.
    pub val_objective: f64,
}

/// The deterministic actor of one hidden width (shared with the episode policy,
/// [`super::online_policy`]).
pub(crate) trait ActorNet: Send + Sync {
    /// Squashed actions for a flat batch of (already normalised) states.
    fn forward(&self, obs: Vec<f32>) -> Vec<f32>;
}

struct Net<const O: usize, const A: usize, const H: usize> {
    dev: Dev,
    actor: Actor<O, A, H, f32, Dev>,
    scaler: ActionScaler<A>,
}

impl<const O: usize, const A: usize, const H: usize> ActorNet for Net<O, A, H> {
    fn forward(&self, obs: Vec<f32>) -> Vec<f32> {
        let n = obs.len() / O;
        let x = self.dev.tensor_from_vec(obs, (n, Const::<O>));
        self.scaler.apply(self.actor.forward(x)).as_vec()
    }
}

/// Loads an actor with `O` inputs, `A` outputs in `[0, 1]` and hidden width `H`.
pub(crate) fn load_net<const O: usize, const A: usize, const H: usize>(
    dir: &Path,
    squash: Squash,
    entry: &FileEntry,
) -> Result<Box<dyn ActorNet>, CheckpointError> {
    let dev = Dev::seed_from_u64(0);
    let mut actor = Actor::<O, A, H, f32, Dev>::init(&dev, 0.0);
    checkpoint::load_model(&mut actor, dir, entry)?;
    let scaler = ActionScaler::new(&dev, squash, &[0.0; A], &[1.0; A]);
    Ok(Box::new(Net { dev, actor, scaler }))
}

/// What an actor checkpoint holds: the network, its metadata, the acting state, the
/// `env` part of `meta.json`, and the policy folder it came from.
pub(crate) type ActorParts<E> = (Box<dyn ActorNet>, Meta, PolicyState, E, PathBuf);

/// Loads an actor checkpoint of `algorithm` with `O` inputs and `A` outputs from `dir`:
/// a policy folder (with `meta.json`) or a training output folder holding one in
/// `policy/`. Checks the sizes, the observation statistics and the hidden width; every
/// problem (missing file, corruption, other sizes) is a [`CheckpointError`] naming the
/// file. Shared by the one-shot and the episode policy.
pub(crate) fn load_actor<const O: usize, const A: usize, E: serde::de::DeserializeOwned>(
    dir: &Path,
    algorithm: &str,
    sizes: &[(&'static str, usize)],
) -> Result<ActorParts<E>, CheckpointError> {
    let dir = if dir.join(checkpoint::META_FILE).exists() || !dir.join(POLICY_DIR).is_dir() {
        dir.to_path_buf()
    } else {
        dir.join(POLICY_DIR)
    };
    let meta = checkpoint::load_meta(&dir)?;
    meta.check(&dir, &[algorithm], sizes)?;
    let state: PolicyState = meta.part(&dir, "state", &meta.state)?;
    let env: E = meta.part(&dir, "env", &meta.env)?;
    let incompatible = |what, found: String, expected: String| CheckpointError::Incompatible {
        path: dir.join(checkpoint::META_FILE),
        what,
        found,
        expected,
    };
    if let Some(n) = &state.obs_norm {
        if let Some(what) = n.first_non_finite() {
            return Err(CheckpointError::NonFinite {
                path: dir.join(checkpoint::META_FILE),
                what: format!("state.obs_norm.{what}"),
            });
        }
        if n.dim() != O {
            return Err(incompatible("obs_norm dimension", n.dim().to_string(), O.to_string()));
        }
    }
    let entry = meta.file(&dir, ACTOR_FILE)?;
    let hidden = meta.sizes.get("hidden").copied().unwrap_or(0);
    let net = match hidden {
        64 => load_net::<O, A, 64>(&dir, state.squash, entry)?,
        128 => load_net::<O, A, 128>(&dir, state.squash, entry)?,
        256 => load_net::<O, A, 256>(&dir, state.squash, entry)?,
        400 => load_net::<O, A, 400>(&dir, state.squash, entry)?,
        h => return Err(incompatible("hidden", h.to_string(), format!("one of {SUPPORTED_HIDDEN:?}"))),
    };
    Ok((net, meta, state, env, dir))
}

/// Deterministic actions of `net` for a flat batch of `dim`-value states, normalised by
/// the state's statistics; empty when the length is not a positive multiple of `dim`.
pub(crate) fn act_batch(net: &dyn ActorNet, state: &PolicyState, obs: &[f32], dim: usize) -> Vec<f32> {
    if obs.is_empty() || !obs.len().is_multiple_of(dim) {
        return Vec::new();
    }
    let x = match &state.obs_norm {
        Some(n) => n.normalize(obs),
        None => obs.to_vec(),
    };
    net.forward(x)
}

/// A trained DDPG actor loaded from a policy folder: network, observation statistics
/// and the view settings `C` it was trained with, acting deterministically. The
/// one-shot policy is [`OneShotPolicy`], the episode one
/// [`super::online_policy::OnlineActor`].
pub struct TrainedActor<C> {
    net: Box<dyn ActorNet>,
    meta: Meta,
    state: PolicyState,
    env: C,
    dir: PathBuf,
    obs_dim: usize,
}

/// A trained one-shot policy.
pub type OneShotPolicy = TrainedActor<OneShotConfig>;

impl<C> std::fmt::Debug for TrainedActor<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrainedActor").field("dir", &self.dir).field("meta", &self.meta).finish()
    }
}

impl TrainedActor<OneShotConfig> {
    /// Loads a policy from `dir`: either a policy folder (with `meta.json`) or a
    /// training output folder holding one in `policy/`. Every problem (missing file,
    /// corruption, other sizes) is a [`CheckpointError`] naming the file.
    pub fn load(dir: &Path) -> Result<Self, CheckpointError> {
        let sizes = [
            ("obs_dim", OBS_DIM),
            ("act_dim", ACT_DIM),
            ("n_max", N_MAX),
            ("m_max", M_MAX),
            ("k_max", K_MAX),
        ];
        let (net, meta, state, env, dir) =
            load_actor::<OBS_DIM, ACT_DIM, OneShotConfig>(dir, POLICY_ALGORITHM, &sizes)?;
        Ok(Self { net, meta, state, env, dir, obs_dim: OBS_DIM })
    }
}

impl<C> TrainedActor<C> {
    /// Assembles a loaded actor (see [`load_actor`]) for states of `obs_dim` values.
    pub(crate) fn from_parts(
        (net, meta, state, env, dir): (Box<dyn ActorNet>, Meta, PolicyState, C, PathBuf),
        obs_dim: usize,
    ) -> Self {
        Self { net, meta, state, env, dir, obs_dim }
    }

    /// Deterministic actions for a flat batch of states (`k` states of the actor's
    /// state length); empty when the length is not a positive multiple of it.
    pub fn act(&self, obs: &[f32]) -> Vec<f32> {
        act_batch(self.net.as_ref(), &self.state, obs, self.obs_dim)
    }

    /// The checkpoint's metadata.
    pub fn meta(&self) -> &Meta {
        &self.meta
    }

    /// The policy's state (squash, statistics, training seed, validation objective).
    pub fn state(&self) -> &PolicyState {
        &self.state
    }

    /// The environment settings it was trained with.
    pub fn env(&self) -> &C {
        &self.env
    }

    /// The folder it was loaded from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A short identifier: the first 8 hex digits of the actor file's FNV-1a hash.
    pub fn id(&self) -> String {
        let h = self.meta.files.iter().find(|f| f.name == ACTOR_FILE).map_or(0, |f| f.fnv1a64);
        format!("{:08x}", h >> 32)
    }
}
