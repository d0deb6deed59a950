//! The evaluator: checks every constraint of MODEL.md §4 and computes the objective of
//! §5. It is the only place the objective is computed.

use serde::Serialize;

use super::delay;
use super::instance::Instance;
use super::meets_deadline;
use super::solution::{Decision, Location, Solution};

/// Numerical slack on storage sums (MB), so that a cache filled exactly to capacity
/// with decimal sizes is not rejected for rounding.
const STORAGE_EPS_MB: f64 = 1e-9;

/// Relative slack on storage sums: a solver that adds sizes in another order than the
/// evaluator (which sums in model-index order) may differ by a few ulps, which exceed
/// [`STORAGE_EPS_MB`] once capacities reach about 1e7 MB.
const STORAGE_RTOL: f64 = 1e-12;

/// `used <= cap` up to the storage slack.
fn storage_fits(used_mb: f64, cap_mb: f64) -> bool {
    used_mb <= cap_mb + STORAGE_EPS_MB + cap_mb * STORAGE_RTOL
}

/// A broken constraint, naming the task or server.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Violation {
    #[error("solution format_version {found} is not supported (expected {expected})")]
    FormatVersion { found: u32, expected: u32 },
    #[error("solution shape: {field} has {found} entries, the instance needs {expected}")]
    Shape { field: &'static str, found: usize, expected: usize },
    #[error("{place}: model index {model} does not exist (the zoo has {zoo} models)")]
    UnknownModel { place: String, model: usize, zoo: usize },
    #[error("{place}: model {model} listed twice")]
    DuplicateModel { place: String, model: usize },
    #[error("storage (§4.1): device {device} stores {used_mb:.3} MB > capacity {cap_mb:.3} MB")]
    DeviceStorage { device: usize, used_mb: f64, cap_mb: f64 },
    #[error("storage (§4.1): edge server {edge} caches {used_mb:.3} MB > capacity {cap_mb:.3} MB")]
    EdgeCache { edge: usize, used_mb: f64, cap_mb: f64 },
    #[error("placement (§9.4): {place} holds model {model}, which is not resident there")]
    NotResident { place: String, model: usize },
    #[error("service: task {task} needs service {needed}, model {model} serves {serves}")]
    WrongService { task: usize, model: usize, needed: String, serves: String },
    #[error(
        "placement (§4.2): task {task} runs locally with model {model}, which device {task} does not store"
    )]
    ModelNotOnDevice { task: usize, model: usize },
    #[error("placement (§4.2): task {task} runs on edge server {edge} with model {model}, which it does not cache")]
    ModelNotCached { task: usize, edge: usize, model: usize },
    #[error(
        "resource range (§2): task {task} at {location} has {rbs} RBs and {units} compute units ({rule})"
    )]
    ResourceRange { task: usize, location: Location, rbs: u32, units: u32, rule: &'static str },
    #[error("spectrum (§4.3): edge server {edge} allocates {used} RBs > capacity {cap}")]
    Spectrum { edge: usize, used: u64, cap: u32 },
    #[error("computing (§4.4): edge server {edge} allocates {used} compute units > capacity {cap}")]
    Computing { edge: usize, used: u64, cap: u32 },
    #[error("deadline (§4.5): task {task} at {location} has delay {delay:.6} s > deadline {deadline:.6} s")]
    Deadline { task: usize, location: Location, delay: f64, deadline: f64 },
}

impl Violation {
    /// Short name of the violated constraint, for tables.
    pub fn constraint(&self) -> &'static str {
        match self {
            Violation::FormatVersion { .. } | Violation::Shape { .. } => "format",
            Violation::UnknownModel { .. } | Violation::DuplicateModel { .. } => "model-index",
            Violation::DeviceStorage { .. } | Violation::EdgeCache { .. } => "storage",
            Violation::WrongService { .. } => "service",
            Violation::ModelNotOnDevice { .. }
            | Violation::ModelNotCached { .. }
            | Violation::NotResident { .. } => "placement",
            Violation::ResourceRange { .. } => "resource-range",
            Violation::Spectrum { .. } => "spectrum",
            Violation::Computing { .. } => "computing",
            Violation::Deadline { .. } => "deadline",
        }
    }
}

/// Outcome of one task.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskOutcome {
    /// `None` when rejected.
    pub location: Option<Location>,
    pub accuracy: f64,
    /// Delay of the chosen option; `None` when rejected.
    pub delay_s: Option<f64>,
}

/// Number of tasks per location.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LocationCounts {
    pub local: usize,
    pub edge: usize,
    pub cloud: usize,
    pub rejected: usize,
}

/// The evaluation of a valid solution.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// `A`: average accuracy over all tasks, rejected tasks counting 0.
    pub objective: f64,
    pub served_fraction: f64,
    pub counts: LocationCounts,
    /// Allocated RBs over all RBs of all edge servers.
    pub rb_utilisation: f64,
    /// Allocated compute units over all units of all edge servers.
    pub compute_utilisation: f64,
    pub tasks: Vec<TaskOutcome>,
}

fn check_models(place: String, models: &[usize], zoo: usize) -> Result<(), Violation> {
    for (i, &k) in models.iter().enumerate() {
        if k >= zoo {
            return Err(Violation::UnknownModel { place, model: k, zoo });
        }
        if models[..i].contains(&k) {
            return Err(Violation::DuplicateModel { place, model: k });
        }
    }
    Ok(())
}

