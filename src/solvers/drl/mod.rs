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
//! Ablations (`drl-nosub`, `drl-nomask`) switch one part off; see [`Variant`].
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
        Ok(DrlSolver { policy, variant, name, version })
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
        Ok(SolveReport::new(solution, Status::Heuristic, "greedy policy of the trained network")
            .with_stat("repaired", repaired as f64))
    }
}

/// The untrained policy (`drl-untrained`): the same construction and packing with the
/// network's output at zero, i.e. the heuristic prior alone (most accurate fitting
/// option; coverage-per-MB cache). It shows what training adds.
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
        Ok(SolveReport::new(solution, Status::Heuristic, "prior policy of drl, without training")
            .with_stat("repaired", repaired as f64))
    }
}
