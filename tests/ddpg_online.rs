//! `ddpg-online`, the DDPG benchmark on episodes: every decoded decision passes the
//! episode evaluator, placement scores start and evict downloads as documented, runs
//! and training are deterministic, checkpoints round-trip and bad ones give named
//! errors.

use std::path::Path;

use dnnrm::bench::runner::error_chain;
use dnnrm::model::{Assignment, Decision, Episode, Replay};
use dnnrm::solver::online::{run_online, OnlinePolicy};
use dnnrm::solver::SolverError;
use dnnrm::solvers::ddpg::env::{
    location_bin, ACT_DIM, ACT_PER_TASK, CACHE_OFFSET, K_MAX, N_MAX, TASK_FEATURES,
};
use dnnrm::solvers::ddpg::online::{
    check_network, decide, edge_targets, observe, run_episodes, OnlineEnvConfig, OnlineViewError,
    ONLINE_OBS_DIM, PLACE_FEATURES, PLACE_OFFSET, PLACE_SCORE_OFFSET, REGIME_OFFSET, R_MAX, TIME_OFFSET,
};
use dnnrm::solvers::ddpg::online_policy::{DdpgOnline, OnlineActor};
use dnnrm::solvers::ddpg::online_train::{
    parse_setting, train_ddpg_online, validation_episodes, validation_seed, DdpgOnlineTrainConfig,
};
use dnnrm::solvers::online::generate_episode;
use rand::{Rng, SeedableRng};

/// A small version of `online-default`: 12 devices, 8 slots, warm start, window 2.
const SMALL: &str =
    "n_devices=12 n_slots=8 init=warm window=2 share_mcu=0.5 regime_deadline_scales=1;0.5;1 regime_length=3";
/// The same from an empty start with slow edge downloads (downloads span slots).
const SMALL_EMPTY: &str =
    "n_devices=12 n_slots=8 init=empty share_mcu=0.5 edge_download_bps=1e8 regime_length=3";

fn small_episode(setting: &str, seed: u64) -> Episode {
    let (sc, dy) = parse_setting(setting).unwrap();
    generate_episode(&sc, &dy, seed, &format!("small-{seed}"))
}

fn random_action(rng: &mut rand_chacha::ChaCha8Rng, kind: u64) -> Vec<f32> {
    match kind % 5 {
        0 => vec![0.0; ACT_DIM],
        1 => vec![1.0; ACT_DIM],
        // location biased to serving
        2 => {
            (0..ACT_DIM)
                .map(|i| {
                    if i < CACHE_OFFSET && i % ACT_PER_TASK == 0 {
                        rng.gen_range(0.0..0.75)
                    } else {
                        rng.gen()
                    }
                })
                .collect()
        }
        _ => (0..ACT_DIM).map(|_| rng.gen()).collect(),
    }
}

