//! Pendulum swing-up, the dynamics of Gymnasium's `Pendulum-v1`.
//!
//! State (θ, θ̇), θ = 0 upright. Action: torque u ∈ [-2, 2] (clipped). Per step (dt 0.05):
//! `θ̇' = clip(θ̇ + (3g/(2l) sin θ + 3/(m l²) u) dt, -8, 8)`, `θ' = θ + θ̇' dt`; reward
//! `-(angle_normalize(θ)² + 0.1 θ̇² + 0.001 u²)` computed on the state *before* the step.
//! Episodes never terminate; they are truncated after 200 steps. Observation
//! `(cos θ, sin θ, θ̇)`. Reset draws θ ~ U[-π, π], θ̇ ~ U[-1, 1] from the caller's RNG.

use rand::Rng;

use crate::rl::train::{Continuous, ContinuousEnv, Env, EnvError, Step};
use crate::rl::Rng as CoreRng;

/// Pendulum-v1 physical constants and episode length.
#[derive(Debug, Clone, PartialEq)]
pub struct PendulumConfig {
    /// Maximum absolute torque. Default 2.
    pub max_torque: f32,
    /// Maximum absolute angular speed. Default 8.
    pub max_speed: f32,
    /// Integration step (s). Default 0.05.
    pub dt: f32,
    /// Gravity. Default 10.
    pub g: f32,
    /// Mass. Default 1.
    pub m: f32,
    /// Length. Default 1.
    pub l: f32,
    /// Steps before truncation. Default 200.
    pub max_episode_steps: usize,
}

impl Default for PendulumConfig {
    fn default() -> Self {
        Self { max_torque: 2.0, max_speed: 8.0, dt: 0.05, g: 10.0, m: 1.0, l: 1.0, max_episode_steps: 200 }
    }
}

/// The Pendulum environment.
#[derive(Debug, Clone)]
pub struct Pendulum {
    /// Constants.
    pub config: PendulumConfig,
    theta: f32,
    theta_dot: f32,
    steps: usize,
}

/// Wraps an angle into [-π, π).
pub fn angle_normalize(x: f32) -> f32 {
    use std::f32::consts::PI;
    (x + PI).rem_euclid(2.0 * PI) - PI
}

impl Default for Pendulum {
    fn default() -> Self {
        Self::new(PendulumConfig::default())
    }
}

impl Pendulum {
    /// A pendulum hanging at rest; call [`Env::reset`] before stepping.
    pub fn new(config: PendulumConfig) -> Self {
        Self { config, theta: std::f32::consts::PI, theta_dot: 0.0, steps: 0 }
    }

    /// Sets the state directly (tests, demonstrations).
    pub fn set_state(&mut self, theta: f32, theta_dot: f32) {
        self.theta = theta;
        self.theta_dot = theta_dot;
        self.steps = 0;
    }

    /// Current (θ, θ̇).
    pub fn state(&self) -> (f32, f32) {
        (self.theta, self.theta_dot)
    }

    /// Current observation (cos θ, sin θ, θ̇).
    pub fn observation(&self) -> Vec<f32> {
        vec![self.theta.cos(), self.theta.sin(), self.theta_dot]
    }
}

impl Env for Pendulum {
    type Action = Continuous;

    fn obs_dim(&self) -> usize {
        3
    }

    fn reset(&mut self, rng: &mut CoreRng) -> Vec<f32> {
        use std::f32::consts::PI;
        self.theta = rng.gen_range(-PI..=PI);
        self.theta_dot = rng.gen_range(-1.0f32..=1.0);
        self.steps = 0;
        self.observation()
    }

    fn step(&mut self, action: &Continuous, _rng: &mut CoreRng) -> Result<Step, EnvError> {
        self.step_with(action)
    }
}

impl ContinuousEnv for Pendulum {
    fn act_dim(&self) -> usize {
        1
    }

    fn action_bounds(&self) -> (Vec<f32>, Vec<f32>) {
        (vec![-self.config.max_torque], vec![self.config.max_torque])
    }
}

impl Pendulum {
    fn step_with(&mut self, action: &[f32]) -> Result<Step, EnvError> {
        if action.len() != 1 {
            return Err(EnvError::ActionDim { expected: 1, got: action.len() });
        }
        if !action[0].is_finite() {
            return Err(EnvError::NonFiniteAction);
        }
        let c = &self.config;
        let u = action[0].clamp(-c.max_torque, c.max_torque);
        let (th, thdot) = (self.theta, self.theta_dot);
        let cost = angle_normalize(th).powi(2) + 0.1 * thdot * thdot + 0.001 * u * u;
        let new_thdot = (thdot + (3.0 * c.g / (2.0 * c.l) * th.sin() + 3.0 / (c.m * c.l * c.l) * u) * c.dt)
            .clamp(-c.max_speed, c.max_speed);
        self.theta = th + new_thdot * c.dt;
        self.theta_dot = new_thdot;
        self.steps += 1;
        Ok(Step {
            obs: self.observation(),
            reward: -cost,
            terminated: false,
            truncated: self.steps >= c.max_episode_steps,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rl::seeded_rng;

    #[test]
    fn one_step_matches_hand_computation() {
        let mut env = Pendulum::default();
        env.set_state(1.0, 0.5);
        let s = env.step(&vec![1.5], &mut seeded_rng(0)).unwrap();
        // cost = 1^2 + 0.1*0.25 + 0.001*2.25 = 1.02725
        assert!((s.reward + 1.02725).abs() < 1e-6);
        // thdot' = 0.5 + (15 sin 1 + 3*1.5)*0.05 = 0.5 + (12.62206 + 4.5)*0.05 = 1.356103
        let thdot = 0.5 + (15.0 * 1.0f64.sin() + 4.5) * 0.05;
        let th = 1.0 + thdot * 0.05;
        let (a, b) = env.state();
        assert!((b as f64 - thdot).abs() < 1e-5, "{b} vs {thdot}");
        assert!((a as f64 - th).abs() < 1e-5);
        assert!((s.obs[0] as f64 - th.cos()).abs() < 1e-5);
        assert!((s.obs[1] as f64 - th.sin()).abs() < 1e-5);
        assert!(!s.terminated && !s.truncated);
    }

    #[test]
    fn clips_torque_and_speed_and_truncates() {
        let mut env = Pendulum::default();
        env.set_state(0.0, 7.9);
        let s = env.step(&vec![100.0], &mut seeded_rng(0)).unwrap();
        // torque clipped to 2 in the cost: 0 + 0.1*7.9^2 + 0.001*4
        assert!((s.reward + (0.1 * 7.9f32 * 7.9 + 0.004)).abs() < 1e-5);
        assert_eq!(env.state().1, 8.0);
        let mut rng = seeded_rng(1);
        env.reset(&mut rng);
        let mut n = 0;
        loop {
            n += 1;
            if env.step(&vec![0.0], &mut rng).unwrap().truncated {
                break;
            }
        }
        assert_eq!(n, 200);
        assert!(matches!(
            env.step(&vec![0.0, 1.0], &mut rng),
            Err(EnvError::ActionDim { expected: 1, got: 2 })
        ));
    }

    #[test]
    fn angle_normalize_wraps() {
        use std::f32::consts::PI;
        assert!((angle_normalize(3.0 * PI / 2.0) + PI / 2.0).abs() < 1e-5);
        assert!((angle_normalize(-3.0 * PI / 2.0) - PI / 2.0).abs() < 1e-5);
        assert!(angle_normalize(0.3) - 0.3 < 1e-7);
    }
}
