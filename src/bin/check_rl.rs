//! Verifies the RL core: DDPG on Pendulum for several seeds.
//!
//! ```text
//! cargo run --release --bin check_rl -- [--seeds 0,1,2] [--steps 30000] [--warmup 1000]
//!     [--batch 64] [--sigma 0.1] [--eval-every 5000] [--eval-episodes 10] [--normalize]
//!     [--ou] [--clip X] [--quiet]
//! ```
//!
//! Hidden width is compile-time (256). Prints, per seed, the final and best mean return
//! over deterministic evaluation episodes and the training throughput. Set
//! `RAYON_NUM_THREADS` to control dfdx's matmul threads.

use std::process::ExitCode;
use std::time::Instant;

use dnnrm::rl::ddpg::{Ddpg, DdpgConfig};
use dnnrm::rl::noise::NoiseConfig;
use dnnrm::rl::pendulum::Pendulum;
use dnnrm::rl::seeded_rng;
use dnnrm::rl::train::{
    evaluate, train, Agent, ContinuousEnv, Hooks, Progress, ProgressReporter, TrainConfig,
};

const HIDDEN: usize = 256;
type Agent256 = Ddpg<3, 1, HIDDEN>;

struct Args {
    seeds: Vec<u64>,
    steps: u64,
    warmup: u64,
    batch: usize,
    sigma: f32,
    eval_every: u64,
    eval_episodes: usize,
    normalize: bool,
    ou: bool,
    clip: Option<f32>,
    quiet: bool,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        seeds: vec![0, 1, 2],
        steps: 30_000,
        warmup: 1_000,
        batch: 64,
        sigma: 0.1,
        eval_every: 5_000,
        eval_episodes: 10,
        normalize: false,
        ou: false,
        clip: None,
        quiet: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().ok_or(format!("{flag} needs a value"));
        let bad = |e: &dyn std::fmt::Display| format!("bad value for {flag}: {e}");
        match flag.as_str() {
            "--seeds" => {
                a.seeds = val()?
                    .split(',')
                    .map(|s| s.trim().parse::<u64>().map_err(|e| bad(&e)))
                    .collect::<Result<_, _>>()?
            }
            "--steps" => a.steps = val()?.parse().map_err(|e| bad(&e))?,
            "--warmup" => a.warmup = val()?.parse().map_err(|e| bad(&e))?,
            "--batch" => a.batch = val()?.parse().map_err(|e| bad(&e))?,
            "--sigma" => a.sigma = val()?.parse().map_err(|e| bad(&e))?,
            "--eval-every" => a.eval_every = val()?.parse().map_err(|e| bad(&e))?,
            "--eval-episodes" => a.eval_episodes = val()?.parse().map_err(|e| bad(&e))?,
            "--clip" => a.clip = Some(val()?.parse().map_err(|e| bad(&e))?),
            "--normalize" => a.normalize = true,
            "--ou" => a.ou = true,
            "--quiet" => a.quiet = true,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(a)
}

struct SeedResult {
    seed: u64,
    final_eval: f64,
    best_eval: f64,
    best_step: u64,
    secs: f64,
    steps: u64,
    updates: u64,
    update_only_per_s: f64,
}

fn run_seed(args: &Args, seed: u64) -> Result<SeedResult, Box<dyn std::error::Error>> {
    let mut env = Pendulum::default();
    let (low, high) = env.action_bounds();
    let cfg = DdpgConfig {
        batch_size: args.batch,
        noise: if args.ou { NoiseConfig::ou_default() } else { NoiseConfig::Gaussian { sigma: args.sigma } },
        normalize_obs: args.normalize,
        grad_clip_norm: args.clip,
        seed,
        ..Default::default()
    };
    let mut agent = Agent256::new(cfg, low, high)?;
    let train_cfg = TrainConfig {
        total_steps: args.steps,
        warmup_steps: args.warmup,
        eval_every: args.eval_every,
        ..Default::default()
    };
    let mut eval_env = Pendulum::default();
    let mut eval_rng = seeded_rng(seed.wrapping_add(10_000));
    let episodes = args.eval_episodes;
    let quiet = args.quiet;
    let mut hooks: Hooks<'_, Agent256> = Hooks {
        evaluate: Some(Box::new(move |a: &mut Agent256, _step| {
            Ok(evaluate(&mut eval_env, a, episodes, &mut eval_rng)?.mean)
        })),
        on_new_best: None,
        callbacks: vec![Box::new(ProgressReporter::new(0, move |p: &Progress| {
            if !quiet {
                let loss = p.last_update.as_ref().and_then(|u| u.get("critic_loss")).unwrap_or(f32::NAN);
                println!(
                    "  seed {seed} step {:>6}: eval {:>9.2} (best {:>9.2}), last train return {:>9.2}, critic loss {loss:.4}",
                    p.step,
                    p.last_eval.unwrap_or(f64::NAN),
                    p.best_eval.unwrap_or(f64::NAN),
                    p.last_episode_return.unwrap_or(f64::NAN),
                );
            }
        }))],
    };
    let t0 = Instant::now();
    let report = train(&mut env, &mut agent, &train_cfg, &mut seeded_rng(seed), &mut hooks)?;
    let secs = t0.elapsed().as_secs_f64();
    // pure gradient-update throughput on the filled buffer
    let n_upd = 500;
    let mut rng = seeded_rng(seed ^ 0xabcdef);
    let t1 = Instant::now();
    for _ in 0..n_upd {
        agent.update(&mut rng)?;
    }
    let update_only_per_s = n_upd as f64 / t1.elapsed().as_secs_f64();
    let (best_step, best_eval) = report.best.unwrap_or((0, f64::NAN));
    Ok(SeedResult {
        seed,
        final_eval: report.last_eval.map_or(f64::NAN, |(_, s)| s),
        best_eval,
        best_step,
        secs,
        steps: report.steps,
        updates: report.updates,
        update_only_per_s,
    })
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("check_rl: {e}");
            return ExitCode::from(2);
        }
    };
    println!(
        "check_rl: DDPG on Pendulum-v1, hidden {HIDDEN}x{HIDDEN}, steps {}, warm-up {}, batch {}, noise {}, normalize {}, clip {:?}, eval {} episodes every {} steps, RAYON_NUM_THREADS={}",
        args.steps,
        args.warmup,
        args.batch,
        if args.ou { "OU(0.2,0.15,0.01)".to_string() } else { format!("gaussian({})", args.sigma) },
        args.normalize,
        args.clip,
        args.eval_episodes,
        args.eval_every,
        std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "unset".into())
    );
    let mut results = Vec::new();
    for &seed in &args.seeds {
        match run_seed(&args, seed) {
            Ok(r) => {
                println!(
                    "seed {}: final eval {:.1}, best eval {:.1} (step {}), {:.1} s, {:.0} env steps/s, {:.0} updates/s in training, {:.0} updates/s update-only",
                    r.seed,
                    r.final_eval,
                    r.best_eval,
                    r.best_step,
                    r.secs,
                    r.steps as f64 / r.secs,
                    r.updates as f64 / r.secs,
                    r.update_only_per_s
                );
                results.push(r);
            }
            Err(e) => {
                eprintln!("check_rl: seed {seed} failed: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let goal = -250.0;
    let hit = results.iter().filter(|r| r.final_eval >= goal).count();
    let hit_best = results.iter().filter(|r| r.best_eval >= goal).count();
    println!(
        "summary: final eval >= {goal} for {hit}/{} seeds (best eval: {hit_best}/{}); finals {:?}",
        results.len(),
        results.len(),
        results.iter().map(|r| (r.final_eval * 10.0).round() / 10.0).collect::<Vec<_>>()
    );
    let needed = 2.min(results.len());
    if hit >= needed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
