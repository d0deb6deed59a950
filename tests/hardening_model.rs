//! Hardening of the input path: no panic and no runaway allocation on any instance or
//! scenario, whatever its values. One test per case that failed before (a panic, an
//! abort on allocation, a slow answer, a silently accepted or wrongly refused input);
//! each error must name the field and, for a size, the limit.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use dnnrm::io::read_instance;
use dnnrm::model::limits::{MAX_DEVICES, MAX_OPTION_TRIPLES, MAX_RBS, MAX_UNITS};
use dnnrm::model::{enumerate_options, evaluate, Decision, Instance, Solution, FORMAT_VERSION};
use dnnrm::scenario::params::PARAM_RANGES;
use dnnrm::scenario::{generate, ParamError, ScenarioParams};

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// The validation error of `inst`, as `(field, message)`.
fn refusal(inst: &Instance) -> (String, String) {
    let e = inst.validate().expect_err("the instance must be refused");
    (e.field.clone(), e.to_string())
}

fn param_refusal(p: &ScenarioParams) -> (String, String) {
    match p.check().expect_err("the parameters must be refused") {
        ParamError::Invalid { name, reason } => (name.clone(), format!("parameter `{name}`: {reason}")),
        other => panic!("expected an invalid parameter, got {other}"),
    }
}

// Was: every solver panicked in option enumeration (`clamp` with min > max, since
// `U_m + 1` wrapped to 0).
#[test]
fn units_u32_max_is_refused_and_enumeration_does_not_panic() {
    let mut inst = common::tiny();
    inst.edges[0].units = u32::MAX;
    let (field, msg) = refusal(&inst);
    assert_eq!(field, "edges[0].units");
    assert!(msg.contains(&MAX_UNITS.to_string()) && msg.contains("4294967295"), "{msg}");
    // The root cause is fixed too: enumeration itself copes with any unit count.
    let opts = enumerate_options(&inst);
    let pareto = &opts[0].edge.iter().find(|o| o.model == 0).expect("an edge option").pareto;
    assert!(pareto.iter().all(|&(_, u)| u >= 1), "{pareto:?}");
    // With 1 RB the upload takes 0.1 s of the 0.15 s deadline, so 1e10 FLOPs in 0.05 s
    // need 20% of F_m = 1e12 FLOP/s, whatever U_m is.
    let (r, u) = pareto[0];
    assert_eq!(r, 1);
    let share = f64::from(u) / f64::from(u32::MAX);
    assert!((share - 0.2).abs() < 1e-6, "share {share}");
}

// Was: `memory allocation of 34359738360 bytes failed` (abort) in option enumeration.
#[test]
fn rbs_u32_max_is_refused_with_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let mut inst = common::tiny();
    inst.edges[0].rbs = u32::MAX;
    let p = write(dir.path(), "huge.json", &serde_json::to_string(&inst).unwrap());
    let msg = read_instance(&p).unwrap_err().to_string();
    assert!(msg.contains("edges[0].rbs") && msg.contains(&MAX_RBS.to_string()), "{msg}");
}

// Was: greedy took 8 s and 793 MB on 8 devices with 1e8 RBs.
#[test]
fn rbs_1e8_is_a_fast_error() {
    let p = ScenarioParams { n_devices: 8, ..ScenarioParams::default() };
    let mut inst = generate(&p.check().unwrap(), 0, "rbs1e8");
    for e in &mut inst.edges {
        e.rbs = 100_000_000;
    }
    let t0 = Instant::now();
    let (field, msg) = refusal(&inst);
    assert!(t0.elapsed() < Duration::from_millis(100));
    assert_eq!(field, "edges[0].rbs");
    assert!(msg.contains(&MAX_RBS.to_string()), "{msg}");
}

