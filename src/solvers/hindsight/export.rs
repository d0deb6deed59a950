//! Writing the hindsight MILP of an episode to files, for other solvers and for study:
//! per sub-MILP (block) the model as HiGHS receives it (MPS, before presolve) and a
//! column map that says what each column is, plus an index. The format is documented in
//! the README ("MILP export").

use std::path::Path;

use serde::Serialize;

use super::encoding::{prepare, ServeCol, Track};
use super::{Hindsight, ENCODING_VERSION};
use crate::model::{Episode, Location};
use crate::solver::SolverError;
use crate::solvers::milp::run;

/// Version of the index and column-map files.
pub const EXPORT_FORMAT_VERSION: u32 = 1;

/// The index (`milp.json`) of an export.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MilpExport {
    pub format_version: u32,
    pub episode: String,
    /// The encoding's version (the hindsight cache's key).
    pub encoding: String,
    /// Tasks of the scored slots: `A_ep` is the sum of the blocks' optima over this.
    pub scored_tasks: usize,
    pub blocks: Vec<ExportedBlock>,
}

/// One sub-MILP of an export.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportedBlock {
    pub block: usize,
    /// The edge servers whose tasks the block holds.
    pub edges: Vec<usize>,
    /// The model's file name (MPS, maximise), in the export's folder.
    pub model: String,
    /// The column map's file name.
    pub columns_file: String,
    pub columns: usize,
    pub rows: usize,
    /// An upper bound that needs no solver: per task its most accurate column.
    pub trivial_bound: f64,
}

/// A block's column map (`block<i>.columns.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnMap {
    pub format_version: u32,
    pub block: usize,
    /// Columns `c0 .. c{columns-1}` of the model file.
    pub columns: usize,
    /// The serving columns: `c0 .. c{serving.len()-1}` in this order.
    pub serving: Vec<ServingEntry>,
    pub tracks: Vec<TrackEntry>,
}

/// A serving column (binary): task `task` of slot `slot` takes this option.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServingEntry {
    pub column: usize,
    pub slot: usize,
    /// Index into the slot's tasks.
    pub task: usize,
    pub device: usize,
    pub location: Location,
    pub model: usize,
    pub rbs: u32,
    pub units: u32,
    /// The objective coefficient.
    pub accuracy: f64,
    /// Index into [`ColumnMap::tracks`] of the residency it needs (none for the cloud).
    pub track: Option<usize>,
}

/// A track: one model at one site (its fields as in [`Track`], `site` as `{"Edge": m}`
/// or `{"Device": n}`), with the first column of each run of its variables (none when
/// the track has no such variables).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrackEntry {
    #[serde(flatten)]
    pub track: Track,
    /// `h_t`, `t = 0..=last use` (binary): held after the placement change of slot `t`.
    pub h: Option<usize>,
    /// `rho` at each use, in `uses` order (binary): resident and kept.
    pub rho: Option<usize>,
    /// `x_t`, `t = 0..last use` (MB received in slot `t`).
    pub x: Option<usize>,
    /// `b_t`, `t = 0..last use` (MB held at the end of slot `t`).
    pub b: Option<usize>,
}

fn failed(reason: String) -> SolverError {
    SolverError::Failed { solver: "hindsight".into(), reason }
}

impl Hindsight {
    /// Writes every sub-MILP of `ep` into `dir` (created if missing): `block<i>.mps`,
    /// `block<i>.columns.json` and the index `milp.json`, each atomically. Nothing is
    /// solved.
    pub fn export(&self, ep: &Episode, dir: &Path) -> Result<MilpExport, SolverError> {
        std::fs::create_dir_all(dir).map_err(|e| failed(format!("cannot create {}: {e}", dir.display())))?;
        let net = &ep.network;
        let prep = prepare(net, &ep.initial, &ep.slots, net.window, self.decompose, self.encoding);
        let mut blocks = Vec::new();
        for (bi, block) in prep.blocks.iter().enumerate() {
            if block.cols.is_empty() {
                continue;
            }
            let model = block.model(net, &ep.slots, &prep, self.encoding);
            let (n_cols, rows) = (model.shape.n_cols, model.shape.rows);
            let local: Vec<(usize, &Track)> = block.tracks.iter().map(|&j| (j, &prep.tracks[j])).collect();
            let serving = block
                .cols
                .iter()
                .enumerate()
                .map(|(i, &c)| serving_entry(ep, i, &prep.cols[c], &local))
                .collect();
            let tracks = local
                .iter()
                .zip(&model.shape.layout)
                .map(|(&(_, tr), l)| {
                    let flow = l.h.is_some() && tr.last() > 0;
                    TrackEntry {
                        track: tr.clone(),
                        h: l.h,
                        rho: l.rho,
                        x: flow.then_some(l.x),
                        b: flow.then_some(l.b),
                    }
                })
                .collect();
            let map = ColumnMap {
                format_version: EXPORT_FORMAT_VERSION,
                block: bi,
                columns: n_cols,
                serving,
                tracks,
            };
            let (model_name, map_name) = (format!("block{bi}.mps"), format!("block{bi}.columns.json"));
            run::write_model(model.problem, &dir.join(&model_name)).map_err(failed)?;
            write_json(&dir.join(&map_name), &map)?;
            blocks.push(ExportedBlock {
                block: bi,
                edges: block.edges.clone(),
                model: model_name,
                columns_file: map_name,
                columns: n_cols,
                rows,
                trivial_bound: block.trivial_bound,
            });
        }
        let index = MilpExport {
            format_version: EXPORT_FORMAT_VERSION,
            episode: ep.id.clone(),
            encoding: ENCODING_VERSION.to_string(),
            scored_tasks: prep.scored_tasks,
            blocks,
        };
        write_json(&dir.join("milp.json"), &index)?;
        Ok(index)
    }
}

fn serving_entry(ep: &Episode, column: usize, col: &ServeCol, local: &[(usize, &Track)]) -> ServingEntry {
    ServingEntry {
        column,
        slot: col.slot,
        task: col.task,
        device: ep.slots[col.slot].tasks[col.task].device,
        location: col.assignment.location,
        model: col.assignment.model,
        rbs: col.assignment.rbs,
        units: col.assignment.units,
        accuracy: col.accuracy,
        track: col.track.and_then(|j| local.iter().position(|&(g, _)| g == j)),
    }
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), SolverError> {
    crate::io::write_json_atomic(path, value).map_err(|e| failed(e.to_string()))
}
