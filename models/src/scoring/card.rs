//! Model cards: the JSON written beside each ONNX file by `models/training`.
//!
//! Only the fields serving and the parity tests use are typed; the rest of the
//! card (metrics, training data, histograms, ...) is kept in
//! [`ModelCard::extra`] untouched.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::error::ScoringError;

/// A model card (`models/cards/<name>.json`).
#[derive(Debug, Clone, Deserialize)]
pub struct ModelCard {
    /// Model name, e.g. `fraud`.
    pub name: String,
    /// Model version, e.g. `fraud-2026.11.1-1a2b3c4d`.
    pub version: String,
    /// `binary_classifier`, `quantile_regressor`, `poisson_regressor`, ...
    #[serde(default)]
    pub kind: String,
    /// The graph's single input.
    pub input: TensorSpec,
    /// The graph's outputs, in graph order.
    pub outputs: Vec<TensorSpec>,
    /// Feature schema in input order.
    pub features: Vec<FeatureSpec>,
    /// Decision thresholds (fraud).
    #[serde(default)]
    pub thresholds: Option<Thresholds>,
    /// Quantile levels of the output columns (ETA).
    #[serde(default)]
    pub quantiles: Vec<f64>,
    /// Rows with LightGBM's and Python onnxruntime's outputs, for parity tests.
    #[serde(default)]
    pub samples: Vec<Sample>,
    /// Everything else in the card.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// Name, element type and shape of a graph input or output.
#[derive(Debug, Clone, Deserialize)]
pub struct TensorSpec {
    /// Tensor name in the graph.
    pub name: String,
    /// Element type: `f32` or `i64`.
    #[serde(rename = "type")]
    pub element_type: String,
    /// Dimensions: a number, or a name such as `N` for the batch dimension.
    #[serde(default)]
    pub shape: Vec<Dim>,
}

/// One dimension of a [`TensorSpec`] shape.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Dim {
    /// A fixed size.
    Fixed(i64),
    /// A symbolic (dynamic) size, such as the batch `N`.
    Symbolic(String),
}

/// One input feature.
#[derive(Debug, Clone, Deserialize)]
pub struct FeatureSpec {
    /// Position in the input row.
    pub index: usize,
    /// Feature name (the training table's column).
    pub name: String,
    /// Element type (`f32`).
    #[serde(rename = "type", default)]
    pub element_type: String,
    /// Unit, if documented.
    #[serde(default)]
    pub unit: Option<String>,
    /// Description, if documented.
    #[serde(default)]
    pub description: Option<String>,
}

/// The fraud model's decision thresholds on P(fraud).
#[derive(Debug, Clone, Deserialize)]
pub struct Thresholds {
    /// REVIEW at or above this.
    pub review: Threshold,
    /// REJECT at or above this.
    pub reject: Threshold,
}

/// One threshold on the model's score.
#[derive(Debug, Clone, Deserialize)]
pub struct Threshold {
    /// The decision applies when the score is at least this.
    pub score_at_least: f64,
}

/// A sample row with reference outputs.
#[derive(Debug, Clone, Deserialize)]
pub struct Sample {
    /// The feature row, in input order.
    pub features: Vec<f32>,
    /// LightGBM's outputs: one set, or one per quantile (`q10`, `q50`, `q90`).
    pub lightgbm: LightgbmOutputs,
    /// Python onnxruntime's outputs, by output name.
    #[serde(default)]
    pub onnxruntime: BTreeMap<String, serde_json::Value>,
}

/// LightGBM's reference outputs for a sample.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum LightgbmOutputs {
    /// A single-output model (fraud, demand).
    Single(LightgbmOutput),
    /// Several models sharing the row (ETA quantiles), by name.
    PerModel(BTreeMap<String, LightgbmOutput>),
}

/// One LightGBM model's outputs for a row.
#[derive(Debug, Clone, Deserialize)]
pub struct LightgbmOutput {
    /// Raw score (log-odds for the classifier, log for Poisson).
    pub raw: f64,
    /// P(class 1) for a classifier.
    #[serde(default)]
    pub probability: Option<f64>,
    /// Prediction for a regressor.
    #[serde(default)]
    pub prediction: Option<f64>,
    /// `pred_contrib` per feature, input order.
    #[serde(default)]
    pub contributions: Vec<f64>,
    /// `pred_contrib`'s bias (last) column.
    #[serde(default)]
    pub bias: f64,
}

impl ModelCard {
    /// Reads and parses a card file.
    pub fn load(path: &Path) -> Result<Self, ScoringError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScoringError::ReadCard {
            path: path.to_path_buf(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| ScoringError::ParseCard {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Feature names in input order.
    pub fn feature_names(&self) -> Vec<&str> {
        self.features.iter().map(|f| f.name.as_str()).collect()
    }

    /// Checks the card against itself: feature indices 0..n in order, and the
    /// input shape's feature dimension equal to the schema's length.
    pub fn check(&self) -> Result<(), ScoringError> {
        let mismatch = |detail: String| ScoringError::Mismatch {
            model: self.name.clone(),
            detail,
        };
        if let Some((i, f)) = self
            .features
            .iter()
            .enumerate()
            .find(|(i, f)| f.index != *i)
        {
            return Err(mismatch(format!(
                "card feature {:?} has index {} at position {i}",
                f.name, f.index
            )));
        }
        match self.input.shape.as_slice() {
            [_, Dim::Fixed(n)] if *n as usize == self.features.len() => Ok(()),
            shape => Err(mismatch(format!(
                "card input shape {shape:?} does not have [N, {}] for its {} features",
                self.features.len(),
                self.features.len()
            ))),
        }
    }
}
