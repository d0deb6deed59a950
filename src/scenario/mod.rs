//! Seeded scenario generators (MODEL.md §7): parameters validated once, the model zoo,
//! the 3GPP InF-SL channel, the generator itself, and the one table of seed ranges.

pub mod channel;
pub mod dynamics;
pub mod generate;
pub mod params;
pub mod seeds;
pub mod zoo;

pub use dynamics::{generate_episode, Dynamics, DynamicsParams, Init};
pub use generate::generate;
pub use params::{DeviceClass, ParamError, Scenario, ScenarioParams, PARAM_NAMES};
pub use zoo::{Zoo, ZooError, ZooModel};

/// The three services of the default scenario, in index order.
/// The committed `online-default` episode setting (instances/online-default.csv, chosen
/// by the calibration in docs/online.md), as `name=value` scenario and dynamics
/// parameters: the setting the online learners train on.
pub const ONLINE_DEFAULT_PARAMS: &str = "n_slots=30 init=warm window=5 share_mcu=0.5 edge_cache_mb=250 \
     edge_download_bps=1e8 regime_deadline_scales=1;0.5;1";

pub const SERVICES: [&str; 3] = ["classification", "detection", "segmentation"];
