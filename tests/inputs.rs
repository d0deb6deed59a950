//! Malformed input: every error names the file and the line, column or field. Batch
//! commands skip bad rows, evaluate the others and exit non-zero.

mod common;

use std::path::Path;
use std::process::Command;

use dnnrm::io::{read_instance, read_instance_list, read_scenario_csv, read_solution, write_json_atomic};

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn dnnrm(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dnnrm")).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn malformed_instance_json_names_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "broken.json", "{\n  \"format_version\": 1,\n  \"edges\": [,]\n}\n");
    let e = read_instance(&p).unwrap_err().to_string();
    assert!(e.contains("broken.json") && e.contains("line 3"), "{e}");
}

#[test]
fn missing_field_and_wrong_type_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "partial.json", "{\"format_version\": 1}");
    let e = read_instance(&p).unwrap_err().to_string();
    assert!(e.contains("partial.json") && e.contains("missing field"), "{e}");
    let mut v = serde_json::to_value(common::tiny()).unwrap();
    v["edges"][0]["rbs"] = serde_json::json!("twenty");
    let p = write(dir.path(), "typed.json", &serde_json::to_string_pretty(&v).unwrap());
    let e = read_instance(&p).unwrap_err().to_string();
    assert!(e.contains("typed.json") && e.contains("line") && e.contains("invalid type"), "{e}");
}

#[test]
fn negative_capacity_names_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let mut inst = common::tiny();
    inst.edges[0].cache_mb = -5.0;
    let p = dir.path().join("neg.json");
    write_json_atomic(&p, &inst).unwrap();
    let e = read_instance(&p).unwrap_err().to_string();
    assert!(e.contains("neg.json") && e.contains("edges[0].cache_mb"), "{e}");
}

#[test]
fn wrong_format_versions_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let mut inst = common::tiny();
    inst.format_version = 99;
    let p = dir.path().join("v99.json");
    write_json_atomic(&p, &inst).unwrap();
    assert!(read_instance(&p).unwrap_err().to_string().contains("format_version"));
    let p = write(
        dir.path(),
        "sol.json",
        r#"{"format_version": 2, "edge_cache": [], "device_models": [], "decisions": []}"#,
    );
    let e = read_solution(&p).unwrap_err().to_string();
    assert!(e.contains("sol.json") && e.contains("format_version"), "{e}");
}

#[test]
fn scenario_csv_bad_row_is_reported_and_others_kept() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "sc.csv", "seed,n_devices,rbs\n1,10,20\n2,10,-5\n3,,\n4,0,20\n");
    let rows = read_scenario_csv(&p).unwrap();
    assert_eq!(rows.len(), 4);
    assert!(rows[0].is_ok() && rows[2].is_ok());
    let e = rows[1].as_ref().unwrap_err().to_string();
    assert!(e.contains("sc.csv") && e.contains("line 3") && e.contains("`rbs`"), "{e}");
    let e = rows[3].as_ref().unwrap_err().to_string();
    assert!(e.contains("line 5") && e.contains("`n_devices`"), "{e}");
    // An empty cell takes the default.
    assert_eq!(rows[2].as_ref().unwrap().scenario.params.n_devices, 50);
    assert_eq!(rows[2].as_ref().unwrap().id, "sc-0002");
}

#[test]
fn scenario_csv_unknown_column_and_ragged_rows() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "u.csv", "seed,n_devicez\n1,10\n");
    let e = read_scenario_csv(&p).unwrap_err().to_string();
    assert!(e.contains("u.csv") && e.contains("n_devicez"), "{e}");
    let p = write(dir.path(), "r.csv", "seed,n_devices\n1,10\n2,10,7\n3,5\n");
    let rows = read_scenario_csv(&p).unwrap();
    assert!(rows[0].is_ok() && rows[2].is_ok());
    let e = rows[1].as_ref().unwrap_err().to_string();
    assert!(e.contains("line 3"), "{e}");
    let p = write(dir.path(), "s.csv", "seed\n-1\n");
    let e = read_scenario_csv(&p).unwrap()[0].as_ref().unwrap_err().to_string();
    assert!(e.contains("line 2") && e.contains("`seed`"), "{e}");
}

