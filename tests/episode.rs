//! Episodes (MODEL.md §9): the evaluator's rules on hand-computed episodes, the trace
//! generator's dynamics and determinism, the online runner (no policy can read a later
//! slot) and the rule-based policies' validity.

use dnnrm::model::{
    evaluate_episode, Assignment, Cloud, Decision, Demand, DnnModel, DownloadPlan, EdgeServer, Episode,
    EpisodeDevice, EpisodeViolation, Holdings, Network, Physics, PlacementState, Regime, Replay, Slot,
    SlotDecision, SlotTask, Solution, Store, EPISODE_FORMAT_VERSION, FORMAT_VERSION,
};
use dnnrm::scenario::{DynamicsParams, ScenarioParams};
use dnnrm::solver::online::{run_online, OnlinePolicy};
use dnnrm::solver::SolverError;
use dnnrm::solvers::online::{create_policy, generate_episode, policies};

/// One edge server (cache 100 MB, 50 MB downloaded per slot), one device that stores
/// nothing useful (5 MB), two classification models: 0 (acc 0.7, 10 MB) and 1 (acc 0.8,
/// 60 MB). The device has a task in every one of `t` slots; only the edge can serve it
/// (the backhaul takes 10 s), with either model on 1 RB and 1 unit.
fn hand_episode(t: usize) -> Episode {
    let w = 1e6;
    let noise = Physics::default().noise_w_per_hz();
    let p0 = 0.1;
    let net = Network {
        slot_s: 1.0,
        window: 0,
        physics: Physics::default(),
        cloud: Cloud { flops: 1e13 },
        edges: vec![EdgeServer {
            rbs: 4,
            rb_width_hz: w,
            flops: 1e12,
            units: 10,
            cache_mb: 100.0,
            backhaul_bps: 1e8,
            backhaul_delay_s: 10.0,
        }],
        edge_download_bps: vec![4e8],
        services: vec!["classification".into()],
        models: vec![
            DnnModel { name: "a".into(), service: 0, accuracy: 0.7, flops: 1e10, size_mb: 10.0 },
            DnnModel { name: "b".into(), service: 0, accuracy: 0.8, flops: 1e11, size_mb: 60.0 },
        ],
        devices: vec![EpisodeDevice {
            class: "mcu".into(),
            position: (0.0, 0.0),
            edge: 0,
            mean_gain: 15.0 * w * noise / p0,
            tx_power_w: p0,
            flops: 1e9,
            storage_mb: 5.0,
            download_bps: 8e7,
        }],
        demand: Demand {
            regimes: vec![Regime { mix: vec![1.0], p_active: 1.0, deadline_scale: 1.0 }],
            switch_prob: 0.0,
            input_bits: (4e5, 4e5),
            deadlines_s: vec![(2.0, 2.0)],
        },
    };
    // SNR 15 at one RB: 4 bit/s/Hz, 4e6 bit/s, upload 0.1 s; model 1 on one unit of
    // 1e11 FLOP/s takes 1 s: 1.1 s <= 2 s.
    let task = SlotTask {
        device: 0,
        edge: 0,
        gain: 15.0 * w * noise / p0,
        service: 0,
        input_bits: 4e5,
        deadline_s: 2.0,
    };
    let slots = (0..t).map(|_| Slot { regime: 0, tasks: vec![task.clone()] }).collect();
    let initial = PlacementState::empty(&net);
    Episode { format_version: EPISODE_FORMAT_VERSION, id: "hand".into(), network: net, initial, slots }
}

fn hold(edge: &[usize]) -> Holdings {
    Holdings { edges: vec![edge.to_vec()], devices: vec![Vec::new()] }
}

fn serve(model: Option<usize>) -> Solution {
    match model {
        None => Solution {
            format_version: FORMAT_VERSION,
            edge_cache: vec![Vec::new()],
            device_models: vec![Vec::new()],
            decisions: vec![Decision::Reject],
        },
        Some(k) => Solution {
            format_version: FORMAT_VERSION,
            edge_cache: vec![vec![k]],
            device_models: vec![Vec::new()],
            decisions: vec![Decision::Serve(Assignment::edge(k, 1, 1))],
        },
    }
}

fn slot(h: &[usize], k: Option<usize>) -> SlotDecision {
    SlotDecision { hold: hold(h), solution: serve(k), downloads: None }
}

