//! The online benchmark: episode set specs (errors named by line and column), the
//! suite's rows, resume and the hindsight cache, and the §9.5 table computed by hand.

use std::path::PathBuf;

use dnnrm::bench::online::{
    episode_hash, gap_closed, merge_sections, online_table, online_targets, paired_margins, run_online_suite,
    update_summary, CachedOptimum, HindsightCache, OnlineSuiteConfig, SUMMARY_MARKER,
};
use dnnrm::io::csvfiles::read_episode_specs;
use dnnrm::io::{ResultRow, RowStatus};

/// The suite's long-run placement cache is one per process: tests that run the suite
/// take turns.
static SUITE: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A temporary folder with the spec `instances/<set>.csv` of `rows` (after the header),
/// and a suite configuration running `policies` (and `hindsight` if asked) on it.
fn suite(
    name: &str,
    set: &str,
    rows: &str,
    policies: &[&str],
    hindsight: bool,
) -> (PathBuf, PathBuf, OnlineSuiteConfig) {
    let d = temp_dir(name);
    let inst = d.join("instances");
    std::fs::create_dir_all(&inst).expect("dir");
    std::fs::write(inst.join(format!("{set}.csv")), format!("id,seed,point,params\n{rows}")).expect("spec");
    let cfg = OnlineSuiteConfig {
        instances_dir: inst.clone(),
        out_dir: d.join("results"),
        sets: vec![set.into()],
        policies: policies.iter().map(|p| p.to_string()).collect(),
        models_dir: d.join("models"),
        hindsight,
        hindsight_time_limit: None,
        hindsight_cache_only: false,
        hindsight_recheck: false,
        fresh: false,
        command: "test".into(),
    };
    (d, inst, cfg)
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("dnnrm-bo-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

#[test]
fn spec_errors_name_the_line_and_column() {
    let d = temp_dir("spec");
    let p = d.join("online-x.csv");
    std::fs::write(
        &p,
        "id,seed,point,params\n\
         a,0,,n_devices=5 n_slots=3\n\
         b,x,,n_devices=5\n\
         c,1,,n_devices=5 bogus=1\n\
         a,2,,n_devices=5\n\
         e,3,,n_devices=-1\n\
         f,4,,init=lukewarm\n\
         g,5,,n_edges\n",
    )
    .expect("write");
    let rows = read_episode_specs(&p).expect("header ok");
    assert!(rows[0].is_ok());
    let errs: Vec<String> = rows[1..].iter().map(|r| r.as_ref().expect_err("bad row").to_string()).collect();
    for (e, want) in errs.iter().zip([
        ("line 3", "seed"),
        ("line 4", "bogus"),
        ("line 5", "already used on line 2"),
        ("line 6", "n_devices"),
        ("line 7", "init"),
        ("line 8", "name=value"),
    ]) {
        assert!(e.contains("online-x.csv") && e.contains(want.0) && e.contains(want.1), "{e}");
    }
    std::fs::write(&p, "id,seed,params\n").expect("write");
    assert!(read_episode_specs(&p).expect_err("bad header").to_string().contains("header"));
    std::fs::remove_dir_all(&d).ok();
}

fn row(instance: &str, solver: &str, objective: f64, ratio: Option<f64>) -> ResultRow {
    ResultRow {
        set: "s".into(),
        instance: instance.into(),
        solver: solver.into(),
        status: if solver == "hindsight" { RowStatus::Optimal } else { RowStatus::Heuristic },
        objective: Some(objective),
        ratio_to_opt: ratio,
        stats: "decide_p50_ms=1;decide_p95_ms=2;edge_mb=10;device_mb=5".into(),
        ..ResultRow::default()
    }
}

#[test]
fn the_table_and_the_gap_closed_are_computed_by_hand() {
    // Two episodes: hindsight 0.8 and 0.6 (mean 0.7); myopic 0.6, 0.5 (0.55); lfu 0.7,
    // 0.5 (0.6, the best rule); x 0.75, 0.55 (0.65).
    let rows = vec![
        row("e0", "hindsight", 0.8, Some(1.0)),
        row("e1", "hindsight", 0.6, Some(1.0)),
        row("e0", "myopic", 0.6, Some(0.75)),
        row("e1", "myopic", 0.5, Some(0.5 / 0.6)),
        row("e0", "lfu", 0.7, Some(0.875)),
        row("e1", "lfu", 0.5, Some(0.5 / 0.6)),
        row("e0", "x", 0.75, Some(0.9375)),
        row("e1", "x", 0.55, Some(0.55 / 0.6)),
    ];
    let closed: std::collections::BTreeMap<String, f64> =
        gap_closed(&rows, &["myopic", "lfu"]).into_iter().collect();
    assert!((closed["x"] - 0.5).abs() < 1e-12, "(0.65 - 0.6) / (0.7 - 0.6) = 0.5, got {}", closed["x"]);
    assert!(closed["lfu"].abs() < 1e-12);
    assert!((closed["myopic"] + 0.5).abs() < 1e-12);
    let table = online_table(&rows, &["myopic", "lfu"]);
    // x closes (0.65 - 0.55) / (0.7 - 0.55) = 2/3 of the gap from myopic.
    let x_line = table.lines().find(|l| l.starts_with("| x ")).expect("x row");
    assert!(x_line.contains("| 0.667 |") && x_line.contains("| 0.500 |"), "{x_line}");
    assert!(x_line.contains("0.6500"), "{x_line}");
    assert!(
        table.lines().nth(2).expect("first row").starts_with("| hindsight "),
        "hindsight first:\n{table}"
    );
    assert!(table.contains("Best rule-based policy on these episodes: `lfu`"));
    assert!(!table.contains("training seeds"), "no learned policy with seeds here");
}

#[test]
fn a_learned_policy_is_reported_over_its_training_seeds() {
    // Hindsight 0.8, 0.6 (mean 0.7); lfu 0.6 (the best rule); y with seed 0: 0.7, 0.5
    // (0.6, closes 0) and seed 1: 0.72, 0.56 (0.64, closes 0.4).
    let seeded = |instance: &str, objective: f64, seed: u64| ResultRow {
        seed,
        ..row(instance, "y", objective, Some(objective / if instance == "e0" { 0.8 } else { 0.6 }))
    };
    let rows = vec![
        row("e0", "hindsight", 0.8, Some(1.0)),
        row("e1", "hindsight", 0.6, Some(1.0)),
        row("e0", "lfu", 0.7, Some(0.875)),
        row("e1", "lfu", 0.5, Some(0.5 / 0.6)),
        seeded("e0", 0.7, 0),
        seeded("e1", 0.5, 0),
        seeded("e0", 0.72, 1),
        seeded("e1", 0.56, 1),
    ];
    let table = online_table(&rows, &["lfu"]);
    let y = table.lines().find(|l| l.starts_with("| y ")).expect("y row");
    // 2 episodes, 2 seeds, mean of the four runs 0.62, gap closed (0.62 - 0.6) / 0.1 = 0.2.
    assert!(y.starts_with("| y | 2 | 2 | 0.6200 ±"), "{y}");
    assert!(y.contains("| 0.200 |"), "{y}");
    let line = table.lines().find(|l| l.contains("`y` over 2 training seeds")).expect("seed line");
    assert!(line.contains("(0, 1)") && line.contains("0.6000, 0.6400"), "{line}");
    assert!(line.contains("gap closed vs best rule 0.200"), "{line}");
}

#[test]
fn the_margin_over_the_best_rule_is_paired_by_episode_and_seed() {
    let seeded = |instance: &str, objective: f64, seed: u64| ResultRow {
        set: "online-x".into(),
        seed,
        ..row(instance, "drl-online", objective, None)
    };
    let rule = |instance: &str, solver: &str, objective: f64| ResultRow {
        set: "online-x".into(),
        ..row(instance, solver, objective, None)
    };
    // Episodes e0-e2; mpc 0.60, 0.50, 0.70 (mean 0.6, the best rule), lfu 0.55 each;
    // drl-online with seeds 0 and 1. e3 has no mpc run and e2 lacks seed 1: both are
    // left out of the pairs.
    let mut rows = vec![
        rule("e0", "mpc", 0.60),
        rule("e1", "mpc", 0.50),
        rule("e2", "mpc", 0.70),
        rule("e0", "lfu", 0.55),
        rule("e1", "lfu", 0.55),
        rule("e2", "lfu", 0.55),
        seeded("e0", 0.62, 0),
        seeded("e0", 0.59, 1),
        seeded("e1", 0.53, 0),
        seeded("e1", 0.52, 1),
        seeded("e2", 0.75, 0),
        seeded("e3", 0.40, 0),
        seeded("e3", 0.40, 1),
    ];
    let m = paired_margins(&rows, "drl-online", "mpc");
    let want = [[0.02, -0.01], [0.03, 0.02]];
    assert_eq!(m.len(), 2, "{m:?}");
    for (got, want) in m.iter().zip(want) {
        assert!(got.iter().zip(want).all(|(g, w)| (g - w).abs() < 1e-12), "{m:?}");
    }
    // In the summary: the set's row names mpc and a margin with its interval.
    rows.push(seeded("e2", 0.71, 1));
    let d = temp_dir("targets");
    dnnrm::io::results::write_rows(&d.join("online-x.csv"), &rows).expect("write");
    let md = online_targets(&d, &["mpc", "lfu"]).expect("targets");
    let line = md.lines().find(|l| l.starts_with("| online-x ")).expect("set row");
    // drl-online's mean over e0-e3 (both seeds) is 0.565, mpc's 0.6 over e0-e2; the
    // paired margin is over e0-e2 only: (0.02 - 0.01 + 0.03 + 0.02 + 0.05 + 0.01) / 6.
    assert!(line.contains("| 0.5650 | `mpc` 0.6000 | +0.0200 ("), "{line}");
    assert!(line.contains("`mpc` 0.6000 |") && line.ends_with("| `mpc` 0.6000 |"), "{line}");
    // The paired margins over e0-e2 all lie in -0.01..0.05: so does the interval.
    let ci = line.split(" (").nth(1).and_then(|s| s.split(')').next()).expect("interval");
    let (lo, hi) = ci.split_once(" to ").expect("lo to hi");
    let (lo, hi): (f64, f64) = (lo.parse().expect("lo"), hi.parse().expect("hi"));
    assert!(-0.01 <= lo && lo <= hi && hi <= 0.05, "{ci}");
    std::fs::remove_dir_all(&d).ok();
}

#[test]
fn the_hindsight_cache_round_trips_and_is_keyed_by_content_and_encoding() {
    let d = temp_dir("cache");
    let p = d.join("hindsight-cache.csv");
    let mut c = HindsightCache::open(&p).expect("absent file: empty cache");
    assert!(c.get("h", "v1").is_none());
    let entry = CachedOptimum {
        hash: "h".into(),
        encoding: "v1".into(),
        episode: "e0".into(),
        status: "optimal".into(),
        objective: 0.5,
        bound: Some(0.5),
        solve_s: 1.0,
        revision: "r".into(),
        per_slot: "0.5 0.5".into(),
    };
    c.insert(entry.clone()).expect("written");
    let c = HindsightCache::open(&p).expect("reads back");
    assert_eq!(c.get("h", "v1"), Some(&entry));
    assert!(c.get("h", "v2").is_none(), "another encoding is another key");
    // Two runs sharing the file: each insert keeps what the other wrote since.
    let (mut a, mut b) = (HindsightCache::open(&p).expect("a"), HindsightCache::open(&p).expect("b"));
    a.insert(CachedOptimum { hash: "ha".into(), ..entry.clone() }).expect("a writes");
    b.insert(CachedOptimum { hash: "hb".into(), ..entry.clone() }).expect("b writes");
    let both = HindsightCache::open(&p).expect("reads back");
    assert!(
        both.get("h", "v1").is_some() && both.get("ha", "v1").is_some() && both.get("hb", "v1").is_some()
    );
    std::fs::write(&p, "hash,encoding\nx").expect("write");
    assert!(HindsightCache::open(&p).is_err(), "a corrupt cache is an error, not an empty cache");
    std::fs::remove_dir_all(&d).ok();
}

#[test]
fn the_suite_writes_one_row_per_run_and_resumes() {
    let _turn = SUITE.lock().unwrap_or_else(|e| e.into_inner());
    let (d, inst, cfg) = suite(
        "suite",
        "online-t",
        "e0,1,,n_devices=6 n_edges=2 n_slots=4 init=warm\n\
         e1,2,,n_devices=6 n_edges=2 n_slots=4\n",
        &["static-placement", "myopic"],
        false,
    );
    let out = run_online_suite(&cfg, None).expect("runs");
    assert_eq!(out.error_rows, 0);
    let csv = d.join("results/online-t.csv");
    let rows = dnnrm::io::results::read_rows(&csv).expect("results");
    assert_eq!(rows.len(), 4, "2 episodes x 2 policies");
    assert!(rows.iter().all(|r| r.ok() && r.objective.is_some() && r.stat("decide_p50_ms").is_some()));
    assert!(inst.join("online-t/e1.json").exists(), "episodes are written for `simulate`");
    let placements = std::fs::read_to_string(d.join("results/placement-cache.csv")).expect("placement cache");
    assert!(placements.starts_with("key,version,edges,revision\n"), "{placements}");
    assert_eq!(placements.lines().count(), 3, "one long-run placement per episode: {placements}");
    let ep = dnnrm::io::read_episode(&inst.join("online-t/e1.json")).expect("valid episode");
    assert_eq!(episode_hash(&ep).len(), 16);
    // A rerun of the same revision keeps the rows of episode e1 as they were.
    run_online_suite(&cfg, None).expect("runs again");
    let again = dnnrm::io::results::read_rows(&csv).expect("results");
    let e1 =
        |rs: &[ResultRow]| rs.iter().filter(|r| r.instance == "e1").map(|r| r.wall_s).collect::<Vec<_>>();
    assert_eq!(e1(&rows), e1(&again), "resumed, not rerun");
    // A row of a policy the registry no longer has is dropped at the next run; rows of
    // known policies that this run does not select stay.
    let mut stale = again[0].clone();
    stale.solver = "removed-policy".into();
    let mut other = again[0].clone();
    other.solver = "lfu".into();
    let mut with_stale = again.clone();
    with_stale.extend([stale, other]);
    dnnrm::io::results::write_rows(&csv, &with_stale).expect("write");
    run_online_suite(&cfg, None).expect("runs a third time");
    let third = dnnrm::io::results::read_rows(&csv).expect("results");
    assert!(third.iter().all(|r| r.solver != "removed-policy"), "stale row dropped");
    assert_eq!(third.iter().filter(|r| r.solver == "lfu").count(), 1, "known policy's row kept");
    assert_eq!(third.len(), 5);
    let md = std::fs::read_to_string(d.join("results/online.md")).expect("summary");
    assert!(md.contains("## online-t") && md.contains("| myopic |"));
    // A set this run did not include keeps its section.
    std::fs::write(d.join("results/online.md"), format!("{md}## online-zz\n\nold table\n")).expect("write");
    run_online_suite(&cfg, None).expect("runs a fourth time");
    let md = std::fs::read_to_string(d.join("results/online.md")).expect("summary");
    assert!(md.contains("## online-t") && md.contains("## online-zz\n\nold table\n"), "{md}");
    assert_eq!(md.matches("## online-t\n").count(), 1, "{md}");
    let summary = std::fs::read_to_string(d.join("results/summary.md")).expect("summary.md");
    assert!(summary.contains(SUMMARY_MARKER) && summary.contains("## Online targets"), "{summary}");
    std::fs::remove_dir_all(&d).ok();
}

#[test]
fn online_md_keeps_the_sections_of_sets_not_run() {
    let old =
        "# Old header\n\nintro\n\n## online-a\n\nA table\n\n### point=1\n\nA1\n\n## online-b\n\nB table\n";
    let new = vec![
        ("online-b".to_string(), "## online-b\n\nnew B\n\n".to_string()),
        ("online-c".to_string(), "## online-c\n\nC\n\n".to_string()),
    ];
    let md = merge_sections(old, "# New header\n\n", &new);
    assert_eq!(
        md,
        "# New header\n\n## online-a\n\nA table\n\n### point=1\n\nA1\n\n## online-b\n\nnew B\n\n## online-c\n\nC\n\n"
    );
    // No file before: the header and this run's sections.
    assert_eq!(merge_sections("", "# H\n\n", &new[1..]), "# H\n\n## online-c\n\nC\n\n");
}

#[test]
fn the_online_section_of_the_summary_is_replaced_and_the_rest_kept() {
    let d = temp_dir("summary");
    let p = d.join("summary.md");
    update_summary(&p, "first\n").expect("written");
    assert_eq!(std::fs::read_to_string(&p).expect("read"), format!("{SUMMARY_MARKER}\nfirst\n"));
    std::fs::write(&p, format!("# static\n\ntables\n\n{SUMMARY_MARKER}\nold online\n")).expect("write");
    update_summary(&p, "new online\n").expect("written");
    let text = std::fs::read_to_string(&p).expect("read");
    assert_eq!(text, format!("# static\n\ntables\n\n{SUMMARY_MARKER}\nnew online\n"));
    std::fs::remove_dir_all(&d).ok();
}

#[test]
fn episodes_without_hindsight_are_left_out_of_the_comparison() {
    // Hindsight on e0 only: lfu's e1 (a much lower value) must not enter its mean.
    let rows = vec![
        row("e0", "hindsight", 0.8, Some(1.0)),
        row("e0", "lfu", 0.6, Some(0.75)),
        row("e1", "lfu", 0.1, None),
        row("e0", "x", 0.7, Some(0.875)),
        row("e1", "x", 0.1, None),
    ];
    let closed: std::collections::BTreeMap<String, f64> = gap_closed(&rows, &["lfu"]).into_iter().collect();
    assert!((closed["x"] - 0.5).abs() < 1e-12, "(0.7 - 0.6) / (0.8 - 0.6), got {}", closed["x"]);
    let table = online_table(&rows, &["lfu"]);
    assert!(table.lines().any(|l| l.starts_with("| lfu | 1 | 1 | 0.6000")), "{table}");
    assert!(table.contains("1 episode(s) without a hindsight result"), "{table}");
}

#[test]
fn a_recheck_re_solves_cached_optima_and_refuses_a_different_one() {
    let _turn = SUITE.lock().unwrap_or_else(|e| e.into_inner());
    let hindsight = dnnrm::solvers::hindsight::Hindsight::default();
    let (d, _, mut cfg) = suite(
        "recheck",
        "online-r",
        "e0,11,,n_devices=4 n_edges=1 n_slots=3 init=warm\n\
         e1,12,,n_devices=4 n_edges=1 n_slots=3\n",
        &["static-placement"],
        true,
    );
    run_online_suite(&cfg, Some(&hindsight)).expect("runs");
    let cache_path = d.join("results/hindsight-cache.csv");
    let entries = |path: &std::path::Path| -> Vec<CachedOptimum> {
        csv::Reader::from_path(path).expect("cache file").deserialize().map(|r| r.expect("entry")).collect()
    };
    let entry = |id: &str| entries(&cache_path).into_iter().find(|e| e.episode == id).expect("cached");
    let (e0, e1) = (entry("e0"), entry("e1"));
    // Mark e0's entry with an impossible time and revision, and corrupt e1's optimum.
    let mut c = HindsightCache::open(&cache_path).expect("cache");
    c.insert(CachedOptimum { solve_s: 9999.0, revision: "old".into(), ..e0.clone() }).expect("write");
    c.insert(CachedOptimum { objective: e1.objective + 0.01, revision: "bad".into(), ..e1.clone() })
        .expect("write");
    // Without a recheck the cache is believed (and the run resumes).
    run_online_suite(&cfg, Some(&hindsight)).expect("runs again");
    // With it both are solved again, although the results file already has their rows.
    cfg.hindsight_recheck = true;
    let out = run_online_suite(&cfg, Some(&hindsight)).expect("rechecks");
    assert_eq!(out.error_rows, 1, "the corrupt entry gives one error row");
    let rows = dnnrm::io::results::read_rows(&d.join("results/online-r.csv")).expect("results");
    let h =
        |id: &str| rows.iter().find(|r| r.solver == "hindsight" && r.instance == id).expect("row").clone();
    let (r0, r1) = (h("e0"), h("e1"));
    assert!(r0.ok() && r0.message.contains("equal to the cached optimum of revision old"), "{}", r0.message);
    assert!(r0.wall_s < 9999.0 && (r0.objective.expect("objective") - e0.objective).abs() < 1e-9);
    assert!(!r1.ok(), "{r1:?}");
    assert!(r1.message.contains("differs from the cached") && r1.message.contains("bad"), "{}", r1.message);
    let (n0, n1) = (entry("e0"), entry("e1"));
    assert!(n0.solve_s < 9999.0 && n0.revision != "old", "the time is refreshed: {n0:?}");
    assert_eq!(n0.objective, e0.objective);
    assert_eq!(n1.revision, "bad", "a different optimum leaves the entry as it was");
    std::fs::remove_dir_all(&d).ok();
}
