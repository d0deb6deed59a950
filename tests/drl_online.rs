//! `drl-online` (the proposed scheme on episodes): its untrained prior is
//! `static-placement` slot for slot, every decision replays, the assignment is the
//! per-slot optimum (`dp` equals `milp` on episode slots), training is deterministic and its checkpoint
//! round-trips; a corrupt checkpoint is an error naming the file.

use dnnrm::model::{evaluate, Episode, Holdings};
use dnnrm::scenario::{DynamicsParams, ScenarioParams};
use dnnrm::solver::online::run_online;
use dnnrm::solver::{SolveOptions, Solver};
use dnnrm::solvers::drl_online::train::{train_drl_online, DrlOnlineTrainConfig, TrainSummary};
use dnnrm::solvers::drl_online::DrlOnline;
use dnnrm::solvers::online::{create_policy, generate_episode};
use tempfile::TempDir;

fn episode(seed: u64, n: usize, t: usize, extra: &[(&str, &str)]) -> Episode {
    let mut p = ScenarioParams { n_devices: n, ..ScenarioParams::default() };
    let mut d = DynamicsParams { n_slots: t, ..DynamicsParams::default() };
    for (k, v) in extra {
        if p.set(k, v).is_err() {
            d.set(k, v).expect("a scenario or dynamics parameter");
        }
    }
    generate_episode(&p.check().expect("params"), &d.check().expect("dynamics"), seed, &format!("e{seed}"))
}

const TIGHT: &[(&str, &str)] =
    &[("init", "warm"), ("share_mcu", "0.5"), ("regime_deadline_scales", "1;0.5;1")];

#[test]
fn the_untrained_prior_holds_static_placements_edge_targets() {
    for seed in 0..3 {
        let ep = episode(300 + seed, 20, 10, TIGHT);
        let mut prior = DrlOnline::prior();
        let a = run_online(&mut prior, &ep, seed).expect("valid run");
        let mut st = create_policy("static-placement").expect("registered");
        let b = run_online(st.as_mut(), &ep, seed).expect("valid run");
        // Holdings are sets (downloads started together queue by model index).
        let sorted = |h: &Holdings| {
            let s = |v: &Vec<Vec<usize>>| {
                v.iter()
                    .map(|x| {
                        let mut x = x.clone();
                        x.sort();
                        x
                    })
                    .collect::<Vec<_>>()
            };
            (s(&h.edges), s(&h.devices))
        };
        for (t, (x, y)) in a.decisions.iter().zip(&b.decisions).enumerate() {
            assert_eq!(
                sorted(&x.hold),
                sorted(&y.hold),
                "seed {seed} slot {t}: same edge and device holdings"
            );
        }
        // The same placement and the same per-slot optimum: `static-placement`, slot for slot.
        for (t, (x, y)) in a.evaluation.per_slot.iter().zip(&b.evaluation.per_slot).enumerate() {
            assert!((x - y).abs() <= 1e-9, "seed {seed} slot {t}: {x} vs {y}");
        }
    }
}

#[test]
fn the_assignment_is_the_per_slot_optimum() {
    let milp = dnnrm::solvers::Milp::default();
    let mut slots = 0;
    for seed in 0..4 {
        let ep = episode(320 + seed, 30, 6, TIGHT);
        let net = &ep.network;
        let resident = Holdings {
            edges: ep.initial.edges.iter().map(|s| s.resident.clone()).collect(),
            devices: ep.initial.devices.iter().map(|s| s.resident.clone()).collect(),
        };
        for slot in ep.slots.iter().filter(|s| !s.tasks.is_empty()) {
            let inst = net.slot_instance(slot, Some(&resident), "slot");
            let opts = SolveOptions::default();
            let got = evaluate(&inst, &dnnrm::solvers::SlotDp.solve(&inst, &opts).expect("dp").solution)
                .expect("valid")
                .objective;
            let opt =
                evaluate(&inst, &milp.solve(&inst, &opts).expect("milp").solution).expect("valid").objective;
            assert!((got - opt).abs() < 1e-9, "seed {seed}: dp {got} != milp {opt}");
            slots += 1;
        }
    }
    assert!(slots >= 20, "{slots} slots");
}

