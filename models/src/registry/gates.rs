//! The gates a model passes before it serves.

use std::fmt;
use std::path::PathBuf;
use std::time::SystemTime;

use super::identity::ModelIdentity;
use crate::scoring::ModelCard;

/// One check a model must pass before it serves, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Gate {
    /// The card parses, its feature schema is the one this server computes
    /// (names and order), and its reference histograms are valid.
    Schema,
    /// The model file's SHA-256 equals the card's `onnx.sha256`.
    Sha256,
    /// ONNX Runtime loads the file and its graph matches the card.
    Load,
    /// The model's outputs on the card's sample rows equal the outputs
    /// LightGBM and Python onnxruntime recorded there.
    Parity,
    /// The TreeSHAP explainer (the LightGBM text model) reproduces the ONNX
    /// scores on the card's rows and LightGBM's recorded contributions.
    Explainer,
    /// The ETA calibration was fitted for this model version.
    Calibration,
    /// Quality on the card's held-out sample is not worse than the live
    /// model's on the same rows by more than the configured margin.
    Quality,
}

impl Gate {
    /// Lower-case name, as in answers, logs and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Gate::Schema => "schema",
            Gate::Sha256 => "sha256",
            Gate::Load => "load",
            Gate::Parity => "parity",
            Gate::Explainer => "explainer",
            Gate::Calibration => "calibration",
            Gate::Quality => "quality",
        }
    }
}

impl fmt::Display for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A gate passed, with what it measured.
#[derive(Debug, Clone, PartialEq)]
pub struct GateOutcome {
    /// The gate.
    pub gate: Gate,
    /// What it checked or measured, e.g. `auc 0.9612 vs live 0.9598`.
    pub detail: String,
}

/// A model refused at a gate.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("model {model} refused by the {gate} gate: {detail}")]
pub struct GateRefusal {
    /// The model's name (`fraud`, `eta`).
    pub model: String,
    /// The gate that failed.
    pub gate: Gate,
    /// Why.
    pub detail: String,
}

/// The gates one model passed so far.
#[derive(Debug, Clone)]
pub struct GateLog {
    model: String,
    passed: Vec<GateOutcome>,
}

impl GateLog {
    /// An empty log for model `model`.
    pub fn new(model: &str) -> GateLog {
        GateLog {
            model: model.to_string(),
            passed: Vec::new(),
        }
    }

    /// Records `gate` as passed with `detail` when `result` is `Ok(detail)`,
    /// else refuses the model at `gate`.
    pub fn check(&mut self, gate: Gate, result: Result<String, String>) -> Result<(), GateRefusal> {
        match result {
            Ok(detail) => {
                self.passed.push(GateOutcome { gate, detail });
                Ok(())
            }
            Err(detail) => Err(self.refuse(gate, detail)),
        }
    }

    /// A refusal at `gate` for this log's model.
    pub fn refuse(&self, gate: Gate, detail: impl Into<String>) -> GateRefusal {
        GateRefusal {
            model: self.model.clone(),
            gate,
            detail: detail.into(),
        }
    }

    /// The gates passed, in order.
    pub fn passed(&self) -> &[GateOutcome] {
        &self.passed
    }

    /// The identity of the model that passed every gate of this log: named
    /// and versioned by its card, the file it was loaded from, loaded now.
    pub fn into_identity(self, card: &ModelCard, sha256: String, path: PathBuf) -> ModelIdentity {
        ModelIdentity {
            name: card.name.clone(),
            version: card.version.clone(),
            sha256,
            path,
            loaded_at: SystemTime::now(),
            gates: self.passed,
        }
    }
}
