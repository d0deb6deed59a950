//! `mpc`: model-predictive control over a rolling horizon. Each slot it plans the next
//! `horizon` slots with the exact time-expanded MILP of `hindsight`
//! ([`crate::solvers::hindsight::Hindsight::plan`]) from the current placement state,
//! on the observed slot followed by the expected demand, applies the plan's first slot
//! (the edge placement change and its explicit downloads) and plans again at the next
//! slot. Storage the plan leaves free is filled as by every rule
//! ([`super::common::fill_edges`]), the added models taking the volume the plan leaves.
//! Devices follow the device rule every rule-based policy shares (a plan of a few slots
//! never pays for a device download that takes longer), and the slot's tasks are
//! assigned by the per-slot optimum on what is resident, as in the other policies.
//!
//! Expected demand, from what the policy may know (MODEL.md §9.3: the regime signal,
//! the regime mixes and the switching probability `p`; never a later slot): the current
//! regime is expected to last `round(1/p)` more slots (its mean remaining length), and
//! while it lasts the devices keep their services, so a predicted slot repeats the
//! observed one; after it, the next regime of the cycle, whose slots are drawn from the
//! demand model (planning gains without shadowing, seeded).
//!
//! The plans are solved to proven optimality with HiGHS's improvement heuristics
//! (feasibility jump, RINS, RENS) off: on these small MILPs HiGHS spends its time at the
//! root, and without them `mpc` took 13.1 s instead of 23.5 s on 4 `online-default`
//! episodes (one thread); the plans stay optimal, only ties between optima may break
//! differently.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::common::{assign, device_holds, fill_edges, smith_order, split_volume};
use super::rules::sample_tasks;
use crate::model::{DownloadPlan, Holdings, Network, PlacementState, Slot, SlotDecision};
use crate::solver::online::OnlinePolicy;
use crate::solver::{SolveOptions, SolverError};
use crate::solvers::hindsight::Hindsight;

/// Tuned default of `mpc`: `horizon` (docs/online.md).
pub const MPC_DEFAULTS: [f64; 1] = [4.0];

/// Wall-clock limit of one plan; a plan stopped by it still applies its incumbent.
const PLAN_LIMIT_S: f64 = 20.0;

#[derive(Debug)]
pub struct Mpc {
    /// Planned slots, the observed one included (rounded, at least 1).
    pub horizon: f64,
    planner: Hindsight,
    net: Option<Network>,
    seed: u64,
}

impl Default for Mpc {
    fn default() -> Self {
        Mpc::new(MPC_DEFAULTS[0])
    }
}

impl Mpc {
    pub fn new(horizon: f64) -> Self {
        Mpc {
            horizon,
            planner: Hindsight::default().with_primal_heuristics(false).with_restarts(true),
            net: None,
            seed: 0,
        }
    }

    /// The observed slot followed by `h - 1` predicted ones.
    pub fn predicted(&self, net: &Network, t: usize, slot: &Slot, h: usize) -> Vec<Slot> {
        let p = net.demand.switch_prob;
        let stay = if p > 0.0 { (1.0 / p).round() as usize } else { usize::MAX };
        let next = (slot.regime + 1) % net.demand.regimes.len();
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ (t as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        (0..h)
            .map(|i| {
                if i == 0 || i < stay {
                    Slot { regime: slot.regime, tasks: slot.tasks.clone() }
                } else {
                    Slot { regime: next, tasks: sample_tasks(net, next, &mut rng) }
                }
            })
            .collect()
    }
}

impl OnlinePolicy for Mpc {
    fn name(&self) -> &str {
        "mpc"
    }

    fn reset(&mut self, net: &Network, _initial: &PlacementState, seed: u64) -> Result<(), SolverError> {
        self.net = Some(net.clone());
        self.seed = seed;
        Ok(())
    }

    fn decide(&mut self, t: usize, slot: &Slot, state: &PlacementState) -> Result<SlotDecision, SolverError> {
        let net = self.net.as_ref().ok_or_else(|| SolverError::Failed {
            solver: "mpc".into(),
            reason: "decide called before reset".into(),
        })?;
        let h = (self.horizon.round() as usize).max(1);
        let slots = self.predicted(net, t, slot, h);
        let opts = SolveOptions {
            seed: self.seed.wrapping_add(t as u64),
            time_limit: Some(std::time::Duration::from_secs_f64(PLAN_LIMIT_S)),
            threads: 1,
        };
        let rep = self.planner.plan(net, state, &slots, &opts)?;
        let first = rep.decisions.into_iter().next().ok_or_else(|| SolverError::Failed {
            solver: "mpc".into(),
            reason: format!("the plan has no decisions ({}: {})", rep.status, rep.reason),
        })?;
        let planned = first.hold.edges;
        let mut edges = planned.clone();
        fill_edges(net, slot, state, &mut edges);
        let downloads = first.downloads.map(|p| {
            // The plan's split, then what volume it leaves to the filled models, by
            // Smith's rule.
            let extra: Vec<Vec<usize>> = edges
                .iter()
                .zip(&planned)
                .map(|(e, p)| e.iter().copied().filter(|k| !p.contains(k)).collect())
                .collect();
            let order = smith_order(net, slot, state, &extra);
            let edges = p
                .edges
                .into_iter()
                .zip(order)
                .enumerate()
                .map(|(m, (mut split, order))| {
                    let left = net.edge_volume_mb(m) - split.iter().map(|&(_, mb)| mb).sum::<f64>();
                    split.extend(split_volume(net, &state.edges[m], order, left));
                    split
                })
                .collect();
            DownloadPlan { edges, devices: Vec::new() }
        });
        let hold = Holdings { edges, devices: device_holds(net, slot, state) };
        let solution = assign(&crate::solvers::SlotDp, net, slot, state, &hold, &opts)?;
        Ok(SlotDecision { hold, solution, downloads })
    }
}
