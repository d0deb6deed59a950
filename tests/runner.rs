//! The runner's one path: fallback, judgement by the evaluator, statuses, and the
//! per-solver settings that reach the `options` column.

mod common;

use std::process::Command;

use dnnrm::bench::jobs::options_label;
use dnnrm::bench::{build_jobs, run_job, JobSpec, RowContext};
use dnnrm::io::RowStatus;
use dnnrm::model::{evaluate, Assignment, Decision, Instance, Location, Solution};
use dnnrm::scenario::{generate, ScenarioParams};
use dnnrm::solver::{SolveOptions, SolveReport, Solver, SolverError, SolverSettings, Status};
use dnnrm::solvers::{create, Greedy};

/// Fails every time.
struct Broken;
impl Solver for Broken {
    fn name(&self) -> &str {
        "broken"
    }
    fn solve(&self, _: &Instance, _: &SolveOptions) -> Result<SolveReport, SolverError> {
        Err(SolverError::Failed { solver: "broken".into(), reason: "always fails".into() })
    }
}

/// Serves every task at the edge with every RB: breaks the RB capacity.
struct Greedier;
impl Solver for Greedier {
    fn name(&self) -> &str {
        "greedier"
    }
    fn solve(&self, inst: &Instance, _: &SolveOptions) -> Result<SolveReport, SolverError> {
        let mut sol = Solution::reject_all(inst);
        for d in sol.decisions.iter_mut() {
            *d = Decision::Serve(Assignment {
                model: 0,
                location: Location::Cloud,
                rbs: inst.edges[0].rbs,
                units: 0,
            });
        }
        Ok(SolveReport::new(sol, Status::Heuristic, "too much"))
    }
}

/// Honestly reports that it found nothing.
struct Nothing;
impl Solver for Nothing {
    fn name(&self) -> &str {
        "nothing"
    }
    fn solve(&self, inst: &Instance, _: &SolveOptions) -> Result<SolveReport, SolverError> {
        Ok(SolveReport::new(Solution::reject_all(inst), Status::NoSolution, "gave up"))
    }
}

fn instance() -> Instance {
    generate(&ScenarioParams::default().check().unwrap(), 3, "runner-3")
}

#[test]
fn fallback_answers_when_the_primary_fails_breaks_a_constraint_or_gives_up() {
    let inst = instance();
    let opts = SolveOptions::default();
    let greedy_obj = evaluate(&inst, &Greedy.solve(&inst, &opts).unwrap().solution).unwrap().objective;
    let ctx = RowContext::default();
    for (primary, why) in [
        (&Broken as &dyn Solver, "always fails"),
        (&Greedier as &dyn Solver, "invalid solution"),
        (&Nothing as &dyn Solver, "gave up"),
    ] {
        let (row, report) = run_job(&inst, primary, Some(&Greedy), &opts, &ctx);
        assert_eq!(row.status, RowStatus::Fallback, "{}", row.message);
        assert_eq!(row.objective, Some(greedy_obj), "the fallback's answer is returned as is");
        assert!(row.message.contains(why) && row.message.contains("fallback `greedy`"), "{}", row.message);
        assert_eq!(row.solver, primary.name());
        assert!(report.is_some());
    }
}

#[test]
fn without_fallback_errors_are_error_rows_and_no_solution_is_judged() {
    let inst = instance();
    let (opts, ctx) = (SolveOptions::default(), RowContext::default());
    let (row, report) = run_job(&inst, &Broken, None, &opts, &ctx);
    assert_eq!((row.status, row.objective), (RowStatus::Error, None));
    assert!(row.message.contains("always fails") && report.is_none(), "{}", row.message);
    let (row, _) = run_job(&inst, &Greedier, None, &opts, &ctx);
    assert_eq!((row.status, row.objective), (RowStatus::Error, None));
    assert!(row.message.starts_with("invalid solution"), "{}", row.message);
    let (row, _) = run_job(&inst, &Nothing, None, &opts, &ctx);
    assert_eq!((row.status, row.objective), (RowStatus::NoSolution, Some(0.0)));
    // A failed fallback is an error row naming both reasons.
    let (row, _) = run_job(&inst, &Broken, Some(&Greedier), &opts, &ctx);
    assert_eq!(row.status, RowStatus::Error);
    assert!(
        row.message.contains("always fails") && row.message.contains("fallback `greedier` failed"),
        "{}",
        row.message
    );
}

