//! The functions and classes of the module: generation, solving, evaluation, episodes.
//! Each is a call into the core library with the GIL released around the work.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dnnrm::bench::runner::{run_job, RowContext};
use dnnrm::model::{Episode, EpisodeDecisions, Instance, Solution, EPISODE_FORMAT_VERSION};
use dnnrm::scenario::{DynamicsParams, ScenarioParams};
use dnnrm::solver::online::{run_online, EpisodeSolver};
use dnnrm::solver::{SolveOptions, Solver, SolverSettings};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};
use serde::Serialize;

use crate::errors::{dnnrm_err, episode_violation, msg, violation, violation_err};

/// Registers the functions and classes of this file.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyInstance>()?;
    m.add_class::<PySolution>()?;
    m.add_class::<PyEpisode>()?;
    m.add_function(wrap_pyfunction!(generate, m)?)?;
    m.add_function(wrap_pyfunction!(solve, m)?)?;
    m.add_function(wrap_pyfunction!(evaluate, m)?)?;
    m.add_function(wrap_pyfunction!(solvers, m)?)?;
    m.add_function(wrap_pyfunction!(online_policies, m)?)?;
    m.add_function(wrap_pyfunction!(scenario_parameters, m)?)?;
    m.add_function(wrap_pyfunction!(dynamics_parameters, m)?)?;
    m.add_function(wrap_pyfunction!(generate_episode, m)?)?;
    m.add_function(wrap_pyfunction!(simulate, m)?)?;
    m.add_function(wrap_pyfunction!(hindsight, m)?)?;
    m.add_function(wrap_pyfunction!(evaluate_episode, m)?)?;
    m.add_function(wrap_pyfunction!(rust_solve_seconds, m)?)?;
    Ok(())
}

/// A value of a Python object, serialised by the core's serde types and read back by
/// Python's `json` (dicts, lists, numbers, strings).
pub fn to_py<T: Serialize>(py: Python<'_>, value: &T) -> PyResult<PyObject> {
    let text = serde_json::to_string(value).map_err(|e| dnnrm_err(&e))?;
    Ok(py.import("json")?.call_method1("loads", (text,))?.unbind())
}

/// The text form of a parameter value as the CLI takes it (`str(value)`; booleans are
/// refused: no parameter is a flag).
fn param_text(name: &str, v: &Bound<'_, PyAny>) -> PyResult<String> {
    if v.is_instance_of::<pyo3::types::PyBool>() {
        return Err(msg(format!("parameter `{name}`: expected a number or text, got a boolean")));
    }
    if let Ok(s) = v.downcast::<PyString>() {
        return Ok(s.to_string());
    }
    Ok(v.str()?.to_string())
}

/// Applies a dict of named parameters through a setter that names unknown or bad ones.
fn apply_params<E: std::error::Error>(
    params: Option<&Bound<'_, PyDict>>,
    mut set: impl FnMut(&str, &str) -> Result<(), E>,
) -> PyResult<()> {
    if let Some(d) = params {
        for (k, v) in d.iter() {
            let name: String = k.extract().map_err(|_| msg("parameter names must be strings"))?;
            let text = param_text(&name, &v)?;
            set(&name, &text).map_err(|e| dnnrm_err(&e))?;
        }
    }
    Ok(())
}

/// Scenario parameters (MODEL.md §7) from a dict of `name: value` (the names of
/// `dnnrm generate --help` with `_`), unchecked.
pub fn scenario_params(params: Option<&Bound<'_, PyDict>>) -> PyResult<ScenarioParams> {
    let mut p = ScenarioParams::default();
    apply_params(params, |n, v| p.set(n, v))?;
    Ok(p)
}

/// Episode dynamics (MODEL.md §9.3) from a dict, unchecked.
pub fn dynamics_params(params: Option<&Bound<'_, PyDict>>) -> PyResult<DynamicsParams> {
    let mut p = DynamicsParams::default();
    apply_params(params, |n, v| p.set(n, v))?;
    Ok(p)
}

