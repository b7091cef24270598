//! The negative binomial count distribution (gamma-Poisson), by mean and
//! size: variance = mean + mean^2 / size; an infinite size is Poisson.

/// Means above this use a normal approximation (the probability mass
/// function's first term underflows and the sums get long).
const NORMAL_ABOVE: f64 = 400.0;

/// A negative binomial distribution of a count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NegativeBinomial {
    mean: f64,
    size: f64,
}

impl NegativeBinomial {
    /// The distribution with `mean` (clamped to >= 0) and `size` (the
    /// dispersion; `f64::INFINITY` for Poisson).
    pub fn new(mean: f64, size: f64) -> NegativeBinomial {
        let mean = if mean.is_finite() { mean.max(0.0) } else { 0.0 };
        let size = if size.is_nan() || size <= 0.0 {
            f64::INFINITY
        } else {
            size
        };
        NegativeBinomial { mean, size }
    }

    /// The distribution with the given mean and variance (moment matched;
    /// Poisson when the variance is not above the mean).
    pub fn from_moments(mean: f64, variance: f64) -> NegativeBinomial {
        let excess = variance - mean;
        let size = if excess > 1e-12 {
            mean * mean / excess
        } else {
            f64::INFINITY
        };
        NegativeBinomial::new(mean, size)
    }

    /// The mean.
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// The variance.
    pub fn variance(&self) -> f64 {
        if self.size.is_finite() {
            self.mean + self.mean * self.mean / self.size
        } else {
            self.mean
        }
    }

    /// P(X <= k) for k = 0..=upto, in order.
    fn cdf_upto(&self, upto: u32) -> Vec<f64> {
        let mut out = Vec::with_capacity(upto as usize + 1);
        let (mut pmf, ratio): (f64, Box<dyn Fn(f64) -> f64>) = if self.size.is_finite() {
            let p = self.size / (self.size + self.mean);
            let size = self.size;
            (
                (size * p.ln()).exp(),
                Box::new(move |k: f64| (k + size) / (k + 1.0) * (1.0 - p)),
            )
        } else {
            let mean = self.mean;
            ((-mean).exp(), Box::new(move |k: f64| mean / (k + 1.0)))
        };
        let mut acc = 0.0;
        for k in 0..=upto {
            acc += pmf;
            out.push(acc.min(1.0));
            pmf *= ratio(f64::from(k));
        }
        out
    }

    /// P(X <= k).
    pub fn cdf(&self, k: u32) -> f64 {
        if self.mean > NORMAL_ABOVE {
            return normal_cdf((f64::from(k) + 0.5 - self.mean) / self.variance().sqrt());
        }
        self.cdf_upto(k)[k as usize]
    }

    /// The smallest k with P(X <= k) >= q (q in (0, 1)).
    pub fn quantile(&self, q: f64) -> u32 {
        if self.mean == 0.0 {
            return 0;
        }
        if self.mean > NORMAL_ABOVE {
            let x = self.mean + normal_quantile(q) * self.variance().sqrt();
            return x.round().max(0.0) as u32;
        }
        let mut upto = (self.mean + 12.0 * self.variance().sqrt() + 10.0).ceil() as u32;
        loop {
            let cdf = self.cdf_upto(upto);
            if let Some(k) = cdf.iter().position(|&c| c >= q) {
                return k as u32;
            }
            upto = upto.saturating_mul(2);
        }
    }

    /// P(X >= k) for k = 1..=upto, in order: the chance the k-th unit
    /// held is needed.
    pub fn survival_upto(&self, upto: u32) -> Vec<f64> {
        if upto == 0 {
            return Vec::new();
        }
        if self.mean > NORMAL_ABOVE {
            return (0..upto)
                .map(|k| (1.0 - self.cdf(k)).clamp(0.0, 1.0))
                .collect();
        }
        self.cdf_upto(upto - 1)
            .into_iter()
            .map(|c| (1.0 - c).clamp(0.0, 1.0))
            .collect()
    }

    /// The expected units short when `stock` units meet this demand,
    /// E[(X - stock)+], less the same with `stock - taken` units: the
    /// stockouts that taking `taken` units out of `stock` adds,
    /// sum over s in [stock - taken, stock) of P(X > s).
    pub fn added_shortfall(&self, stock: u32, taken: u32) -> f64 {
        let taken = taken.min(stock);
        if taken == 0 {
            return 0.0;
        }
        let from = stock - taken;
        if self.mean > NORMAL_ABOVE {
            return (from..stock).map(|s| 1.0 - self.cdf(s)).sum();
        }
        let cdf = self.cdf_upto(stock - 1);
        cdf[from as usize..].iter().map(|c| 1.0 - c).sum()
    }
}

/// The standard normal CDF (Abramowitz and Stegun 7.1.26 through erf).
fn normal_cdf(z: f64) -> f64 {
    let x = z.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-x * x).exp();
    if z >= 0.0 {
        0.5 * (1.0 + erf)
    } else {
        0.5 * (1.0 - erf)
    }
}

/// The standard normal quantile (Acklam's rational approximation).
fn normal_quantile(p: f64) -> f64 {
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    let a = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    let b = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    let c = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    let d = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let tail = |q: f64| {
        (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
            / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
            / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poisson_quantiles_match_tables() {
        // Poisson(4): P(X <= 1) = 0.0916, P(X <= 2) = 0.2381, P(X <= 4) = 0.6288,
        // P(X <= 6) = 0.8893, P(X <= 7) = 0.9489.
        let d = NegativeBinomial::new(4.0, f64::INFINITY);
        assert_eq!(d.quantile(0.1), 2);
        assert_eq!(d.quantile(0.5), 4);
        assert_eq!(d.quantile(0.9), 7);
        assert!((d.cdf(4) - 0.6288).abs() < 1e-4);
    }

    #[test]
    fn overdispersion_widens_the_interval() {
        let poisson = NegativeBinomial::new(10.0, f64::INFINITY);
        let nb = NegativeBinomial::new(10.0, 2.0);
        assert!((nb.variance() - 60.0).abs() < 1e-9);
        assert!(nb.quantile(0.9) > poisson.quantile(0.9));
        assert!(nb.quantile(0.1) < poisson.quantile(0.1));
        let back = NegativeBinomial::from_moments(10.0, 60.0);
        assert!((back.variance() - 60.0).abs() < 1e-9);
    }

    #[test]
    fn added_shortfall_is_the_tail_sum() {
        let d = NegativeBinomial::new(3.0, 4.0);
        // E[(X - s)+] by brute force over the pmf.
        let shortfall = |s: u32| -> f64 {
            let cdf = d.cdf_upto(200);
            let mut prev = 0.0;
            let mut e = 0.0;
            for (k, c) in cdf.iter().enumerate() {
                let pmf = c - prev;
                prev = *c;
                e += pmf * (k as f64 - f64::from(s)).max(0.0);
            }
            e
        };
        let added = d.added_shortfall(5, 3);
        assert!((added - (shortfall(2) - shortfall(5))).abs() < 1e-9);
        assert_eq!(d.added_shortfall(5, 0), 0.0);
        // Taking from deeper stock costs less per unit.
        assert!(d.added_shortfall(20, 1) < d.added_shortfall(3, 1));
    }

    #[test]
    fn large_means_use_the_normal_tail() {
        let d = NegativeBinomial::new(1000.0, f64::INFINITY);
        let q90 = d.quantile(0.9);
        assert!((1035..=1045).contains(&q90), "{q90}");
        assert!(d.quantile(0.1) < 1000 && d.quantile(0.5) == 1000);
    }
}
