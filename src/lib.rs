//! dnnrm: resource management for DNN inference in end-edge-cloud Industrial IoT.
//!
//! The problem is specified in MODEL.md; [`model::evaluate`] is the only judge of a
//! solution. Solvers implement [`solver::Solver`] and are found by name in
//! [`solvers::registry`]; the layers import only downwards: model <- scenario <- io <-
//! solver <- rl <- solvers <- bench <- CLI.

pub mod bench;
pub mod io;
pub mod model;
pub mod rl;
pub mod scenario;
pub mod solver;
pub mod solvers;

/// The README's code examples, compiled and run as doc tests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
