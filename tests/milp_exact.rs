//! `milp` is exact: on hundreds of seeded tiny instances its proven optimum equals a
//! brute force that shares none of its reductions (full `(r, u)` grid, every local
//! model, every cache subset, no decomposition). The instances vary in tightness, and
//! the test checks that each kind actually occurs: rejected tasks, and binding caches,
//! RBs and compute units (a resource binds when one more unit of it, of the same size,
//! raises the brute-force optimum).

use std::time::{Duration, Instant};

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use dnnrm::model::{evaluate, Decision, Instance};
use dnnrm::scenario::{generate, Scenario, ScenarioParams, Zoo, SERVICES};
use dnnrm::solver::{SolveOptions, Solver, SolverError, SolverSettings, Status};
use dnnrm::solvers::create;
use dnnrm::solvers::{brute_force_optimum, Milp, MilpLp, SlotDp};

const TINY_INSTANCES: u64 = 1000;

/// A tiny instance: N <= 4, M <= 2, NB <= 4, U <= 4, 2 or 3 models per service, and
/// randomly tight deadlines, caches, RBs, units and links.
fn tiny(seed: u64) -> Instance {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let full = Zoo::embedded().expect("embedded zoo");
    let mut models = Vec::new();
    for s in SERVICES {
        let mut of: Vec<_> = full.models.iter().filter(|m| m.service == s).cloned().collect();
        of.shuffle(&mut rng);
        models.extend(of.into_iter().take(rng.gen_range(2..=3)));
    }
    let total_mb: f64 = models.iter().map(|m| m.file_mb).sum();
    let mut p = ScenarioParams {
        n_devices: rng.gen_range(1..=4),
        n_edges: rng.gen_range(1..=2),
        floor_m: *[60.0, 150.0, 300.0].choose(&mut rng).unwrap_or(&300.0),
        rbs: rng.gen_range(1..=4),
        edge_units: rng.gen_range(1..=4),
        rb_width_hz: *[0.2e6, 0.5e6, 1e6, 3e6].choose(&mut rng).unwrap_or(&0.5e6),
        edge_flops: *[5e10, 1e11, 2e11, 1e12, 4e12].choose(&mut rng).unwrap_or(&2e12),
        edge_cache_mb: rng.gen_range(0.0..0.5) * total_mb,
        deadline_scale: *[0.3, 0.6, 1.0, 2.0, 5.0].choose(&mut rng).unwrap_or(&1.0),
        device_storage_min_mb: 5.0,
        device_storage_max_mb: 120.0,
        backhaul_delay_s: *[0.02, 0.1, 0.3].choose(&mut rng).unwrap_or(&0.1),
        cloud_flops: *[2e12, 2e13].choose(&mut rng).unwrap_or(&2e13),
        ..ScenarioParams::default()
    };
    p.share_classification = 0.5;
    p.share_detection = 0.3;
    p.share_segmentation = 0.2;
    let sc = Scenario { params: p, zoo: Zoo { models } };
    let mut inst = generate(&sc, seed, &format!("tiny-{seed}"));
    // Sometimes a cache exactly as large as two models, to test the boundary.
    if rng.gen_bool(0.15) && inst.models.len() >= 2 {
        let (a, b) = (rng.gen_range(0..inst.models.len()), rng.gen_range(0..inst.models.len()));
        let c = inst.models[a].size_mb + if a != b { inst.models[b].size_mb } else { 0.0 };
        for e in &mut inst.edges {
            e.cache_mb = c;
        }
    }
    inst
}

fn milp_report(inst: &Instance) -> dnnrm::solver::SolveReport {
    Milp::default().solve(inst, &SolveOptions::default()).expect("milp never errors on a valid instance")
}

/// One more RB per server (same width).
fn more_rbs(inst: &Instance) -> Instance {
    let mut i = inst.clone();
    i.edges.iter_mut().for_each(|e| e.rbs += 1);
    i
}

/// One more compute unit per server, of the same size (F grows with U).
fn more_units(inst: &Instance) -> Instance {
    let mut i = inst.clone();
    for e in &mut i.edges {
        e.flops *= f64::from(e.units + 1) / f64::from(e.units);
        e.units += 1;
    }
    i
}

