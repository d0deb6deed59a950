//! Gradient utilities dfdx 0.13 lacks: global-norm clipping.

use dfdx::nn::tensor_collection::{
    RecursiveWalker, TensorCollection, TensorOptions, TensorVisitor, ViewTensorRef,
};
use dfdx::prelude::*;

use crate::rl::nets::Dev;

/// Visits every trainable parameter's gradient: first to accumulate squared values,
/// then to scale them.
struct GradVisitor<'a> {
    grads: &'a mut Gradients<f32, Dev>,
    /// `None`: accumulate `sum_sq`; `Some(c)`: multiply every gradient by `c`.
    scale: Option<f32>,
    sum_sq: f64,
}

impl TensorVisitor<f32, Dev> for GradVisitor<'_> {
    type Viewer = ViewTensorRef;
    type Err = <Dev as HasErr>::Err;
    type E2 = f32;
    type D2 = Dev;

    fn visit<S: Shape>(
        &mut self,
        opts: TensorOptions<S, f32, Dev>,
        t: &Tensor<S, f32, Dev>,
    ) -> Result<Option<Tensor<S, f32, Dev>>, Self::Err> {
        if !opts.do_gradient_update {
            return Ok(None);
        }
        // A parameter without a gradient gets a zero one, which changes nothing.
        let g = self.grads.get_or_alloc_mut(t)?;
        match self.scale {
            None => self.sum_sq += g.iter().map(|&x| (x as f64) * (x as f64)).sum::<f64>(),
            Some(c) => g.iter_mut().for_each(|x| *x *= c),
        }
        Ok(None)
    }
}

/// Global L2 norm of the gradients of `model`'s trainable parameters.
pub fn grad_norm<M: TensorCollection<f32, Dev>>(
    model: &M,
    grads: &mut Gradients<f32, Dev>,
) -> Result<f32, <Dev as HasErr>::Err> {
    let mut v = GradVisitor { grads, scale: None, sum_sq: 0.0 };
    M::iter_tensors(&mut RecursiveWalker { m: model, f: &mut v })?;
    Ok(v.sum_sq.sqrt() as f32)
}

/// Scales all gradients of `model` by `min(1, max_norm / norm)` where `norm` is their
/// global L2 norm (PyTorch's `clip_grad_norm_`). Returns the norm *before* clipping.
/// A non-finite norm leaves the gradients untouched (the caller decides what to do).
pub fn clip_grad_norm<M: TensorCollection<f32, Dev>>(
    model: &M,
    grads: &mut Gradients<f32, Dev>,
    max_norm: f32,
) -> Result<f32, <Dev as HasErr>::Err> {
    let norm = grad_norm(model, grads)?;
    if norm.is_finite() && norm > max_norm && norm > 0.0 {
        let mut v = GradVisitor { grads, scale: Some(max_norm / norm), sum_sq: 0.0 };
        M::iter_tensors(&mut RecursiveWalker { m: model, f: &mut v })?;
    }
    Ok(norm)
}

/// One optimiser step: clip the gradients to `max_norm` (when given), apply them with
/// `opt`, then zero them for reuse. Returns the norm before clipping (NaN without
/// clipping). Every learner of the core steps through here.
pub fn clipped_step<M, O>(
    model: &mut M,
    opt: &mut O,
    grads: &mut Gradients<f32, Dev>,
    max_norm: Option<f32>,
) -> Result<f32, String>
where
    M: TensorCollection<f32, Dev>,
    O: dfdx::optim::Optimizer<M, Dev, f32>,
{
    let norm = match max_norm {
        Some(c) => clip_grad_norm(model, grads, c).map_err(|e| format!("{e:?}"))?,
        None => f32::NAN,
    };
    opt.update(model, grads).map_err(|e| format!("{e:?}"))?;
    model.try_zero_grads(grads).map_err(|e| format!("{e:?}"))?;
    Ok(norm)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rl::nets::Actor;

    type Net = Actor<3, 2, 5, f32, Dev>;

    fn grads_of(net: &Net, scale: f32) -> Gradients<f32, Dev> {
        let dev = Dev::seed_from_u64(1);
        let x: Tensor<(usize, Const<3>), f32, Dev> =
            dev.tensor_from_vec(vec![1.0, -2.0, 0.5, 0.3, 0.1, -0.7], (2usize, Const));
        let y = net.forward(x.traced(net.alloc_grads()));
        (y.square().sum() * scale).backward()
    }

    fn all_grads(net: &Net, g: &Gradients<f32, Dev>) -> Vec<f32> {
        let mut v = Vec::new();
        v.extend(g.get(&net.l1.weight).as_vec());
        v.extend(g.get(&net.l1.bias).as_vec());
        v.extend(g.get(&net.l2.weight).as_vec());
        v.extend(g.get(&net.l2.bias).as_vec());
        v.extend(g.get(&net.l3.weight).as_vec());
        v.extend(g.get(&net.l3.bias).as_vec());
        v
    }

    #[test]
    fn norm_matches_direct_computation_and_clips_to_max() {
        let dev = Dev::seed_from_u64(0);
        let net = Net::init(&dev, 0.0);
        let mut g = grads_of(&net, 100.0);
        let before = all_grads(&net, &g);
        let direct = before.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!(direct > 1.0, "test needs a large gradient, got {direct}");
        let norm = clip_grad_norm(&net, &mut g, 0.5).unwrap();
        assert!((norm - direct).abs() / direct < 1e-5);
        let after = all_grads(&net, &g);
        let new_norm = after.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((new_norm - 0.5).abs() < 1e-5, "{new_norm}");
        // direction preserved
        let c = 0.5 / direct;
        for (a, b) in before.iter().zip(&after) {
            assert!((a * c - b).abs() < 1e-5 * (1.0 + a.abs()));
        }
    }

    #[test]
    fn small_gradients_are_unchanged() {
        let dev = Dev::seed_from_u64(0);
        let net = Net::init(&dev, 0.0);
        let mut g = grads_of(&net, 1e-3);
        let before = all_grads(&net, &g);
        let norm = clip_grad_norm(&net, &mut g, 1e3).unwrap();
        assert!(norm < 1e3);
        assert_eq!(before, all_grads(&net, &g));
    }
}
