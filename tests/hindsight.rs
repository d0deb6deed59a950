//! `hindsight` is exact: on hundreds of tiny episodes its proven optimum equals a brute
//! force over every placement and download order that shares nothing with the MILP
//! but the episode evaluator and the per-slot brute force; it is never below the online
//! policies, equals the static `milp` on a one-slot episode with everything resident,
//! and its per-server split and its plans are what the monolithic MILP and a replay say.

use std::collections::HashMap;
use std::time::Instant;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use dnnrm::model::{
    evaluate_episode, Decision, Download, DownloadPlan, Episode, Holdings, Location, PlacementState, Replay,
    SlotDecision, Solution, Store, FORMAT_VERSION,
};
use dnnrm::scenario::{DynamicsParams, Scenario, ScenarioParams, Zoo};
use dnnrm::solver::online::{run_online, EpisodeSolver};
use dnnrm::solver::{SolveOptions, Solver, Status};
use dnnrm::solvers::hindsight::{self, Hindsight};
use dnnrm::solvers::{brute_force_optimum, Milp};

/// Small models of two services (classification, detection), so that devices can hold
/// some and downloads take one or two slots.
const POOL: &[&str] = &[
    "mobilenet_v3_small",
    "mobilenet_v2",
    "efficientnet_b0",
    "mobilenet_v3_large",
    "resnet18",
    "resnet50",
    "ssdlite320_mobilenet_v3_large",
    "fasterrcnn_mobilenet_v3_large_320_fpn",
];

/// A tiny episode: 1 edge server, 1-3 devices, 2-4 models, T = 2-4, small caches and
/// download volumes (downloads take 1-3 slots), a random initial state with resident
/// models and partial downloads (possibly above capacity), sometimes a scoring window.
fn tiny_episode(seed: u64) -> Episode {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let full = Zoo::embedded().expect("embedded zoo");
    let mut pool: Vec<_> = full.models.iter().filter(|m| POOL.contains(&m.name.as_str())).cloned().collect();
    pool.shuffle(&mut rng);
    let n_models = rng.gen_range(2..=4);
    let n_devices = if n_models == 4 { rng.gen_range(1..=2) } else { rng.gen_range(1..=3) };
    let mut models: Vec<_> = pool.into_iter().take(n_models).collect();
    models.sort_by(|a, b| a.service.cmp(&b.service).then(a.name.cmp(&b.name)));
    let sizes: Vec<f64> = models.iter().map(|m| m.file_mb).collect();
    let total: f64 = sizes.iter().sum();
    let mean = total / sizes.len() as f64;
    let p = ScenarioParams {
        n_devices,
        n_edges: 1,
        floor_m: *[60.0, 150.0].choose(&mut rng).unwrap_or(&60.0),
        rbs: rng.gen_range(1..=4),
        edge_units: rng.gen_range(1..=4),
        rb_width_hz: *[0.2e6, 0.5e6, 1e6].choose(&mut rng).unwrap_or(&0.5e6),
        edge_flops: *[5e10, 2e11, 1e12].choose(&mut rng).unwrap_or(&2e11),
        edge_cache_mb: rng.gen_range(0.2..0.6) * total,
        deadline_scale: *[0.3, 1.0, 3.0].choose(&mut rng).unwrap_or(&1.0),
        device_storage_min_mb: 8.0,
        device_storage_max_mb: 28.0,
        device_flops_min: 2e9,
        device_flops_max: 2e10,
        backhaul_delay_s: *[0.02, 0.1, 0.3].choose(&mut rng).unwrap_or(&0.1),
        cloud_flops: *[2e12, 2e13].choose(&mut rng).unwrap_or(&2e13),
        ..ScenarioParams::default()
    };
    let sc = Scenario { params: p, zoo: Zoo { models } };
    let dp = DynamicsParams {
        n_slots: rng.gen_range(2..=4),
        regime_mixes: "0.6/0.4/0;0.3/0.7/0".into(),
        regime_length: 2.0,
        p_active: 0.85,
        edge_download_bps: rng.gen_range(0.35..1.1) * mean * 8e6,
        device_download_bps: rng.gen_range(0.3..1.1) * mean * 8e6,
        ..DynamicsParams::default()
    };
    let dy = dp.check().expect("valid dynamics");
    let mut ep = dnnrm::scenario::generate_episode(&sc, &dy, seed, &format!("tiny{seed}"), None);
    if ep.slots.len() >= 2 && rng.gen_bool(0.25) {
        ep.network.window = 1;
    }
    let k = ep.network.models.len();
    let random_store = |rng: &mut ChaCha8Rng| {
        let mut s = Store::default();
        let mut ks: Vec<usize> = (0..k).collect();
        ks.shuffle(rng);
        for m in ks {
            let x: f64 = rng.gen();
            if x < 0.3 {
                s.resident.push(m);
            } else if x < 0.55 {
                let size = ep.network.models[m].size_mb;
                s.downloading.push(Download { model: m, received_mb: rng.gen_range(0.0..size) });
            }
        }
        s
    };
    let edges = (0..ep.network.edges.len()).map(|_| random_store(&mut rng)).collect();
    let devices = (0..ep.network.devices.len()).map(|_| random_store(&mut rng)).collect();
    ep.initial = PlacementState { edges, devices };
    ep.validate().expect("tiny episode is valid");
    ep
}