/// Unlimited caches.
fn more_cache(inst: &Instance) -> Instance {
    let mut i = inst.clone();
    let total: f64 = i.models.iter().map(|m| m.size_mb).sum();
    i.edges.iter_mut().for_each(|e| e.cache_mb = total + 1.0);
    i
}

#[test]
fn milp_equals_brute_force_on_tiny_instances() {
    let t0 = Instant::now();
    let (mut rejecting, mut cache_binding, mut rb_binding, mut unit_binding) = (0, 0, 0, 0);
    let mut served_somewhere = 0;
    for seed in 0..TINY_INSTANCES {
        let inst = tiny(seed);
        inst.validate().expect("generated instance is valid");
        let (brute, brute_sol) = brute_force_optimum(&inst);
        let brute_eval = evaluate(&inst, &brute_sol).expect("brute-force solution is valid");
        assert!(
            (brute_eval.objective - brute).abs() <= 1e-12,
            "seed {seed}: brute value and its solution differ"
        );

        let rep = milp_report(&inst);
        assert_eq!(rep.status, Status::Optimal, "seed {seed}: {}", rep.reason);
        let eval = evaluate(&inst, &rep.solution)
            .unwrap_or_else(|v| panic!("seed {seed}: invalid MILP solution: {v}"));
        assert!(
            (eval.objective - brute).abs() <= 1e-9,
            "seed {seed}: milp {} != brute force {brute}\n{inst:#?}",
            eval.objective
        );
        let bound = rep.bound.expect("milp reports a bound");
        assert!(
            bound >= brute - 1e-9 && bound <= brute + 1e-5,
            "seed {seed}: bound {bound} vs optimum {brute}"
        );

        // The single monolithic MILP (no decomposition) agrees too.
        let mono = Milp::default()
            .with_decompose(false)
            .solve(&inst, &SolveOptions::default())
            .expect("monolithic milp");
        assert_eq!(mono.status, Status::Optimal, "seed {seed}: {}", mono.reason);
        let mono_obj = evaluate(&inst, &mono.solution).expect("valid").objective;
        assert!((mono_obj - brute).abs() <= 1e-9, "seed {seed}: monolithic milp {mono_obj} != {brute}");

        if brute_sol.decisions.contains(&Decision::Reject) {
            rejecting += 1;
        }
        if brute > 0.0 {
            served_somewhere += 1;
        }
        // Relaxed instances: the MILP must match the brute force on them as well.
        for (kind, relaxed) in [(0, more_cache(&inst)), (1, more_rbs(&inst)), (2, more_units(&inst))] {
            let (b2, _) = brute_force_optimum(&relaxed);
            let m2 = evaluate(&relaxed, &milp_report(&relaxed).solution).expect("valid").objective;
            assert!((m2 - b2).abs() <= 1e-9, "seed {seed} relaxation {kind}: milp {m2} != brute {b2}");
            assert!(b2 >= brute - 1e-12, "seed {seed}: a relaxation lowered the optimum");
            if b2 > brute + 1e-9 {
                match kind {
                    0 => cache_binding += 1,
                    1 => rb_binding += 1,
                    _ => unit_binding += 1,
                }
            }
        }
    }
    let elapsed = t0.elapsed();
    eprintln!(
        "{TINY_INSTANCES} tiny instances (x4 with relaxations) in {elapsed:?}: optimum rejects a task in \
         {rejecting}, serves something in {served_somewhere}; binding cache {cache_binding}, RBs {rb_binding}, \
         units {unit_binding}"
    );
    for (what, count) in [
        ("rejects a task", rejecting),
        ("binding cache", cache_binding),
        ("binding RBs", rb_binding),
        ("binding compute units", unit_binding),
    ] {
        assert!(
            count >= 20,
            "only {count} instances where the optimum {what}: the generator lost its variety"
        );
    }
    assert!(served_somewhere >= 200, "only {served_somewhere} instances serve any task");
}

