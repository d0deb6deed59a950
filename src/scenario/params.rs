//! Scenario parameters (MODEL.md §7), as an unchecked set of values validated once by
//! [`ScenarioParams::check`] into a [`Scenario`].

use serde::{Deserialize, Serialize};

use super::zoo::{Zoo, ZooError};

/// An impossible parameter value, naming the parameter.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParamError {
    #[error("parameter `{name}`: {reason}")]
    Invalid { name: String, reason: String },
    #[error("unknown scenario parameter `{0}` (see `dnnrm generate --help` for the list)")]
    Unknown(String),
    #[error("parameter `zoo`: {0}")]
    Zoo(#[from] ZooError),
}

macro_rules! scenario_params {
    ($( #[doc = $doc:literal] $name:ident : $ty:ty = $default:expr ),* $(,)?) => {
        /// Every parameter of a scenario; each field is also a scenario-CSV column and a
        /// `dnnrm generate` flag (with `-` for `_`). Unchecked: call [`Self::check`].
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct ScenarioParams {
            $( #[doc = $doc] pub $name: $ty, )*
        }

        impl Default for ScenarioParams {
            fn default() -> Self {
                ScenarioParams { $( $name: $default, )* }
            }
        }

        /// Parameter names, in declaration order.
        pub const PARAM_NAMES: &[&str] = &[$( stringify!($name) ),*];
        /// One-line description of each parameter, in the order of [`PARAM_NAMES`].
        pub const PARAM_DOCS: &[&str] = &[$( $doc.trim_ascii() ),*];

        impl ScenarioParams {
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

fn type_desc(ty: &str) -> &'static str {
    match ty {
        "usize" | "u32" => "a non-negative integer",
        "f64" => "a number",
        _ => "a text value",
    }
}

scenario_params! {
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

/// A validated scenario: parameters that passed [`ScenarioParams::check`] and the zoo.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub params: ScenarioParams,
    pub zoo: Zoo,
}

fn invalid(name: &str, reason: impl Into<String>) -> ParamError {
    ParamError::Invalid { name: name.to_string(), reason: reason.into() }
}

impl ScenarioParams {
    /// Validates every value once; the error names the first impossible parameter.
    pub fn check(&self) -> Result<Scenario, ParamError> {
        let p = self;
        if p.n_devices == 0 {
            return Err(invalid("n_devices", "must be at least 1"));
        }
        if p.n_edges == 0 {
            return Err(invalid("n_edges", "must be at least 1"));
        }
        if p.rbs == 0 {
            return Err(invalid("rbs", "must be at least 1"));
        }
        if p.edge_units == 0 {
            return Err(invalid("edge_units", "must be at least 1"));
        }
        for (name, v) in [
            ("floor_m", p.floor_m),
            ("bs_height_m", p.bs_height_m),
            ("device_height_m", p.device_height_m),
            ("carrier_ghz", p.carrier_ghz),
            ("eta_max", p.eta_max),
            ("rb_width_hz", p.rb_width_hz),
            ("edge_flops", p.edge_flops),
            ("device_flops_min", p.device_flops_min),
            ("cloud_flops", p.cloud_flops),
            ("backhaul_bps", p.backhaul_bps),
            ("input_mbit_min", p.input_mbit_min),
            ("deadline_classification_min_s", p.deadline_classification_min_s),
            ("deadline_detection_min_s", p.deadline_detection_min_s),
            ("deadline_segmentation_min_s", p.deadline_segmentation_min_s),
            ("deadline_scale", p.deadline_scale),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(invalid(name, format!("must be a finite positive number, got {v}")));
            }
        }
        for (name, v) in [
            ("shadowing_db", p.shadowing_db),
            ("edge_cache_mb", p.edge_cache_mb),
            ("device_storage_min_mb", p.device_storage_min_mb),
            ("backhaul_delay_s", p.backhaul_delay_s),
            ("share_classification", p.share_classification),
            ("share_detection", p.share_detection),
            ("share_segmentation", p.share_segmentation),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(invalid(name, format!("must be a finite non-negative number, got {v}")));
            }
        }
        for (name, v) in [("tx_power_dbm", p.tx_power_dbm), ("noise_figure_db", p.noise_figure_db)] {
            if !v.is_finite() {
                return Err(invalid(name, format!("must be finite, got {v}")));
            }
        }
        if !p.noise_dbm_per_hz.is_finite() {
            return Err(invalid("noise_dbm_per_hz", "must be finite"));
        }
        for (max_name, min, max) in [
            ("device_flops_max", p.device_flops_min, p.device_flops_max),
            ("device_storage_max_mb", p.device_storage_min_mb, p.device_storage_max_mb),
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
        let share_sum = p.share_classification + p.share_detection + p.share_segmentation;
        if (share_sum - 1.0).abs() > 1e-6 {
            return Err(invalid(
                "share_classification",
                format!("the service shares must sum to 1, they sum to {share_sum}"),
            ));
        }
        let zoo =
            if p.zoo.is_empty() { Zoo::embedded()? } else { Zoo::from_path(std::path::Path::new(&p.zoo))? };
        for (s, share) in super::SERVICES.iter().zip(self.shares()) {
            if share > 0.0 && !zoo.models.iter().any(|m| m.service == *s) {
                return Err(invalid(
                    &format!("share_{s}"),
                    format!("is {share} but the zoo has no {s} model"),
                ));
            }
        }
        Ok(Scenario { params: self.clone(), zoo })
    }

    /// Service shares in the order of [`super::SERVICES`].
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
