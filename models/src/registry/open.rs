//! The gates every model passes the same way, whatever it predicts: its
//! card and schema, the file's hash against the card, loading, parity with
//! the card's samples.

use std::path::Path;

use super::{Gate, GateLog, GateRefusal, card_sha256, file_sha256};
use crate::drift::DriftMonitor;
use crate::scoring::{ModelCard, ParityReport, ScoringError};

/// A model's card and file, past the schema and sha256 gates.
pub struct Opened {
    /// The card.
    pub card: ModelCard,
    /// The drift monitor over the card's reference histograms.
    pub drift: DriftMonitor,
    /// Hex SHA-256 of the model file, equal to the card's.
    pub sha256: String,
}

/// What the schema gate holds a card to, and what the drift monitor watches.
pub struct Schema<'a> {
    /// Checks the card's features; `Ok` says what passed.
    pub check: fn(&ModelCard) -> Result<String, String>,
    /// The input features, in order.
    pub features: &'a [&'a str],
    /// The outputs, in order.
    pub outputs: &'a [&'a str],
    /// Rows the drift window keeps.
    pub drift_window: usize,
}

impl GateLog {
    /// The schema gate on the card at `card_path` (with its reference
    /// histograms), then the sha256 gate on the file `onnx`.
    pub fn open(
        &mut self,
        card_path: &Path,
        onnx: &Path,
        schema: Schema<'_>,
    ) -> Result<Opened, GateRefusal> {
        let card =
            ModelCard::load(card_path).map_err(|e| self.refuse(Gate::Schema, e.to_string()))?;
        self.check(Gate::Schema, (schema.check)(&card))?;
        let drift = DriftMonitor::new(&card, schema.features, schema.outputs, schema.drift_window)
            .map_err(|e| self.refuse(Gate::Schema, e.to_string()))?;
        let sha256 = file_sha256(onnx).map_err(|e| {
            self.refuse(Gate::Sha256, format!("cannot read {}: {e}", onnx.display()))
        })?;
        self.check(
            Gate::Sha256,
            match card_sha256(&card) {
                Some(want) if want == sha256 => Ok(format!("{sha256} as in the card")),
                Some(want) => Err(format!(
                    "{} hashes to {sha256} but the card says {want}",
                    onnx.display()
                )),
                None => Err("the card records no onnx.sha256".into()),
            },
        )?;
        Ok(Opened {
            card,
            drift,
            sha256,
        })
    }

    /// The load gate on a model ONNX Runtime loaded (or failed to), then
    /// the parity gate on its `samples` check.
    pub fn loaded<M>(
        &mut self,
        model: Result<M, ScoringError>,
        samples: impl FnOnce(&M) -> Result<ParityReport, ScoringError>,
    ) -> Result<M, GateRefusal> {
        let model = model.map_err(|e| self.refuse(Gate::Load, e.to_string()))?;
        self.check(
            Gate::Load,
            Ok("ONNX Runtime loaded it; inputs and outputs as on the card".into()),
        )?;
        self.check(
            Gate::Parity,
            samples(&model)
                .map(|r| {
                    format!(
                        "{} sample rows, max |diff| {:.1e} vs LightGBM",
                        r.rows, r.max_abs_diff_lightgbm
                    )
                })
                .map_err(|e| e.to_string()),
        )?;
        Ok(model)
    }
}
