//! Drift: how far the inputs and outputs a model sees live have moved from
//! the population it was trained on, as the population stability index
//! (PSI) of each column over a sliding window of the last rows, against the
//! model card's reference histograms.
//!
//! The conventional bands: below 0.1 the population is stable, 0.1 to 0.25
//! it has moved moderately, above 0.25 significantly (retrain or look).

mod reference;
mod window;

pub use reference::{ReferenceError, ReferenceHistogram, card_histograms};
pub use window::{PSI_FLOOR, Window, psi};

use parking_lot::Mutex;

use crate::scoring::ModelCard;

/// The card field holding the input features' histograms.
pub const INPUT_HISTOGRAMS: &str = "reference_histograms";
/// The card field holding the outputs' histograms.
pub const OUTPUT_HISTOGRAMS: &str = "reference_output_histograms";

/// The conventional PSI band of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Band {
    /// PSI below 0.1.
    Stable,
    /// PSI from 0.1 to 0.25.
    Moderate,
    /// PSI of 0.25 or more.
    Significant,
}

impl Band {
    /// The band of `psi`.
    pub fn of(psi: f64) -> Band {
        if psi < 0.1 {
            Band::Stable
        } else if psi < 0.25 {
            Band::Moderate
        } else {
            Band::Significant
        }
    }

    /// Lower-case name, as in metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Band::Stable => "stable",
            Band::Moderate => "moderate",
            Band::Significant => "significant",
        }
    }
}

/// Whether a column is a model input or a model output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnKind {
    /// An input feature.
    Input,
    /// An output (a score or a quantile).
    Output,
}

/// The drift of one column.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDrift {
    /// Feature or output name.
    pub name: String,
    /// Input or output.
    pub kind: ColumnKind,
    /// PSI over the window.
    pub psi: f64,
    /// Its band.
    pub band: Band,
}

/// The drift of one model version over its window.
#[derive(Debug, Clone, PartialEq)]
pub struct DriftReport {
    /// Model name.
    pub model: String,
    /// Model version.
    pub version: String,
    /// Rows in the window (PSI over few rows is noisy: read it with this).
    pub rows: usize,
    /// Most rows the window keeps.
    pub window: usize,
    /// Every monitored column: inputs in feature order, then outputs.
    pub columns: Vec<ColumnDrift>,
}

impl DriftReport {
    /// The largest PSI over the columns (0 without any).
    pub fn max_psi(&self) -> f64 {
        self.columns.iter().map(|c| c.psi).fold(0.0, f64::max)
    }
}

/// Watches one model version's live rows against its card.
#[derive(Debug)]
pub struct DriftMonitor {
    model: String,
    version: String,
    window: usize,
    inputs: Mutex<Window>,
    outputs: Option<Mutex<Window>>,
}

impl DriftMonitor {
    /// A monitor for the model of `card`, over its `features` and `outputs`
    /// (in the order rows are given), keeping the last `window` rows.
    /// The card must have input histograms; output histograms are used
    /// when it has them.
    pub fn new(
        card: &ModelCard,
        features: &[&str],
        outputs: &[&str],
        window: usize,
    ) -> Result<DriftMonitor, ReferenceError> {
        let inputs = card_histograms(card, INPUT_HISTOGRAMS, features)?.ok_or_else(|| {
            ReferenceError::Invalid {
                model: card.name.clone(),
                field: INPUT_HISTOGRAMS,
                problem: "the card has none".into(),
            }
        })?;
        let outputs = card_histograms(card, OUTPUT_HISTOGRAMS, outputs)?;
        Ok(DriftMonitor {
            model: card.name.clone(),
            version: card.version.clone(),
            window,
            inputs: Mutex::new(Window::new(inputs, window)),
            outputs: outputs.map(|o| Mutex::new(Window::new(o, window))),
        })
    }

    /// Records one scored row: its input features and its outputs.
    pub fn observe(&self, inputs: &[f32], outputs: &[f32]) {
        self.inputs.lock().push(inputs);
        if let Some(w) = &self.outputs {
            w.lock().push(outputs);
        }
    }

    /// Whether the card had output histograms (else only inputs are
    /// monitored).
    pub fn watches_outputs(&self) -> bool {
        self.outputs.is_some()
    }

    /// PSI of every column over the window now.
    pub fn report(&self) -> DriftReport {
        let inputs = self.inputs.lock();
        let rows = inputs.len();
        let column = |kind| {
            move |(name, psi): (String, f64)| ColumnDrift {
                name,
                kind,
                psi,
                band: Band::of(psi),
            }
        };
        let mut columns: Vec<ColumnDrift> = inputs
            .psi()
            .into_iter()
            .map(column(ColumnKind::Input))
            .collect();
        drop(inputs);
        if let Some(w) = &self.outputs {
            columns.extend(w.lock().psi().into_iter().map(column(ColumnKind::Output)));
        }
        DriftReport {
            model: self.model.clone(),
            version: self.version.clone(),
            rows,
            window: self.window,
            columns,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_are_the_conventional_ones() {
        assert_eq!(Band::of(0.0), Band::Stable);
        assert_eq!(Band::of(0.099), Band::Stable);
        assert_eq!(Band::of(0.1), Band::Moderate);
        assert_eq!(Band::of(0.249), Band::Moderate);
        assert_eq!(Band::of(0.25), Band::Significant);
    }
}
