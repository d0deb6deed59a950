//! Scenario parameters (MODEL.md §7), as an unchecked set of values validated once by
//! [`ScenarioParams::check`] into a [`Scenario`].

use serde::{Deserialize, Serialize};

use super::zoo::{Zoo, ZooError};
use crate::model::limits::{MAX_DEVICES, MAX_EDGES, MAX_MODELS, MAX_OPTION_TRIPLES, MAX_RBS, MAX_UNITS};

/// An impossible parameter value, naming the parameter.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParamError {
    #[error("parameter `{name}`: {reason}")]
    Invalid { name: String, reason: String },
    #[error("unknown scenario parameter `{0}` (see `dnnrm generate --help` for the list)")]
    Unknown(String),
    #[error("parameter `zoo`")]
    Zoo(#[from] ZooError),
}

/// A struct of named parameters with defaults, a text setter and getter, and the lists
/// of names and docs (for CLI flags and CSV columns). Used by the scenario parameters
/// and by the episode dynamics ([`super::dynamics`]).
macro_rules! params_struct {
    ($(#[$meta:meta])* $st:ident, $names:ident, $docs:ident,
     $( #[doc = $doc:literal] $name:ident : $ty:ty = $default:expr ),* $(,)?) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct $st {
            $( #[doc = $doc] pub $name: $ty, )*
        }

        impl Default for $st {
            fn default() -> Self {
                $st { $( $name: $default, )* }
            }
        }

        /// Parameter names, in declaration order.
        pub const $names: &[&str] = &[$( stringify!($name) ),*];
        /// One-line description of each parameter, in the order of the names.
        pub const $docs: &[&str] = &[$( $doc.trim_ascii() ),*];

        impl $st {
            /// Sets one parameter from its text form; the error says what was expected.
            pub fn set(&mut self, name: &str, value: &str) -> Result<(), ParamError> {
                let v = value.trim();
                match name {
                    $( stringify!($name) => {
                        self.$name = v.parse::<$ty>().map_err(|_| ParamError::Invalid {
                            name: name.to_string(),
                            reason: format!("expected {}, got `{}`", type_desc(stringify!($ty)), value),
                        })?;
                    } )*
                    _ => return Err(ParamError::Unknown(name.to_string())),
                }
                Ok(())
            }

            /// The text form of one parameter (as written to CSV).
            pub fn get(&self, name: &str) -> Option<String> {
                match name {
                    $( stringify!($name) => Some(self.$name.to_string()), )*
                    _ => None,
                }
            }
        }
    };
}

pub(crate) fn type_desc(ty: &str) -> &'static str {
    match ty {
        "usize" | "u32" => "a non-negative integer",
        "f64" => "a number",
        _ => "a text value",
    }
}

pub(crate) use params_struct;

params_struct! {
    /// Every parameter of a scenario; each field is also a scenario-CSV column and a
    /// `dnnrm generate` flag (with `-` for `_`). Unchecked: call [`Self::check`].
    ScenarioParams, PARAM_NAMES, PARAM_DOCS,
    /// Number of devices with a task, N.
    n_devices: usize = 50,
    /// Number of edge servers, M (placed on a regular grid).
    n_edges: usize = 4,
    /// Side of the square factory floor, m.
    floor_m: f64 = 300.0,
    /// Base-station antenna height, m.
    bs_height_m: f64 = 8.0,
    /// Device height, m.
    device_height_m: f64 = 1.5,
    /// Carrier frequency fc, GHz.
    carrier_ghz: f64 = 3.5,
    /// Log-normal shadowing standard deviation, dB.
    shadowing_db: f64 = 5.7,
    /// Device transmit power P_n, dBm.
    tx_power_dbm: f64 = 10.0,
    /// Receiver noise figure NF, dB.
    noise_figure_db: f64 = 9.0,
    /// Noise power spectral density N0, dBm/Hz.
    noise_dbm_per_hz: f64 = -174.0,
    /// Spectral-efficiency cap eta_max, bit/s/Hz.
    eta_max: f64 = 7.4,
    /// Resource blocks per edge server NB_m.
    rbs: u32 = 20,
    /// Width of one resource block W_m, Hz.
    rb_width_hz: f64 = 0.5e6,
    /// Edge computing capacity F_m, FLOP/s.
    edge_flops: f64 = 2e12,
    /// Compute units per edge server U_m.
    edge_units: u32 = 20,
    /// Edge model cache C_m, MB.
    edge_cache_mb: f64 = 500.0,
    /// Lower bound of device computing f_n, FLOP/s.
    device_flops_min: f64 = 5e9,
    /// Upper bound of device computing f_n, FLOP/s.
    device_flops_max: f64 = 2e10,
    /// Lower bound of device storage C_n, MB.
    device_storage_min_mb: f64 = 20.0,
    /// Upper bound of device storage C_n, MB.
    device_storage_max_mb: f64 = 100.0,
    /// Share of `mcu` devices (microcontrollers; instances/CLASSES.md); the rest not `gpu-node` are `embedded`.
    share_mcu: f64 = 0.0,
    /// Share of `gpu-node` devices (embedded GPU modules).
    share_gpu_node: f64 = 0.0,
    /// Lower bound of an `mcu` device's compute, FLOP/s.
    mcu_flops_min: f64 = 1e8,
    /// Upper bound of an `mcu` device's compute, FLOP/s.
    mcu_flops_max: f64 = 1e9,
    /// Lower bound of an `mcu` device's model storage, MB.
    mcu_storage_min_mb: f64 = 1.0,
    /// Upper bound of an `mcu` device's model storage, MB.
    mcu_storage_max_mb: f64 = 8.0,
    /// Lower bound of a `gpu-node` device's compute, FLOP/s.
    gpu_node_flops_min: f64 = 1e11,
    /// Upper bound of a `gpu-node` device's compute, FLOP/s.
    gpu_node_flops_max: f64 = 1e12,
    /// Lower bound of a `gpu-node` device's model storage, MB.
    gpu_node_storage_min_mb: f64 = 1000.0,
    /// Upper bound of a `gpu-node` device's model storage, MB.
    gpu_node_storage_max_mb: f64 = 4000.0,
    /// Cloud computing F_c, FLOP/s.
    cloud_flops: f64 = 2e13,
    /// Backhaul rate R^bh_m, bit/s.
    backhaul_bps: f64 = 5e7,
    /// Backhaul propagation delay tau^bh_m, s.
    backhaul_delay_s: f64 = 0.1,
    /// Share of classification tasks.
    share_classification: f64 = 0.6,
    /// Share of detection tasks.
    share_detection: f64 = 0.3,
    /// Share of segmentation tasks.
    share_segmentation: f64 = 0.1,
    /// Lower bound of the input size s_n, Mbit.
    input_mbit_min: f64 = 0.2,
    /// Upper bound of the input size s_n, Mbit.
    input_mbit_max: f64 = 2.0,
    /// Lower bound of classification deadlines, s (before scaling).
    deadline_classification_min_s: f64 = 0.05,
    /// Upper bound of classification deadlines, s (before scaling).
    deadline_classification_max_s: f64 = 0.3,
    /// Lower bound of detection deadlines, s (before scaling).
    deadline_detection_min_s: f64 = 0.1,
    /// Upper bound of detection deadlines, s (before scaling).
    deadline_detection_max_s: f64 = 0.5,
    /// Lower bound of segmentation deadlines, s (before scaling).
    deadline_segmentation_min_s: f64 = 0.2,
    /// Upper bound of segmentation deadlines, s (before scaling).
    deadline_segmentation_max_s: f64 = 1.0,
    /// Factor applied to every deadline.
    deadline_scale: f64 = 1.0,
    /// Model-zoo CSV path; empty for the embedded zoo (instances/zoo.csv).
    zoo: String = String::new(),
}

/// A class of devices: its share of the fleet and its compute and storage ranges.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DeviceClass {
    pub name: &'static str,
    pub share: f64,
    /// `(min, max)` FLOP/s.
    pub flops: (f64, f64),
    /// `(min, max)` MB of model storage.
    pub storage_mb: (f64, f64),
}