#[test]
fn the_hand_episode_is_valid_and_its_objectives_are_computed_by_hand() {
    let ep = hand_episode(4);
    ep.validate().expect("valid");
    // Model 1 alone: 50 MB in slot 0, the last 10 MB in slot 1, resident from slot 2.
    let d = vec![slot(&[1], None), slot(&[1], None), slot(&[1], Some(1)), slot(&[1], Some(1))];
    let ev = evaluate_episode(&ep, &d).expect("valid plan");
    assert!((ev.objective - 0.4).abs() < 1e-12, "A_ep = (0 + 0 + 0.8 + 0.8) / 4, got {}", ev.objective);
    assert_eq!(ev.per_slot, vec![0.0, 0.0, 0.8, 0.8]);
    assert!((ev.edge_downloaded_mb[0] - 60.0).abs() < 1e-12);
    assert_eq!(ev.evictions, 0);
    assert_eq!(ev.scored_tasks, 4);
    // Both: default order is by model index for downloads started together: model 0
    // (10 MB) completes in slot 0, model 1 gets 40 + 20 MB and completes in slot 1.
    let d = vec![slot(&[0, 1], None), slot(&[0, 1], Some(0)), slot(&[0, 1], Some(1)), slot(&[0, 1], Some(1))];
    let ev = evaluate_episode(&ep, &d).expect("valid plan");
    assert!((ev.objective - (0.7 + 1.6) / 4.0).abs() < 1e-12, "got {}", ev.objective);
    // The scoring window: slots 0 and 1 play but do not count.
    let mut w = ep.clone();
    w.network.window = 2;
    let ev = evaluate_episode(&w, &d).expect("valid plan");
    assert!((ev.objective - 0.8).abs() < 1e-12);
    assert_eq!(ev.scored_tasks, 2);
    assert_eq!(ev.per_slot.len(), 4);
}

fn violation(ep: &Episode, d: &[SlotDecision]) -> EpisodeViolation {
    evaluate_episode(ep, d).expect_err("the plan breaks a rule")
}

#[test]
fn every_rule_of_a_slot_is_enforced_and_named() {
    let ep = hand_episode(4);
    // A model serves only once resident: model 1 completes in slot 1, serves from slot 2.
    let v = violation(&ep, &[slot(&[1], None), slot(&[1], Some(1)), slot(&[1], None), slot(&[1], None)]);
    assert!(matches!(v, EpisodeViolation::SlotAssignment { slot: 1, .. }), "{v}");
    assert_eq!(v.rule(), "placement");
    assert!(v.to_string().contains("slot 1") && v.to_string().contains("not resident"), "{v}");
    // The same without listing the model in the cache: the task is named.
    let mut uncached = slot(&[1], Some(1));
    uncached.solution.edge_cache[0].clear();
    let v = violation(&ep, &[slot(&[1], None), uncached, slot(&[1], None), slot(&[1], None)]);
    assert!(matches!(v, EpisodeViolation::Assignment { slot: 1, task: 0, device: 0, .. }), "{v}");
    // Storage of the holdings: 70 MB in a 60 MB cache.
    let mut small = ep.clone();
    small.network.edges[0].cache_mb = 60.0;
    let v = violation(&small, &[slot(&[0, 1], None), slot(&[], None), slot(&[], None), slot(&[], None)]);
    assert!(matches!(v, EpisodeViolation::Storage { slot: 0, .. }), "{v}");
    assert!(v.to_string().contains("edge server 0"), "{v}");
    // A model evicted in step 2 does not serve in that slot, even if it was resident.
    let v = violation(&ep, &[slot(&[0], None), slot(&[0], Some(0)), slot(&[], Some(0)), slot(&[], None)]);
    assert!(matches!(v, EpisodeViolation::SlotAssignment { slot: 2, .. }), "{v}");
    // Eviction frees the storage and loses the progress: model 1 evicted in slot 1
    // (50 MB received) and held again in slot 2 completes at the end of slot 3.
    let d = [slot(&[1], None), slot(&[], None), slot(&[1], None), slot(&[1], None)];
    let mut replay = Replay::new(&ep);
    for (t, x) in d.iter().enumerate() {
        replay.step(x).expect("valid");
        let s = &replay.state().edges[0];
        match t {
            0 => assert_eq!(s.downloading[0].received_mb, 50.0),
            1 => assert!(s.downloading.is_empty() && s.resident.is_empty()),
            2 => assert_eq!(s.downloading[0].received_mb, 50.0),
            _ => assert_eq!(s.resident, vec![1]),
        }
    }
    let ev = replay.finish().expect("complete");
    assert_eq!(ev.evictions, 1);
    assert!((ev.edge_downloaded_mb[0] - 110.0).abs() < 1e-12);
    // An explicit split: within the volume and the remaining size, only of downloading models.
    let plan = |split: Vec<(usize, f64)>| SlotDecision {
        hold: hold(&[0, 1]),
        solution: serve(None),
        downloads: Some(DownloadPlan { edges: vec![split], devices: Vec::new() }),
    };
    let rest = || vec![slot(&[0, 1], None), slot(&[0, 1], None), slot(&[0, 1], None)];
    let mut ok = vec![plan(vec![(1, 50.0)])];
    ok.extend(rest());
    let mut replay = Replay::new(&ep);
    replay.step(&ok[0]).expect("valid split");
    // Model 1 got all 50 MB, model 0 nothing: the plan overrides the default order.
    let s = &replay.state().edges[0];
    assert_eq!(
        s.downloading.iter().map(|x| (x.model, x.received_mb)).collect::<Vec<_>>(),
        vec![(0, 0.0), (1, 50.0)]
    );
    for bad in [vec![(1, 45.0), (0, 10.0)], vec![(1, -1.0)], vec![(0, 11.0)], vec![(1, 10.0), (1, 10.0)]] {
        let mut d = vec![plan(bad.clone())];
        d.extend(rest());
        let v = violation(&ep, &d);
        assert!(matches!(v, EpisodeViolation::Downloads { slot: 0, .. }), "{bad:?}: {v}");
    }
    // Shapes: slot count and hold lists.
    let v = violation(&ep, &[slot(&[1], None)]);
    assert!(matches!(v, EpisodeViolation::SlotCount { found: 1, expected: 4 }), "{v}");
    let mut d = vec![slot(&[1], None); 4];
    d[3].hold.devices.clear();
    assert!(matches!(violation(&ep, &d), EpisodeViolation::HoldShape { slot: 3, .. }));
    d[3] = slot(&[1, 1], None);
    assert!(matches!(violation(&ep, &d), EpisodeViolation::HoldModels { slot: 3, .. }));
}