/// Every subset of `0..k` (as sorted lists) whose sizes fit `cap` (the evaluator's slack).
fn subsets(ep: &Episode, cap: f64) -> Vec<Vec<usize>> {
    let k = ep.network.models.len();
    (0u32..1 << k)
        .map(|mask| (0..k).filter(|&i| mask & (1 << i) != 0).collect::<Vec<usize>>())
        .filter(|s| s.iter().map(|&i| ep.network.models[i].size_mb).sum::<f64>() <= cap + 1e-9)
        .collect()
}

fn permutations(v: &[usize]) -> Vec<Vec<usize>> {
    if v.len() <= 1 {
        return vec![v.to_vec()];
    }
    let mut out = Vec::new();
    for i in 0..v.len() {
        let mut rest = v.to_vec();
        let x = rest.remove(i);
        for mut p in permutations(&rest) {
            p.insert(0, x);
            out.push(p);
        }
    }
    out
}

/// A hold set and the download amounts of one site in one slot.
type SiteChoice = (Vec<usize>, Vec<(usize, f64)>);

/// What one site may do in a slot: a hold set and, for the downloads after the
/// placement change, an order in which they receive the volume one after another.
/// Choices that leave the site in the same state with the same models to serve are
/// kept once (in the last slot only the models to serve matter).
fn site_choices(ep: &Episode, store: &Store, cap: f64, volume: f64, last: bool) -> Vec<SiteChoice> {
    let size = |k: usize| ep.network.models[k].size_mb;
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for hold in subsets(ep, cap) {
        let mut downloading: Vec<(usize, f64)> = store
            .downloading
            .iter()
            .filter(|d| hold.contains(&d.model))
            .map(|d| (d.model, d.received_mb))
            .collect();
        downloading.extend(hold.iter().filter(|&&k| !store.holds(k)).map(|&k| (k, 0.0)));
        let models: Vec<usize> = downloading.iter().map(|d| d.0).collect();
        let mut kept: Vec<usize> = store.resident.iter().copied().filter(|k| hold.contains(k)).collect();
        kept.sort_unstable();
        for order in permutations(&models) {
            let mut left = volume;
            let plan: Vec<(usize, f64)> = order
                .iter()
                .map(|&k| {
                    let received = downloading.iter().find(|d| d.0 == k).map_or(0.0, |d| d.1);
                    let g = (size(k) - received).min(left).max(0.0);
                    left = (left - g).max(0.0);
                    (k, g)
                })
                .collect();
            // The site's next state: kept residents, completed downloads, the rest.
            let mut resident = kept.clone();
            let mut partial = Vec::new();
            for &(k, received) in &downloading {
                let r = received + plan.iter().find(|p| p.0 == k).map_or(0.0, |p| p.1);
                if r >= size(k) - 1e-9 {
                    resident.push(k);
                } else {
                    partial.push((k, r.to_bits()));
                }
            }
            resident.sort_unstable();
            partial.sort_unstable();
            let key = if last { format!("{kept:?}") } else { format!("{kept:?}{resident:?}{partial:?}") };
            if seen.insert(key) {
                out.push((hold.clone(), plan));
            }
        }
    }
    out
}

fn state_key(s: &PlacementState) -> String {
    let norm = |st: &Store| {
        let mut r = st.resident.clone();
        r.sort_unstable();
        let mut d: Vec<(usize, u64)> =
            st.downloading.iter().map(|x| (x.model, x.received_mb.to_bits())).collect();
        d.sort_unstable();
        (r, d)
    };
    format!(
        "{:?}|{:?}",
        s.edges.iter().map(norm).collect::<Vec<_>>(),
        s.devices.iter().map(norm).collect::<Vec<_>>()
    )
}

