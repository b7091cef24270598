//! What an operator reads of the models being served.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use crate::engine::Engine;

/// The fraud model being served.
#[derive(Debug, Clone)]
pub struct FraudModelInfo {
    /// The model's name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Its input features, in order.
    pub feature_names: Vec<String>,
    /// When it was loaded.
    pub loaded_at: SystemTime,
    /// The review and reject thresholds.
    pub thresholds: (f64, f64),
    /// Hex SHA-256 of the ONNX file, from the model card.
    pub sha256: String,
    /// The ONNX file.
    pub path: PathBuf,
}

/// The model use cases.
pub struct Models {
    engine: Arc<Engine>,
}

impl Models {
    /// Over the served `engine`.
    pub fn new(engine: Arc<Engine>) -> Self {
        Models { engine }
    }

    /// The fraud model being served.
    pub fn fraud(&self) -> FraudModelInfo {
        let risk = &self.engine.risk;
        let card = risk.card();
        let (dir, loaded_at) = &self.engine.models_loaded;
        FraudModelInfo {
            name: card.name.clone(),
            version: card.version.clone(),
            feature_names: card
                .feature_names()
                .into_iter()
                .map(str::to_string)
                .collect(),
            loaded_at: *loaded_at,
            thresholds: risk.thresholds(),
            sha256: card
                .extra
                .get("onnx")
                .and_then(|onnx| onnx.get("sha256"))
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string(),
            path: dir.join("fraud.onnx"),
        }
    }
}
