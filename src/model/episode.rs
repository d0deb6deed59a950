//! An episode (MODEL.md §9): slots of one network with persistent model placement.
//!
//! The file format is one JSON object: the [`Network`] (fixed for the episode, the only
//! part an online policy receives before the first slot), the initial [`PlacementState`]
//! and one [`Slot`] per time slot. A policy's answer for one slot is a [`SlotDecision`]:
//! what each server and device holds after the placement change of §9.2 step 2, the
//! assignment of the slot's tasks (a [`Solution`] of the slot instance) and, optionally,
//! how the slot's download volume is split.
//!
//! Inside a slot, §1-§8 apply to the *slot instance* ([`Network::slot_instance`]): its
//! device `i` is the slot's task `i` (in the slot's task order), with that task's device,
//! gain and edge server, and its placement is fixed to the models resident at the start
//! of the slot and kept by the slot's placement change.

use serde::{Deserialize, Serialize};

use super::instance::{
    Cloud, Device, DnnModel, EdgeServer, Instance, InstanceError, Physics, Resident, Task,
};
use super::solution::Solution;

/// Format version written into and required from every episode and decisions file.
pub const EPISODE_FORMAT_VERSION: u32 = 1;

/// Slots per episode (bounds the work of replaying and of the time-expanded MILP).
pub const MAX_SLOTS: usize = 100_000;

/// A device of the episode's network: fixed for the episode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpisodeDevice {
    /// Device class (`mcu`, `embedded`, `gpu-node`), informative.
    #[serde(default)]
    pub class: String,
    /// Position on the floor, m (informative; the trace carries the gains).
    pub position: (f64, f64),
    /// Edge server it is associated with at slot 0 (every slot without mobility).
    pub edge: usize,
    /// Channel power gain to `edge` without shadowing (path loss only), linear: what a
    /// planner may assume before it sees a slot's gains.
    pub mean_gain: f64,
    /// `P_n`, W.
    pub tx_power_w: f64,
    /// `f_n`, FLOP/s.
    pub flops: f64,
    /// `C_n`, MB.
    pub storage_mb: f64,
    /// `R^dl_n`, bit/s: model download rate to the device.
    pub download_bps: f64,
}

/// One production regime of the demand model (§9.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Regime {
    /// Share of each service (index order of [`Network::services`]).
    pub mix: Vec<f64>,
    /// Probability that a device has a task in a slot.
    pub p_active: f64,
    /// Factor applied to every deadline in the regime.
    pub deadline_scale: f64,
}

/// The demand model that generated the trace: what an online policy may know of the
/// scenario (regime mixes and switching probability, task distributions), never a
/// realisation. The regime signal of each slot is in the trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Demand {
    pub regimes: Vec<Regime>,
    /// Probability of moving to the next regime of the cycle after a slot (`1 / L`).
    pub switch_prob: f64,
    /// Input size range, bits.
    pub input_bits: (f64, f64),
    /// Deadline range per service, s, before the regime's scale.
    pub deadlines_s: Vec<(f64, f64)>,
}

/// Everything fixed for the episode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// Slot length `Delta`, s.
    pub slot_s: f64,
    /// First scored slot `W`: slots before it play but do not count in `A_ep`.
    #[serde(default)]
    pub window: usize,
    pub physics: Physics,
    pub cloud: Cloud,
    pub edges: Vec<EdgeServer>,
    /// `R^dl_m` per edge server, bit/s.
    pub edge_download_bps: Vec<f64>,
    pub services: Vec<String>,
    pub models: Vec<DnnModel>,
    pub devices: Vec<EpisodeDevice>,
    pub demand: Demand,
}

/// One task of a slot: its device and what the slot's channel gives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotTask {
    /// Index into [`Network::devices`].
    pub device: usize,
    /// `a_n(t)`: the edge server the device is associated with in this slot.
    pub edge: usize,
    /// `g_n(t)`: linear channel power gain to that server.
    pub gain: f64,
    pub service: usize,
    pub input_bits: f64,
    pub deadline_s: f64,
}

/// One slot of the trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slot {
    /// `rho(t)`: the regime signal, observed in its slot.
    pub regime: usize,
    /// The slot's tasks, at most one per device.
    pub tasks: Vec<SlotTask>,
}

