//! The DDPG benchmark: one-shot decoding and repair, training determinism, checkpoint
//! loading and the committed policy.

mod common;

use std::path::Path;

use dnnrm::bench::runner::error_chain;
use dnnrm::model::{enumerate_options, evaluate, Assignment, Decision};
use dnnrm::scenario::{generate, ScenarioParams};
use dnnrm::solver::{SolveOptions, SolverError, SolverSettings};
use dnnrm::solvers::create;
use dnnrm::solvers::ddpg::env::{
    decode, encode, location_bin, OneShotError, ACT_DIM, ACT_PER_TASK, CACHE_OFFSET, K_MAX, OBS_DIM,
    TASK_FEATURES,
};
use dnnrm::solvers::ddpg::policy::OneShotPolicy;
use dnnrm::solvers::ddpg::train::{train_ddpg, DdpgTrainConfig};
use rand::{Rng, SeedableRng};

/// Location values at the centre of each bin.
const LOCAL: f32 = 0.1;
const EDGE: f32 = 0.4;
const CLOUD: f32 = 0.6;
const REJECT: f32 = 0.9;

/// An action for `tiny()`: per task (location, model, RB share, compute share), and
/// cache scores for edge 0 (models 0 small, 1 big, 2 det).
fn tiny_action(tasks: [[f32; 4]; 2], cache: [f32; 3]) -> Vec<f32> {
    let mut a = vec![0.0; ACT_DIM];
    for (n, t) in tasks.iter().enumerate() {
        a[n * ACT_PER_TASK..(n + 1) * ACT_PER_TASK].copy_from_slice(t);
    }
    a[CACHE_OFFSET..CACHE_OFFSET + 3].copy_from_slice(&cache);
    a
}

#[test]
fn location_bins_split_the_unit_interval() {
    assert_eq!([0.0, 0.24, 0.25, 0.49, 0.5, 0.74, 0.75, 1.0].map(location_bin), [0, 0, 1, 1, 2, 2, 3, 3]);
}

#[test]
fn request_breaking_the_deadline_is_rejected_counted_and_its_rbs_reshared() {
    let inst = common::tiny();
    // Task 0: edge, most accurate classification model (big), RB share 0.25.
    // Task 1: cloud, detection model, RB share 0.75. Cache: big first.
    // Round 1: task 0 gets floor(4 * 0.25) = 1 RB: upload 0.1 s + compute 1e11 / 1e12 =
    // 0.2 s > 0.15 s, so it is rejected (a repair). Round 2: task 1 alone gets all 4.
    let a = tiny_action([[EDGE, 0.9, 0.25, 0.5], [CLOUD, 0.0, 0.75, 0.5]], [0.0, 1.0, 0.0]);
    let d = decode(&inst, &a).unwrap();
    assert_eq!(d.repaired, 1);
    assert_eq!(d.solution.decisions[0], Decision::Reject);
    assert_eq!(d.solution.decisions[1], Decision::Serve(Assignment::cloud(2, 4)));
    let ev = evaluate(&inst, &d.solution).unwrap();
    assert!((ev.objective - 0.4 / 2.0).abs() < 1e-12);

    // Local requests: big (60 MB) does not fit device 0's 50 MB; det (50 MB) not device
    // 1's 20 MB: both repaired. Small meets 0.1 s <= 0.15 s and is served and stored.
    let a = tiny_action([[LOCAL, 0.9, 0.5, 0.5], [LOCAL, 0.0, 0.5, 0.5]], [0.0; 3]);
    let d = decode(&inst, &a).unwrap();
    assert_eq!((d.repaired, d.solution.decisions[0]), (2, Decision::Reject));
    let a = tiny_action([[LOCAL, 0.1, 0.5, 0.5], [REJECT, 0.0, 0.5, 0.5]], [0.0; 3]);
    let d = decode(&inst, &a).unwrap();
    assert_eq!(d.repaired, 0, "a task the action rejects is not a repair");
    assert_eq!(d.solution.decisions[0], Decision::Serve(Assignment::local(0)));
    assert_eq!(d.solution.device_models, vec![vec![0], vec![]]);

    // Edge with a model that is not cached: repaired.
    let a = tiny_action([[EDGE, 0.9, 0.5, 0.5], [REJECT, 0.0, 0.5, 0.5]], [1.0, 0.0, 0.9]);
    let d = decode(&inst, &a).unwrap();
    assert_eq!(d.solution.edge_cache, vec![vec![0, 2]]);
    assert_eq!((d.repaired, d.solution.decisions[0]), (1, Decision::Reject));
}

