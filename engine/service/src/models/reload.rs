//! Reloading models through their gates, rolling back, and shadows.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use allot_models::registry::GateRefusal;
use allot_models::risk::{FRAUD_ONNX, FraudVersion, QualityBar, VersionOptions};
use allot_models::transit::{ETA_ONNX, EtaQualityBar, EtaVersion};

use super::{LoadedModel, ModelKind, ModelRole, Models};
use crate::engine::eta_options;
use crate::error::{Code, ServiceError};

/// Where a reloaded model goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReloadTarget {
    /// It replaces the live version (which stays loaded as the previous
    /// one), after passing every gate, quality included.
    Live,
    /// It scores beside the live version on live traffic, never deciding
    /// (every gate but quality: comparing it is what a shadow is for).
    Shadow,
}

/// What to reload.
#[derive(Debug, Clone)]
pub struct ReloadRequest {
    /// The models directory; `None`: the configured one.
    pub dir: Option<PathBuf>,
    /// The models to reload; empty: every model this server serves that
    /// the directory holds.
    pub kinds: Vec<ModelKind>,
    /// Live or shadow.
    pub target: ReloadTarget,
}

/// What a reload or rollback changed.
#[derive(Debug, Clone)]
pub struct Reloaded {
    /// The versions now in the target role, ordered by name.
    pub models: Vec<LoadedModel>,
    /// The versions they replaced, ordered by name.
    pub previous: Vec<LoadedModel>,
    /// When the change took effect.
    pub at: SystemTime,
}

/// A candidate that passed its gates, not yet swapped in.
enum Candidate {
    Fraud(Arc<FraudVersion>),
    Eta(Arc<EtaVersion>),
}

fn refused(refusal: GateRefusal) -> ServiceError {
    metrics::counter!(
        "allot_model_reloads_total",
        "model" => refusal.model.clone(),
        "outcome" => "refused",
        "gate" => refusal.gate.as_str()
    )
    .increment(1);
    tracing::warn!(model = %refusal.model, gate = %refusal.gate, detail = %refusal.detail, "model refused: the live version keeps serving");
    ServiceError::precondition(format!("{refusal}; the live version keeps serving"))
}

