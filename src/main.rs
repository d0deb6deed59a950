//! The `dnnrm` command line: parse, call the library, print.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Arg, ArgMatches, Args, Command, FromArgMatches, Parser, Subcommand};

use dnnrm::bench::runner::{progress_bar, shard};
use dnnrm::bench::sets::{available_sets, generate_set};
use dnnrm::bench::suite::{run_set, run_suite, SuiteConfig};
use dnnrm::bench::{build_jobs, load_batch, run_job, JobSpec, Jobs, RowContext, EXACT_SOLVER};
use dnnrm::io::results::{merge, OnConflict};
use dnnrm::io::{read_instance, read_solution, write_json_atomic, ResultRow, ResultsFile};
use dnnrm::model::evaluate;
use dnnrm::rl::harness::TrainOutcome;
use dnnrm::rl::{Callback, EarlyStopping, Event, Progress, ProgressReporter, StopReason};
use dnnrm::scenario::dynamics::{DYNAMICS_DOCS, DYNAMICS_NAMES};
use dnnrm::scenario::params::PARAM_DOCS;
use dnnrm::scenario::{generate, DynamicsParams, ScenarioParams, PARAM_NAMES};
use dnnrm::solver::online::run_online;
use dnnrm::solver::{SolveOptions, SolverSettings};
use dnnrm::solvers::drl::Variant;
use dnnrm::solvers::online::{create_policy, policies};
use dnnrm::solvers::{create, registry};

/// Prints a line to stdout. A closed pipe (e.g. `dnnrm solve ... | head -1`) ends the
/// program quietly, as other Unix tools do, instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout().lock(), $($arg)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
        }
    }};
}

#[derive(Parser)]
#[command(name = "dnnrm", version, about = "Resource management for DNN inference in end-edge-cloud IIoT")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Generate instances from scenario parameters (flags) or a scenario CSV.
    Generate(GenerateArgs),
    /// Solve one instance and print one line of metrics.
    Solve(SolveArgs),
    /// Check a solution against an instance and print its evaluation.
    Validate {
        #[arg(long)]
        instance: PathBuf,
        #[arg(long)]
        solution: PathBuf,
    },
    /// Evaluate solvers on a batch of instances, writing one row per run.
    Eval(EvalArgs),
    /// Run every solver on the committed instance sets and write results/.
    Bench(BenchArgs),
    /// Merge results files (e.g. shards) into one, in canonical row order.
    Merge {
        /// Results CSVs to merge.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        #[arg(long)]
        out: PathBuf,
        /// What to do when two inputs hold the same run with different results:
        /// error (refuse), first or last (keep that input's row).
        #[arg(long, default_value = "error")]
        on_conflict: OnConflict,
    },
    /// Train a learned solver (writes the best checkpoint and curve.csv).
    #[command(subcommand)]
    Train(TrainCmd),
    /// List the registered solvers and online policies.
    Solvers,
    /// Generate one episode (MODEL.md §9): a network, an initial placement and a trace.
    GenerateEpisode(GenerateEpisodeArgs),
    /// Run an online policy (or `hindsight`) over an episode and print one line of metrics.
    Simulate(SimulateArgs),
    /// Run the online policies and the hindsight optimum on episode sets (MODEL.md §9.5).
    BenchOnline(BenchOnlineArgs),
    /// Tune a parametric online policy with Nelder-Mead (argmin) on training episodes.
    TuneOnline(TuneOnlineArgs),
    /// Replay a decisions file on an episode and print its evaluation.
    ValidateEpisode {
        #[arg(long)]
        episode: PathBuf,
        #[arg(long)]
        decisions: PathBuf,
        /// Append `per_slot=A(0);A(1);...` (every slot's accuracy, scored or not).
        #[arg(long)]
        per_slot: bool,
    },
    /// Write the hindsight MILP of an episode (one MPS file and column map per
    /// sub-MILP, and an index `milp.json`) into a folder, for other solvers. Solves
    /// nothing.
    ExportMilp {
        #[arg(long)]
        episode: PathBuf,
        /// Output folder (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(clap::Args)]
struct GenerateEpisodeArgs {
    #[command(flatten)]
    scenario: ScenarioFlags,
    #[command(flatten)]
    dynamics: DynamicsFlags,
    /// Seed of the generator (same seed and parameters: byte-identical episode).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Identifier stored in the episode (default `episode<S>`).
    #[arg(long)]
    id: Option<String>,
    /// Output episode JSON.
    #[arg(long)]
    out: PathBuf,
}

#[derive(clap::Args)]
struct BenchOnlineArgs {
    /// Episode sets: `all` (every instances/online-*.csv) or a comma-separated list.
    #[arg(long, default_value = "all")]
    sets: String,
    /// Online policies: `all` or a comma-separated list.
    #[arg(long, default_value = "all")]
    policies: String,
    /// Skip the hindsight optimum.
    #[arg(long)]
    no_hindsight: bool,
    /// Folder of the learned policies' checkpoints (`<dir>/<policy>/seed<k>/`: every
    /// seed runs).
    #[arg(long, default_value = "models")]
    models_dir: PathBuf,
    /// Time limit of each hindsight solve, seconds (default none: every optimum proven).
    #[arg(long)]
    time_limit: Option<f64>,
    /// Re-solve the episodes whose hindsight optimum is cached: a proven optimum equal to
    /// the cached one refreshes its solve time and revision in the cache; a different one
    /// is an error row and leaves the entry as it was.
    #[arg(long)]
    recheck_hindsight: bool,
    #[arg(long, default_value = "instances")]
    instances_dir: PathBuf,
    #[arg(long, default_value = "results")]
    out_dir: PathBuf,
    /// Start over instead of skipping the runs already in the results files.
    #[arg(long)]
    fresh: bool,
    /// Worker threads (default: all cores).
    #[arg(long)]
    jobs: Option<usize>,
}

#[derive(clap::Args)]
struct TuneOnlineArgs {
    /// Parametric online policy (see `dnnrm solvers`).
    #[arg(long)]
    policy: String,
    #[command(flatten)]
    scenario: ScenarioFlags,
    #[command(flatten)]
    dynamics: DynamicsFlags,
    /// Training episodes (seeds from the training range of run 0).
    #[arg(long, default_value_t = 8)]
    episodes: usize,
    /// Policy evaluations allowed (each is a run over every training episode).
    #[arg(long, default_value_t = 30)]
    budget: usize,
}

#[derive(clap::Args)]
struct SimulateArgs {
    /// Online policy (see `dnnrm solvers`).
    #[arg(long)]
    policy: String,
    /// Episode JSON.
    #[arg(long)]
    episode: PathBuf,
    /// Seed of the policy's random choices.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Write the per-slot decisions here (JSON, readable by validate-episode).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Append `per_slot=A(0);A(1);...` (every slot's accuracy, scored or not).
    #[arg(long)]
    per_slot: bool,
    /// Counterfactual replay: take the holdings and download split of `--sites` from
    /// this decisions file (e.g. `hindsight`'s plan of the same episode), then assign
    /// each slot by the per-slot optimum. An analysis tool: see docs/online.md.
    #[arg(long, requires = "sites")]
    holdings_from: Option<PathBuf>,
    /// Sites borrowed with `--holdings-from`: a comma-separated list of `edges`,
    /// `devices` and `device:N`.
    #[arg(long, requires = "holdings_from")]
    sites: Option<String>,
    #[command(flatten)]
    flags: HindsightFlags,
}

#[derive(clap::Args)]
struct HindsightFlags {
    /// Time limit of `hindsight`, seconds.
    #[arg(long, allow_negative_numbers = true)]
    time_limit: Option<f64>,
    /// Threads of `hindsight` (HiGHS).
    #[arg(long, default_value_t = 1, allow_negative_numbers = true)]
    threads: usize,
}

impl HindsightFlags {
    fn options(&self, seed: u64) -> Result<SolveOptions> {
        SolverFlags {
            time_limit: self.time_limit,
            threads: self.threads,
            checkpoint: None,
            mip_gap: None,
            warm_start: false,
            fallback: None,
        }
        .options(seed)
    }
}

/// A table of named parameters with defaults, offered as flags.
trait ParamTable {
    const NAMES: &'static [&'static str];
    const DOCS: &'static [&'static str];
    const HEADING: &'static str;
    fn default_text(name: &str) -> String;
}

