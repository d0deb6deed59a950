//! A solution: placement, and per task a decision (MODEL.md §2).

use serde::{Deserialize, Serialize};

/// Where a served task runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Location {
    /// On the device itself (`L`).
    Local,
    /// On the device's edge server `a(n)` (`E`).
    Edge,
    /// In the cloud, through `a(n)` (`C`).
    Cloud,
}

impl Location {
    pub const ALL: [Location; 3] = [Location::Local, Location::Edge, Location::Cloud];

    pub fn as_str(self) -> &'static str {
        match self {
            Location::Local => "local",
            Location::Edge => "edge",
            Location::Cloud => "cloud",
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a served task runs: model, location, RBs `r_n` and compute units `u_n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assignment {
    /// Index into [`crate::model::Instance::models`].
    pub model: usize,
    pub location: Location,
    /// `r_n`: uplink RBs (>= 1 for edge and cloud, 0 for local).
    pub rbs: u32,
    /// `u_n`: edge compute units (>= 1 for edge, 0 otherwise).
    pub units: u32,
}

impl Assignment {
    pub fn local(model: usize) -> Self {
        Assignment { model, location: Location::Local, rbs: 0, units: 0 }
    }
    pub fn edge(model: usize, rbs: u32, units: u32) -> Self {
        Assignment { model, location: Location::Edge, rbs, units }
    }
    pub fn cloud(model: usize, rbs: u32) -> Self {
        Assignment { model, location: Location::Cloud, rbs, units: 0 }
    }
}

/// The decision for one task: serve it with an assignment, or reject it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "lowercase")]
pub enum Decision {
    Reject,
    Serve(Assignment),
}

impl Decision {
    pub fn assignment(&self) -> Option<&Assignment> {
        match self {
            Decision::Reject => None,
            Decision::Serve(a) => Some(a),
        }
    }
}

/// Cache contents, device storage and one decision per task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Solution {
    pub format_version: u32,
    /// `z`: for each edge server, the indices of the models it caches.
    pub edge_cache: Vec<Vec<usize>>,
    /// `y`: for each device, the indices of the models it stores.
    pub device_models: Vec<Vec<usize>>,
    /// One decision per task, in device order.
    pub decisions: Vec<Decision>,
}

impl Solution {
    /// The always-feasible solution: nothing cached, every task rejected.
    pub fn reject_all(inst: &crate::model::Instance) -> Self {
        Solution {
            format_version: crate::model::FORMAT_VERSION,
            edge_cache: vec![Vec::new(); inst.edges.len()],
            device_models: vec![Vec::new(); inst.devices.len()],
            decisions: vec![Decision::Reject; inst.devices.len()],
        }
    }

    /// Sets every device's storage to exactly the model its local decision uses.
    /// Each device has one task, so this is the only storage that matters.
    pub fn store_local_models(&mut self) {
        for (n, d) in self.decisions.iter().enumerate() {
            self.device_models[n] = match d {
                Decision::Serve(a) if a.location == Location::Local => vec![a.model],
                _ => Vec::new(),
            };
        }
    }
}
