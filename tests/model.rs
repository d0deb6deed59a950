//! Rates, delays, option enumeration and the evaluator against values computed by hand.

mod common;

use common::tiny;
use dnnrm::model::delay::*;
use dnnrm::model::options::{edge_pareto, min_cloud_rbs, min_units, task_options};
use dnnrm::model::*;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

#[test]
fn noise_is_minus_165_dbm_per_hz() {
    // -174 dBm/Hz + 9 dB = -165 dBm/Hz = 10^(-19.5) W/Hz.
    assert!(close(Physics::default().noise_w_per_hz() / 10f64.powf(-19.5), 1.0));
}

#[test]
fn uplink_rate_by_hand() {
    let inst = tiny();
    // SNR(1) = 15: R = 1e6 * log2(16) = 4e6.
    assert!(close(uplink_rate(&inst, 0, 1), 4e6));
    // SNR(2) = 7.5: R = 2e6 * log2(8.5).
    assert!(close(uplink_rate(&inst, 0, 2), 2e6 * 8.5f64.log2()));
    // SNR(3) = 5: R = 3e6 * log2(6).
    assert!(close(uplink_rate(&inst, 0, 3), 3e6 * 6f64.log2()));
    // Increasing in r.
    for r in 1..4 {
        assert!(uplink_rate(&inst, 0, r + 1) > uplink_rate(&inst, 0, r));
    }
}

#[test]
fn spectral_efficiency_cap() {
    let inst = tiny();
    // SNR(1) = 1023: log2(1024) = 10 is capped at 7.4.
    assert!(close(uplink_rate(&inst, 1, 1), 7.4e6));
    // SNR(2) = 511.5: log2(512.5) = 9.0 still capped.
    assert!(close(uplink_rate(&inst, 1, 2), 14.8e6));
    // SNR(4) = 255.75: log2(256.75) = 8.004, capped.
    assert!(close(uplink_rate(&inst, 1, 4), 29.6e6));
}

#[test]
fn delays_by_hand() {
    let inst = tiny();
    // Local: 1e10 / 1e11 = 0.1 s.
    assert!(close(local_delay(&inst, 0, 0), 0.1));
    // Edge, r=1, u=2: 4e5/4e6 + 1e10/(2*1e11) = 0.1 + 0.05.
    assert!(close(edge_delay(&inst, 0, 0, 1, 2), 0.15));
    // Cloud, r=1: 0.1 + 4e5/1e8 + 0.01 + 1e10/1e13 = 0.115.
    assert!(close(cloud_delay(&inst, 0, 0, 1), 0.115));
    // Device 1, cloud with the detection model, r=1: 7.4e5/7.4e6 + 7.4e5/1e8 + 0.01 + 0.02.
    assert!(close(cloud_delay(&inst, 1, 2, 1), 0.1 + 0.0074 + 0.01 + 0.02));
}

#[test]
fn pareto_by_hand() {
    let inst = tiny();
    // Task 0, model 0, T = 0.15. r=1: upload 0.1, 0.1/u <= 0.05 -> u = 2.
    // r=2: upload 4e5/(2e6 log2 8.5) = 0.06478, 0.1/u <= 0.0852 -> u = 2.
    // r=3: 0.05158 -> u = 2. r=4: SNR 3.75, upload 0.04449, 0.1/u <= 0.1055 -> u = 1.
    assert_eq!(min_units(&inst, 0, 0, 1), Some(2));
    assert_eq!(min_units(&inst, 0, 0, 3), Some(2));
    assert_eq!(min_units(&inst, 0, 0, 4), Some(1));
    assert_eq!(edge_pareto(&inst, 0, 0), vec![(1, 2), (4, 1)]);
    // Model 1 (1e11 FLOPs, 1/u s) cannot meet 0.15 s: even u = 10 takes 0.1 + upload.
    // r=4: 0.04449 + 0.1 = 0.1445 <= 0.15 -> feasible only at r=4, u=10.
    assert_eq!(edge_pareto(&inst, 0, 1), vec![(4, 10)]);
    // Cloud: model 0 fixed part 0.015, needs upload <= 0.135 -> r = 1.
    assert_eq!(min_cloud_rbs(&inst, 0, 0), Some(1));
    // Model 1 fixed part 0.024 -> r = 1 as well.
    assert_eq!(min_cloud_rbs(&inst, 0, 1), Some(1));
}