fn default_instance(seed: u64, n: usize, m: usize) -> Instance {
    let p = ScenarioParams { n_devices: n, n_edges: m, ..ScenarioParams::default() };
    generate(&p.check().expect("valid defaults"), seed, &format!("default-{seed}"))
}

#[test]
fn lp_bound_is_above_the_milp_optimum() {
    for seed in 0..4 {
        let inst = default_instance(1000 + seed, 50, 4);
        let milp = milp_report(&inst);
        assert_eq!(milp.status, Status::Optimal, "{}", milp.reason);
        let opt = evaluate(&inst, &milp.solution).expect("valid").objective;
        let lp = MilpLp.solve(&inst, &SolveOptions::default()).expect("lp");
        assert_eq!(lp.status, Status::Heuristic);
        let lp_bound = lp.bound.expect("the LP reports its optimum as a bound");
        assert!(lp_bound >= opt - 1e-9, "seed {seed}: LP bound {lp_bound} < MILP optimum {opt}");
        let lp_obj = evaluate(&inst, &lp.solution).expect("the LP rounding is valid").objective;
        assert!(lp_obj <= opt + 1e-9, "seed {seed}: a rounding beat the optimum");
        // One MILP for all servers finds the same optimum as one per server.
        let mono =
            Milp::default().with_decompose(false).solve(&inst, &SolveOptions::default()).expect("mono");
        assert_eq!(mono.status, Status::Optimal, "{}", mono.reason);
        let mono_obj = evaluate(&inst, &mono.solution).expect("valid").objective;
        assert!((mono_obj - opt).abs() <= 1e-9, "seed {seed}: monolithic {mono_obj} != decomposed {opt}");
        // The MILP's dual bound closes on its optimum.
        let b = milp.bound.expect("bound");
        assert!(b >= opt - 1e-9 && b - opt <= 1e-5, "seed {seed}: MILP bound {b} vs optimum {opt}");
    }
}

#[test]
fn greedy_ls_never_beats_the_milp_and_warm_start_agrees() {
    for seed in 0..3 {
        let inst = default_instance(2000 + seed, 60, 4);
        let cold = milp_report(&inst);
        let opt = evaluate(&inst, &cold.solution).expect("valid").objective;
        let warm_cfg = SolverSettings { warm_start: true, ..SolverSettings::default() };
        let warm =
            create("milp", &warm_cfg).expect("milp").solve(&inst, &SolveOptions::default()).expect("warm");
        assert_eq!(warm.status, Status::Optimal, "{}", warm.reason);
        let warm_obj = evaluate(&inst, &warm.solution).expect("valid").objective;
        assert!((warm_obj - opt).abs() <= 1e-9, "seed {seed}: warm {warm_obj} != cold {opt}");
        let ls = create("greedy-ls", &SolverSettings::default()).expect("greedy-ls");
        let ls_obj = evaluate(&inst, &ls.solve(&inst, &SolveOptions::default()).expect("ls").solution)
            .expect("valid")
            .objective;
        assert!(ls_obj <= opt + 1e-9, "seed {seed}: greedy-ls {ls_obj} beat the proven optimum {opt}");
        assert!(warm.stats.contains_key("warm_start_objective"));
    }
}

#[test]
fn tiny_time_limit_on_a_large_instance_is_reported_honestly() {
    let inst = default_instance(77, 500, 12);
    for limit_ms in [1u64, 50] {
        let opts =
            SolveOptions { time_limit: Some(Duration::from_millis(limit_ms)), ..SolveOptions::default() };
        let t0 = Instant::now();
        let rep = Milp::default().solve(&inst, &opts).expect("never errors");
        let wall = t0.elapsed();
        eprintln!("limit {limit_ms} ms: {} in {wall:?}: {}", rep.status, rep.reason);
        let obj = evaluate(&inst, &rep.solution).expect("the answer is valid whatever the status").objective;
        let bound = rep.bound.expect("a bound is always reported when the MILP did not fail");
        assert!(bound >= obj - 1e-9, "bound {bound} below the objective {obj}");
        match rep.status {
            Status::Optimal => assert!(bound - obj <= 1e-5, "optimal with gap {}", bound - obj),
            Status::TimeLimit => {
                assert!(rep.stats["gap"] >= 0.0);
                // Not proven: the LP relaxation bounds it too, never looser than HiGHS's
                // bound, and as tight as milp-lp's whenever that LP finished in time.
                let highs = rep.stats["highs_bound"];
                assert!(bound <= highs + 1e-12, "bound {bound} looser than HiGHS's {highs}");
                let lp = MilpLp.solve(&inst, &SolveOptions::default()).expect("lp").bound.expect("lp bound");
                if rep.stats["lp_bound_proven"] == 1.0 {
                    assert!(
                        bound <= lp + 1e-7,
                        "limit {limit_ms} ms: bound {bound} looser than the LP's {lp}"
                    );
                }
            }
            s => panic!("unexpected status {s}: {}", rep.reason),
        }
        // The guard bounds the wall time even if HiGHS overruns its limit.
        assert!(wall < Duration::from_secs(30), "took {wall:?}");
    }
}

