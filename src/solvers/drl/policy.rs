//! The trained `drl` policy (inference only): the scoring network of a scorer
//! checkpoint ([`crate::rl::scorer`]) as a plain-Rust [`FastScorer`], and the greedy
//! construction it drives.

use std::path::Path;

use super::construct::{Construction, Variant, FEATURES, MAX_CANDIDATES};
use crate::model::{enumerate_options, Instance, Solution};
use crate::rl::checkpoint::{fnv1a64, CheckpointError};
use crate::rl::nets::flat_params;
use crate::rl::scorer::{load_scorer, FastScorer};

/// Hidden width of the scoring network (compile-time for dfdx).
pub const HIDDEN: usize = 32;

/// The greedy policy of a scoring function on one instance: returns the solution and
/// the number of repaired tasks (0 unless the variant has no masking). `choose` gets a
/// step's feature rows and candidate count and returns a candidate index.
pub fn run_policy(
    inst: &Instance,
    variant: Variant,
    mut choose: impl FnMut(&[f32], usize) -> usize,
) -> (Solution, usize) {
    let opts = enumerate_options(inst);
    let mut c = Construction::new(inst, &opts, variant);
    while !c.done() {
        let step = c.step();
        let i = choose(&step.features, step.actions.len());
        c.apply(i);
    }
    let repaired = c.repaired();
    (c.into_solution(), repaired)
}

/// A loaded policy.
#[derive(Debug, Clone)]
pub struct DrlPolicy {
    pub scorer: FastScorer,
    /// The variant it was trained for.
    pub variant: Option<Variant>,
    /// Environment steps trained when saved.
    pub step: u64,
    /// FNV-1a hash of the online network's parameters.
    pub hash: u64,
}

impl DrlPolicy {
    /// Loads a scorer checkpoint written by `dnnrm train drl`.
    pub fn load(dir: &Path) -> Result<Self, CheckpointError> {
        let ck = load_scorer::<FEATURES, HIDDEN>(dir, MAX_CANDIDATES)?;
        let variant = ck.meta.env.get("variant").and_then(|v| serde_json::from_value(v.clone()).ok());
        // The hash covers the online and target networks, as earlier versions did.
        let mut params = flat_params(&ck.net);
        params.extend(flat_params(&ck.target));
        let bytes: Vec<u8> = params.iter().flat_map(|x| x.to_le_bytes()).collect();
        Ok(DrlPolicy {
            scorer: FastScorer::from_net(&ck.net, ck.prior_column),
            variant,
            step: ck.meta.step,
            hash: fnv1a64(&bytes),
        })
    }

    /// The greedy policy on one instance.
    pub fn solve(&self, inst: &Instance, variant: Variant) -> (Solution, usize) {
        let mut buf = Vec::new();
        run_policy(inst, variant, |rows, _| self.scorer.argmax(rows, &mut buf))
    }
}
