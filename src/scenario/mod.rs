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
pub const SERVICES: [&str; 3] = ["classification", "detection", "segmentation"];
