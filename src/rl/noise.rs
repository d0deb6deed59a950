//! Exploration noise for deterministic policies.
//!
//! Noise is produced in *normalised action units*: a sample of 0.1 means a tenth of the
//! half-width of the action range. The agent multiplies by the half-width, adds the noise
//! to its action and clamps to the bounds. Every sampler takes the caller's generator.

use rand::Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

/// Which exploration noise to use (serialisable part of an algorithm config).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NoiseConfig {
    /// No exploration noise.
    None,
    /// Independent Gaussian noise `N(0, sigma^2)` per action dimension and step.
    Gaussian {
        /// Standard deviation (normalised action units). Default 0.1.
        sigma: f32,
    },
    /// Ornstein-Uhlenbeck process `dx = theta (mu - x) dt + sigma sqrt(dt) N(0,1)` with
    /// `mu = 0`, as in the original DDPG paper (theta 0.15, sigma 0.2, dt 1e-2).
    OrnsteinUhlenbeck {
        /// Diffusion scale (normalised action units).
        sigma: f32,
        /// Mean-reversion rate.
        theta: f32,
        /// Integration time step.
        dt: f32,
    },
}

impl Default for NoiseConfig {
    fn default() -> Self {
        NoiseConfig::Gaussian { sigma: 0.1 }
    }
}

impl NoiseConfig {
    /// The DDPG paper's Ornstein-Uhlenbeck settings.
    pub fn ou_default() -> Self {
        NoiseConfig::OrnsteinUhlenbeck { sigma: 0.2, theta: 0.15, dt: 1e-2 }
    }

    /// Checks that the scales are finite and non-negative (theta, dt positive).
    pub fn is_valid(&self) -> bool {
        match *self {
            NoiseConfig::None => true,
            NoiseConfig::Gaussian { sigma } => sigma.is_finite() && sigma >= 0.0,
            NoiseConfig::OrnsteinUhlenbeck { sigma, theta, dt } => {
                sigma.is_finite()
                    && sigma >= 0.0
                    && theta.is_finite()
                    && theta > 0.0
                    && dt.is_finite()
                    && dt > 0.0
            }
        }
    }
}

/// Independent Gaussian noise.
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianNoise {
    /// Standard deviation.
    pub sigma: f32,
    dim: usize,
}

impl GaussianNoise {
    /// Noise of `dim` dimensions with standard deviation `sigma`.
    pub fn new(dim: usize, sigma: f32) -> Self {
        Self { sigma, dim }
    }

    /// One sample of `dim` values.
    pub fn sample<R: Rng + ?Sized>(&mut self, rng: &mut R) -> Vec<f32> {
        (0..self.dim).map(|_| self.sigma * rng.sample::<f32, _>(StandardNormal)).collect()
    }
}

/// Ornstein-Uhlenbeck (temporally correlated) noise; call [`OuNoise::reset`] at the
/// start of every episode.
#[derive(Debug, Clone, PartialEq)]
pub struct OuNoise {
    /// Diffusion scale.
    pub sigma: f32,
    /// Mean-reversion rate.
    pub theta: f32,
    /// Integration time step.
    pub dt: f32,
    state: Vec<f32>,
}

impl OuNoise {
    /// A process of `dim` dimensions started at zero.
    pub fn new(dim: usize, sigma: f32, theta: f32, dt: f32) -> Self {
        Self { sigma, theta, dt, state: vec![0.0; dim] }
    }

    /// Current state of the process.
    pub fn state(&self) -> &[f32] {
        &self.state
    }

    /// Sets the state (useful to test mean reversion).
    pub fn set_state(&mut self, state: &[f32]) {
        self.state.clear();
        self.state.extend_from_slice(state);
    }

    /// Puts the process back at its mean (zero).
    pub fn reset(&mut self) {
        self.state.iter_mut().for_each(|x| *x = 0.0);
    }

    /// Advances one step and returns the new state.
    pub fn sample<R: Rng + ?Sized>(&mut self, rng: &mut R) -> Vec<f32> {
        let sq = self.dt.sqrt();
        for x in self.state.iter_mut() {
            let n: f32 = rng.sample(StandardNormal);
            *x += self.theta * (0.0 - *x) * self.dt + self.sigma * sq * n;
        }
        self.state.clone()
    }
}

