//! One version of the fraud model: the ONNX scorer, its TreeSHAP explainer,
//! its thresholds, its identity and its drift monitor, loaded through the
//! gates.

use std::path::Path;

use crate::drift::DriftMonitor;
use crate::features::FRAUD_FEATURES;
use crate::registry::{Gate, GateLog, GateRefusal, Holdout, ModelIdentity, Opened, Schema, auc};
use crate::scoring::{FraudModel, ModelCard};
use crate::shap::{Ensemble, Explainer};

/// The fraud model's file names inside a models directory.
pub const FRAUD_ONNX: &str = "fraud.onnx";
/// The fraud card, relative to the models directory.
pub const FRAUD_CARD: &str = "cards/fraud.json";
/// The LightGBM text model the TreeSHAP explainer reads.
pub const FRAUD_LIGHTGBM: &str = "fraud.lgb.txt";

/// Largest |P(fraud) from TreeSHAP - P(fraud) from ONNX| the explainer gate
/// accepts (float32 trees against float64 sums).
pub const EXPLAINER_TOLERANCE: f64 = 1e-4;

/// The name the fraud model's output has in drift reports.
pub const FRAUD_OUTPUT: &str = "probability";

/// How a fraud model version is loaded.
#[derive(Debug, Clone, Copy)]
pub struct VersionOptions {
    /// Rows the drift window keeps.
    pub drift_window: usize,
}

impl Default for VersionOptions {
    fn default() -> Self {
        VersionOptions {
            drift_window: 10_000,
        }
    }
}

/// What a candidate is held against at the quality gate.
#[derive(Clone, Copy)]
pub struct QualityBar<'a> {
    /// The version serving now.
    pub live: &'a FraudVersion,
    /// How much lower the candidate's AUC may be than the live model's on
    /// the candidate card's held-out rows.
    pub auc_margin: f64,
}

/// One loaded fraud model version.
pub struct FraudVersion {
    pub(crate) model: FraudModel,
    /// TreeSHAP with per-leaf tables precomputed once at load.
    pub(crate) explainer: Explainer,
    pub(crate) review_at: f64,
    pub(crate) reject_at: f64,
    identity: ModelIdentity,
    drift: DriftMonitor,
}

impl std::fmt::Debug for FraudVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FraudVersion")
            .field("identity", &self.identity)
            .finish()
    }
}

fn logistic(raw: f64) -> f64 {
    1.0 / (1.0 + (-raw).exp())
}

impl FraudVersion {
    /// Loads the fraud model of `dir` through the gates: schema, sha256,
    /// load, parity, explainer and, with a `bar`, quality. The first gate
    /// that fails refuses the model.
    pub fn load(
        dir: &Path,
        options: VersionOptions,
        bar: Option<QualityBar<'_>>,
    ) -> Result<FraudVersion, GateRefusal> {
        let mut gates = GateLog::new("fraud");
        let onnx = dir.join(FRAUD_ONNX);
        let card_path = dir.join(FRAUD_CARD);
        let Opened {
            card,
            drift,
            sha256,
        } = gates.open(
            &card_path,
            &onnx,
            Schema {
                check: schema,
                features: FRAUD_FEATURES,
                outputs: &[FRAUD_OUTPUT],
                drift_window: options.drift_window,
            },
        )?;
        let model = gates.loaded(
            FraudModel::load(&onnx, &card_path),
            FraudModel::check_samples,
        )?;
        let holdout = Holdout::from_card(&card).map_err(|e| gates.refuse(Gate::Schema, e))?;
        let explainer_path = dir.join(FRAUD_LIGHTGBM);
        let ensemble = Ensemble::load(&explainer_path).map_err(|e| {
            gates.refuse(
                Gate::Explainer,
                format!("{}: {e}", explainer_path.display()),
            )
        })?;
        let explainer = ensemble.explainer();
        gates.check(
            Gate::Explainer,
            explainer_matches(&ensemble, &explainer, &model, &card, holdout.as_ref()),
        )?;
        if let Some(bar) = bar {
            gates.check(Gate::Quality, quality(&model, bar, holdout.as_ref()))?;
        }
        let (review_at, reject_at) = match model.thresholds() {
            Some(t) => (t.review.score_at_least, t.reject.score_at_least),
            None => (0.5, 0.9),
        };
        let identity = gates.into_identity(&card, sha256, onnx);
        Ok(FraudVersion {
            model,
            explainer,
            review_at,
            reject_at,
            identity,
            drift,
        })
    }

