//! The calibration shipped next to the ETA model: a per-service adjustment
//! of the [q10, q90] window and a monotone map from the raw probability of
//! the three-quantile CDF to the observed on-time share.

use std::path::Path;

use allot_engine::transit::TransitQuantiles;
use serde::{Deserialize, Serialize};

/// File name of the calibration, in the models directory.
pub const CALIBRATION_FILE: &str = "eta.calibration.json";

/// Name of the CDF the map was fitted over (see [`quantile_cdf`]); a file
/// fitted over another CDF is refused.
pub const CDF_NAME: &str = "three-quantile-linear-exponential-tails/2";

/// Smallest gap between two quantiles the CDF uses, days (sorted quantiles
/// may coincide).
const MIN_GAP_DAYS: f64 = 0.05;

/// How one service's predicted window is moved: `q10 + lower_days`,
/// `q90 + upper_days` (split-conformal: the empirical 10% / 90% quantiles of
/// the residuals `true - q10` and `true - q90` on the fitting split).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowAdjust {
    /// Carrier service code, e.g. `NPX-GROUND`.
    pub service: String,
    /// Added to q10, days (negative widens the window downwards).
    pub lower_days: f64,
    /// Added to q90, days (positive widens the window upwards).
    pub upper_days: f64,
}

impl WindowAdjust {
    /// `q` with this adjustment: q10 and q90 moved, re-sorted, floored at 0.
    pub fn apply(&self, q: &TransitQuantiles) -> TransitQuantiles {
        TransitQuantiles::sorted([q.q10 + self.lower_days, q.q50, q.q90 + self.upper_days])
    }
}

/// The calibration of one ETA model version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calibration {
    /// The ETA model version it was fitted for.
    pub model_version: String,
    /// The CDF the map applies to ([`CDF_NAME`]).
    pub cdf: String,
    /// Per-service window adjustment; a service not listed is not adjusted.
    pub window: Vec<WindowAdjust>,
    /// Knots `[raw, calibrated]`, raw strictly increasing, calibrated
    /// non-decreasing, both in [0, 1]; linear in between, `(0, 0)` and
    /// `(1, 1)` implied at the ends. Empty: the identity.
    pub map: Vec<[f64; 2]>,
    /// What the calibration was fitted on (world seed, split, rows).
    pub fitted_on: String,
}

/// Why a calibration file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CalibrationError {
    /// The file could not be read or written.
    #[error("calibration file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a calibration.
    #[error("calibration file {path} is invalid: {problem}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        problem: String,
    },
    /// The file was fitted for another model version.
    #[error(
        "calibration file {path} was fitted for ETA model {found}, but the model is {expected}: re-run `allot-world calibrate` (models/training/retrain does)"
    )]
    VersionMismatch {
        /// The file.
        path: String,
        /// The loaded model's version.
        expected: String,
        /// The file's version.
        found: String,
    },
}

impl Calibration {
    /// No window adjustment and the identity map.
    pub fn identity(model_version: &str) -> Calibration {
        Calibration {
            model_version: model_version.to_string(),
            cdf: CDF_NAME.to_string(),
            window: Vec::new(),
            map: Vec::new(),
            fitted_on: "identity (not fitted)".to_string(),
        }
    }

    /// True when nothing was fitted (no window adjustment, identity map).
    pub fn is_identity(&self) -> bool {
        self.window.is_empty() && self.map.is_empty()
    }

    /// Reads and checks a calibration file for `model_version`.
    pub fn load(path: &Path, model_version: &str) -> Result<Calibration, CalibrationError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| CalibrationError::Io {
            path: shown.clone(),
            source,
        })?;
        let cal: Calibration =
            serde_json::from_str(&text).map_err(|e| CalibrationError::Invalid {
                path: shown.clone(),
                problem: e.to_string(),
            })?;
        cal.check().map_err(|problem| CalibrationError::Invalid {
            path: shown.clone(),
            problem,
        })?;
        if cal.model_version != model_version {
            return Err(CalibrationError::VersionMismatch {
                path: shown,
                expected: model_version.to_string(),
                found: cal.model_version,
            });
        }
        Ok(cal)
    }

    /// Writes the calibration as pretty JSON (deterministic: same fit, same
    /// bytes).
    pub fn save(&self, path: &Path) -> Result<(), CalibrationError> {
        let mut text =
            serde_json::to_string_pretty(self).map_err(|e| CalibrationError::Invalid {
                path: path.display().to_string(),
                problem: e.to_string(),
            })?;
        text.push('\n');
        std::fs::write(path, text).map_err(|source| CalibrationError::Io {
            path: path.display().to_string(),
            source,
        })
    }

    /// Checks the invariants of the map and the window.
    pub fn check(&self) -> Result<(), String> {
        if self.cdf != CDF_NAME {
            return Err(format!(
                "fitted over CDF {:?}, this build uses {CDF_NAME:?}",
                self.cdf
            ));
        }
        for w in &self.window {
            if !w.lower_days.is_finite() || !w.upper_days.is_finite() {
                return Err(format!("window of {} is not finite", w.service));
            }
        }
        let mut prev: Option<[f64; 2]> = None;
        for (i, k) in self.map.iter().enumerate() {
            if !(0.0..=1.0).contains(&k[0]) || !(0.0..=1.0).contains(&k[1]) {
                return Err(format!("map[{i}] = {k:?} is outside [0, 1]"));
            }
            if let Some(p) = prev
                && (k[0] <= p[0] || k[1] < p[1])
            {
                return Err(format!("map[{i}] = {k:?} is not monotone after {p:?}"));
            }
            prev = Some(*k);
        }
        Ok(())
    }

    /// `q` with the window adjustment of service `code` (unchanged when the
    /// service has none).
    pub fn adjust(&self, code: &str, q: &TransitQuantiles) -> TransitQuantiles {
        self.window_for(code).map_or(*q, |w| w.apply(q))
    }

    /// The window adjustment of service `code`, if any.
    pub fn window_for(&self, code: &str) -> Option<&WindowAdjust> {
        self.window.iter().find(|w| w.service == code)
    }

    /// The calibrated probability of a raw CDF value (clamped to [0, 1]).
    pub fn apply(&self, raw: f64) -> f64 {
        let x = if raw.is_finite() {
            raw.clamp(0.0, 1.0)
        } else {
            0.0
        };
        if self.map.is_empty() {
            return x;
        }
        let mut lo = [0.0, 0.0];
        for &k in self.map.iter().chain(std::iter::once(&[1.0, 1.0])) {
            if x <= k[0] {
                let span = k[0] - lo[0];
                let y = if span <= 0.0 {
                    k[1]
                } else {
                    lo[1] + (k[1] - lo[1]) * (x - lo[0]) / span
                };
                return y.clamp(0.0, 1.0);
            }
            lo = k;
        }
        1.0
    }

    /// Calibrated P(delivered within `days` of release) for `q`.
    pub fn p_within(&self, q: &TransitQuantiles, days: f64) -> f64 {
        self.apply(quantile_cdf(q, days))
    }
}