#[test]
fn every_decoded_decision_passes_the_episode_evaluator() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let cfg = OnlineEnvConfig { horizon: 8, ..Default::default() };
    let (mut served, mut evictions, mut downloaded, mut slots) = (0usize, 0usize, 0.0f64, 0usize);
    let mut local_checked = 0usize;
    for seed in 0..24u64 {
        let setting = if seed % 2 == 0 { SMALL } else { SMALL_EMPTY };
        let ep = small_episode(setting, 40_000_000 + seed);
        let net = &ep.network;
        let mut replay = Replay::new(&ep);
        for (t, slot) in ep.slots.iter().enumerate() {
            let obs = observe(net, t, slot, replay.state(), &cfg).unwrap();
            assert_eq!(obs.len(), ONLINE_OBS_DIM);
            assert!(obs.iter().all(|x| x.is_finite()), "episode {seed} slot {t}");
            // padding task slots are zero; exactly one regime bit; time feature t / T
            assert!(obs[slot.tasks.len() * TASK_FEATURES..N_MAX * TASK_FEATURES].iter().all(|&x| x == 0.0));
            let regime = &obs[REGIME_OFFSET..REGIME_OFFSET + R_MAX];
            assert_eq!(regime.iter().sum::<f32>(), 1.0);
            assert_eq!(regime[slot.regime], 1.0);
            assert!((obs[TIME_OFFSET] - t as f32 / 8.0).abs() < 1e-6);
            assert_eq!(obs[TIME_OFFSET + 1], if t >= net.window { 1.0 } else { 0.0 });
            // the resident flags are the state's
            for (m, store) in replay.state().edges.iter().enumerate() {
                for k in 0..net.models.len() {
                    let flag = obs[PLACE_OFFSET + (m * K_MAX + k) * PLACE_FEATURES];
                    assert_eq!(flag == 1.0, store.resident.contains(&k));
                }
            }

            let action = random_action(&mut rng, seed * 31 + t as u64);
            let d = decide(net, slot, replay.state(), &action).unwrap();
            // the edge holdings are the score-ordered targets, within capacity
            assert_eq!(d.decision.hold.edges, edge_targets(net, &action));
            for (m, h) in d.decision.hold.edges.iter().enumerate() {
                let used: f64 = h.iter().map(|&k| net.models[k].size_mb).sum();
                assert!(used <= net.edges[m].cache_mb + 1e-9);
            }
            // a local request on a device holding exactly one model of the task's
            // service, which meets the deadline, is served with it whatever the model value
            let kept = dnnrm::solvers::online::common::kept_resident(replay.state(), &d.decision.hold);
            for (i, task) in slot.tasks.iter().enumerate() {
                let own: Vec<usize> = kept.devices[task.device]
                    .iter()
                    .copied()
                    .filter(|&k| net.models[k].service == task.service)
                    .collect();
                if location_bin(action[i * ACT_PER_TASK]) == 0 && own.len() == 1 {
                    let k = own[0];
                    let ok = net.models[k].size_mb <= net.devices[task.device].storage_mb
                        && dnnrm::model::meets_deadline(
                            net.models[k].flops / net.devices[task.device].flops,
                            task.deadline_s,
                        );
                    if ok {
                        assert_eq!(d.decision.solution.decisions[i], Decision::Serve(Assignment::local(k)));
                        local_checked += 1;
                    }
                }
            }
            let out = replay
                .step(&d.decision)
                .unwrap_or_else(|v| panic!("episode {seed} slot {t}: decoded decision invalid: {v}"));
            served += out.served;
            evictions += out.evictions;
            downloaded += out.downloaded_mb;
            slots += 1;
        }
        replay.finish().unwrap();
    }
    assert_eq!(slots, 24 * 8);
    assert!(local_checked > 20, "only {local_checked} local requests checked");
    assert!(served > 100, "random actions should serve some tasks, served {served}");
    assert!(
        evictions > 0 && downloaded > 0.0,
        "placement never changed: {evictions} evictions, {downloaded} MB"
    );
}

#[test]
fn the_highest_scored_model_downloads_and_then_serves() {
    // Empty start, edge downloads of 1e8 bit/s = 12.5 MB per slot: the top-scored model
    // (the largest classification model that fits) is held from slot 0, gets the whole
    // download volume, is resident after ceil(S_k / 12.5) slots and serves only then.
    let ep = small_episode(SMALL_EMPTY, 40_000_100);
    let net = &ep.network;
    let k = (0..net.models.len())
        .filter(|&k| net.models[k].service == 0 && net.models[k].size_mb <= net.edges[0].cache_mb)
        .max_by(|&a, &b| net.models[a].size_mb.total_cmp(&net.models[b].size_mb))
        .unwrap();
    let size = net.models[k].size_mb;
    let mut action = vec![0.5; ACT_DIM];
    for m in 0..net.edges.len() {
        for j in 0..K_MAX {
            action[PLACE_SCORE_OFFSET + m * K_MAX + j] = if j == k { 1.0 } else { 0.0 };
        }
    }
    let mut replay = Replay::new(&ep);
    let arrive = (size / net.edge_volume_mb(0) - 1e-9).ceil() as usize;
    for (t, slot) in ep.slots.iter().enumerate() {
        let d = decide(net, slot, replay.state(), &action).unwrap();
        assert!(d.decision.hold.edges.iter().all(|h| h.first() == Some(&k)), "slot {t}");
        assert_eq!(
            d.decision.solution.edge_cache.iter().any(|c| c.contains(&k)),
            t >= arrive && !slot.tasks.is_empty()
        );
        replay.step(&d.decision).unwrap();
        let resident = replay.state().edges.iter().all(|s| s.resident.contains(&k));
        assert_eq!(resident, t + 1 >= arrive, "slot {t}: model {k} ({size} MB) resident = {resident}");
    }
}