    /// Which model this is: name, version, file hash, load time, gates.
    pub fn identity(&self) -> &ModelIdentity {
        &self.identity
    }

    /// The model card.
    pub fn card(&self) -> &ModelCard {
        self.model.model().card()
    }

    /// The REVIEW and REJECT thresholds (P(fraud) at or above).
    pub fn thresholds(&self) -> (f64, f64) {
        (self.review_at, self.reject_at)
    }

    /// The drift of this version's live inputs and output.
    pub fn drift(&self) -> &DriftMonitor {
        &self.drift
    }

    /// P(fraud) of one feature row.
    pub fn score(&self, row: &[f32]) -> Result<f32, crate::scoring::ScoringError> {
        self.model.score(row)
    }
}

fn schema(card: &ModelCard) -> Result<String, String> {
    card.check().map_err(|e| e.to_string())?;
    let names = card.feature_names();
    if names != FRAUD_FEATURES {
        return Err(format!(
            "the card's features {names:?} differ from the ones this server computes {FRAUD_FEATURES:?}"
        ));
    }
    Ok(format!(
        "{} features as this server computes them",
        names.len()
    ))
}

fn explainer_matches(
    ensemble: &Ensemble,
    explainer: &Explainer,
    model: &FraudModel,
    card: &ModelCard,
    holdout: Option<&Holdout>,
) -> Result<String, String> {
    let worst_contribution = ensemble
        .check_card_samples(card, None)
        .map_err(|e| e.to_string())?;
    let mut rows: Vec<&[f32]> = card.samples.iter().map(|s| s.features.as_slice()).collect();
    if let Some(h) = holdout {
        rows.extend(h.rows.iter().map(Vec::as_slice));
    }
    let flat: Vec<f32> = rows.iter().flat_map(|r| r.iter().copied()).collect();
    let scores = model.score_flat(&flat).map_err(|e| e.to_string())?;
    let mut worst = 0.0f64;
    for (i, (row, onnx)) in rows.iter().zip(&scores).enumerate() {
        let shap = logistic(explainer.contributions(row).raw_score());
        let d = (shap - f64::from(*onnx)).abs();
        worst = worst.max(d);
        if d > EXPLAINER_TOLERANCE {
            return Err(format!(
                "row {i}: TreeSHAP explains P(fraud) {shap:.6} but ONNX scores {onnx:.6} (|diff| {d:.1e} > {EXPLAINER_TOLERANCE:.0e})"
            ));
        }
    }
    Ok(format!(
        "{} rows, max |P diff| {worst:.1e}, max contribution diff {worst_contribution:.1e}",
        rows.len()
    ))
}

fn quality(
    model: &FraudModel,
    bar: QualityBar<'_>,
    holdout: Option<&Holdout>,
) -> Result<String, String> {
    let holdout = holdout.ok_or("the card has no holdout sample to measure quality on")?;
    let rows = holdout.flat_rows();
    let candidate = model.score_flat(&rows).map_err(|e| e.to_string())?;
    let live = bar
        .live
        .model
        .score_flat(&rows)
        .map_err(|e| e.to_string())?;
    let (Some(candidate), Some(live)) = (
        auc(&candidate, &holdout.labels),
        auc(&live, &holdout.labels),
    ) else {
        return Err("the holdout sample does not have both classes".into());
    };
    let detail = format!(
        "AUC {candidate:.4} vs live {live:.4} on {} held-out rows (margin {})",
        holdout.rows.len(),
        bar.auc_margin
    );
    if candidate + bar.auc_margin >= live {
        Ok(detail)
    } else {
        Err(detail)
    }
}