// Each edge within its own limit, but the instance as a whole would make option
// enumeration examine more triples than MAX_OPTION_TRIPLES.
#[test]
fn option_enumeration_work_is_capped() {
    let mut inst = common::tiny();
    inst.edges[0].rbs = MAX_RBS;
    let dev = inst.devices[0].clone();
    // 2 classification models x 1e5 RBs per classification task.
    let n = (MAX_OPTION_TRIPLES / (2 * u64::from(MAX_RBS))) as usize + 1;
    inst.devices = vec![dev; n];
    let (field, msg) = refusal(&inst);
    assert_eq!(field, "edges[0].rbs");
    assert!(msg.contains(&MAX_OPTION_TRIPLES.to_string()), "{msg}");
    inst.devices.truncate(n - 1);
    inst.validate().expect("exactly at the limit is allowed");
}

// Was: `generate --n-devices 100000000` aborted on allocation.
#[test]
fn n_devices_1e8_is_refused_with_the_limit() {
    let mut p = ScenarioParams::default();
    p.set("n_devices", "100000000").unwrap();
    let (name, msg) = param_refusal(&p);
    assert_eq!(name, "n_devices");
    assert!(msg.contains(&MAX_DEVICES.to_string()), "{msg}");
    let mut inst = common::tiny();
    inst.devices = vec![inst.devices[0].clone(); MAX_DEVICES + 1];
    let (field, msg) = refusal(&inst);
    assert_eq!(field, "devices");
    assert!(msg.contains(&MAX_DEVICES.to_string()), "{msg}");
}

// Was: instances with `null` fields (infinite power) or zero gains, written silently.
#[test]
fn physical_parameters_of_1e308_are_refused_with_their_range() {
    for name in ["tx_power_dbm", "shadowing_db", "carrier_ghz", "bs_height_m"] {
        let mut p = ScenarioParams::default();
        p.set(name, "1e308").unwrap();
        let (got, msg) = param_refusal(&p);
        assert_eq!(got, name);
        let range = PARAM_RANGES.iter().find(|r| r.name == name).expect("a range");
        assert!(msg.contains(&range.to_string()) && msg.contains("1e308"), "{msg}");
    }
}

/// Every bound of every range, one at a time, gives instances that validate.
#[test]
fn every_range_bound_generates_valid_instances() {
    let mut checked = 0;
    for r in PARAM_RANGES {
        let lo = if r.min_open { r.min + f64::EPSILON.max(r.min.abs() * 1e-9) } else { r.min };
        for v in [lo, r.max] {
            let mut p = ScenarioParams { n_devices: 30, n_edges: 3, ..ScenarioParams::default() };
            p.set(r.name, &v.to_string()).unwrap();
            // Keep the paired bound consistent (a min above the default max, ...).
            for (min, max) in [
                ("device_flops_min", "device_flops_max"),
                ("device_storage_min_mb", "device_storage_max_mb"),
                ("mcu_flops_min", "mcu_flops_max"),
                ("mcu_storage_min_mb", "mcu_storage_max_mb"),
                ("gpu_node_flops_min", "gpu_node_flops_max"),
                ("gpu_node_storage_min_mb", "gpu_node_storage_max_mb"),
                ("input_mbit_min", "input_mbit_max"),
                ("deadline_classification_min_s", "deadline_classification_max_s"),
                ("deadline_detection_min_s", "deadline_detection_max_s"),
                ("deadline_segmentation_min_s", "deadline_segmentation_max_s"),
            ] {
                if r.name == min {
                    p.set(max, &v.to_string()).unwrap();
                }
                if r.name == max {
                    p.set(min, &v.min(p.get(min).unwrap().parse().unwrap()).to_string()).unwrap();
                }
            }
            if r.name.starts_with("share_") {
                continue; // shares must sum to 1; covered by the scenario tests
            }
            // A class's ranges are drawn only when the fleet has that class.
            if r.name.starts_with("mcu_") {
                p.share_mcu = 0.5;
            }
            if r.name.starts_with("gpu_node_") {
                p.share_gpu_node = 0.5;
            }
            let sc = p.check().unwrap_or_else(|e| panic!("{} = {v}: {e}", r.name));
            for seed in 0..3 {
                let inst = generate(&sc, seed, "bound");
                inst.validate().unwrap_or_else(|e| panic!("{} = {v}, seed {seed}: {e}", r.name));
                let json = serde_json::to_string(&inst).unwrap();
                assert!(!json.contains("null"), "{} = {v}: {json}", r.name);
            }
            checked += 1;
        }
    }
    assert!(checked >= 50, "{checked}");
}

