//! Drift against the cards' reference histograms, over the shipped models:
//! rows of the training population (the card's `reference_sample`, drawn
//! from the training split the histograms describe) stay in the stable band
//! on every input and output; a shifted population moves the shifted
//! columns into the significant band.
#![allow(clippy::unwrap_used)] // a test may unwrap: a panic is its failure

use std::path::PathBuf;

use allot_models::drift::{Band, ColumnKind, DriftMonitor, DriftReport};
use allot_models::features::{ETA_FEATURES, FRAUD_FEATURES};
use allot_models::registry::Holdout;
use allot_models::scoring::{EtaModel, FraudModel, ModelCard, OrtRuntime};
use allot_models::transit::ETA_OUTPUTS;

fn dir() -> PathBuf {
    OrtRuntime::init(None).unwrap_or_else(|e| panic!("{e}"));
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The fraud model's drift after `rows` pass through it.
fn fraud_drift(rows: &[Vec<f32>]) -> DriftReport {
    let dir = dir();
    let card = ModelCard::load(&dir.join("cards/fraud.json")).unwrap();
    let model = FraudModel::load(&dir.join("fraud.onnx"), &dir.join("cards/fraud.json")).unwrap();
    let monitor = DriftMonitor::new(&card, FRAUD_FEATURES, &["probability"], rows.len()).unwrap();
    assert!(monitor.watches_outputs(), "the card has output histograms");
    for row in rows {
        let p = model.score(row).unwrap();
        monitor.observe(row, &[p]);
    }
    monitor.report()
}

/// The ETA model's drift after `rows` pass through it.
fn eta_drift(rows: &[Vec<f32>]) -> DriftReport {
    let dir = dir();
    let card = ModelCard::load(&dir.join("cards/eta.json")).unwrap();
    let model = EtaModel::load(&dir.join("eta.onnx"), &dir.join("cards/eta.json")).unwrap();
    let monitor = DriftMonitor::new(&card, ETA_FEATURES, &ETA_OUTPUTS, rows.len()).unwrap();
    for row in rows {
        let q = model.quantiles(row).unwrap();
        monitor.observe(row, &q);
    }
    monitor.report()
}

fn holdout(card: &str) -> Holdout {
    let card = ModelCard::load(&dir().join("cards").join(card)).unwrap();
    Holdout::from_card(&card)
        .unwrap()
        .expect("the card has a holdout")
}

/// The card's rows of the training population (features only).
fn reference_sample(card: &str) -> Vec<Vec<f32>> {
    let card = ModelCard::load(&dir().join("cards").join(card)).unwrap();
    let sample = card
        .extra
        .get("reference_sample")
        .expect("the card has a reference sample");
    let rows: Vec<Vec<Option<f32>>> = serde_json::from_value(sample["rows"].clone()).unwrap();
    rows.into_iter()
        .map(|r| {
            assert_eq!(r.len(), card.features.len());
            r.into_iter().map(|v| v.unwrap_or(f32::NAN)).collect()
        })
        .collect()
}

fn psi(report: &DriftReport, name: &str) -> f64 {
    report
        .columns
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("{name} is monitored"))
        .psi
}

fn assert_stable(report: &DriftReport) {
    assert!(report.rows > 1_000, "{} rows", report.rows);
    assert!(
        report.columns.iter().any(|c| c.kind == ColumnKind::Output),
        "outputs are monitored"
    );
    for c in &report.columns {
        assert!(
            c.psi < 0.1 && c.band == Band::Stable,
            "{} {}: PSI {:.4} on the training population",
            report.model,
            c.name,
            c.psi
        );
    }
}

#[test]
fn the_training_population_stays_stable_on_every_fraud_input_and_output() {
    assert_stable(&fraud_drift(&reference_sample("fraud.json")));
}

#[test]
fn the_training_population_stays_stable_on_every_eta_input_and_output() {
    assert_stable(&eta_drift(&reference_sample("eta.json")));
}

#[test]
fn a_shifted_population_moves_the_shifted_columns_and_the_score() {
    let amount = FRAUD_FEATURES
        .iter()
        .position(|f| *f == "order_amount")
        .unwrap();
    let age = FRAUD_FEATURES
        .iter()
        .position(|f| *f == "account_age_days")
        .unwrap();
    let rows: Vec<Vec<f32>> = holdout("fraud.json")
        .rows
        .into_iter()
        .map(|mut row| {
            row[amount] *= 20.0;
            row[age] = 0.5;
            row
        })
        .collect();
    let report = fraud_drift(&rows);
    for column in ["order_amount", "account_age_days", "probability"] {
        let value = psi(&report, column);
        assert!(value >= 0.25, "{column}: PSI {value:.3}");
        assert_eq!(Band::of(value), Band::Significant);
    }
    // Columns left alone stay stable.
    assert!(psi(&report, "hour_local") < 0.1);
    assert!(psi(&report, "line_count") < 0.1);
}

#[test]
fn slower_lanes_move_the_eta_quantiles() {
    let distance = ETA_FEATURES
        .iter()
        .position(|f| *f == "distance_km")
        .unwrap();
    let rows: Vec<Vec<f32>> = holdout("eta.json")
        .rows
        .into_iter()
        .map(|mut row| {
            row[distance] *= 4.0;
            row
        })
        .collect();
    let report = eta_drift(&rows);
    assert!(psi(&report, "distance_km") >= 0.25, "{report:?}");
    assert!(psi(&report, "q50") >= 0.1, "{report:?}");
}
