//! What an operator reads of the models being served.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use allot_models::scoring::ModelCard;

use crate::engine::Engine;

/// What a served model predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// Fraud probability of an order.
    Fraud,
    /// Delivery time quantiles.
    Eta,
}

/// One model being served.
#[derive(Debug, Clone)]
pub struct LoadedModel {
    /// What it predicts.
    pub kind: ModelKind,
    /// The model's name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Its input features, in order.
    pub feature_names: Vec<String>,
    /// When it was loaded.
    pub loaded_at: SystemTime,
    /// Its decision thresholds by name (the fraud model's `review` and
    /// `reject`, as in use); empty for a model without thresholds.
    pub thresholds: Vec<(String, f64)>,
    /// Hex SHA-256 of the ONNX file, from the model card.
    pub sha256: String,
    /// The ONNX file.
    pub path: PathBuf,
}

impl LoadedModel {
    fn from_card(
        kind: ModelKind,
        card: &ModelCard,
        path: PathBuf,
        loaded_at: SystemTime,
        thresholds: Vec<(String, f64)>,
    ) -> LoadedModel {
        LoadedModel {
            kind,
            name: card.name.clone(),
            version: card.version.clone(),
            feature_names: card
                .feature_names()
                .into_iter()
                .map(str::to_string)
                .collect(),
            loaded_at,
            thresholds,
            sha256: card
                .extra
                .get("onnx")
                .and_then(|onnx| onnx.get("sha256"))
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string(),
            path,
        }
    }
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

    /// Every model being served (the fraud model, and the ETA model when
    /// the models directory has one), ordered by name.
    pub fn loaded(&self) -> Vec<LoadedModel> {
        let (dir, loaded_at) = &self.engine.models_loaded;
        let risk = &self.engine.risk;
        let (review, reject) = risk.thresholds();
        let mut models = vec![LoadedModel::from_card(
            ModelKind::Fraud,
            risk.card(),
            dir.join("fraud.onnx"),
            *loaded_at,
            vec![
                ("review".to_string(), review),
                ("reject".to_string(), reject),
            ],
        )];
        if let Some((card, path)) = &self.engine.eta_model {
            models.push(LoadedModel::from_card(
                ModelKind::Eta,
                card,
                path.clone(),
                *loaded_at,
                Vec::new(),
            ));
        }
        models.sort_by(|a, b| a.name.cmp(&b.name));
        models
    }
}