#[test]
fn configuration_is_checked_once() {
    let bad_gap = SolverSettings { mip_rel_gap: Some(-0.1), ..SolverSettings::default() };
    assert!(matches!(create("milp", &bad_gap), Err(SolverError::Config { .. })));
    let nan_gap = SolverSettings { mip_rel_gap: Some(f64::NAN), ..SolverSettings::default() };
    assert!(matches!(create("milp", &nan_gap), Err(SolverError::Config { .. })));
    let foreign = SolverSettings { checkpoint: Some("models/drl/seed0".into()), ..SolverSettings::default() };
    assert!(matches!(create("milp", &foreign), Err(SolverError::Config { .. })));
    let ok = SolverSettings { mip_rel_gap: Some(0.01), ..SolverSettings::default() };
    let milp = create("milp", &ok).expect("valid configuration");
    let inst = default_instance(5, 40, 4);
    let rep = milp.solve(&inst, &SolveOptions::default()).expect("solve");
    // With a 1% gap HiGHS may stop early: `optimal` only when the bound is met, else
    // `gap-limit`, and either way within the gap.
    let obj = evaluate(&inst, &rep.solution).expect("valid").objective;
    let bound = rep.bound.expect("bound");
    match rep.status {
        Status::Optimal => assert!(bound - obj <= 1e-6, "{}", rep.reason),
        Status::GapLimit => assert!(bound - obj > 1e-6, "{}", rep.reason),
        s => panic!("unexpected status {s}: {}", rep.reason),
    }
    assert_eq!(rep.stats["mip_rel_gap"], 0.01);
    assert!(rep.reason.contains("mip_rel_gap 0.01"), "{}", rep.reason);
    let obj = evaluate(&inst, &rep.solution).expect("valid").objective;
    assert!(rep.bound.expect("bound") * (1.0 - 0.01) <= obj + 1e-9);
}

#[test]
fn threads_are_honoured_and_answers_agree() {
    let inst = default_instance(9, 80, 4);
    let one = milp_report(&inst);
    let two =
        Milp::default().solve(&inst, &SolveOptions { threads: 2, ..SolveOptions::default() }).expect("solve");
    assert_eq!(two.stats["threads"], 2.0);
    let (a, b) = (
        evaluate(&inst, &one.solution).expect("valid").objective,
        evaluate(&inst, &two.solution).expect("valid").objective,
    );
    assert!((a - b).abs() <= 1e-9, "1 thread {a} vs 2 threads {b}");
}

#[test]
fn warm_start_columns_encode_a_solution_at_least_as_good() {
    use dnnrm::model::enumerate_options;
    use dnnrm::solvers::milp::encoding::{assemble, reduce, Block};
    for seed in 0..5 {
        let inst = default_instance(3000 + seed, 80, 4);
        let ls = create("greedy-ls", &SolverSettings::default()).expect("greedy-ls");
        let start = ls.solve(&inst, &SolveOptions::default()).expect("ls").solution;
        let start_obj = evaluate(&inst, &start).expect("valid").objective;
        let choices = reduce(&inst, &enumerate_options(&inst));
        let parts: Vec<_> = (0..inst.edges.len())
            .map(|m| {
                let b = Block::new(&inst, &choices, vec![m]);
                b.decode(&choices, &b.warm_start_values(&inst, &start)).expect("warm start decodes")
            })
            .collect();
        let mapped = assemble(&inst, &choices, &parts);
        let mapped_obj = evaluate(&inst, &mapped).expect("the warm start is feasible").objective;
        assert!(
            mapped_obj >= start_obj - 1e-12,
            "seed {seed}: warm start {mapped_obj} < greedy-ls {start_obj}"
        );
    }
}

