//! Regression tests of the hardening issue, one per case, through the binary where the
//! case is a command line: duplicate and unsafe ids, concurrent writers, merge
//! conflicts and non-results inputs, non-finite checkpoints, gap limits, learned seeds,
//! the embedded revision, write failures and stale temporaries, negative flag values,
//! list line numbers, `--out` on an input, and a closed stdout.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use dnnrm::io::results::{read_rows, ResultsFile};
use dnnrm::io::RowStatus;

fn dnnrm_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dnnrm")).current_dir(dir).args(args).output().unwrap()
}

fn dnnrm(args: &[&str]) -> Output {
    dnnrm_in(Path::new(env!("CARGO_MANIFEST_DIR")), args)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn write(path: &Path, text: &str) -> PathBuf {
    std::fs::write(path, text).unwrap();
    path.to_path_buf()
}

#[test]
fn duplicate_ids_in_a_scenario_csv_name_both_lines_and_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(&dir.path().join("b.csv"), "id,seed,n_devices\na,1,5\nb,2,5\na,3,6\n");
    let out = dir.path().join("r.csv");
    let o = dnnrm(&["eval", "--scenarios", s(&csv), "--solvers", "greedy", "--out", s(&out), "--jobs", "2"]);
    let err = stderr(&o);
    assert!(!o.status.success());
    assert!(err.contains("line 4") && err.contains("`a` is already used on line 2"), "{err}");
    let rows = read_rows(&out).unwrap();
    // The first `a` (seed 1) and `b` ran; the duplicate did not replace `a`.
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().any(|r| r.instance == "a" && r.n_tasks == 5));
    // generate --scenarios: the first file is kept, the list names it once.
    let gen = dir.path().join("gen");
    let o = dnnrm(&["generate", "--scenarios", s(&csv), "--out-dir", s(&gen)]);
    assert!(!o.status.success() && stderr(&o).contains("already used on line 2"), "{}", stderr(&o));
    let list = std::fs::read_to_string(gen.join("list.csv")).unwrap();
    assert_eq!(list, "path\na.json\nb.json\n");
    let a: dnnrm::model::Instance =
        serde_json::from_str(&std::fs::read_to_string(gen.join("a.json")).unwrap()).unwrap();
    assert_eq!(a.devices.len(), 5, "the first row's instance, not the duplicate's");
}

#[test]
fn ids_that_would_escape_the_output_folder_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(&dir.path().join("b.csv"), "id,seed\n../escape,1\nsub/x,2\nok,3\n");
    let gen = dir.path().join("gen");
    let o = dnnrm(&["generate", "--scenarios", s(&csv), "--out-dir", s(&gen)]);
    let err = stderr(&o);
    assert!(!o.status.success());
    assert!(err.contains("line 2, column `id`") && err.contains("line 3, column `id`"), "{err}");
    assert!(!dir.path().join("escape.json").exists() && !gen.join("sub").exists());
    assert!(gen.join("ok.json").exists());
    let o = dnnrm(&["generate", "--id", "../x", "--out", s(&dir.path().join("x.json"))]);
    assert!(!o.status.success() && stderr(&o).contains("--id"), "{}", stderr(&o));
    let o = dnnrm(&["bench", "--sets", "../x", "--out-dir", s(&dir.path().join("res"))]);
    assert!(!o.status.success() && stderr(&o).contains("--sets"), "{}", stderr(&o));
}

