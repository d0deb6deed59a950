//! The generator: determinism, defaults, parameter validation and the channel.

use dnnrm::scenario::channel::{grid_positions, inf_sl_path_loss_db};
use dnnrm::scenario::{generate, ParamError, ScenarioParams, Zoo};

#[test]
fn same_seed_gives_byte_identical_instances() {
    let sc = ScenarioParams::default().check().unwrap();
    let a = serde_json::to_string(&generate(&sc, 7, "x")).unwrap();
    let b = serde_json::to_string(&generate(&sc, 7, "x")).unwrap();
    let c = serde_json::to_string(&generate(&sc, 8, "x")).unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn defaults_follow_model_md() {
    let sc = ScenarioParams::default().check().unwrap();
    let inst = generate(&sc, 1, "d");
    inst.validate().unwrap();
    assert_eq!(inst.n_tasks(), 50);
    assert_eq!(inst.edges.len(), 4);
    assert_eq!(inst.models.len(), 24);
    for e in &inst.edges {
        assert_eq!((e.rbs, e.units), (20, 20));
        assert_eq!((e.rb_width_hz, e.flops, e.cache_mb), (0.5e6, 2e12, 500.0));
        assert_eq!((e.backhaul_bps, e.backhaul_delay_s), (5e7, 0.1));
    }
    // 10 dBm = 0.01 W.
    assert!((inst.devices[0].tx_power_w - 0.01).abs() < 1e-15);
    // Workload = 2 x GMACs x 1e9: resnet50 has 4.09 GMACs.
    let r50 = inst.models.iter().find(|m| m.name == "resnet50").unwrap();
    assert!((r50.flops - 8.18e9).abs() < 1.0);
    assert!((r50.accuracy - 0.7613).abs() < 1e-12);
    for d in &inst.devices {
        assert!((5e9..2e10).contains(&d.flops));
        assert!((20.0..100.0).contains(&d.storage_mb));
        assert!((0.2e6..2.0e6).contains(&d.task.input_bits));
        let (lo, hi) = [(0.05, 0.3), (0.1, 0.5), (0.2, 1.0)][d.task.service];
        assert!((lo..hi).contains(&d.task.deadline_s));
    }
}

#[test]
fn association_is_the_strongest_gain_and_shares_hold() {
    // Over many devices the service shares approach 0.6 / 0.3 / 0.1.
    let p = ScenarioParams { n_devices: 20_000, ..Default::default() };
    let inst = generate(&p.check().unwrap(), 3, "big");
    let mut count = [0usize; 3];
    for d in &inst.devices {
        count[d.task.service] += 1;
    }
    let n = inst.n_tasks() as f64;
    for (c, share) in count.iter().zip([0.6, 0.3, 0.1]) {
        assert!((*c as f64 / n - share).abs() < 0.015, "{count:?}");
    }
    // Every edge server gets devices, roughly a quarter each.
    for m in 0..4 {
        let k = inst.tasks_of_edge(m).len() as f64 / n;
        assert!((0.18..0.32).contains(&k), "edge {m}: {k}");
    }
}

#[test]
fn path_loss_by_hand() {
    // d = 10 m, fc = 3.5 GHz: LOS 31.84 + 21.5 + 19 log10(3.5) = 63.677;
    // NLOS 33 + 25.5 + 20 log10(3.5) = 69.381 -> max is NLOS.
    let pl = inf_sl_path_loss_db(10.0, 3.5);
    assert!((pl - (58.5 + 20.0 * 3.5f64.log10())).abs() < 1e-9);
    assert_eq!(grid_positions(4, 300.0), vec![(75.0, 75.0), (225.0, 75.0), (75.0, 225.0), (225.0, 225.0)]);
    assert_eq!(grid_positions(2, 300.0), vec![(75.0, 150.0), (225.0, 150.0)]);
}

fn check_err(name: &str, value: &str) -> String {
    let mut p = ScenarioParams::default();
    match p.set(name, value) {
        Err(e) => e.to_string(),
        Ok(()) => p.check().expect_err("must be rejected").to_string(),
    }
}

#[test]
fn impossible_parameters_are_named() {
    for (name, value) in [
        ("n_devices", "0"),
        ("n_edges", "0"),
        ("rbs", "0"),
        ("edge_units", "0"),
        ("edge_flops", "-2e12"),
        ("edge_cache_mb", "-1"),
        ("rb_width_hz", "0"),
        ("cloud_flops", "nan"),
        ("device_flops_max", "1e9"),
        ("deadline_scale", "0"),
        ("rbs", "-5"),
        ("n_devices", "many"),
    ] {
        let msg = check_err(name, value);
        assert!(msg.contains(&format!("`{name}`")), "{name}={value}: {msg}");
    }
    let msg = check_err("share_detection", "0.5");
    assert!(msg.contains("sum to 1"), "{msg}");
    let mut p = ScenarioParams::default();
    assert!(matches!(p.set("bogus", "1"), Err(ParamError::Unknown(_))));
}

#[test]
fn zoo_errors_name_line_and_column() {
    let e = Zoo::from_csv_str(
        "name,service,accuracy_pct,gmacs,file_mb\nok,classification,70,1,10\nbad,classification,x,1,10\n",
        "z.csv",
    )
    .unwrap_err();
    assert_eq!(e.line, Some(3));
    assert!(e.to_string().contains("accuracy_pct") && e.to_string().contains("z.csv"), "{e}");
    let e = Zoo::from_csv_str("name,service,accuracy_pct,gmacs,file_mb\n", "z.csv").unwrap_err();
    assert!(e.to_string().contains("empty"));
    let e = Zoo::from_csv_str("name,service,gmacs,file_mb\n", "z.csv").unwrap_err();
    assert!(e.to_string().contains("accuracy_pct"));
    let e =
        Zoo::from_csv_str("name,service,accuracy_pct,gmacs,file_mb\na,audio,1,1,1\n", "z.csv").unwrap_err();
    assert!(e.to_string().contains("service"));
    assert_eq!(Zoo::embedded().unwrap().models.len(), 24);
}
