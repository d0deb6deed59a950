//! The episode evaluator (MODEL.md §9.2): replays a policy's decisions slot by slot,
//! checks every rule (placement storage, residency, download volume, and §4 inside each
//! slot through [`evaluate`]) and computes `A_ep`. It is the only place `A_ep` is
//! computed; the online runner steps the same [`Replay`].

use serde::Serialize;

use super::episode::{Download, Episode, Holdings, PlacementState, SlotDecision, Store};
use super::evaluate::{evaluate, Violation};

/// Slack on storage sums and download volumes, MB (as the slot evaluator's storage slack).
const MB_EPS: f64 = 1e-9;

/// A site of the placement state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Site {
    Edge(usize),
    Device(usize),
}

impl std::fmt::Display for Site {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Site::Edge(m) => write!(f, "edge server {m}"),
            Site::Device(n) => write!(f, "device {n}"),
        }
    }
}

/// A broken rule of §9, naming the slot and the server, device or task.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EpisodeViolation {
    #[error("decisions: {found} slots decided, the episode has {expected}")]
    SlotCount { found: usize, expected: usize },
    #[error("slot {slot}: hold: {field} has {found} lists, the network needs {expected}")]
    HoldShape { slot: usize, field: &'static str, found: usize, expected: usize },
    #[error("slot {slot}: hold of {site}: {reason}")]
    HoldModels { slot: usize, site: Site, reason: String },
    #[error("slot {slot}: storage (§9.1): {site} holds {used_mb:.3} MB (resident and downloading) > capacity {cap_mb:.3} MB")]
    Storage { slot: usize, site: Site, used_mb: f64, cap_mb: f64 },
    #[error("slot {slot}: downloads of {site}: {reason}")]
    Downloads { slot: usize, site: Site, reason: String },
    #[error(
        "slot {slot}: assignment (task i is the slot's task i; task {task} is device {device}): {violation}"
    )]
    Assignment { slot: usize, task: usize, device: usize, violation: Violation },
    #[error("slot {slot}: assignment: {violation}")]
    SlotAssignment { slot: usize, violation: Violation },
}

impl EpisodeViolation {
    /// Short name of the broken rule, for tables.
    pub fn rule(&self) -> &'static str {
        match self {
            EpisodeViolation::SlotCount { .. } | EpisodeViolation::HoldShape { .. } => "format",
            EpisodeViolation::HoldModels { .. } => "model-index",
            EpisodeViolation::Storage { .. } => "storage",
            EpisodeViolation::Downloads { .. } => "download",
            EpisodeViolation::Assignment { violation, .. }
            | EpisodeViolation::SlotAssignment { violation, .. } => violation.constraint(),
        }
    }
}

/// What one slot gave.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlotOutcome {
    /// Number of tasks.
    pub tasks: usize,
    /// Sum of the served tasks' accuracies.
    pub accuracy_sum: f64,
    /// Served tasks.
    pub served: usize,
    /// Megabytes received over all sites.
    pub downloaded_mb: f64,
    /// Models evicted (resident or downloading) over all sites.
    pub evictions: usize,
    /// True when the slot counts in `A_ep` (slot index `>= W`).
    pub scored: bool,
}

impl SlotOutcome {
    /// `A(t)`: mean accuracy of the slot's tasks (0 when it has none).
    pub fn objective(&self) -> f64 {
        if self.tasks == 0 {
            0.0
        } else {
            self.accuracy_sum / self.tasks as f64
        }
    }
}

/// The evaluation of a valid run of an episode.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpisodeEvaluation {
    /// `A_ep`: mean accuracy over the tasks of the scored slots.
    pub objective: f64,
    /// Served tasks over all tasks of the scored slots.
    pub served_fraction: f64,
    /// `A(t)` of every slot (scored or not).
    pub per_slot: Vec<f64>,
    /// Megabytes downloaded per edge server, and over all devices.
    pub edge_downloaded_mb: Vec<f64>,
    pub device_downloaded_mb: f64,
    pub evictions: usize,
    /// Tasks in the scored slots.
    pub scored_tasks: usize,
}

/// The replay of an episode: the placement state and the running totals. Call
/// [`Replay::step`] once per slot, in order, then [`Replay::finish`].
#[derive(Debug, Clone)]
pub struct Replay<'a> {
    ep: &'a Episode,
    state: PlacementState,
    t: usize,
    per_slot: Vec<f64>,
    scored_sum: f64,
    scored_tasks: usize,
    scored_served: usize,
    edge_mb: Vec<f64>,
    device_mb: f64,
    evictions: usize,
}

fn size_sum(ep: &Episode, ks: &[usize]) -> f64 {
    ks.iter().map(|&k| ep.network.models[k].size_mb).sum()
}