/// The brute-force optimum of a tiny episode and a plan attaining it: per slot every
/// hold set of every site that fits and every download order of every site, replayed by
/// the evaluator (states merged when equal), the assignment of each slot by the
/// per-slot brute force on the kept-resident placement.
fn brute_force_episode(ep: &Episode) -> (f64, Vec<SlotDecision>) {
    let net = &ep.network;
    let mut frontier: Vec<(f64, Replay, Vec<SlotDecision>)> = vec![(0.0, Replay::new(ep), Vec::new())];
    let mut assign_cache: HashMap<(usize, String), Solution> = HashMap::new();
    let n_slots = ep.slots.len();
    for (t, slot) in ep.slots.iter().enumerate() {
        let mut next: HashMap<String, (f64, Replay, Vec<SlotDecision>)> = HashMap::new();
        for (value, replay, decisions) in &frontier {
            let state = replay.state().clone();
            let last = t + 1 == n_slots;
            let mut per_site: Vec<Vec<SiteChoice>> = Vec::new();
            for (m, s) in state.edges.iter().enumerate() {
                per_site.push(site_choices(ep, s, net.edges[m].cache_mb, net.edge_volume_mb(m), last));
            }
            for (n, s) in state.devices.iter().enumerate() {
                per_site.push(site_choices(ep, s, net.devices[n].storage_mb, net.device_volume_mb(n), last));
            }
            let mut idx = vec![0usize; per_site.len()];
            loop {
                let n_edges = net.edges.len();
                let pick = |i: usize| &per_site[i][idx[i]];
                let hold = Holdings {
                    edges: (0..n_edges).map(|m| pick(m).0.clone()).collect(),
                    devices: (0..net.devices.len()).map(|n| pick(n_edges + n).0.clone()).collect(),
                };
                let downloads = DownloadPlan {
                    edges: (0..n_edges).map(|m| pick(m).1.clone()).collect(),
                    devices: (0..net.devices.len()).map(|n| pick(n_edges + n).1.clone()).collect(),
                };
                let keep = |s: &Store, h: &Vec<usize>| -> Vec<usize> {
                    let mut r: Vec<usize> = s.resident.iter().copied().filter(|k| h.contains(k)).collect();
                    r.sort_unstable();
                    r
                };
                let kept = Holdings {
                    edges: state.edges.iter().zip(&hold.edges).map(|(s, h)| keep(s, h)).collect(),
                    devices: state.devices.iter().zip(&hold.devices).map(|(s, h)| keep(s, h)).collect(),
                };
                let solution = if slot.tasks.is_empty() {
                    Solution {
                        format_version: FORMAT_VERSION,
                        edge_cache: vec![Vec::new(); n_edges],
                        device_models: Vec::new(),
                        decisions: Vec::new(),
                    }
                } else {
                    let key = (
                        t,
                        format!(
                            "{:?}",
                            (
                                &kept.edges,
                                slot.tasks.iter().map(|x| &kept.devices[x.device]).collect::<Vec<_>>()
                            )
                        ),
                    );
                    assign_cache
                        .entry(key)
                        .or_insert_with(|| brute_force_optimum(&net.slot_instance(slot, Some(&kept), "bf")).1)
                        .clone()
                };
                let d = SlotDecision { hold, solution, downloads: Some(downloads) };
                let mut r = replay.clone();
                let out = r.step(&d).unwrap_or_else(|v| panic!("brute force broke a rule: {v}"));
                let v = value + if out.scored { out.accuracy_sum } else { 0.0 };
                let key = state_key(r.state());
                if next.get(&key).is_none_or(|e| v > e.0) {
                    let mut ds = decisions.clone();
                    ds.push(d);
                    next.insert(key, (v, r, ds));
                }
                // Next combination.
                let mut i = 0;
                while i < idx.len() {
                    idx[i] += 1;
                    if idx[i] < per_site[i].len() {
                        break;
                    }
                    idx[i] = 0;
                    i += 1;
                }
                if i == idx.len() {
                    break;
                }
            }
        }
        let mut f: Vec<(f64, Replay, Vec<SlotDecision>)> = next.into_values().collect();
        // Deterministic order (the map's order is not).
        f.sort_by(|a, b| {
            b.0.total_cmp(&a.0).then_with(|| state_key(a.1.state()).cmp(&state_key(b.1.state())))
        });
        frontier = f;
    }
    let (_, replay, decisions) = frontier.into_iter().next().expect("at least one plan");
    let eval = replay.finish().expect("complete");
    (eval.objective, decisions)
}

fn opts() -> SolveOptions {
    SolveOptions::default()
}

/// Solves with the default `hindsight` and checks what every answer must satisfy: a
/// valid plan, a bound at or above its objective; returns the replayed objective.
fn solve(ep: &Episode, solver: &Hindsight) -> (f64, dnnrm::solver::online::EpisodeReport) {
    let rep = solver.solve_episode(ep, &opts()).expect("hindsight never errors on a valid episode");
    let obj = evaluate_episode(ep, &rep.decisions)
        .unwrap_or_else(|v| panic!("{}: the plan breaks a rule: {v}", ep.id))
        .objective;
    let bound = rep.bound.expect("a bound");
    assert!(bound >= obj - 1e-9, "{}: bound {bound} below the plan's objective {obj}", ep.id);
    (obj, rep)
}

