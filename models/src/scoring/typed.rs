//! The three shipped models with the scoring calls the engine uses.

use std::path::Path;

use super::card::Thresholds;
use super::error::ScoringError;
use super::model::{FeatureRows, Model};

/// The fraud classifier: P(fraud) per order.
#[derive(Debug)]
pub struct FraudModel {
    model: Model,
    probabilities: String,
}

impl FraudModel {
    /// Loads `fraud.onnx` and its card; the graph must have an f32 output
    /// `probabilities` [N, 2] (column 1 = P(fraud)).
    pub fn load(onnx_path: &Path, card_path: &Path) -> Result<Self, ScoringError> {
        Self::new(Model::load(onnx_path, card_path)?)
    }

    /// Wraps a loaded model after checking its outputs.
    pub fn new(model: Model) -> Result<Self, ScoringError> {
        let probabilities = model.require_output(Some("probabilities"), 2)?;
        Ok(Self {
            model,
            probabilities,
        })
    }

    /// P(fraud) for one row of features in card order.
    pub fn score(&self, features: &[f32]) -> Result<f32, ScoringError> {
        self.model.check_row(features)?;
        Ok(self.model.run(features, &self.probabilities)?[1])
    }

    /// P(fraud) per row, in one run.
    pub fn score_batch<R: FeatureRows + ?Sized>(&self, rows: &R) -> Result<Vec<f32>, ScoringError> {
        self.score_flat(&self.model.batch(rows)?)
    }

    /// P(fraud) per row for rows given row-major in one slice
    /// (`rows.len()` a multiple of the feature count).
    pub fn score_flat(&self, rows: &[f32]) -> Result<Vec<f32>, ScoringError> {
        let p = self.model.run(rows, &self.probabilities)?;
        Ok(p.chunks_exact(2).map(|r| r[1]).collect())
    }

    /// The card's review / reject thresholds, if it has them.
    pub fn thresholds(&self) -> Option<&Thresholds> {
        self.model.card().thresholds.as_ref()
    }

    /// The underlying model (card, path).
    pub fn model(&self) -> &Model {
        &self.model
    }
}

/// The ETA model: q10, q50, q90 of transit days, all three from one run.
#[derive(Debug)]
pub struct EtaModel {
    model: Model,
    output: String,
}

impl EtaModel {
    /// Loads `eta.onnx` and its card; the graph must have one f32 output [N, 3].
    pub fn load(onnx_path: &Path, card_path: &Path) -> Result<Self, ScoringError> {
        Self::new(Model::load(onnx_path, card_path)?)
    }

    /// Wraps a loaded model after checking its output.
    pub fn new(model: Model) -> Result<Self, ScoringError> {
        let output = model.require_output(None, 3)?;
        Ok(Self { model, output })
    }

    /// `[q10, q50, q90]` for one row.
    pub fn quantiles(&self, features: &[f32]) -> Result<[f32; 3], ScoringError> {
        self.model.check_row(features)?;
        let q = self.model.run(features, &self.output)?;
        Ok([q[0], q[1], q[2]])
    }

    /// `[q10, q50, q90]` per row, in one run.
    pub fn quantiles_batch<R: FeatureRows + ?Sized>(
        &self,
        rows: &R,
    ) -> Result<Vec<[f32; 3]>, ScoringError> {
        let flat = self.model.batch(rows)?;
        let q = self.model.run(&flat, &self.output)?;
        Ok(q.chunks_exact(3).map(|r| [r[0], r[1], r[2]]).collect())
    }

    /// The underlying model (card, path).
    pub fn model(&self) -> &Model {
        &self.model
    }
}

/// The demand model: expected units per SKU x region x day.
#[derive(Debug)]
pub struct DemandModel {
    model: Model,
    output: String,
}

impl DemandModel {
    /// Loads `demand.onnx` and its card; the graph must have one f32 output [N, 1].
    pub fn load(onnx_path: &Path, card_path: &Path) -> Result<Self, ScoringError> {
        Self::new(Model::load(onnx_path, card_path)?)
    }

    /// Wraps a loaded model after checking its output.
    pub fn new(model: Model) -> Result<Self, ScoringError> {
        let output = model.require_output(None, 1)?;
        Ok(Self { model, output })
    }

    /// Expected units for one row.
    pub fn predict(&self, features: &[f32]) -> Result<f32, ScoringError> {
        self.model.check_row(features)?;
        Ok(self.model.run(features, &self.output)?[0])
    }

    /// Expected units per row, in one run.
    pub fn predict_batch<R: FeatureRows + ?Sized>(
        &self,
        rows: &R,
    ) -> Result<Vec<f32>, ScoringError> {
        let flat = self.model.batch(rows)?;
        self.model.run(&flat, &self.output)
    }

    /// The underlying model (card, path).
    pub fn model(&self) -> &Model {
        &self.model
    }
}
