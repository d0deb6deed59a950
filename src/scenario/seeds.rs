//! The one table of seed ranges. Every generated instance is named by its scenario and
//! a seed; keeping the ranges of different uses disjoint guarantees that no learner
//! trains or validates on an instance it is later benchmarked on, and that timing
//! tables do not reuse training instances.
//!
//! | use                         | seeds                                            |
//! |-----------------------------|--------------------------------------------------|
//! | benchmark instance sets     | `0 .. 1_000_000` (the `seed` column of instances/*.csv) |
//! | training run `r` (any learner) | `1_000_000 + r·10_000_000 ..` one million more |
//! | validation during training  | `2_000_000 .. 3_000_000`                         |
//! | MILP scaling table          | `3_000_000 .. 4_000_000`                         |
//!
//! Training run 0 draws from `1_000_000 .. 2_000_000`; run `r >= 1` from
//! `1_000_000 + r·10_000_000`, above every other range. A run uses well under a million
//! instances (the generator is asked for at most [`RANGE_LEN`] of them).

use std::ops::Range;

/// Length of every range.
pub const RANGE_LEN: u64 = 1_000_000;

/// Seeds of the committed benchmark instance sets.
pub const BENCHMARK: Range<u64> = 0..RANGE_LEN;

/// Seeds of the validation instances used to pick the best checkpoint while training.
pub const VALIDATION: Range<u64> = 2 * RANGE_LEN..3 * RANGE_LEN;

/// Seeds of the MILP scaling table.
pub const SCALING: Range<u64> = 3 * RANGE_LEN..4 * RANGE_LEN;

/// Distance between the training ranges of consecutive training runs.
pub const TRAINING_STRIDE: u64 = 10 * RANGE_LEN;

/// Seeds of the training instances of training run `run` (the run's seed).
pub fn training(run: u64) -> Range<u64> {
    let start = RANGE_LEN.saturating_add(run.saturating_mul(TRAINING_STRIDE));
    start..start.saturating_add(RANGE_LEN)
}

/// Seed of the `i`-th instance of the `size_index`-th size of the MILP scaling table.
pub fn scaling(size_index: usize, i: usize) -> u64 {
    SCALING.start + size_index as u64 * 1_000 + (i as u64 % 1_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overlap(a: &Range<u64>, b: &Range<u64>) -> bool {
        a.start < b.end && b.start < a.end
    }

    #[test]
    fn ranges_are_disjoint() {
        let fixed = [BENCHMARK, VALIDATION, SCALING];
        for (i, a) in fixed.iter().enumerate() {
            for b in &fixed[i + 1..] {
                assert!(!overlap(a, b), "{a:?} overlaps {b:?}");
            }
        }
        for r in 0..200u64 {
            let t = training(r);
            assert_eq!(t.end - t.start, RANGE_LEN);
            for f in &fixed {
                assert!(!overlap(&t, f), "training({r}) = {t:?} overlaps {f:?}");
            }
            for q in r + 1..200 {
                assert!(!overlap(&t, &training(q)), "training({r}) overlaps training({q})");
            }
        }
    }

    #[test]
    fn scaling_seeds_are_distinct_and_inside_their_range() {
        let mut seeds: Vec<u64> = (0..10).flat_map(|s| (0..100).map(move |i| scaling(s, i))).collect();
        assert!(seeds.iter().all(|s| SCALING.contains(s)));
        seeds.sort_unstable();
        seeds.dedup();
        assert_eq!(seeds.len(), 1000);
    }

    #[test]
    fn training_run_zero_keeps_the_committed_stream() {
        // The committed checkpoints were trained from seed 1_000_000 (run 0) and
        // 1_000_000 + r * 10_000_000 (run r).
        assert_eq!(training(0).start, 1_000_000);
        assert_eq!(training(3).start, 31_000_000);
    }
}