/// One time slot (MODEL.md §1): the network, the zoo and one task per device.
#[pyclass(module = "dnnrm", name = "Instance", frozen)]
#[derive(Clone)]
pub struct PyInstance {
    pub inner: Arc<Instance>,
}

#[pymethods]
impl PyInstance {
    /// Reads and validates instance JSON text; an impossible value names its field.
    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Self> {
        let inst = dnnrm::io::json::parse_instance(text, Path::new("<json>")).map_err(|e| dnnrm_err(&e))?;
        Ok(PyInstance { inner: Arc::new(inst) })
    }

    /// Reads and validates an instance file (as `dnnrm solve --instance`).
    #[staticmethod]
    fn read(path: PathBuf) -> PyResult<Self> {
        let inst = dnnrm::io::read_instance(&path).map_err(|e| dnnrm_err(&e))?;
        Ok(PyInstance { inner: Arc::new(inst) })
    }

    /// The instance as JSON text (the format of `dnnrm generate`).
    fn to_json(&self) -> PyResult<String> {
        serde_json::to_string(&*self.inner).map_err(|e| dnnrm_err(&e))
    }

    #[getter]
    fn id(&self) -> String {
        self.inner.id.clone()
    }
    #[getter]
    fn n_tasks(&self) -> usize {
        self.inner.n_tasks()
    }
    #[getter]
    fn n_edges(&self) -> usize {
        self.inner.edges.len()
    }
    #[getter]
    fn n_models(&self) -> usize {
        self.inner.models.len()
    }
    /// Model names in index order.
    #[getter]
    fn models(&self) -> Vec<String> {
        self.inner.models.iter().map(|m| m.name.clone()).collect()
    }

    fn __repr__(&self) -> String {
        format!(
            "Instance(id={:?}, tasks={}, edges={}, models={})",
            self.inner.id,
            self.inner.n_tasks(),
            self.inner.edges.len(),
            self.inner.models.len()
        )
    }
}

/// A solution (placement and one decision per task) and, when it comes from `solve`,
/// the run's report: the evaluator's objective, the solver's bound, status and stats.
#[pyclass(module = "dnnrm", name = "Solution", frozen)]
#[derive(Clone)]
pub struct PySolution {
    pub inner: Arc<Solution>,
    solver: Option<String>,
    status: Option<String>,
    reason: Option<String>,
    objective: Option<f64>,
    bound: Option<f64>,
    served_fraction: Option<f64>,
    wall_s: Option<f64>,
    stats: BTreeMap<String, f64>,
}

impl PySolution {
    fn bare(sol: Solution) -> Self {
        PySolution {
            inner: Arc::new(sol),
            solver: None,
            status: None,
            reason: None,
            objective: None,
            bound: None,
            served_fraction: None,
            wall_s: None,
            stats: BTreeMap::new(),
        }
    }
}

#[pymethods]
impl PySolution {
    /// Reads solution JSON text (its consistency with an instance is `evaluate`'s job).
    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Self> {
        let sol = dnnrm::io::json::parse_solution(text, Path::new("<json>")).map_err(|e| dnnrm_err(&e))?;
        Ok(Self::bare(sol))
    }

    /// The solution as JSON text (the format of `dnnrm solve --out`).
    fn to_json(&self) -> PyResult<String> {
        serde_json::to_string(&*self.inner).map_err(|e| dnnrm_err(&e))
    }

    /// The solution as a dict (`edge_cache`, `device_models`, `decisions`).
    fn to_dict(&self, py: Python<'_>) -> PyResult<PyObject> {
        to_py(py, &*self.inner)
    }

