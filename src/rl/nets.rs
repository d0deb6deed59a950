//! Actor and critic multilayer perceptrons (dfdx, CPU, `f32`).
//!
//! dfdx layers have compile-time sizes, so the networks are generic over const
//! parameters: `OBS` (observation dimension), `ACT` (action dimension) and `HIDDEN`
//! (width of both hidden layers). Pick them where the agent is instantiated, e.g.
//! `Ddpg::<3, 1, 256>` for Pendulum.
//!
//! * Actor: `OBS → HIDDEN → HIDDEN → ACT`, ReLU hidden activations; the raw output is
//!   squashed onto the action box by [`Squash`] (tanh, or sigmoid for `[0, 1]^d` tasks).
//! * Critic: `(OBS ++ ACT) → HIDDEN → HIDDEN → 1`. The first layer is written as
//!   `W_o·obs + W_a·act + b`, which is exactly a linear layer on the concatenation but
//!   needs no `OBS + ACT` const arithmetic (unstable in Rust).

use dfdx::nn::modules::{Linear, UnbiasedLinear};
use dfdx::nn::tensor_collection::{ModuleVisitor, TensorCollection};
use dfdx::prelude::*;
use serde::{Deserialize, Serialize};

/// The device every network runs on.
pub type Dev = Cpu;

/// How the actor's raw output is mapped onto the action box `[low, high]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Squash {
    /// `mid + half_width · tanh(z)` (the usual DDPG choice).
    #[default]
    Tanh,
    /// `low + (high − low) · sigmoid(z)`; with bounds `[0, 1]` this is a plain sigmoid,
    /// as the DNN-resource environment needs.
    Sigmoid,
}

/// Actor network; see the module docs. Fields are public so tests can set weights.
#[derive(Debug, Clone)]
pub struct Actor<const OBS: usize, const ACT: usize, const HIDDEN: usize, E: Dtype, D: Storage<E>> {
    /// Input layer.
    pub l1: Linear<OBS, HIDDEN, E, D>,
    /// Hidden layer.
    pub l2: Linear<HIDDEN, HIDDEN, E, D>,
    /// Output layer (pre-squash).
    pub l3: Linear<HIDDEN, ACT, E, D>,
}

/// Critic network; see the module docs.
#[derive(Debug, Clone)]
pub struct Critic<const OBS: usize, const ACT: usize, const HIDDEN: usize, E: Dtype, D: Storage<E>> {
    /// Observation part of the first layer (with the bias).
    pub l1_obs: Linear<OBS, HIDDEN, E, D>,
    /// Action part of the first layer (no bias).
    pub l1_act: UnbiasedLinear<ACT, HIDDEN, E, D>,
    /// Hidden layer.
    pub l2: Linear<HIDDEN, HIDDEN, E, D>,
    /// Output layer.
    pub l3: Linear<HIDDEN, 1, E, D>,
}

type Float = f32;

impl<const OBS: usize, const ACT: usize, const HIDDEN: usize> TensorCollection<Float, Dev>
    for Actor<OBS, ACT, HIDDEN, Float, Dev>
{
    type To<E2: Dtype, D2: Device<E2>> = Actor<OBS, ACT, HIDDEN, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, Float, Dev>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::module("l1", |s| &s.l1, |s| &mut s.l1),
                Self::module("l2", |s| &s.l2, |s| &mut s.l2),
                Self::module("l3", |s| &s.l3, |s| &mut s.l3),
            ),
            |(l1, l2, l3)| Actor { l1, l2, l3 },
        )
    }
}

impl<const OBS: usize, const ACT: usize, const HIDDEN: usize> TensorCollection<Float, Dev>
    for Critic<OBS, ACT, HIDDEN, Float, Dev>
{
    type To<E2: Dtype, D2: Device<E2>> = Critic<OBS, ACT, HIDDEN, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, Float, Dev>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::module("l1_obs", |s| &s.l1_obs, |s| &mut s.l1_obs),
                Self::module("l1_act", |s| &s.l1_act, |s| &mut s.l1_act),
                Self::module("l2", |s| &s.l2, |s| &mut s.l2),
                Self::module("l3", |s| &s.l3, |s| &mut s.l3),
            ),
            |(l1_obs, l1_act, l2, l3)| Critic { l1_obs, l1_act, l2, l3 },
        )
    }
}

/// Scales a layer's weights and bias into `[-bound, bound]` (DDPG's small final-layer
/// initialisation, so initial actions and Q-values are near zero).
fn shrink_layer<const I: usize, const O: usize>(layer: &mut Linear<I, O, Float, Dev>, bound: f32, dev: &Dev) {
    let dist = rand_distr::Uniform::new_inclusive(-bound, bound);
    layer.weight = dev.sample(dist);
    layer.bias = dev.sample(dist);
}

