//! Fuzz target `instance`: see `harness::instance_pipeline`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../harness.rs"]
mod harness;

fuzz_target!(|data: &[u8]| {
    if let Err(broken) = harness::instance_pipeline(data) {
        panic!("{broken}");
    }
});