    /// Name of the solver that produced it (`None` when read from JSON).
    #[getter]
    fn solver(&self) -> Option<String> {
        self.solver.clone()
    }
    /// `optimal`, `gap-limit`, `heuristic`, `time-limit`, `no-solution` or `fallback`.
    #[getter]
    fn status(&self) -> Option<String> {
        self.status.clone()
    }
    /// The solver's reason for its status.
    #[getter]
    fn reason(&self) -> Option<String> {
        self.reason.clone()
    }
    /// `A`, computed by the evaluator.
    #[getter]
    fn objective(&self) -> Option<f64> {
        self.objective
    }
    /// The solver's upper bound on `A` (exact solvers), if any.
    #[getter]
    fn bound(&self) -> Option<f64> {
        self.bound
    }
    #[getter]
    fn served_fraction(&self) -> Option<f64> {
        self.served_fraction
    }
    /// Wall time of the solve calls, s (measured by the runner, evaluation excluded).
    #[getter]
    fn wall_s(&self) -> Option<f64> {
        self.wall_s
    }
    /// The solver's statistics (e.g. `nodes`, `build_s`, `gap` for the MILP).
    #[getter]
    fn stats(&self) -> BTreeMap<String, f64> {
        self.stats.clone()
    }

    fn __repr__(&self) -> String {
        match (&self.solver, &self.status, self.objective) {
            (Some(s), Some(st), Some(o)) => format!(
                "Solution(solver={s:?}, status={st:?}, objective={o:.6}, bound={})",
                self.bound.map_or("None".to_string(), |b| format!("{b:.6}"))
            ),
            _ => format!("Solution(tasks={})", self.inner.decisions.len()),
        }
    }
}

/// An episode (MODEL.md §9): the network, the initial placement and the trace.
#[pyclass(module = "dnnrm", name = "Episode", frozen)]
#[derive(Clone)]
pub struct PyEpisode {
    pub inner: Arc<Episode>,
}

/// Parses and validates episode JSON; `source` names it in errors.
pub fn parse_episode(text: &str, source: &Path) -> PyResult<Episode> {
    dnnrm::io::json::parse_episode(text, source).map_err(|e| dnnrm_err(&e))
}

#[pymethods]
impl PyEpisode {
    /// Reads and validates episode JSON text.
    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Self> {
        Ok(PyEpisode { inner: Arc::new(parse_episode(text, Path::new("<json>"))?) })
    }

    /// Reads and validates an episode file (as `dnnrm simulate --episode`).
    #[staticmethod]
    fn read(path: PathBuf) -> PyResult<Self> {
        Ok(PyEpisode { inner: Arc::new(dnnrm::io::read_episode(&path).map_err(|e| dnnrm_err(&e))?) })
    }

    /// The episode as JSON text (the format of `dnnrm generate-episode`).
    fn to_json(&self) -> PyResult<String> {
        serde_json::to_string(&*self.inner).map_err(|e| dnnrm_err(&e))
    }

    #[getter]
    fn id(&self) -> String {
        self.inner.id.clone()
    }
    #[getter]
    fn n_slots(&self) -> usize {
        self.inner.slots.len()
    }
    #[getter]
    fn n_devices(&self) -> usize {
        self.inner.network.devices.len()
    }
    #[getter]
    fn n_edges(&self) -> usize {
        self.inner.network.edges.len()
    }
    #[getter]
    fn n_models(&self) -> usize {
        self.inner.network.models.len()
    }
    /// Tasks over all slots.
    #[getter]
    fn n_tasks(&self) -> usize {
        self.inner.slots.iter().map(|s| s.tasks.len()).sum()
    }

    /// The instance of slot `t` with the placement free (the static problem of §1-§8).
    fn slot_instance(&self, t: usize) -> PyResult<PyInstance> {
        let slot = self.inner.slots.get(t).ok_or_else(|| {
            msg(format!("slot {t} does not exist (the episode has {} slots)", self.inner.slots.len()))
        })?;
        let inst = self.inner.network.slot_instance(slot, None, &format!("{}-slot{t}", self.inner.id));
        Ok(PyInstance { inner: Arc::new(inst) })
    }

    fn __repr__(&self) -> String {
        format!(
            "Episode(id={:?}, slots={}, devices={}, edges={}, models={})",
            self.inner.id,
            self.inner.slots.len(),
            self.inner.network.devices.len(),
            self.inner.network.edges.len(),
            self.inner.network.models.len()
        )
    }
}

