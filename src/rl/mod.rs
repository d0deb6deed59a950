//! The reinforcement-learning core shared by dnnrm's learned policies.
//!
//! What lives here, one question per file:
//!
//! | file            | question it answers                                              |
//! |-----------------|------------------------------------------------------------------|
//! | `replay.rs`     | where do transitions live and how is a batch drawn?              |
//! | `noise.rs`      | how is exploration noise generated (Gaussian, Ornstein-Uhlenbeck)?|
//! | `normalize.rs`  | how are observations normalised (running Welford statistics)?    |
//! | `nets.rs`       | what do the actor and critic networks look like?                 |
//! | `optim.rs`      | how are gradients clipped (global L2 norm)?                      |
//! | `checkpoint.rs` | how is an agent written to / read from disk, safely?             |
//! | `train.rs`      | the one off-policy training loop, its callbacks and evaluation   |
//! | `ddpg.rs`       | the DDPG algorithm (Lillicrap et al., 2016)                      |
//! | `pendulum.rs`   | the Pendulum-v1 swing-up task used to verify the core            |
//! | `set_dqn.rs`    | double DQN over candidate sets (the proposed scheme's learner)   |
//! | `sequential.rs` | the sequential environment of the proposed scheme                |
//!
//! Everything random is driven by [`rand_chacha::ChaCha8Rng`] generators seeded from one
//! `u64`; network initialisation uses `dfdx::prelude::Cpu::seed_from_u64`. No code in
//! this module prints, sleeps or reads the clock except where a caller asks for timing.
//!
//! Threads: dfdx's CPU matrix multiplications run on the global rayon pool (its size
//! follows `RAYON_NUM_THREADS`). Results are bit-identical run to run for a fixed thread
//! count; the determinism test pins one thread.

pub mod checkpoint;
pub mod ddpg;
pub mod nets;
pub mod noise;
pub mod normalize;
pub mod oneshot;
pub mod optim;
pub mod pendulum;
pub mod replay;
pub mod sequential;
pub mod set_dqn;
pub mod set_pg;
pub mod train;
pub mod train_ddpg;
pub mod train_drl;

pub use checkpoint::CheckpointError;
pub use ddpg::{Ddpg, DdpgConfig, DdpgError};
pub use noise::{NoiseConfig, NoiseProcess};
pub use normalize::RunningNorm;
pub use replay::{Batch, ReplayBuffer, ReplayError};
pub use train::{
    evaluate, train, Agent, Callback, CurvePoint, EarlyStopping, Env, EnvError, EvalStats, Event, Hooks,
    Progress, ProgressReporter, Step, StopReason, TrainConfig, TrainError, TrainReport, Transition,
    UpdateStats,
};

/// The random number generator used throughout the RL core.
pub type Rng = rand_chacha::ChaCha8Rng;

/// Builds the core's generator from a seed (one `u64` drives a whole run).
pub fn seeded_rng(seed: u64) -> Rng {
    use rand::SeedableRng;
    rand_chacha::ChaCha8Rng::seed_from_u64(seed)
}

/// Any error raised by the RL core; each part keeps its own enum, wrapped here.
#[derive(Debug, thiserror::Error)]
pub enum RlError {
    /// Replay-buffer misuse (dimension mismatch, sampling an empty buffer, ...).
    #[error(transparent)]
    Replay(#[from] ReplayError),
    /// DDPG configuration or update failure.
    #[error(transparent)]
    Ddpg(#[from] DdpgError),
    /// Saving or loading a checkpoint failed.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The environment rejected an action or failed.
    #[error(transparent)]
    Env(#[from] EnvError),
    /// The training loop failed.
    #[error(transparent)]
    Train(#[from] TrainError),
    /// Set-DQN configuration or update failure.
    #[error(transparent)]
    SetDqn(#[from] set_dqn::SetDqnError),
}