/// A validated scenario: parameters that passed [`ScenarioParams::check`] and the zoo.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub params: ScenarioParams,
    pub zoo: Zoo,
}

fn invalid(name: &str, reason: impl Into<String>) -> ParamError {
    ParamError::Invalid { name: name.to_string(), reason: reason.into() }
}

/// The allowed range of one real-valued parameter: `min..=max`, or `(min, max]` when
/// `min_open`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamRange {
    pub name: &'static str,
    pub min: f64,
    pub min_open: bool,
    pub max: f64,
}

impl ParamRange {
    const fn open(name: &'static str, min: f64, max: f64) -> Self {
        ParamRange { name, min, min_open: true, max }
    }
    const fn closed(name: &'static str, min: f64, max: f64) -> Self {
        ParamRange { name, min, min_open: false, max }
    }

    pub fn contains(&self, v: f64) -> bool {
        (if self.min_open { v > self.min } else { v >= self.min }) && v <= self.max
    }
}

impl std::fmt::Display for ParamRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let open = if self.min_open { "(" } else { "[" };
        write!(f, "{open}{}, {}]", short(self.min), short(self.max))
    }
}

/// A number as a person writes it: `1e308`, not 309 digits.
fn short(v: f64) -> String {
    if v != 0.0 && v.is_finite() && !(1e-4..1e7).contains(&v.abs()) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

/// The range of every real-valued parameter. Wide enough for any physical setting,
/// narrow enough that every value the generator derives (transmit power in W, channel
/// gains, input bits, scaled deadlines, rates) is finite and passes instance
/// validation: e.g. a carrier of 1e308 GHz or a base station 1e308 m high would give
/// zero gains, a transmit power of 1e308 dBm an infinite one.
pub const PARAM_RANGES: &[ParamRange] = &[
    ParamRange::open("floor_m", 0.0, 1e5),
    ParamRange::open("bs_height_m", 0.0, 1e3),
    ParamRange::open("device_height_m", 0.0, 1e3),
    // 3GPP TR 38.901 covers 0.5-100 GHz.
    ParamRange::closed("carrier_ghz", 0.5, 100.0),
    ParamRange::closed("shadowing_db", 0.0, 50.0),
    ParamRange::closed("tx_power_dbm", -100.0, 100.0),
    ParamRange::closed("noise_figure_db", 0.0, 100.0),
    ParamRange::closed("noise_dbm_per_hz", -300.0, 0.0),
    ParamRange::open("eta_max", 0.0, 100.0),
    ParamRange::open("rb_width_hz", 0.0, 1e9),
    ParamRange::open("edge_flops", 0.0, 1e20),
    ParamRange::closed("edge_cache_mb", 0.0, 1e9),
    ParamRange::open("device_flops_min", 0.0, 1e20),
    ParamRange::open("device_flops_max", 0.0, 1e20),
    ParamRange::closed("device_storage_min_mb", 0.0, 1e9),
    ParamRange::closed("device_storage_max_mb", 0.0, 1e9),
    ParamRange::closed("share_mcu", 0.0, 1.0),
    ParamRange::closed("share_gpu_node", 0.0, 1.0),
    ParamRange::open("mcu_flops_min", 0.0, 1e20),
    ParamRange::open("mcu_flops_max", 0.0, 1e20),
    ParamRange::closed("mcu_storage_min_mb", 0.0, 1e9),
    ParamRange::closed("mcu_storage_max_mb", 0.0, 1e9),
    ParamRange::open("gpu_node_flops_min", 0.0, 1e20),
    ParamRange::open("gpu_node_flops_max", 0.0, 1e20),
    ParamRange::closed("gpu_node_storage_min_mb", 0.0, 1e9),
    ParamRange::closed("gpu_node_storage_max_mb", 0.0, 1e9),
    ParamRange::open("cloud_flops", 0.0, 1e20),
    ParamRange::open("backhaul_bps", 0.0, 1e15),
    ParamRange::closed("backhaul_delay_s", 0.0, 1e6),
    ParamRange::closed("share_classification", 0.0, 1.0),
    ParamRange::closed("share_detection", 0.0, 1.0),
    ParamRange::closed("share_segmentation", 0.0, 1.0),
    ParamRange::open("input_mbit_min", 0.0, 1e9),
    ParamRange::open("input_mbit_max", 0.0, 1e9),
    ParamRange::open("deadline_classification_min_s", 0.0, 1e6),
    ParamRange::open("deadline_classification_max_s", 0.0, 1e6),
    ParamRange::open("deadline_detection_min_s", 0.0, 1e6),
    ParamRange::open("deadline_detection_max_s", 0.0, 1e6),
    ParamRange::open("deadline_segmentation_min_s", 0.0, 1e6),
    ParamRange::open("deadline_segmentation_max_s", 0.0, 1e6),
    ParamRange::open("deadline_scale", 0.0, 1e6),
];

impl ScenarioParams {
    /// The value of a real-valued parameter of [`PARAM_RANGES`].
    fn real(&self, name: &str) -> Option<f64> {
        self.get(name).and_then(|v| v.parse().ok())
    }

    /// Validates every value once; the error names the first impossible parameter.
    /// Sizes are checked against [`crate::model::limits`] before anything is allocated.
    pub fn check(&self) -> Result<Scenario, ParamError> {
        let p = self;
        for (name, v, max) in [
            ("n_devices", p.n_devices as u64, MAX_DEVICES as u64),
            ("n_edges", p.n_edges as u64, MAX_EDGES as u64),
            ("rbs", u64::from(p.rbs), u64::from(MAX_RBS)),
            ("edge_units", u64::from(p.edge_units), u64::from(MAX_UNITS)),
        ] {
            if !(1..=max).contains(&v) {
                return Err(invalid(name, format!("must lie in 1..={max}, got {v}")));
            }
        }
        for r in PARAM_RANGES {
            // Every name of the table is a real-valued parameter (a unit test checks it).
            let v = p.real(r.name).unwrap_or(f64::NAN);
            if !r.contains(v) {
                return Err(invalid(r.name, format!("must lie in {r}, got {}", short(v))));
            }
        }
        for (max_name, min, max) in [
            ("device_flops_max", p.device_flops_min, p.device_flops_max),
            ("device_storage_max_mb", p.device_storage_min_mb, p.device_storage_max_mb),
            ("mcu_flops_max", p.mcu_flops_min, p.mcu_flops_max),
            ("mcu_storage_max_mb", p.mcu_storage_min_mb, p.mcu_storage_max_mb),
            ("gpu_node_flops_max", p.gpu_node_flops_min, p.gpu_node_flops_max),
            ("gpu_node_storage_max_mb", p.gpu_node_storage_min_mb, p.gpu_node_storage_max_mb),
            ("input_mbit_max", p.input_mbit_min, p.input_mbit_max),
            (
                "deadline_classification_max_s",
                p.deadline_classification_min_s,
                p.deadline_classification_max_s,
            ),
            ("deadline_detection_max_s", p.deadline_detection_min_s, p.deadline_detection_max_s),
            ("deadline_segmentation_max_s", p.deadline_segmentation_min_s, p.deadline_segmentation_max_s),
        ] {
            if !(max.is_finite() && max >= min) {
                return Err(invalid(
                    max_name,
                    format!("must be finite and at least the lower bound {min}, got {max}"),
                ));
            }
        }
        let class_sum = p.share_mcu + p.share_gpu_node;
        if class_sum > 1.0 + 1e-9 {
            return Err(invalid(
                "share_mcu",
                format!(
                    "share_mcu + share_gpu_node must be at most 1 (the rest are embedded), got {class_sum}"
                ),
            ));
        }
        let share_sum = p.share_classification + p.share_detection + p.share_segmentation;
        if (share_sum - 1.0).abs() > 1e-6 {
            return Err(invalid(
                "share_classification",
                format!("the service shares must sum to 1, they sum to {share_sum}"),
            ));
        }
        let zoo =
            if p.zoo.is_empty() { Zoo::embedded()? } else { Zoo::from_path(std::path::Path::new(&p.zoo))? };
        if zoo.models.len() > MAX_MODELS {
            return Err(invalid(
                "zoo",
                format!("has {} models, more than the limit {MAX_MODELS}", zoo.models.len()),
            ));
        }
        if let Some(m) = zoo.models.iter().find(|m| !m.flops().is_finite()) {
            return Err(invalid(
                "zoo",
                format!("model `{}`: {} GMACs is not a finite workload", m.name, m.gmacs),
            ));
        }
        let mut max_models_per_service = 0u64;
        for (s, share) in super::SERVICES.iter().zip(self.shares()) {
            let count = zoo.models.iter().filter(|m| m.service == *s).count() as u64;
            if share > 0.0 && count == 0 {
                return Err(invalid(
                    &format!("share_{s}"),
                    format!("is {share} but the zoo has no {s} model"),
                ));
            }
            if share > 0.0 {
                max_models_per_service = max_models_per_service.max(count);
            }
        }
        // An upper bound of the generated instances' option-enumeration work.
        let triples = p.n_devices as u64 * u64::from(p.rbs) * max_models_per_service;
        if triples > MAX_OPTION_TRIPLES {
            return Err(invalid(
                "n_devices",
                format!(
                    "n_devices x rbs x models per service = {} x {} x {max_models_per_service} = {triples} \
                     (task, model, RB count) triples exceeds the option-enumeration limit \
                     {MAX_OPTION_TRIPLES}: lower n_devices or rbs",
                    p.n_devices, p.rbs
                ),
            ));
        }
        Ok(Scenario { params: self.clone(), zoo })
    }

    /// Service shares in the order of [`super::SERVICES`].
    /// Each device class with its share and `(flops, storage)` ranges, in the order
    /// classes are drawn: `mcu`, `embedded`, `gpu-node`.
    pub fn device_classes(&self) -> [DeviceClass; 3] {
        let embedded = (1.0 - self.share_mcu - self.share_gpu_node).max(0.0);
        [
            DeviceClass {
                name: "mcu",
                share: self.share_mcu,
                flops: (self.mcu_flops_min, self.mcu_flops_max),
                storage_mb: (self.mcu_storage_min_mb, self.mcu_storage_max_mb),
            },
            DeviceClass {
                name: "embedded",
                share: embedded,
                flops: (self.device_flops_min, self.device_flops_max),
                storage_mb: (self.device_storage_min_mb, self.device_storage_max_mb),
            },
            DeviceClass {
                name: "gpu-node",
                share: self.share_gpu_node,
                flops: (self.gpu_node_flops_min, self.gpu_node_flops_max),
                storage_mb: (self.gpu_node_storage_min_mb, self.gpu_node_storage_max_mb),
            },
        ]
    }

    /// Whether the fleet mixes classes (otherwise every device is `embedded` and the
    /// generator draws no class, so single-class instances stay as they were).
    pub fn mixed_fleet(&self) -> bool {
        self.share_mcu > 0.0 || self.share_gpu_node > 0.0
    }

    pub fn shares(&self) -> [f64; 3] {
        [self.share_classification, self.share_detection, self.share_segmentation]
    }

    /// Deadline range `(min, max)` of each service before scaling, in the order of
    /// [`super::SERVICES`].
    pub fn deadline_ranges(&self) -> [(f64, f64); 3] {
        [
            (self.deadline_classification_min_s, self.deadline_classification_max_s),
            (self.deadline_detection_min_s, self.deadline_detection_max_s),
            (self.deadline_segmentation_min_s, self.deadline_segmentation_max_s),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_range_names_a_real_parameter_and_holds_its_default() {
        let d = ScenarioParams::default();
        for r in PARAM_RANGES {
            let v = d.real(r.name).unwrap_or_else(|| panic!("{} is not a real parameter", r.name));
            assert!(r.contains(v), "default {} = {v} outside {r}", r.name);
        }
    }
}