/// A model being downloaded to a server or device.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Download {
    pub model: usize,
    /// Megabytes received so far (`< S_k`).
    pub received_mb: f64,
}

/// The placement state of one server or device (§9.1).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Store {
    /// Models that can serve.
    #[serde(default)]
    pub resident: Vec<usize>,
    /// Models being downloaded, in the order their downloads started.
    #[serde(default)]
    pub downloading: Vec<Download>,
}

impl Store {
    /// True when `k` is resident or downloading.
    pub fn holds(&self, k: usize) -> bool {
        self.resident.contains(&k) || self.downloading.iter().any(|d| d.model == k)
    }

    /// Megabytes of `k` received so far while it downloads (0 when it is not
    /// downloading).
    pub fn received_mb(&self, k: usize) -> f64 {
        self.downloading.iter().find(|d| d.model == k).map_or(0.0, |d| d.received_mb)
    }

    /// Every held model: resident, then downloading.
    pub fn held(&self) -> Vec<usize> {
        self.resident.iter().copied().chain(self.downloading.iter().map(|d| d.model)).collect()
    }
}

/// The placement state of every edge server and device.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlacementState {
    pub edges: Vec<Store>,
    pub devices: Vec<Store>,
}

impl PlacementState {
    /// Everything absent.
    pub fn empty(net: &Network) -> Self {
        PlacementState {
            edges: vec![Store::default(); net.edges.len()],
            devices: vec![Store::default(); net.devices.len()],
        }
    }

    /// What every server and device holds now: a placement change that changes nothing.
    pub fn holdings(&self) -> Holdings {
        Holdings {
            edges: self.edges.iter().map(Store::held).collect(),
            devices: self.devices.iter().map(Store::held).collect(),
        }
    }
}

/// What every server and device holds after a slot's placement change: held models are
/// kept (resident or downloading), listed absent ones start downloading (several new
/// ones in increasing model index), unlisted ones are evicted.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Holdings {
    pub edges: Vec<Vec<usize>>,
    pub devices: Vec<Vec<usize>>,
}

/// An explicit split of a slot's download volume: per server and device, megabytes per
/// downloading model. Sites not listed (or an absent plan) use the default order.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DownloadPlan {
    /// `(model, MB)` per edge server; empty lists use the default order.
    #[serde(default)]
    pub edges: Vec<Vec<(usize, f64)>>,
    /// `(model, MB)` per device; empty lists use the default order.
    #[serde(default)]
    pub devices: Vec<Vec<(usize, f64)>>,
}

/// A policy's decisions for one slot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotDecision {
    /// The placement after step 2.
    pub hold: Holdings,
    /// The assignment of the slot's tasks, on the slot instance.
    pub solution: Solution,
    /// How downloads progress in this slot; `None`: in the order they started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub downloads: Option<DownloadPlan>,
}

/// A policy's decisions for a whole episode (the `--out` file of `dnnrm simulate`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpisodeDecisions {
    pub format_version: u32,
    /// The episode's id.
    #[serde(default)]
    pub episode: String,
    /// The policy that decided.
    #[serde(default)]
    pub policy: String,
    pub slots: Vec<SlotDecision>,
}

/// An episode: the network, the initial placement and the trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Episode {
    pub format_version: u32,
    #[serde(default)]
    pub id: String,
    pub network: Network,
    pub initial: PlacementState,
    pub slots: Vec<Slot>,
}

fn err(field: impl Into<String>, reason: impl Into<String>) -> InstanceError {
    InstanceError { field: field.into(), reason: reason.into() }
}

fn finite_positive(field: impl Into<String>, v: f64) -> Result<(), InstanceError> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(err(field, format!("must be a finite positive number, got {v}")))
    }
}

/// Checks the model indices of one list: in range and listed once.
pub(crate) fn check_model_list(field: &str, list: &[usize], zoo: usize) -> Result<(), InstanceError> {
    for (j, &k) in list.iter().enumerate() {
        if k >= zoo {
            return Err(err(field, format!("model index {k} out of range (the zoo has {zoo} models)")));
        }
        if list[..j].contains(&k) {
            return Err(err(field, format!("model {k} listed twice")));
        }
    }
    Ok(())
}

impl Network {
    /// Download volume of edge server `m` in one slot, MB.
    pub fn edge_volume_mb(&self, m: usize) -> f64 {
        self.edge_download_bps[m] * self.slot_s / 8e6
    }

