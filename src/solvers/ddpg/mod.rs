//! `ddpg`: the DDPG benchmark of the paper, on the one-shot view of MODEL.md §8.
//!
//! Loads a policy trained by [`train::train_ddpg`] (actor and observation statistics,
//! [`policy`]), encodes the instance ([`env::encode`]), acts deterministically and
//! decodes the action with the §8 repair ([`env::decode`]). The statistic `repaired`
//! counts the tasks the action asked to serve that the repair had to reject.
//!
//! Files: `env.rs` the one-shot view (encoding, decoding, reward, environment),
//! `policy.rs` the trained policy (inference), `train.rs` its training.
//!
//! `ddpg-online`, the same benchmark on episodes (MODEL.md §9), is an online policy, not
//! a [`Solver`]: `online.rs` its view (state, decoding with placement scores, reward,
//! environment), `online_policy.rs` the trained policy ([`online_policy::DdpgOnline`]),
//! `online_train.rs` its training.

pub mod env;
pub mod online;
pub mod online_policy;
pub mod online_train;
pub mod policy;
pub mod train;

use std::path::Path;

use self::env::{decode, encode, ACT_DIM};
use self::policy::OneShotPolicy;
use crate::model::{enumerate_options, Instance};
use crate::solver::{SolveOptions, SolveReport, Solver, SolverError, Status};

/// Checkpoint folder used when none is given.
pub const DEFAULT_CHECKPOINT: &str = "models/ddpg/seed0";

/// The `ddpg` solver: a trained one-shot policy.
#[derive(Debug)]
pub struct DdpgSolver {
    policy: OneShotPolicy,
}

impl DdpgSolver {
    /// Loads the policy in `dir` (a training output folder or its `policy/` folder).
    pub fn load(dir: &Path) -> Result<Self, SolverError> {
        OneShotPolicy::load(dir).map(|policy| Self { policy }).map_err(|e| SolverError::Checkpoint {
            solver: "ddpg".into(),
            path: dir.to_path_buf(),
            source: Box::new(e),
        })
    }

    /// The loaded policy.
    pub fn policy(&self) -> &OneShotPolicy {
        &self.policy
    }
}

impl Solver for DdpgSolver {
    fn name(&self) -> &str {
        "ddpg"
    }

    fn version(&self) -> String {
        format!("{}+ckpt-{}", env!("CARGO_PKG_VERSION"), self.policy.id())
    }

    fn solve(&self, inst: &Instance, _opts: &SolveOptions) -> Result<SolveReport, SolverError> {
        let failed = |reason: String| SolverError::Failed { solver: "ddpg".into(), reason };
        let obs = encode(inst, &enumerate_options(inst)).map_err(|e| failed(e.to_string()))?;
        let action = self.policy.act(&obs);
        if action.len() != ACT_DIM {
            return Err(failed(format!("policy returned {} values, expected {ACT_DIM}", action.len())));
        }
        let d = decode(inst, &action).map_err(|e| failed(e.to_string()))?;
        let reason = format!("policy {} decoded, {} task(s) repaired", self.policy.id(), d.repaired);
        Ok(SolveReport::new(d.solution, Status::Heuristic, reason).with_stat("repaired", d.repaired as f64))
    }
}