/// Generates one instance of the scenario `params` (a dict of scenario parameters,
/// defaults for the others) with `seed`: the same instance as `dnnrm generate`.
#[pyfunction]
#[pyo3(signature = (params = None, seed = 0, id = None))]
fn generate(
    py: Python<'_>,
    params: Option<&Bound<'_, PyDict>>,
    seed: u64,
    id: Option<String>,
) -> PyResult<PyInstance> {
    let sc = scenario_params(params)?.check().map_err(|e| dnnrm_err(&e))?;
    let id = id.unwrap_or_else(|| format!("seed{seed}"));
    dnnrm::io::csvfiles::check_id(&id).map_err(|e| msg(format!("id: {e}")))?;
    let inst = py.allow_threads(|| dnnrm::scenario::generate(&sc, seed, &id));
    Ok(PyInstance { inner: Arc::new(inst) })
}

/// The run options of `solve`, checked as the CLI checks its flags.
fn solve_options(seed: u64, time_limit: Option<f64>, threads: usize) -> PyResult<SolveOptions> {
    let time_limit = match time_limit {
        Some(t) if !(t.is_finite() && t > 0.0) => {
            return Err(msg(format!("time_limit must be a positive number of seconds, got {t}")))
        }
        t => t.map(Duration::from_secs_f64),
    };
    if threads == 0 {
        return Err(msg("threads must be at least 1"));
    }
    Ok(SolveOptions { seed, time_limit, threads })
}

/// A solver and its optional fallback.
type SolverPair = (Box<dyn Solver>, Option<Box<dyn Solver>>);

/// The solver and fallback of a solve, built from the registry (settings checked).
fn build_solvers(solver: &str, settings: &SolverSettings, fallback: Option<&str>) -> PyResult<SolverPair> {
    let s = dnnrm::solvers::create(solver, settings).map_err(|e| dnnrm_err(&e))?;
    let fb = match fallback {
        Some(f) if f == solver => return Err(msg(format!("fallback cannot be the solver itself (`{f}`)"))),
        Some(f) => Some(dnnrm::solvers::create(f, &SolverSettings::default()).map_err(|e| dnnrm_err(&e))?),
        None => None,
    };
    Ok((s, fb))
}

/// Solves `instance` with a registered solver through the runner of `dnnrm solve`
/// (timed, judged by the evaluator, with the optional fallback). Raises `DnnrmError`
/// with the runner's message when the solver fails or its answer is rejected.
#[pyfunction]
#[pyo3(signature = (instance, solver = "milp", *, seed = 0, time_limit = None, threads = 1,
                    mip_gap = None, warm_start = false, checkpoint = None, fallback = None))]
#[allow(clippy::too_many_arguments)]
fn solve(
    py: Python<'_>,
    instance: &PyInstance,
    solver: &str,
    seed: u64,
    time_limit: Option<f64>,
    threads: usize,
    mip_gap: Option<f64>,
    warm_start: bool,
    checkpoint: Option<PathBuf>,
    fallback: Option<String>,
) -> PyResult<PySolution> {
    let opts = solve_options(seed, time_limit, threads)?;
    let settings = SolverSettings { checkpoint, mip_rel_gap: mip_gap, warm_start };
    let inst = instance.inner.clone();
    let solver = solver.to_string();
    let (row, report) = py.allow_threads(move || -> PyResult<_> {
        let (s, fb) = build_solvers(&solver, &settings, fallback.as_deref())?;
        Ok(run_job(&inst, s.as_ref(), fb.as_deref(), &opts, &RowContext::default()))
    })?;
    let report = match report.filter(|_| row.ok()) {
        Some(r) => r,
        None => return Err(msg(format!("solver `{}`: {}", row.solver, row.message))),
    };
    Ok(PySolution {
        inner: Arc::new(report.solution),
        solver: Some(row.solver),
        status: Some(row.status.as_str().to_string()),
        reason: Some(report.reason),
        objective: row.objective,
        bound: report.bound,
        served_fraction: row.served_fraction,
        wall_s: Some(row.wall_s),
        stats: report.stats,
    })
}