#[test]
fn cache_fill_follows_scores_and_respects_capacity() {
    let inst = common::tiny(); // cache 100 MB; sizes small 10, big 60, det 50
    let none = [[REJECT, 0.0, 0.5, 0.5]; 2];
    let cases = [
        ([0.1, 0.8, 0.9], vec![0, 2]), // det 50, big would reach 110: skipped, small fits
        ([0.1, 0.9, 0.8], vec![0, 1]), // big 60, det would reach 110: skipped
        ([0.9, 0.1, 0.8], vec![0, 2]), // small, det (60), big would reach 120
    ];
    for (scores, expected) in cases {
        let d = decode(&inst, &tiny_action(none, scores)).unwrap();
        assert_eq!(d.solution.edge_cache, vec![expected.clone()], "scores {scores:?}");
        let used: f64 = expected.iter().map(|&k| inst.models[k].size_mb).sum();
        assert!(used <= inst.edges[0].cache_mb);
    }
}

#[test]
fn shares_are_normalised_and_rounded_down() {
    let inst = common::tiny(); // 4 RBs, 10 units
                               // Both to the cloud, RB shares 0.3 and 0.5: floor(4·0.3/0.8) = 1, floor(4·0.5/0.8)
                               // = 2; one RB stays unused. Task 0 (small) in the cloud with 1 RB: 0.1 + 0.004 +
                               // 0.01 + 0.001 = 0.115 s <= 0.15 s.
    let a = tiny_action([[CLOUD, 0.1, 0.3, 0.9], [CLOUD, 0.0, 0.5, 0.9]], [0.0; 3]);
    let d = decode(&inst, &a).unwrap();
    assert_eq!(d.repaired, 0);
    assert_eq!(
        d.solution.decisions,
        vec![Decision::Serve(Assignment::cloud(0, 1)), Decision::Serve(Assignment::cloud(2, 2))]
    );
    // Both at the edge: RBs 2 + 2, units floor(10·0.2/0.8) = 2 and floor(10·0.6/0.8) = 7.
    let a = tiny_action([[EDGE, 0.1, 0.5, 0.2], [EDGE, 0.0, 0.5, 0.6]], [0.9, 0.0, 0.8]);
    let d = decode(&inst, &a).unwrap();
    assert_eq!(d.repaired, 0);
    assert_eq!(
        d.solution.decisions,
        vec![Decision::Serve(Assignment::edge(0, 2, 2)), Decision::Serve(Assignment::edge(2, 2, 7))]
    );
    assert!(evaluate(&inst, &d.solution).is_ok());
}

#[test]
fn every_decoded_action_passes_the_evaluator() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let sc = ScenarioParams::default().check().unwrap();
    let mut served = 0usize;
    for seed in 0..200u64 {
        let inst = if seed % 10 == 9 {
            generate(&sc, 3_000_000 + seed, "default")
        } else {
            common::small_random(seed)
        };
        let action: Vec<f32> = match seed % 7 {
            0 => vec![0.0; ACT_DIM],
            1 => vec![1.0; ACT_DIM],
            // location biased to serving, shares and scores uniform
            _ => (0..ACT_DIM)
                .map(|i| {
                    if i < CACHE_OFFSET && i % ACT_PER_TASK == 0 {
                        rng.gen_range(0.0..0.75)
                    } else {
                        rng.gen()
                    }
                })
                .collect(),
        };
        let d = decode(&inst, &action).unwrap();
        let ev = evaluate(&inst, &d.solution)
            .unwrap_or_else(|v| panic!("instance {seed}: decoded solution invalid: {v}"));
        let asked =
            d.intents.iter().filter(|i| !matches!(i, dnnrm::solvers::ddpg::env::Intent::Reject)).count();
        assert_eq!(asked, inst.n_tasks() - ev.counts.rejected + d.repaired, "instance {seed}");
        served += inst.n_tasks() - ev.counts.rejected;
        let obs = encode(&inst, &enumerate_options(&inst)).unwrap();
        assert_eq!(obs.len(), OBS_DIM);
        assert!(obs.iter().all(|x| x.is_finite()));
        // padding task slots are all zero
        assert!(obs[inst.n_tasks() * TASK_FEATURES..64 * TASK_FEATURES].iter().all(|&x| x == 0.0));
    }
    assert!(served > 100, "random actions should serve some tasks, served {served}");
}

#[test]
fn oversized_instances_are_refused_by_name() {
    let sc = ScenarioParams { n_devices: 65, ..Default::default() }.check().unwrap();
    let inst = generate(&sc, 1, "big");
    let e = decode(&inst, &vec![0.5; ACT_DIM]).unwrap_err();
    assert_eq!(e, OneShotError::TooLarge { what: "tasks", found: 65, max: 64 });
    assert!(e.to_string().contains("65 tasks"), "{e}");
    assert!(matches!(decode(&common::tiny(), &[0.5; 3]), Err(OneShotError::ActionDim { got: 3 })));
    assert_eq!(K_MAX, 24);
}

fn tiny_training() -> DdpgTrainConfig {
    let mut cfg = DdpgTrainConfig {
        seed: 3,
        steps: 300,
        warmup_steps: 100,
        eval_every: 100,
        val_instances: 3,
        hidden: 64,
        ..Default::default()
    };
    cfg.ddpg.batch_size = 32;
    cfg.env.episode_len = 20;
    cfg
}

