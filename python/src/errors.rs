//! Rust errors as Python exceptions: `DnnrmError` for every failure, with the subclasses
//! `ConstraintViolation` (an evaluator rejected a solution or a slot decision; its
//! `constraint` attribute is the short name of the violated constraint or rule) and
//! `InvalidAction` (an environment was given an action it does not offer).

use std::error::Error;

use dnnrm::model::{EpisodeViolation, Violation};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

create_exception!(dnnrm, DnnrmError, PyException, "Any error of dnnrm, with the Rust message.");
create_exception!(
    dnnrm,
    ConstraintViolation,
    DnnrmError,
    "An evaluator rejected a solution or decision; `constraint` names the violated constraint."
);
create_exception!(dnnrm, InvalidAction, DnnrmError, "An environment was given an action it does not offer.");

/// An error and its chain of causes, as `anyhow`'s `{:#}` shows them.
pub fn chain(e: &dyn Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// `DnnrmError` with the whole chain of `e`.
pub fn dnnrm_err(e: &dyn Error) -> PyErr {
    DnnrmError::new_err(chain(e))
}

/// `DnnrmError` with a message.
pub fn msg(m: impl Into<String>) -> PyErr {
    DnnrmError::new_err(m.into())
}

/// `InvalidAction` with a message.
pub fn invalid_action(m: impl Into<String>) -> PyErr {
    InvalidAction::new_err(m.into())
}

/// `ConstraintViolation` with a message and the short name of the constraint.
pub fn violation_err(message: String, constraint: &str) -> PyErr {
    Python::with_gil(|py| {
        let e = ConstraintViolation::new_err(message);
        // Setting an attribute on a fresh exception cannot fail in practice; if it did,
        // the exception still carries the message.
        let _ = e.value(py).setattr("constraint", constraint);
        e
    })
}

/// The slot evaluator's verdict as `ConstraintViolation` (`constraint`: e.g. `deadline`).
pub fn violation(v: &Violation) -> PyErr {
    violation_err(v.to_string(), v.constraint())
}

/// The episode evaluator's verdict as `ConstraintViolation` (`constraint`: the rule).
pub fn episode_violation(v: &EpisodeViolation) -> PyErr {
    violation_err(v.to_string(), v.rule())
}