const TINY_EPISODES: u64 = 1000;

#[test]
fn hindsight_equals_brute_force_on_tiny_episodes() {
    let t0 = Instant::now();
    let (mut downloads_matter, mut partial_used, mut two_slot, mut windowed, mut over_capacity) =
        (0, 0, 0, 0, 0);
    let (mut with_free, mut with_flow, mut with_dominated, mut with_always) = (0, 0, 0, 0);
    for seed in 0..TINY_EPISODES {
        let ep = tiny_episode(seed);
        let (bf, bf_plan) = brute_force_episode(&ep);
        let bf_replay = evaluate_episode(&ep, &bf_plan).expect("the brute-force plan is valid").objective;
        assert!((bf_replay - bf).abs() <= 1e-12, "seed {seed}: brute value and its plan differ");
        let (obj, rep) = solve(&ep, &Hindsight::default());
        assert_eq!(rep.status, Status::Optimal, "seed {seed}: {}", rep.reason);
        assert!((obj - bf).abs() <= 1e-9, "seed {seed}: hindsight {obj} != brute force {bf}\n{}", rep.reason);
        assert!((rep.stats["milp_objective"] - bf).abs() <= 1e-9, "seed {seed}: MILP objective differs");
        assert!(rep.bound.expect("bound") <= bf + 1e-6, "seed {seed}: a proven optimum's bound is tight");
        // Both encodings of a track (free sites, eviction flow) and dominance occur.
        with_free += usize::from(rep.stats["free_tracks"] > 0.0);
        with_flow += usize::from(rep.stats["tracks"] > rep.stats["free_tracks"]);
        with_dominated += usize::from(rep.stats["dominated_tracks"] > 0.0);
        // Reduction 6 (off by default) is exact too.
        let always = Hindsight::default()
            .with_encoding(hindsight::encoding::EncodingOptions { below_always: true, ..Default::default() });
        let (obj_always, rep_always) = solve(&ep, &always);
        assert_eq!(rep_always.status, Status::Optimal, "seed {seed}: {}", rep_always.reason);
        assert!(
            (obj_always - bf).abs() <= 1e-9,
            "seed {seed}: with reduction 6 {obj_always} != brute force {bf}"
        );
        with_always += usize::from(rep_always.stats["below_always_columns"] > 0.0);

        // What the episodes exercise: downloads that pay (the optimum without any
        // download volume is lower), initial partial downloads completed and used,
        // downloads over two slots, scoring windows, initial states above capacity.
        let mut none = ep.clone();
        none.network.edge_download_bps.iter_mut().for_each(|v| *v = 1e-3);
        none.network.devices.iter_mut().for_each(|d| d.download_bps = 1e-3);
        let (no_dl, _) = solve(&none, &Hindsight::default());
        if obj > no_dl + 1e-9 {
            downloads_matter += 1;
        }
        let mut replay = Replay::new(&ep);
        for (t, d) in rep.decisions.iter().enumerate() {
            for (i, dec) in d.solution.decisions.iter().enumerate() {
                let Decision::Serve(a) = dec else { continue };
                let store = match a.location {
                    Location::Edge => &ep.initial.edges[ep.slots[t].tasks[i].edge],
                    Location::Local => &ep.initial.devices[ep.slots[t].tasks[i].device],
                    Location::Cloud => continue,
                };
                if store.downloading.iter().any(|x| x.model == a.model) {
                    partial_used += 1;
                }
                if !store.holds(a.model) && t >= 2 {
                    two_slot += 1;
                }
            }
            replay.step(d).expect("valid");
        }
        if ep.network.window > 0 {
            windowed += 1;
        }
        let size = |ks: Vec<usize>| ks.iter().map(|&k| ep.network.models[k].size_mb).sum::<f64>();
        if size(ep.initial.edges[0].held()) > ep.network.edges[0].cache_mb {
            over_capacity += 1;
        }
    }
    eprintln!(
        "{TINY_EPISODES} tiny episodes in {:.1}s: downloads matter in {downloads_matter}, initial partial downloads \
         used {partial_used} times, downloaded models used from slot 2 {two_slot} times, {windowed} windowed, \
         {over_capacity} edge caches over capacity at the start; free tracks in {with_free}, flow tracks in \
         {with_flow}, dominated models in {with_dominated}, columns below an always-served model in \
         {with_always}",
        t0.elapsed().as_secs_f64()
    );
    assert!(with_free >= 300 && with_flow >= 100 && with_dominated >= 20);
    assert!(with_always >= 50, "too few episodes with columns below an always-served model: {with_always}");
    assert!(
        downloads_matter >= TINY_EPISODES / 5,
        "too few episodes where downloads pay: {downloads_matter}"
    );
    assert!(partial_used >= 100 && two_slot >= 100 && windowed >= 150 && over_capacity >= 300);
}