#[test]
fn deadline_tolerance_is_relative_1e9() {
    let mut inst = tiny();
    // Edge (model 0, r=1, u=2) has delay 0.15 exactly. A deadline 0.5e-9 relative
    // below still accepts u = 2; 2e-9 below needs u = 3.
    let d = edge_delay(&inst, 0, 0, 1, 2);
    inst.devices[0].task.deadline_s = d / (1.0 + 0.5e-9);
    assert_eq!(min_units(&inst, 0, 0, 1), Some(2));
    inst.devices[0].task.deadline_s = d / (1.0 + 2e-9);
    assert_eq!(min_units(&inst, 0, 0, 1), Some(3));
    assert!(meets_deadline(1.0 + 0.9e-9, 1.0));
    assert!(!meets_deadline(1.0 + 1.1e-9, 1.0));
}

#[test]
fn options_respect_storage_and_service() {
    let inst = tiny();
    let o = task_options(&inst, 0);
    // Local: model 0 (0.1 s, 10 MB <= 50 MB); model 1 is too big (60 MB) and too slow.
    assert_eq!(o.local.iter().map(|l| l.model).collect::<Vec<_>>(), vec![0]);
    // Only classification models, never the detection model.
    assert!(o.edge.iter().all(|e| e.model != 2) && o.cloud.iter().all(|c| c.model != 2));
    // Device 1 (20 MB storage) cannot store the 50 MB detection model.
    let o1 = task_options(&inst, 1);
    assert!(o1.local.is_empty());
    // Edge cache 40 MB: the 50 MB detection model is no edge option.
    let mut small_cache = tiny();
    small_cache.edges[0].cache_mb = 40.0;
    assert!(task_options(&small_cache, 1).edge.is_empty());
}

fn serve(a: Assignment) -> Decision {
    Decision::Serve(a)
}

fn good_solution() -> Solution {
    Solution {
        format_version: FORMAT_VERSION,
        edge_cache: vec![vec![2]],
        device_models: vec![vec![0], vec![]],
        decisions: vec![serve(Assignment::local(0)), serve(Assignment::edge(2, 1, 3))],
    }
}

#[test]
fn evaluation_by_hand() {
    let inst = tiny();
    let ev = evaluate(&inst, &good_solution()).expect("valid");
    // (0.7 + 0.4) / 2.
    assert!(close(ev.objective, 0.55));
    assert_eq!(ev.counts, LocationCounts { local: 1, edge: 1, cloud: 0, rejected: 0 });
    assert!(close(ev.served_fraction, 1.0));
    assert!(close(ev.rb_utilisation, 0.25));
    assert!(close(ev.compute_utilisation, 0.3));
    // Task 1 at the edge: 7.4e5/7.4e6 + 2e11/(3e11) = 0.1 + 0.6667.
    assert!(close(ev.tasks[1].delay_s.unwrap(), 0.1 + 2.0 / 3.0));

    let mut rejected = good_solution();
    rejected.decisions[0] = Decision::Reject;
    let ev = evaluate(&inst, &rejected).unwrap();
    assert!(close(ev.objective, 0.2));
    assert!(close(ev.served_fraction, 0.5));
    assert!(evaluate(&inst, &Solution::reject_all(&inst)).unwrap().objective == 0.0);
}

fn violation(f: impl FnOnce(&mut Instance, &mut Solution)) -> Violation {
    let mut inst = tiny();
    let mut sol = good_solution();
    f(&mut inst, &mut sol);
    evaluate(&inst, &sol).expect_err("must be rejected")
}

