//! Long runs: resuming after a kill gives no duplicate rows, sharded runs merge into the
//! unsharded result, and the suite writes its report.

use std::path::Path;
use std::process::Command;

use dnnrm::io::results::{read_rows, write_rows, ResultRow, RowStatus};

fn dnnrm(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_dnnrm")).args(args).output().unwrap()
}

fn batch(dir: &Path, rows: usize) -> std::path::PathBuf {
    let p = dir.join("batch.csv");
    let mut text = String::from("seed,n_devices\n");
    for i in 0..rows {
        text.push_str(&format!("{i},{}\n", 8 + i % 5));
    }
    std::fs::write(&p, text).unwrap();
    p
}

/// Rows without their timings, for comparisons.
fn untimed(rows: &[ResultRow]) -> Vec<ResultRow> {
    rows.iter().map(|r| ResultRow { wall_s: 0.0, ..r.clone() }).collect()
}

fn keys(rows: &[ResultRow]) -> Vec<(String, String, String, String, u64)> {
    rows.iter().map(ResultRow::key).collect()
}

#[test]
fn two_shards_merged_equal_the_unsharded_run() {
    let dir = tempfile::tempdir().unwrap();
    let sc = batch(dir.path(), 9);
    let s = sc.to_str().unwrap();
    let out = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let solvers = "greedy,local-only,random";
    assert!(dnnrm(&["eval", "--scenarios", s, "--solvers", solvers, "--out", &out("all.csv")])
        .status
        .success());
    for i in 0..2 {
        let shard = format!("{i}/2");
        let o = dnnrm(&[
            "eval",
            "--scenarios",
            s,
            "--solvers",
            solvers,
            "--shard",
            &shard,
            "--out",
            &out(&format!("p{i}.csv")),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let p0 = read_rows(Path::new(&out("p0.csv"))).unwrap();
    let p1 = read_rows(Path::new(&out("p1.csv"))).unwrap();
    assert!(!p0.is_empty() && !p1.is_empty());
    assert!(keys(&p0).iter().all(|k| !keys(&p1).contains(k)), "shards overlap");
    assert!(dnnrm(&["merge", &out("p0.csv"), &out("p1.csv"), "--out", &out("merged.csv")]).status.success());
    let merged = read_rows(Path::new(&out("merged.csv"))).unwrap();
    let all = read_rows(Path::new(&out("all.csv"))).unwrap();
    assert_eq!(all.len(), 27);
    assert_eq!(untimed(&merged), untimed(&all));
}

#[test]
fn a_killed_run_resumes_without_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let sc = batch(dir.path(), 40);
    let s = sc.to_str().unwrap();
    let full = dir.path().join("full.csv");
    let part = dir.path().join("part.csv");
    let solvers = "greedy-ls,greedy,local-only";
    assert!(dnnrm(&[
        "eval",
        "--scenarios",
        s,
        "--solvers",
        solvers,
        "--jobs",
        "1",
        "--out",
        full.to_str().unwrap()
    ])
    .status
    .success());
    // Start the same run and kill it part-way.
    let mut child = Command::new(env!("CARGO_BIN_EXE_dnnrm"))
        .args([
            "eval",
            "--scenarios",
            s,
            "--solvers",
            solvers,
            "--jobs",
            "1",
            "--out",
            part.to_str().unwrap(),
        ])
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(150));
    let _ = child.kill();
    let _ = child.wait();
    // Whatever was written is a valid results file (atomic writes), with no duplicates.
    let before = if part.exists() { read_rows(&part).unwrap() } else { Vec::new() };
    let mut k = keys(&before);
    k.dedup();
    assert_eq!(k.len(), before.len());
    // Simulate a kill at a known point too: keep only the first 10 rows.
    if before.len() < 10 {
        let rows = read_rows(&full).unwrap();
        write_rows(&part, &rows[..10]).unwrap();
    }
    let o = dnnrm(&[
        "eval",
        "--scenarios",
        s,
        "--solvers",
        solvers,
        "--jobs",
        "1",
        "--out",
        part.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let resumed = read_rows(&part).unwrap();
    let all = read_rows(&full).unwrap();
    assert_eq!(keys(&resumed), keys(&all), "every row exactly once, in canonical order");
    let strip =
        |rows: &[ResultRow]| rows.iter().map(|r| (r.key(), r.objective, r.status)).collect::<Vec<_>>();
    assert_eq!(strip(&resumed), strip(&all));
}

#[test]
fn bench_writes_tables_and_plots_for_a_small_set() {
    let dir = tempfile::tempdir().unwrap();
    let inst = dir.path().join("instances");
    std::fs::create_dir_all(&inst).unwrap();
    std::fs::write(inst.join("default.csv"), "id,seed,n_devices\na,1,10\nb,2,12\nc,3,14\n").unwrap();
    std::fs::write(inst.join("sweep-rbs.csv"), "id,seed,rbs\nr5,1,5\nr10,1,10\n").unwrap();
    let out = dir.path().join("results");
    let o = dnnrm(&[
        "bench",
        "--sets",
        "default,sweep-rbs",
        "--solvers",
        "greedy,local-only,milp",
        "--instances-dir",
        inst.to_str().unwrap(),
        "--out-dir",
        out.to_str().unwrap(),
        "--models-dir",
        dir.path().join("models").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.contains("Generated by") && md.contains("### Set `default` (3 instances)"), "{md}");
    assert!(md.contains("| milp |") && md.contains("1.0000 (n=3)"), "{md}");
    for f in ["plots/sweep-rbs.png", "plots/sweep-rbs.svg", "plots/profile-default.png"] {
        let bytes = std::fs::read(out.join(f)).unwrap();
        assert!(bytes.len() > 1000, "{f}");
    }
    let png = std::fs::read(out.join("plots/sweep-rbs.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    // The ratio to the optimum is filled only where the MILP proved optimality.
    let rows = read_rows(&out.join("default.csv")).unwrap();
    assert_eq!(rows.len(), 9);
    assert!(rows.iter().all(|r| r.set == "default"), "rows carry their set's name");
    assert!(rows.iter().all(|r| r.revision == env!("DNNRM_REVISION")), "the binary's revision");
    assert!(rows.iter().all(|r| r.ratio_to_opt.is_some() == (r.status != RowStatus::Error)));
    assert!(rows.iter().filter(|r| r.solver == "milp").all(|r| r.ratio_to_opt == Some(1.0)));
}
