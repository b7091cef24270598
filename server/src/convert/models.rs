//! The model answers of AdminService: loaded versions with their gates,
//! reloads and rollbacks, drift; and the model kinds a request names.

use allot_models::drift::{Band, ColumnKind};
use allot_proto::v1 as pb;
use allot_service::ServiceError;
use allot_service::models::{LoadedModel, ModelDrift, ModelKind, ModelRole, Reloaded};

use super::time::timestamp;

fn kind(kind: ModelKind) -> pb::ModelKind {
    match kind {
        ModelKind::Fraud => pb::ModelKind::Fraud,
        ModelKind::Eta => pb::ModelKind::Eta,
    }
}

fn role(role: ModelRole) -> pb::ModelRole {
    match role {
        ModelRole::Live => pb::ModelRole::Live,
        ModelRole::Shadow => pb::ModelRole::Shadow,
        ModelRole::Previous => pb::ModelRole::Previous,
    }
}

fn band(band: Band) -> pb::DriftBand {
    match band {
        Band::Stable => pb::DriftBand::Stable,
        Band::Moderate => pb::DriftBand::Moderate,
        Band::Significant => pb::DriftBand::Significant,
    }
}

/// The card of one loaded version.
pub(crate) fn card(m: &LoadedModel) -> pb::ModelCard {
    pb::ModelCard {
        name: m.name.clone(),
        version: m.version.clone(),
        kind: kind(m.kind) as i32,
        feature_names: m.feature_names.clone(),
        loaded_at: Some(timestamp(m.loaded_at)),
        thresholds: m.thresholds.iter().cloned().collect(),
        sha256: m.sha256.clone(),
        path: m.path.display().to_string(),
        role: role(m.role) as i32,
        gates: m
            .gates
            .iter()
            .map(|g| pb::GateResult {
                gate: g.gate.as_str().to_string(),
                detail: g.detail.clone(),
            })
            .collect(),
    }
}

/// The `ModelInfo` answer: one card per loaded version, in the order given.
pub(crate) fn model_info(models: &[LoadedModel]) -> pb::ModelInfo {
    pb::ModelInfo {
        models: models.iter().map(card).collect(),
    }
}

/// The answer of a reload or rollback.
pub(crate) fn reloaded(r: &Reloaded) -> pb::ReloadModelsResponse {
    pb::ReloadModelsResponse {
        models: r.models.iter().map(card).collect(),
        previous: r.previous.iter().map(card).collect(),
        reloaded_at: Some(timestamp(r.at)),
    }
}

/// The kinds a request names (`field`), deduplicated; INVALID_ARGUMENT for
/// an unknown or unspecified kind, or demand (not served).
pub(crate) fn kinds(values: &[i32], field: &str) -> Result<Vec<ModelKind>, ServiceError> {
    let mut out = Vec::new();
    for (i, v) in values.iter().enumerate() {
        let k = match pb::ModelKind::try_from(*v) {
            Ok(pb::ModelKind::Fraud) => ModelKind::Fraud,
            Ok(pb::ModelKind::Eta) => ModelKind::Eta,
            Ok(pb::ModelKind::Demand) => {
                return Err(ServiceError::invalid(
                    format!("{field}[{i}]"),
                    "MODEL_KIND_DEMAND is not served by this server (fraud and ETA are)",
                ));
            }
            _ => {
                return Err(ServiceError::invalid(
                    format!("{field}[{i}]"),
                    format!("unknown model kind {v} (MODEL_KIND_FRAUD or MODEL_KIND_ETA)"),
                ));
            }
        };
        if !out.contains(&k) {
            out.push(k);
        }
    }
    Ok(out)
}

/// The GetModelDrift answer.
pub(crate) fn drift_report(models: &[ModelDrift], alert_psi: f64) -> pb::ModelDriftReport {
    pb::ModelDriftReport {
        models: models
            .iter()
            .map(|m| pb::ModelDrift {
                name: m.report.model.clone(),
                version: m.report.version.clone(),
                kind: kind(m.kind) as i32,
                role: role(m.role) as i32,
                rows: m.report.rows as u64,
                window: m.report.window as u64,
                enough_rows: m.enough_rows,
                alert: m.alert,
                max_psi: m.report.max_psi(),
                columns: m
                    .report
                    .columns
                    .iter()
                    .map(|c| pb::ColumnDrift {
                        name: c.name.clone(),
                        output: c.kind == ColumnKind::Output,
                        psi: c.psi,
                        band: band(c.band) as i32,
                    })
                    .collect(),
            })
            .collect(),
        alert_psi,
    }
}
