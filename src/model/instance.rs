//! An instance: one time slot of the end-edge-cloud network (MODEL.md §1).

use serde::{Deserialize, Serialize};

use super::limits::{
    MAX_DEVICES, MAX_EDGES, MAX_MODELS, MAX_OPTION_TRIPLES, MAX_RBS, MAX_SERVICES, MAX_UNITS,
};

/// Physical constants shared by every link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Physics {
    /// Noise power spectral density `N0` in dBm/Hz (default -174).
    pub noise_dbm_per_hz: f64,
    /// Receiver noise figure `NF` in dB (default 9).
    pub noise_figure_db: f64,
    /// Spectral-efficiency cap `eta_max` in bit/s/Hz (default 7.4, 256-QAM).
    pub eta_max: f64,
}

impl Default for Physics {
    fn default() -> Self {
        Physics { noise_dbm_per_hz: -174.0, noise_figure_db: 9.0, eta_max: 7.4 }
    }
}

impl Physics {
    /// Noise power per Hz times the noise figure, in W/Hz (linear `N0 * NF`).
    pub fn noise_w_per_hz(&self) -> f64 {
        10f64.powf((self.noise_dbm_per_hz + self.noise_figure_db - 30.0) / 10.0)
    }
}

/// The cloud: every model, elastic compute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cloud {
    /// `F_c`, FLOP/s available to each task.
    pub flops: f64,
}

/// An edge server co-located with a base station.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EdgeServer {
    /// `NB_m`: uplink resource blocks.
    pub rbs: u32,
    /// `W_m`: width of one RB in Hz.
    pub rb_width_hz: f64,
    /// `F_m`: compute capacity in FLOP/s.
    pub flops: f64,
    /// `U_m`: number of equal compute units `F_m` is divided into.
    pub units: u32,
    /// `C_m`: model cache in MB.
    pub cache_mb: f64,
    /// `R^bh_m`: backhaul rate to the cloud in bit/s (per task, not shared).
    pub backhaul_bps: f64,
    /// `tau^bh_m`: backhaul propagation delay in s.
    pub backhaul_delay_s: f64,
}

/// A DNN model of the zoo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnnModel {
    pub name: String,
    /// Index into [`Instance::services`].
    pub service: usize,
    /// `alpha_k` in [0, 1].
    pub accuracy: f64,
    /// `w_k`: FLOPs per inference.
    pub flops: f64,
    /// `S_k`: size in MB.
    pub size_mb: f64,
}

/// The inference task of a device in this slot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Task {
    /// `q_n`: index into [`Instance::services`].
    pub service: usize,
    /// `s_n`: input size in bits.
    pub input_bits: f64,
    /// `T_n`: deadline in s.
    pub deadline_s: f64,
}

/// An end device with its task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Device {
    /// `a(n)`: index of the associated edge server.
    pub edge: usize,
    /// `P_n`: transmit power in W.
    pub tx_power_w: f64,
    /// `g_n`: linear channel power gain to its edge server.
    pub gain: f64,
    /// `f_n`: local compute in FLOP/s.
    pub flops: f64,
    /// `C_n`: model storage in MB.
    pub storage_mb: f64,
    pub task: Task,
}

/// One time slot: the network, the zoo and the tasks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Instance {
    pub format_version: u32,
    /// Free-form identifier (set by the generator: scenario and seed).
    #[serde(default)]
    pub id: String,
    pub physics: Physics,
    pub cloud: Cloud,
    pub edges: Vec<EdgeServer>,
    pub services: Vec<String>,
    pub models: Vec<DnnModel>,
    pub devices: Vec<Device>,
    /// Placement given, not decided (MODEL.md §9.4, the per-slot problem of an episode):
    /// when present, a task may use only the models listed here, and a solution's
    /// `edge_cache` and `device_models` must be subsets of these lists. Absent in the
    /// static problem of §1-§8, where placement is free.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resident: Option<Resident>,
}

/// The models resident at each edge server and each device (indices into
/// [`Instance::models`]), for an instance whose placement is fixed.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resident {
    /// One list per edge server.
    pub edges: Vec<Vec<usize>>,
    /// One list per device, in device order.
    pub devices: Vec<Vec<usize>>,
}

/// A field of an instance holds an impossible value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InstanceError {
    /// Path of the offending field, e.g. `edges[2].rbs`.
    pub field: String,
    pub reason: String,
}