/// Checks every constraint and returns the evaluation, or the first violation found
/// (in the order: format, model indices, storage, per task, capacities).
pub fn evaluate(inst: &Instance, sol: &Solution) -> Result<Evaluation, Violation> {
    if sol.format_version != super::FORMAT_VERSION {
        return Err(Violation::FormatVersion { found: sol.format_version, expected: super::FORMAT_VERSION });
    }
    let (n_tasks, n_edges, zoo) = (inst.devices.len(), inst.edges.len(), inst.models.len());
    for (field, found, expected) in [
        ("edge_cache", sol.edge_cache.len(), n_edges),
        ("device_models", sol.device_models.len(), n_tasks),
        ("decisions", sol.decisions.len(), n_tasks),
    ] {
        if found != expected {
            return Err(Violation::Shape { field, found, expected });
        }
    }
    let size_of = |ks: &[usize]| ks.iter().map(|&k| inst.models[k].size_mb).sum::<f64>();
    for (m, cache) in sol.edge_cache.iter().enumerate() {
        check_models(format!("edge_cache[{m}]"), cache, zoo)?;
        if let Some(&k) = cache.iter().find(|&&k| !inst.edge_may_use(m, k)) {
            return Err(Violation::NotResident { place: format!("edge_cache[{m}]"), model: k });
        }
        let (used_mb, cap_mb) = (size_of(cache), inst.edges[m].cache_mb);
        if !storage_fits(used_mb, cap_mb) {
            return Err(Violation::EdgeCache { edge: m, used_mb, cap_mb });
        }
    }
    for (n, stored) in sol.device_models.iter().enumerate() {
        check_models(format!("device_models[{n}]"), stored, zoo)?;
        if let Some(&k) = stored.iter().find(|&&k| !inst.device_may_use(n, k)) {
            return Err(Violation::NotResident { place: format!("device_models[{n}]"), model: k });
        }
        let (used_mb, cap_mb) = (size_of(stored), inst.devices[n].storage_mb);
        if !storage_fits(used_mb, cap_mb) {
            return Err(Violation::DeviceStorage { device: n, used_mb, cap_mb });
        }
    }

    let mut rbs_used = vec![0u64; n_edges];
    let mut units_used = vec![0u64; n_edges];
    let mut counts = LocationCounts::default();
    let mut tasks = Vec::with_capacity(n_tasks);
    let mut accuracy_sum = 0.0;
    for (n, decision) in sol.decisions.iter().enumerate() {
        let a = match decision {
            Decision::Reject => {
                counts.rejected += 1;
                tasks.push(TaskOutcome { location: None, accuracy: 0.0, delay_s: None });
                continue;
            }
            Decision::Serve(a) => a,
        };
        let dev = &inst.devices[n];
        let m = dev.edge;
        if a.model >= zoo {
            return Err(Violation::UnknownModel { place: format!("decisions[{n}]"), model: a.model, zoo });
        }
        let md = &inst.models[a.model];
        if md.service != dev.task.service {
            return Err(Violation::WrongService {
                task: n,
                model: a.model,
                needed: inst.services[dev.task.service].clone(),
                serves: inst.services[md.service].clone(),
            });
        }
        let range_rule = match a.location {
            Location::Local if a.rbs != 0 || a.units != 0 => Some("local needs 0 RBs and 0 units"),
            Location::Edge if a.rbs == 0 || a.units == 0 => Some("edge needs >= 1 RB and >= 1 unit"),
            Location::Cloud if a.rbs == 0 || a.units != 0 => Some("cloud needs >= 1 RB and 0 units"),
            _ if a.rbs > inst.edges[m].rbs => Some("more RBs than the edge server has"),
            _ if a.units > inst.edges[m].units => Some("more units than the edge server has"),
            _ => None,
        };
        if let Some(rule) = range_rule {
            return Err(Violation::ResourceRange {
                task: n,
                location: a.location,
                rbs: a.rbs,
                units: a.units,
                rule,
            });
        }
        match a.location {
            Location::Local if !sol.device_models[n].contains(&a.model) => {
                return Err(Violation::ModelNotOnDevice { task: n, model: a.model })
            }
            Location::Edge if !sol.edge_cache[m].contains(&a.model) => {
                return Err(Violation::ModelNotCached { task: n, edge: m, model: a.model })
            }
            _ => {}
        }
        let d = delay::delay(inst, n, a);
        if !meets_deadline(d, dev.task.deadline_s) {
            return Err(Violation::Deadline {
                task: n,
                location: a.location,
                delay: d,
                deadline: dev.task.deadline_s,
            });
        }
        rbs_used[m] += u64::from(a.rbs);
        units_used[m] += u64::from(a.units);
        match a.location {
            Location::Local => counts.local += 1,
            Location::Edge => counts.edge += 1,
            Location::Cloud => counts.cloud += 1,
        }
        accuracy_sum += md.accuracy;
        tasks.push(TaskOutcome { location: Some(a.location), accuracy: md.accuracy, delay_s: Some(d) });
    }
    for (m, e) in inst.edges.iter().enumerate() {
        if rbs_used[m] > u64::from(e.rbs) {
            return Err(Violation::Spectrum { edge: m, used: rbs_used[m], cap: e.rbs });
        }
        if units_used[m] > u64::from(e.units) {
            return Err(Violation::Computing { edge: m, used: units_used[m], cap: e.units });
        }
    }
    let total_rbs: u64 = inst.edges.iter().map(|e| u64::from(e.rbs)).sum();
    let total_units: u64 = inst.edges.iter().map(|e| u64::from(e.units)).sum();
    let n = n_tasks as f64;
    Ok(Evaluation {
        objective: accuracy_sum / n,
        served_fraction: (n_tasks - counts.rejected) as f64 / n,
        counts,
        rb_utilisation: rbs_used.iter().sum::<u64>() as f64 / total_rbs as f64,
        compute_utilisation: units_used.iter().sum::<u64>() as f64 / total_units as f64,
        tasks,
    })
}
