//! Counterfactual replay, to find where a gap between two policies lies: a policy plays
//! an episode, but at the chosen sites (edge servers, devices) its holdings and download
//! split are replaced by another plan's (for instance `hindsight`'s optimal plan), and
//! each slot is then assigned by the per-slot optimum (`dp`) on what results. A site's
//! placement state depends only on its own holdings and downloads, so a borrowed site
//! follows the plan's states exactly and its borrowed holdings are always feasible.
//!
//! Borrowing every site of `hindsight`'s plan reproduces its `A_ep` (the per-slot
//! optimum on the optimal holdings is the optimal assignment: the slots share nothing
//! else); borrowing no site gives the policy itself when it assigns by `dp` (every
//! rule-based policy and `drl-online`). Borrowing one site at a time gives each site's
//! share of the gap (docs/online.md, "Where the gap to hindsight is").
//!
//! This is an analysis tool, not an online policy: the borrowed holdings come from a
//! plan that may have read the whole episode.

use std::collections::BTreeSet;

use crate::model::{DownloadPlan, Episode, EpisodeDecisions, Network, PlacementState, Slot, SlotDecision};
use crate::solver::online::OnlinePolicy;
use crate::solver::{SolveOptions, SolverError};
use crate::solvers::SlotDp;

use super::common::assign;

/// The sites whose holdings are borrowed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sites {
    /// Every edge server.
    pub edges: bool,
    /// Every device.
    pub devices: bool,
    /// These devices (indices into the network's devices).
    pub device: BTreeSet<usize>,
}

impl Sites {
    /// Parses a comma-separated list of `edges`, `devices` and `device:N`.
    pub fn parse(s: &str) -> Result<Sites, String> {
        let mut out = Sites::default();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part {
                "edges" => out.edges = true,
                "devices" => out.devices = true,
                p => {
                    let n = p
                        .strip_prefix("device:")
                        .and_then(|n| n.parse::<usize>().ok())
                        .ok_or_else(|| format!("unknown site `{p}`: expected edges, devices or device:N"))?;
                    out.device.insert(n);
                }
            }
        }
        if !out.edges && !out.devices && out.device.is_empty() {
            return Err("no site given: expected a comma-separated list of edges, devices, device:N".into());
        }
        Ok(out)
    }

    fn has_device(&self, n: usize) -> bool {
        self.devices || self.device.contains(&n)
    }
}

/// `inner` with the holdings and downloads of `sites` taken from `plan` (one decision
/// per slot of the episode).
pub struct Borrowing {
    inner: Box<dyn OnlinePolicy>,
    plan: Vec<SlotDecision>,
    sites: Sites,
    name: String,
    net: Option<Network>,
    seed: u64,
}

impl Borrowing {
    pub fn new(inner: Box<dyn OnlinePolicy>, plan: Vec<SlotDecision>, sites: Sites) -> Self {
        let name = format!("{}+borrowed", inner.name());
        Borrowing { inner, plan, sites, name, net: None, seed: 0 }
    }

    /// [`Borrowing::new`] with `plan` checked against `ep`: the decisions of this
    /// episode (when they name one), one per slot.
    pub fn of_plan(
        inner: Box<dyn OnlinePolicy>,
        plan: EpisodeDecisions,
        sites: Sites,
        ep: &Episode,
    ) -> Result<Self, String> {
        if !plan.episode.is_empty() && plan.episode != ep.id {
            return Err(format!("decisions of episode `{}`, not `{}`", plan.episode, ep.id));
        }
        if plan.slots.len() != ep.slots.len() {
            return Err(format!(
                "{} slots of decisions for an episode of {}",
                plan.slots.len(),
                ep.slots.len()
            ));
        }
        Ok(Borrowing::new(inner, plan.slots, sites))
    }

    fn fail(&self, reason: String) -> SolverError {
        SolverError::Config { solver: self.name.clone(), reason }
    }
}

impl OnlinePolicy for Borrowing {
    fn name(&self) -> &str {
        &self.name
    }

    fn version(&self) -> String {
        self.inner.version()
    }

    fn reset(&mut self, net: &Network, initial: &PlacementState, seed: u64) -> Result<(), SolverError> {
        if let Some(&n) = self.sites.device.iter().find(|&&n| n >= net.devices.len()) {
            return Err(self.fail(format!("device:{n}: the network has {} devices", net.devices.len())));
        }
        for (t, d) in self.plan.iter().enumerate() {
            if d.hold.edges.len() != net.edges.len() || d.hold.devices.len() != net.devices.len() {
                return Err(self.fail(format!(
                    "the plan's slot {t} holds for {} edge servers and {} devices; the network has {} and {}",
                    d.hold.edges.len(),
                    d.hold.devices.len(),
                    net.edges.len(),
                    net.devices.len()
                )));
            }
        }
        self.net = Some(net.clone());
        self.seed = seed;
        self.inner.reset(net, initial, seed)
    }

    fn decide(&mut self, t: usize, slot: &Slot, state: &PlacementState) -> Result<SlotDecision, SolverError> {
        let Some(plan) = self.plan.get(t) else {
            return Err(self.fail(format!("the plan has {} slots; the episode has more", self.plan.len())));
        };
        let mut d = self.inner.decide(t, slot, state)?;
        let Some(net) = self.net.as_ref() else {
            return Err(self.fail("decide before reset".into()));
        };
        let (m_count, n_count) = (net.edges.len(), net.devices.len());
        let mut downloads = d.downloads.take().unwrap_or_default();
        downloads.edges.resize(m_count, Vec::new());
        downloads.devices.resize(n_count, Vec::new());
        // Their split at a site (an empty list is the default order).
        let empty = DownloadPlan::default();
        let theirs = plan.downloads.as_ref().unwrap_or(&empty);
        let split = |v: &[Vec<(usize, f64)>], i: usize| v.get(i).cloned().unwrap_or_default();
        if self.sites.edges {
            d.hold.edges = plan.hold.edges.clone();
            downloads.edges = (0..m_count).map(|m| split(&theirs.edges, m)).collect();
        }
        for n in (0..n_count).filter(|&n| self.sites.has_device(n)) {
            d.hold.devices[n] = plan.hold.devices[n].clone();
            downloads.devices[n] = split(&theirs.devices, n);
        }
        let opts = SolveOptions { seed: self.seed.wrapping_add(t as u64), ..SolveOptions::default() };
        d.solution = assign(&SlotDp, net, slot, state, &d.hold, &opts)?;
        d.downloads = Some(downloads);
        Ok(d)
    }
}