fn err(field: impl Into<String>, reason: impl Into<String>) -> InstanceError {
    InstanceError { field: field.into(), reason: reason.into() }
}

fn positive(field: impl Into<String>, v: f64) -> Result<(), InstanceError> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(err(field, format!("must be a finite positive number, got {v}")))
    }
}

fn non_negative(field: impl Into<String>, v: f64) -> Result<(), InstanceError> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(err(field, format!("must be a finite non-negative number, got {v}")))
    }
}

impl Instance {
    /// Number of tasks (= devices) `N`.
    pub fn n_tasks(&self) -> usize {
        self.devices.len()
    }

    /// Checks every field once; solvers may assume a validated instance.
    pub fn validate(&self) -> Result<(), InstanceError> {
        if self.format_version != super::FORMAT_VERSION {
            return Err(err(
                "format_version",
                format!(
                    "unsupported version {} (this build reads {})",
                    self.format_version,
                    super::FORMAT_VERSION
                ),
            ));
        }
        // Sizes first, before anything is allocated from them.
        for (field, len, max) in [
            ("devices", self.devices.len(), MAX_DEVICES),
            ("edges", self.edges.len(), MAX_EDGES),
            ("services", self.services.len(), MAX_SERVICES),
            ("models", self.models.len(), MAX_MODELS),
        ] {
            if len > max {
                return Err(err(field, format!("has {len} entries, more than the limit {max}")));
            }
        }
        let p = &self.physics;
        if !p.noise_dbm_per_hz.is_finite() {
            return Err(err("physics.noise_dbm_per_hz", "must be finite"));
        }
        if !p.noise_figure_db.is_finite() {
            return Err(err("physics.noise_figure_db", "must be finite"));
        }
        let noise = p.noise_w_per_hz();
        if !(noise.is_finite() && noise > 0.0) {
            return Err(err(
                "physics.noise_dbm_per_hz",
                format!(
                    "with noise_figure_db {} gives a noise density of {noise} W/Hz, which is not a finite \
                     positive number",
                    p.noise_figure_db
                ),
            ));
        }
        positive("physics.eta_max", p.eta_max)?;
        positive("cloud.flops", self.cloud.flops)?;
        if self.edges.is_empty() {
            return Err(err("edges", "at least one edge server is required"));
        }
        for (m, e) in self.edges.iter().enumerate() {
            for (name, v, max) in [("rbs", e.rbs, MAX_RBS), ("units", e.units, MAX_UNITS)] {
                if !(1..=max).contains(&v) {
                    return Err(err(format!("edges[{m}].{name}"), format!("must lie in 1..={max}, got {v}")));
                }
            }
            positive(format!("edges[{m}].rb_width_hz"), e.rb_width_hz)?;
            positive(format!("edges[{m}].flops"), e.flops)?;
            non_negative(format!("edges[{m}].cache_mb"), e.cache_mb)?;
            positive(format!("edges[{m}].backhaul_bps"), e.backhaul_bps)?;
            non_negative(format!("edges[{m}].backhaul_delay_s"), e.backhaul_delay_s)?;
        }
        if self.services.is_empty() {
            return Err(err("services", "at least one service is required"));
        }
        if self.models.is_empty() {
            return Err(err("models", "the model zoo is empty"));
        }
        for (k, md) in self.models.iter().enumerate() {
            if md.service >= self.services.len() {
                return Err(err(
                    format!("models[{k}].service"),
                    format!(
                        "service index {} out of range (there are {} services)",
                        md.service,
                        self.services.len()
                    ),
                ));
            }
            if !(md.accuracy.is_finite() && (0.0..=1.0).contains(&md.accuracy)) {
                return Err(err(
                    format!("models[{k}].accuracy"),
                    format!("must lie in [0, 1], got {}", md.accuracy),
                ));
            }
            positive(format!("models[{k}].flops"), md.flops)?;
            non_negative(format!("models[{k}].size_mb"), md.size_mb)?;
        }
        if self.devices.is_empty() {
            return Err(err("devices", "at least one device with a task is required"));
        }
        for (n, d) in self.devices.iter().enumerate() {
            if d.edge >= self.edges.len() {
                return Err(err(
                    format!("devices[{n}].edge"),
                    format!("edge index {} out of range (there are {} edges)", d.edge, self.edges.len()),
                ));
            }
            positive(format!("devices[{n}].tx_power_w"), d.tx_power_w)?;
            positive(format!("devices[{n}].gain"), d.gain)?;
            positive(format!("devices[{n}].flops"), d.flops)?;
            non_negative(format!("devices[{n}].storage_mb"), d.storage_mb)?;
            if d.task.service >= self.services.len() {
                return Err(err(
                    format!("devices[{n}].task.service"),
                    format!(
                        "service index {} out of range (there are {} services)",
                        d.task.service,
                        self.services.len()
                    ),
                ));
            }
            positive(format!("devices[{n}].task.input_bits"), d.task.input_bits)?;
            positive(format!("devices[{n}].task.deadline_s"), d.task.deadline_s)?;
        }
        self.check_resident()?;
        self.check_option_triples()
    }