#[test]
fn options_hold_only_the_settings_that_apply() {
    let base = SolveOptions { time_limit: Some(std::time::Duration::from_secs(60)), ..Default::default() };
    let s = SolverSettings { mip_rel_gap: Some(0.01), warm_start: true, ..Default::default() };
    assert_eq!(
        options_label(&base, "milp", &s, None),
        "time_limit=60s;threads=1;mip_rel_gap=0.01;warm_start=true"
    );
    assert_eq!(
        options_label(&base, "greedy", &s, Some("greedy-ls")),
        "time_limit=60s;threads=1;fallback=greedy-ls"
    );
    // A setting given to a solver that does not take it is refused when the jobs are
    // built, as is a fallback that is the solver itself or unknown.
    let spec = |solvers: &[&str], settings: SolverSettings, fallback: Option<&str>| JobSpec {
        solvers: solvers.iter().map(|s| s.to_string()).collect(),
        seeds: None,
        settings,
        fallback: fallback.map(str::to_string),
        base: SolveOptions::default(),
        models_dir: "models".into(),
    };
    let gap = SolverSettings { mip_rel_gap: Some(0.1), ..Default::default() };
    assert!(build_jobs(&spec(&["milp", "greedy"], gap.clone(), None), false).is_err());
    assert_eq!(build_jobs(&spec(&["milp"], gap, None), false).unwrap().jobs.len(), 1);
    assert!(build_jobs(&spec(&["greedy"], SolverSettings::default(), Some("greedy")), false).is_err());
    assert!(build_jobs(&spec(&["greedy"], SolverSettings::default(), Some("nosuch")), false).is_err());
    assert!(create("greedy-ls", &SolverSettings::default()).is_ok());
}

#[test]
fn a_solver_that_cannot_load_gets_error_rows_and_the_others_still_run() {
    let dir = tempfile::tempdir().unwrap();
    let spec = JobSpec {
        solvers: vec!["greedy".into(), "drl".into()],
        seeds: None,
        settings: SolverSettings::default(),
        fallback: None,
        base: SolveOptions::default(),
        models_dir: dir.path().to_path_buf(),
    };
    // A checkpoint folder whose meta.json is not JSON.
    std::fs::create_dir_all(dir.path().join("drl/seed0")).unwrap();
    std::fs::write(dir.path().join("drl/seed0/meta.json"), "{ not json").unwrap();
    let jobs = build_jobs(&spec, true).unwrap();
    assert_eq!(jobs.jobs.len(), 2);
    assert!(jobs.warnings.iter().any(|w| w.contains("meta.json")), "{:?}", jobs.warnings);
    let inst = instance();
    let rows: Vec<_> = jobs.jobs.iter().map(|j| j.run(&inst, &RowContext::default()).0).collect();
    assert_eq!(rows[0].status, RowStatus::Heuristic);
    assert_eq!(rows[1].status, RowStatus::Error);
    assert!(rows[1].message.contains("meta.json"), "{}", rows[1].message);
}

#[test]
fn cli_refuses_inapplicable_settings_by_flag() {
    let dir = tempfile::tempdir().unwrap();
    let inst = dir.path().join("i.json");
    dnnrm::io::write_json_atomic(&inst, &instance()).unwrap();
    let run = |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_dnnrm")).args(args).output().unwrap();
    let o = run(&["solve", "--solver", "greedy", "--mip-gap", "0.1", "--instance", inst.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("--mip-gap") && err.contains("greedy"), "{err}");
    let o =
        run(&["solve", "--solver", "greedy", "--fallback", "nosuch", "--instance", inst.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("nosuch"), "{err}");
    let o = run(&["solve", "--solver", "milp", "--mip-gap", "0.05", "--instance", inst.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success() && out.contains("mip_rel_gap = 0.05"), "{out}");
    assert!(out.contains("status=optimal") || out.contains("status=gap-limit"), "{out}");
}

#[test]
fn simulate_and_validate_episode_print_the_same_per_slot_accuracies() {
    let dir = tempfile::tempdir().unwrap();
    let (ep, dec) = (dir.path().join("ep.json"), dir.path().join("dec.json"));
    let run = |args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_dnnrm")).args(args).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    let field = |line: &str, name: &str| -> String {
        let key = format!("{name}=");
        line.split_whitespace().find_map(|f| f.strip_prefix(&key)).expect(name).to_string()
    };
    let (e, d) = (ep.to_str().unwrap(), dec.to_str().unwrap());
    run(&["generate-episode", "--seed", "4", "--n-devices", "12", "--n-slots", "5", "--out", e]);
    let sim = run(&["simulate", "--policy", "static-placement", "--episode", e, "--out", d, "--per-slot"]);
    let val = run(&["validate-episode", "--episode", e, "--decisions", d, "--per-slot"]);
    let per_slot: Vec<f64> = field(&sim, "per_slot").split(';').map(|a| a.parse().unwrap()).collect();
    assert_eq!(per_slot.len(), 5, "{sim}");
    assert_eq!(field(&sim, "per_slot"), field(&val, "per_slot"), "{sim}\n{val}");
    // Window 0: A_ep is the task-weighted mean of A(t).
    let episode = dnnrm::io::read_episode(&ep).unwrap();
    let tasks: Vec<f64> = episode.slots.iter().map(|s| s.tasks.len() as f64).collect();
    let weighted = per_slot.iter().zip(&tasks).map(|(a, n)| a * n).sum::<f64>() / tasks.iter().sum::<f64>();
    let objective: f64 = field(&sim, "objective").parse().unwrap();
    assert!((weighted - objective).abs() < 1e-5, "{weighted} vs {objective}");
    // Without the flag the line has no per-slot field.
    let plain = run(&["validate-episode", "--episode", e, "--decisions", d]);
    assert!(!plain.contains("per_slot="), "{plain}");
}