/// The Rust path of `solve`, for the overhead benchmark: `repeats` times, builds the
/// solver and runs it through the same runner without returning to Python; the wall
/// time of each repeat, s.
#[pyfunction]
#[pyo3(signature = (instance, solver = "milp", repeats = 1, *, seed = 0, threads = 1))]
fn rust_solve_seconds(
    py: Python<'_>,
    instance: &PyInstance,
    solver: &str,
    repeats: usize,
    seed: u64,
    threads: usize,
) -> PyResult<Vec<f64>> {
    let opts = solve_options(seed, None, threads)?;
    let inst = instance.inner.clone();
    py.allow_threads(move || {
        let mut out = Vec::with_capacity(repeats);
        for _ in 0..repeats {
            let start = Instant::now();
            let (s, _) = build_solvers(solver, &SolverSettings::default(), None)?;
            let (row, report) = run_job(&inst, s.as_ref(), None, &opts, &RowContext::default());
            if report.is_none() || !row.ok() {
                return Err(msg(format!("solver `{solver}`: {}", row.message)));
            }
            out.push(start.elapsed().as_secs_f64());
        }
        Ok(out)
    })
}

/// Judges `solution` on `instance` with the evaluator (the only judge of `A`): a dict
/// of the evaluation, or `ConstraintViolation` naming the violated constraint.
#[pyfunction]
fn evaluate(py: Python<'_>, instance: &PyInstance, solution: &Bound<'_, PyAny>) -> PyResult<PyObject> {
    let sol: Arc<Solution> = if let Ok(s) = solution.downcast::<PySolution>() {
        s.get().inner.clone()
    } else if let Ok(text) = solution.extract::<String>() {
        Arc::new(dnnrm::io::json::parse_solution(&text, Path::new("<json>")).map_err(|e| dnnrm_err(&e))?)
    } else {
        return Err(msg("solution must be a dnnrm.Solution or solution JSON text"));
    };
    let inst = instance.inner.clone();
    let ev = py.allow_threads(move || dnnrm::model::evaluate(&inst, &sol)).map_err(|v| violation(&v))?;
    to_py(py, &ev)
}