    /// May edge server `m` serve with model `k`? Always, unless placement is fixed.
    #[inline]
    pub fn edge_may_use(&self, m: usize, k: usize) -> bool {
        self.resident.as_ref().is_none_or(|r| r.edges[m].contains(&k))
    }

    /// May device `n` run model `k` itself? Always, unless placement is fixed.
    #[inline]
    pub fn device_may_use(&self, n: usize, k: usize) -> bool {
        self.resident.as_ref().is_none_or(|r| r.devices[n].contains(&k))
    }

    /// A fixed placement has one list per server and device, known models listed once,
    /// and fits every storage row (§4.1). Indices must have been checked.
    fn check_resident(&self) -> Result<(), InstanceError> {
        let Some(r) = &self.resident else { return Ok(()) };
        for (field, lists, caps) in [
            ("resident.edges", &r.edges, self.edges.iter().map(|e| e.cache_mb).collect::<Vec<_>>()),
            ("resident.devices", &r.devices, self.devices.iter().map(|d| d.storage_mb).collect()),
        ] {
            if lists.len() != caps.len() {
                return Err(err(
                    field,
                    format!("has {} lists, the instance needs {}", lists.len(), caps.len()),
                ));
            }
            for (i, (list, cap)) in lists.iter().zip(caps).enumerate() {
                let mut used = 0.0;
                for (j, &k) in list.iter().enumerate() {
                    if k >= self.models.len() {
                        return Err(err(
                            format!("{field}[{i}]"),
                            format!(
                                "model index {k} out of range (the zoo has {} models)",
                                self.models.len()
                            ),
                        ));
                    }
                    if list[..j].contains(&k) {
                        return Err(err(format!("{field}[{i}]"), format!("model {k} listed twice")));
                    }
                    used += self.models[k].size_mb;
                }
                if used > cap * (1.0 + 1e-12) + 1e-9 {
                    return Err(err(
                        format!("{field}[{i}]"),
                        format!("resident models take {used:.3} MB, more than the capacity {cap:.3} MB"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The work of option enumeration, `sum_n |K_{q_n}| * NB_{a(n)}`, against
    /// [`MAX_OPTION_TRIPLES`]; the error names the edge server with the largest share.
    /// Indices must have been checked.
    fn check_option_triples(&self) -> Result<(), InstanceError> {
        let mut models_per_service = vec![0u64; self.services.len()];
        for md in &self.models {
            models_per_service[md.service] += 1;
        }
        let mut per_edge = vec![0u64; self.edges.len()];
        for d in &self.devices {
            per_edge[d.edge] += models_per_service[d.task.service] * u64::from(self.edges[d.edge].rbs);
        }
        let total: u64 = per_edge.iter().sum();
        if total > MAX_OPTION_TRIPLES {
            let (m, share) = per_edge.iter().enumerate().max_by_key(|&(_, w)| *w).unwrap_or((0, &0));
            return Err(err(
                format!("edges[{m}].rbs"),
                format!(
                    "option enumeration would examine {total} (task, model, RB count) triples, more \
                     than the limit {MAX_OPTION_TRIPLES} ({share} of them at this server with {} RBs): \
                     use fewer RBs, tasks or models per service",
                    self.edges[m].rbs
                ),
            ));
        }
        Ok(())
    }

    /// Indices of the tasks associated with edge server `m`.
    pub fn tasks_of_edge(&self, m: usize) -> Vec<usize> {
        (0..self.devices.len()).filter(|&n| self.devices[n].edge == m).collect()
    }
}