/// A small generated episode (MODEL.md §9.3 dynamics).
fn small_episode(seed: u64, warm: bool, mobile: bool) -> Episode {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xe915);
    let p = ScenarioParams {
        n_devices: rng.gen_range(6..=10),
        n_edges: 2,
        edge_cache_mb: *[150.0, 250.0, 500.0].choose(&mut rng).unwrap_or(&250.0),
        share_mcu: *[0.0, 0.5].choose(&mut rng).unwrap_or(&0.0),
        deadline_scale: *[0.5, 1.0].choose(&mut rng).unwrap_or(&1.0),
        ..ScenarioParams::default()
    };
    let dp = DynamicsParams {
        n_slots: rng.gen_range(5..=8),
        init: if warm { "warm" } else { "empty" }.into(),
        edge_download_bps: *[1e8, 4e8].choose(&mut rng).unwrap_or(&4e8),
        regime_length: 3.0,
        mobile_share: if mobile { 0.5 } else { 0.0 },
        mobile_speed_mps: 40.0,
        ..DynamicsParams::default()
    };
    let sc = p.check().expect("valid scenario");
    let dy = dp.check().expect("valid dynamics");
    let ep = dnnrm::solvers::online::generate_episode(&sc, &dy, seed, &format!("small{seed}"));
    ep.validate().expect("valid episode");
    ep
}

#[test]
fn hindsight_is_never_below_an_online_policy() {
    let mut strictly_above = 0;
    for seed in 0..12 {
        let ep = small_episode(seed, seed % 2 == 1, false);
        let (obj, rep) = solve(&ep, &Hindsight::default());
        assert_eq!(rep.status, Status::Optimal, "seed {seed}: {}", rep.reason);
        for name in ["static-placement", "lfu", "myopic"] {
            let mut policy = dnnrm::solvers::online::create_policy(name).expect("registered");
            let run = run_online(policy.as_mut(), &ep, seed).expect("the policy runs");
            let a = run.evaluation.objective;
            assert!(obj >= a - 1e-9, "seed {seed}: hindsight {obj} < {name} {a}");
            if obj > a + 1e-6 {
                strictly_above += 1;
            }
        }
    }
    assert!(strictly_above >= 12, "hindsight should beat the policies somewhere: {strictly_above}");
}

#[test]
fn one_slot_with_everything_resident_equals_the_static_milp() {
    for seed in 0..30 {
        let mut ep = small_episode(seed, false, false);
        ep.slots.truncate(1);
        if ep.slots[0].tasks.is_empty() {
            continue;
        }
        let all: Vec<usize> = (0..ep.network.models.len()).collect();
        for s in ep.initial.edges.iter_mut().chain(ep.initial.devices.iter_mut()) {
            *s = Store { resident: all.clone(), downloading: Vec::new() };
        }
        ep.validate().expect("an initial state above capacity is valid");
        let (obj, rep) = solve(&ep, &Hindsight::default());
        assert_eq!(rep.status, Status::Optimal, "seed {seed}: {}", rep.reason);
        let inst = ep.network.slot_instance(&ep.slots[0], None, "static");
        let milp = Milp::default().solve(&inst, &opts()).expect("milp solves");
        assert_eq!(milp.status, Status::Optimal);
        let static_obj = dnnrm::model::evaluate(&inst, &milp.solution).expect("valid").objective;
        assert!((obj - static_obj).abs() <= 1e-9, "seed {seed}: hindsight {obj} != milp {static_obj}");
    }
}

#[test]
fn the_per_server_split_equals_the_monolithic_milp() {
    for seed in 0..8 {
        // Without mobility the split has one MILP per server; with it, fewer.
        let ep = small_episode(100 + seed, seed % 2 == 0, seed >= 4);
        let (split, rs) = solve(&ep, &Hindsight::default());
        let (mono, rm) = solve(&ep, &Hindsight::default().with_decompose(false));
        assert_eq!((rs.status, rm.status), (Status::Optimal, Status::Optimal), "seed {seed}");
        assert!((split - mono).abs() <= 1e-9, "seed {seed}: split {split} != monolithic {mono}");
        assert_eq!(rm.stats["sub_milps"], 1.0);
        if seed < 4 {
            assert_eq!(rs.stats["sub_milps"], 2.0, "seed {seed}: one MILP per server without mobility");
        }
    }
}