/// Every registered solver: name, description, family, learned, the settings it takes.
#[pyfunction]
fn solvers(py: Python<'_>) -> PyResult<Bound<'_, PyList>> {
    let list = PyList::empty(py);
    for s in dnnrm::solvers::registry() {
        let d = PyDict::new(py);
        d.set_item("name", s.name)?;
        d.set_item("description", s.description)?;
        d.set_item("family", s.family.as_str())?;
        d.set_item("learned", s.learned)?;
        let settings: Vec<String> =
            s.settings.iter().map(|x| x.flag().trim_start_matches("--").replace('-', "_")).collect();
        d.set_item("settings", settings)?;
        list.append(d)?;
    }
    Ok(list)
}

/// Every registered online policy: name, description, tunable parameters and defaults.
#[pyfunction]
fn online_policies(py: Python<'_>) -> PyResult<Bound<'_, PyList>> {
    let list = PyList::empty(py);
    for p in dnnrm::solvers::online::policies() {
        let d = PyDict::new(py);
        d.set_item("name", p.name)?;
        d.set_item("description", p.description)?;
        let params: Vec<&str> = p.params.iter().map(|x| x.name).collect();
        d.set_item("params", params)?;
        d.set_item("defaults", p.defaults.to_vec())?;
        list.append(d)?;
    }
    Ok(list)
}

/// Scenario parameters with their defaults (text form) and descriptions.
#[pyfunction]
fn scenario_parameters(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    let def = ScenarioParams::default();
    for (name, doc) in dnnrm::scenario::PARAM_NAMES.iter().zip(dnnrm::scenario::params::PARAM_DOCS) {
        d.set_item(*name, (def.get(name).unwrap_or_default(), *doc))?;
    }
    Ok(d)
}

/// Episode dynamics parameters with their defaults (text form) and descriptions.
#[pyfunction]
fn dynamics_parameters(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    let def = DynamicsParams::default();
    for (name, doc) in
        dnnrm::scenario::dynamics::DYNAMICS_NAMES.iter().zip(dnnrm::scenario::dynamics::DYNAMICS_DOCS)
    {
        d.set_item(*name, (def.get(name).unwrap_or_default(), *doc))?;
    }
    Ok(d)
}

/// Generates an episode (MODEL.md §9.3) of the scenario `params` and the dynamics
/// `dynamics` (dicts; defaults for the rest): the same episode as `dnnrm
/// generate-episode` with the same flags and seed.
#[pyfunction]
#[pyo3(signature = (params = None, dynamics = None, seed = 0, id = None))]
fn generate_episode(
    py: Python<'_>,
    params: Option<&Bound<'_, PyDict>>,
    dynamics: Option<&Bound<'_, PyDict>>,
    seed: u64,
    id: Option<String>,
) -> PyResult<PyEpisode> {
    let sc = scenario_params(params)?.check().map_err(|e| dnnrm_err(&e))?;
    let dy = dynamics_params(dynamics)?.check().map_err(|e| dnnrm_err(&e))?;
    let id = id.unwrap_or_else(|| format!("episode{seed}"));
    dnnrm::io::csvfiles::check_id(&id).map_err(|e| msg(format!("id: {e}")))?;
    let ep = py.allow_threads(|| dnnrm::solvers::online::generate_episode(&sc, &dy, seed, &id));
    Ok(PyEpisode { inner: Arc::new(ep) })
}

/// Decisions from the JSON text of `dnnrm simulate --out`, of a supported version.
fn parse_decisions(text: &str) -> PyResult<EpisodeDecisions> {
    let d: EpisodeDecisions = serde_json::from_str(text).map_err(|e| msg(format!("decisions: {e}")))?;
    if d.format_version != EPISODE_FORMAT_VERSION {
        return Err(msg(format!(
            "decisions: format_version {} is not supported (expected {EPISODE_FORMAT_VERSION})",
            d.format_version
        )));
    }
    Ok(d)
}

/// The decisions of a run as the JSON of `dnnrm simulate --out`.
fn decisions_json(ep: &Episode, policy: &str, slots: Vec<dnnrm::model::SlotDecision>) -> PyResult<String> {
    let d = EpisodeDecisions {
        format_version: EPISODE_FORMAT_VERSION,
        episode: ep.id.clone(),
        policy: policy.to_string(),
        slots,
    };
    serde_json::to_string(&d).map_err(|e| dnnrm_err(&e))
}

/// Runs an online policy over `episode` through the runner of `dnnrm simulate` (one
/// slot at a time, every decision replayed by the episode evaluator). A dict: the
/// episode evaluation (`objective` is `A_ep`), `decision_s` per slot, `reset_s`, and
/// `decisions` (JSON text). `policy="hindsight"` returns `hindsight(episode)`.
/// `holdings_from` (decisions JSON text, e.g. `hindsight(episode)["decisions"]`) and
/// `sites` (`"edges"`, `"devices"`, `"device:N"`, comma-separated) make it the
/// counterfactual replay of `dnnrm simulate --holdings-from --sites`.
#[pyfunction]
#[pyo3(signature = (policy, episode, seed = 0, holdings_from = None, sites = None))]
fn simulate(
    py: Python<'_>,
    policy: &str,
    episode: &PyEpisode,
    seed: u64,
    holdings_from: Option<&str>,
    sites: Option<&str>,
) -> PyResult<PyObject> {
    use dnnrm::solvers::online::counterfactual::{Borrowing, Sites};
    let borrow = match (holdings_from, sites) {
        (None, None) => None,
        (Some(text), Some(sites)) => {
            if policy == "hindsight" {
                return Err(msg("holdings_from replays an online policy, not `hindsight`"));
            }
            let sites = Sites::parse(sites).map_err(|e| msg(format!("sites: {e}")))?;
            Some((parse_decisions(text)?, sites))
        }
        _ => return Err(msg("holdings_from and sites go together")),
    };
    if policy == "hindsight" {
        return hindsight(py, episode, None, 1, 0.0, seed);
    }
    let ep = episode.inner.clone();
    let name = policy.to_string();
    let run = py.allow_threads(|| -> PyResult<_> {
        let mut p = dnnrm::solvers::online::create_policy(&name).map_err(|e| dnnrm_err(&e))?;
        if let Some((plan, sites)) = borrow {
            p = Box::new(
                Borrowing::of_plan(p, plan, sites, &ep).map_err(|e| msg(format!("holdings_from: {e}")))?,
            );
        }
        run_online(p.as_mut(), &ep, seed).map_err(|e| match &e {
            dnnrm::solver::online::RunError::Invalid { source, .. } => {
                violation_err(format!("policy `{name}` broke a rule: {source}"), source.rule())
            }
            _ => dnnrm_err(&e),
        })
    })?;
    let out = to_py(py, &run.evaluation)?;
    let d = out.downcast_bound::<PyDict>(py)?;
    d.set_item("policy", policy)?;
    d.set_item("decision_s", run.decision_s.clone())?;
    d.set_item("reset_s", run.reset_s)?;
    d.set_item("decisions", decisions_json(&ep, policy, run.decisions)?)?;
    Ok(out)
}

/// The hindsight optimum of `episode` (MODEL.md §9.4): the exact time-expanded MILP,
/// solved by HiGHS; its plan is replayed by the episode evaluator. A dict: the
/// evaluation (`objective`), `status`, `bound`, `reason`, `stats`, `solve_s` and
/// `decisions` (JSON text).
#[pyfunction]
#[pyo3(signature = (episode, time_limit = None, threads = 1, mip_gap = 0.0, seed = 0))]
fn hindsight(
    py: Python<'_>,
    episode: &PyEpisode,
    time_limit: Option<f64>,
    threads: usize,
    mip_gap: f64,
    seed: u64,
) -> PyResult<PyObject> {
    let opts = solve_options(seed, time_limit, threads)?;
    let ep = episode.inner.clone();
    let (rep, ev, solve_s) = py.allow_threads(|| -> PyResult<_> {
        let h = dnnrm::solvers::Hindsight::new(mip_gap).map_err(|e| dnnrm_err(&e))?;
        let start = Instant::now();
        let rep = h.solve_episode(&ep, &opts).map_err(|e| dnnrm_err(&e))?;
        let solve_s = start.elapsed().as_secs_f64();
        let ev = dnnrm::model::evaluate_episode(&ep, &rep.decisions)
            .map_err(|v| msg(format!("the hindsight plan breaks a rule: {v}")))?;
        Ok((rep, ev, solve_s))
    })?;
    let out = to_py(py, &ev)?;
    let d = out.downcast_bound::<PyDict>(py)?;
    d.set_item("policy", "hindsight")?;
    d.set_item("status", rep.status.as_str())?;
    d.set_item("bound", rep.bound)?;
    d.set_item("reason", &rep.reason)?;
    d.set_item("stats", rep.stats.clone())?;
    d.set_item("solve_s", solve_s)?;
    d.set_item("decisions", decisions_json(&ep, "hindsight", rep.decisions)?)?;
    Ok(out)
}

/// Replays decisions (JSON text of `dnnrm simulate --out`, or the `decisions` of
/// `simulate`) on `episode` with the episode evaluator: the evaluation, or
/// `ConstraintViolation` naming the slot, the site or task and the rule.
#[pyfunction]
fn evaluate_episode(py: Python<'_>, episode: &PyEpisode, decisions: &str) -> PyResult<PyObject> {
    let d = parse_decisions(decisions)?;
    let ep = episode.inner.clone();
    let ev = py
        .allow_threads(move || dnnrm::model::evaluate_episode(&ep, &d.slots))
        .map_err(|v| episode_violation(&v))?;
    to_py(py, &ev)
}