/// A training run of a few seconds (tiny episodes, high temperature: it explores).
fn tiny_training() -> DrlOnlineTrainConfig {
    DrlOnlineTrainConfig {
        params: "n_devices=12 n_edges=2 n_slots=8 init=warm share_mcu=0.5 regime_length=3".into(),
        train_episodes: 2,
        val_episodes: 2,
        episodes_per_update: 2,
        eval_every: 1,
        temperature: 0.5,
        ..DrlOnlineTrainConfig::default()
    }
}

/// Two runs of `cfg` into fresh folders; their curves must agree (same seed).
fn train_twice(cfg: &DrlOnlineTrainConfig) -> (TempDir, TempDir, TrainSummary, TrainSummary) {
    let pb = indicatif::ProgressBar::hidden();
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let s1 = train_drl_online(cfg, d1.path(), &pb).expect("trains");
    let s2 = train_drl_online(cfg, d2.path(), &pb).expect("trains");
    assert_eq!(s1.curve, s2.curve, "same seed, same curve");
    (d1, d2, s1, s2)
}

#[test]
fn training_is_deterministic_and_its_checkpoint_loads() {
    let cfg = DrlOnlineTrainConfig { updates: 3, device_updates: 0, ..tiny_training() };
    let (d1, d2, s1, s2) = train_twice(&cfg);
    assert_eq!(s1.prior_validation, s2.prior_validation);
    // Sampling at temperature 0.5 explores: some run differs from the greedy one.
    assert!(s1.curve.iter().any(|p| p.advantage != 0.0), "{:?}", s1.curve);
    let a = std::fs::read(d1.path().join("scorer.safetensors")).unwrap();
    let b = std::fs::read(d2.path().join("scorer.safetensors")).unwrap();
    assert_eq!(a, b, "same seed, same network");

    let mut p = DrlOnline::load(d1.path()).expect("loads");
    let ep = episode(340, 12, 6, TIGHT);
    run_online(&mut p, &ep, 0).expect("the trained policy answers validly");

    // A corrupt network file is an error naming it, not a panic.
    std::fs::write(d1.path().join("scorer.safetensors"), b"not a tensor file").unwrap();
    let err = DrlOnline::load(d1.path()).err().expect("corrupt checkpoint refused");
    let text = format!("{:#}", anyhow::Error::new(err));
    assert!(text.contains("scorer.safetensors") || text.contains(&d1.path().display().to_string()), "{text}");
    // A missing folder too.
    let err = DrlOnline::load(&d1.path().join("missing")).err().expect("missing checkpoint refused");
    assert!(format!("{:#}", anyhow::Error::new(err)).contains("missing"));
}

/// Sorted copies of each site's holding (holdings are sets).
fn sorted_sets(v: &[Vec<usize>]) -> Vec<Vec<usize>> {
    v.iter()
        .map(|x| {
            let mut x = x.clone();
            x.sort();
            x
        })
        .collect()
}

#[test]
fn the_untrained_device_scorer_holds_what_the_device_rule_holds() {
    use dnnrm::model::Replay;
    use dnnrm::solvers::drl_online::device::device_holds_learned;
    use dnnrm::solvers::drl_online::{PlacementScorer, SLOTS};
    use dnnrm::solvers::online::common::device_rule;
    let prior = PlacementScorer::device_prior_only();
    let (mut buf, mut rows) = (Vec::new(), Vec::new());
    let mut decided = 0;
    for seed in 0..6 {
        // Empty and warm starts, tight and loose phases: the rule prefetches and evicts.
        let extra: &[(&str, &str)] = if seed % 2 == 0 { TIGHT } else { &[("regime_length", "3")] };
        let ep = episode(360 + seed, 30, 12, extra);
        let mut policy = create_policy("static-placement").expect("registered");
        let run = run_online(policy.as_mut(), &ep, seed).expect("valid run");
        let mut replay = Replay::new(&ep);
        for (slot, d) in ep.slots.iter().zip(&run.decisions) {
            let state = replay.state().clone();
            let (rule, targets) = device_rule(&ep.network, slot, &state);
            let learned = device_holds_learned(
                &ep.network,
                slot,
                &state,
                rule.clone(),
                &targets,
                SLOTS,
                |_, obs, c| {
                    decided += 1;
                    prior.choose(obs, c.len(), &mut buf, &mut rows)
                },
            );
            assert_eq!(sorted_sets(&learned), sorted_sets(&rule), "seed {seed}: the prior is the rule");
            replay.step(d).expect("valid");
        }
    }
    assert!(decided > 500, "{decided} device steps");
}

