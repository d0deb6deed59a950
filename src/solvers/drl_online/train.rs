//! Training `drl-online` ([`super`]) by self-critical REINFORCE over whole episodes
//! ([`crate::rl::set_pg`]).
//!
//! A pool of training episodes is generated once from the setting's parameters (seeds of
//! the training range of run `seed`) with the long-run placement of each computed once.
//! Each update plays `episodes_per_update` episodes of the pool with the sampling policy
//! and again greedily (the self-critical baseline). Servers do not share anything but the
//! episode's clock (no mobility), so each server's choices form one REINFORCE episode
//! whose return is its advantage: the scored accuracy its tasks earned under the
//! sampled run minus under the greedy run, over the episode's scored tasks (the return
//! of the whole episode is `A_ep`, discount 1). Every `eval_every` updates the greedy
//! policy is scored on validation episodes (validation seed range, disjoint from
//! training and from every committed set), and the best is written to `out` (a scorer
//! checkpoint, atomically). The prior alone is scored first, so `out/train.json` says
//! what training adds over it.
//!
//! Two phases: `updates` of the edge scorer (devices follow the shared device rule),
//! then `device_updates` of the device scorer ([`super::device`]) with the edge scorer
//! frozen at its best checkpoint. In the device phase each device with a task is one
//! REINFORCE episode per run, its return the scored accuracy of its own tasks under the
//! sampled run minus under the greedy run; the device scorer is written to
//! `out/device` only when it raises the best validation `A_ep`, so a run whose device
//! phase never helps leaves the policy on the device rule.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::device::{DFEAT, DPRIOR};
use super::{Context, PlacementScorer, FEAT, HIDDEN, PRIOR, SLOTS};
use crate::model::Site;
use crate::model::{Episode, Replay};
use crate::rl::checkpoint::CheckpointError;
use crate::rl::seeded_rng;
use crate::rl::set_pg::{SetPg, SetPgConfig};
use crate::rl::train::{Agent, Transition};
use crate::scenario::{seeds, DynamicsParams, ScenarioParams};
use crate::solver::SolverError;

/// Offset of the validation episodes in the validation seed range (the static sets'
/// validation instances use its start).
const VALIDATION_OFFSET: u64 = 700_000;

/// What a training run needs. Every field has a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DrlOnlineTrainConfig {
    pub seed: u64,
    /// The settings, each as `name=value` scenario and dynamics parameters (the episode
    /// set spec format), separated by `|`; episode `i` of the training pool and of the
    /// validation set uses setting `i mod (number of settings)`. `family` stands for
    /// [`TRAIN_FAMILY`] (`online-default` and the committed sets' other points). Default:
    /// `online-default`'s setting (the family was tried and measured lower on 7 of the
    /// 9 comparable bench points, docs/online.md).
    pub params: String,
    pub train_episodes: usize,
    pub val_episodes: usize,
    pub updates: usize,
    pub episodes_per_update: usize,
    pub lr: f64,
    pub temperature: f32,
    pub eval_every: usize,
    /// Updates of the device scorer ([`super::device`]) after the edge scorer's (0:
    /// devices follow the shared device rule). Meanwhile the edge scorer is frozen at its
    /// best checkpoint; the device scorer is written (to `out/device`) only when it
    /// raises the best validation `A_ep`.
    pub device_updates: usize,
    /// Adam learning rate of the device scorer.
    pub device_lr: f64,
    /// Sampling temperature of the device scorer.
    pub device_temperature: f32,
}

impl Default for DrlOnlineTrainConfig {
    fn default() -> Self {
        DrlOnlineTrainConfig {
            seed: 0,
            params: crate::scenario::ONLINE_DEFAULT_PARAMS.into(),
            train_episodes: 32,
            val_episodes: 20,
            updates: 60,
            episodes_per_update: 8,
            lr: 5e-3,
            temperature: 0.05,
            eval_every: 10,
            device_updates: 250,
            device_lr: 5e-3,
            device_temperature: 0.02,
        }
    }
}

