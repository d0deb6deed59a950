//! Size limits on every input, checked before anything is allocated from a size the
//! input gives (instance validation here, and the scenario parameters' `check`).
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
/// `sum_n |K_{q_n}| * NB_{a(n)}`. It bounds the work and memory of enumeration and of
/// every solver that scans the options: at the limit, with long Pareto lists
/// (`U_m` = 1e5, `NB_m` = 1000), `greedy` takes about 2 s and 60 MB. The default
/// scenario needs about 180 triples per task (3.6e6 at N = 20000), so N = 20000 works up
/// to about 55 RBs per server.
pub const MAX_OPTION_TRIPLES: u64 = 10_000_000;
