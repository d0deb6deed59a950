//! The proposed DRL scheme (`drl`): a learned policy takes the discrete decisions —
//! each edge server's cache contents, then each task's location and model — one at a
//! time over the candidates the sequential view offers (MODEL.md §8); an exact packing
//! subroutine ([`packer`]) gives RBs and compute units to the chosen tasks. Masking with
//! the packer makes every answer valid by construction: nothing is repaired.
//!
//! The policy is one small network that scores a candidate from a fixed-width feature
//! row (set DQN, [`crate::rl::set_dqn`]), so one trained policy serves every number of
//! tasks, edge servers and models. At solve time it runs as plain Rust
//! ([`crate::rl::set_dqn::FastScorer`]), not through tensors, to decide in well under a
//! millisecond.
//!
//! Ablations (`drl-nosub`, `drl-nomask`) switch one part off; see [`construct::Variant`].

pub mod construct;
pub mod packer;

use std::path::{Path, PathBuf};

use construct::Variant;

use crate::model::Instance;
use crate::rl::checkpoint::fnv1a64;
use crate::rl::set_dqn::FastScorer;
use crate::rl::train_drl::{run_policy, DrlAgent};
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
    scorer: FastScorer,
    variant: Variant,
    version: String,
}

impl DrlSolver {
    /// Loads a checkpoint written by `dnnrm train drl`; the checkpoint's variant must
    /// be `variant`.
    pub fn load(dir: &Path, variant: Variant) -> Result<Self, SolverError> {
        let name = solver_name(variant);
        let config = |reason: String| SolverError::Config { solver: name.into(), reason };
        let (agent, step, env) = DrlAgent::load_checkpoint(dir).map_err(|e| config(e.to_string()))?;
        let trained: Option<Variant> =
            env.get("variant").and_then(|v| serde_json::from_value(v.clone()).ok());
        if trained != Some(variant) {
            return Err(config(format!(
                "{}: checkpoint was trained for variant {trained:?}, not {variant:?}",
                dir.display()
            )));
        }
        let scorer = agent.fast_scorer();
        let bytes: Vec<u8> = agent.flat_parameters().iter().flat_map(|x| x.to_le_bytes()).collect();
        let version =
            format!("{}+{}@{step}:{:08x}", env!("CARGO_PKG_VERSION"), dir.display(), fnv1a64(&bytes) as u32);
        Ok(DrlSolver { scorer, variant, version })
    }
}

impl Solver for DrlSolver {
    fn name(&self) -> &str {
        solver_name(self.variant)
    }

    fn version(&self) -> String {
        self.version.clone()
    }

    fn solve(&self, inst: &Instance, _opts: &SolveOptions) -> Result<SolveReport, SolverError> {
        let mut buf = Vec::new();
        let (solution, repaired) =
            run_policy(inst, self.variant, |rows, _| self.scorer.argmax(rows, &mut buf));
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