#[test]
fn expected_best_by_hand() {
    use dnnrm::solvers::drl_online::device::expected_best;
    let ep = episode(380, 4, 2, &[]);
    let mut net = ep.network.clone();
    net.devices[0].flops = 1e9;
    // Model 0: delay 0.1 s, accuracy 0.5; model 1: delay 0.3 s, accuracy 0.8.
    net.models[0].flops = 1e8;
    net.models[0].accuracy = 0.5;
    net.models[1].flops = 3e8;
    net.models[1].accuracy = 0.8;
    let near = |a: f64, b: f64| (a - b).abs() < 1e-9;
    // Deadlines uniform on (0.2, 0.4): model 0 always meets, model 1 half the time.
    assert!(near(expected_best(&net, 0, &[0], (0.2, 0.4)), 0.5));
    assert!(near(expected_best(&net, 0, &[1], (0.2, 0.4)), 0.4));
    assert!(near(expected_best(&net, 0, &[0, 1], (0.2, 0.4)), 0.5 * 0.5 + 0.8 * 0.5));
    // Deadlines on (0.0, 0.2): model 0 meets half of them, model 1 none.
    assert!(near(expected_best(&net, 0, &[0, 1], (0.0, 0.2)), 0.25));
    assert_eq!(expected_best(&net, 0, &[], (0.0, 0.2)), 0.0);
    // A point range is the deadline test.
    assert!(near(expected_best(&net, 0, &[0, 1], (0.3, 0.3)), 0.8));
}

#[test]
fn device_training_is_deterministic_and_its_device_scorer_loads() {
    // Every device can run models and phases have tight deadlines: extra models matter.
    let params = "n_devices=12 n_edges=2 n_slots=10 init=warm regime_length=3 regime_deadline_scales=1;0.5;1";
    let cfg = DrlOnlineTrainConfig {
        params: params.into(),
        updates: 2,
        device_updates: 3,
        device_temperature: 0.5,
        ..tiny_training()
    };
    let (d1, d2, s1, _) = train_twice(&cfg);
    // Device updates (after the edge's) sample too: some device run differs from the
    // greedy one.
    assert_eq!(s1.curve.len(), 5);
    assert!(s1.curve[2..].iter().any(|p| p.advantage != 0.0), "{:?}", s1.curve);
    // The device scorer is written only when it raises the best validation: the two
    // runs agree on whether it was, and on its bytes.
    let dev = |d: &std::path::Path| std::fs::read(d.join("device/scorer.safetensors")).ok();
    assert_eq!(dev(d1.path()), dev(d2.path()), "same seed, same device network");
    let improved = s1.best_update > cfg.updates;
    assert_eq!(improved, dev(d1.path()).is_some(), "best update {}", s1.best_update);
    if !improved {
        // A device scorer in the folder (here: a fresh one) is loaded with the policy.
        use dnnrm::rl::set_pg::{SetPg, SetPgConfig};
        use dnnrm::solvers::drl_online::device::{DFEAT, DPRIOR};
        use dnnrm::solvers::drl_online::{HIDDEN, SLOTS};
        let agent = SetPg::<DFEAT, SLOTS, HIDDEN>::new(SetPgConfig {
            prior_column: Some(DPRIOR),
            ..SetPgConfig::default()
        })
        .unwrap();
        agent.save_checkpoint(&d1.path().join("device"), 0, serde_json::json!({})).unwrap();
    }
    let mut p = DrlOnline::load(d1.path()).expect("loads with its device scorer");
    run_online(&mut p, &episode(341, 12, 6, TIGHT), 0).expect("valid run");
    // A corrupt device scorer is an error naming its folder.
    std::fs::write(d1.path().join("device/scorer.safetensors"), b"junk").unwrap();
    let err = DrlOnline::load(d1.path()).err().expect("corrupt device scorer refused");
    assert!(format!("{:#}", anyhow::Error::new(err)).contains("device"));
}
