//! Tuning the parametric online baselines (MODEL.md §9.4) with argmin's Nelder-Mead on
//! training episodes: every baseline gets the same budget of policy evaluations (one
//! evaluation = the mean `A_ep` over the same training episodes), so none is a
//! strawman. The tuned values become the policies' defaults (docs/online.md records
//! them with the budget and the command that reproduces them).

use std::sync::Mutex;

use argmin::core::{CostFunction, Error as ArgminError, Executor};
use argmin::solver::neldermead::NelderMead;
use rayon::prelude::*;

use super::PolicyInfo;
use crate::model::Episode;
use crate::solver::online::run_online;
use crate::solver::SolverError;

/// A tunable parameter and its range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamSpec {
    pub name: &'static str,
    pub lo: f64,
    pub hi: f64,
}

/// What a tuning run found.
#[derive(Debug, Clone)]
pub struct TuneReport {
    /// Best parameters found (clamped to their ranges).
    pub params: Vec<f64>,
    /// Mean `A_ep` with them on the training episodes.
    pub objective: f64,
    /// Mean `A_ep` with the current defaults.
    pub default_objective: f64,
    /// Every evaluation: parameters and mean `A_ep`.
    pub history: Vec<(Vec<f64>, f64)>,
}

struct Cost<'a> {
    info: &'a PolicyInfo,
    episodes: &'a [Episode],
    seed: u64,
    history: Mutex<Vec<(Vec<f64>, f64)>>,
    budget: usize,
}

fn clamp(info: &PolicyInfo, x: &[f64]) -> Vec<f64> {
    info.params.iter().zip(x).map(|(s, v)| v.clamp(s.lo, s.hi)).collect()
}

/// Mean `A_ep` of `info` with `params` over `episodes`, in parallel over episodes.
pub fn mean_objective(
    info: &PolicyInfo,
    params: &[f64],
    episodes: &[Episode],
    seed: u64,
) -> Result<f64, SolverError> {
    let values: Result<Vec<f64>, SolverError> = episodes
        .par_iter()
        .map(|ep| {
            let mut p = (info.build_with)(params)?;
            run_online(p.as_mut(), ep, seed)
                .map(|r| r.evaluation.objective)
                .map_err(|e| SolverError::Failed { solver: info.name.to_string(), reason: format!("{e:#}") })
        })
        .collect();
    let v = values?;
    Ok(v.iter().sum::<f64>() / v.len().max(1) as f64)
}

impl CostFunction for Cost<'_> {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, x: &Vec<f64>) -> Result<f64, ArgminError> {
        let p = clamp(self.info, x);
        let h = self.history.lock().map_err(|_| ArgminError::msg("poisoned"))?;
        if let Some((_, v)) = h.iter().find(|(q, _)| *q == p) {
            return Ok(-v);
        }
        if h.len() >= self.budget {
            // Out of budget: no new evaluation, the simplex cannot improve.
            return Ok(f64::INFINITY);
        }
        drop(h);
        let v = mean_objective(self.info, &p, self.episodes, self.seed)
            .map_err(|e| ArgminError::msg(e.to_string()))?;
        self.history.lock().map_err(|_| ArgminError::msg("poisoned"))?.push((p, v));
        Ok(-v)
    }
}

/// Tunes `info`'s parameters on `episodes` with at most `budget` evaluations, starting
/// from its defaults.
pub fn tune(
    info: &PolicyInfo,
    episodes: &[Episode],
    budget: usize,
    seed: u64,
) -> Result<TuneReport, SolverError> {
    let fail = |reason: String| SolverError::Failed { solver: info.name.to_string(), reason };
    if info.params.is_empty() {
        return Err(fail("has no parameters to tune".into()));
    }
    let x0: Vec<f64> = info.defaults.to_vec();
    let default_objective = mean_objective(info, &x0, episodes, seed)?;
    // Initial simplex: the defaults and one vertex per parameter, a quarter of its
    // range away (towards the farther bound).
    let mut simplex = vec![x0.clone()];
    for (i, s) in info.params.iter().enumerate() {
        let mut v = x0.clone();
        let step = 0.25 * (s.hi - s.lo);
        v[i] = if x0[i] + step <= s.hi { x0[i] + step } else { x0[i] - step };
        simplex.push(v);
    }
    let cost =
        Cost { info, episodes, seed, history: Mutex::new(vec![(x0.clone(), default_objective)]), budget };
    let solver = NelderMead::new(simplex).with_sd_tolerance(1e-4).map_err(|e| fail(e.to_string()))?;
    let res = Executor::new(cost, solver)
        .configure(|state| state.max_iters(budget as u64))
        .run()
        .map_err(|e| fail(e.to_string()))?;
    let history = res.problem.problem.map(|c| c.history.into_inner().unwrap_or_default()).unwrap_or_default();
    let (params, objective) =
        history.iter().max_by(|a, b| a.1.total_cmp(&b.1)).cloned().unwrap_or((x0, default_objective));
    Ok(TuneReport { params, objective, default_objective, history })
}