#[test]
fn an_initial_state_above_capacity_must_be_evicted_before_anything_serves() {
    let mut ep = hand_episode(1);
    ep.network.edges[0].cache_mb = 60.0;
    ep.initial.edges[0] = Store { resident: vec![0, 1], downloading: Vec::new() };
    ep.validate().expect("an over-full initial state is allowed");
    assert!(matches!(violation(&ep, &[slot(&[0, 1], Some(1))]), EpisodeViolation::Storage { slot: 0, .. }));
    let ev = evaluate_episode(&ep, &[slot(&[1], Some(1))]).expect("evicting model 0 fits");
    assert!((ev.objective - 0.8).abs() < 1e-12);
}

#[test]
fn episode_validation_names_the_field() {
    let ep = hand_episode(3);
    type Breaker = Box<dyn Fn(&mut Episode)>;
    let cases: Vec<(Breaker, &str)> = vec![
        (Box::new(|e| e.slots[1].tasks[0].deadline_s = -1.0), "slots[1].tasks[0].deadline_s"),
        (Box::new(|e| e.slots[2].tasks[0].device = 7), "slots[2].tasks[0].device"),
        (
            Box::new(|e| {
                let t = e.slots[2].tasks[0].clone();
                e.slots[2].tasks.push(t)
            }),
            "slots[2].tasks[1].device",
        ),
        (Box::new(|e| e.slots[0].tasks[0].edge = 3), "slots[0].tasks[0].edge"),
        (Box::new(|e| e.slots[0].regime = 1), "slots[0].regime"),
        (Box::new(|e| e.network.window = 3), "network.window"),
        (Box::new(|e| e.network.edge_download_bps[0] = 0.0), "network.edge_download_bps[0]"),
        (Box::new(|e| e.network.devices[0].download_bps = f64::NAN), "network.devices[0].download_bps"),
        (Box::new(|e| e.network.edges[0].rbs = 0), "network.edges[0].rbs"),
        (Box::new(|e| e.initial.edges[0].resident = vec![2]), "initial.edges[0]"),
        (
            Box::new(|e| {
                e.initial.edges[0].downloading = vec![dnnrm::model::Download { model: 0, received_mb: 10.0 }]
            }),
            "initial.edges[0].downloading[0].received_mb",
        ),
        (Box::new(|e| e.slots.clear()), "slots"),
        (Box::new(|e| e.format_version = 9), "format_version"),
    ];
    for (i, (break_it, field)) in cases.iter().enumerate() {
        let mut e = ep.clone();
        break_it(&mut e);
        let err = e.validate().expect_err("invalid");
        assert!(err.field.starts_with(field), "case {i}: expected field {field}, got {err}");
    }
}

