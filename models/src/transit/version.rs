//! One version of the ETA model: its predictor (model, calibration, cache),
//! identity and drift monitor, loaded through the gates.

use std::path::Path;
use std::sync::Arc;

use allot_engine::network::Network;

use super::calibration::{CALIBRATION_FILE, Calibration};
use super::predictor::{EtaPredictor, PredictorOptions};
use crate::drift::DriftMonitor;
use crate::features::ETA_FEATURES;
use crate::registry::{
    Gate, GateLog, GateRefusal, Holdout, ModelIdentity, Opened, Schema, mean_pinball_loss,
};
use crate::scoring::{EtaModel, ModelCard};

/// The ETA model's file inside a models directory.
pub const ETA_ONNX: &str = "eta.onnx";
/// The ETA card, relative to the models directory.
pub const ETA_CARD: &str = "cards/eta.json";
/// The names of the ETA model's outputs in drift reports.
pub const ETA_OUTPUTS: [&str; 3] = ["q10", "q50", "q90"];

/// What a candidate ETA model is held against at the quality gate.
#[derive(Clone, Copy)]
pub struct EtaQualityBar<'a> {
    /// The version serving now.
    pub live: &'a EtaVersion,
    /// How much higher, relative, the candidate's mean pinball loss may be
    /// than the live model's on the candidate card's held-out rows (0.02:
    /// 2% worse at most).
    pub loss_margin: f64,
}

/// How an ETA version is loaded.
#[derive(Debug, Clone)]
pub struct EtaVersionOptions {
    /// The predictor's cache.
    pub predictor: PredictorOptions,
    /// Rows the drift window keeps.
    pub drift_window: usize,
}

/// One loaded ETA model version.
pub struct EtaVersion {
    predictor: Arc<EtaPredictor>,
    identity: ModelIdentity,
}

impl std::fmt::Debug for EtaVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtaVersion")
            .field("identity", &self.identity)
            .finish()
    }
}

impl EtaVersion {
    /// Loads the ETA model of `dir` through the gates: schema, sha256,
    /// load, parity, calibration and, with a `bar`, quality. Without a bar
    /// (the first load at startup) a missing `eta.calibration.json` is
    /// accepted as the identity calibration; a reload requires one fitted
    /// for the model's version.
    pub fn load(
        dir: &Path,
        network: Arc<Network>,
        options: &EtaVersionOptions,
        bar: Option<EtaQualityBar<'_>>,
    ) -> Result<EtaVersion, GateRefusal> {
        let mut gates = GateLog::new("eta");
        let onnx = dir.join(ETA_ONNX);
        let card_path = dir.join(ETA_CARD);
        let Opened {
            card,
            drift,
            sha256,
        } = gates.open(
            &card_path,
            &onnx,
            Schema {
                check: schema,
                features: ETA_FEATURES,
                outputs: &ETA_OUTPUTS,
                drift_window: options.drift_window,
            },
        )?;
        let model = gates.loaded(EtaModel::load(&onnx, &card_path), EtaModel::check_samples)?;
        let calibration_path = dir.join(CALIBRATION_FILE);
        let calibration = if calibration_path.exists() {
            Calibration::load(&calibration_path, &card.version)
                .map_err(|e| gates.refuse(Gate::Calibration, e.to_string()))?
        } else if bar.is_none() {
            Calibration::identity(&card.version)
        } else {
            return Err(gates.refuse(
                Gate::Calibration,
                format!("{} is missing", calibration_path.display()),
            ));
        };
        gates.check(
            Gate::Calibration,
            Ok(if calibration.is_identity() {
                "no calibration file: on-time probabilities are uncalibrated".to_string()
            } else {
                format!("fitted for {} on {}", card.version, calibration.fitted_on)
            }),
        )?;
        if let Some(bar) = bar {
            let holdout = Holdout::from_card(&card).map_err(|e| gates.refuse(Gate::Schema, e))?;
            gates.check(Gate::Quality, quality(&model, bar, holdout.as_ref()))?;
        }
        let identity = gates.into_identity(&card, sha256, onnx);
        let predictor = EtaPredictor::new(model, network, calibration, options.predictor)
            .with_identity(identity.sha256.clone(), drift);
        Ok(EtaVersion {
            predictor: Arc::new(predictor),
            identity,
        })
    }

    /// The predictor (model, calibration and cache).
    pub fn predictor(&self) -> &Arc<EtaPredictor> {
        &self.predictor
    }

    /// Which model this is: name, version, file hash, load time, gates.
    pub fn identity(&self) -> &ModelIdentity {
        &self.identity
    }

    /// The drift of the lanes decisions ship on with this version.
    pub fn drift(&self) -> Option<&DriftMonitor> {
        self.predictor.drift()
    }
}

fn schema(card: &ModelCard) -> Result<String, String> {
    card.check().map_err(|e| e.to_string())?;
    let names = card.feature_names();
    if names != ETA_FEATURES {
        return Err(format!(
            "the card's features {names:?} differ from the ones this server computes {ETA_FEATURES:?}"
        ));
    }
    Ok(format!(
        "{} features as this server computes them",
        names.len()
    ))
}

fn quality(
    model: &EtaModel,
    bar: EtaQualityBar<'_>,
    holdout: Option<&Holdout>,
) -> Result<String, String> {
    let holdout = holdout.ok_or("the card has no holdout sample to measure quality on")?;
    let loss = |m: &EtaModel| -> Result<f64, String> {
        let rows: Vec<[f32; crate::features::ETA_FEATURE_COUNT]> = holdout
            .rows
            .iter()
            .map(|r| {
                let mut row = [f32::NAN; crate::features::ETA_FEATURE_COUNT];
                row.copy_from_slice(r);
                row
            })
            .collect();
        let mut q = m.quantiles_batch(&rows).map_err(|e| e.to_string())?;
        for row in &mut q {
            row.sort_by(f32::total_cmp);
        }
        Ok(mean_pinball_loss(&q, &holdout.labels, [0.1, 0.5, 0.9]))
    };
    let candidate = loss(model)?;
    let live = loss(bar.live.predictor.eta_model())?;
    let detail = format!(
        "mean pinball loss {candidate:.4} vs live {live:.4} days on {} held-out rows (margin {:.1}%)",
        holdout.rows.len(),
        bar.loss_margin * 100.0
    );
    if candidate <= live * (1.0 + bar.loss_margin) {
        Ok(detail)
    } else {
        Err(detail)
    }
}