impl Models {
    fn may_change(&self) -> Result<tokio::sync::MutexGuard<'_, ()>, ServiceError> {
        if !self.config.reload {
            return Err(ServiceError::new(
                Code::PermissionDenied,
                "model reloads are switched off in this server's configuration (models.reload = false)",
            ));
        }
        self.changing.try_lock().map_err(|_| {
            ServiceError::new(
                Code::Aborted,
                "another reload or rollback is in progress; retry when it is done",
            )
        })
    }

    /// The kinds `request` reloads from `dir`.
    fn kinds_to_reload(
        &self,
        request: &ReloadRequest,
        dir: &std::path::Path,
    ) -> Result<Vec<ModelKind>, ServiceError> {
        let has = |kind: ModelKind| match kind {
            ModelKind::Fraud => dir.join(FRAUD_ONNX).is_file(),
            ModelKind::Eta => dir.join(ETA_ONNX).is_file(),
        };
        let serves = |kind: ModelKind| match kind {
            ModelKind::Fraud => true,
            ModelKind::Eta => self.engine.eta.is_some(),
        };
        let mut kinds = if request.kinds.is_empty() {
            [ModelKind::Fraud, ModelKind::Eta]
                .into_iter()
                .filter(|k| has(*k) && serves(*k))
                .collect()
        } else {
            request.kinds.clone()
        };
        kinds.sort();
        kinds.dedup();
        if kinds.is_empty() {
            return Err(ServiceError::precondition(format!(
                "model_dir: {} holds no model this server serves",
                dir.display()
            )));
        }
        for kind in &kinds {
            if !serves(*kind) {
                return Err(ServiceError::precondition(format!(
                    "models: this server serves no {} model (it started without one)",
                    kind.as_str()
                )));
            }
            if !has(*kind) {
                return Err(ServiceError::precondition(format!(
                    "model_dir: {} has no {} model file",
                    dir.display(),
                    kind.as_str()
                )));
            }
        }
        Ok(kinds)
    }

    /// Loads the models of `request` beside the live ones, through their
    /// gates, and swaps them in atomically (live) or sets them as shadows.
    /// A refused model changes nothing (FAILED_PRECONDITION naming the model
    /// and the gate); calls in flight finish with the versions they
    /// started with.
    pub async fn reload(&self, request: ReloadRequest) -> Result<Reloaded, ServiceError> {
        let _changing = self.may_change()?;
        let dir = request
            .dir
            .clone()
            .unwrap_or_else(|| self.engine.models_dir.clone());
        if !dir.is_dir() {
            return Err(ServiceError::invalid(
                "model_dir",
                format!("{} is not a directory on the server", dir.display()),
            ));
        }
        let kinds = self.kinds_to_reload(&request, &dir)?;
        let engine = self.engine.clone();
        let config = self.config.clone();
        let target = request.target;
        let candidates = tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            for kind in kinds {
                match kind {
                    ModelKind::Fraud => {
                        let live = engine.risk.versions().live();
                        let bar = (target == ReloadTarget::Live).then_some(QualityBar {
                            live: &live,
                            auc_margin: config.reload_fraud_auc_margin,
                        });
                        let options = VersionOptions {
                            drift_window: config.drift_window,
                        };
                        out.push(Candidate::Fraud(Arc::new(FraudVersion::load(
                            &dir, options, bar,
                        )?)));
                    }
                    ModelKind::Eta => {
                        let Some(eta) = &engine.eta else { continue };
                        let live = eta.versions().live();
                        let bar = (target == ReloadTarget::Live).then_some(EtaQualityBar {
                            live: &live,
                            loss_margin: config.reload_eta_loss_margin,
                        });
                        let version = EtaVersion::load(
                            &dir,
                            engine.network.clone(),
                            &eta_options(&config),
                            bar,
                        )?;
                        // Warm its cache so the first calls after the swap
                        // are hits, as they were before it.
                        let now = SystemTime::now();
                        for at in [now, now + Duration::from_secs(900)] {
                            if let Err(e) = version.predictor().prefill(at) {
                                tracing::warn!(error = %e, "prefilling the reloaded eta model failed");
                            }
                        }
                        out.push(Candidate::Eta(Arc::new(version)));
                    }
                }
            }
            Ok::<_, GateRefusal>(out)
        })
        .await
        .map_err(|e| ServiceError::internal(format!("model reload task failed: {e}")))?
        .map_err(refused)?;
        Ok(self.swap(candidates, target))
    }

    /// Puts every candidate in its place at once.
    fn swap(&self, candidates: Vec<Candidate>, target: ReloadTarget) -> Reloaded {
        let role = match target {
            ReloadTarget::Live => ModelRole::Live,
            ReloadTarget::Shadow => ModelRole::Shadow,
        };
        let mut models = Vec::new();
        let mut previous = Vec::new();
        for candidate in candidates {
            match candidate {
                Candidate::Fraud(next) => {
                    let slots = self.engine.risk.versions();
                    models.push(LoadedModel::fraud(role, &next));
                    let old = match target {
                        ReloadTarget::Live => Some(slots.promote(next)),
                        ReloadTarget::Shadow => slots.set_shadow(Some(next)),
                    };
                    previous.extend(old.map(|v| LoadedModel::fraud(ModelRole::Previous, &v)));
                }
                Candidate::Eta(next) => {
                    let Some(eta) = &self.engine.eta else {
                        continue;
                    };
                    models.push(LoadedModel::eta(role, &next));
                    match target {
                        ReloadTarget::Live => {
                            let old = eta.versions().promote(next);
                            previous.push(LoadedModel::eta(ModelRole::Previous, &old));
                            self.engine.promiser.clear_cache();
                        }
                        ReloadTarget::Shadow => {
                            let old = eta.versions().set_shadow(Some(next));
                            previous.extend(old.map(|v| LoadedModel::eta(ModelRole::Previous, &v)));
                        }
                    }
                }
            }
        }
        for m in &models {
            metrics::counter!(
                "allot_model_reloads_total",
                "model" => m.name.clone(),
                "outcome" => role.as_str(),
                "gate" => ""
            )
            .increment(1);
            tracing::info!(model = %m.name, version = %m.version, sha256 = %m.sha256, role = role.as_str(), "model reloaded");
        }
        Reloaded {
            models,
            previous,
            at: SystemTime::now(),
        }
    }

    /// Makes the previous version of each of `kinds` (empty: every model
    /// with one) live again; the version it replaces becomes the previous
    /// one, so a second rollback undoes the first.
    pub async fn rollback(&self, kinds: Vec<ModelKind>) -> Result<Reloaded, ServiceError> {
        let _changing = self.may_change()?;
        let fraud = self.engine.risk.versions();
        let eta = self.engine.eta.as_ref().map(|e| e.versions());
        let has_previous = |kind: ModelKind| match kind {
            ModelKind::Fraud => fraud.previous().is_some(),
            ModelKind::Eta => eta.is_some_and(|e| e.previous().is_some()),
        };
        let kinds: Vec<ModelKind> = if kinds.is_empty() {
            [ModelKind::Fraud, ModelKind::Eta]
                .into_iter()
                .filter(|k| has_previous(*k))
                .collect()
        } else {
            kinds
        };
        if kinds.is_empty() {
            return Err(ServiceError::precondition(
                "no model has a previous version loaded to roll back to",
            ));
        }
        if let Some(kind) = kinds.iter().find(|k| !has_previous(**k)) {
            return Err(ServiceError::precondition(format!(
                "models: the {} model has no previous version loaded to roll back to",
                kind.as_str()
            )));
        }
        let mut models = Vec::new();
        let mut previous = Vec::new();
        for kind in kinds {
            match kind {
                ModelKind::Fraud => {
                    if let Ok((now, was)) = fraud.rollback() {
                        models.push(LoadedModel::fraud(ModelRole::Live, &now));
                        previous.push(LoadedModel::fraud(ModelRole::Previous, &was));
                    }
                }
                ModelKind::Eta => {
                    if let Some(Ok((now, was))) = eta.map(|e| e.rollback()) {
                        models.push(LoadedModel::eta(ModelRole::Live, &now));
                        previous.push(LoadedModel::eta(ModelRole::Previous, &was));
                        self.engine.promiser.clear_cache();
                    }
                }
            }
        }
        for m in &models {
            metrics::counter!("allot_model_rollbacks_total", "model" => m.name.clone())
                .increment(1);
            tracing::info!(model = %m.name, version = %m.version, sha256 = %m.sha256, "model rolled back");
        }
        Ok(Reloaded {
            models,
            previous,
            at: SystemTime::now(),
        })
    }

    /// Stops every shadow; returns the versions that were shadows.
    pub fn clear_shadows(&self) -> Result<Vec<LoadedModel>, ServiceError> {
        if !self.config.reload {
            return Err(ServiceError::new(
                Code::PermissionDenied,
                "model reloads are switched off in this server's configuration (models.reload = false)",
            ));
        }
        let mut cleared = Vec::new();
        if let Some(v) = self.engine.risk.versions().set_shadow(None) {
            cleared.push(LoadedModel::fraud(ModelRole::Shadow, &v));
        }
        if let Some(eta) = &self.engine.eta
            && let Some(v) = eta.versions().set_shadow(None)
        {
            cleared.push(LoadedModel::eta(ModelRole::Shadow, &v));
        }
        Ok(cleared)
    }
}