/// A CDF of transit days through the three quantiles: linear between
/// (q10, 0.1), (q50, 0.5) and (q90, 0.9), with exponential tails: below q10
/// with the density of the segment above it, above q90 with scale q90 - q50
/// (heavier than a density-matched tail: exceptions and disruptions make
/// late tails long); 0 at or before day 0. Gaps between quantiles are at
/// least 0.05 days.
pub fn quantile_cdf(q: &TransitQuantiles, days: f64) -> f64 {
    if !days.is_finite() {
        return if days > 0.0 { 1.0 } else { 0.0 };
    }
    if days <= 0.0 {
        return 0.0;
    }
    let q10 = q.q10;
    let w_lo = (q.q50 - q.q10).max(MIN_GAP_DAYS);
    let w_hi = (q.q90 - q.q50).max(MIN_GAP_DAYS);
    let q50 = q10 + w_lo;
    let q90 = q50 + w_hi;
    let p = if days <= q10 {
        0.1 * ((days - q10) / (w_lo / 4.0)).exp()
    } else if days <= q50 {
        0.1 + 0.4 * (days - q10) / w_lo
    } else if days <= q90 {
        0.5 + 0.4 * (days - q50) / w_hi
    } else {
        1.0 - 0.1 * (-(days - q90) / w_hi).exp()
    };
    p.clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(a: f64, b: f64, c: f64) -> TransitQuantiles {
        TransitQuantiles::sorted([a, b, c])
    }

    #[test]
    fn cdf_is_monotone_through_the_quantiles() {
        let qs = [
            q(1.0, 2.0, 4.0),
            q(2.0, 2.0, 2.0),
            q(0.2, 0.3, 1.5),
            q(0.0, 0.0, 0.0),
        ];
        for quant in qs {
            let mut prev = 0.0;
            for i in 0..=2_000 {
                let t = f64::from(i) * 0.005;
                let p = quantile_cdf(&quant, t);
                assert!((0.0..=1.0).contains(&p), "{p}");
                assert!(p >= prev - 1e-12, "{quant:?} at {t}: {p} < {prev}");
                prev = p;
            }
        }
        let a = q(1.0, 2.0, 4.0);
        assert!((quantile_cdf(&a, 1.0) - 0.1).abs() < 1e-9);
        assert!((quantile_cdf(&a, 2.0) - 0.5).abs() < 1e-9);
        assert!((quantile_cdf(&a, 4.0) - 0.9).abs() < 1e-9);
        assert_eq!(quantile_cdf(&a, -1.0), 0.0);
        assert_eq!(quantile_cdf(&a, f64::NAN), 0.0);
    }

    #[test]
    fn identity_and_round_trip() {
        let cal = Calibration {
            window: vec![WindowAdjust {
                service: "NPX-GROUND".into(),
                lower_days: -0.25,
                upper_days: 0.5,
            }],
            map: vec![[0.2, 0.1], [0.9, 0.95]],
            ..Calibration::identity("eta-x")
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(CALIBRATION_FILE);
        cal.save(&path).unwrap();
        assert_eq!(Calibration::load(&path, "eta-x").unwrap(), cal);
        assert!(matches!(
            Calibration::load(&path, "eta-y"),
            Err(CalibrationError::VersionMismatch { .. })
        ));
        assert_eq!(Calibration::identity("v").apply(0.37), 0.37);
        let bad = Calibration {
            map: vec![[0.5, 0.6], [0.6, 0.5]],
            ..Calibration::identity("v")
        };
        assert!(bad.check().is_err());
    }
}
