//! DDPG tests: checkpoints (round trip and every corruption case), determinism and a
//! Pendulum smoke test.

use std::path::Path;

use super::*;
use crate::rl::pendulum::Pendulum;
use crate::rl::seeded_rng;
use crate::rl::train::{evaluate, train, ContinuousEnv, Env, Hooks, TrainConfig};

type Small = Ddpg<3, 1, 16>;

fn small_cfg() -> DdpgConfig {
    DdpgConfig {
        batch_size: 32,
        buffer_capacity: 10_000,
        normalize_obs: true,
        seed: 42,
        ..Default::default()
    }
}

/// An agent trained for `steps` Pendulum steps.
fn trained(steps: u64, seed: u64) -> (Small, crate::rl::train::TrainReport) {
    let mut env = Pendulum::default();
    let (low, high) = env.action_bounds();
    let mut agent = Small::new(DdpgConfig { seed, ..small_cfg() }, low, high).unwrap();
    let cfg = TrainConfig { total_steps: steps, warmup_steps: 100, eval_every: 150, ..Default::default() };
    let mut eval_env = Pendulum::default();
    let mut eval_rng = seeded_rng(seed + 1000);
    let mut hooks: Hooks<'_, Small> = Hooks {
        evaluate: Some(Box::new(move |a: &mut Small, _step| {
            Ok(evaluate(&mut eval_env, a, 1, &mut eval_rng)?.mean)
        })),
        ..Default::default()
    };
    let report = train(&mut env, &mut agent, &cfg, &mut seeded_rng(seed), &mut hooks).unwrap();
    (agent, report)
}

fn probe_obs() -> Vec<f32> {
    (0..20)
        .flat_map(|i| {
            let th = i as f32 * 0.31;
            [th.cos(), th.sin(), (i as f32 - 10.0) * 0.7]
        })
        .collect()
}

#[test]
fn checkpoint_round_trip_gives_identical_actions() {
    let (agent, _) = trained(300, 1);
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("ck");
    agent.save_checkpoint(&dir, 300).unwrap();
    let (loaded, step) = Small::load_checkpoint(&dir).unwrap();
    assert_eq!(step, 300);
    assert_eq!(loaded.flat_parameters(), agent.flat_parameters());
    assert_eq!(loaded.obs_norm(), agent.obs_norm());
    assert!(agent.obs_norm().map_or(0, |n| n.count) == 300);
    assert_eq!(loaded.config(), agent.config());
    assert_eq!(loaded.policy(&probe_obs()).unwrap(), agent.policy(&probe_obs()).unwrap());
    // saving again over an existing checkpoint works (atomic replace)
    loaded.save_checkpoint(&dir, 301).unwrap();
    assert_eq!(Small::load_checkpoint(&dir).unwrap().1, 301);
}

fn fresh_checkpoint() -> (tempfile::TempDir, std::path::PathBuf) {
    let mut env = Pendulum::default();
    let (low, high) = env.action_bounds();
    let agent = Small::new(small_cfg(), low, high).unwrap();
    let _ = env.reset(&mut seeded_rng(0));
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("ck");
    agent.save_checkpoint(&dir, 7).unwrap();
    (root, dir)
}

fn load_err(dir: &Path) -> CheckpointError {
    match Small::load_checkpoint(dir) {
        Ok(_) => panic!("corrupt checkpoint loaded"),
        Err(e) => e,
    }
}

fn assert_names(err: &CheckpointError, file: &str) {
    let msg = err.to_string();
    assert!(msg.contains(file), "message {msg:?} does not name {file}");
}

#[test]
fn missing_file_is_named() {
    let (_root, dir) = fresh_checkpoint();
    std::fs::remove_file(dir.join("critic.safetensors")).unwrap();
    let e = load_err(&dir);
    assert!(matches!(e, CheckpointError::Missing { .. }), "{e}");
    assert_names(&e, "critic.safetensors");
    std::fs::remove_file(dir.join("meta.json")).unwrap();
    let e = load_err(&dir);
    assert!(matches!(e, CheckpointError::Missing { .. }), "{e}");
    assert_names(&e, "meta.json");
}

