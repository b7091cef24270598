//! `allotctl models`: which model versions serve, reloading them through
//! their gates, rolling back, shadows, and drift (AdminService).

use allot_client::proto::{
    ClearShadowModelsRequest, DriftBand, GetModelDriftRequest, GetModelInfoRequest, ModelKind,
    ModelRole, ReloadModelsRequest, RollbackModelsRequest,
};
use clap::{Subcommand, ValueEnum};

use super::output::{print_one, write_line};
use super::server::Server;

/// A model kind as typed on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    /// The fraud classifier.
    Fraud,
    /// The ETA quantile model.
    Eta,
}

impl KindArg {
    fn wire(self) -> i32 {
        match self {
            KindArg::Fraud => ModelKind::Fraud as i32,
            KindArg::Eta => ModelKind::Eta as i32,
        }
    }
}

/// The `models` subcommands.
#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// Every loaded model version (live, shadow, previous) with its file's
    /// sha256, load time and the gates it passed (prints the ModelInfo).
    Info,
    /// Load new versions through the gates and swap them in atomically (or
    /// as shadows); a refused model leaves the live one serving and the
    /// error names the gate.
    Reload {
        /// The models directory on the server; default: the configured one.
        #[arg(long, value_name = "DIR", default_value = "")]
        dir: String,
        /// Only these models (repeatable); default: every model the
        /// directory holds.
        #[arg(long = "model", value_enum)]
        models: Vec<KindArg>,
        /// Load them as shadows: scored on live traffic, never deciding.
        #[arg(long)]
        shadow: bool,
    },
    /// Swap the live versions with the ones the last reload replaced.
    Rollback {
        /// Only these models (repeatable); default: every model with a
        /// previous version.
        #[arg(long = "model", value_enum)]
        models: Vec<KindArg>,
    },
    /// Unload every shadow version.
    ClearShadow,
    /// PSI of every model input and output against the training data, one
    /// line per column (`--json` for the ModelDriftReport).
    Drift {
        /// Print the ModelDriftReport as JSON.
        #[arg(long)]
        json: bool,
        /// Only columns with PSI at least this (e.g. 0.1).
        #[arg(long, default_value_t = 0.0)]
        min_psi: f64,
    },
}

/// Runs one `models` subcommand.
pub async fn models(server: &Server, cmd: ModelsCommand) -> anyhow::Result<()> {
    let client = server.connect().await?;
    let mut admin = client.admin();
    match cmd {
        ModelsCommand::Info => {
            let info = admin
                .get_model_info(GetModelInfoRequest {})
                .await?
                .into_inner();
            print_one(&info, "ModelInfo")
        }
        ModelsCommand::Reload {
            dir,
            models,
            shadow,
        } => {
            let answer = admin
                .reload_models(ReloadModelsRequest {
                    model_dir: dir,
                    models: models.iter().map(|k| k.wire()).collect(),
                    shadow,
                })
                .await?
                .into_inner();
            print_one(&answer, "ReloadModelsResponse")
        }
        ModelsCommand::Rollback { models } => {
            let answer = admin
                .rollback_models(RollbackModelsRequest {
                    models: models.iter().map(|k| k.wire()).collect(),
                })
                .await?
                .into_inner();
            print_one(&answer, "ReloadModelsResponse")
        }
        ModelsCommand::ClearShadow => {
            let info = admin
                .clear_shadow_models(ClearShadowModelsRequest {})
                .await?
                .into_inner();
            print_one(&info, "ModelInfo")
        }
        ModelsCommand::Drift { json, min_psi } => {
            let report = admin
                .get_model_drift(GetModelDriftRequest {})
                .await?
                .into_inner();
            if json {
                return print_one(&report, "ModelDriftReport");
            }
            write_line(&drift_text(&report, min_psi))
        }
    }
}

/// The drift report as lines: per model its window and alert, then one
/// line per column with its PSI and band.
pub fn drift_text(report: &allot_client::proto::ModelDriftReport, min_psi: f64) -> String {
    let mut out = Vec::new();
    for m in &report.models {
        let role = ModelRole::try_from(m.role)
            .map(|r| {
                r.as_str_name()
                    .trim_start_matches("MODEL_ROLE_")
                    .to_lowercase()
            })
            .unwrap_or_default();
        let state = if !m.enough_rows {
            "too few rows to judge"
        } else if m.alert {
            "ALERT"
        } else {
            "ok"
        };
        out.push(format!(
            "{} {} ({role}): {} of {} rows, max PSI {:.3} (alert at {:.2}): {state}",
            m.name, m.version, m.rows, m.window, m.max_psi, report.alert_psi
        ));
        for c in m.columns.iter().filter(|c| c.psi >= min_psi) {
            let band = DriftBand::try_from(c.band)
                .map(|b| {
                    b.as_str_name()
                        .trim_start_matches("DRIFT_BAND_")
                        .to_lowercase()
                })
                .unwrap_or_default();
            let what = if c.output { "output" } else { "input" };
            out.push(format!("  {:<24} {what:<6} {:>7.3}  {band}", c.name, c.psi));
        }
    }
    if out.is_empty() {
        out.push("no model has a drift monitor".to_string());
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use allot_client::proto::{ColumnDrift, ModelDrift, ModelDriftReport};

    use super::*;

    #[test]
    fn drift_reads_as_one_line_per_column_with_its_band() {
        let report = ModelDriftReport {
            alert_psi: 0.25,
            models: vec![ModelDrift {
                name: "fraud-gbt".into(),
                version: "v2".into(),
                role: ModelRole::Live as i32,
                rows: 900,
                window: 10_000,
                enough_rows: true,
                alert: true,
                max_psi: 0.41,
                columns: vec![
                    ColumnDrift {
                        name: "order_amount".into(),
                        output: false,
                        psi: 0.41,
                        band: DriftBand::Significant as i32,
                    },
                    ColumnDrift {
                        name: "probability".into(),
                        output: true,
                        psi: 0.02,
                        band: DriftBand::Stable as i32,
                    },
                ],
                ..Default::default()
            }],
        };
        let text = drift_text(&report, 0.0);
        assert!(
            text.contains(
                "fraud-gbt v2 (live): 900 of 10000 rows, max PSI 0.410 (alert at 0.25): ALERT"
            ),
            "{text}"
        );
        assert!(text.contains("order_amount"), "{text}");
        assert!(text.contains("significant"), "{text}");
        assert!(
            text.contains("probability") && text.contains("output"),
            "{text}"
        );
        let only_big = drift_text(&report, 0.1);
        assert!(!only_big.contains("probability"), "{only_big}");
    }
}
