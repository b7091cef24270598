//! The quality gate's held-out sample and metrics.

use serde::Deserialize;

use crate::scoring::ModelCard;

/// Rows of the training world's test split with their labels, carried by
/// the card (`holdout`): fraud labels are 0 or 1, ETA labels are the actual
/// transit days.
#[derive(Debug, Clone, PartialEq)]
pub struct Holdout {
    /// Feature rows in the model's input order (a missing value is NaN).
    pub rows: Vec<Vec<f32>>,
    /// One label per row.
    pub labels: Vec<f64>,
}

#[derive(Deserialize)]
struct RawHoldout {
    rows: Vec<Vec<Option<f32>>>,
    labels: Vec<f64>,
}

impl Holdout {
    /// The card's held-out sample, `Ok(None)` when it has none; an error
    /// says what is malformed (rows of the wrong width, labels not one per
    /// row, no rows).
    pub fn from_card(card: &ModelCard) -> Result<Option<Holdout>, String> {
        let Some(value) = card.extra.get("holdout") else {
            return Ok(None);
        };
        let raw: RawHoldout = serde_json::from_value(value.clone())
            .map_err(|e| format!("card {}: holdout is invalid: {e}", card.name))?;
        let width = card.features.len();
        if raw.rows.is_empty() || raw.rows.len() != raw.labels.len() {
            return Err(format!(
                "card {}: holdout has {} rows and {} labels",
                card.name,
                raw.rows.len(),
                raw.labels.len()
            ));
        }
        if let Some(i) = raw.rows.iter().position(|r| r.len() != width) {
            return Err(format!(
                "card {}: holdout row {i} has {} values for {width} features",
                card.name,
                raw.rows[i].len()
            ));
        }
        Ok(Some(Holdout {
            rows: raw
                .rows
                .into_iter()
                .map(|r| r.into_iter().map(|v| v.unwrap_or(f32::NAN)).collect())
                .collect(),
            labels: raw.labels,
        }))
    }

    /// The rows, flattened row after row.
    pub fn flat_rows(&self) -> Vec<f32> {
        self.rows.iter().flatten().copied().collect()
    }
}

/// Area under the ROC curve of `scores` against 0/1 `labels` (ties count
/// half); `None` when one class is absent.
pub fn auc(scores: &[f32], labels: &[f64]) -> Option<f64> {
    let mut pairs: Vec<(f32, bool)> = scores
        .iter()
        .zip(labels)
        .map(|(&s, &l)| (s, l >= 0.5))
        .collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let positives = pairs.iter().filter(|p| p.1).count();
    let negatives = pairs.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    // Mann-Whitney: the positives' rank sum, ties given their average rank.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < pairs.len() {
        let mut j = i;
        while j < pairs.len() && pairs[j].0 == pairs[i].0 {
            j += 1;
        }
        let average_rank = (i + 1 + j) as f64 / 2.0;
        rank_sum += average_rank * pairs[i..j].iter().filter(|p| p.1).count() as f64;
        i = j;
    }
    let p = positives as f64;
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * negatives as f64))
}

/// Mean pinball (quantile) loss of `predictions` (one value per quantile
/// level in `levels`, per row) against `labels`, averaged over rows and
/// levels. Lower is better.
pub fn mean_pinball_loss(predictions: &[[f32; 3]], labels: &[f64], levels: [f64; 3]) -> f64 {
    let mut total = 0.0;
    for (p, &y) in predictions.iter().zip(labels) {
        for (q, &tau) in p.iter().zip(&levels) {
            let d = y - f64::from(*q);
            total += if d >= 0.0 { tau * d } else { (tau - 1.0) * d };
        }
    }
    total / (predictions.len().max(1) * 3) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_is_one_when_every_positive_outranks_every_negative() {
        assert_eq!(auc(&[0.1, 0.2, 0.8, 0.9], &[0.0, 0.0, 1.0, 1.0]), Some(1.0));
        assert_eq!(auc(&[0.9, 0.8, 0.2, 0.1], &[0.0, 0.0, 1.0, 1.0]), Some(0.0));
        assert_eq!(auc(&[0.5; 4], &[0.0, 1.0, 0.0, 1.0]), Some(0.5));
        assert_eq!(auc(&[0.5, 0.6], &[1.0, 1.0]), None);
    }

    #[test]
    fn pinball_loss_weighs_each_side_by_its_level() {
        let loss = mean_pinball_loss(&[[1.0, 2.0, 3.0]], &[2.0], [0.1, 0.5, 0.9]);
        // q10 under by 1: 0.1; q50 exact: 0; q90 over by 1: 0.1.
        assert!((loss - 0.2 / 3.0).abs() < 1e-12, "{loss}");
    }
}