    /// Download volume of device `n` in one slot, MB.
    pub fn device_volume_mb(&self, n: usize) -> f64 {
        self.devices[n].download_bps * self.slot_s / 8e6
    }

    /// The instance of one slot: the slot's tasks as devices (instance device `i` is task
    /// `i`), with the placement fixed to `resident` when given (per edge server, and per
    /// network device: the lists are picked for the slot's devices here).
    pub fn slot_instance(&self, slot: &Slot, resident: Option<&Holdings>, id: &str) -> Instance {
        let devices = slot
            .tasks
            .iter()
            .map(|t| {
                let d = &self.devices[t.device];
                Device {
                    edge: t.edge,
                    tx_power_w: d.tx_power_w,
                    gain: t.gain,
                    flops: d.flops,
                    storage_mb: d.storage_mb,
                    task: Task { service: t.service, input_bits: t.input_bits, deadline_s: t.deadline_s },
                }
            })
            .collect();
        Instance {
            format_version: super::FORMAT_VERSION,
            id: id.to_string(),
            physics: self.physics.clone(),
            cloud: self.cloud.clone(),
            edges: self.edges.clone(),
            services: self.services.clone(),
            models: self.models.clone(),
            devices,
            resident: resident.map(|r| Resident {
                edges: r.edges.clone(),
                devices: slot.tasks.iter().map(|t| r.devices[t.device].clone()).collect(),
            }),
        }
    }

    /// Checks the network once: every field of the slot instances' network part, the
    /// download rates, the slot length and the demand model.
    pub fn validate(&self) -> Result<(), InstanceError> {
        finite_positive("network.slot_s", self.slot_s)?;
        if self.devices.is_empty() {
            return Err(err("network.devices", "at least one device is required"));
        }
        if self.edge_download_bps.len() != self.edges.len() {
            return Err(err(
                "network.edge_download_bps",
                format!(
                    "has {} entries, there are {} edge servers",
                    self.edge_download_bps.len(),
                    self.edges.len()
                ),
            ));
        }
        for (m, &r) in self.edge_download_bps.iter().enumerate() {
            finite_positive(format!("network.edge_download_bps[{m}]"), r)?;
        }
        // The network part through the instance checks: one task per device, each with
        // a harmless task, so every device and server field is checked by the same code.
        let probe = Slot {
            regime: 0,
            tasks: self
                .devices
                .iter()
                .enumerate()
                .map(|(n, d)| SlotTask {
                    device: n,
                    edge: d.edge,
                    gain: d.mean_gain,
                    service: 0,
                    input_bits: 1.0,
                    deadline_s: 1.0,
                })
                .collect(),
        };
        if let Some((n, _)) = self.devices.iter().enumerate().find(|(_, d)| d.edge >= self.edges.len()) {
            return Err(err(
                format!("network.devices[{n}].edge"),
                format!(
                    "edge index {} out of range (there are {} edges)",
                    self.devices[n].edge,
                    self.edges.len()
                ),
            ));
        }
        self.slot_instance(&probe, None, "network")
            .validate()
            .map_err(|e| err(format!("network.{}", e.field), e.reason))?;
        for (n, d) in self.devices.iter().enumerate() {
            finite_positive(format!("network.devices[{n}].download_bps"), d.download_bps)?;
            finite_positive(format!("network.devices[{n}].mean_gain"), d.mean_gain)?;
        }
        let q = self.services.len();
        let dm = &self.demand;
        if dm.regimes.is_empty() {
            return Err(err("network.demand.regimes", "at least one regime is required"));
        }
        for (r, reg) in dm.regimes.iter().enumerate() {
            let f = |s: &str| format!("network.demand.regimes[{r}].{s}");
            if reg.mix.len() != q || reg.mix.iter().any(|s| !(s.is_finite() && *s >= 0.0)) {
                return Err(err(f("mix"), format!("must hold {q} non-negative shares")));
            }
            if !(reg.p_active.is_finite() && (0.0..=1.0).contains(&reg.p_active)) {
                return Err(err(f("p_active"), format!("must lie in [0, 1], got {}", reg.p_active)));
            }
            finite_positive(f("deadline_scale"), reg.deadline_scale)?;
        }
        if !(dm.switch_prob.is_finite() && (0.0..=1.0).contains(&dm.switch_prob)) {
            return Err(err(
                "network.demand.switch_prob",
                format!("must lie in [0, 1], got {}", dm.switch_prob),
            ));
        }
        if dm.deadlines_s.len() != q {
            return Err(err("network.demand.deadlines_s", format!("must hold {q} ranges, one per service")));
        }
        Ok(())
    }
}

