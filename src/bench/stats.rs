//! Small statistics for reports: mean, confidence intervals, percentiles, shifted
//! geometric means, performance profiles.

/// Arithmetic mean (NaN when empty).
pub fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// Sample standard deviation (0 for fewer than two values).
pub fn std_dev(v: &[f64]) -> f64 {
    if v.len() < 2 {
        return 0.0;
    }
    let m = mean(v);
    (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
}

/// Two-sided 95% Student-t quantile for `df` degrees of freedom.
pub fn t95(df: usize) -> f64 {
    const T: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
        2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
        2.045, 2.042,
    ];
    match df {
        0 => f64::NAN,
        1..=30 => T[df - 1],
        31..=60 => 2.000,
        61..=120 => 1.980,
        _ => 1.960,
    }
}

/// Half-width of the 95% confidence interval of the mean (Student t).
pub fn ci95_half_width(v: &[f64]) -> f64 {
    if v.len() < 2 {
        return f64::NAN;
    }
    t95(v.len() - 1) * std_dev(v) / (v.len() as f64).sqrt()
}

/// Percentile `q` in [0, 1] by linear interpolation between order statistics.
pub fn percentile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (s.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    s[lo] + (s[hi] - s[lo]) * (pos - lo as f64)
}

/// Median (the 0.5 percentile).
pub fn median(v: &[f64]) -> f64 {
    percentile(v, 0.5)
}

/// Shifted geometric mean `exp(mean(ln(x + s))) - s`, the usual summary of solve
/// times (robust to tiny and huge values).
pub fn shifted_geomean(v: &[f64], shift: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    (v.iter().map(|x| (x + shift).ln()).sum::<f64>() / v.len() as f64).exp() - shift
}

/// Interquartile mean: the mean of the middle 50% of the sorted values.
pub fn iqm(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    let (lo, hi) = (n / 4, n - n / 4);
    mean(&s[lo..hi.max(lo + 1)])
}

/// Percentile bootstrap 95% interval of `stat` over `resamples` seeded resamples.
pub fn bootstrap_ci95(v: &[f64], stat: fn(&[f64]) -> f64, resamples: usize, seed: u64) -> (f64, f64) {
    use rand::{Rng, SeedableRng};
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut stats: Vec<f64> = (0..resamples)
        .map(|_| {
            let sample: Vec<f64> = (0..v.len()).map(|_| v[rng.gen_range(0..v.len())]).collect();
            stat(&sample)
        })
        .collect();
    stats.sort_by(f64::total_cmp);
    (percentile(&stats, 0.025), percentile(&stats, 0.975))
}

/// Percentile bootstrap 95% interval of the grand mean of a grid `m[i][j]` over
/// `resamples` seeded resamples that draw the rows and the columns independently, with
/// replacement (a two-way bootstrap: rows are episodes and columns training seeds, both
/// samples). NaN when the grid is empty or ragged.
pub fn bootstrap_grid_ci95(m: &[Vec<f64>], resamples: usize, seed: u64) -> (f64, f64) {
    use rand::{Rng, SeedableRng};
    let cols = m.first().map_or(0, Vec::len);
    if cols == 0 || m.iter().any(|r| r.len() != cols) {
        return (f64::NAN, f64::NAN);
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut stats: Vec<f64> = (0..resamples)
        .map(|_| {
            let rows: Vec<usize> = (0..m.len()).map(|_| rng.gen_range(0..m.len())).collect();
            let cs: Vec<usize> = (0..cols).map(|_| rng.gen_range(0..cols)).collect();
            let total: f64 = rows.iter().map(|&i| cs.iter().map(|&j| m[i][j]).sum::<f64>()).sum();
            total / (rows.len() * cs.len()) as f64
        })
        .collect();
    stats.sort_by(f64::total_cmp);
    (percentile(&stats, 0.025), percentile(&stats, 0.975))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_hand() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(mean(&v), 2.5);
        assert!((std_dev(&v) - (5.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert_eq!(median(&v), 2.5);
        assert_eq!(percentile(&v, 0.0), 1.0);
        assert_eq!(percentile(&v, 1.0), 4.0);
        assert!((percentile(&v, 0.95) - 3.85).abs() < 1e-12);
        // exp(mean(ln 2, ln 8)) - 1 = 4 - 1.
        assert!((shifted_geomean(&[1.0, 7.0], 1.0) - 3.0).abs() < 1e-12);
        assert!((ci95_half_width(&v) - 3.182 * (5.0f64 / 3.0).sqrt() / 2.0).abs() < 1e-12);
        // IQM of 1..8 is the mean of 3, 4, 5, 6.
        assert_eq!(iqm(&[8.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]), 4.5);
        let (lo, hi) = bootstrap_ci95(&[1.0, 2.0, 3.0, 4.0, 5.0], mean, 2000, 1);
        assert!(lo < 3.0 && hi > 3.0 && lo >= 1.0 && hi <= 5.0);
    }

    #[test]
    fn the_grid_bootstrap_resamples_rows_and_columns() {
        // A constant grid has no spread.
        assert_eq!(bootstrap_grid_ci95(&[vec![0.5; 3], vec![0.5; 3]], 500, 1), (0.5, 0.5));
        // Spread only across columns (rows equal): a row-only bootstrap would see none.
        let cols = vec![vec![-1.0, 1.0, 3.0]; 4];
        let (lo, hi) = bootstrap_grid_ci95(&cols, 2000, 1);
        assert!(lo < 1.0 && hi > 1.0 && lo >= -1.0 && hi <= 3.0, "{lo} {hi}");
        // Spread only across rows, the same.
        let rows: Vec<Vec<f64>> = [-1.0, 1.0, 3.0].iter().map(|&x| vec![x; 4]).collect();
        let (lo, hi) = bootstrap_grid_ci95(&rows, 2000, 1);
        assert!(lo < 1.0 && hi > 1.0 && lo >= -1.0 && hi <= 3.0, "{lo} {hi}");
        // Every cell positive: so is the interval; same seed, same interval.
        let pos = vec![vec![0.1, 0.3], vec![0.2, 0.4], vec![0.05, 0.5]];
        let (lo, hi) = bootstrap_grid_ci95(&pos, 2000, 3);
        assert!(lo > 0.0 && hi <= 0.5, "{lo} {hi}");
        assert_eq!(bootstrap_grid_ci95(&pos, 2000, 3), (lo, hi));
        // Empty or ragged: no interval.
        assert!(bootstrap_grid_ci95(&[], 10, 1).0.is_nan());
        assert!(bootstrap_grid_ci95(&[vec![1.0], vec![1.0, 2.0]], 10, 1).1.is_nan());
    }
}
