//! Scoring against the tiny committed fixtures in `testdata/` (made by
//! `testdata/make_fixtures.py` through the same ONNX export as the shipped
//! models). Needs the ONNX Runtime library: a missing one fails the test with
//! the fix, it is never skipped.

use std::path::{Path, PathBuf};

use super::*;
use crate::shap::Ensemble;

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/scoring/testdata")
        .join(name)
}

fn runtime() -> OrtRuntime {
    OrtRuntime::init(None).unwrap_or_else(|e| panic!("{e}"))
}

fn load(name: &str, sessions: usize) -> Model {
    let onnx = testdata(&format!("{name}.onnx"));
    let card = testdata(&format!("cards/{name}.json"));
    Model::load_with(&runtime(), &onnx, &card, &ModelOptions { sessions })
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn fraud_fixture_matches_lightgbm_and_onnxruntime() {
    let fraud = FraudModel::new(load("fraud", 2)).unwrap();
    let report = fraud.check_samples().unwrap();
    assert_eq!(report.rows, 8);
    assert!(report.max_abs_diff_lightgbm <= 1e-5, "{report:?}");
    let rows: Vec<[f32; 5]> = fraud
        .model()
        .card()
        .samples
        .iter()
        .map(|s| s.features.clone().try_into().unwrap())
        .collect();
    let batch = fraud.score_batch(&rows).unwrap();
    let array = ndarray::Array2::from_shape_vec((8, 5), rows.as_flattened().to_vec()).unwrap();
    assert_eq!(fraud.score_batch(&array.view()).unwrap(), batch);
    assert_eq!(fraud.score_batch(&array.t().t()).unwrap(), batch);
    assert!(fraud.thresholds().is_some());
}

#[test]
fn eta_fixture_matches_lightgbm_in_one_run_per_batch() {
    let eta = EtaModel::new(load("eta", 1)).unwrap();
    let report = eta.check_samples().unwrap();
    assert_eq!(report.rows, 8);
    let rows: Vec<[f32; 5]> = eta
        .model()
        .card()
        .samples
        .iter()
        .map(|s| s.features.clone().try_into().unwrap())
        .collect();
    let batch = eta.quantiles_batch(&rows).unwrap();
    for (row, q) in rows.iter().zip(&batch) {
        assert_eq!(eta.quantiles(row).unwrap(), *q);
    }
    assert!(
        eta.quantiles_batch(&Vec::<[f32; 5]>::new())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn demand_fixture_matches_lightgbm() {
    let demand = DemandModel::new(load("demand", 1)).unwrap();
    assert_eq!(demand.check_samples().unwrap().rows, 8);
}

#[test]
fn treeshap_matches_the_fixture_cards_pred_contrib() {
    let card = ModelCard::load(&testdata("cards/fraud.json")).unwrap();
    let ensemble = Ensemble::load(&testdata("fraud.lgb.txt")).unwrap();
    let worst = ensemble.check_card_samples(&card, None).unwrap();
    assert!(worst <= 1e-4);
}

#[test]
fn wrong_feature_count_is_an_error_not_a_crash() {
    let fraud = FraudModel::new(load("fraud", 1)).unwrap();
    let err = fraud.score(&[0.0; 4]).unwrap_err().to_string();
    assert!(
        err.contains("takes 5 features") && err.contains("got 4"),
        "{err}"
    );
    assert!(fraud.score_batch(&[[0.0f32; 6]]).is_err());
}

/// Loads the fixture with its card edited by `edit`; returns the error text.
fn load_with_edited_card(name: &str, edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut card: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(testdata(&format!("cards/{name}.json"))).unwrap(),
    )
    .unwrap();
    edit(&mut card);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("card.json");
    std::fs::write(&path, card.to_string()).unwrap();
    let opts = ModelOptions { sessions: 1 };
    Model::load_with(&runtime(), &testdata(&format!("{name}.onnx")), &path, &opts)
        .and_then(FraudModel::new)
        .unwrap_err()
        .to_string()
}

#[test]
fn load_names_each_mismatch_with_the_card() {
    let err = load_with_edited_card("fraud", |c| c["input"]["name"] = "x".into());
    assert!(
        err.contains("input is named \"features\" in the graph, \"x\" in the card"),
        "{err}"
    );
    let err = load_with_edited_card("fraud", |c| {
        c["features"].as_array_mut().unwrap().pop();
        c["input"]["shape"][1] = 4.into();
    });
    assert!(err.contains("dimension 1 is 5 in the graph"), "{err}");
    let err = load_with_edited_card("fraud", |c| c["outputs"][0]["name"] = "lbl".into());
    assert!(
        err.contains("graph outputs [\"label\", \"probabilities\"]"),
        "{err}"
    );
    let err = load_with_edited_card("fraud", |c| c["outputs"][1]["type"] = "i64".into());
    assert!(
        err.contains("\"probabilities\" is f32 in the graph, i64 in the card"),
        "{err}"
    );
    let err = load_with_edited_card("fraud", |c| c["input"]["shape"][1] = 7.into());
    assert!(err.contains("does not have [N, 5]"), "{err}");
    let err = Model::load_with(
        &runtime(),
        &testdata("eta.onnx"),
        &testdata("cards/eta.json"),
        &ModelOptions { sessions: 1 },
    )
    .and_then(FraudModel::new)
    .unwrap_err()
    .to_string();
    assert!(err.contains("needs output probabilities"), "{err}");
}

#[test]
fn concurrent_callers_share_a_small_pool() {
    let fraud = FraudModel::new(load("fraud", 2)).unwrap();
    let rows: Vec<Vec<f32>> = fraud
        .model()
        .card()
        .samples
        .iter()
        .map(|s| s.features.clone())
        .collect();
    let want: Vec<f32> = rows.iter().map(|r| fraud.score(r).unwrap()).collect();
    std::thread::scope(|s| {
        for _ in 0..6 {
            s.spawn(|| {
                for _ in 0..50 {
                    for (r, w) in rows.iter().zip(&want) {
                        assert_eq!(fraud.score(r).unwrap(), *w);
                    }
                }
            });
        }
    });
}

#[test]
fn runtime_is_loaded_once_and_a_second_library_is_refused() {
    let rt = runtime();
    assert!(OrtRuntime::get().is_some());
    assert_eq!(OrtRuntime::init(None).unwrap().library(), rt.library());
    let err = OrtRuntime::init(Some(&testdata("fraud.onnx"))).unwrap_err();
    assert!(
        matches!(err, ScoringError::AlreadyInitialized { .. }),
        "{err}"
    );
}

#[test]
fn a_missing_library_error_says_how_to_fix_it() {
    let dir = tempfile::tempdir().unwrap();
    let err = ScoringError::LibraryNotFound {
        searched: vec![
            dir.path()
                .join(".venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so*"),
        ],
    }
    .to_string();
    assert!(err.contains("run scripts/bootstrap"), "{err}");
    assert!(
        err.contains("models.onnxruntime_lib") && err.contains("ORT_DYLIB_PATH"),
        "{err}"
    );
    // the venv layout is found from a given root
    let capi = dir
        .path()
        .join(".venv/lib/python3.11/site-packages/onnxruntime/capi");
    std::fs::create_dir_all(&capi).unwrap();
    std::fs::write(capi.join("libonnxruntime_providers_shared.so"), b"").unwrap();
    std::fs::write(capi.join("libonnxruntime.so.1.31.1"), b"").unwrap();
    if std::env::var_os(ORT_DYLIB_PATH).is_none() {
        assert_eq!(
            find_library(Some(dir.path())).unwrap(),
            capi.join("libonnxruntime.so.1.31.1")
        );
    }
}