impl ParamTable for ScenarioParams {
    const NAMES: &'static [&'static str] = PARAM_NAMES;
    const DOCS: &'static [&'static str] = PARAM_DOCS;
    const HEADING: &'static str = "Scenario parameters";
    fn default_text(name: &str) -> String {
        ScenarioParams::default().get(name).unwrap_or_default()
    }
}

impl ParamTable for DynamicsParams {
    const NAMES: &'static [&'static str] = DYNAMICS_NAMES;
    const DOCS: &'static [&'static str] = DYNAMICS_DOCS;
    const HEADING: &'static str = "Episode dynamics (MODEL.md §9.3)";
    fn default_text(name: &str) -> String {
        DynamicsParams::default().get(name).unwrap_or_default()
    }
}

/// The parameters of a table as flags (`--n-devices 100`), built from the library's list.
#[derive(Debug, Clone)]
struct ParamFlags<P>(Vec<(String, String)>, std::marker::PhantomData<P>);

type ScenarioFlags = ParamFlags<ScenarioParams>;
type DynamicsFlags = ParamFlags<DynamicsParams>;

impl<P> Default for ParamFlags<P> {
    fn default() -> Self {
        ParamFlags(Vec::new(), std::marker::PhantomData)
    }
}

impl<P: ParamTable> FromArgMatches for ParamFlags<P> {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        Ok(ParamFlags(
            P::NAMES
                .iter()
                .filter_map(|n| m.get_one::<String>(n).map(|v| (n.to_string(), v.clone())))
                .collect(),
            std::marker::PhantomData,
        ))
    }
    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