#[test]
fn truncated_file_is_named() {
    let (_root, dir) = fresh_checkpoint();
    let p = dir.join("actor_target.safetensors");
    let data = std::fs::read(&p).unwrap();
    std::fs::write(&p, &data[..data.len() / 2]).unwrap();
    let e = load_err(&dir);
    assert!(matches!(e, CheckpointError::Size { .. }), "{e}");
    assert_names(&e, "actor_target.safetensors");
}

#[test]
fn flipped_byte_is_detected() {
    let (_root, dir) = fresh_checkpoint();
    let p = dir.join("critic_target.safetensors");
    let mut data = std::fs::read(&p).unwrap();
    let n = data.len();
    data[n - 3] ^= 0x40;
    std::fs::write(&p, &data).unwrap();
    let e = load_err(&dir);
    assert!(matches!(e, CheckpointError::Checksum { .. }), "{e}");
    assert_names(&e, "critic_target.safetensors");
}

/// Rewrites a file and records its new size and hash in meta.json, so that only the
/// content checks can catch it.
fn replace_consistently(dir: &Path, name: &str, data: &[u8]) {
    std::fs::write(dir.join(name), data).unwrap();
    let mut meta: Meta = serde_json::from_slice(&std::fs::read(dir.join("meta.json")).unwrap()).unwrap();
    for f in meta.files.iter_mut().filter(|f| f.name == name) {
        f.bytes = data.len() as u64;
        f.fnv1a64 = checkpoint::fnv1a64(data);
    }
    std::fs::write(dir.join("meta.json"), serde_json::to_vec(&meta).unwrap()).unwrap();
}

#[test]
fn invalid_safetensors_is_named_even_with_matching_hash() {
    let (_root, dir) = fresh_checkpoint();
    let data = std::fs::read(dir.join("actor.safetensors")).unwrap();
    // truncated container (hash updated): the parser must reject it, for every cut
    for cut in [0, 4, 8, 20, data.len() / 2, data.len() - 1] {
        replace_consistently(&dir, "actor.safetensors", &data[..cut]);
        let e = load_err(&dir);
        assert!(matches!(e, CheckpointError::Safetensors { .. }), "cut {cut}: {e}");
        assert_names(&e, "actor.safetensors");
    }
    replace_consistently(&dir, "actor.safetensors", b"definitely not safetensors");
    let e = load_err(&dir);
    assert!(matches!(e, CheckpointError::Safetensors { .. }), "{e}");
}

#[test]
fn wrong_shapes_are_named() {
    let (_root, dir) = fresh_checkpoint();
    // a checkpoint of hidden 16 read as hidden 8: caught by meta first ...
    let e = match Ddpg::<3, 1, 8>::load_checkpoint(&dir) {
        Ok(_) => panic!("loaded with wrong hidden size"),
        Err(e) => e,
    };
    assert!(matches!(e, CheckpointError::Incompatible { what: "hidden", .. }), "{e}");
    assert_names(&e, "meta.json");
    // ... and, if meta.json lies, by the tensor shapes, naming the file
    let mut meta: Meta = serde_json::from_slice(&std::fs::read(dir.join("meta.json")).unwrap()).unwrap();
    meta.sizes.insert("hidden".into(), 8);
    std::fs::write(dir.join("meta.json"), serde_json::to_vec(&meta).unwrap()).unwrap();
    let e = match Ddpg::<3, 1, 8>::load_checkpoint(&dir) {
        Ok(_) => panic!("loaded with wrong shapes"),
        Err(e) => e,
    };
    match &e {
        CheckpointError::Shape { tensor, expected, found, .. } => {
            assert_eq!(tensor, "l1.weight");
            assert_eq!((expected.as_slice(), found.as_slice()), (&[8, 3][..], &[16, 3][..]));
        }
        other => panic!("unexpected {other}"),
    }
    assert_names(&e, "actor.safetensors");
}

#[test]
fn wrong_format_version_is_named() {
    let (_root, dir) = fresh_checkpoint();
    let mut meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("meta.json")).unwrap()).unwrap();
    meta["format_version"] = serde_json::json!(checkpoint::FORMAT_VERSION + 1);
    std::fs::write(dir.join("meta.json"), serde_json::to_vec(&meta).unwrap()).unwrap();
    let e = load_err(&dir);
    assert!(matches!(e, CheckpointError::Version { .. }), "{e}");
    assert_names(&e, "meta.json");
    std::fs::write(dir.join("meta.json"), b"{ not json").unwrap();
    let e = load_err(&dir);
    assert!(matches!(e, CheckpointError::Meta { .. }), "{e}");
}