// Was: `line 1, column 1: expected value`.
#[test]
fn a_byte_order_mark_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let inst = common::tiny();
    let json = serde_json::to_string_pretty(&inst).unwrap();
    let plain = read_instance(&write(dir.path(), "plain.json", &json)).unwrap();
    let p = write(dir.path(), "bom.json", &format!("\u{feff}{json}"));
    assert_eq!(read_instance(&p).unwrap(), plain);
    let sol = Solution::reject_all(&inst);
    let q = write(dir.path(), "bom-sol.json", &format!("\u{feff}{}", serde_json::to_string(&sol).unwrap()));
    assert_eq!(dnnrm::io::read_solution(&q).unwrap(), sol);
}

// Was: accepted silently (a misspelt field was ignored and its default used).
#[test]
fn unknown_fields_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let inst = common::tiny();
    let mut v = serde_json::to_value(&inst).unwrap();
    v["edges"][0]["rb_count"] = 5.into();
    let p = write(dir.path(), "typo.json", &v.to_string());
    let msg = read_instance(&p).unwrap_err().to_string();
    assert!(msg.contains("unknown field `rb_count`") && msg.contains("typo.json"), "{msg}");

    let mut v = serde_json::to_value(&inst).unwrap();
    v["comment"] = "hello".into();
    let p = write(dir.path(), "top.json", &v.to_string());
    assert!(read_instance(&p).unwrap_err().to_string().contains("unknown field `comment`"));

    let mut sol = Solution::reject_all(&inst);
    sol.decisions[0] = Decision::Serve(dnnrm::model::Assignment::cloud(0, 1));
    let mut v = serde_json::to_value(&sol).unwrap();
    v["decisions"][0]["unit"] = 1.into();
    let p = write(dir.path(), "sol.json", &v.to_string());
    let msg = dnnrm::io::read_solution(&p).unwrap_err().to_string();
    assert!(msg.contains("unknown field `unit`"), "{msg}");
    // The tagged decisions themselves still read back.
    let p = write(dir.path(), "ok.json", &serde_json::to_string(&sol).unwrap());
    assert_eq!(dnnrm::io::read_solution(&p).unwrap(), sol);
}

// Was accepted: N0 + NF so large that the noise density is infinite (every rate 0).
#[test]
fn an_infinite_noise_density_is_refused() {
    let mut inst = common::tiny();
    inst.physics.noise_dbm_per_hz = 1e300;
    let (field, msg) = refusal(&inst);
    assert_eq!(field, "physics.noise_dbm_per_hz");
    assert!(msg.contains("finite positive"), "{msg}");
}

// Was refused: a cache filled exactly to a capacity of about 7.6e6 MB by a solver
// adding sizes in another order than the evaluator (which sums in index order) was
// over by 2 ulps, more than the absolute slack of 1e-9 MB.
#[test]
fn storage_sums_in_any_order_fit_a_large_cache() {
    let mut inst = common::tiny();
    let (a, b, c) = (2462318.0455211615, 2022953.743282149, 3131280.1567051294);
    let cap = (c + a) + b; // the order a solver adding c, a, b sees
    assert!((a + b) + c > cap + 1e-9, "the test needs an order-dependent sum");
    inst.edges[0].cache_mb = cap;
    for (k, s) in [a, b, c].into_iter().enumerate() {
        inst.models[k].size_mb = s;
    }
    let mut sol = Solution::reject_all(&inst);
    sol.edge_cache[0] = vec![0, 1, 2];
    assert_eq!(sol.format_version, FORMAT_VERSION);
    evaluate(&inst, &sol).expect("a cache filled exactly to capacity fits");
    inst.edges[0].cache_mb = cap * (1.0 - 1e-9);
    assert!(evaluate(&inst, &sol).is_err(), "a real excess is still refused");
}