/// One validation point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    pub update: usize,
    /// Mean `A_ep` of the greedy policy over the validation episodes.
    pub validation: f64,
    /// Mean advantage of the sampled runs over the greedy runs since the last point.
    pub advantage: f64,
}

/// What `out/train.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainSummary {
    pub config: DrlOnlineTrainConfig,
    /// Validation `A_ep` of the untrained prior (`static-placement`'s edge targets).
    pub prior_validation: f64,
    pub best_validation: f64,
    pub best_update: usize,
    pub curve: Vec<CurvePoint>,
    pub seconds: f64,
}

/// Errors of a training run.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("drl-online training config: {0}")]
    Config(String),
    #[error(transparent)]
    Solver(#[from] SolverError),
    #[error("episode {episode}: {reason}")]
    Episode { episode: String, reason: String },
    #[error("writing {path}: {reason}")]
    Write { path: String, reason: String },
    #[error("reading {path}: {reason}")]
    Read { path: String, reason: String },
}

/// Changes from `online-default` of each setting of the default training family: the
/// committed online sets' points (`online-easy` is the §9.3 defaults, the sweeps vary
/// one value of `online-default`), so one policy serves every set.
pub const TRAIN_FAMILY: [&str; 8] = [
    "",
    "easy",
    "edge_cache_mb=500",
    "edge_cache_mb=1000",
    "edge_download_bps=4e8",
    "edge_download_bps=4e9",
    "regime_length=3",
    "regime_length=60",
];

