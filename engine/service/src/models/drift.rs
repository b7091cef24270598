//! Drift of the live (and shadow) models: PSI per input and output over
//! each version's window, as an answer and as Prometheus gauges.

use allot_models::drift::{Band, ColumnKind, DriftReport};

use super::{ModelKind, ModelRole, Models};

/// The drift of one loaded version.
#[derive(Debug, Clone)]
pub struct ModelDrift {
    /// What the model predicts.
    pub kind: ModelKind,
    /// What the version does.
    pub role: ModelRole,
    /// PSI per column over its window.
    pub report: DriftReport,
    /// Whether the window holds enough rows (`models.drift_min_rows`) for
    /// its PSI to mean something.
    pub enough_rows: bool,
    /// Whether some column's PSI reached `models.drift_alert_psi` (only
    /// with enough rows).
    pub alert: bool,
    /// The alert threshold in force.
    pub alert_psi: f64,
}

/// Whether some model's drift is alerting.
pub type DriftAlert = bool;

impl Models {
    /// The drift of every live and shadow version with a monitor.
    pub fn drift(&self) -> Vec<ModelDrift> {
        let mut out = Vec::new();
        let fraud = self.engine.risk.versions();
        let mut push = |kind, role, report: DriftReport| {
            let enough_rows = report.rows >= self.config.drift_min_rows.max(1);
            let alert = enough_rows && report.max_psi() >= self.config.drift_alert_psi;
            out.push(ModelDrift {
                kind,
                role,
                report,
                enough_rows,
                alert,
                alert_psi: self.config.drift_alert_psi,
            });
        };
        push(
            ModelKind::Fraud,
            ModelRole::Live,
            fraud.live().drift().report(),
        );
        if let Some(v) = fraud.shadow() {
            push(ModelKind::Fraud, ModelRole::Shadow, v.drift().report());
        }
        if let Some(eta) = &self.engine.eta
            && let Some(report) = eta.versions().live().drift().map(|d| d.report())
        {
            push(ModelKind::Eta, ModelRole::Live, report);
        }
        out
    }

    /// Recomputes the drift gauges (`allot_model_drift_psi` per column,
    /// `allot_model_drift_columns` per band, `allot_model_drift_alert`,
    /// `allot_model_drift_rows`) and logs when an alert starts or ends.
    /// Returns whether any model is alerting.
    pub fn publish_drift(&self) -> DriftAlert {
        let mut any = false;
        let mut alerting = self.alerting.lock();
        for d in self.drift() {
            let model = d.kind.as_str();
            let role = d.role.as_str();
            metrics::gauge!("allot_model_drift_rows", "model" => model, "role" => role)
                .set(d.report.rows as f64);
            if !d.enough_rows {
                continue;
            }
            let mut bands = [0u32; 3];
            for c in &d.report.columns {
                let kind = match c.kind {
                    ColumnKind::Input => "input",
                    ColumnKind::Output => "output",
                };
                metrics::gauge!(
                    "allot_model_drift_psi",
                    "model" => model,
                    "role" => role,
                    "column" => c.name.clone(),
                    "kind" => kind
                )
                .set(c.psi);
                bands[c.band as usize] += 1;
            }
            for band in [Band::Stable, Band::Moderate, Band::Significant] {
                metrics::gauge!(
                    "allot_model_drift_columns",
                    "model" => model,
                    "role" => role,
                    "band" => band.as_str()
                )
                .set(f64::from(bands[band as usize]));
            }
            metrics::gauge!("allot_model_drift_alert", "model" => model, "role" => role)
                .set(if d.alert { 1.0 } else { 0.0 });
            any |= d.alert;
            let key = (d.kind, d.role);
            let was = alerting.contains(&key);
            if d.alert && !was {
                let worst = d
                    .report
                    .columns
                    .iter()
                    .max_by(|a, b| a.psi.total_cmp(&b.psi))
                    .map(|c| format!("{} {:.3}", c.name, c.psi))
                    .unwrap_or_default();
                tracing::warn!(model, role, version = %d.report.version, rows = d.report.rows, worst = %worst, threshold = d.alert_psi, "model drift alert: live inputs or outputs moved away from the training population");
                alerting.insert(key);
            } else if !d.alert && was {
                tracing::info!(model, role, "model drift alert cleared");
                alerting.remove(&key);
            }
        }
        any
    }
}
