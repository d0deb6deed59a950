//! Size limits on every input, checked before anything is allocated from a size the
//! input gives (instance validation, [`crate::scenario::ScenarioParams::check`]).
//!
//! They keep the documented scale (N up to 1000 in the benchmark sets, N = 20000 with
//! M = 50 in the scaling runs) far inside the limits, and bound the time and memory of
//! option enumeration (MODEL.md §6), which every solver runs first. Each error names the
//! field and quotes the limit.

/// Tasks (= devices) per instance, `N`; also the largest `n_devices` of a scenario.
pub const MAX_DEVICES: usize = 100_000;

/// Edge servers per instance, `M`; also the largest `n_edges` of a scenario.
pub const MAX_EDGES: usize = 1_000;

/// Services per instance, `Q`.
pub const MAX_SERVICES: usize = 1_000;

/// Models in the zoo, `K` (solvers keep an `M x K` cache table).
pub const MAX_MODELS: usize = 1_000;

/// Resource blocks per edge server, `NB_m` (option enumeration walks `r = 1..NB_m`).
pub const MAX_RBS: u32 = 100_000;

/// Compute units per edge server, `U_m`.
pub const MAX_UNITS: u32 = 100_000;

/// (task, model, RB count) triples option enumeration may examine:
/// `sum_n |K_{q_n}| * NB_{a(n)}`. It bounds the enumeration's time (about 20 ns per
/// triple) and the memory of the Pareto lists (at most 8 bytes per triple). The
/// default scenario at N = 20000 needs 4e6.
pub const MAX_OPTION_TRIPLES: u64 = 50_000_000;