/// [`TRAIN_FAMILY`] as a `params` string.
pub fn train_family() -> String {
    TRAIN_FAMILY
        .iter()
        .map(|c| match *c {
            "easy" => "n_slots=30".to_string(),
            c => format!("{} {c}", crate::scenario::ONLINE_DEFAULT_PARAMS).trim().to_string(),
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

fn parse_params(params: &str) -> Result<(crate::scenario::Scenario, crate::scenario::Dynamics), TrainError> {
    let (mut sp, mut dp) = (ScenarioParams::default(), DynamicsParams::default());
    for kv in params.split_whitespace() {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| TrainError::Config(format!("params: expected name=value, got `{kv}`")))?;
        let k = k.replace('-', "_");
        match sp.set(&k, v) {
            Err(crate::scenario::ParamError::Unknown(_)) => dp.set(&k, v),
            other => other,
        }
        .map_err(|e| TrainError::Config(format!("params: {e}")))?;
    }
    let sc = sp.check().map_err(|e| TrainError::Config(format!("params: {e}")))?;
    let dy = dp.check().map_err(|e| TrainError::Config(format!("params: {e}")))?;
    Ok((sc, dy))
}

/// An episode with its policy context (long-run placement computed once).
struct Prepared {
    ep: Episode,
    ctx: Context,
}

fn prepare(params: &str, seeds: impl Iterator<Item = u64>, tag: &str) -> Result<Vec<Prepared>, TrainError> {
    use rayon::prelude::*;
    let family;
    let params = if params.trim() == "family" {
        family = train_family();
        family.as_str()
    } else {
        params
    };
    let settings = params.split('|').map(parse_params).collect::<Result<Vec<_>, _>>()?;
    let seeds: Vec<u64> = seeds.collect();
    seeds
        .par_iter()
        .enumerate()
        .map(|(i, &s)| {
            let (sc, dy) = &settings[i % settings.len()];
            let ep = crate::solvers::online::generate_episode(sc, dy, s, &format!("{tag}{s}"));
            let ctx = Context::new(&ep.network, &ep.initial, s)?;
            Ok(Prepared { ep, ctx })
        })
        .collect()
}

/// One run of an episode: `A_ep`, and each server's and each device's scored accuracy
/// sum over the episode's scored tasks. `choose(site, obs, cands)` picks the candidates
/// ([`Context::decide`]).
pub fn rollout(
    ctx: &mut Context,
    ep: &Episode,
    mut choose: impl FnMut(Site, &[f32], &[Option<usize>]) -> usize,
) -> Result<Run, TrainError> {
    let err = |reason: String| TrainError::Episode { episode: ep.id.clone(), reason };
    ctx.restart();
    let mut replay = Replay::new(ep);
    let mut per_edge = vec![0.0; ep.network.edges.len()];
    let mut per_device = vec![0.0; ep.network.devices.len()];
    let mut scored = 0usize;
    for (t, slot) in ep.slots.iter().enumerate() {
        let d = ctx.decide(slot, replay.state(), &mut choose)?;
        if t >= ep.network.window {
            scored += slot.tasks.len();
            for (task, dec) in slot.tasks.iter().zip(&d.solution.decisions) {
                if let Some(a) = dec.assignment() {
                    per_edge[task.edge] += ep.network.models[a.model].accuracy;
                    per_device[task.device] += ep.network.models[a.model].accuracy;
                }
            }
        }
        replay.step(&d).map_err(|v| err(v.to_string()))?;
    }
    let eval = replay.finish().map_err(|v| err(v.to_string()))?;
    let n = scored.max(1) as f64;
    Ok(Run {
        objective: eval.objective,
        per_edge: per_edge.into_iter().map(|x| x / n).collect(),
        per_device: per_device.into_iter().map(|x| x / n).collect(),
    })
}

/// The recorded steps of one site in one run: observation blocks and chosen indices.
type Steps = Vec<(Vec<f32>, usize)>;

/// What [`rollout`] returns.
pub struct Run {
    /// `A_ep`.
    pub objective: f64,
    /// Scored accuracy of each server's tasks over the episode's scored tasks.
    pub per_edge: Vec<f64>,
    /// The same per device.
    pub per_device: Vec<f64>,
}

/// The greedy policy: the edge scorer, and the device scorer when devices learn.
pub struct Greedy {
    pub edge: PlacementScorer,
    pub device: PlacementScorer,
    buf: Vec<f32>,
    rows: Vec<f32>,
}

impl Greedy {
    pub fn new(edge: PlacementScorer, device: PlacementScorer) -> Self {
        Greedy { edge, device, buf: Vec::new(), rows: Vec::new() }
    }

    pub fn choose(&mut self, site: Site, obs: &[f32], cands: &[Option<usize>]) -> usize {
        let scorer = match site {
            Site::Edge(_) => &self.edge,
            Site::Device(_) => &self.device,
        };
        scorer.choose(obs, cands.len(), &mut self.buf, &mut self.rows)
    }
}

fn validate(pool: &mut [Prepared], greedy: &mut Greedy) -> Result<f64, TrainError> {
    let mut total = 0.0;
    for p in pool.iter_mut() {
        total += rollout(&mut p.ctx, &p.ep, |site, obs, c| greedy.choose(site, obs, c))?.objective;
    }
    Ok(total / pool.len().max(1) as f64)
}

/// Trains `drl-online` and writes the best checkpoint into `out` (the device scorer,
/// when learned, into `out/device`) and the summary into `out/train.json`.
pub fn train_drl_online(
    cfg: &DrlOnlineTrainConfig,
    out: &Path,
    progress: &indicatif::ProgressBar,
) -> Result<TrainSummary, TrainError> {
    if cfg.train_episodes == 0 || cfg.val_episodes == 0 || cfg.episodes_per_update == 0 || cfg.eval_every == 0
    {
        return Err(TrainError::Config("episode counts and eval_every must be positive".into()));
    }
    if !(cfg.temperature > 0.0 && cfg.lr > 0.0 && cfg.device_lr > 0.0 && cfg.device_temperature > 0.0) {
        return Err(TrainError::Config("temperatures and learning rates must be positive".into()));
    }
    let t0 = std::time::Instant::now();
    let train_seeds =
        seeds::training(cfg.seed).start..seeds::training(cfg.seed).start + cfg.train_episodes as u64;
    let val_start = seeds::VALIDATION.start + VALIDATION_OFFSET;
    progress.set_message("generating episodes");
    let mut pool = prepare(&cfg.params, train_seeds, "train")?;
    let mut val = prepare(&cfg.params, val_start..val_start + cfg.val_episodes as u64, "val")?;
    let pg_cfg = SetPgConfig {
        lr: cfg.lr,
        temperature: cfg.temperature,
        episodes_per_update: cfg.episodes_per_update
            * pool.first().map_or(1, |p| p.ep.network.edges.len()).max(1),
        grad_clip_norm: 1.0,
        prior_column: Some(PRIOR),
        seed: cfg.seed,
    };
    let config_err = |e: String| TrainError::Config(e);
    let mut agent =
        SetPg::<FEAT, SLOTS, HIDDEN>::new(pg_cfg.clone()).map_err(|e| config_err(e.to_string()))?;
    // Device episodes per update vary (devices with a task): learn on all of them.
    let device_cfg = SetPgConfig {
        lr: cfg.device_lr,
        temperature: cfg.device_temperature,
        episodes_per_update: 1,
        prior_column: Some(DPRIOR),
        ..pg_cfg
    };
    let mut device_agent =
        SetPg::<DFEAT, SLOTS, HIDDEN>::new(device_cfg).map_err(|e| config_err(e.to_string()))?;
    let mut rng = seeded_rng(cfg.seed ^ 0x0d21_0e11);
    // The edge scorer of the device phase: the best of the edge phase.
    let mut frozen_edge: Option<PlacementScorer> = None;
    let greedy_of = |agent: &SetPg<FEAT, SLOTS, HIDDEN>,
                     device: &SetPg<DFEAT, SLOTS, HIDDEN>,
                     frozen: &Option<PlacementScorer>| {
        Greedy::new(
            frozen.clone().unwrap_or_else(|| PlacementScorer {
                scorer: agent.fast_scorer(),
                step: 0,
                feat: FEAT,
            }),
            PlacementScorer { scorer: device.fast_scorer(), step: 0, feat: DFEAT },
        )
    };

    progress.set_message("scoring the prior");
    let prior_validation = validate(
        &mut val,
        &mut Greedy::new(PlacementScorer::prior_only(), PlacementScorer::device_prior_only()),
    )?;
    let mut best = (prior_validation, 0usize);
    let env_json = serde_json::json!({ "policy": "drl-online", "params": cfg.params });
    let write = |path: &Path, e: CheckpointError| TrainError::Write {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    agent.save_checkpoint(out, 0, env_json.clone()).map_err(|e| write(out, e))?;
    let mut curve = Vec::new();
    let (mut adv_sum, mut adv_n) = (0.0, 0usize);
    progress.set_length((cfg.updates + cfg.device_updates) as u64);
    progress.set_message("training");
    let mut next = 0usize;
    for u in 1..=cfg.updates + cfg.device_updates {
        let devices_turn = u > cfg.updates;
        if u == cfg.updates + 1 {
            // The device phase: the edge scorer stays at its best, devices learn.
            frozen_edge = Some(PlacementScorer::load(out).map_err(|e| TrainError::Read {
                path: out.display().to_string(),
                reason: format!("the best edge scorer: {e}"),
            })?);
            for p in pool.iter_mut().chain(val.iter_mut()) {
                p.ctx.learned_devices = true;
            }
        }
        // Per run: the recorded steps and the advantage of each learning site.
        let mut episodes: Vec<(Steps, f64)> = Vec::new();
        for _ in 0..cfg.episodes_per_update {
            let p = &mut pool[next % cfg.train_episodes];
            next += 1;
            let mut greedy = greedy_of(&agent, &device_agent, &frozen_edge);
            let base = rollout(&mut p.ctx, &p.ep, |site, obs, c| greedy.choose(site, obs, c))?;
            let sites = if devices_turn { p.ep.network.devices.len() } else { p.ep.network.edges.len() };
            let mut rec: Vec<Steps> = vec![Vec::new(); sites];
            let mut failure = None;
            let sampled = rollout(&mut p.ctx, &p.ep, |site, obs, c| {
                let n = c.len();
                let (i, learner) = match (site, devices_turn) {
                    (Site::Edge(m), false) => (agent.act(obs, true, &mut rng), Some(m)),
                    (Site::Device(d), true) => (device_agent.act(obs, true, &mut rng), Some(d)),
                    _ => (Ok(greedy.choose(site, obs, c)), None),
                };
                let i = match i {
                    Ok(i) => i.min(n - 1),
                    Err(e) => {
                        failure = Some(e.to_string());
                        n - 1
                    }
                };
                if let Some(s) = learner {
                    rec[s].push((obs.to_vec(), i));
                }
                i
            })?;
            if let Some(f) = failure {
                return Err(TrainError::Config(f));
            }
            let (s, b) = if devices_turn {
                (&sampled.per_device, &base.per_device)
            } else {
                (&sampled.per_edge, &base.per_edge)
            };
            for ((steps, s), b) in rec.into_iter().zip(s).zip(b) {
                if !steps.is_empty() {
                    episodes.push((steps, s - b));
                }
            }
        }
        // One REINFORCE episode per (run, site), its return the site's advantage.
        for (steps, adv) in &episodes {
            let len = steps.len();
            for (j, (o, i)) in steps.iter().enumerate() {
                let last = j + 1 == len;
                let reward = if last { *adv as f32 } else { 0.0 };
                let t = Transition { obs: o, action: i, reward, next_obs: o, terminated: last };
                if devices_turn {
                    device_agent.observe(&t).map_err(|e| config_err(e.to_string()))?;
                } else {
                    agent.observe(&t).map_err(|e| config_err(e.to_string()))?;
                }
            }
            adv_sum += adv;
            adv_n += 1;
        }
        // Every (run, site) episode is in: one update on all of them.
        if devices_turn {
            while device_agent.update(&mut rng).map_err(|e| config_err(e.to_string()))?.is_some() {}
        } else {
            while agent.update(&mut rng).map_err(|e| config_err(e.to_string()))?.is_some() {}
        }
        progress.inc(1);
        if u % cfg.eval_every == 0 || u == cfg.updates {
            let v = validate(&mut val, &mut greedy_of(&agent, &device_agent, &frozen_edge))?;
            curve.push(CurvePoint { update: u, validation: v, advantage: adv_sum / adv_n.max(1) as f64 });
            (adv_sum, adv_n) = (0.0, 0);
            progress.set_message(format!("validation {v:.4} (prior {prior_validation:.4})"));
            if v > best.0 {
                best = (v, u);
                if devices_turn {
                    let dir = out.join(super::DEVICE_DIR);
                    device_agent
                        .save_checkpoint(&dir, u as u64, env_json.clone())
                        .map_err(|e| write(&dir, e))?;
                } else {
                    agent.save_checkpoint(out, u as u64, env_json.clone()).map_err(|e| write(out, e))?;
                }
            }
        }
    }
    let summary = TrainSummary {
        config: cfg.clone(),
        prior_validation,
        best_validation: best.0,
        best_update: best.1,
        curve,
        seconds: t0.elapsed().as_secs_f64(),
    };
    crate::io::write_json_atomic(&out.join("train.json"), &summary).map_err(|e| TrainError::Write {
        path: out.join("train.json").display().to_string(),
        reason: e.to_string(),
    })?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn family_expands_to_the_committed_points_in_turn() {
        let eps = prepare("family", 0..TRAIN_FAMILY.len() as u64, "t").expect("family settings parse");
        assert_eq!(eps.len(), TRAIN_FAMILY.len());
        let cache = |i: usize| eps[i].ep.network.edges[0].cache_mb;
        // online-default has a 250 MB cache; the 3rd and 4th settings 500 and 1000 MB.
        assert_eq!((cache(0), cache(2), cache(3)), (250.0, 500.0, 1000.0));
        let single = prepare(crate::scenario::ONLINE_DEFAULT_PARAMS, 0..2, "t").expect("parses");
        assert_eq!(single[1].ep.network.edges[0].cache_mb, 250.0, "one setting for every episode");
        assert!(prepare("n_slots=30 | bogus=1", 0..2, "t").is_err(), "a bad setting is an error");
    }
}
