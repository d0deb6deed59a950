//! The Python door of dnnrm (module `dnnrm._dnnrm`, wrapped by the pure-Python package
//! `dnnrm`): instance and episode generation, the registered solvers and online
//! policies, the hindsight optimum, both evaluators, and the batched cores of the
//! Gymnasium environments (`dnnrm/Slot-v0`, `dnnrm/Online-v0`).
//!
//! The binding is thin: every computation is the core library's. Solvers are built per
//! call (no HiGHS handle lives in a Python object) and every solve, simulation and
//! environment step runs with the GIL released. Every Rust error becomes a Python
//! exception carrying the Rust message; nothing panics across the boundary.

mod api;
mod errors;
mod online_env;
mod slot_env;

use pyo3::prelude::*;

/// The compiled part of `dnnrm`.
#[pymodule]
fn _dnnrm(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("DnnrmError", py.get_type::<errors::DnnrmError>())?;
    m.add("ConstraintViolation", py.get_type::<errors::ConstraintViolation>())?;
    m.add("InvalidAction", py.get_type::<errors::InvalidAction>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("REVISION", dnnrm::io::provenance::revision())?;
    api::register(m)?;
    m.add_class::<slot_env::SlotEnvs>()?;
    m.add_class::<online_env::OnlineEnvs>()?;
    Ok(())
}