#[test]
fn a_second_writer_of_the_same_results_file_fails_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(&dir.path().join("b.csv"), "id,seed,n_devices\na,1,5\n");
    let out = dir.path().join("r.csv");
    let held = ResultsFile::open(Some(&out), true, "milp").unwrap();
    let o = dnnrm(&["eval", "--scenarios", s(&csv), "--solvers", "greedy", "--out", s(&out)]);
    let err = stderr(&o);
    assert!(!o.status.success() && err.contains("another dnnrm process"), "{err}");
    drop(held);
    let o = dnnrm(&["eval", "--scenarios", s(&csv), "--solvers", "greedy", "--out", s(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(read_rows(&out).unwrap().len(), 1);
}

/// Two small results files of the same run, plus the path of a third with `greedy`'s
/// objective changed.
fn results_pair(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let csv = write(&dir.join("b.csv"), "id,seed,n_devices\na,1,5\nb,2,6\n");
    let one = dir.join("one.csv");
    let o = dnnrm(&["eval", "--scenarios", s(&csv), "--solvers", "greedy,local-only", "--out", s(&one)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let same = dir.join("same.csv");
    std::fs::copy(&one, &same).unwrap();
    let text = std::fs::read_to_string(&one).unwrap();
    let mut rows = read_rows(&one).unwrap();
    rows[0].objective = rows[0].objective.map(|o| o - 0.01);
    let changed = dir.join("changed.csv");
    dnnrm::io::results::write_rows(&changed, &rows).unwrap();
    assert_ne!(text, std::fs::read_to_string(&changed).unwrap());
    (one, same, changed)
}

#[test]
fn merge_refuses_conflicts_and_files_that_are_not_results() {
    let dir = tempfile::tempdir().unwrap();
    let (one, same, changed) = results_pair(dir.path());
    let out = dir.path().join("m.csv");
    // identical duplicates merge quietly
    assert!(dnnrm(&["merge", s(&one), s(&same), "--out", s(&out)]).status.success());
    assert_eq!(read_rows(&out).unwrap().len(), 4);
    // a conflict is refused, naming both files
    let o = dnnrm(&["merge", s(&one), s(&changed), "--out", s(&out)]);
    let err = stderr(&o);
    assert!(!o.status.success() && err.contains("conflicts with") && err.contains("one.csv"), "{err}");
    // ... unless told which to keep
    let o = dnnrm(&["merge", s(&one), s(&changed), "--out", s(&out), "--on-conflict", "last"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let merged = read_rows(&out).unwrap();
    let changed_rows = read_rows(&changed).unwrap();
    assert!(merged
        .iter()
        .any(|r| r.key() == changed_rows[0].key() && r.objective == changed_rows[0].objective));
    // a folder, an empty file, another CSV and a torn last row are refused
    let empty = write(&dir.path().join("empty.csv"), "");
    let other = write(&dir.path().join("other.csv"), "id,seed\na,1\n");
    let full = std::fs::read_to_string(&one).unwrap();
    let torn = write(&dir.path().join("torn.csv"), &full[..full.len() - 5]);
    for (bad, why) in [
        (dir.path().to_path_buf(), "is a folder"),
        (empty, "is empty"),
        (other, "is not a results CSV"),
        (torn, "torn last row"),
    ] {
        let o = dnnrm(&["merge", s(&one), s(&bad), "--out", s(&out)]);
        let err = stderr(&o);
        assert!(!o.status.success() && err.contains(why), "{why}: {err}");
    }
}

#[test]
fn out_pointing_at_an_input_is_refused_not_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let text = "id,seed,n_devices\na,1,5\n";
    let csv = write(&dir.path().join("b.csv"), text);
    for fresh in [false, true] {
        let mut args = vec!["eval", "--scenarios", s(&csv), "--solvers", "greedy", "--out", s(&csv)];
        if fresh {
            args.push("--fresh");
        }
        let o = dnnrm(&args);
        let err = stderr(&o);
        assert!(!o.status.success() && err.contains("is not a results CSV"), "{err}");
        assert_eq!(std::fs::read_to_string(&csv).unwrap(), text);
    }
}

#[test]
fn checkpoints_with_non_finite_weights_or_statistics_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // A drl checkpoint whose first weight is NaN, with size and hash updated to match.
    let ck = dir.path().join("drl");
    std::fs::create_dir_all(&ck).unwrap();
    for f in ["meta.json", "scorer.safetensors", "scorer_target.safetensors"] {
        std::fs::copy(root.join("models/drl/seed0").join(f), ck.join(f)).unwrap();
    }
    let file = ck.join("scorer.safetensors");
    let mut bytes = std::fs::read(&file).unwrap();
    let header = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    bytes[8 + header..8 + header + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    std::fs::write(&file, &bytes).unwrap();
    let mut meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ck.join("meta.json")).unwrap()).unwrap();
    for f in meta["files"].as_array_mut().unwrap() {
        if f["name"] == "scorer.safetensors" {
            f["fnv1a64"] = serde_json::json!(dnnrm::rl::checkpoint::fnv1a64(&bytes));
        }
    }
    std::fs::write(ck.join("meta.json"), serde_json::to_vec(&meta).unwrap()).unwrap();
    let e = dnnrm::bench::runner::error_chain(
        &dnnrm::solvers::drl::DrlSolver::load(&ck, dnnrm::solvers::drl::Variant::Full).err().unwrap(),
    );
    assert!(e.contains("scorer.safetensors") && e.contains("not a finite number"), "{e}");

    // A ddpg policy whose observation mean is NaN.
    let pol = dir.path().join("ddpg/policy");
    std::fs::create_dir_all(&pol).unwrap();
    for f in ["meta.json", "actor.safetensors"] {
        std::fs::copy(root.join("models/ddpg/seed0/policy").join(f), pol.join(f)).unwrap();
    }
    let text = std::fs::read_to_string(pol.join("meta.json")).unwrap();
    let mut meta: serde_json::Value = serde_json::from_str(&text).unwrap();
    meta["state"]["obs_norm"]["mean"][3] = serde_json::json!("NaN");
    std::fs::write(pol.join("meta.json"), serde_json::to_vec(&meta).unwrap()).unwrap();
    let e = dnnrm::bench::runner::error_chain(&dnnrm::solvers::DdpgSolver::load(&pol).err().unwrap());
    assert!(e.contains("obs_norm.mean[3]") && e.contains("not a finite number"), "{e}");
}

#[test]
fn a_corrupt_checkpoint_gives_error_rows_for_its_solver_only() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(&dir.path().join("b.csv"), "id,seed,n_devices\na,1,5\nb,2,6\n");
    let models = dir.path().join("models/drl/seed0");
    std::fs::create_dir_all(&models).unwrap();
    write(&models.join("meta.json"), "{ corrupt");
    let out = dir.path().join("r.csv");
    let o = dnnrm(&[
        "eval",
        "--scenarios",
        s(&csv),
        "--solvers",
        "greedy,drl",
        "--out",
        s(&out),
        "--models-dir",
        s(&dir.path().join("models")),
    ]);
    assert!(!o.status.success(), "error rows make the exit code non-zero");
    let rows = read_rows(&out).unwrap();
    assert_eq!(rows.len(), 4);
    assert!(rows.iter().filter(|r| r.solver == "greedy").all(|r| r.status == RowStatus::Heuristic));
    assert!(rows
        .iter()
        .filter(|r| r.solver == "drl")
        .all(|r| r.status == RowStatus::Error && r.message.contains("meta.json")));
}

#[test]
fn a_gap_limited_milp_says_so_and_is_never_the_yardstick() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(&dir.path().join("b.csv"), "id,seed,n_devices\na,11,50\nb,12,200\n");
    let out = dir.path().join("r.csv");
    let o =
        dnnrm(&["eval", "--scenarios", s(&csv), "--solvers", "milp", "--mip-gap", "0.5", "--out", s(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = read_rows(&out).unwrap();
    assert!(rows.iter().any(|r| r.status == RowStatus::GapLimit), "{rows:?}");
    for r in &rows {
        assert!(r.status != RowStatus::Optimal || r.bound.unwrap() - r.objective.unwrap() <= 1e-6);
        if r.status == RowStatus::GapLimit {
            assert_eq!(r.ratio_to_opt, None, "a gap-limited row is no yardstick");
        }
    }
}

#[test]
fn seeds_of_a_learned_solver_choose_checkpoints_and_a_missing_one_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(&dir.path().join("b.csv"), "id,seed,n_devices\na,1,5\n");
    let out = dir.path().join("r.csv");
    let o = dnnrm(&["eval", "--scenarios", s(&csv), "--solvers", "drl", "--seeds", "0,7", "--out", s(&out)]);
    let err = stderr(&o);
    assert!(!o.status.success() && err.contains("no checkpoint for seed 7"), "{err}");
    let o = dnnrm(&["eval", "--scenarios", s(&csv), "--solvers", "drl", "--seeds", "1,3", "--out", s(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let seeds: Vec<u64> = read_rows(&out).unwrap().iter().map(|r| r.seed).collect();
    assert_eq!(seeds, vec![1, 3]);
}

#[test]
fn the_revision_comes_from_the_binary_not_the_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(&dir.path().join("b.csv"), "id,seed,n_devices\na,1,5\n");
    let out = dir.path().join("r.csv");
    let args = ["eval", "--scenarios", s(&csv), "--solvers", "greedy", "--out", s(&out)];
    assert!(dnnrm_in(dir.path(), &args).status.success());
    let first = read_rows(&out).unwrap();
    assert_eq!(first[0].revision, env!("DNNRM_REVISION"));
    assert_ne!(first[0].revision, "unknown");
    // From another folder the row is already done: it is kept, not rerun.
    assert!(dnnrm(&args).status.success());
    assert_eq!(read_rows(&out).unwrap(), first);
}

#[test]
fn a_failed_write_stops_the_run_without_claiming_rows_and_leaves_no_temporaries() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(&dir.path().join("b.csv"), "id,seed,n_devices\na,1,5\nb,2,5\n");
    // The output's folder is a file: nothing can be written there.
    let blocker = write(&dir.path().join("blocker"), "");
    let out = blocker.join("r.csv");
    let o = dnnrm(&["eval", "--scenarios", s(&csv), "--solvers", "greedy", "--out", s(&out)]);
    let err = stderr(&o);
    assert!(!o.status.success() && err.contains("blocker") && !err.contains("rows ("), "{err}");
    // Temporaries of a killed writer are removed by the next run.
    let out = dir.path().join("r.csv");
    let stale = write(&dir.path().join(".r.csv.tmp4242"), "partial");
    let o = dnnrm(&["eval", "--scenarios", s(&csv), "--solvers", "greedy", "--out", s(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stale.exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn negative_values_get_the_values_error_not_an_unexpected_argument() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(&dir.path().join("b.csv"), "id,seed\na,1\n");
    let out = dir.path().join("r.csv");
    for (flag, value, expect) in [
        ("--seeds", "-1", "--seeds"),
        ("--shard", "-1/2", "--shard"),
        ("--jobs", "-1", "--jobs"),
        ("--time-limit", "-1", "--time-limit"),
        ("--threads", "-1", "--threads"),
    ] {
        let o =
            dnnrm(&["eval", "--scenarios", s(&csv), "--solvers", "greedy", "--out", s(&out), flag, value]);
        let err = stderr(&o);
        assert!(!o.status.success(), "{flag} {value}");
        assert!(!err.contains("unexpected argument") && err.contains(expect), "{flag}: {err}");
    }
}

#[test]
fn an_unreadable_listed_instance_names_the_list_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.json");
    assert!(dnnrm(&["generate", "--n-devices", "5", "--out", s(&good)]).status.success());
    let list = write(&dir.path().join("list.csv"), "path\ngood.json\nmissing.json\n");
    let out = dir.path().join("r.csv");
    let o = dnnrm(&["eval", "--instances", s(&list), "--solvers", "greedy", "--out", s(&out)]);
    let err = stderr(&o);
    assert!(!o.status.success() && err.contains("list.csv, line 3") && err.contains("missing.json"), "{err}");
    assert_eq!(read_rows(&out).unwrap().len(), 1);
    // The same file twice, or two files with one instance id, is an error naming lines.
    std::fs::copy(&good, dir.path().join("twin.json")).unwrap();
    let list = write(&dir.path().join("list2.csv"), "path\ngood.json\ngood.json\ntwin.json\n");
    let o = dnnrm(&[
        "eval",
        "--instances",
        s(&list),
        "--solvers",
        "greedy",
        "--out",
        s(&dir.path().join("r2.csv")),
    ]);
    let err = stderr(&o);
    assert!(err.contains("line 3") && err.contains("already listed on line 2"), "{err}");
    assert!(err.contains("line 4") && err.contains("already the id of the instance on line 2"), "{err}");
}

#[test]
fn a_closed_stdout_ends_the_program_quietly() {
    for args in [&["solvers"][..], &["generate", "--help"][..]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_dnnrm"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // the reader goes away before the first line
        let o = child.wait_with_output().unwrap();
        let err = stderr(&o);
        assert!(!err.contains("panicked") && !err.contains("Broken pipe"), "{args:?}: {err}");
    }
}

#[test]
fn a_time_limit_bounds_the_whole_milp_solve_model_build_included() {
    let dir = tempfile::tempdir().unwrap();
    let inst = dir.path().join("big.json");
    // 1000 devices on one server with 1000 RBs and 1e5 units: long Pareto lists, a
    // large model; before the fix decoding alone was quadratic in its size.
    let o = dnnrm(&[
        "generate",
        "--n-devices",
        "1000",
        "--n-edges",
        "1",
        "--rbs",
        "1000",
        "--edge-units",
        "100000",
        "--seed",
        "1",
        "--out",
        s(&inst),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let t0 = std::time::Instant::now();
    let o = dnnrm(&["solve", "--solver", "milp", "--time-limit", "1", "--instance", s(&inst)]);
    let wall = t0.elapsed().as_secs_f64();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success() && out.contains("status=time-limit"), "{out}{}", stderr(&o));
    // The limit plus the 2 s guard, with room for a loaded CI machine.
    assert!(wall < 1.0 + 2.0 + 3.0, "took {wall:.1} s");
}

#[test]
fn a_zoo_error_is_printed_once() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nozoo.csv");
    let o = dnnrm(&["generate", "--zoo", s(&missing), "--out", s(&dir.path().join("x.json"))]);
    let err = stderr(&o);
    assert!(!o.status.success());
    assert_eq!(err.matches("nozoo.csv").count(), 1, "{err}");
    let bad = write(&dir.path().join("badzoo.csv"), "name,service\nfoo,bar\n");
    let o = dnnrm(&["generate", "--zoo", s(&bad), "--out", s(&dir.path().join("x.json"))]);
    let err = stderr(&o);
    assert_eq!(err.matches("missing column").count(), 1, "{err}");
}
