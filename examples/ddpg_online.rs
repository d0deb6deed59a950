//! Trains and evaluates `ddpg-online` until the CLI has `dnnrm train ddpg-online` and
//! the policy is in the online registry (then `dnnrm simulate --policy ddpg-online`).
//!
//! ```text
//! cargo run --release --example ddpg_online -- train OUT [CONFIG.json] [--seed S] [--steps N]
//! cargo run --release --example ddpg_online -- eval CHECKPOINT EPISODE.json...
//! cargo run --release --example ddpg_online -- config
//! ```
//!
//! `config` prints the default configuration (every field: a config file's `ddpg` object
//! replaces the whole default, so start from this).
//!
//! `train` prints one line per evaluation; `eval` prints one line per episode in the
//! format of `dnnrm simulate` (objective = A_ep by the episode evaluator) and the mean.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use dnnrm::rl::train::{Event, Progress, ProgressReporter};
use dnnrm::solver::online::run_online;
use dnnrm::solvers::ddpg::online_policy::DdpgOnline;
use dnnrm::solvers::ddpg::online_train::{train_ddpg_online, DdpgOnlineTrainConfig};

fn train(args: &[String]) -> Result<()> {
    let mut out = None;
    let mut config = None;
    let (mut seed, mut steps) = (None, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seed" => seed = Some(it.next().context("--seed needs a value")?.parse::<u64>()?),
            "--steps" => steps = Some(it.next().context("--steps needs a value")?.parse::<u64>()?),
            _ if out.is_none() => out = Some(PathBuf::from(a)),
            _ if config.is_none() => config = Some(PathBuf::from(a)),
            _ => bail!("unexpected argument `{a}`"),
        }
    }
    let out = out.context("train needs an output folder")?;
    let mut cfg: DdpgOnlineTrainConfig = match &config {
        Some(p) => serde_json::from_str(&std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?)
            .with_context(|| format!("parsing {}", p.display()))?,
        None => DdpgOnlineTrainConfig::default(),
    };
    if let Some(s) = seed {
        cfg.seed = s;
    }
    if let Some(s) = steps {
        cfg.steps = s;
    }
    let reporter = ProgressReporter::new(0, |p: &Progress| {
        if matches!(p.event, Event::Evaluation { .. }) {
            eprintln!(
                "step {}/{} episodes {} return {} validation {:.4} (best {:.4})",
                p.step,
                p.total_steps,
                p.episodes,
                p.last_episode_return.map_or("-".into(), |r| format!("{r:.4}")),
                p.last_eval.unwrap_or(f64::NAN),
                p.best_eval.unwrap_or(f64::NAN)
            );
        }
    });
    let o = train_ddpg_online(&cfg, &out, vec![Box::new(reporter)])?;
    let (best_step, best) = o.outcome.report.best.unwrap_or((0, f64::NAN));
    println!(
        "out={} best_step={best_step} best_val_objective={best:.6} best_val_repaired={} secs={:.1} updates_per_s={:.1}",
        out.display(),
        o.best_val_repaired.map_or("-".into(), |r| format!("{r:.2}")),
        o.outcome.secs,
        o.outcome.updates_per_s()
    );
    Ok(())
}

fn eval(args: &[String]) -> Result<()> {
    let Some((ckpt, episodes)) = args.split_first() else { bail!("eval needs a checkpoint and episodes") };
    let mut policy = DdpgOnline::load(Path::new(ckpt))?;
    let mut sum = 0.0;
    for f in episodes {
        let ep: dnnrm::model::Episode =
            serde_json::from_str(&std::fs::read_to_string(f).with_context(|| format!("reading {f}"))?)?;
        ep.validate().with_context(|| format!("{f}: invalid episode"))?;
        let run = run_online(&mut policy, &ep, 0)?;
        let ev = &run.evaluation;
        println!(
            "policy=ddpg-online episode={} objective={:.6} served={:.4} scored_tasks={} edge_mb={:.1} evictions={}",
            ep.id,
            ev.objective,
            ev.served_fraction,
            ev.scored_tasks,
            ev.edge_downloaded_mb.iter().sum::<f64>(),
            ev.evictions
        );
        sum += ev.objective;
    }
    println!("mean_objective={:.6} episodes={}", sum / episodes.len().max(1) as f64, episodes.len());
    Ok(())
}

/// Action statistics of a checkpoint on episodes: per slot, the share of tasks in each
/// location bin, repaired tasks, and the mean model value.
fn diag(args: &[String]) -> Result<()> {
    use dnnrm::model::Replay;
    use dnnrm::solvers::ddpg::env::{location_bin, ACT_PER_TASK};
    use dnnrm::solvers::ddpg::online::{decide, observe};
    use dnnrm::solvers::ddpg::online_policy::OnlineActor;
    let Some((ckpt, episodes)) = args.split_first() else { bail!("diag needs a checkpoint and episodes") };
    let actor = OnlineActor::load(Path::new(ckpt))?;
    for f in episodes {
        let ep: dnnrm::model::Episode = serde_json::from_str(&std::fs::read_to_string(f)?)?;
        let mut replay = Replay::new(&ep);
        for (t, slot) in ep.slots.iter().enumerate() {
            let obs = observe(&ep.network, t, slot, replay.state(), actor.env())?;
            let a = actor.act(&obs);
            let mut bins = [0usize; 4];
            let mut model = 0.0f64;
            for n in 0..slot.tasks.len() {
                bins[location_bin(a[n * ACT_PER_TASK])] += 1;
                model += f64::from(a[n * ACT_PER_TASK + 1]);
            }
            let d = decide(&ep.network, slot, replay.state(), &a)?;
            let out = replay.step(&d.decision)?;
            println!(
                "{} t={t} tasks={} local/edge/cloud/reject={bins:?} model={:.2} repaired={} served={} evictions={} mean_rb={:.2} mean_cu={:.2}",
                ep.id,
                slot.tasks.len(),
                model / slot.tasks.len().max(1) as f64,
                d.repaired,
                out.served,
                out.evictions,
                (0..slot.tasks.len()).map(|n| a[n * ACT_PER_TASK + 2] as f64).sum::<f64>() / slot.tasks.len().max(1) as f64,
                (0..slot.tasks.len()).map(|n| a[n * ACT_PER_TASK + 3] as f64).sum::<f64>() / slot.tasks.len().max(1) as f64,
            );
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let res = match args.first().map(String::as_str) {
        Some("train") => train(&args[1..]),
        Some("eval") => eval(&args[1..]),
        Some("diag") => diag(&args[1..]),
        Some("config") => serde_json::to_string_pretty(&DdpgOnlineTrainConfig::default())
            .map(|s| println!("{s}"))
            .map_err(Into::into),
        _ => Err(anyhow::anyhow!("usage: ddpg_online train OUT [CONFIG.json] [--seed S] [--steps N] | eval CHECKPOINT EPISODE.json... | config")),
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