#[test]
fn oversized_networks_are_refused_by_name() {
    let big = small_episode("n_devices=65 n_slots=2", 1);
    let e = check_network(&big.network).unwrap_err();
    assert_eq!(e, OnlineViewError::TooLarge { what: "devices", found: 65, max: N_MAX });
    let many = small_episode("n_slots=2 regime_mixes=1/0/0;0/1/0;0/0/1;1/0/0;0/1/0", 1);
    let e = check_network(&many.network).unwrap_err();
    assert!(e.to_string().contains("5 regimes"), "{e}");
    let ep = small_episode(SMALL, 2);
    let e = decide(&ep.network, &ep.slots[0], &ep.initial, &[0.5; 3]).unwrap_err();
    assert!(e.to_string().contains("length 3"), "{e}");
}

fn tiny_training(seed: u64) -> DdpgOnlineTrainConfig {
    let mut cfg = DdpgOnlineTrainConfig {
        setting: SMALL.into(),
        seed,
        steps: 320,
        warmup_steps: 80,
        eval_every: 80,
        val_episodes: 3,
        hidden: 64,
        ..Default::default()
    };
    cfg.env.horizon = 8;
    cfg.ddpg.batch_size = 32;
    cfg
}

#[test]
fn training_is_deterministic_and_the_saved_policy_round_trips() {
    let root = tempfile::tempdir().unwrap();
    let (a, b) = (root.path().join("a"), root.path().join("b"));
    let ra = train_ddpg_online(&tiny_training(3), &a, Vec::new()).unwrap();
    let rb = train_ddpg_online(&tiny_training(3), &b, Vec::new()).unwrap();
    assert_eq!(ra.outcome.report.curve, rb.outcome.report.curve);
    let csv_a = std::fs::read_to_string(a.join("curve.csv")).unwrap();
    assert_eq!(csv_a, std::fs::read_to_string(b.join("curve.csv")).unwrap());
    // 320 steps of 8-slot episodes: 40 episodes; evaluations at 80, 160, 240, 320, each
    // after 10 episodes
    assert_eq!(ra.outcome.report.episodes, 40);
    assert_eq!(csv_a.lines().count(), 1 + 4);
    assert!(csv_a.lines().nth(1).unwrap().starts_with("80,10,"), "{csv_a}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(a.join("train.json")).unwrap()).unwrap();
    assert_eq!((json["solver"].as_str(), json["learner"].as_str()), (Some("ddpg-online"), Some("ddpg")));
    assert_eq!(json["extra"]["validation_seeds"][0].as_u64(), Some(validation_seed(0)));
    // without a repair penalty an episode's return is scale · A_ep, in [0, scale]
    let cfg = tiny_training(3);
    assert_eq!(cfg.env.repair_penalty, 0.0);
    for r in ra.outcome.report.curve.iter().filter_map(|p| p.train_return) {
        assert!((0.0..=cfg.env.reward_scale + 1e-4).contains(&r), "episode return {r}");
    }

    // The saved policy is the best evaluation; acting with it reproduces its score on
    // the validation episodes, through the runner as well.
    let (best_step, best) = ra.outcome.report.best.unwrap();
    let actor = OnlineActor::load(&a).unwrap();
    assert_eq!((actor.meta().step, actor.state().val_objective), (best_step, best));
    let (sc, dy) = parse_setting(SMALL).unwrap();
    let val = validation_episodes(&sc, &dy, 3);
    let scores =
        run_episodes(&val, actor.env(), |obs| Ok::<_, std::convert::Infallible>(actor.act(obs))).unwrap();
    let mean = scores.iter().map(|s| s.objective).sum::<f64>() / 3.0;
    assert!((mean - best).abs() < 1e-9, "reloaded policy scores {mean}, saved {best}");
    let mut policy = DdpgOnline::load(&a).unwrap();
    assert!(policy.version().contains("+ckpt-"), "{}", policy.version());
    let runs: Vec<f64> =
        val.iter().map(|ep| run_online(&mut policy, ep, 0).unwrap().evaluation.objective).collect();
    assert!((runs.iter().sum::<f64>() / 3.0 - best).abs() < 1e-9);

    // a different seed gives a different run
    let rc = train_ddpg_online(&tiny_training(4), &root.path().join("c"), Vec::new()).unwrap();
    assert_ne!(ra.outcome.report.curve, rc.outcome.report.curve);
}

#[test]
fn runs_are_deterministic_and_deferred_loading_matches() {
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("run");
    let mut cfg = tiny_training(5);
    cfg.steps = 120;
    train_ddpg_online(&cfg, &out, Vec::new()).unwrap();
    let ep = small_episode(SMALL, 40_000_200);
    let mut p = DdpgOnline::load(&out).unwrap();
    let first = run_online(&mut p, &ep, 0).unwrap();
    let again = run_online(&mut p, &ep, 9).unwrap();
    let mut deferred = DdpgOnline::deferred(&out);
    assert!(deferred.version().contains("unloaded"));
    let third = run_online(&mut deferred, &ep, 0).unwrap();
    assert_eq!(first.decisions, again.decisions);
    assert_eq!(first.decisions, third.decisions);
    assert_eq!(first.evaluation, third.evaluation);
    assert_eq!(p.version(), deferred.version());
}

#[test]
fn bad_checkpoints_give_named_errors() {
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("run");
    let mut cfg = tiny_training(6);
    cfg.steps = 100;
    train_ddpg_online(&cfg, &out, Vec::new()).unwrap();
    assert!(DdpgOnline::load(&out).is_ok());

    // corrupt one byte of the actor
    let actor = out.join("policy/actor.safetensors");
    let mut bytes = std::fs::read(&actor).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    std::fs::write(&actor, &bytes).unwrap();
    match DdpgOnline::load(&out) {
        Err(e @ SolverError::Checkpoint { .. }) => {
            let chain = error_chain(&e);
            assert!(
                chain.contains("ddpg-online")
                    && chain.contains("actor.safetensors")
                    && chain.contains("corrupt"),
                "{chain}"
            );
        }
        other => panic!("expected a checkpoint error, got {other:?}"),
    }
    // a deferred policy reports the same at reset
    let ep = small_episode(SMALL, 3);
    let mut deferred = DdpgOnline::deferred(&out);
    let e = deferred.reset(&ep.network, &ep.initial, 0).unwrap_err();
    assert!(error_chain(&e).contains("actor.safetensors"), "{}", error_chain(&e));
    // truncated meta.json
    std::fs::write(out.join("policy/meta.json"), "{\"format_version\": 1, \"algo").unwrap();
    let e = error_chain(&DdpgOnline::load(&out).unwrap_err());
    assert!(e.contains("meta.json"), "{e}");
    // missing folder
    let missing = root.path().join("nowhere");
    let e = error_chain(&DdpgOnline::load(&missing).unwrap_err());
    assert!(e.contains("nowhere") && e.contains("missing"), "{e}");
    // the one-shot policy is not an episode policy
    let oneshot = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/ddpg/seed0");
    let e = error_chain(&DdpgOnline::load(&oneshot).unwrap_err());
    assert!(e.contains("algorithm") && e.contains("ddpg-oneshot"), "{e}");
}

#[test]
fn committed_checkpoint_runs_an_episode_and_matches_the_default_config() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join(dnnrm::solvers::ddpg::online_policy::DEFAULT_ONLINE_CHECKPOINT);
    let mut policy = DdpgOnline::load(&dir).unwrap();
    let ep = small_episode(SMALL, 40_000_300);
    let run = run_online(&mut policy, &ep, 0).unwrap();
    assert!(run.evaluation.objective > 0.0, "objective {}", run.evaluation.objective);
    let actor = policy.actor().unwrap();
    let cfg = DdpgOnlineTrainConfig::default();
    assert_eq!(actor.env(), &cfg.env, "the committed policy was trained with the default view settings");
    assert_eq!(actor.state().train_seed, 0);
    let size: u64 =
        std::fs::read_dir(dir.join("policy")).unwrap().map(|e| e.unwrap().metadata().unwrap().len()).sum();
    assert!(size < 5_000_000, "committed policy is {size} bytes");
    // the build used by the registry loads the same policy
    let built = dnnrm::solvers::ddpg::online_policy::build_default().unwrap();
    assert_eq!(built.version(), policy.version());
}