#[test]
fn training_is_deterministic_for_one_seed_on_one_thread() {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    // (the agent is not Send, so only its parameters leave the pool)
    let run = |seed| {
        pool.install(|| {
            let (agent, report) = trained(300, seed);
            (agent.flat_parameters(), report.curve)
        })
    };
    let (a, ca) = run(5);
    let (b, cb) = run(5);
    assert_eq!(ca, cb);
    assert_eq!(ca.iter().filter(|c| c.eval_score.is_some()).count(), 2);
    assert_eq!(a, b);
    // and the seed matters
    let (c, _) = run(6);
    assert_ne!(a, c);
}

#[test]
fn pendulum_smoke_losses_finite_and_critic_fits_a_fixed_batch() {
    let (mut agent, report) = trained(400, 3);
    assert_eq!(agent.buffer().len(), 400);
    assert_eq!(report.updates, 300);
    assert_eq!(agent.updates(), 300);
    assert_eq!(report.episodes, 2);
    let last = report.last_update.unwrap();
    let (cl, al) = (last.get("critic_loss").unwrap(), last.get("actor_loss").unwrap());
    assert!(cl.is_finite() && al.is_finite(), "{cl} {al}");
    // actions respect the bounds
    assert!(agent.policy(&probe_obs()).unwrap().iter().all(|a| (-2.0..=2.0).contains(a)));
    // repeated updates on one batch drive its TD error down (targets move slowly)
    let batch = agent.buffer().sample(64, &mut seeded_rng(9)).unwrap();
    let before = agent.critic_loss(&batch).unwrap();
    for _ in 0..500 {
        agent.update_on_batch(&batch).unwrap();
    }
    let after = agent.critic_loss(&batch).unwrap();
    assert!(after < 0.5 * before, "critic loss {before} -> {after}");
}

#[test]
fn config_and_bounds_are_validated() {
    let bad = DdpgConfig { tau: 0.0, ..Default::default() };
    assert!(matches!(
        Small::new(bad, vec![-2.0], vec![2.0]),
        Err(DdpgError::InvalidConfig { field: "tau", .. })
    ));
    assert!(matches!(
        Small::new(DdpgConfig::default(), vec![2.0], vec![-2.0]),
        Err(DdpgError::InvalidBounds { act: 1 })
    ));
    let mut agent = Small::new(DdpgConfig::default(), vec![-2.0], vec![2.0]).unwrap();
    assert!(agent.act(&[0.0, 1.0], false, &mut seeded_rng(0)).is_err());
    // sigmoid squashing keeps actions inside [0, 1]
    let cfg = DdpgConfig { squash: Squash::Sigmoid, final_layer_init: 0.0, ..Default::default() };
    let s = Small::new(cfg, vec![0.0], vec![1.0]).unwrap();
    let a = s.policy(&probe_obs()).unwrap();
    assert!(a.iter().all(|x| (0.0..=1.0).contains(x)));
    // serde default fills missing fields
    let c: DdpgConfig = serde_json::from_str(r#"{"batch_size": 128}"#).unwrap();
    assert_eq!(c.batch_size, 128);
    assert_eq!(c.actor_lr, 1e-4);
}

#[test]
fn resume_from_checkpoint_continues_the_step_count() {
    let (agent, _) = trained(300, 2);
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("ck");
    agent.save_checkpoint(&dir, 300).unwrap();
    let (mut resumed, step) = Small::load_checkpoint(&dir).unwrap();
    assert_eq!(resumed.updates(), 200);
    // the replay buffer is not checkpointed: updates wait for a fresh batch of 32
    assert!(resumed.buffer().is_empty());
    let cfg = TrainConfig {
        total_steps: 400,
        warmup_steps: 100,
        eval_every: 0,
        start_step: step,
        ..Default::default()
    };
    let mut env = Pendulum::default();
    let report = train(&mut env, &mut resumed, &cfg, &mut seeded_rng(8), &mut Hooks::default()).unwrap();
    assert_eq!(report.steps, 400);
    assert_eq!(report.updates, 100 - 31);
    assert_eq!(resumed.updates(), 200 + 69);
    assert_eq!(resumed.buffer().len(), 100);
}