/// A noise process built from a [`NoiseConfig`].
#[derive(Debug, Clone, PartialEq)]
pub enum NoiseProcess {
    /// No noise: samples are zero.
    None(usize),
    /// Gaussian noise.
    Gaussian(GaussianNoise),
    /// Ornstein-Uhlenbeck noise.
    OrnsteinUhlenbeck(OuNoise),
}

impl NoiseProcess {
    /// Builds the process for `dim` action dimensions.
    pub fn new(config: &NoiseConfig, dim: usize) -> Self {
        match *config {
            NoiseConfig::None => NoiseProcess::None(dim),
            NoiseConfig::Gaussian { sigma } => NoiseProcess::Gaussian(GaussianNoise::new(dim, sigma)),
            NoiseConfig::OrnsteinUhlenbeck { sigma, theta, dt } => {
                NoiseProcess::OrnsteinUhlenbeck(OuNoise::new(dim, sigma, theta, dt))
            }
        }
    }

    /// One noise vector.
    pub fn sample<R: Rng + ?Sized>(&mut self, rng: &mut R) -> Vec<f32> {
        match self {
            NoiseProcess::None(dim) => vec![0.0; *dim],
            NoiseProcess::Gaussian(g) => g.sample(rng),
            NoiseProcess::OrnsteinUhlenbeck(o) => o.sample(rng),
        }
    }

    /// Resets temporal state (episode start); a no-op for memoryless noise.
    pub fn reset(&mut self) {
        if let NoiseProcess::OrnsteinUhlenbeck(o) = self {
            o.reset();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rl::seeded_rng;

    #[test]
    fn gaussian_has_requested_std_and_zero_mean() {
        let mut g = GaussianNoise::new(2, 0.3);
        let mut rng = seeded_rng(11);
        let n = 50_000;
        let xs: Vec<f32> = (0..n).flat_map(|_| g.sample(&mut rng)).collect();
        let mean = xs.iter().map(|&x| x as f64).sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / xs.len() as f64;
        assert!(mean.abs() < 0.005, "mean {mean}");
        assert!((var.sqrt() - 0.3).abs() < 0.005, "std {}", var.sqrt());
    }

    #[test]
    fn ou_reverts_to_mean_and_has_stationary_std() {
        // Without diffusion the state decays exactly by (1 - theta dt) per step.
        let mut ou = OuNoise::new(1, 0.0, 0.15, 0.01);
        ou.set_state(&[2.0]);
        let mut rng = seeded_rng(0);
        for _ in 0..1000 {
            ou.sample(&mut rng);
        }
        let expected = 2.0 * (1.0f64 - 0.15 * 0.01).powi(1000);
        assert!((ou.state()[0] as f64 - expected).abs() < 1e-4);

        // With diffusion, the stationary std is sigma / sqrt(2 theta) (dt small).
        let (sigma, theta, dt) = (0.2f32, 1.0f32, 0.05f32);
        let mut ou = OuNoise::new(1, sigma, theta, dt);
        ou.set_state(&[3.0]);
        let mut xs = Vec::new();
        for t in 0..200_000 {
            let x = ou.sample(&mut rng)[0];
            if t >= 1000 {
                xs.push(x as f64);
            }
        }
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64;
        // exact discrete stationary variance: sigma^2 dt / (1 - (1 - theta dt)^2)
        let a = 1.0 - (theta * dt) as f64;
        let expected_var = (sigma * sigma * dt) as f64 / (1.0 - a * a);
        assert!(mean.abs() < 0.02, "mean {mean}");
        assert!((var / expected_var - 1.0).abs() < 0.08, "var {var} vs {expected_var}");

        ou.reset();
        assert_eq!(ou.state(), &[0.0]);
    }

    #[test]
    fn same_seed_same_noise() {
        let cfg = NoiseConfig::ou_default();
        let mut a = NoiseProcess::new(&cfg, 3);
        let mut b = NoiseProcess::new(&cfg, 3);
        let (mut ra, mut rb) = (seeded_rng(5), seeded_rng(5));
        for _ in 0..10 {
            assert_eq!(a.sample(&mut ra), b.sample(&mut rb));
        }
    }
}