impl<const OBS: usize, const ACT: usize, const HIDDEN: usize> Actor<OBS, ACT, HIDDEN, Float, Dev> {
    /// Builds a freshly initialised actor from the device's (seeded) generator; the last
    /// layer is drawn from `U[-final_init, final_init]` when `final_init > 0`.
    pub fn init(dev: &Dev, final_init: f32) -> Self {
        let mut net = Self::build(dev);
        if final_init > 0.0 {
            shrink_layer(&mut net.l3, final_init, dev);
        }
        net
    }

    /// Raw (pre-squash) output for a batch of observations.
    pub fn forward<T: Tape<Float, Dev>>(
        &self,
        obs: Tensor<(usize, Const<OBS>), Float, Dev, T>,
    ) -> Tensor<(usize, Const<ACT>), Float, Dev, T> {
        let h = self.l1.forward(obs).relu();
        let h = self.l2.forward(h).relu();
        self.l3.forward(h)
    }
}

impl<const OBS: usize, const ACT: usize, const HIDDEN: usize> Critic<OBS, ACT, HIDDEN, Float, Dev> {
    /// Builds a freshly initialised critic (see [`Actor::init`]).
    pub fn init(dev: &Dev, final_init: f32) -> Self {
        let mut net = Self::build(dev);
        if final_init > 0.0 {
            shrink_layer(&mut net.l3, final_init, dev);
        }
        net
    }

    /// Q(obs, act) for a batch. The gradient tape, if any, travels with `act`; it is
    /// threaded through both halves of the first layer so that every critic parameter
    /// is recorded (critic update: `act` traced; actor update: `act` is the actor's
    /// traced output).
    pub fn forward<T: Tape<Float, Dev> + Merge<NoneTape>>(
        &self,
        obs: Tensor<(usize, Const<OBS>), Float, Dev>,
        act: Tensor<(usize, Const<ACT>), Float, Dev, T>,
    ) -> Tensor<(usize, Const<1>), Float, Dev, T> {
        let ha = self.l1_act.forward(act);
        let (ha, tape) = ha.split_tape();
        let ho = self.l1_obs.forward(obs.put_tape(tape));
        let h = (ho + ha).relu();
        let h = self.l2.forward(h).relu();
        self.l3.forward(h)
    }
}

/// Maps raw actor outputs onto `[low, high]` with the chosen squashing, keeping the tape.
#[derive(Debug, Clone)]
pub struct ActionScaler<const ACT: usize> {
    squash: Squash,
    /// `tanh`: centre; `sigmoid`: lower bound.
    offset: Tensor<Rank1<ACT>, Float, Dev>,
    /// `tanh`: half-width; `sigmoid`: width.
    scale: Tensor<Rank1<ACT>, Float, Dev>,
}

impl<const ACT: usize> ActionScaler<ACT> {
    /// A scaler for the box `[low, high]` (`low.len() == high.len() == ACT`, checked by
    /// the caller).
    pub fn new(dev: &Dev, squash: Squash, low: &[f32], high: &[f32]) -> Self {
        let (offset, scale): (Vec<f32>, Vec<f32>) = low
            .iter()
            .zip(high)
            .map(|(&l, &h)| match squash {
                Squash::Tanh => (0.5 * (l + h), 0.5 * (h - l)),
                Squash::Sigmoid => (l, h - l),
            })
            .unzip();
        let mut o = [0.0; ACT];
        let mut s = [0.0; ACT];
        o.iter_mut().zip(&offset).for_each(|(d, v)| *d = *v);
        s.iter_mut().zip(&scale).for_each(|(d, v)| *d = *v);
        Self { squash, offset: dev.tensor(o), scale: dev.tensor(s) }
    }

    /// Squashes and scales a batch of raw outputs.
    pub fn apply<T: Tape<Float, Dev> + Merge<NoneTape>>(
        &self,
        z: Tensor<(usize, Const<ACT>), Float, Dev, T>,
    ) -> Tensor<(usize, Const<ACT>), Float, Dev, T> {
        let shape = *z.shape();
        let squashed = match self.squash {
            Squash::Tanh => z.tanh(),
            Squash::Sigmoid => z.sigmoid(),
        };
        squashed * self.scale.clone().broadcast_like(&shape) + self.offset.clone().broadcast_like(&shape)
    }
}

/// Collects every tensor's values (visiting order) into one flat vector.
struct Flattener(Vec<f32>);

impl dfdx::nn::tensor_collection::TensorVisitor<Float, Dev> for Flattener {
    type Viewer = dfdx::nn::tensor_collection::ViewTensorRef;
    type Err = std::convert::Infallible;
    type E2 = Float;
    type D2 = Dev;

    fn visit<S: Shape>(
        &mut self,
        _opts: dfdx::nn::tensor_collection::TensorOptions<S, Float, Dev>,
        t: &Tensor<S, Float, Dev>,
    ) -> Result<Option<Tensor<S, Float, Dev>>, Self::Err> {
        self.0.extend(t.as_vec());
        Ok(None)
    }
}