#[test]
fn the_same_episode_gives_the_same_plan() {
    let ep = small_episode(7, true, false);
    let a = Hindsight::default().solve_episode(&ep, &opts()).expect("solves");
    let b = Hindsight::default().solve_episode(&ep, &opts()).expect("solves");
    assert_eq!(
        serde_json::to_string(&a.decisions).expect("json"),
        serde_json::to_string(&b.decisions).expect("json")
    );
    assert_eq!((a.status, a.bound), (b.status, b.bound));
}

#[test]
fn plans_from_a_state_serve_model_predictive_control() {
    let ep = small_episode(3, false, false);
    let (full, _) = solve(&ep, &Hindsight::default());
    // A plan over every slot from the initial state is the hindsight optimum (window 0).
    let rep = hindsight::plan(&ep.network, &ep.initial, &ep.slots, &opts()).expect("plans");
    assert_eq!(rep.status, Status::Optimal);
    assert!((evaluate_episode(&ep, &rep.decisions).expect("valid").objective - full).abs() <= 1e-9);
    // MPC with a horizon of 2 slots: plan from the current state, apply the first slot.
    let mut replay = Replay::new(&ep);
    let mut applied = Vec::new();
    for t in 0..ep.slots.len() {
        let horizon = &ep.slots[t..(t + 2).min(ep.slots.len())];
        let rep = hindsight::plan(&ep.network, replay.state(), horizon, &opts()).expect("plans");
        assert_eq!(rep.decisions.len(), horizon.len());
        let d = rep.decisions[0].clone();
        replay.step(&d).unwrap_or_else(|v| panic!("slot {t}: the first planned slot breaks a rule: {v}"));
        applied.push(d);
    }
    let mpc = replay.finish().expect("complete").objective;
    assert!(mpc <= full + 1e-9, "MPC {mpc} above the hindsight optimum {full}");
    assert!(mpc > 0.0);
    // Invalid input is refused with the field, not solved.
    let mut bad = ep.initial.clone();
    bad.edges.pop();
    let e = hindsight::plan(&ep.network, &bad, &ep.slots, &opts()).expect_err("invalid state");
    assert!(e.to_string().contains("initial.edges"), "{e}");
}

#[test]
fn a_time_limit_gives_a_valid_plan_and_a_valid_bound() {
    let ep = small_episode(11, false, false);
    let (opt, _) = solve(&ep, &Hindsight::default());
    for ms in [1, 30] {
        let o = SolveOptions { time_limit: Some(std::time::Duration::from_millis(ms)), ..opts() };
        let rep = Hindsight::default().solve_episode(&ep, &o).expect("solves");
        let obj = evaluate_episode(&ep, &rep.decisions).expect("a valid plan").objective;
        assert!(matches!(rep.status, Status::TimeLimit | Status::Optimal), "{}: {}", rep.status, rep.reason);
        assert!(obj <= opt + 1e-9);
        assert!(rep.bound.expect("bound") >= opt - 1e-9, "the bound must stay valid");
    }
    assert!(Hindsight::new(-1.0).is_err() && Hindsight::new(f64::NAN).is_err());
}

/// Measurement, not a check: solve the episode files listed in `HINDSIGHT_EPISODES`
/// (space-separated paths) on one thread and print time, status and gap per episode.
/// `HINDSIGHT_VARIANT` picks an encoding variant: `default`, `cont-rho`, `no-cuts`,
/// `no-presolve`, `below-always`.
#[test]
#[ignore]
fn measure_episode_files() {
    let files = std::env::var("HINDSIGHT_EPISODES").unwrap_or_default();
    let variant = std::env::var("HINDSIGHT_VARIANT").unwrap_or_else(|_| "default".into());
    let limit = std::env::var("HINDSIGHT_TIME_LIMIT").ok().and_then(|s| s.parse::<f64>().ok());
    let mut solver = Hindsight::default();
    match variant.as_str() {
        "cont-rho" => solver.encoding.binary_rho = false,
        "no-cuts" => solver.encoding.lead_cuts = false,
        "no-presolve" => solver.presolve = false,
        "no-device-cuts" => solver.encoding.device_cuts = false,
        "no-window" => solver.encoding.window_cuts = false,
        "no-lead" => solver.encoding.lead_cuts = false,
        "below-always" => solver.encoding.below_always = true,
        _ => {}
    }
    let o =
        SolveOptions { time_limit: limit.map(std::time::Duration::from_secs_f64), ..SolveOptions::default() };
    for f in files.split_whitespace() {
        let ep = dnnrm::io::read_episode(std::path::Path::new(f)).expect("episode");
        let t0 = Instant::now();
        let rep = Hindsight::solve_episode(&solver, &ep, &o).expect("solves");
        let s = t0.elapsed().as_secs_f64();
        let obj = evaluate_episode(&ep, &rep.decisions).expect("valid plan").objective;
        println!(
            "{f} variant={variant} time_s={s:.2} status={} objective={obj:.6} bound={:.6} nodes={} iterations={} vars={} rows={} build_s={:.2} | {}",
            rep.status,
            rep.bound.unwrap_or(f64::NAN),
            rep.stats.get("nodes").copied().unwrap_or(0.0),
            rep.stats.get("iterations").copied().unwrap_or(0.0),
            rep.stats.get("variables").copied().unwrap_or(0.0),
            rep.stats.get("constraints").copied().unwrap_or(0.0),
            rep.stats.get("build_s").copied().unwrap_or(0.0),
            rep.reason
        );
    }
}

