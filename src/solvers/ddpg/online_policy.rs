//! `ddpg-online`: the trained episode policy of the DDPG benchmark (inference only).
//!
//! Loads an actor and observation statistics saved by [`super::online_train`], observes
//! each slot ([`super::online::observe`]), acts deterministically and decodes the action
//! into a slot decision ([`super::online::decide`]).

use std::path::{Path, PathBuf};

use super::env::{ACT_DIM, K_MAX, M_MAX, N_MAX};
use super::online::{check_network, decide, observe, OnlineEnvConfig, ONLINE_OBS_DIM, R_MAX};
use super::policy::{load_actor, TrainedActor};
use crate::model::{Network, PlacementState, Slot, SlotDecision};
use crate::rl::checkpoint::CheckpointError;
use crate::solver::online::OnlinePolicy;
use crate::solver::SolverError;

/// Registry name of the policy.
pub const NAME: &str = "ddpg-online";
/// Checkpoint folder used when none is given.
pub const DEFAULT_ONLINE_CHECKPOINT: &str = "models/ddpg-online/seed0";
/// `algorithm` field of the policy's `meta.json`.
pub const ONLINE_POLICY_ALGORITHM: &str = "ddpg-online";

/// The sizes a checkpoint must have been trained with (checked on load).
pub fn online_sizes() -> [(&'static str, usize); 6] {
    [
        ("obs_dim", ONLINE_OBS_DIM),
        ("act_dim", ACT_DIM),
        ("n_max", N_MAX),
        ("m_max", M_MAX),
        ("k_max", K_MAX),
        ("r_max", R_MAX),
    ]
}

/// A trained episode actor: network, observation statistics and view settings.
pub type OnlineActor = TrainedActor<OnlineEnvConfig>;

impl TrainedActor<OnlineEnvConfig> {
    /// Loads a policy from `dir`: a policy folder (with `meta.json`) or a training
    /// output folder holding one in `policy/`. Every problem (missing file, corruption,
    /// other sizes) is a [`CheckpointError`] naming the file.
    pub fn load(dir: &Path) -> Result<Self, CheckpointError> {
        let parts = load_actor::<ONLINE_OBS_DIM, ACT_DIM, OnlineEnvConfig>(
            dir,
            ONLINE_POLICY_ALGORITHM,
            &online_sizes(),
        )?;
        Ok(Self::from_parts(parts, ONLINE_OBS_DIM))
    }
}

/// The `ddpg-online` policy: a trained [`OnlineActor`], loaded at construction
/// ([`DdpgOnline::load`]) or at the first reset ([`DdpgOnline::deferred`], for a
/// registry whose constructors cannot fail: a missing checkpoint is then the error of
/// `reset`).
#[derive(Debug)]
pub struct DdpgOnline {
    dir: PathBuf,
    actor: Option<OnlineActor>,
    net: Option<Network>,
}

fn checkpoint_error(dir: &Path, e: CheckpointError) -> SolverError {
    SolverError::Checkpoint { solver: NAME.into(), path: dir.to_path_buf(), source: Box::new(e) }
}

fn failed(reason: String) -> SolverError {
    SolverError::Failed { solver: NAME.into(), reason }
}

impl DdpgOnline {
    /// Loads the policy in `dir` (a training output folder or its `policy/` folder).
    pub fn load(dir: &Path) -> Result<Self, SolverError> {
        let actor = OnlineActor::load(dir).map_err(|e| checkpoint_error(dir, e))?;
        Ok(Self { dir: dir.to_path_buf(), actor: Some(actor), net: None })
    }

    /// The policy in `dir`, loaded at the first [`OnlinePolicy::reset`].
    pub fn deferred(dir: &Path) -> Self {
        Self { dir: dir.to_path_buf(), actor: None, net: None }
    }

    /// The loaded actor (none before the first reset of a deferred policy).
    pub fn actor(&self) -> Option<&OnlineActor> {
        self.actor.as_ref()
    }
}

/// The policy with the committed checkpoint ([`DEFAULT_ONLINE_CHECKPOINT`]).
pub fn build_default() -> Result<Box<dyn OnlinePolicy>, SolverError> {
    Ok(Box::new(DdpgOnline::load(Path::new(DEFAULT_ONLINE_CHECKPOINT))?))
}

impl OnlinePolicy for DdpgOnline {
    fn name(&self) -> &str {
        NAME
    }

    fn version(&self) -> String {
        let id = self.actor.as_ref().map_or_else(|| "unloaded".to_string(), OnlineActor::id);
        format!("{}+ckpt-{id}", env!("CARGO_PKG_VERSION"))
    }

    fn reset(&mut self, net: &Network, _initial: &PlacementState, _seed: u64) -> Result<(), SolverError> {
        if self.actor.is_none() {
            self.actor = Some(OnlineActor::load(&self.dir).map_err(|e| checkpoint_error(&self.dir, e))?);
        }
        check_network(net).map_err(|e| failed(e.to_string()))?;
        self.net = Some(net.clone());
        Ok(())
    }

    fn decide(&mut self, t: usize, slot: &Slot, state: &PlacementState) -> Result<SlotDecision, SolverError> {
        let (Some(net), Some(actor)) = (self.net.as_ref(), self.actor.as_ref()) else {
            return Err(failed("decide called before reset".into()));
        };
        let obs = observe(net, t, slot, state, actor.env()).map_err(|e| failed(e.to_string()))?;
        let action = actor.act(&obs);
        if action.len() != ACT_DIM {
            return Err(failed(format!("policy returned {} values, expected {ACT_DIM}", action.len())));
        }
        Ok(decide(net, slot, state, &action).map_err(|e| failed(e.to_string()))?.decision)
    }
}