impl<'a> Replay<'a> {
    /// Starts a replay from the episode's initial state. The episode must be valid.
    pub fn new(ep: &'a Episode) -> Self {
        Replay {
            ep,
            state: ep.initial.clone(),
            t: 0,
            per_slot: Vec::with_capacity(ep.slots.len()),
            scored_sum: 0.0,
            scored_tasks: 0,
            scored_served: 0,
            edge_mb: vec![0.0; ep.network.edges.len()],
            device_mb: 0.0,
            evictions: 0,
        }
    }

    /// The placement state at the start of the next slot.
    pub fn state(&self) -> &PlacementState {
        &self.state
    }

    /// The index of the next slot.
    pub fn slot(&self) -> usize {
        self.t
    }

    /// True when every slot has been played.
    pub fn done(&self) -> bool {
        self.t >= self.ep.slots.len()
    }

    /// Plays the next slot with `d`: placement change, assignment, downloads (§9.2).
    /// On a violation the replay is left unchanged.
    pub fn step(&mut self, d: &SlotDecision) -> Result<SlotOutcome, EpisodeViolation> {
        let t = self.t;
        let ep = self.ep;
        let net = &ep.network;
        if t >= ep.slots.len() {
            return Err(EpisodeViolation::SlotCount { found: t + 1, expected: ep.slots.len() });
        }
        let slot = &ep.slots[t];
        // Step 2: placement change.
        for (field, found, expected) in [
            ("edges", d.hold.edges.len(), net.edges.len()),
            ("devices", d.hold.devices.len(), net.devices.len()),
        ] {
            if found != expected {
                return Err(EpisodeViolation::HoldShape { slot: t, field, found, expected });
            }
        }
        let mut next = self.state.clone();
        let mut evictions = 0;
        let sites = next
            .edges
            .iter_mut()
            .enumerate()
            .map(|(m, s)| (Site::Edge(m), &d.hold.edges[m], s, net.edges[m].cache_mb))
            .chain(
                next.devices
                    .iter_mut()
                    .enumerate()
                    .map(|(n, s)| (Site::Device(n), &d.hold.devices[n], s, net.devices[n].storage_mb)),
            );
        let (mut kept_edges, mut kept_devices) = (Vec::new(), Vec::new());
        for (site, hold, store, cap) in sites {
            super::episode::check_model_list("hold", hold, net.models.len())
                .map_err(|e| EpisodeViolation::HoldModels { slot: t, site, reason: e.reason })?;
            let used_mb = size_sum(ep, hold);
            if used_mb > cap + MB_EPS + cap * 1e-12 {
                return Err(EpisodeViolation::Storage { slot: t, site, used_mb, cap_mb: cap });
            }
            evictions += store.held().iter().filter(|k| !hold.contains(k)).count();
            let resident: Vec<usize> = store.resident.iter().copied().filter(|k| hold.contains(k)).collect();
            let mut downloading: Vec<Download> =
                store.downloading.iter().copied().filter(|x| hold.contains(&x.model)).collect();
            let mut new: Vec<usize> = hold.iter().copied().filter(|&k| !store.holds(k)).collect();
            new.sort_unstable();
            downloading.extend(new.into_iter().map(|model| Download { model, received_mb: 0.0 }));
            match site {
                Site::Edge(_) => kept_edges.push(resident.clone()),
                Site::Device(_) => kept_devices.push(resident.clone()),
            }
            *store = Store { resident, downloading };
        }
        // Step 3: assignment on the models resident at the start and kept.
        let kept = Holdings { edges: kept_edges, devices: kept_devices };
        let (mut accuracy_sum, mut served) = (0.0, 0);
        if slot.tasks.is_empty() {
            let s = &d.solution;
            if !s.decisions.is_empty() || !s.device_models.is_empty() {
                return Err(EpisodeViolation::SlotAssignment {
                    slot: t,
                    violation: Violation::Shape {
                        field: "decisions",
                        found: s.decisions.len().max(s.device_models.len()),
                        expected: 0,
                    },
                });
            }
        } else {
            let inst = net.slot_instance(slot, Some(&kept), "");
            let eval = evaluate(&inst, &d.solution).map_err(|violation| match task_of(&violation) {
                Some(task) if task < slot.tasks.len() => {
                    EpisodeViolation::Assignment { slot: t, task, device: slot.tasks[task].device, violation }
                }
                _ => EpisodeViolation::SlotAssignment { slot: t, violation },
            })?;
            for o in &eval.tasks {
                if o.location.is_some() {
                    served += 1;
                    accuracy_sum += o.accuracy;
                }
            }
        }
        // Step 4: downloads progress.
        let plan = d.downloads.as_ref();
        let mut downloaded = vec![0.0; net.edges.len() + net.devices.len()];
        for (i, (site, store)) in next
            .edges
            .iter_mut()
            .enumerate()
            .map(|(m, s)| (Site::Edge(m), s))
            .chain(next.devices.iter_mut().enumerate().map(|(n, s)| (Site::Device(n), s)))
            .enumerate()
        {
            let (volume, split) = match site {
                Site::Edge(m) => (net.edge_volume_mb(m), plan.and_then(|p| p.edges.get(m))),
                Site::Device(n) => (net.device_volume_mb(n), plan.and_then(|p| p.devices.get(n))),
            };
            let remaining = |x: &Download| ep.network.models[x.model].size_mb - x.received_mb;
            let mut got = vec![0.0; store.downloading.len()];
            match split.filter(|s| !s.is_empty()) {
                None => {
                    let mut left = volume;
                    for (g, x) in got.iter_mut().zip(&store.downloading) {
                        *g = remaining(x).min(left).max(0.0);
                        left -= *g;
                    }
                }
                Some(split) => {
                    let mut total = 0.0;
                    for &(k, mb) in split {
                        let Some(j) = store.downloading.iter().position(|x| x.model == k) else {
                            return Err(EpisodeViolation::Downloads {
                                slot: t,
                                site,
                                reason: format!("model {k} is not downloading there"),
                            });
                        };
                        let rem = remaining(&store.downloading[j]);
                        if !(mb.is_finite() && mb >= 0.0 && mb <= rem + MB_EPS) || got[j] > 0.0 {
                            return Err(EpisodeViolation::Downloads {
                                slot: t,
                                site,
                                reason: format!(
                                    "model {k} gets {mb} MB; it needs {rem:.6} MB more and may be listed once"
                                ),
                            });
                        }
                        got[j] = mb.min(rem);
                        total += mb;
                    }
                    if total > volume + MB_EPS + volume * 1e-12 {
                        return Err(EpisodeViolation::Downloads {
                            slot: t,
                            site,
                            reason: format!("{total:.6} MB planned > the slot's volume {volume:.6} MB"),
                        });
                    }
                }
            }
            let mut still = Vec::with_capacity(store.downloading.len());
            for (x, g) in store.downloading.iter().zip(got) {
                downloaded[i] += g;
                let received_mb = x.received_mb + g;
                if received_mb >= ep.network.models[x.model].size_mb - MB_EPS {
                    store.resident.push(x.model);
                } else {
                    still.push(Download { model: x.model, received_mb });
                }
            }
            store.downloading = still;
        }
        // Commit.
        let scored = t >= net.window;
        let out = SlotOutcome {
            tasks: slot.tasks.len(),
            accuracy_sum,
            served,
            downloaded_mb: downloaded.iter().sum(),
            evictions,
            scored,
        };
        for (m, mb) in downloaded[..net.edges.len()].iter().enumerate() {
            self.edge_mb[m] += mb;
        }
        self.device_mb += downloaded[net.edges.len()..].iter().sum::<f64>();
        self.evictions += evictions;
        if scored {
            self.scored_sum += accuracy_sum;
            self.scored_tasks += slot.tasks.len();
            self.scored_served += served;
        }
        self.per_slot.push(out.objective());
        self.state = next;
        self.t += 1;
        Ok(out)
    }