/// Solves a model file with HiGHS's C API (read, run, objective), nothing shared with
/// the solver but HiGHS itself.
fn solve_model_file(path: &std::path::Path) -> (usize, f64) {
    use std::ffi::CString;
    let c_path = CString::new(path.to_string_lossy().as_bytes()).expect("path");
    // SAFETY: a fresh HiGHS instance used and destroyed here; the strings outlive the calls.
    unsafe {
        let h = highs_sys::Highs_create();
        let flag = CString::new("output_flag").expect("name");
        highs_sys::Highs_setBoolOptionValue(h, flag.as_ptr(), 0);
        let threads = CString::new("threads").expect("name");
        highs_sys::Highs_setIntOptionValue(h, threads.as_ptr(), 1);
        assert!(highs_sys::Highs_readModel(h, c_path.as_ptr()) >= 0, "HiGHS reads {}", path.display());
        assert!(highs_sys::Highs_run(h) >= 0, "HiGHS solves {}", path.display());
        let cols = highs_sys::Highs_getNumCol(h) as usize;
        let obj = highs_sys::Highs_getObjectiveValue(h);
        highs_sys::Highs_destroy(h);
        (cols, obj)
    }
}

/// The exported MILP is the one `hindsight` solves: solved from the files alone, the
/// blocks' optima sum to its proven `A_ep` times the scored tasks; the column maps
/// describe the files (every column once, and per task its best serving column sums to
/// the block's solver-free bound); a folder that cannot be created is an error naming it.
#[test]
fn the_exported_milp_solves_to_the_hindsight_optimum() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut checked, mut flow) = (0, 0);
    for seed in 0..6 {
        let ep = small_episode(seed, seed % 2 == 0, false);
        let (obj, rep) = solve(&ep, &Hindsight::default());
        assert_eq!(rep.status, Status::Optimal, "seed {seed}: {}", rep.reason);
        let out = dir.path().join(format!("ep{seed}"));
        let index = Hindsight::default().export(&ep, &out).expect("exports");
        assert!(out.join("milp.json").is_file());
        let mut total = 0.0;
        for b in &index.blocks {
            let (cols, opt) = solve_model_file(&out.join(&b.model));
            assert_eq!(cols, b.columns, "seed {seed} block {}", b.block);
            total += opt;
            let map: serde_json::Value =
                serde_json::from_slice(&std::fs::read(out.join(&b.columns_file)).expect("map"))
                    .expect("json");
            assert_eq!(map["columns"].as_u64(), Some(b.columns as u64));
            let mut best: HashMap<(u64, u64), f64> = HashMap::new();
            for (i, s) in map["serving"].as_array().expect("serving").iter().enumerate() {
                assert_eq!(s["column"].as_u64(), Some(i as u64));
                let key = (s["slot"].as_u64().expect("slot"), s["task"].as_u64().expect("task"));
                let acc = s["accuracy"].as_f64().expect("accuracy");
                let e = best.entry(key).or_insert(0.0);
                *e = e.max(acc);
            }
            // Every column is a serving column or one of a track's variables, once.
            let mut seen = vec![false; b.columns];
            let mut mark = |from: u64, count: u64| {
                for c in from..from + count {
                    assert!(!std::mem::replace(&mut seen[c as usize], true), "column {c} mapped twice");
                }
            };
            mark(0, map["serving"].as_array().expect("serving").len() as u64);
            for t in map["tracks"].as_array().expect("tracks") {
                let uses = t["uses"].as_array().expect("uses");
                let last = uses.last().and_then(|u| u.as_u64()).expect("a use");
                flow += usize::from(t["h"].is_u64());
                for (key, count) in [("h", last + 1), ("rho", uses.len() as u64), ("x", last), ("b", last)] {
                    if let Some(first) = t[key].as_u64() {
                        mark(first, count);
                    }
                }
            }
            assert!(seen.iter().all(|&s| s), "seed {seed} block {}: unmapped columns", b.block);
            let trivial: f64 = best.values().sum();
            assert!(
                (trivial - b.trivial_bound).abs() < 1e-9,
                "seed {seed}: {trivial} vs {}",
                b.trivial_bound
            );
            checked += 1;
        }
        let a = total / index.scored_tasks.max(1) as f64;
        assert!((a - obj).abs() < 1e-7, "seed {seed}: the files give {a}, hindsight {obj}");
    }
    assert!(checked >= 6 && flow >= 6, "blocks checked: {checked}, flow tracks: {flow}");
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").expect("write");
    let err = Hindsight::default().export(&small_episode(0, true, false), &file).expect_err("not a folder");
    assert!(err.to_string().contains("a-file"), "{err}");
}