impl<P: ParamTable> Args for ParamFlags<P> {
    fn augment_args(cmd: Command) -> Command {
        P::NAMES.iter().zip(P::DOCS).fold(cmd, |cmd, (name, doc)| {
            let long: &'static str = Box::leak(name.replace('_', "-").into_boxed_str());
            let default = P::default_text(name);
            let help: &'static str = Box::leak(format!("{doc} [default: {default}]").into_boxed_str());
            cmd.arg(
                Arg::new(*name)
                    .long(long)
                    .value_name("VALUE")
                    .allow_negative_numbers(true)
                    .help(help)
                    .help_heading(P::HEADING),
            )
        })
    }
    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

#[derive(Subcommand)]
enum TrainCmd {
    /// The proposed scheme (learned scoring policy + packing subroutine) or an ablation.
    Drl(TrainDrlArgs),
    /// The DDPG benchmark on the one-shot view (MODEL.md §8).
    Ddpg(TrainDdpgArgs),
    /// The DDPG benchmark on episodes (MODEL.md §8 action, §9): `ddpg-online`.
    #[command(name = "ddpg-online")]
    DdpgOnline(TrainDdpgOnlineArgs),
    /// The proposed scheme on episodes (MODEL.md §9): the learned edge placement.
    #[command(name = "drl-online")]
    DrlOnline(TrainDrlOnlineArgs),
}

#[derive(clap::Args)]
struct TrainDdpgOnlineArgs {
    #[command(flatten)]
    common: TrainFlags,
    /// Scenario and dynamics parameters of the episodes, as in the `params` column of
    /// instances/online-*.csv (default: the online-default setting).
    #[arg(long)]
    setting: Option<String>,
}

#[derive(clap::Args)]
struct TrainDrlOnlineArgs {
    /// Seed of the run (network, sampling, training episodes).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output folder (default models/drl-online/seed<S>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Training configuration JSON (every field optional: params, train_episodes,
    /// val_episodes, updates, episodes_per_update, lr, temperature, eval_every,
    /// device_updates, device_lr, device_temperature).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Gradient updates (default: the configuration's).
    #[arg(long)]
    updates: Option<usize>,
}

/// What every learner's training takes.
#[derive(clap::Args)]
struct TrainFlags {
    /// Seed of the run (network, exploration, replay, instance stream).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Environment steps (default: the learner's configuration).
    #[arg(long)]
    steps: Option<u64>,
    /// Output folder (default models/<solver>/seed<S>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Training configuration JSON (every field optional; see the learner's config).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Scenario CSV whose first row gives the training scenario.
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// Stop after this many evaluations without improvement (default: never).
    #[arg(long)]
    patience: Option<usize>,
}

impl TrainFlags {
    fn out(&self, solver: &str) -> PathBuf {
        self.out.clone().unwrap_or_else(|| PathBuf::from(format!("models/{solver}/seed{}", self.seed)))
    }
}

#[derive(clap::Args)]
struct TrainDdpgArgs {
    #[command(flatten)]
    common: TrainFlags,
    /// Scenario parameters of the training and validation instances (flags override
    /// --scenario).
    #[command(flatten)]
    scenario_flags: ScenarioFlags,
}

#[derive(clap::Args)]
struct TrainDrlArgs {
    #[command(flatten)]
    common: TrainFlags,
    /// full, no-subroutine or no-masking.
    #[arg(long, default_value = "full")]
    variant: Variant,
    /// Smallest and largest number of devices of the training family.
    #[arg(long, num_args = 2, value_names = ["MIN", "MAX"])]
    n_devices: Option<Vec<usize>>,
    /// Smallest and largest number of edge servers of the training family.
    #[arg(long, num_args = 2, value_names = ["MIN", "MAX"])]
    n_edges: Option<Vec<usize>>,
    /// Range of the share of `mcu` devices of the training family (default 0 0).
    #[arg(long, num_args = 2, value_names = ["MIN", "MAX"])]
    share_mcu: Option<Vec<f64>>,
    /// Range of the share of `gpu-node` devices of the training family (default 0 0).
    #[arg(long, num_args = 2, value_names = ["MIN", "MAX"])]
    share_gpu_node: Option<Vec<f64>>,
}

#[derive(clap::Args)]
struct GenerateArgs {
    #[command(flatten)]
    scenario: ScenarioFlags,
    /// Seed of the generator (same seed and parameters: byte-identical instance).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Identifier stored in the instance (default `seed<S>`).
    #[arg(long)]
    id: Option<String>,
    /// Output instance JSON (single instance).
    #[arg(long, conflicts_with = "scenarios")]
    out: Option<PathBuf>,
    /// Scenario CSV: one instance per row, written to --out-dir as <id>.json.
    #[arg(long, requires = "out_dir")]
    scenarios: Option<PathBuf>,
    /// Output folder for --scenarios (also gets list.csv, an instance list).
    #[arg(long)]
    out_dir: Option<PathBuf>,
}

#[derive(clap::Args)]
struct SolverFlags {
    /// Time limit per solve, seconds.
    #[arg(long, allow_negative_numbers = true)]
    time_limit: Option<f64>,
    /// Threads per solve (MILP).
    #[arg(long, default_value_t = 1, allow_negative_numbers = true)]
    threads: usize,
    /// Checkpoint folder of a learned solver.
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Relative MIP gap of the MILP (default 0).
    #[arg(long)]
    mip_gap: Option<f64>,
    /// Warm-start the MILP from greedy-ls.
    #[arg(long)]
    warm_start: bool,
    /// Solver the runner falls back to, labelled `fallback`, when the primary fails
    /// (error, invalid answer or no solution); it runs with default settings.
    #[arg(long)]
    fallback: Option<String>,
}

impl SolverFlags {
    fn settings(&self) -> SolverSettings {
        SolverSettings {
            checkpoint: self.checkpoint.clone(),
            mip_rel_gap: self.mip_gap,
            warm_start: self.warm_start,
        }
    }
    fn options(&self, seed: u64) -> Result<SolveOptions> {
        let time_limit = match self.time_limit {
            Some(t) if !(t.is_finite() && t > 0.0) => {
                bail!("--time-limit must be a positive number of seconds, got {t}")
            }
            Some(t) => Some(Duration::from_secs_f64(t)),
            None => None,
        };
        if self.threads == 0 {
            bail!("--threads must be at least 1");
        }
        Ok(SolveOptions { seed, time_limit, threads: self.threads })
    }
}

#[derive(clap::Args)]
struct SolveArgs {
    /// Registered solver name (see `dnnrm solvers`).
    #[arg(long)]
    solver: String,
    #[arg(long)]
    instance: PathBuf,
    /// Write the solution JSON here.
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[command(flatten)]
    flags: SolverFlags,
}

#[derive(clap::Args)]
struct EvalArgs {
    /// Scenario CSV: one generated instance per row.
    #[arg(long, required_unless_present = "instances", conflicts_with = "instances")]
    scenarios: Option<PathBuf>,
    /// Instance-list CSV: a `path` column of instance JSON files.
    #[arg(long)]
    instances: Option<PathBuf>,
    /// Comma-separated solver names, or `all`.
    #[arg(long, default_value = "all")]
    solvers: String,
    /// Comma-separated seeds; each solver runs once per seed (default 0). For a learned
    /// solver they choose the training seeds of the checkpoints to run (default: all).
    #[arg(long, allow_hyphen_values = true)]
    seeds: Option<String>,
    /// Results CSV. Rows already in it (same instance, solver, options, seed and
    /// revision) are skipped unless --fresh.
    #[arg(long)]
    out: PathBuf,
    /// Ignore the rows already in --out.
    #[arg(long)]
    fresh: bool,
    /// Run only shard i of n (instances whose index modulo n is i), e.g. 0/4.
    #[arg(long, allow_hyphen_values = true)]
    shard: Option<String>,
    /// Worker threads over instances (default: all cores).
    #[arg(long, allow_negative_numbers = true)]
    jobs: Option<usize>,
    /// Folder of learned solvers' checkpoints (<solver>/seed<k>/).
    #[arg(long, default_value = "models")]
    models_dir: PathBuf,
    #[command(flatten)]
    flags: SolverFlags,
}

#[derive(clap::Args)]
struct BenchArgs {
    /// Comma-separated instance sets (instances/<set>.csv scenario files; `online-*` are
    /// episode sets, run by the online suite as in `bench-online`), or `all`.
    #[arg(long, default_value = "default")]
    sets: String,
    /// Ignore existing results instead of resuming.
    #[arg(long)]
    fresh: bool,
    /// Solve the hindsight optimum of episodes missing from results/hindsight-cache.csv
    /// (to proven optimality: hours for a whole set). Without it the bench takes optima
    /// from the cache only and such episodes get no hindsight row (`bench-online` solves
    /// them).
    #[arg(long)]
    solve_hindsight: bool,
    /// Run only shard i of n of every set (writes <set>.shard<i>of<n>.csv).
    #[arg(long, allow_hyphen_values = true)]
    shard: Option<String>,
    /// Folder of learned solvers' checkpoints (<solver>/seed<k>/).
    #[arg(long, default_value = "models")]
    models_dir: PathBuf,
    /// Instances per size of the MILP scaling table (N = 10..1000); 0 for none.
    #[arg(long, default_value_t = 0)]
    milp_scaling: usize,
    /// Comma-separated solver names, or `all`.
    #[arg(long, default_value = "all")]
    solvers: String,
    /// Folder of instance-set specs and generated sets.
    #[arg(long, default_value = "instances")]
    instances_dir: PathBuf,
    /// Output folder for <set>.csv and summary.md.
    #[arg(long, default_value = "results")]
    out_dir: PathBuf,
    /// Worker threads over instances (default: all cores).
    #[arg(long, allow_negative_numbers = true)]
    jobs: Option<usize>,
    #[command(flatten)]
    flags: SolverFlags,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.cmd {
        Cmd::Generate(a) => cmd_generate(a),
        Cmd::Solve(a) => cmd_solve(a),
        Cmd::Validate { instance, solution } => cmd_validate(&instance, &solution),
        Cmd::Eval(a) => cmd_eval(a),
        Cmd::Bench(a) => cmd_bench(a),
        Cmd::Merge { inputs, out, on_conflict } => cmd_merge(&inputs, &out, on_conflict),
        Cmd::Train(TrainCmd::Drl(a)) => cmd_train_drl(a),
        Cmd::Train(TrainCmd::Ddpg(a)) => cmd_train_ddpg(a),
        Cmd::Train(TrainCmd::DrlOnline(a)) => cmd_train_drl_online(a),
        Cmd::Train(TrainCmd::DdpgOnline(a)) => cmd_train_ddpg_online(a),
        Cmd::Solvers => {
            for s in registry() {
                let takes: Vec<&str> = s.settings.iter().map(|x| x.flag()).collect();
                let takes =
                    if takes.is_empty() { String::new() } else { format!(" [takes {}]", takes.join(", ")) };
                out!("{:<14} {}{takes}", s.name, s.description);
            }
            out!("\nonline policies (dnnrm simulate --policy NAME):");
            for p in policies() {
                out!("{:<16} {}", p.name, p.description);
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::GenerateEpisode(a) => cmd_generate_episode(a),
        Cmd::Simulate(a) => cmd_simulate(a),
        Cmd::TuneOnline(a) => cmd_tune_online(a),
        Cmd::BenchOnline(a) => cmd_bench_online(a),
        Cmd::ValidateEpisode { episode, decisions, per_slot } => {
            cmd_validate_episode(&episode, &decisions, per_slot)
        }
        Cmd::ExportMilp { episode, out } => cmd_export_milp(&episode, &out),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn cmd_generate(a: GenerateArgs) -> Result<ExitCode> {
    if let Some(csv) = &a.scenarios {
        if !a.scenario.0.is_empty() {
            bail!("scenario flags cannot be combined with --scenarios (put them in the CSV)");
        }
        let dir = a.out_dir.as_deref().context("--scenarios needs --out-dir")?;
        let set = generate_set(csv, dir, true)?;
        for e in &set.errors {
            eprintln!("skipped: {e}");
        }
        out!("wrote {} instances and list.csv to {}", set.files.len(), dir.display());
        return Ok(if set.errors.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE });
    }
    let mut params = ScenarioParams::default();
    for (name, value) in &a.scenario.0 {
        params.set(name, value)?;
    }
    let scenario = params.check()?;
    let out = a.out.context("give --out FILE (or --scenarios CSV --out-dir DIR)")?;
    let id = a.id.unwrap_or_else(|| format!("seed{}", a.seed));
    dnnrm::io::csvfiles::check_id(&id).map_err(|e| anyhow::anyhow!("--id: {e}"))?;
    let inst = generate(&scenario, a.seed, &id);
    write_json_atomic(&out, &inst)?;
    out!("wrote {} ({} tasks, {} edge servers)", out.display(), inst.n_tasks(), inst.edges.len());
    Ok(ExitCode::SUCCESS)
}

fn cmd_solve(a: SolveArgs) -> Result<ExitCode> {
    let inst = read_instance(&a.instance)?;
    let solver = create(&a.solver, &a.flags.settings())?;
    let fallback = match &a.flags.fallback {
        Some(f) if *f == a.solver => bail!("--fallback cannot be the solver itself (`{f}`)"),
        Some(f) => Some(create(f, &SolverSettings::default())?),
        None => None,
    };
    let opts = a.flags.options(a.seed)?;
    let (row, report) = run_job(&inst, solver.as_ref(), fallback.as_deref(), &opts, &RowContext::default());
    if let (Some(out), Some(report)) = (&a.out, &report) {
        write_json_atomic(out, &report.solution)?;
    }
    out!("{}", metrics_line(&row));
    if let Some(report) = report.filter(|_| row.ok()) {
        for (k, v) in &report.stats {
            out!("  {k} = {v}");
        }
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("error: {}", row.message);
        Ok(ExitCode::FAILURE)
    }
}

fn metrics_line(r: &ResultRow) -> String {
    let f = |v: Option<f64>| v.map_or("-".to_string(), |x| format!("{x:.6}"));
    let u = |v: Option<usize>| v.map_or("-".to_string(), |x| x.to_string());
    format!(
        "solver={} instance={} status={} objective={} bound={} served={} local={} edge={} cloud={} rejected={} \
         rb_util={} compute_util={} wall_s={:.6} reason=\"{}\"",
        r.solver,
        r.instance,
        r.status,
        f(r.objective),
        f(r.bound),
        f(r.served_fraction),
        u(r.local),
        u(r.edge),
        u(r.cloud),
        u(r.rejected),
        f(r.rb_utilisation),
        f(r.compute_utilisation),
        r.wall_s,
        r.message
    )
}

fn cmd_validate(instance: &Path, solution: &Path) -> Result<ExitCode> {
    let inst = read_instance(instance)?;
    let sol = read_solution(solution)?;
    match evaluate(&inst, &sol) {
        Ok(ev) => {
            out!(
                "valid: objective={:.6} served={:.4} local={} edge={} cloud={} rejected={} rb_util={:.4} compute_util={:.4}",
                ev.objective,
                ev.served_fraction,
                ev.counts.local,
                ev.counts.edge,
                ev.counts.cloud,
                ev.counts.rejected,
                ev.rb_utilisation,
                ev.compute_utilisation
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(v) => {
            eprintln!("invalid: {v}");
            Ok(ExitCode::FAILURE)
        }
    }
}

fn solver_names(list: &str) -> Result<Vec<String>> {
    let names: Vec<String> = if list == "all" {
        registry().iter().map(|s| s.name.to_string()).collect()
    } else {
        list.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
    };
    if names.is_empty() {
        bail!("--solvers is empty");
    }
    Ok(names)
}

fn seeds_from(list: &str) -> Result<Vec<u64>> {
    list.split(',')
        .map(|s| {
            s.trim().parse::<u64>().with_context(|| format!("--seeds: `{s}` is not a non-negative integer"))
        })
        .collect()
}

fn shard_from(s: Option<&str>) -> Result<Option<(usize, usize)>> {
    let Some(s) = s else { return Ok(None) };
    let parsed = s
        .split_once('/')
        .and_then(|(i, n)| Some((i.trim().parse::<usize>().ok()?, n.trim().parse::<usize>().ok()?)));
    match parsed {
        Some((i, n)) if n >= 1 && i < n => Ok(Some((i, n))),
        _ => bail!("--shard must be i/n with 0 <= i < n, got `{s}`"),
    }
}

fn set_jobs(jobs: Option<usize>) -> Result<()> {
    if let Some(j) = jobs {
        if j == 0 {
            bail!("--jobs must be at least 1");
        }
        rayon::ThreadPoolBuilder::new().num_threads(j).build_global().context("cannot set --jobs")?;
    }
    Ok(())
}

fn job_spec(solvers: &str, seeds: Option<&str>, flags: &SolverFlags, models_dir: &Path) -> Result<JobSpec> {
    Ok(JobSpec {
        solvers: solver_names(solvers)?,
        seeds: seeds.map(seeds_from).transpose()?,
        settings: flags.settings(),
        fallback: flags.fallback.clone(),
        base: flags.options(0)?,
        models_dir: models_dir.to_path_buf(),
    })
}

fn cmd_eval(a: EvalArgs) -> Result<ExitCode> {
    set_jobs(a.jobs)?;
    let Jobs { jobs, warnings } =
        build_jobs(&job_spec(&a.solvers, a.seeds.as_deref(), &a.flags, &a.models_dir)?, false)?;
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    let shard_spec = shard_from(a.shard.as_deref())?;
    let (items, errors) = load_batch(a.scenarios.as_deref(), a.instances.as_deref())?;
    for e in &errors {
        eprintln!("skipped: {e}");
    }
    let items = match shard_spec {
        Some((i, n)) => shard(items, i, n),
        None => items,
    };
    let batch = a.scenarios.as_deref().or(a.instances.as_deref()).unwrap_or(Path::new("batch"));
    let set = batch.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let done = run_set("eval", &set, &items, &jobs, &a.out, a.fresh)?;
    for e in &done.load_errors {
        eprintln!("skipped: {e}");
    }
    let failed = done.rows.iter().filter(|r| !r.ok()).count();
    let skipped = errors.len() + done.load_errors.len();
    eprintln!(
        "{}: {} rows ({skipped} skipped inputs, {failed} error rows)",
        a.out.display(),
        done.rows.len()
    );
    Ok(if skipped == 0 && failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn cmd_merge(inputs: &[PathBuf], out: &Path, on_conflict: OnConflict) -> Result<ExitCode> {
    let rows = merge(inputs, EXACT_SOLVER, on_conflict)?;
    // The output is a results file like any other: locked while written.
    let mut file = ResultsFile::open(Some(out), false, EXACT_SOLVER)?;
    file.insert(rows.clone())?;
    eprintln!("{}: {} rows from {} files", out.display(), rows.len(), inputs.len());
    Ok(ExitCode::SUCCESS)
}

fn cmd_bench(a: BenchArgs) -> Result<ExitCode> {
    set_jobs(a.jobs)?;
    let sets: Vec<String> = if a.sets == "all" {
        let mut all = available_sets(&a.instances_dir);
        all.extend(dnnrm::bench::sets::available_online_sets(&a.instances_dir));
        all
    } else {
        a.sets.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
    };
    for set in &sets {
        // Set names name files and folders (<instances-dir>/<set>.csv, <out-dir>/<set>.csv).
        dnnrm::io::csvfiles::check_id(set)
            .map_err(|e| anyhow::anyhow!("--sets: {}", e.replacen("id", "set name", 1)))?;
    }
    // Episode sets (online-*) go to the online suite with every online policy.
    let (online, sets): (Vec<String>, Vec<String>) =
        sets.into_iter().partition(|s| s.starts_with(dnnrm::bench::sets::ONLINE_PREFIX));
    let mut ok = true;
    if !sets.is_empty() {
        let cfg = SuiteConfig {
            instances_dir: a.instances_dir.clone(),
            out_dir: a.out_dir.clone(),
            sets,
            jobs: job_spec(&a.solvers, None, &a.flags, &a.models_dir)?,
            fresh: a.fresh,
            command: std::env::args().collect::<Vec<_>>().join(" "),
            shard: shard_from(a.shard.as_deref())?,
            milp_scaling: a.milp_scaling,
        };
        let outcome = run_suite(&cfg)?;
        for w in &outcome.warnings {
            eprintln!("warning: {w}");
        }
        for s in &outcome.skipped {
            eprintln!("skipped: {s}");
        }
        for p in &outcome.written {
            eprintln!("wrote {}", p.display());
        }
        if outcome.error_rows > 0 {
            eprintln!(
                "note: {} runs ended in an error row (e.g. a solver that cannot take an instance's size); \
                 see the `errors` column of summary.md and the `message` column of the CSVs",
                outcome.error_rows
            );
        }
        ok &= outcome.skipped.is_empty();
    }
    if !online.is_empty() {
        let cfg = dnnrm::bench::online::OnlineSuiteConfig {
            instances_dir: a.instances_dir,
            out_dir: a.out_dir,
            sets: online,
            policies: policies().iter().map(|p| p.name.to_string()).collect(),
            models_dir: a.models_dir.clone(),
            hindsight: true,
            hindsight_time_limit: None,
            hindsight_cache_only: !a.solve_hindsight,
            hindsight_recheck: false,
            fresh: a.fresh,
            command: std::env::args().collect::<Vec<_>>().join(" "),
        };
        ok &= online_suite(&cfg)?;
    }
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Runs the online suite and reports what it wrote; false when a row was bad.
fn online_suite(cfg: &dnnrm::bench::online::OnlineSuiteConfig) -> Result<bool> {
    let hindsight = hindsight_solver(cfg.hindsight);
    let outcome = dnnrm::bench::online::run_online_suite(cfg, hindsight.as_deref())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    for s in &outcome.skipped {
        eprintln!("skipped: {s}");
    }
    for p in &outcome.written {
        eprintln!("wrote {}", p.display());
    }
    if outcome.error_rows > 0 {
        eprintln!(
            "note: {} runs ended in an error row; see the `message` column of the CSVs",
            outcome.error_rows
        );
    }
    Ok(outcome.skipped.is_empty() && outcome.error_rows == 0)
}

/// Reads a training configuration JSON (every field optional), or the defaults.
fn train_config<T: serde::de::DeserializeOwned + Default>(path: Option<&Path>) -> Result<T> {
    let Some(p) = path else { return Ok(T::default()) };
    let text = std::fs::read_to_string(p).with_context(|| format!("{}: cannot read", p.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{}: not a training configuration", p.display()))
}

/// The observers of every learner: a progress bar on a terminal (a line per evaluation
/// otherwise), and early stopping when asked for.
fn train_callbacks<'a>(pb: &'a indicatif::ProgressBar, flags: &TrainFlags) -> Vec<Box<dyn Callback + 'a>> {
    let mut reporter = ProgressReporter::new(100, move |p: &Progress| {
        pb.set_position(p.step);
        pb.set_message(format!(
            "return {} | validation {} (best {})",
            p.last_episode_return.map_or("-".into(), |r| format!("{r:.3}")),
            p.last_eval.map_or("-".into(), |v| format!("{v:.4}")),
            p.best_eval.map_or("-".into(), |v| format!("{v:.4}")),
        ));
        if pb.is_hidden() && matches!(p.event, Event::Evaluation { .. }) {
            eprintln!(
                "step {}/{}: validation {:.4} (best {:.4})",
                p.step,
                p.total_steps,
                p.last_eval.unwrap_or(f64::NAN),
                p.best_eval.unwrap_or(f64::NAN)
            );
        }
    });
    reporter.episodes = true;
    let mut callbacks: Vec<Box<dyn Callback + 'a>> = vec![Box::new(reporter)];
    if let Some(p) = flags.patience {
        callbacks.push(Box::new(EarlyStopping::new(p)));
    }
    callbacks
}

/// The one closing line of every learner.
fn train_done(out: &Path, o: &TrainOutcome, start_step: u64) {
    eprintln!(
        "{}: {} steps, {} updates in {:.0} s ({:.1} env steps/s, {:.1} updates/s); best validation {} at step {}{}; \
         wrote curve.csv and train.json",
        out.display(),
        o.report.steps,
        o.report.updates,
        o.secs,
        o.env_steps_per_s(start_step),
        o.updates_per_s(),
        o.report.best.map_or("-".into(), |b| format!("{:.4}", b.1)),
        o.report.best.map_or("-".into(), |b| b.0.to_string()),
        if o.report.stop == StopReason::Callback { " (stopped early)" } else { "" }
    );
}

fn cmd_train_drl(a: TrainDrlArgs) -> Result<ExitCode> {
    use dnnrm::solvers::drl::train::{train_drl, DrlTrainConfig};

    let f = &a.common;
    let mut cfg: DrlTrainConfig = train_config(f.config.as_deref())?;
    cfg.seed = f.seed;
    if f.scenario.is_some() {
        cfg.family.base = scenario_from(f.scenario.as_deref())?;
    }
    cfg.variant = a.variant;
    if let Some(s) = f.steps {
        cfg.train.total_steps = s;
    }
    if let Some(v) = &a.n_devices {
        cfg.family.n_devices = (v[0], v[1]);
    }
    if let Some(v) = &a.n_edges {
        cfg.family.n_edges = (v[0], v[1]);
    }
    if let Some(v) = &a.share_mcu {
        cfg.family.share_mcu = (v[0], v[1]);
    }
    if let Some(v) = &a.share_gpu_node {
        cfg.family.share_gpu_node = (v[0], v[1]);
    }
    let name = dnnrm::solvers::drl::solver_name(cfg.variant);
    let out = f.out(name);
    let pb = progress_bar(cfg.train.total_steps, &format!("train {name} seed {}", f.seed));
    let outcome = train_drl(&cfg, &out, train_callbacks(&pb, f))?;
    pb.finish_and_clear();
    train_done(&out, &outcome, cfg.train.start_step);
    Ok(ExitCode::SUCCESS)
}

fn cmd_train_ddpg_online(a: TrainDdpgOnlineArgs) -> Result<ExitCode> {
    use dnnrm::solvers::ddpg::online_train::{train_ddpg_online, DdpgOnlineTrainConfig};

    let f = &a.common;
    if f.scenario.is_some() {
        bail!("train ddpg-online takes --setting, not --scenario");
    }
    let mut cfg: DdpgOnlineTrainConfig = train_config(f.config.as_deref())?;
    if let Some(s) = &a.setting {
        cfg.setting = s.clone();
    }
    cfg.seed = f.seed;
    if let Some(s) = f.steps {
        cfg.steps = s;
    }
    let out = f.out("ddpg-online");
    let pb = progress_bar(cfg.steps, &format!("train ddpg-online seed {}", f.seed));
    let o = train_ddpg_online(&cfg, &out, train_callbacks(&pb, f))?;
    pb.finish_and_clear();
    train_done(&out, &o.outcome, 0);
    Ok(ExitCode::SUCCESS)
}

fn cmd_train_drl_online(a: TrainDrlOnlineArgs) -> Result<ExitCode> {
    use dnnrm::solvers::drl_online::train::{train_drl_online, DrlOnlineTrainConfig};

    let mut cfg: DrlOnlineTrainConfig = train_config(a.config.as_deref())?;
    cfg.seed = a.seed;
    if let Some(u) = a.updates {
        cfg.updates = u;
    }
    let out = a.out.clone().unwrap_or_else(|| PathBuf::from(format!("models/drl-online/seed{}", a.seed)));
    let pb = progress_bar(cfg.updates as u64, &format!("train drl-online seed {}", a.seed));
    let summary = train_drl_online(&cfg, &out, &pb)?;
    pb.finish_and_clear();
    println!(
        "wrote {}: validation A_ep {:.4} at update {} (prior {:.4}), {:.0} s",
        out.display(),
        summary.best_validation,
        summary.best_update,
        summary.prior_validation,
        summary.seconds
    );
    Ok(ExitCode::SUCCESS)
}

fn cmd_train_ddpg(a: TrainDdpgArgs) -> Result<ExitCode> {
    use dnnrm::solvers::ddpg::train::{train_ddpg, DdpgTrainConfig};

    let f = &a.common;
    let mut params = scenario_from(f.scenario.as_deref())?;
    for (name, value) in &a.scenario_flags.0 {
        params.set(name, value)?;
    }
    params.check()?;
    let mut cfg: DdpgTrainConfig = train_config(f.config.as_deref())?;
    cfg.scenario = params;
    cfg.seed = f.seed;
    if let Some(s) = f.steps {
        cfg.steps = s;
    }
    let out = f.out("ddpg");
    let pb = progress_bar(cfg.steps, &format!("train ddpg seed {}", f.seed));
    let o = train_ddpg(&cfg, &out, train_callbacks(&pb, f))?;
    pb.finish_and_clear();
    train_done(&out, &o.outcome, 0);
    eprintln!("greedy on the validation set: {:.4}", o.val_greedy);
    Ok(ExitCode::SUCCESS)
}

/// The parameters of the first row of a scenario CSV (the defaults without a file).
fn scenario_from(path: Option<&Path>) -> Result<ScenarioParams> {
    let Some(path) = path else { return Ok(ScenarioParams::default()) };
    match dnnrm::io::read_scenario_csv(path)?.into_iter().next() {
        Some(row) => Ok(row?.scenario.params),
        None => bail!("{}: the scenario CSV has no row", path.display()),
    }
}

/// The scenario and dynamics of episode flags.
fn episode_params(
    scenario: &ScenarioFlags,
    dynamics: &DynamicsFlags,
) -> Result<(dnnrm::scenario::Scenario, dnnrm::scenario::Dynamics)> {
    let mut params = ScenarioParams::default();
    for (name, value) in &scenario.0 {
        params.set(name, value)?;
    }
    let mut dp = DynamicsParams::default();
    for (name, value) in &dynamics.0 {
        dp.set(name, value)?;
    }
    Ok((params.check()?, dp.check()?))
}

fn cmd_tune_online(a: TuneOnlineArgs) -> Result<ExitCode> {
    let info = dnnrm::solvers::online::info_policy(&a.policy)?;
    let (scenario, dynamics) = episode_params(&a.scenario, &a.dynamics)?;
    if a.episodes == 0 || a.budget == 0 {
        bail!("--episodes and --budget must be at least 1");
    }
    let seeds = dnnrm::scenario::seeds::training(0);
    let episodes: Vec<_> = (0..a.episodes as u64)
        .map(|i| {
            dnnrm::solvers::online::generate_episode(
                &scenario,
                &dynamics,
                seeds.start + i,
                &format!("train{i}"),
            )
        })
        .collect();
    let rep = dnnrm::solvers::online::tune::tune(info, &episodes, a.budget, 0)?;
    for (p, v) in &rep.history {
        out!("eval params={p:?} mean_objective={v:.6}");
    }
    let names: Vec<&str> = info.params.iter().map(|p| p.name).collect();
    out!(
        "policy={} params={names:?} tuned={:?} mean_objective={:.6} default={:?} default_objective={:.6} evaluations={}",
        info.name,
        rep.params,
        rep.objective,
        info.defaults,
        rep.default_objective,
        rep.history.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn cmd_generate_episode(a: GenerateEpisodeArgs) -> Result<ExitCode> {
    let (scenario, dynamics) = episode_params(&a.scenario, &a.dynamics)?;
    let id = a.id.unwrap_or_else(|| format!("episode{}", a.seed));
    dnnrm::io::csvfiles::check_id(&id).map_err(|e| anyhow::anyhow!("--id: {e}"))?;
    let ep = dnnrm::solvers::online::generate_episode(&scenario, &dynamics, a.seed, &id);
    write_json_atomic(&a.out, &ep)?;
    let tasks: usize = ep.slots.iter().map(|s| s.tasks.len()).sum();
    out!(
        "wrote {} ({} slots, {} tasks, {} devices, {} edge servers)",
        a.out.display(),
        ep.slots.len(),
        tasks,
        ep.network.devices.len(),
        ep.network.edges.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// `p`-quantile (nearest rank) of unsorted values; 0 for none.
fn quantile(values: &[f64], p: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return 0.0;
    }
    v[((p * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1]
}

fn episode_metrics(ev: &dnnrm::model::EpisodeEvaluation) -> String {
    format!(
        "objective={:.6} served={:.4} scored_tasks={} edge_mb={:.1} device_mb={:.1} evictions={}",
        ev.objective,
        ev.served_fraction,
        ev.scored_tasks,
        ev.edge_downloaded_mb.iter().sum::<f64>(),
        ev.device_downloaded_mb,
        ev.evictions
    )
}

/// ` per_slot=A(0);A(1);...` when asked for, else nothing.
fn per_slot_field(ev: &dnnrm::model::EpisodeEvaluation, on: bool) -> String {
    if !on {
        return String::new();
    }
    let v: Vec<String> = ev.per_slot.iter().map(|a| format!("{a:.6}")).collect();
    format!(" per_slot={}", v.join(";"))
}

fn cmd_simulate(a: SimulateArgs) -> Result<ExitCode> {
    use dnnrm::solver::online::EpisodeSolver;
    let ep = dnnrm::io::read_episode(&a.episode)?;
    // `hindsight` is the offline optimum: its decisions are the optimal plan.
    if a.policy == "hindsight" && a.holdings_from.is_some() {
        bail!("--holdings-from replays an online policy, not `hindsight`");
    }
    let (decisions, metrics) = if a.policy == "hindsight" {
        let opts = a.flags.options(a.seed)?;
        let start = std::time::Instant::now();
        // Sub-MILPs can take minutes each: a bar on a terminal.
        let pb = progress_bar(0, &format!("hindsight {}", ep.id));
        pb.enable_steady_tick(Duration::from_millis(500));
        let rep = dnnrm::solvers::Hindsight::default().with_progress(pb.clone()).solve_episode(&ep, &opts);
        pb.finish_and_clear();
        let rep = rep?;
        let solve_s = start.elapsed().as_secs_f64();
        let ev = dnnrm::model::evaluate_episode(&ep, &rep.decisions)
            .map_err(|v| anyhow::anyhow!("the plan breaks a rule: {v}"))?;
        let bound = rep.bound.map_or("-".to_string(), |b| format!("{b:.6}"));
        let line = format!(
            "status={} {} bound={bound} solve_s={solve_s:.3} reason=\"{}\"{}",
            rep.status,
            episode_metrics(&ev),
            rep.reason,
            per_slot_field(&ev, a.per_slot)
        );
        (rep.decisions, line)
    } else {
        if a.flags.time_limit.is_some() {
            bail!("--time-limit applies to `hindsight` only");
        }
        let mut policy = create_policy(&a.policy)?;
        if let (Some(path), Some(sites)) = (&a.holdings_from, &a.sites) {
            use dnnrm::solvers::online::counterfactual::{Borrowing, Sites};
            let sites = Sites::parse(sites).map_err(|e| anyhow::anyhow!("--sites: {e}"))?;
            let plan = dnnrm::io::read_decisions(path)?;
            policy = Box::new(
                Borrowing::of_plan(policy, plan, sites, &ep)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
            );
        }
        let run = run_online(policy.as_mut(), &ep, a.seed).map_err(anyhow::Error::from)?;
        let line = format!(
            "status=heuristic {} decide_p50_ms={:.3} decide_p95_ms={:.3} reset_s={:.3}{}",
            episode_metrics(&run.evaluation),
            quantile(&run.decision_s, 0.5) * 1e3,
            quantile(&run.decision_s, 0.95) * 1e3,
            run.reset_s,
            per_slot_field(&run.evaluation, a.per_slot)
        );
        (run.decisions, line)
    };
    if let Some(out) = &a.out {
        let d = dnnrm::model::EpisodeDecisions {
            format_version: dnnrm::model::EPISODE_FORMAT_VERSION,
            episode: ep.id.clone(),
            policy: a.policy.clone(),
            slots: decisions,
        };
        write_json_atomic(out, &d)?;
    }
    out!("policy={} episode={} {metrics}", a.policy, ep.id);
    Ok(ExitCode::SUCCESS)
}

fn cmd_export_milp(episode: &Path, out: &Path) -> Result<ExitCode> {
    let ep = dnnrm::io::read_episode(episode)?;
    let index = dnnrm::solvers::Hindsight::default().export(&ep, out)?;
    for b in &index.blocks {
        out!(
            "block={} edges={} columns={} rows={} file={}",
            b.block,
            b.edges.iter().map(|m| m.to_string()).collect::<Vec<_>>().join(";"),
            b.columns,
            b.rows,
            out.join(&b.model).display()
        );
    }
    out!(
        "episode={} scored_tasks={} index={}",
        index.episode,
        index.scored_tasks,
        out.join("milp.json").display()
    );
    Ok(ExitCode::SUCCESS)
}

fn cmd_validate_episode(episode: &Path, decisions: &Path, per_slot: bool) -> Result<ExitCode> {
    let ep = dnnrm::io::read_episode(episode)?;
    let d = dnnrm::io::read_decisions(decisions)?;
    match dnnrm::model::evaluate_episode(&ep, &d.slots) {
        Ok(ev) => {
            out!("valid: {}{}", episode_metrics(&ev), per_slot_field(&ev, per_slot));
            Ok(ExitCode::SUCCESS)
        }
        Err(v) => {
            eprintln!("invalid: {v}");
            Ok(ExitCode::FAILURE)
        }
    }
}

fn cmd_bench_online(a: BenchOnlineArgs) -> Result<ExitCode> {
    set_jobs(a.jobs)?;
    let sets: Vec<String> = if a.sets == "all" {
        dnnrm::bench::sets::available_online_sets(&a.instances_dir)
    } else {
        a.sets.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
    };
    for set in &sets {
        dnnrm::io::csvfiles::check_id(set)
            .map_err(|e| anyhow::anyhow!("--sets: {}", e.replacen("id", "set name", 1)))?;
    }
    let policies: Vec<String> = if a.policies == "all" {
        policies().iter().map(|p| p.name.to_string()).collect()
    } else {
        a.policies.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
    };
    let cfg = dnnrm::bench::online::OnlineSuiteConfig {
        instances_dir: a.instances_dir,
        out_dir: a.out_dir,
        sets,
        policies,
        models_dir: a.models_dir,
        hindsight: !a.no_hindsight,
        hindsight_cache_only: false,
        hindsight_recheck: a.recheck_hindsight,
        hindsight_time_limit: match a.time_limit {
            Some(t) if !(t.is_finite() && t > 0.0) => {
                bail!("--time-limit must be a positive number of seconds, got {t}")
            }
            t => t.map(Duration::from_secs_f64),
        },
        fresh: a.fresh,
        command: std::env::args().collect::<Vec<_>>().join(" "),
    };
    Ok(if online_suite(&cfg)? { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// The offline yardstick of episodes, when asked for.
fn hindsight_solver(wanted: bool) -> Option<Box<dyn dnnrm::solver::online::EpisodeSolver>> {
    wanted.then(|| {
        Box::new(dnnrm::solvers::Hindsight::default()) as Box<dyn dnnrm::solver::online::EpisodeSolver>
    })
}
