//! Small samplers over a [`ChaCha8Rng`]: normal, log-normal, Poisson, gamma,
//! and weighted choice through cumulative weights.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// A standard normal draw (Box-Muller).
pub(crate) fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1 = 1.0 - rng.random::<f64>();
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A log-normal draw with median `median` and log-sigma `sigma`.
pub(crate) fn lognormal(rng: &mut ChaCha8Rng, median: f64, sigma: f64) -> f64 {
    median * (sigma * normal(rng)).exp()
}

/// A Poisson draw (Knuth below 30, rounded normal above).
pub(crate) fn poisson(rng: &mut ChaCha8Rng, lambda: f64) -> u32 {
    if lambda <= 0.0 {
        return 0;
    }
    if lambda < 30.0 {
        let limit = (-lambda).exp();
        let mut k = 0u32;
        let mut p = rng.random::<f64>();
        while p > limit {
            k += 1;
            p *= rng.random::<f64>();
        }
        k
    } else {
        (lambda + lambda.sqrt() * normal(rng)).round().max(0.0) as u32
    }
}

/// A gamma draw with the given shape and mean 1 (Marsaglia-Tsang).
pub(crate) fn gamma_mean1(rng: &mut ChaCha8Rng, shape: f64) -> f64 {
    let boost = if shape < 1.0 {
        rng.random::<f64>().max(1e-12).powf(1.0 / shape)
    } else {
        1.0
    };
    let a = if shape < 1.0 { shape + 1.0 } else { shape };
    let d = a - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let x = normal(rng);
        let v = (1.0 + c * x).powi(3);
        if v <= 0.0 {
            continue;
        }
        let u = rng.random::<f64>().max(1e-300);
        if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
            return d * v * boost / shape;
        }
    }
}

/// Cumulative weights for O(log n) weighted choice.
#[derive(Debug, Clone)]
pub(crate) struct Weighted {
    cumulative: Vec<f64>,
}

impl Weighted {
    pub(crate) fn new(weights: impl IntoIterator<Item = f64>) -> Weighted {
        let mut total = 0.0;
        let cumulative = weights
            .into_iter()
            .map(|w| {
                total += w.max(0.0);
                total
            })
            .collect();
        Weighted { cumulative }
    }

    /// An index drawn with probability proportional to its weight.
    pub(crate) fn pick(&self, rng: &mut ChaCha8Rng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let x = rng.random::<f64>() * total;
        self.cumulative
            .partition_point(|&c| c <= x)
            .min(self.cumulative.len().saturating_sub(1))
    }
}

/// Picks one of `items` with the given weights (small tables).
pub(crate) fn choose<T: Copy>(rng: &mut ChaCha8Rng, items: &[(T, f64)]) -> T {
    let total: f64 = items.iter().map(|i| i.1).sum();
    let mut x = rng.random::<f64>() * total;
    for &(item, w) in items {
        if x < w {
            return item;
        }
        x -= w;
    }
    items[items.len() - 1].0
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn samplers_have_the_right_means() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let n = 20_000;
        let p: f64 = (0..n)
            .map(|_| f64::from(poisson(&mut rng, 3.5)))
            .sum::<f64>()
            / n as f64;
        assert!((p - 3.5).abs() < 0.1, "{p}");
        let g: f64 = (0..n).map(|_| gamma_mean1(&mut rng, 0.7)).sum::<f64>() / n as f64;
        assert!((g - 1.0).abs() < 0.05, "{g}");
        let w = Weighted::new([1.0, 0.0, 3.0]);
        let hits = (0..n).filter(|_| w.pick(&mut rng) == 2).count() as f64 / n as f64;
        assert!((hits - 0.75).abs() < 0.02, "{hits}");
    }
}