/// The progress bar counts the sub-MILPs: its length and final position are the number
/// of sub-MILPs the report states.
#[test]
fn the_progress_bar_counts_the_sub_milps() {
    for seed in 0..3 {
        let ep = small_episode(300 + seed, true, seed == 2);
        let pb = indicatif::ProgressBar::hidden();
        let rep = Hindsight::default().with_progress(pb.clone()).solve_episode(&ep, &opts()).expect("solves");
        let subs = rep.stats["sub_milps"] as u64;
        assert!(subs >= 1, "seed {seed}");
        assert_eq!((pb.length(), pb.position()), (Some(subs), subs), "seed {seed}");
    }
}

/// Counterfactual replay (`solvers::online::counterfactual`): borrowing every site of the
/// optimal plan gives the optimum (the per-slot optimum on the optimal holdings is the
/// optimal assignment), borrowing no site gives the policy itself, and borrowing each
/// device one by one is borrowing every device.
#[test]
fn borrowing_the_hindsight_plan_site_by_site() {
    use dnnrm::solvers::online::counterfactual::{Borrowing, Sites};
    use dnnrm::solvers::online::create_policy;
    let mut differ = 0;
    for seed in 0..8 {
        let ep = small_episode(seed, seed % 2 == 1, false);
        let (obj, rep) = solve(&ep, &Hindsight::default());
        assert_eq!(rep.status, Status::Optimal, "seed {seed}: {}", rep.reason);
        for name in ["static-placement", "myopic"] {
            let borrow = |sites: Sites| {
                let mut p =
                    Borrowing::new(create_policy(name).expect("registered"), rep.decisions.clone(), sites);
                run_online(&mut p, &ep, seed).expect("the replay runs").evaluation.objective
            };
            let parse = |s: &str| Sites::parse(s).expect("valid sites");
            let own = run_online(create_policy(name).expect("registered").as_mut(), &ep, seed)
                .expect("the policy runs")
                .evaluation
                .objective;
            assert_eq!(borrow(Sites::default()), own, "seed {seed} {name}: borrowing nothing");
            let all = borrow(parse("edges,devices"));
            assert!((all - obj).abs() <= 1e-9, "seed {seed} {name}: every site {all} != hindsight {obj}");
            let one_by_one = (0..ep.network.devices.len()).map(|n| format!("device:{n}")).collect::<Vec<_>>();
            assert_eq!(borrow(parse(&one_by_one.join(","))), borrow(parse("devices")), "seed {seed} {name}");
            if (borrow(parse("edges")) - own).abs() > 1e-9 {
                differ += 1;
            }
        }
    }
    assert!(differ >= 4, "the edges' holdings should matter somewhere: {differ}");
}

#[test]
fn a_counterfactual_replay_rejects_what_does_not_fit_the_episode() {
    use dnnrm::solvers::online::counterfactual::{Borrowing, Sites};
    use dnnrm::solvers::online::create_policy;
    for bad in ["", "edge", "device:x", "devices,cloud"] {
        assert!(Sites::parse(bad).is_err(), "`{bad}` parsed");
    }
    let ep = small_episode(3, true, false);
    let (_, rep) = solve(&ep, &Hindsight::default());
    let run = |plan: Vec<dnnrm::model::SlotDecision>, sites: &str| {
        let mut p = Borrowing::new(
            create_policy("static-placement").expect("registered"),
            plan,
            Sites::parse(sites).expect("valid sites"),
        );
        run_online(&mut p, &ep, 0)
            .map(|r| r.evaluation.objective)
            .map_err(|e| format!("{:#}", anyhow::Error::from(e)))
    };
    let short = rep.decisions[..rep.decisions.len() - 1].to_vec();
    let err = run(short, "edges").expect_err("a plan one slot short");
    assert!(err.contains("slots"), "{err}");
    let n = ep.network.devices.len();
    let err = run(rep.decisions.clone(), &format!("device:{n}")).expect_err("a device out of range");
    assert!(err.contains(&format!("device:{n}")), "{err}");
    let mut other = rep.decisions.clone();
    other[0].hold.devices.pop();
    let err = run(other, "edges").expect_err("a plan of another network");
    assert!(err.contains("devices"), "{err}");
}
