//! The reference histograms a model card carries: one per input feature
//! (`reference_histograms`) and one per output (`reference_output_histograms`),
//! written by the training pipeline from the training or validation split.

use serde::Deserialize;

use crate::scoring::ModelCard;

/// One reference histogram: ten quantile bins of the training population.
///
/// A finite value `x` falls in bin `i` = the number of cuts `c` with
/// `c <= x`, so there are `cuts.len() + 1` bins; `shares` are over the
/// finite values, and non-finite (missing) values are counted apart in
/// `missing_share` (the training pipeline's `metrics.reference_histogram`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ReferenceHistogram {
    /// The feature or output named.
    #[serde(alias = "output")]
    pub feature: String,
    /// Interior bin edges, ascending.
    #[serde(default)]
    pub cuts: Vec<f64>,
    /// Share of the finite values per bin (`cuts.len() + 1` of them).
    pub shares: Vec<f64>,
    /// Share of the values that were missing (NaN).
    #[serde(default)]
    pub missing_share: f64,
}

/// Why a card's histograms cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReferenceError {
    /// The card's field is not a list of histograms.
    #[error("card {model}: {field} is invalid: {problem}")]
    Invalid {
        /// The model.
        model: String,
        /// The card field.
        field: &'static str,
        /// What is wrong.
        problem: String,
    },
}

impl ReferenceHistogram {
    /// The bin of `value`: `0..=cuts.len()`, or `None` when it is missing.
    pub fn bin(&self, value: f32) -> Option<usize> {
        if !value.is_finite() {
            return None;
        }
        let v = f64::from(value);
        Some(self.cuts.partition_point(|&c| c <= v))
    }

    /// Expected share of each bin over all values, the missing bin last:
    /// `shares * (1 - missing_share)`, then `missing_share`.
    pub fn expected(&self) -> Vec<f64> {
        let present = 1.0 - self.missing_share;
        self.shares
            .iter()
            .map(|s| s * present)
            .chain(std::iter::once(self.missing_share))
            .collect()
    }

    fn check(&self) -> Result<(), String> {
        if self.shares.len() != self.cuts.len() + 1 {
            return Err(format!(
                "{}: {} shares for {} cuts (want cuts + 1)",
                self.feature,
                self.shares.len(),
                self.cuts.len()
            ));
        }
        if self
            .cuts
            .windows(2)
            .any(|w| w[0].partial_cmp(&w[1]) != Some(std::cmp::Ordering::Less))
        {
            return Err(format!("{}: cuts are not strictly ascending", self.feature));
        }
        let total: f64 = self.shares.iter().sum();
        if !(0.99..=1.01).contains(&total) || !(0.0..=1.0).contains(&self.missing_share) {
            return Err(format!(
                "{}: shares sum to {total}, missing share {}",
                self.feature, self.missing_share
            ));
        }
        Ok(())
    }
}

/// The histograms of `field` in `card`, checked, in the order of `names`
/// (the model's features or outputs); `Ok(None)` when the card has no such
/// field.
pub fn card_histograms(
    card: &ModelCard,
    field: &'static str,
    names: &[&str],
) -> Result<Option<Vec<ReferenceHistogram>>, ReferenceError> {
    let Some(value) = card.extra.get(field) else {
        return Ok(None);
    };
    let invalid = |problem: String| ReferenceError::Invalid {
        model: card.name.clone(),
        field,
        problem,
    };
    let all: Vec<ReferenceHistogram> =
        serde_json::from_value(value.clone()).map_err(|e| invalid(e.to_string()))?;
    let mut ordered = Vec::with_capacity(names.len());
    for name in names {
        let h = all
            .iter()
            .find(|h| h.feature == *name)
            .ok_or_else(|| invalid(format!("no histogram for {name}")))?;
        h.check().map_err(invalid)?;
        ordered.push(h.clone());
    }
    Ok(Some(ordered))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn histogram() -> ReferenceHistogram {
        ReferenceHistogram {
            feature: "x".into(),
            cuts: vec![1.0, 2.0],
            shares: vec![0.25, 0.5, 0.25],
            missing_share: 0.2,
        }
    }

    #[test]
    fn a_value_falls_in_the_bin_of_the_cuts_at_or_below_it() {
        let h = histogram();
        assert_eq!(h.bin(0.5), Some(0));
        assert_eq!(h.bin(1.0), Some(1));
        assert_eq!(h.bin(1.5), Some(1));
        assert_eq!(h.bin(2.0), Some(2));
        assert_eq!(h.bin(f32::NAN), None);
        let e = h.expected();
        assert_eq!(e.len(), 4);
        assert!((e.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!((e[3] - 0.2).abs() < 1e-12 && (e[1] - 0.4).abs() < 1e-12);
    }

    #[test]
    fn the_shipped_cards_histograms_are_valid() {
        let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/cards"));
        for (file, names) in [
            ("fraud.json", crate::features::FRAUD_FEATURES),
            ("eta.json", crate::features::ETA_FEATURES),
        ] {
            let card = ModelCard::load(&dir.join(file)).unwrap();
            let h = card_histograms(&card, "reference_histograms", names)
                .unwrap()
                .expect("the card has reference histograms");
            assert_eq!(h.len(), names.len());
        }
    }
}
