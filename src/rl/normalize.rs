//! Running observation normalisation (Welford mean/variance, clipping).
//!
//! `normalize(x) = clip((x - mean) / sqrt(var + eps), -clip, clip)`, with the population
//! variance of everything seen so far. [`RunningNorm::freeze`] stops the statistics from
//! moving (evaluation); the whole struct is serde-serialisable for checkpoints.

use serde::{Deserialize, Serialize};

/// Running per-dimension mean and variance with clipping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunningNorm {
    /// Number of observations folded in.
    pub count: u64,
    /// Running mean per dimension (serialised as exact decimal strings).
    #[serde(with = "exact_f64")]
    pub mean: Vec<f64>,
    /// Sum of squared deviations per dimension (Welford's M2; exact strings).
    #[serde(with = "exact_f64")]
    pub m2: Vec<f64>,
    /// Normalised values are clipped to `[-clip, clip]`. Default 10.
    pub clip: f32,
    /// Added to the variance before the square root. Default 1e-8.
    pub eps: f64,
    /// When true, [`RunningNorm::update`] does nothing.
    pub frozen: bool,
}

/// serde_json's default float parser may be off by one ulp; statistics are written as
/// shortest round-trip decimal strings (Rust's `Display`) and parsed with `str::parse`,
/// which is exact, so a reloaded normaliser is bit-identical. Plain numbers are accepted
/// on input too.
mod exact_f64 {
    use serde::{Deserialize, Deserializer, Serializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumOrStr {
        Num(f64),
        Str(String),
    }

    pub fn serialize<S: Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|x| x.to_string()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        let raw = Vec::<NumOrStr>::deserialize(d)?;
        raw.into_iter()
            .map(|x| match x {
                NumOrStr::Num(v) => Ok(v),
                NumOrStr::Str(s) => s.parse::<f64>().map_err(serde::de::Error::custom),
            })
            .collect()
    }
}

impl RunningNorm {
    /// The first non-finite statistic, named (e.g. `mean[3]`), if any: a checkpoint
    /// with one is refused.
    pub fn first_non_finite(&self) -> Option<String> {
        let find =
            |name: &str, v: &[f64]| v.iter().position(|x| !x.is_finite()).map(|i| format!("{name}[{i}]"));
        find("mean", &self.mean)
            .or_else(|| find("m2", &self.m2))
            .or_else(|| (!self.clip.is_finite()).then(|| "clip".to_string()))
            .or_else(|| (!self.eps.is_finite()).then(|| "eps".to_string()))
    }

    /// Fresh statistics (mean 0, variance 1 until data arrives) for `dim` dimensions.
    pub fn new(dim: usize, clip: f32) -> Self {
        Self { count: 0, mean: vec![0.0; dim], m2: vec![0.0; dim], clip, eps: 1e-8, frozen: false }
    }

    /// Dimension.
    pub fn dim(&self) -> usize {
        self.mean.len()
    }

    /// Stops updating (for evaluation).
    pub fn freeze(&mut self) {
        self.frozen = true;
    }

    /// Resumes updating.
    pub fn unfreeze(&mut self) {
        self.frozen = false;
    }

    /// Population variance per dimension (1 before any data).
    pub fn var(&self) -> Vec<f64> {
        if self.count == 0 {
            return vec![1.0; self.dim()];
        }
        self.m2.iter().map(|m| m / self.count as f64).collect()
    }

    /// Folds one observation in (ignored when frozen or when the length is wrong or any
    /// value is not finite, so a bad sample cannot poison the statistics).
    pub fn update(&mut self, x: &[f32]) {
        if self.frozen || x.len() != self.dim() || x.iter().any(|v| !v.is_finite()) {
            return;
        }
        self.count += 1;
        let n = self.count as f64;
        for ((m, s), &v) in self.mean.iter_mut().zip(self.m2.iter_mut()).zip(x) {
            let v = v as f64;
            let d = v - *m;
            *m += d / n;
            *s += d * (v - *m);
        }
    }

    /// Normalises `x` into `out` (resized to `x.len()`); dimensions beyond the
    /// statistics are copied unchanged.
    pub fn normalize_into(&self, x: &[f32], out: &mut Vec<f32>) {
        out.clear();
        let var = self.var();
        let d = self.dim().max(1);
        for (i, &v) in x.iter().enumerate() {
            let j = i % d;
            if j >= self.dim() {
                out.push(v);
                continue;
            }
            let z = ((v as f64 - self.mean[j]) / (var[j] + self.eps).sqrt()) as f32;
            out.push(z.clamp(-self.clip, self.clip));
        }
    }

    /// Normalises one observation, or a flat batch of rows of length `dim`.
    pub fn normalize(&self, x: &[f32]) -> Vec<f32> {
        let mut out = Vec::with_capacity(x.len());
        self.normalize_into(x, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_direct_computation() {
        let data: Vec<[f32; 2]> = (0..500)
            .map(|i| {
                let t = i as f32;
                [3.0 + (t * 0.37).sin() * 2.0, -50.0 + (t * 0.11).cos() * 20.0 + t * 0.01]
            })
            .collect();
        let mut n = RunningNorm::new(2, 100.0);
        for row in &data {
            n.update(row);
        }
        for d in 0..2 {
            let xs: Vec<f64> = data.iter().map(|r| r[d] as f64).collect();
            let mean = xs.iter().sum::<f64>() / xs.len() as f64;
            let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64;
            assert!((n.mean[d] - mean).abs() < 1e-9);
            assert!((n.var()[d] - var).abs() < 1e-6 * var.max(1.0));
            let z = n.normalize(&data[7])[d] as f64;
            let direct = (data[7][d] as f64 - mean) / (var + 1e-8).sqrt();
            assert!((z - direct).abs() < 1e-5, "{z} vs {direct}");
        }
        // a batch of two rows normalises row by row
        let both = n.normalize(&[data[7][0], data[7][1], data[8][0], data[8][1]]);
        assert_eq!(&both[2..], n.normalize(&data[8]).as_slice());
    }

    #[test]
    fn clips_freezes_and_round_trips() {
        let mut n = RunningNorm::new(1, 2.0);
        for x in [0.0f32, 1.0, 0.0, 1.0] {
            n.update(&[x]);
        }
        assert_eq!(n.normalize(&[100.0]), vec![2.0]);
        assert_eq!(n.normalize(&[-100.0]), vec![-2.0]);
        n.freeze();
        let before = n.clone();
        n.update(&[50.0]);
        assert_eq!(n, before);
        n.unfreeze();
        n.update(&[f32::NAN]);
        assert_eq!(n.count, before.count);
        let json = serde_json::to_string(&n).unwrap();
        let back: RunningNorm = serde_json::from_str(&json).unwrap();
        assert_eq!(back, n);
        // bit-exact for awkward values too
        n.mean = vec![-0.022323545496910815];
        n.m2 = vec![1.0 / 3.0];
        let back: RunningNorm = serde_json::from_str(&serde_json::to_string(&n).unwrap()).unwrap();
        assert_eq!(back.mean[0].to_bits(), n.mean[0].to_bits());
        assert_eq!(back.m2[0].to_bits(), n.m2[0].to_bits());
    }
}
