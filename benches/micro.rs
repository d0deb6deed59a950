//! Criterion micro-benchmarks: option enumeration, the evaluator, one scoring-network
//! forward pass and a whole `drl` decision (N = 50). Run with `cargo bench`.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use dnnrm::model::{enumerate_options, evaluate};
use dnnrm::rl::set_pg::SetPgConfig;
use dnnrm::scenario::{generate, ScenarioParams};
use dnnrm::solver::{SolveOptions, SolverSettings};
use dnnrm::solvers::create;
use dnnrm::solvers::drl::construct::{FEATURES, MAX_CANDIDATES, PRIOR};
use dnnrm::solvers::drl::train::DrlPgAgent;

fn micro(c: &mut Criterion) {
    let sc = ScenarioParams::default().check().expect("default scenario");
    let inst = generate(&sc, 7, "bench");
    c.bench_function("enumerate_options N=50", |b| b.iter(|| enumerate_options(black_box(&inst))));

    let greedy = create("greedy", &SolverSettings::default()).expect("greedy");
    let sol = greedy.solve(&inst, &SolveOptions::default()).expect("solve").solution;
    c.bench_function("evaluate N=50", |b| b.iter(|| evaluate(black_box(&inst), black_box(&sol))));

    let agent =
        DrlPgAgent::new(SetPgConfig { prior_column: Some(PRIOR), ..Default::default() }).expect("agent");
    let scorer = agent.fast_scorer();
    let rows: Vec<f32> = (0..MAX_CANDIDATES * FEATURES).map(|i| (i % 7) as f32 * 0.1).collect();
    let mut out = Vec::new();
    c.bench_function("scorer forward, 32 candidates", |b| {
        b.iter(|| scorer.scores(black_box(&rows), &mut out))
    });

    if let Ok(drl) = create("drl", &SolverSettings::default()) {
        c.bench_function("drl decision N=50", |b| {
            b.iter(|| drl.solve(black_box(&inst), &SolveOptions::default()))
        });
    }
}

criterion_group!(benches, micro);
criterion_main!(benches);
