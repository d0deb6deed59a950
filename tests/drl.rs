//! The proposed scheme: valid by construction, deterministic training, checkpoints.

mod common;

use common::small_random;
use dnnrm::bench::runner::error_chain;
use dnnrm::model::evaluate;
use dnnrm::rl::nets::flat_params;
use dnnrm::rl::scorer::load_scorer;
use dnnrm::rl::train::TrainConfig;
use dnnrm::solver::{SolveOptions, Solver};
use dnnrm::solvers::drl::construct::{FEATURES, MAX_CANDIDATES};
use dnnrm::solvers::drl::policy::{run_policy, HIDDEN};
use dnnrm::solvers::drl::train::{train_drl, DrlTrainConfig};
use dnnrm::solvers::drl::{DrlSolver, Variant};
use rand::{Rng, SeedableRng};

#[test]
fn any_policy_is_valid_by_construction_on_300_instances() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
    let mut repaired_without_mask = 0;
    for seed in 0..300 {
        let inst = small_random(seed);
        for variant in [Variant::Full, Variant::NoSubroutine, Variant::NoMasking] {
            // A random policy: the construction alone must keep the answer valid.
            let (sol, repaired) = run_policy(&inst, variant, |_, n| rng.gen_range(0..n));
            evaluate(&inst, &sol).unwrap_or_else(|v| panic!("{variant:?} seed {seed}: {v}"));
            match variant {
                Variant::NoMasking => repaired_without_mask += repaired,
                _ => assert_eq!(repaired, 0, "{variant:?} repaired on seed {seed}"),
            }
        }
    }
    // Without masking a random policy does pick options that do not fit.
    assert!(repaired_without_mask > 0);
}

fn tiny_config(seed: u64) -> DrlTrainConfig {
    let mut cfg = DrlTrainConfig { seed, validation_instances: 2, ..Default::default() };
    cfg.family.n_devices = (10, 20);
    cfg.family.n_edges = (2, 3);
    cfg.dqn.batch_size = 16;
    cfg.train = TrainConfig { total_steps: 400, warmup_steps: 100, eval_every: 200, ..Default::default() };
    cfg
}

#[test]
fn same_seed_same_learning_curve_and_checkpoint() {
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let runs: Vec<_> = pool.install(|| {
        [0u64, 0, 1]
            .iter()
            .zip(&dirs)
            .map(|(&seed, d)| {
                let outcome = train_drl(&tiny_config(seed), d.path(), Vec::new()).unwrap();
                let ck = load_scorer::<FEATURES, HIDDEN>(d.path(), MAX_CANDIDATES).unwrap();
                let curve = std::fs::read_to_string(d.path().join("curve.csv")).unwrap();
                (outcome.report.curve, flat_params(&ck.net), curve)
            })
            .collect()
    });
    assert_eq!(runs[0].0, runs[1].0);
    assert_eq!(runs[0].1, runs[1].1);
    assert_eq!(runs[0].2, runs[1].2);
    assert!(runs[0].2.lines().count() >= 3, "{}", runs[0].2);
    assert_ne!(runs[0].1, runs[2].1);
}

#[test]
fn checkpoint_round_trip_and_corruption() {
    let dir = tempfile::tempdir().unwrap();
    train_drl(&tiny_config(3), dir.path(), Vec::new()).unwrap();
    let solver = DrlSolver::load(dir.path(), Variant::Full).unwrap();
    let inst = small_random(5);
    let a = solver.solve(&inst, &SolveOptions::default()).unwrap().solution;
    let again = DrlSolver::load(dir.path(), Variant::Full).unwrap();
    assert_eq!(a, again.solve(&inst, &SolveOptions::default()).unwrap().solution);
    evaluate(&inst, &a).unwrap();
    // Wrong variant.
    let e = DrlSolver::load(dir.path(), Variant::NoMasking).err().unwrap().to_string();
    assert!(e.contains("variant"), "{e}");
    // Corrupt network file.
    let f = dir.path().join("scorer.safetensors");
    let mut bytes = std::fs::read(&f).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&f, &bytes).unwrap();
    let e = error_chain(&DrlSolver::load(dir.path(), Variant::Full).err().unwrap());
    assert!(e.contains("scorer.safetensors"), "{e}");
    // Missing folder.
    let e = error_chain(&DrlSolver::load(&dir.path().join("nope"), Variant::Full).err().unwrap());
    assert!(e.contains("nope"), "{e}");
}

#[test]
fn class_share_ranges_of_the_training_family_are_checked_and_train() {
    use dnnrm::solvers::drl::env::Family;
    let bad = Family { share_mcu: (0.5, 1.5), ..Family::default() };
    let e = bad.check().unwrap_err().to_string();
    assert!(e.contains("share_mcu"), "{e}");
    let upside_down = Family { share_gpu_node: (0.4, 0.1), ..Family::default() };
    assert!(upside_down.check().unwrap_err().to_string().contains("share_gpu_node"));
    // Too many devices for the size limits at the top of the range: refused up front.
    let too_big = Family { n_devices: (10, 1_000_000), ..Family::default() };
    assert!(too_big.check().unwrap_err().to_string().contains("n_devices"));
    // A mixed family trains, and its checkpoint records the family.
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = tiny_config(2);
    cfg.family.share_mcu = (0.5, 1.0);
    cfg.family.share_gpu_node = (0.0, 0.2);
    cfg.family.check().unwrap();
    train_drl(&cfg, dir.path(), Vec::new()).unwrap();
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("meta.json")).unwrap()).unwrap();
    assert_eq!(meta["env"]["family"]["share_mcu"], serde_json::json!([0.5, 1.0]));
}

/// The exact assignment stage keeps the construction's cache, stays valid and never
/// lowers the construction's accuracy; with `milp`'s optimal cache it reaches the
/// optimum (checked against the brute force on tiny instances in `milp_exact.rs`).
#[test]
fn the_exact_stage_keeps_the_cache_and_never_loses() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(19);
    let mut gained = 0;
    for seed in 0..300 {
        let inst = small_random(seed);
        let (sol, _) = run_policy(&inst, Variant::Full, |_, n| rng.gen_range(0..n));
        let before = evaluate(&inst, &sol).expect("valid").objective;
        let after_sol = dnnrm::solvers::dp::reassign(&inst, &sol).expect("a valid answer reads back");
        let after = evaluate(&inst, &after_sol).unwrap_or_else(|v| panic!("seed {seed}: {v}")).objective;
        assert_eq!(after_sol.edge_cache, sol.edge_cache, "seed {seed}: the cache is the construction's");
        assert!(after >= before - 1e-12, "seed {seed}: {after} < {before}");
        gained += usize::from(after > before + 1e-12);
    }
    assert!(gained >= 30, "the stage improves a random construction often ({gained})");
}
