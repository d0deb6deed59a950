//! The proposed DRL scheme (`drl`): a learned policy takes the discrete decisions —
//! each edge server's cache contents, then each task's location and model — one at a
//! time over the candidates the sequential view offers (MODEL.md §8); an exact packing
//! subroutine ([`packer`]) gives RBs and compute units to the chosen tasks. Masking with
//! the packer makes every answer valid by construction: nothing is repaired.
//!
//! The policy is one small network that scores a candidate from a fixed-width feature
//! row ([`crate::rl::scorer`], trained by self-critical REINFORCE,
//! [`crate::rl::set_pg`]), so one trained policy serves every number of tasks, edge
//! servers and models. At solve time it runs as plain Rust
//! ([`crate::rl::scorer::FastScorer`]), not through tensors, to decide in well under a
//! millisecond.
//!
//! The answer's assignment is then made exact for the cache the policy chose
//! ([`crate::solvers::dp::reassign`], about a millisecond at N = 50): the learned
//! construction decides what each server caches, and the exact dynamic program over RBs
//! and units decides where each task runs on it; it never lowers the construction's
//! accuracy.
//!
//! Ablations (`drl-nosub`, `drl-nomask`) switch one part of the construction off; see
//! [`Variant`]; they and `drl-noexact` (the construction alone) skip the exact stage.
//!
//! Files: `construct.rs` the sequential view and its candidates, `packer.rs` the exact
//! packing subroutine, `env.rs` the training environment, `policy.rs` the trained
//! policy (inference), `train.rs` its training.

pub mod construct;
pub mod env;
pub mod packer;
pub mod policy;
pub mod train;

use std::path::{Path, PathBuf};

pub use construct::Variant;

use self::policy::{run_policy, DrlPolicy};
use crate::model::Instance;
use crate::solver::{SolveOptions, SolveReport, Solver, SolverError, Status};

/// Default checkpoint of each variant, relative to the working folder.
pub fn default_checkpoint(variant: Variant) -> PathBuf {
    PathBuf::from(match variant {
        Variant::Full => "models/drl/seed0",
        Variant::NoSubroutine => "models/drl-nosub/seed0",
        Variant::NoMasking => "models/drl-nomask/seed0",
    })
}

/// Registry name of each variant.
pub fn solver_name(variant: Variant) -> &'static str {
    match variant {
        Variant::Full => "drl",
        Variant::NoSubroutine => "drl-nosub",
        Variant::NoMasking => "drl-nomask",
    }
}

/// The `drl` solver: a trained scoring network and the variant it was trained for.
pub struct DrlSolver {
    policy: DrlPolicy,
    variant: Variant,
    /// Registry name (the variant's, unless loaded under another name).
    name: &'static str,
    version: String,
    /// Whether the exact assignment stage runs (the full scheme).
    exact: bool,
}

/// The exact assignment stage: `sol` re-assigned exactly on its own cache, or `sol`
/// when it cannot be read back (never for a valid answer).
fn exact_stage(inst: &Instance, sol: crate::model::Solution) -> crate::model::Solution {
    crate::solvers::dp::reassign(inst, &sol).unwrap_or(sol)
}

impl DrlSolver {
    /// Loads a checkpoint written by `dnnrm train drl`; the checkpoint's variant must
    /// be `variant`.
    pub fn load(dir: &Path, variant: Variant) -> Result<Self, SolverError> {
        Self::load_named(dir, variant, solver_name(variant))
    }

    /// Loads a checkpoint of `variant` under the registry name `name` (e.g. an earlier
    /// policy kept for comparison, `drl-default-trained`).
    pub fn load_named(dir: &Path, variant: Variant, name: &'static str) -> Result<Self, SolverError> {
        let policy = DrlPolicy::load(dir).map_err(|e| SolverError::Checkpoint {
            solver: name.into(),
            path: dir.to_path_buf(),
            source: Box::new(e),
        })?;
        if policy.variant != Some(variant) {
            return Err(SolverError::Config {
                solver: name.into(),
                reason: format!(
                    "{}: checkpoint was trained for variant {:?}, not {variant}",
                    dir.display(),
                    policy.variant
                ),
            });
        }
        let version = format!(
            "{}+{}@{}:{:08x}",
            env!("CARGO_PKG_VERSION"),
            dir.display(),
            policy.step,
            policy.hash as u32
        );
        Ok(DrlSolver { policy, variant, name, version, exact: variant == Variant::Full })
    }

    /// The same solver without the exact assignment stage, under `name`
    /// (`drl-noexact`: what the stage adds).
    pub fn without_exact_stage(mut self, name: &'static str) -> Self {
        self.exact = false;
        self.name = name;
        self
    }
}

impl Solver for DrlSolver {
    fn name(&self) -> &str {
        self.name
    }

    fn version(&self) -> String {
        self.version.clone()
    }

    fn solve(&self, inst: &Instance, _opts: &SolveOptions) -> Result<SolveReport, SolverError> {
        let (solution, repaired) = self.policy.solve(inst, self.variant);
        let (solution, reason) = if self.exact {
            (
                exact_stage(inst, solution),
                "greedy policy of the trained network, exact assignment on its cache",
            )
        } else {
            (solution, "greedy policy of the trained network")
        };
        Ok(SolveReport::new(solution, Status::Heuristic, reason).with_stat("repaired", repaired as f64))
    }
}

/// The untrained policy (`drl-untrained`): the same construction, packing and exact
/// assignment stage with the network's output at zero, i.e. the heuristic prior alone
/// (most accurate fitting option; coverage-per-MB cache). It shows what training adds.
#[derive(Debug, Default, Clone)]
pub struct DrlUntrained;

impl Solver for DrlUntrained {
    fn name(&self) -> &str {
        "drl-untrained"
    }

    fn solve(&self, inst: &Instance, _opts: &SolveOptions) -> Result<SolveReport, SolverError> {
        let (solution, repaired) = run_policy(inst, Variant::Full, |rows, n| {
            let step =
                construct::Step { actions: vec![construct::Action::Reject; n], features: rows.to_vec() };
            construct::reference_choice(&step)
        });
        let solution = exact_stage(inst, solution);
        Ok(SolveReport::new(solution, Status::Heuristic, "prior policy of drl, without training")
            .with_stat("repaired", repaired as f64))
    }
}