/// A random fixed placement that fits: each server and device keeps a random subset of
/// the zoo, added in random order while it fits.
fn with_random_resident(mut inst: Instance, rng: &mut ChaCha8Rng) -> Instance {
    let pick = |cap: f64, rng: &mut ChaCha8Rng| {
        let mut ks: Vec<usize> = (0..inst.models.len()).collect();
        ks.shuffle(rng);
        let (mut used, mut out) = (0.0, Vec::new());
        for k in ks {
            if rng.gen_bool(0.6) && used + inst.models[k].size_mb <= cap {
                used += inst.models[k].size_mb;
                out.push(k);
            }
        }
        out
    };
    let edges = inst.edges.iter().map(|e| pick(e.cache_mb, rng)).collect();
    let devices = inst.devices.iter().map(|d| pick(d.storage_mb, rng)).collect();
    inst.resident = Some(dnnrm::model::Resident { edges, devices });
    inst
}

/// The per-slot problem of an episode (MODEL.md §9.4: placement fixed to the resident
/// models): `milp` equals the brute force, every solver of the registry answers within
/// the resident models (the evaluator refuses anything else), and fixing the placement
/// never raises the optimum.
#[test]
fn fixed_placement_milp_equals_brute_force_and_every_solver_respects_it() {
    let mut rng = ChaCha8Rng::seed_from_u64(77);
    let mut restricted = 0;
    let solvers: Vec<_> = dnnrm::solvers::registry()
        .iter()
        .filter_map(|i| create(i.name, &SolverSettings::default()).ok())
        .collect();
    assert!(solvers.len() >= 8, "the registry builds its solvers");
    for seed in 0..300 {
        let free = tiny(10_000 + seed);
        let inst = with_random_resident(free.clone(), &mut rng);
        inst.validate().expect("a fitting resident set is valid");
        let (brute, _) = brute_force_optimum(&inst);
        let (brute_free, _) = brute_force_optimum(&free);
        assert!(brute <= brute_free + 1e-12, "seed {seed}: fixing placement raised the optimum");
        if brute < brute_free - 1e-9 {
            restricted += 1;
        }
        let rep = milp_report(&inst);
        assert_eq!(rep.status, Status::Optimal, "seed {seed}: {}", rep.reason);
        let obj = evaluate(&inst, &rep.solution).unwrap_or_else(|v| panic!("seed {seed}: {v}")).objective;
        assert!((obj - brute).abs() <= 1e-9, "seed {seed}: milp {obj} != brute force {brute}");
        // `dp` is exact when the placement is fixed.
        let dp = SlotDp.solve(&inst, &SolveOptions::default()).expect("dp");
        assert_eq!(dp.status, Status::Optimal, "seed {seed}: {}", dp.reason);
        let dp_obj =
            evaluate(&inst, &dp.solution).unwrap_or_else(|v| panic!("seed {seed}: dp: {v}")).objective;
        assert!((dp_obj - brute).abs() <= 1e-9, "seed {seed}: dp {dp_obj} != brute force {brute}");
        if seed % 10 == 0 {
            for s in &solvers {
                let rep = s.solve(&inst, &SolveOptions::default()).expect("solves");
                evaluate(&inst, &rep.solution)
                    .unwrap_or_else(|v| panic!("seed {seed}: {} breaks the fixed placement: {v}", s.name()));
            }
        }
    }
    assert!(restricted >= 30, "only {restricted} instances where the fixed placement binds");
}

