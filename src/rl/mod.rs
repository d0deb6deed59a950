//! The reinforcement-learning core shared by dnnrm's learned policies.
//!
//! Only what learners share lives here, one question per file; each learned solver's
//! environment, policy and training live in its folder under `src/solvers/`.
//!
//! | file            | question it answers                                              |
//! |-----------------|------------------------------------------------------------------|
//! | `train.rs`      | the one training loop over an `Env`/`Agent` with an action type  |
//! | `harness.rs`    | what every training run writes: output folder, curve, train.json |
//! | `replay.rs`     | where do transitions live and how is a batch drawn?              |
//! | `noise.rs`      | how is exploration noise generated (Gaussian, Ornstein-Uhlenbeck)?|
//! | `normalize.rs`  | how are observations normalised (running Welford statistics)?    |
//! | `nets.rs`       | what do the actor and critic networks look like?                 |
//! | `optim.rs`      | how is one clipped optimiser step taken?                         |
//! | `checkpoint.rs` | how is a network written to / read from disk, safely?            |
//! | `scorer.rs`     | the candidate-scoring network shared by the set learners         |
//! | `ddpg.rs`       | the DDPG algorithm (Lillicrap et al., 2016), continuous actions  |
//! | `set_dqn.rs`    | double DQN over candidate sets, discrete actions                 |
//! | `set_pg.rs`     | self-critical REINFORCE over candidate sets, discrete actions    |
//! | `pendulum.rs`   | the Pendulum-v1 swing-up task used to verify the core            |
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
pub mod harness;
pub mod nets;
pub mod noise;
pub mod normalize;
pub mod optim;
pub mod pendulum;
pub mod replay;
pub mod scorer;
pub mod set_dqn;
pub mod set_pg;
pub mod train;

pub use checkpoint::CheckpointError;
pub use ddpg::{Ddpg, DdpgConfig, DdpgError};
pub use noise::{NoiseConfig, NoiseProcess};
pub use normalize::RunningNorm;
pub use replay::{Batch, ReplayBuffer, ReplayError};
pub use train::{
    evaluate, train, Agent, Callback, Continuous, ContinuousEnv, CurvePoint, Discrete, EarlyStopping, Env,
    EnvError, EvalStats, Event, Hooks, Progress, ProgressReporter, Step, StopReason, TrainConfig, TrainError,
    TrainReport, Transition, UpdateStats,
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
    /// Configuration or update failure of a learner over candidate sets.
    #[error(transparent)]
    Scorer(#[from] scorer::ScorerError),
    /// Writing a training output failed.
    #[error(transparent)]
    Io(#[from] crate::io::IoError),
}
