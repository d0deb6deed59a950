//! Uniform experience replay with flat `f32` storage.
//!
//! Transitions are stored in five flat vectors (observations, actions, rewards, next
//! observations, termination flags). The buffer grows until `capacity` and then
//! overwrites the oldest transition (ring buffer). Sampling is uniform with replacement
//! and draws indices from the caller's seeded generator only.

use rand::Rng;

/// Errors raised by the replay buffer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// Capacity, observation or action dimension was zero.
    #[error("replay buffer: {what} must be positive")]
    ZeroSize {
        /// Which size was zero.
        what: &'static str,
    },
    /// A pushed slice had the wrong length.
    #[error("replay buffer: {what} has length {got}, expected {expected}")]
    DimensionMismatch {
        /// Which slice was wrong.
        what: &'static str,
        /// Length expected.
        expected: usize,
        /// Length received.
        got: usize,
    },
    /// Sampling needs at least one stored transition and a positive batch size.
    #[error("replay buffer: cannot sample {batch_size} transitions from {len} stored")]
    CannotSample {
        /// Requested batch size.
        batch_size: usize,
        /// Transitions stored.
        len: usize,
    },
}

/// A batch of transitions in row-major flat layout (`size` rows).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    /// Number of transitions in the batch.
    pub size: usize,
    /// Observations, `size * obs_dim`.
    pub obs: Vec<f32>,
    /// Actions, `size * act_dim`.
    pub act: Vec<f32>,
    /// Rewards, `size`.
    pub reward: Vec<f32>,
    /// Next observations, `size * obs_dim`.
    pub next_obs: Vec<f32>,
    /// 1.0 where the episode terminated (not merely truncated) after the transition.
    pub terminated: Vec<f32>,
}

/// Fixed-capacity ring buffer of transitions.
#[derive(Debug, Clone)]
pub struct ReplayBuffer {
    capacity: usize,
    obs_dim: usize,
    act_dim: usize,
    obs: Vec<f32>,
    act: Vec<f32>,
    reward: Vec<f32>,
    next_obs: Vec<f32>,
    terminated: Vec<f32>,
    /// Next slot to write once the buffer is full.
    pos: usize,
}

impl ReplayBuffer {
    /// An empty buffer holding at most `capacity` transitions.
    pub fn new(capacity: usize, obs_dim: usize, act_dim: usize) -> Result<Self, ReplayError> {
        for (what, v) in [("capacity", capacity), ("obs_dim", obs_dim), ("act_dim", act_dim)] {
            if v == 0 {
                return Err(ReplayError::ZeroSize { what });
            }
        }
        Ok(Self {
            capacity,
            obs_dim,
            act_dim,
            obs: Vec::new(),
            act: Vec::new(),
            reward: Vec::new(),
            next_obs: Vec::new(),
            terminated: Vec::new(),
            pos: 0,
        })
    }

    /// Number of stored transitions.
    pub fn len(&self) -> usize {
        self.reward.len()
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.reward.is_empty()
    }

    /// Maximum number of stored transitions.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Observation dimension.
    pub fn obs_dim(&self) -> usize {
        self.obs_dim
    }

    /// Action dimension.
    pub fn act_dim(&self) -> usize {
        self.act_dim
    }

    /// Stores one transition, overwriting the oldest one when full.
    pub fn push(
        &mut self,
        obs: &[f32],
        act: &[f32],
        reward: f32,
        next_obs: &[f32],
        terminated: bool,
    ) -> Result<(), ReplayError> {
        self.check("obs", obs.len(), self.obs_dim)?;
        self.check("act", act.len(), self.act_dim)?;
        self.check("next_obs", next_obs.len(), self.obs_dim)?;
        let done = if terminated { 1.0 } else { 0.0 };
        if self.len() < self.capacity {
            self.obs.extend_from_slice(obs);
            self.act.extend_from_slice(act);
            self.reward.push(reward);
            self.next_obs.extend_from_slice(next_obs);
            self.terminated.push(done);
        } else {
            let i = self.pos;
            let (o, a) = (self.obs_dim, self.act_dim);
            self.obs[i * o..(i + 1) * o].copy_from_slice(obs);
            self.act[i * a..(i + 1) * a].copy_from_slice(act);
            self.reward[i] = reward;
            self.next_obs[i * o..(i + 1) * o].copy_from_slice(next_obs);
            self.terminated[i] = done;
            self.pos = (self.pos + 1) % self.capacity;
        }
        Ok(())
    }

