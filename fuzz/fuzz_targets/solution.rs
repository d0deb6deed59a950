//! Fuzz target `solution`: see `harness::solution_pipeline`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../harness.rs"]
mod harness;

fuzz_target!(|data: &[u8]| {
    if let Err(broken) = harness::solution_pipeline(data) {
        panic!("{broken}");
    }
});