    /// The evaluation of the whole episode; every slot must have been played.
    pub fn finish(self) -> Result<EpisodeEvaluation, EpisodeViolation> {
        if !self.done() {
            return Err(EpisodeViolation::SlotCount { found: self.t, expected: self.ep.slots.len() });
        }
        let n = self.scored_tasks.max(1) as f64;
        Ok(EpisodeEvaluation {
            objective: self.scored_sum / n,
            served_fraction: self.scored_served as f64 / n,
            per_slot: self.per_slot,
            edge_downloaded_mb: self.edge_mb,
            device_downloaded_mb: self.device_mb,
            evictions: self.evictions,
            scored_tasks: self.scored_tasks,
        })
    }
}

/// The task a slot violation names, if any.
fn task_of(v: &Violation) -> Option<usize> {
    match v {
        Violation::WrongService { task, .. }
        | Violation::ModelNotOnDevice { task, .. }
        | Violation::ModelNotCached { task, .. }
        | Violation::ResourceRange { task, .. }
        | Violation::Deadline { task, .. } => Some(*task),
        Violation::DeviceStorage { device, .. } => Some(*device),
        _ => None,
    }
}

/// Replays `decisions` on a valid episode and returns its evaluation, or the first
/// broken rule (naming the slot and the server, device or task).
pub fn evaluate_episode(
    ep: &Episode,
    decisions: &[SlotDecision],
) -> Result<EpisodeEvaluation, EpisodeViolation> {
    if decisions.len() != ep.slots.len() {
        return Err(EpisodeViolation::SlotCount { found: decisions.len(), expected: ep.slots.len() });
    }
    let mut replay = Replay::new(ep);
    for d in decisions {
        replay.step(d)?;
    }
    replay.finish()
}