impl Episode {
    /// Number of slots `T`.
    pub fn n_slots(&self) -> usize {
        self.slots.len()
    }

    /// Checks every field once; the evaluator and policies may assume a valid episode.
    /// Errors name the field, e.g. `slots[3].tasks[7].deadline_s`.
    pub fn validate(&self) -> Result<(), InstanceError> {
        if self.format_version != EPISODE_FORMAT_VERSION {
            return Err(err(
                "format_version",
                format!(
                    "unsupported episode version {} (this build reads {EPISODE_FORMAT_VERSION})",
                    self.format_version
                ),
            ));
        }
        if self.slots.is_empty() || self.slots.len() > MAX_SLOTS {
            return Err(err("slots", format!("must hold 1..={MAX_SLOTS} slots, got {}", self.slots.len())));
        }
        let net = &self.network;
        net.validate()?;
        if net.window >= self.slots.len() {
            return Err(err(
                "network.window",
                format!(
                    "the first scored slot {} is past the last slot {}",
                    net.window,
                    self.slots.len() - 1
                ),
            ));
        }
        let zoo = net.models.len();
        for (field, stores, want) in [
            ("initial.edges", &self.initial.edges, net.edges.len()),
            ("initial.devices", &self.initial.devices, net.devices.len()),
        ] {
            if stores.len() != want {
                return Err(err(field, format!("has {} entries, the network needs {want}", stores.len())));
            }
            for (i, s) in stores.iter().enumerate() {
                let held = s.held();
                check_model_list(&format!("{field}[{i}]"), &held, zoo)?;
                for (j, d) in s.downloading.iter().enumerate() {
                    let size = net.models[d.model].size_mb;
                    if !(d.received_mb.is_finite() && d.received_mb >= 0.0 && d.received_mb < size) {
                        return Err(err(
                            format!("{field}[{i}].downloading[{j}].received_mb"),
                            format!("must lie in [0, {size}) (the model's size), got {}", d.received_mb),
                        ));
                    }
                }
            }
        }
        let mut seen = vec![usize::MAX; net.devices.len()];
        for (t, slot) in self.slots.iter().enumerate() {
            if slot.regime >= net.demand.regimes.len() {
                return Err(err(
                    format!("slots[{t}].regime"),
                    format!("regime {} out of range (there are {})", slot.regime, net.demand.regimes.len()),
                ));
            }
            for (i, task) in slot.tasks.iter().enumerate() {
                let f = |s: &str| format!("slots[{t}].tasks[{i}].{s}");
                if task.device >= net.devices.len() {
                    return Err(err(
                        f("device"),
                        format!(
                            "device index {} out of range (there are {})",
                            task.device,
                            net.devices.len()
                        ),
                    ));
                }
                if seen[task.device] == t {
                    return Err(err(
                        f("device"),
                        format!("device {} has two tasks in this slot", task.device),
                    ));
                }
                seen[task.device] = t;
                if task.edge >= net.edges.len() {
                    return Err(err(
                        f("edge"),
                        format!("edge index {} out of range (there are {})", task.edge, net.edges.len()),
                    ));
                }
                finite_positive(f("gain"), task.gain)?;
                if task.service >= net.services.len() {
                    return Err(err(
                        f("service"),
                        format!(
                            "service index {} out of range (there are {})",
                            task.service,
                            net.services.len()
                        ),
                    ));
                }
                finite_positive(f("input_bits"), task.input_bits)?;
                finite_positive(f("deadline_s"), task.deadline_s)?;
            }
            if !slot.tasks.is_empty() {
                // Capacity-dependent limits (option enumeration) through the instance checks.
                self.network.slot_instance(slot, None, "").validate().map_err(|e| {
                    err(format!("slots[{t}] (as an instance, device i = task i): {}", e.field), e.reason)
                })?;
            }
        }
        Ok(())
    }
}