    fn check(&self, what: &'static str, got: usize, expected: usize) -> Result<(), ReplayError> {
        if got == expected {
            Ok(())
        } else {
            Err(ReplayError::DimensionMismatch { what, expected, got })
        }
    }

    /// Draws `batch_size` transitions uniformly with replacement.
    pub fn sample<R: Rng + ?Sized>(&self, batch_size: usize, rng: &mut R) -> Result<Batch, ReplayError> {
        let mut batch = Batch::default();
        self.sample_into(batch_size, rng, &mut batch)?;
        Ok(batch)
    }

    /// Like [`ReplayBuffer::sample`] but reuses `batch`'s allocations.
    pub fn sample_into<R: Rng + ?Sized>(
        &self,
        batch_size: usize,
        rng: &mut R,
        batch: &mut Batch,
    ) -> Result<(), ReplayError> {
        let len = self.len();
        if len == 0 || batch_size == 0 {
            return Err(ReplayError::CannotSample { batch_size, len });
        }
        let (o, a) = (self.obs_dim, self.act_dim);
        batch.size = batch_size;
        for v in
            [&mut batch.obs, &mut batch.act, &mut batch.reward, &mut batch.next_obs, &mut batch.terminated]
        {
            v.clear();
        }
        for _ in 0..batch_size {
            let i = rng.gen_range(0..len);
            batch.obs.extend_from_slice(&self.obs[i * o..(i + 1) * o]);
            batch.act.extend_from_slice(&self.act[i * a..(i + 1) * a]);
            batch.reward.push(self.reward[i]);
            batch.next_obs.extend_from_slice(&self.next_obs[i * o..(i + 1) * o]);
            batch.terminated.push(self.terminated[i]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rl::seeded_rng;

    fn filled(capacity: usize, n: usize) -> ReplayBuffer {
        let mut buf = ReplayBuffer::new(capacity, 2, 1).unwrap();
        for k in 0..n {
            let x = k as f32;
            buf.push(&[x, -x], &[x * 10.0], x, &[x + 1.0, -x - 1.0], k % 2 == 0).unwrap();
        }
        buf
    }

    #[test]
    fn sampled_rows_are_consistent_transitions() {
        let buf = filled(100, 50);
        let b = buf.sample(256, &mut seeded_rng(1)).unwrap();
        assert_eq!(b.size, 256);
        assert_eq!(b.obs.len(), 512);
        for r in 0..b.size {
            let x = b.reward[r];
            assert_eq!(b.obs[2 * r], x);
            assert_eq!(b.obs[2 * r + 1], -x);
            assert_eq!(b.act[r], 10.0 * x);
            assert_eq!(b.next_obs[2 * r], x + 1.0);
            assert_eq!(b.terminated[r], if (x as usize).is_multiple_of(2) { 1.0 } else { 0.0 });
        }
    }

    #[test]
    fn sampling_is_uniform_and_seeded() {
        let buf = filled(10, 10);
        let mut counts = [0usize; 10];
        let b = buf.sample(20_000, &mut seeded_rng(7)).unwrap();
        for &r in &b.reward {
            counts[r as usize] += 1;
        }
        for c in counts {
            // expected 2000 each; 5 sigma is about 212
            assert!((1800..2200).contains(&c), "counts {counts:?}");
        }
        let again = buf.sample(20_000, &mut seeded_rng(7)).unwrap();
        assert_eq!(b, again);
    }

    #[test]
    fn ring_buffer_overwrites_oldest() {
        let buf = filled(4, 10);
        assert_eq!(buf.len(), 4);
        let b = buf.sample(500, &mut seeded_rng(3)).unwrap();
        let mut seen: Vec<u32> = b.reward.iter().map(|&r| r as u32).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen, vec![6, 7, 8, 9]);
    }

    #[test]
    fn misuse_gives_errors() {
        assert!(matches!(ReplayBuffer::new(0, 1, 1), Err(ReplayError::ZeroSize { what: "capacity" })));
        let mut buf = ReplayBuffer::new(3, 2, 1).unwrap();
        assert!(matches!(buf.sample(1, &mut seeded_rng(0)), Err(ReplayError::CannotSample { .. })));
        assert_eq!(
            buf.push(&[0.0], &[0.0], 0.0, &[0.0, 0.0], false),
            Err(ReplayError::DimensionMismatch { what: "obs", expected: 2, got: 1 })
        );
        assert!(buf.is_empty());
    }
}