#[test]
fn reading_a_broken_episode_file_names_the_file_and_the_place() {
    let dir = std::env::temp_dir().join(format!("dnnrm-ep-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("broken.json");
    let mut text = serde_json::to_string_pretty(&hand_episode(2)).expect("serialises");
    text = text.replacen("\"deadline_s\": 2.0", "\"deadline_s\": -2.0", 1);
    std::fs::write(&path, &text).expect("write");
    let err = dnnrm::io::read_episode(&path).expect_err("invalid").to_string();
    assert!(err.contains("broken.json") && err.contains("deadline_s"), "{err}");
    std::fs::write(&path, "{\"format_version\": 1, \"slots\": [").expect("write");
    let err = dnnrm::io::read_episode(&path).expect_err("malformed").to_string();
    assert!(err.contains("broken.json") && err.contains("line 1"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

fn small_episode(seed: u64, n: usize, t: usize, extra: &[(&str, &str)]) -> Episode {
    let mut p = ScenarioParams { n_devices: n, n_edges: 2, ..ScenarioParams::default() };
    let mut d = DynamicsParams { n_slots: t, ..DynamicsParams::default() };
    for (k, v) in extra {
        if p.set(k, v).is_err() {
            d.set(k, v).expect("a scenario or dynamics parameter");
        }
    }
    let ep = generate_episode(
        &p.check().expect("params"),
        &d.check().expect("dynamics"),
        seed,
        &format!("s{seed}"),
    );
    ep.validate().expect("generated episodes are valid");
    ep
}

#[test]
fn an_episode_file_reads_back_bit_for_bit() {
    // JSON numbers must parse to the very doubles that were written (serde_json's
    // `float_roundtrip`): without it about one gain in a few hundred came back a bit off,
    // so `simulate` on a written episode was not quite the episode the bench ran.
    let dir = std::env::temp_dir().join(format!("dnnrm-ep-rt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    for seed in 0..8 {
        let ep =
            small_episode(seed, 20, 10, &[("init", "warm"), ("share_mcu", "0.5"), ("mobile_share", "0.2")]);
        let path = dir.join(format!("e{seed}.json"));
        dnnrm::io::write_json_atomic(&path, &ep).expect("written");
        let back = dnnrm::io::read_episode(&path).expect("reads back");
        let (a, b) = (serde_json::to_string(&ep).expect("json"), serde_json::to_string(&back).expect("json"));
        if let Some(i) = a.bytes().zip(b.bytes()).position(|(x, y)| x != y) {
            let near = |s: &str| s[i.saturating_sub(60)..(i + 20).min(s.len())].to_string();
            panic!("seed {seed}: written ...{}..., read back ...{}...", near(&a), near(&b));
        }
        assert_eq!(a.len(), b.len(), "seed {seed}");
        assert_eq!(dnnrm::bench::online::episode_hash(&back), dnnrm::bench::online::episode_hash(&ep));
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_generator_is_deterministic_and_seeds_differ() {
    for extra in [&[][..], &[("init", "warm"), ("share_mcu", "0.5"), ("mobile_share", "0.3")][..]] {
        let a = serde_json::to_string(&small_episode(5, 12, 20, extra)).expect("json");
        let b = serde_json::to_string(&small_episode(5, 12, 20, extra)).expect("json");
        let c = serde_json::to_string(&small_episode(6, 12, 20, extra)).expect("json");
        assert_eq!(a, b, "same seed, same episode, byte for byte");
        assert_ne!(a, c);
    }
}

#[test]
fn the_trace_follows_the_default_dynamics() {
    let (n, t) = (20, 6000);
    let ep = small_episode(11, n, t, &[]);
    let l = 15.0;
    // Regimes move to the next one in the cycle, about once every L slots.
    let mut switches = 0;
    for w in ep.slots.windows(2) {
        if w[1].regime != w[0].regime {
            assert_eq!(w[1].regime, (w[0].regime + 1) % 3, "regimes follow the cycle");
            switches += 1;
        }
    }
    let expected = (t - 1) as f64 / l;
    assert!(
        (switches as f64 - expected).abs() < 4.0 * expected.sqrt(),
        "{switches} switches, expected {expected}"
    );
    // Activity about p_act; services sticky within a regime run; mixes per regime.
    let tasks: usize = ep.slots.iter().map(|s| s.tasks.len()).sum();
    let rate = tasks as f64 / (n * t) as f64;
    assert!((rate - 0.8).abs() < 0.01, "activity {rate}");
    let mut last: Vec<Option<(usize, usize, usize)>> = vec![None; n]; // (run id, regime, service)
    let mut run = 0;
    let mut counts = [[0usize; 3]; 3];
    for (i, s) in ep.slots.iter().enumerate() {
        if i > 0 && s.regime != ep.slots[i - 1].regime {
            run += 1;
        }
        for task in &s.tasks {
            if let Some((r, _, q)) = last[task.device] {
                if r == run {
                    assert_eq!(q, task.service, "a device keeps its service within a regime");
                }
            }
            last[task.device] = Some((run, s.regime, task.service));
            counts[s.regime][task.service] += 1;
        }
    }
    let mixes = [[0.7, 0.2, 0.1], [0.3, 0.6, 0.1], [0.3, 0.2, 0.5]];
    for r in 0..3 {
        let total: usize = counts[r].iter().sum();
        for q in 0..3 {
            let share = counts[r][q] as f64 / total as f64;
            // Services are drawn once per device and regime run: a loose tolerance.
            assert!((share - mixes[r][q]).abs() < 0.08, "regime {r} service {q}: {share}");
        }
    }
}

#[test]
fn shadowing_is_an_ar1_process_with_the_given_coefficient() {
    let ep = small_episode(3, 10, 4000, &[("p_active", "1")]);
    // gain_db = -(path loss + X); path loss is fixed (no mobility), so successive
    // differences of gain_db are differences of X.
    let mut xs: Vec<Vec<f64>> = vec![Vec::new(); 10];
    for s in &ep.slots {
        for task in &s.tasks {
            xs[task.device].push(-10.0 * task.gain.log10());
        }
    }
    let (mut num, mut den, mut var) = (0.0, 0.0, 0.0);
    for x in &xs {
        let mean = x.iter().sum::<f64>() / x.len() as f64;
        for w in x.windows(2) {
            num += (w[0] - mean) * (w[1] - mean);
            den += (w[0] - mean).powi(2);
        }
        var += x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / x.len() as f64;
    }
    let rho = num / den;
    let sigma = (var / 10.0).sqrt();
    assert!((rho - 0.9).abs() < 0.02, "lag-1 correlation {rho}");
    assert!((sigma - 5.7).abs() < 0.6, "stationary sigma {sigma}");
}

#[test]
fn mobility_reassociates_devices_and_warm_starts_are_resident() {
    let ep = small_episode(2, 12, 300, &[("mobile_share", "1"), ("mobile_speed_mps", "5")]);
    let moved = ep.slots.iter().flat_map(|s| &s.tasks).any(|t| t.edge != ep.network.devices[t.device].edge);
    assert!(moved, "moving devices change server");
    let still = small_episode(2, 12, 50, &[]);
    assert!(still
        .slots
        .iter()
        .flat_map(|s| &s.tasks)
        .all(|t| t.edge == still.network.devices[t.device].edge));
    let warm = small_episode(4, 12, 5, &[("init", "warm")]);
    let cold = small_episode(4, 12, 5, &[]);
    assert_eq!(warm.slots, cold.slots, "the start does not change the trace");
    assert!(warm.initial.edges.iter().any(|s| !s.resident.is_empty()), "warm edges hold models");
    assert!(warm.initial.devices.iter().any(|s| !s.resident.is_empty()), "warm devices hold models");
    assert!(cold.initial.edges.iter().chain(&cold.initial.devices).all(|s| s.held().is_empty()));
    for (m, s) in warm.initial.edges.iter().enumerate() {
        let used: f64 = s.resident.iter().map(|&k| warm.network.models[k].size_mb).sum();
        assert!(used <= warm.network.edges[m].cache_mb + 1e-9);
    }
}

/// Records what it is shown and delegates to a registered policy.
struct Recorder {
    inner: Box<dyn OnlinePolicy>,
    seen: Vec<(usize, Slot)>,
}

impl OnlinePolicy for Recorder {
    fn name(&self) -> &str {
        "recorder"
    }
    fn reset(&mut self, net: &Network, initial: &PlacementState, seed: u64) -> Result<(), SolverError> {
        self.inner.reset(net, initial, seed)
    }
    fn decide(&mut self, t: usize, slot: &Slot, state: &PlacementState) -> Result<SlotDecision, SolverError> {
        self.seen.push((t, slot.clone()));
        self.inner.decide(t, slot, state)
    }
}

#[test]
fn the_runner_hands_slots_in_order_and_no_policy_can_read_the_future() {
    let ep = small_episode(21, 8, 8, &[("init", "warm"), ("share_mcu", "0.5")]);
    // The same episode with every slot after slot 3 replaced by another trace's slots.
    let other = small_episode(22, 8, 8, &[]);
    let mut changed = ep.clone();
    changed.slots[4..].clone_from_slice(&other.slots[4..]);
    for p in policies() {
        let mut rec = Recorder { inner: create_policy(p.name).expect("registered"), seen: Vec::new() };
        let run = run_online(&mut rec, &ep, 7).expect("valid run");
        let order: Vec<usize> = rec.seen.iter().map(|(t, _)| *t).collect();
        assert_eq!(order, (0..8).collect::<Vec<_>>(), "{}: slots in order", p.name);
        for (t, s) in &rec.seen {
            assert_eq!(s, &ep.slots[*t], "{}: slot {t} shown as it is", p.name);
        }
        let mut policy = create_policy(p.name).expect("registered");
        let run2 = run_online(policy.as_mut(), &changed, 7).expect("valid run");
        assert_eq!(
            run.decisions[..4],
            run2.decisions[..4],
            "{}: decisions up to slot 3 ignore later slots",
            p.name
        );
        assert_ne!(run.decisions[4..], run2.decisions[4..], "{}: later slots differ", p.name);
        // Same seed, same run.
        let mut policy = create_policy(p.name).expect("registered");
        let run3 = run_online(policy.as_mut(), &ep, 7).expect("valid run");
        assert_eq!(run.decisions, run3.decisions, "{}: deterministic", p.name);
    }
}

#[test]
fn every_policy_answers_validly_over_varied_episodes() {
    let settings: [&[(&str, &str)]; 5] = [
        &[],
        &[("init", "warm"), ("window", "2")],
        &[("share_mcu", "1"), ("edge_cache_mb", "150"), ("edge_download_bps", "1e8")],
        &[("mobile_share", "0.5"), ("regime_length", "3"), ("p_active", "0.3")],
        &[("share_mcu", "0.5"), ("share_gpu_node", "0.2"), ("regime_deadline_scales", "1;0.5;2")],
    ];
    for (i, extra) in settings.iter().enumerate() {
        for seed in 0..3 {
            let ep = small_episode(100 + seed, 10, 8, extra);
            for p in policies() {
                let mut policy = create_policy(p.name).expect("registered");
                let run = run_online(policy.as_mut(), &ep, seed)
                    .unwrap_or_else(|e| panic!("setting {i} seed {seed}: {}: {e:#}", p.name));
                let ev = evaluate_episode(&ep, &run.decisions).expect("the decisions replay");
                assert_eq!(ev, run.evaluation, "the runner's evaluation is the evaluator's");
                assert!((0.0..=1.0).contains(&ev.objective));
                assert_eq!(run.decision_s.len(), 8);
            }
        }
    }
}

#[test]
fn the_device_rule_weighs_accuracy_against_download_time() {
    use dnnrm::model::Download;
    use dnnrm::solvers::online::common::device_holds;
    // The device now stores 100 MB, runs both models in time (0.01 s and 0.1 s) and
    // receives 10 MB per slot: model 0 (0.7, 10 MB) arrives in 1 slot, model 1 (0.8,
    // 60 MB) in 6.
    let mut ep = hand_episode(1);
    ep.network.devices[0].storage_mb = 100.0;
    ep.network.devices[0].flops = 1e12;
    let slot = ep.slots[0].clone();
    let state = |resident: Vec<usize>, downloading: Vec<Download>| PlacementState {
        edges: vec![Store::default()],
        devices: vec![Store { resident, downloading }],
    };
    let target = |ep: &Episode, s: &PlacementState| device_holds(&ep.network, &slot, s)[0].clone();
    // Services never switch: the most accurate model, however long it takes.
    ep.network.demand.switch_prob = 0.0;
    assert_eq!(target(&ep, &state(vec![], vec![])), vec![1]);
    // p = 0.1: 0.7 * 0.9 = 0.63 beats 0.8 * 0.9^6 = 0.425.
    ep.network.demand.switch_prob = 0.1;
    assert_eq!(target(&ep, &state(vec![], vec![])), vec![0]);
    // Model 1 resident: 0.8 now; model 0 is not needed and model 1 stays.
    assert_eq!(target(&ep, &state(vec![1], vec![])), vec![1]);
    // Model 1 at 55 of 60 MB: one slot, 0.8 * 0.9 = 0.72 > 0.63; the download is kept.
    assert_eq!(target(&ep, &state(vec![], vec![Download { model: 1, received_mb: 55.0 }])), vec![1]);
    // Model 0 resident, model 1 half received (30 MB, 3 slots: 0.583 < 0.7): model 0
    // stays the target and the download outside it is dropped (lazy eviction keeps
    // resident models only).
    let held = target(&ep, &state(vec![0], vec![Download { model: 1, received_mb: 30.0 }]));
    assert_eq!(held, vec![0]);
}

#[test]
fn the_device_rule_targets_the_set_of_models_with_the_best_expected_accuracy() {
    use dnnrm::solvers::online::common::device_target;
    // Two models of the task's service, 10 MB each, on a device of 1e11 FLOP/s: f (0.6,
    // 1e9 FLOP: 0.01 s) and s (0.9, 1e10 FLOP: 0.1 s); deadlines uniform on (0.05, 0.15) s;
    // the device receives 10 MB per slot.
    let mut ep = hand_episode(1);
    let net = &mut ep.network;
    net.models = vec![
        DnnModel { name: "f".into(), service: 0, accuracy: 0.6, flops: 1e9, size_mb: 10.0 },
        DnnModel { name: "s".into(), service: 0, accuracy: 0.9, flops: 1e10, size_mb: 10.0 },
    ];
    net.devices[0].flops = 1e11;
    net.devices[0].storage_mb = 100.0;
    net.demand.deadlines_s = vec![(0.05, 0.15)];
    let slot = ep.slots[0].clone();
    let state = |resident: Vec<usize>| PlacementState {
        edges: vec![Store::default()],
        devices: vec![Store { resident, downloading: Vec::new() }],
    };
    let target = |ep: &Episode, resident: Vec<usize>| {
        device_target(&ep.network, &slot, &state(resident), &slot.tasks[0])
    };
    // p = 0, both resident: f alone 0.6 (always in time), s alone 0.9 * 0.5 = 0.45, both
    // 0.5 * 0.6 (deadline below 0.1 s) + 0.5 * 0.9 = 0.75: the pair, residents in order.
    assert_eq!(target(&ep, vec![1, 0]), vec![0, 1]);
    // p = 0.1, nothing resident: f arrives after 1 slot (0.6 * 0.9 = 0.54), s alone after 1
    // (0.45 * 0.9 = 0.405); the pair downloads f then s (2 slots): 0.5 * 0.54 + 0.5 * 0.9 *
    // 0.81 = 0.6345 > 0.54.
    ep.network.demand.switch_prob = 0.1;
    assert_eq!(target(&ep, vec![]), vec![0, 1]);
    // 15 MB of storage holds one of them: f.
    ep.network.devices[0].storage_mb = 15.0;
    assert_eq!(target(&ep, vec![]), vec![0]);
    // Loose deadlines (at least 0.15 s): s always in time, 0.9 * 0.9 alone; f adds nothing.
    ep.network.devices[0].storage_mb = 100.0;
    ep.network.demand.deadlines_s = vec![(0.15, 0.3)];
    assert_eq!(target(&ep, vec![]), vec![1]);
    // No model meets any deadline: no target.
    ep.network.demand.deadlines_s = vec![(0.001, 0.005)];
    assert!(target(&ep, vec![]).is_empty());
}

/// A model of 1e10 FLOP for the hand-built zoos below.
fn model_of(name: &str, service: usize, accuracy: f64, size_mb: f64) -> DnnModel {
    DnnModel { name: name.into(), service, accuracy, flops: 1e10, size_mb }
}

#[test]
fn devices_prefetch_the_next_regimes_models_into_free_storage_once_their_target_is_resident() {
    use dnnrm::solvers::online::common::device_holds;
    // Three services; the device runs every model in time (1e12 FLOP/s), receives 10 MB
    // per slot, p = 0.1. Regime 0 asks for service 0 only; the next, regime 1, for
    // services 1 and 2 at 0.5 each.
    let mut ep = hand_episode(1);
    let net = &mut ep.network;
    net.services = vec!["classification".into(), "detection".into(), "segmentation".into()];
    net.models.push(model_of("c", 1, 0.5, 20.0));
    net.models.push(model_of("d", 1, 0.6, 40.0));
    net.models.push(model_of("e", 2, 0.9, 30.0));
    net.devices[0].flops = 1e12;
    net.devices[0].storage_mb = 100.0;
    net.demand.regimes = vec![
        Regime { mix: vec![1.0, 0.0, 0.0], p_active: 1.0, deadline_scale: 1.0 },
        Regime { mix: vec![0.0, 0.5, 0.5], p_active: 1.0, deadline_scale: 1.0 },
    ];
    net.demand.switch_prob = 0.1;
    net.demand.deadlines_s = vec![(2.0, 2.0); 3];
    let slot = ep.slots[0].clone();
    let state = |resident: Vec<usize>| PlacementState {
        edges: vec![Store::default()],
        devices: vec![Store { resident, downloading: Vec::new() }],
    };
    let held =
        |ep: &Episode, resident: Vec<usize>| device_holds(&ep.network, &slot, &state(resident))[0].clone();
    // Target: a (0.7, resident) beats b (0.8 * 0.9^6 = 0.425). Prefetch values: service
    // 1: c 0.5 * 0.5 * 0.9^2 = 0.2025 > d 0.5 * 0.6 * 0.9^4 = 0.1968; service 2: e
    // 0.5 * 0.9 * 0.9^3 = 0.3281. By value: e, then c; 90 MB free holds both.
    assert_eq!(held(&ep, vec![0]), vec![0, 4, 2]);
    // The target still downloading: no prefetch (it would share the device's volume).
    assert_eq!(held(&ep, vec![]), vec![0]);
    // 55 MB: 45 free; e (30) fits, then c (20) no longer does.
    ep.network.devices[0].storage_mb = 55.0;
    assert_eq!(held(&ep, vec![0]), vec![0, 4]);
    // c resident covers service 1; 25 MB free is too little for e: nothing is evicted
    // for a prefetch.
    assert_eq!(held(&ep, vec![0, 2]), vec![0, 2]);
}

/// The hand episode with a second service and four models: a (svc 0, 0.7, 10 MB), b
/// (svc 0, 0.8, 60 MB), c (svc 1, 0.5, 20 MB), d (svc 0, 0.65, 5 MB); one regime, mix 0.6
/// and 0.4; the edge caches 100 MB and receives 50 MB per slot.
fn two_service_episode() -> Episode {
    let mut ep = hand_episode(1);
    let net = &mut ep.network;
    net.services = vec!["classification".into(), "detection".into()];
    net.models.push(model_of("c", 1, 0.5, 20.0));
    net.models.push(model_of("d", 0, 0.65, 5.0));
    net.demand.regimes = vec![Regime { mix: vec![0.6, 0.4], p_active: 1.0, deadline_scale: 1.0 }];
    net.demand.deadlines_s = vec![(2.0, 2.0); 2];
    ep
}

#[test]
fn free_edge_cache_is_filled_by_the_largest_gain_per_missing_megabyte() {
    use dnnrm::model::Download;
    use dnnrm::solvers::online::common::{edge_downloads, fill_edges};
    // Models a-d, mix and cache: [`two_service_episode`].
    let mut ep = two_service_episode();
    let state = |edge: Store| PlacementState { edges: vec![edge], devices: vec![Store::default()] };
    let filled = |ep: &Episode, edge: Store, hold: Vec<usize>| {
        let mut holds = vec![hold];
        fill_edges(&ep.network, &ep.slots[0], &state(edge), &mut holds);
        holds.remove(0)
    };
    // Cold cache, the policy holds b (not resident: it serves nobody yet), 40 MB free.
    // d 0.6 * 0.65 / 5 = 0.078 beats a 0.042 and c 0.01: d (35 MB left); then a gains
    // 0.6 * (0.7 - 0.65) / 10 = 0.003 over d, c still 0.01: c (15 left); then a (5 left).
    assert_eq!(filled(&ep, Store::default(), vec![1]), vec![1, 3, 2, 0]);
    // a resident and held, b half received and held: 30 MB free; d gains nothing over a,
    // c 0.01 fits: c; then nothing gains.
    let edge = Store { resident: vec![0], downloading: vec![Download { model: 1, received_mb: 30.0 }] };
    assert_eq!(filled(&ep, edge.clone(), vec![0, 1]), vec![0, 1, 2]);
    // A resident model the policy does not hold does not count: without a, d gains 0.078.
    assert_eq!(filled(&ep, edge.clone(), vec![1]), vec![1, 3, 2, 0]);
    // No room, no fill: a 70 MB cache is full with a and b.
    ep.network.edges[0].cache_mb = 70.0;
    assert_eq!(filled(&ep, edge.clone(), vec![0, 1]), vec![0, 1]);
    // Services outside the regime's mix gain nothing: with the mix all on service 0, c
    // is never added (100 MB cache, a and b held).
    ep.network.edges[0].cache_mb = 100.0;
    ep.network.demand.regimes[0].mix = vec![1.0, 0.0];
    assert_eq!(filled(&ep, edge.clone(), vec![0, 1]), vec![0, 1]);
    // The filled holdings and their Smith's-rule split are valid for the evaluator.
    ep.network.demand.regimes[0].mix = vec![0.6, 0.4];
    ep.initial = state(Store::default());
    let hold = filled(&ep, Store::default(), vec![1]);
    let plan = edge_downloads(&ep.network, &ep.slots[0], &ep.initial, std::slice::from_ref(&hold));
    // 50 MB per slot by Smith's rule over what is resident (nothing): d 0.078, a 0.042,
    // c 0.01, b 0.6 * 0.8 / 60 = 0.008; b gets the 15 MB left.
    assert_eq!(plan.edges, vec![vec![(3, 5.0), (0, 10.0), (2, 20.0), (1, 15.0)]]);
    let d = SlotDecision {
        hold: Holdings { edges: vec![hold], devices: vec![vec![]] },
        solution: serve(None),
        downloads: Some(plan),
    };
    evaluate_episode(&ep, &[d]).expect("the filled holdings fit the cache");
}

#[test]
fn edge_downloads_go_by_the_largest_gain_per_missing_megabyte() {
    use dnnrm::model::Download;
    use dnnrm::solvers::online::common::edge_downloads;
    // Models a-d, mix and the edge's 50 MB per slot: [`two_service_episode`].
    let ep = two_service_episode();
    let net = &ep.network;
    let slot = &ep.slots[0];
    let state = |edge: Store| PlacementState { edges: vec![edge], devices: vec![Store::default()] };
    // Cold cache: a 0.6 * 0.7 / 10 = 0.042, c 0.4 * 0.5 / 20 = 0.01, b 0.6 * 0.8 / 60
    // = 0.008: a takes 10 MB, c 20, b the 20 left.
    let plan = edge_downloads(net, slot, &state(Store::default()), &[vec![1, 0, 2]]);
    assert_eq!(plan.edges, vec![vec![(0, 10.0), (2, 20.0), (1, 20.0)]]);
    assert!(plan.devices.is_empty(), "devices keep the default order");
    // a resident, b has 30 of 60 MB: b gains 0.6 * (0.8 - 0.7) / 30 = 0.002, c 0.01, d
    // nothing over a (last). c takes 20 MB, b its missing 30, d what is left: none.
    let edge = Store { resident: vec![0], downloading: vec![Download { model: 1, received_mb: 30.0 }] };
    let plan = edge_downloads(net, slot, &state(edge.clone()), &[vec![0, 1, 2, 3]]);
    assert_eq!(plan.edges, vec![vec![(2, 20.0), (1, 30.0), (3, 0.0)]]);
    // The plan is valid for the evaluator when the policy holds those models.
    let mut ep = ep.clone();
    ep.initial = state(edge);
    ep.network.edges[0].cache_mb = 100.0;
    let d = SlotDecision {
        hold: Holdings { edges: vec![vec![0, 1, 2, 3]], devices: vec![vec![]] },
        solution: serve(None),
        downloads: Some(plan),
    };
    evaluate_episode(&ep, &[d]).expect("the split is within the edge's volume");
}
