//! TreeSHAP against the `pred_contrib` values a model card records.

use crate::scoring::{LightgbmOutputs, ModelCard};

use super::{Ensemble, ShapError};

/// Tolerance on each contribution and the bias, absolute (raw score space).
pub const CONTRIBUTION_TOLERANCE: f64 = 1e-4;

impl Ensemble {
    /// Checks that this ensemble has the card's features (same names, same
    /// order) and that its TreeSHAP values equal the card samples' LightGBM
    /// `pred_contrib` within [`CONTRIBUTION_TOLERANCE`]. `output` picks one
    /// model of a multi-model card (e.g. `q50` for ETA); `None` for fraud and
    /// demand. Returns the largest absolute difference seen.
    pub fn check_card_samples(
        &self,
        card: &ModelCard,
        output: Option<&str>,
    ) -> Result<f64, ShapError> {
        let names = card.feature_names();
        if names != self.feature_names {
            return Err(ShapError::Parity(format!(
                "card {} features {names:?} differ from the LightGBM model's {:?}",
                card.name, self.feature_names
            )));
        }
        if card.samples.is_empty() {
            return Err(ShapError::Parity(format!(
                "card {} has no sample rows",
                card.name
            )));
        }
        let mut worst = 0.0f64;
        for (i, s) in card.samples.iter().enumerate() {
            let lgb = match (&s.lightgbm, output) {
                (LightgbmOutputs::Single(o), None) => o,
                (LightgbmOutputs::PerModel(m), Some(k)) => m.get(k).ok_or_else(|| {
                    ShapError::Parity(format!("sample {i}: no LightGBM output {k}"))
                })?,
                _ => {
                    return Err(ShapError::Parity(format!(
                        "sample {i}: LightGBM outputs do not match {output:?}"
                    )));
                }
            };
            if lgb.contributions.len() != names.len() {
                return Err(ShapError::Parity(format!(
                    "sample {i}: {} contributions for {} features",
                    lgb.contributions.len(),
                    names.len()
                )));
            }
            let c = self.contributions(&s.features);
            let pairs = c
                .values
                .iter()
                .zip(&lgb.contributions)
                .map(|(a, b)| (a, *b));
            for (j, (ours, theirs)) in pairs.chain([(&c.bias, lgb.bias)]).enumerate() {
                let d = (ours - theirs).abs();
                worst = worst.max(d);
                if d > CONTRIBUTION_TOLERANCE {
                    let what = names.get(j).copied().unwrap_or("bias");
                    return Err(ShapError::Parity(format!(
                        "sample {i} {what}: TreeSHAP {ours} vs pred_contrib {theirs} (|diff| {d:.3e})"
                    )));
                }
            }
            let raw_diff = (c.raw_score() - lgb.raw).abs();
            if raw_diff > CONTRIBUTION_TOLERANCE {
                return Err(ShapError::Parity(format!(
                    "sample {i}: contributions sum to {} but LightGBM's raw score is {}",
                    c.raw_score(),
                    lgb.raw
                )));
            }
        }
        Ok(worst)
    }
}
