//! The model use cases: what is served (every loaded version, with the hash
//! of its file and the gates it passed), reloading through the gates,
//! rolling back, shadows, and drift.

mod drift;
pub mod eta_shadow;
mod reload;
mod watch;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use allot_models::features::{ETA_FEATURES, FRAUD_FEATURES};
use allot_models::registry::{GateOutcome, ModelIdentity};
use allot_models::risk::FraudVersion;
use allot_models::transit::EtaVersion;

pub use drift::{DriftAlert, ModelDrift};
pub use reload::{ReloadRequest, ReloadTarget, Reloaded};

use crate::config::ModelsConfig;
use crate::engine::Engine;

/// What a served model predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ModelKind {
    /// Fraud probability of an order.
    Fraud,
    /// Delivery time quantiles.
    Eta,
}

impl ModelKind {
    /// Lower-case name, as in metric labels and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            ModelKind::Fraud => "fraud",
            ModelKind::Eta => "eta",
        }
    }
}

/// What a loaded version does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ModelRole {
    /// It decides.
    Live,
    /// It scores beside the live version on live traffic, never deciding.
    Shadow,
    /// It was live before the last reload and stays loaded for a rollback.
    Previous,
}

impl ModelRole {
    /// Lower-case name, as in metric labels and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            ModelRole::Live => "live",
            ModelRole::Shadow => "shadow",
            ModelRole::Previous => "previous",
        }
    }
}

/// One loaded model version.
#[derive(Debug, Clone)]
pub struct LoadedModel {
    /// What it predicts.
    pub kind: ModelKind,
    /// What it does now.
    pub role: ModelRole,
    /// The model's name (from its card).
    pub name: String,
    /// Its version.
    pub version: String,
    /// Its input features, in order.
    pub feature_names: Vec<String>,
    /// When this server loaded it.
    pub loaded_at: SystemTime,
    /// Its decision thresholds by name (the fraud model's `review` and
    /// `reject`); empty for a model without thresholds.
    pub thresholds: Vec<(String, f64)>,
    /// Hex SHA-256 computed from the model file at load.
    pub sha256: String,
    /// The model file.
    pub path: PathBuf,
    /// The gates it passed, in order, with what each measured.
    pub gates: Vec<GateOutcome>,
}

impl LoadedModel {
    fn new(
        kind: ModelKind,
        role: ModelRole,
        identity: &ModelIdentity,
        features: &[&str],
        thresholds: Vec<(String, f64)>,
    ) -> LoadedModel {
        LoadedModel {
            kind,
            role,
            name: identity.name.clone(),
            version: identity.version.clone(),
            feature_names: features.iter().map(|f| f.to_string()).collect(),
            loaded_at: identity.loaded_at,
            thresholds,
            sha256: identity.sha256.clone(),
            path: identity.path.clone(),
            gates: identity.gates.clone(),
        }
    }

    fn fraud(role: ModelRole, version: &FraudVersion) -> LoadedModel {
        let (review, reject) = version.thresholds();
        LoadedModel::new(
            ModelKind::Fraud,
            role,
            version.identity(),
            FRAUD_FEATURES,
            vec![
                ("review".to_string(), review),
                ("reject".to_string(), reject),
            ],
        )
    }

    fn eta(role: ModelRole, version: &EtaVersion) -> LoadedModel {
        LoadedModel::new(
            ModelKind::Eta,
            role,
            version.identity(),
            ETA_FEATURES,
            Vec::new(),
        )
    }
}

/// The model use cases.
pub struct Models {
    engine: Arc<Engine>,
    config: ModelsConfig,
    /// Held for the whole of a reload or rollback: one at a time.
    changing: tokio::sync::Mutex<()>,
    /// The (model, role) pairs whose drift alert is raised.
    alerting: parking_lot::Mutex<std::collections::HashSet<(ModelKind, ModelRole)>>,
}

impl Models {
    /// Over the served `engine`, with the models configuration it was
    /// loaded with.
    pub fn new(engine: Arc<Engine>, config: ModelsConfig) -> Self {
        Models {
            engine,
            config,
            changing: tokio::sync::Mutex::new(()),
            alerting: parking_lot::Mutex::new(Default::default()),
        }
    }

    /// Every loaded version (live, shadow, previous) of every model, ordered
    /// by name, then role.
    pub fn loaded(&self) -> Vec<LoadedModel> {
        let mut models = Vec::new();
        let fraud = self.engine.risk.versions();
        models.push(LoadedModel::fraud(ModelRole::Live, &fraud.live()));
        if let Some(v) = fraud.shadow() {
            models.push(LoadedModel::fraud(ModelRole::Shadow, &v));
        }
        if let Some(v) = fraud.previous() {
            models.push(LoadedModel::fraud(ModelRole::Previous, &v));
        }
        if let Some(eta) = &self.engine.eta {
            let eta = eta.versions();
            models.push(LoadedModel::eta(ModelRole::Live, &eta.live()));
            if let Some(v) = eta.shadow() {
                models.push(LoadedModel::eta(ModelRole::Shadow, &v));
            }
            if let Some(v) = eta.previous() {
                models.push(LoadedModel::eta(ModelRole::Previous, &v));
            }
        }
        models.sort_by(|a, b| a.name.cmp(&b.name).then(a.role.cmp(&b.role)));
        models
    }

    /// PSI at or above which a model's drift alerts.
    pub fn alert_psi(&self) -> f64 {
        self.config.drift_alert_psi
    }

    /// How often the drift gauges are recomputed.
    pub fn drift_interval(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.config.drift_interval_s.max(1))
    }

    /// The live versions only, ordered by name.
    pub fn live(&self) -> Vec<LoadedModel> {
        self.loaded()
            .into_iter()
            .filter(|m| m.role == ModelRole::Live)
            .collect()
    }
}