#[test]
fn each_constraint_is_checked_and_named() {
    let v = violation(|_, s| s.edge_cache[0] = vec![1, 2]); // 110 MB > 100 MB
    assert!(matches!(v, Violation::EdgeCache { edge: 0, .. }), "{v}");
    assert!(v.to_string().contains("edge server 0"));

    let v = violation(|_, s| s.device_models[1] = vec![2]); // 50 MB > 20 MB
    assert!(matches!(v, Violation::DeviceStorage { device: 1, .. }), "{v}");

    let v = violation(|_, s| s.device_models[0] = vec![]);
    assert!(matches!(v, Violation::ModelNotOnDevice { task: 0, model: 0 }), "{v}");

    let v = violation(|_, s| s.edge_cache[0] = vec![]);
    assert!(matches!(v, Violation::ModelNotCached { task: 1, edge: 0, model: 2 }), "{v}");

    let v = violation(|_, s| s.decisions[1] = serve(Assignment::edge(2, 0, 3)));
    assert!(matches!(v, Violation::ResourceRange { task: 1, .. }), "{v}");
    let v = violation(|_, s| s.decisions[0] = serve(Assignment { rbs: 1, ..Assignment::local(0) }));
    assert!(matches!(v, Violation::ResourceRange { task: 0, .. }), "{v}");
    let v = violation(|_, s| s.decisions[1] = serve(Assignment::cloud(2, 0)));
    assert!(matches!(v, Violation::ResourceRange { task: 1, .. }), "{v}");

    let v = violation(|_, s| s.decisions[1] = serve(Assignment::edge(0, 1, 1)));
    assert!(matches!(v, Violation::WrongService { task: 1, .. }), "{v}");

    // Spectrum: 4 RBs; task 0 in the cloud with 4 and task 1 at the edge with 1.
    let v = violation(|_, s| s.decisions[0] = serve(Assignment::cloud(0, 4)));
    assert!(matches!(v, Violation::Spectrum { edge: 0, used: 5, cap: 4 }), "{v}");

    // Computing: 10 units; task 0 at the edge with 8 and task 1 with 3.
    let v = violation(|_, s| {
        s.edge_cache[0] = vec![0, 2];
        s.decisions[0] = serve(Assignment::edge(0, 1, 8));
    });
    assert!(matches!(v, Violation::Computing { edge: 0, used: 11, cap: 10 }), "{v}");

    // Deadline: task 1 at the edge with 1 unit takes 0.1 + 2.0 s > 1.0 s.
    let v = violation(|_, s| s.decisions[1] = serve(Assignment::edge(2, 1, 1)));
    assert!(matches!(v, Violation::Deadline { task: 1, .. }), "{v}");
    assert!(v.to_string().contains("deadline") && v.to_string().contains("task 1"));

    let v = violation(|_, s| s.decisions.pop().map(|_| ()).unwrap_or(()));
    assert!(matches!(v, Violation::Shape { field: "decisions", .. }), "{v}");
    let v = violation(|_, s| s.edge_cache[0] = vec![7]);
    assert!(matches!(v, Violation::UnknownModel { .. }), "{v}");
    let v = violation(|_, s| s.edge_cache[0] = vec![2, 2]);
    assert!(matches!(v, Violation::DuplicateModel { .. }), "{v}");
}

#[test]
fn instance_validation_names_the_field() {
    let mut inst = tiny();
    inst.edges[0].cache_mb = -1.0;
    assert_eq!(inst.validate().unwrap_err().field, "edges[0].cache_mb");
    let mut inst = tiny();
    inst.devices[1].edge = 3;
    assert_eq!(inst.validate().unwrap_err().field, "devices[1].edge");
    let mut inst = tiny();
    inst.models[2].accuracy = 1.5;
    assert_eq!(inst.validate().unwrap_err().field, "models[2].accuracy");
    let mut inst = tiny();
    inst.edges[0].rbs = 0;
    assert_eq!(inst.validate().unwrap_err().field, "edges[0].rbs");
    assert!(tiny().validate().is_ok());
}

#[test]
fn solution_json_round_trip() {
    let sol = good_solution();
    let text = serde_json::to_string(&sol).unwrap();
    assert!(text.contains(r#""action":"serve""#) && text.contains(r#""location":"edge""#));
    let back: Solution = serde_json::from_str(&text).unwrap();
    assert_eq!(back, sol);
}