/// All parameters of a network as one flat vector (for comparisons and tests).
pub fn flat_params<M: TensorCollection<Float, Dev>>(model: &M) -> Vec<f32> {
    let mut f = Flattener(Vec::new());
    let walked = M::iter_tensors(&mut dfdx::nn::tensor_collection::RecursiveWalker { m: model, f: &mut f });
    match walked {
        Ok(_) => f.0,
        Err(never) => match never {},
    }
}

/// Polyak averaging of a target network: `target ← (1 − tau)·target + tau·online`,
/// i.e. dfdx's `ema` with decay `1 − tau`.
pub fn polyak_update<M: TensorCollection<Float, Dev>>(
    target: &mut M,
    online: &M,
    tau: f64,
) -> Result<(), <Dev as HasErr>::Err> {
    target.try_ema(online, 1.0 - tau)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn critic_first_layer_equals_linear_on_concatenation() {
        let dev = Dev::seed_from_u64(0);
        let c = Critic::<2, 1, 4, f32, Dev>::init(&dev, 0.0);
        let obs = [0.3f32, -1.2];
        let act = [0.7f32];
        let q = c
            .forward(
                dev.tensor_from_vec(obs.to_vec(), (1usize, Const::<2>)),
                dev.tensor_from_vec(act.to_vec(), (1usize, Const::<1>)),
            )
            .as_vec()[0];
        // direct computation with plain arrays
        let w_o = c.l1_obs.weight.array();
        let b_o = c.l1_obs.bias.array();
        let w_a = c.l1_act.weight.array();
        let h1: Vec<f32> = (0..4)
            .map(|j| (w_o[j][0] * obs[0] + w_o[j][1] * obs[1] + w_a[j][0] * act[0] + b_o[j]).max(0.0))
            .collect();
        let w2 = c.l2.weight.array();
        let b2 = c.l2.bias.array();
        let h2: Vec<f32> =
            (0..4).map(|j| ((0..4).map(|k| w2[j][k] * h1[k]).sum::<f32>() + b2[j]).max(0.0)).collect();
        let w3 = c.l3.weight.array();
        let direct = (0..4).map(|k| w3[0][k] * h2[k]).sum::<f32>() + c.l3.bias.array()[0];
        assert!((q - direct).abs() < 1e-5, "{q} vs {direct}");
    }

    #[test]
    fn scaler_maps_onto_bounds() {
        let dev = Dev::default();
        let z = dev.tensor_from_vec(vec![-50.0f32, 0.0, 50.0, 0.0], (2usize, Const::<2>));
        let t = ActionScaler::<2>::new(&dev, Squash::Tanh, &[-2.0, 0.0], &[2.0, 10.0]).apply(z.clone());
        let v = t.as_vec();
        assert!((v[0] + 2.0).abs() < 1e-5 && (v[1] - 5.0).abs() < 1e-5);
        assert!((v[2] - 2.0).abs() < 1e-5 && (v[3] - 5.0).abs() < 1e-5);
        let s = ActionScaler::<2>::new(&dev, Squash::Sigmoid, &[0.0, 0.0], &[1.0, 1.0]).apply(z);
        let v = s.as_vec();
        assert!(v[0].abs() < 1e-5 && (v[1] - 0.5).abs() < 1e-6 && (v[2] - 1.0).abs() < 1e-5);
    }

    #[test]
    fn polyak_update_on_hand_values() {
        let dev = Dev::default();
        let mut online = Actor::<1, 1, 1, f32, Dev>::init(&dev, 0.0);
        let mut target = online.clone();
        for l in [&mut online.l1, &mut online.l2, &mut online.l3] {
            l.weight = dev.tensor([[2.0]]);
            l.bias = dev.tensor([-4.0]);
        }
        for l in [&mut target.l1, &mut target.l2, &mut target.l3] {
            l.weight = dev.tensor([[0.0]]);
            l.bias = dev.tensor([1.0]);
        }
        polyak_update(&mut target, &online, 0.25).unwrap();
        // 0.75*0 + 0.25*2 = 0.5 ; 0.75*1 + 0.25*(-4) = -0.25
        assert_eq!(flat_params(&target), vec![0.5, -0.25, 0.5, -0.25, 0.5, -0.25]);
        polyak_update(&mut target, &online, 0.25).unwrap();
        // 0.75*0.5 + 0.5 = 0.875 ; 0.75*(-0.25) - 1 = -1.1875
        assert_eq!(flat_params(&target), vec![0.875, -1.1875, 0.875, -1.1875, 0.875, -1.1875]);
        // the online network is untouched
        assert_eq!(flat_params(&online), vec![2.0, -4.0, 2.0, -4.0, 2.0, -4.0]);
    }

    #[test]
    fn final_layer_init_is_small() {
        let dev = Dev::seed_from_u64(3);
        let a = Actor::<3, 2, 8, f32, Dev>::init(&dev, 3e-3);
        assert!(a.l3.weight.as_vec().iter().all(|w| w.abs() <= 3e-3));
        assert!(a.l1.weight.as_vec().iter().any(|w| w.abs() > 3e-3));
    }
}