/// Tight deadlines at scale (the `milp-stress` regime): stopped during root processing,
/// HiGHS's bound can stay far above the optimum; the LP relaxation's bound is reported
/// instead when tighter, and it is never below the optimum.
#[test]
fn a_time_limited_milp_reports_the_lp_bound_when_tighter() {
    let sc = ScenarioParams { n_devices: 400, n_edges: 8, deadline_scale: 0.3, ..ScenarioParams::default() }
        .check()
        .expect("params");
    let inst = generate(&sc, 4242, "stress");
    let opts = SolveOptions { time_limit: Some(Duration::from_millis(150)), ..SolveOptions::default() };
    let rep = Milp::default().solve(&inst, &opts).expect("never errors");
    assert_eq!(rep.status, Status::TimeLimit, "{}", rep.reason);
    assert_eq!(rep.stats["lp_bound_proven"], 1.0, "the LP relaxation finishes in its allowance");
    let lp = MilpLp.solve(&inst, &SolveOptions::default()).expect("lp").bound.expect("lp bound");
    let bound = rep.bound.expect("bound");
    assert!(bound <= lp + 1e-7 && bound <= rep.stats["highs_bound"] + 1e-12, "bound {bound}, LP {lp}");
    let opt = milp_report(&inst);
    assert_eq!(opt.status, Status::Optimal);
    let best = evaluate(&inst, &opt.solution).expect("valid").objective;
    assert!(bound >= best - 1e-9, "the LP bound {bound} is below the optimum {best}");
}

/// `dp` at the default scale (N = 50, M = 4, NB = U = 20): with a random fixed placement
/// it equals `milp`'s proven optimum; with the placement free and `milp`'s optimal cache
/// imposed as the resident set it reaches the optimum too (its assignment is exact); with
/// the placement free it never beats `milp` and never loses to `greedy`, whose cache it
/// shares.
#[test]
fn dp_equals_milp_when_the_placement_is_fixed() {
    let mut rng = ChaCha8Rng::seed_from_u64(91);
    let greedy = create("greedy", &SolverSettings::default()).expect("greedy");
    let obj = |inst: &Instance, s: &dnnrm::model::Solution| evaluate(inst, s).expect("valid").objective;
    for seed in 0..40 {
        let free = default_instance(3000 + seed, 50, 4);
        let fixed = with_random_resident(free.clone(), &mut rng);
        let (m, d) = (milp_report(&fixed), SlotDp.solve(&fixed, &SolveOptions::default()).expect("dp"));
        assert_eq!((m.status, d.status), (Status::Optimal, Status::Optimal), "seed {seed}");
        let (mo, dobj) = (obj(&fixed, &m.solution), obj(&fixed, &d.solution));
        assert!((mo - dobj).abs() <= 1e-9, "seed {seed}: dp {dobj} != milp {mo} (fixed placement)");
        assert_eq!(d.bound, Some(dobj));

        let opt_rep = milp_report(&free);
        let opt = obj(&free, &opt_rep.solution);
        // The optimum's placement imposed: its solution stays feasible, so `dp` (exact
        // on a fixed placement) must reach the optimum.
        let mut at_opt = free.clone();
        at_opt.resident = Some(dnnrm::model::Resident {
            edges: opt_rep.solution.edge_cache.clone(),
            devices: opt_rep.solution.device_models.clone(),
        });
        at_opt.validate().expect("the optimum's placement fits");
        let d2 = SlotDp.solve(&at_opt, &SolveOptions::default()).expect("dp");
        let o2 = obj(&at_opt, &d2.solution);
        assert!((o2 - opt).abs() <= 1e-9, "seed {seed}: dp on milp's placement {o2} != optimum {opt}");

        let dfree = SlotDp.solve(&free, &SolveOptions::default()).expect("dp");
        assert_eq!(dfree.status, Status::Heuristic);
        let df = obj(&free, &dfree.solution);
        let g = obj(&free, &greedy.solve(&free, &SolveOptions::default()).expect("greedy").solution);
        assert!(df <= opt + 1e-9, "seed {seed}: dp {df} beat the optimum {opt}");
        assert!(df >= g - 1e-12, "seed {seed}: dp {df} below greedy {g} on greedy's cache");
    }
}