#[test]
fn training_is_deterministic_and_keeps_the_best_policy() {
    let root = tempfile::tempdir().unwrap();
    let (a, b) = (root.path().join("a"), root.path().join("b"));
    let ra = train_ddpg(&tiny_training(), &a, Vec::new()).unwrap();
    let rb = train_ddpg(&tiny_training(), &b, Vec::new()).unwrap();
    assert_eq!(ra.outcome.report.curve, rb.outcome.report.curve);
    let csv_a = std::fs::read_to_string(a.join("curve.csv")).unwrap();
    assert_eq!(csv_a, std::fs::read_to_string(b.join("curve.csv")).unwrap());
    assert!(csv_a.starts_with("step,episodes,train_return,val_objective\n"));
    // 300 steps of 20-slot episodes: 15 episodes; evaluations at 100, 200, 300
    assert_eq!(ra.outcome.report.episodes, 15);
    let evals: Vec<u64> =
        ra.outcome.report.curve.iter().filter(|p| p.eval_score.is_some()).map(|p| p.step).collect();
    assert_eq!(evals, vec![100, 200, 300]);
    // one curve row per evaluation: 5 episodes end between evaluations
    assert_eq!(csv_a.lines().count(), 1 + 3);
    assert!(csv_a.lines().nth(1).unwrap().starts_with("100,5,"), "{csv_a}");
    let train_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(a.join("train.json")).unwrap()).unwrap();
    assert_eq!((train_json["learner"].as_str(), train_json["episodes"].as_u64()), (Some("ddpg"), Some(15)));
    // the saved policy is the best evaluation, and acting with it reproduces its score
    let (best_step, best) = ra.outcome.report.best.unwrap();
    let p = OneShotPolicy::load(&a).unwrap();
    assert_eq!((p.meta().step, p.state().val_objective), (best_step, best));
    let sc = ScenarioParams::default().check().unwrap();
    let val = dnnrm::solvers::ddpg::env::validation_set(&sc, 3).unwrap();
    let obs: Vec<f32> = val.iter().flat_map(|s| s.obs.iter().copied()).collect();
    let (obj, _) = dnnrm::solvers::ddpg::train::score_actions(&val, &p.act(&obs), p.env()).unwrap();
    assert!((obj - best).abs() < 1e-9, "reloaded policy scores {obj}, saved {best}");
    // a different seed gives a different run
    let mut other = tiny_training();
    other.seed = 4;
    let rc = train_ddpg(&other, &root.path().join("c"), Vec::new()).unwrap();
    assert_ne!(ra.outcome.report.curve, rc.outcome.report.curve);
}

#[test]
fn bad_checkpoints_give_named_errors() {
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("run");
    let mut cfg = tiny_training();
    cfg.steps = 120;
    train_ddpg(&cfg, &out, Vec::new()).unwrap();
    let config = |dir: &Path| SolverSettings { checkpoint: Some(dir.to_path_buf()), ..Default::default() };
    let good = create("ddpg", &config(&out)).unwrap();
    assert!(good.version().contains("+ckpt-"), "{}", good.version());

    // corrupt one byte of the actor
    let actor = out.join("policy/actor.safetensors");
    let mut bytes = std::fs::read(&actor).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    std::fs::write(&actor, &bytes).unwrap();
    match create("ddpg", &config(&out)) {
        Err(e @ SolverError::Checkpoint { .. }) => {
            let chain = error_chain(&e);
            assert!(
                chain.contains("ddpg") && chain.contains("actor.safetensors") && chain.contains("corrupt"),
                "{chain}"
            );
        }
        other => panic!("expected a checkpoint error, got {:?}", other.map(|s| s.version())),
    }
    // truncated meta.json
    std::fs::write(out.join("policy/meta.json"), "{\"format_version\": 1, \"algo").unwrap();
    let e = error_chain(&create("ddpg", &config(&out)).err().unwrap());
    assert!(e.contains("meta.json"), "{e}");
    // missing folder
    let missing = root.path().join("nowhere");
    let e = error_chain(&create("ddpg", &config(&missing)).err().unwrap());
    assert!(e.contains("nowhere") && e.contains("missing"), "{e}");
}

#[test]
fn committed_checkpoint_solves_a_default_instance() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cfg = SolverSettings { checkpoint: Some(root.join("models/ddpg/seed0")), ..Default::default() };
    let solver = create("ddpg", &cfg).unwrap();
    let sc = ScenarioParams::default().check().unwrap();
    let inst = generate(&sc, 0, "default-0000");
    let report = solver.solve(&inst, &SolveOptions::default()).unwrap();
    let ev = evaluate(&inst, &report.solution).unwrap();
    assert!(ev.objective > 0.0, "objective {}", ev.objective);
    assert!(report.stats.contains_key("repaired"));
    let size: u64 = std::fs::read_dir(root.join("models/ddpg/seed0/policy"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert!(size < 5_000_000, "committed policy is {size} bytes");
}