#[test]
fn instance_list_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "l.csv", "file\na.json\n");
    let e = read_instance_list(&p).unwrap_err().to_string();
    assert!(e.contains("l.csv") && e.contains("path"), "{e}");
    let p = write(dir.path(), "l2.csv", "path\na.json\n\"\"\n");
    let rows = read_instance_list(&p).unwrap();
    assert_eq!(rows[0].as_ref().unwrap().path, dir.path().join("a.json"));
    assert!(rows[1].as_ref().unwrap_err().to_string().contains("line 3"));
    let e = read_instance(&dir.path().join("a.json")).unwrap_err().to_string();
    assert!(e.contains("a.json") && e.contains("cannot read"), "{e}");
}

#[test]
fn cli_eval_skips_bad_rows_and_exits_nonzero() {
    let dir = tempfile::tempdir().unwrap();
    let sc = write(dir.path(), "batch.csv", "seed,n_devices\n1,8\n2,-3\n3,9\n");
    let out = dir.path().join("res.csv");
    let (ok, _, err) = dnnrm(&[
        "eval",
        "--scenarios",
        sc.to_str().unwrap(),
        "--solvers",
        "greedy,local-only",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(err.contains("batch.csv") && err.contains("line 3") && err.contains("n_devices"), "{err}");
    let rows = dnnrm::io::results::read_rows(&out).unwrap();
    assert_eq!(rows.len(), 4, "2 good rows x 2 solvers");
    assert!(rows.iter().all(|r| r.status == dnnrm::io::RowStatus::Heuristic && r.objective.is_some()));
    assert_eq!(rows[0].instance, "batch-0000");
    assert_eq!(rows[2].instance, "batch-0002");
}

#[test]
fn cli_validate_rejects_a_hand_broken_solution() {
    let dir = tempfile::tempdir().unwrap();
    let inst = dir.path().join("i.json");
    let sol = dir.path().join("s.json");
    let (ok, out, _) =
        dnnrm(&["generate", "--seed", "4", "--n-devices", "12", "--out", inst.to_str().unwrap()]);
    assert!(ok, "{out}");
    let (ok, out, err) = dnnrm(&[
        "solve",
        "--solver",
        "greedy",
        "--instance",
        inst.to_str().unwrap(),
        "--out",
        sol.to_str().unwrap(),
    ]);
    assert!(ok && out.contains("status=heuristic"), "{out}{err}");
    let (ok, out, _) =
        dnnrm(&["validate", "--instance", inst.to_str().unwrap(), "--solution", sol.to_str().unwrap()]);
    assert!(ok && out.starts_with("valid"), "{out}");
    // Break it: empty every cache while tasks may run at the edge, and give a local
    // task RBs.
    let mut s: dnnrm::model::Solution =
        serde_json::from_str(&std::fs::read_to_string(&sol).unwrap()).unwrap();
    let n = s.decisions.iter().position(|d| d.assignment().is_some()).expect("something served");
    if let dnnrm::model::Decision::Serve(a) = &mut s.decisions[n] {
        a.rbs = 21;
    }
    write_json_atomic(&sol, &s).unwrap();
    let (ok, _, err) =
        dnnrm(&["validate", "--instance", inst.to_str().unwrap(), "--solution", sol.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains(&format!("task {n}")) && err.contains("invalid"), "{err}");
}

#[test]
fn cli_unknown_solver_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let inst = dir.path().join("i.json");
    assert!(dnnrm(&["generate", "--out", inst.to_str().unwrap()]).0);
    let (ok, _, err) = dnnrm(&["solve", "--solver", "nope", "--instance", inst.to_str().unwrap()]);
    assert!(!ok && err.contains("unknown solver `nope`"), "{err}");
}

#[test]
fn generate_is_byte_identical_across_runs() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.json");
    let b = dir.path().join("b.json");
    assert!(dnnrm(&["generate", "--seed", "9", "--rbs", "10", "--out", a.to_str().unwrap()]).0);
    assert!(dnnrm(&["generate", "--seed", "9", "--rbs", "10", "--out", b.to_str().unwrap()]).0);
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    let (ok, _, err) = dnnrm(&["generate", "--rbs", "-1", "--out", a.to_str().unwrap()]);
    assert!(!ok && err.contains("`rbs`"), "{err}");
}
