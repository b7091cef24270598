//! Scores the card's sample rows and compares them with the outputs LightGBM
//! and Python onnxruntime recorded in the card: the parity check the tests run
//! and a server can run at startup.

use super::card::{LightgbmOutputs, Sample};
use super::error::ScoringError;
use super::typed::{DemandModel, EtaModel, FraudModel};

/// Tolerance on probabilities: absolute.
pub const PROBABILITY_TOLERANCE: f64 = 1e-5;
/// Tolerance on regressions: relative, `1e-5 * max(|reference|, 1e-2)`.
pub const REGRESSION_RELATIVE_TOLERANCE: f64 = 1e-5;

/// The outcome of a successful parity check.
#[derive(Debug, Clone, PartialEq)]
pub struct ParityReport {
    /// Model name.
    pub model: String,
    /// Sample rows compared.
    pub rows: usize,
    /// Largest |Rust - LightGBM| over all compared values.
    pub max_abs_diff_lightgbm: f64,
    /// Largest |Rust - Python onnxruntime| (0 when the card has none).
    pub max_abs_diff_onnxruntime: f64,
}

struct Compare {
    model: String,
    relative: bool,
    report: ParityReport,
}

impl Compare {
    fn new(model: &str, relative: bool) -> Self {
        Self {
            model: model.to_owned(),
            relative,
            report: ParityReport {
                model: model.to_owned(),
                rows: 0,
                max_abs_diff_lightgbm: 0.0,
                max_abs_diff_onnxruntime: 0.0,
            },
        }
    }

    fn value(
        &mut self,
        row: usize,
        what: &str,
        ours: f32,
        reference: f64,
        lightgbm: bool,
    ) -> Result<(), ScoringError> {
        let d = (f64::from(ours) - reference).abs();
        let tol = if self.relative {
            REGRESSION_RELATIVE_TOLERANCE * reference.abs().max(1e-2)
        } else {
            PROBABILITY_TOLERANCE
        };
        let max = if lightgbm {
            &mut self.report.max_abs_diff_lightgbm
        } else {
            &mut self.report.max_abs_diff_onnxruntime
        };
        *max = max.max(d);
        if d <= tol {
            Ok(())
        } else {
            Err(ScoringError::Mismatch {
                model: self.model.clone(),
                detail: format!(
                    "sample {row}: {what} = {ours} in Rust, {reference} in the card (|diff| {d:.3e} > {tol:.1e})"
                ),
            })
        }
    }

    fn finish(mut self, rows: usize) -> Result<ParityReport, ScoringError> {
        if rows == 0 {
            return Err(ScoringError::Mismatch {
                model: self.model,
                detail: "the card has no sample rows to check".into(),
            });
        }
        self.report.rows = rows;
        Ok(self.report)
    }
}

fn onnx_number(sample: &Sample, key: &str) -> Option<f64> {
    sample
        .onnxruntime
        .get(key)
        .and_then(serde_json::Value::as_f64)
}

fn single<'s>(
    model: &str,
    row: usize,
    sample: &'s Sample,
) -> Result<&'s super::LightgbmOutput, ScoringError> {
    match &sample.lightgbm {
        LightgbmOutputs::Single(o) => Ok(o),
        LightgbmOutputs::PerModel(_) => Err(ScoringError::Mismatch {
            model: model.to_owned(),
            detail: format!("sample {row}: expected one LightGBM output, found several"),
        }),
    }
}

impl FraudModel {
    /// Scores the card's samples one by one and as a batch; each P(fraud) must
    /// be within 1e-5 of LightGBM's and Python onnxruntime's.
    pub fn check_samples(&self) -> Result<ParityReport, ScoringError> {
        let card = self.model().card();
        let mut cmp = Compare::new(&card.name, false);
        let rows: Vec<f32> = card
            .samples
            .iter()
            .flat_map(|s| s.features.iter().copied())
            .collect();
        let batch = self.score_flat(&rows)?;
        for (i, s) in card.samples.iter().enumerate() {
            let p = self.score(&s.features)?;
            let lgb = single(&card.name, i, s)?;
            let want = lgb
                .probability
                .unwrap_or_else(|| 1.0 / (1.0 + (-lgb.raw).exp()));
            cmp.value(i, "P(fraud) vs LightGBM", p, want, true)?;
            cmp.value(i, "batch P(fraud) vs LightGBM", batch[i], want, true)?;
            if let Some(o) = onnx_number(s, "probability") {
                cmp.value(i, "P(fraud) vs onnxruntime", p, o, false)?;
            }
        }
        cmp.finish(card.samples.len())
    }
}

impl EtaModel {
    /// Scores the card's samples; each quantile must be within relative 1e-5 of
    /// LightGBM's (`q10`, `q50`, `q90`, in the card's order) and onnxruntime's.
    pub fn check_samples(&self) -> Result<ParityReport, ScoringError> {
        let card = self.model().card();
        let mut cmp = Compare::new(&card.name, true);
        let names: Vec<String> = if card.quantiles.is_empty() {
            vec!["q10".into(), "q50".into(), "q90".into()]
        } else {
            card.quantiles
                .iter()
                .map(|q| format!("q{}", (q * 100.0).round()))
                .collect()
        };
        for (i, s) in card.samples.iter().enumerate() {
            let q = self.quantiles(&s.features)?;
            let LightgbmOutputs::PerModel(per) = &s.lightgbm else {
                return Err(self.model().mismatch(format!(
                    "sample {i}: expected LightGBM outputs per quantile"
                )));
            };
            for (k, name) in names.iter().enumerate() {
                let lgb = per.get(name).ok_or_else(|| {
                    self.model()
                        .mismatch(format!("sample {i}: no LightGBM output {name}"))
                })?;
                cmp.value(i, name, q[k], lgb.prediction.unwrap_or(lgb.raw), true)?;
            }
            if let Some(o) = s
                .onnxruntime
                .values()
                .next()
                .and_then(serde_json::Value::as_array)
            {
                for (k, v) in o.iter().enumerate().take(3) {
                    if let Some(v) = v.as_f64() {
                        cmp.value(i, &format!("column {k} vs onnxruntime"), q[k], v, false)?;
                    }
                }
            }
        }
        cmp.finish(card.samples.len())
    }
}

impl DemandModel {
    /// Scores the card's samples; each prediction must be within relative 1e-5
    /// of LightGBM's and onnxruntime's.
    pub fn check_samples(&self) -> Result<ParityReport, ScoringError> {
        let card = self.model().card();
        let mut cmp = Compare::new(&card.name, true);
        for (i, s) in card.samples.iter().enumerate() {
            let y = self.predict(&s.features)?;
            let lgb = single(&card.name, i, s)?;
            cmp.value(
                i,
                "prediction vs LightGBM",
                y,
                lgb.prediction.unwrap_or(lgb.raw),
                true,
            )?;
            if let Some(o) = s
                .onnxruntime
                .values()
                .next()
                .and_then(serde_json::Value::as_f64)
            {
                cmp.value(i, "prediction vs onnxruntime", y, o, false)?;
            }
        }
        cmp.finish(card.samples.len())
    }
}
