//! Simple baselines: `random`, `local-only`, `edge-only` and `cloud-only`.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::greedy::{assign_by_ratio, cache_by_coverage};
use super::partial::Partial;
use crate::model::{enumerate_options, Decision, Instance, Location};
use crate::solver::{SolveOptions, SolveReport, Solver, SolverError, Status};

/// `random`: each edge server caches models in a random order while they fit; then,
/// in a random task order, each task takes a uniformly random decision among rejection
/// and the options that still fit. Seeded, and feasible by construction.
#[derive(Debug, Default, Clone)]
pub struct RandomSolver;

impl Solver for RandomSolver {
    fn name(&self) -> &str {
        "random"
    }

    fn solve(&self, inst: &Instance, opts: &SolveOptions) -> Result<SolveReport, SolverError> {
        let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
        let options = enumerate_options(inst);
        let mut p = Partial::new(inst, &options);
        for m in 0..inst.edges.len() {
            let mut models: Vec<usize> = (0..inst.models.len()).collect();
            models.shuffle(&mut rng);
            for k in models {
                p.cache_add(m, k);
            }
        }
        let mut order: Vec<usize> = (0..inst.n_tasks()).collect();
        order.shuffle(&mut rng);
        for n in order {
            let fitting: Vec<Decision> = p.candidates(n).filter(|d| p.fits(n, d)).collect();
            if let Some(&d) = fitting.choose(&mut rng) {
                p.set(n, d);
            }
        }
        Ok(SolveReport::new(p.into_solution(), Status::Heuristic, "random feasible decisions"))
    }
}

/// A baseline restricted to one location: `local-only` (each task's most accurate
/// local model), `edge-only` (coverage cache policy, then gain per resource among edge
/// options) or `cloud-only` (gain per resource among cloud options).
#[derive(Debug, Clone)]
pub struct OnlyLocation(pub Location);

impl Solver for OnlyLocation {
    fn name(&self) -> &str {
        match self.0 {
            Location::Local => "local-only",
            Location::Edge => "edge-only",
            Location::Cloud => "cloud-only",
        }
    }

    fn solve(&self, inst: &Instance, _opts: &SolveOptions) -> Result<SolveReport, SolverError> {
        let options = enumerate_options(inst);
        let mut p = Partial::new(inst, &options);
        let only = self.0;
        for m in 0..inst.edges.len() {
            let tasks = inst.tasks_of_edge(m);
            match only {
                Location::Local => tasks.iter().for_each(|&n| p.set_best_local(n)),
                Location::Edge => cache_by_coverage(&mut p, m, &tasks),
                Location::Cloud => {}
            }
            if only != Location::Local {
                assign_by_ratio(&mut p, &tasks, &|d| d.assignment().is_some_and(|a| a.location == only));
            }
        }
        Ok(SolveReport::new(
            p.into_solution(),
            Status::Heuristic,
            format!("{} construction complete", self.name()),
        ))
    }
}
