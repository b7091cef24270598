//! TreeSHAP against LightGBM's own `pred_contrib` on small committed fixtures
//! (made by `testdata/make_fixtures.py` with LightGBM 4.7.0).

use serde::Deserialize;

use super::{Ensemble, MissingType, ShapError};

#[derive(Deserialize)]
struct Expected {
    rows: Vec<Vec<Option<f64>>>,
    raw_score: Vec<f64>,
    pred_contrib: Vec<Vec<f64>>,
}

fn check(model: &str, expected: &str) {
    let ensemble = Ensemble::parse(model).unwrap();
    let expected: Expected = serde_json::from_str(expected).unwrap();
    assert!(!expected.rows.is_empty());
    for (i, row) in expected.rows.iter().enumerate() {
        let row: Vec<f32> = row
            .iter()
            .map(|v| v.map_or(f32::NAN, |v| v as f32))
            .collect();
        let c = ensemble.contributions(&row);
        let want = &expected.pred_contrib[i];
        assert_eq!(c.values.len() + 1, want.len());
        for (j, (got, want)) in c.values.iter().zip(want).enumerate() {
            assert!(
                (got - want).abs() <= 1e-4,
                "row {i} feature {j}: {got} vs LightGBM {want}"
            );
        }
        let bias = want[want.len() - 1];
        assert!(
            (c.bias - bias).abs() <= 1e-4,
            "row {i} bias: {} vs LightGBM {bias}",
            c.bias
        );
        let raw = expected.raw_score[i];
        assert!(
            (c.raw_score() - raw).abs() <= 1e-6,
            "row {i}: contributions sum to {} not {raw}",
            c.raw_score()
        );
        let direct = ensemble.predict_raw(&row.iter().map(|&v| f64::from(v)).collect::<Vec<_>>());
        assert!(
            (direct - raw).abs() <= 1e-9,
            "row {i}: predict_raw {direct} vs LightGBM {raw}"
        );
    }
}

#[test]
fn binary_classifier_matches_lightgbm_pred_contrib() {
    check(
        include_str!("testdata/tiny_binary.lgb.txt"),
        include_str!("testdata/tiny_binary.rows.json"),
    );
}

#[test]
fn zero_as_missing_regressor_matches_lightgbm_pred_contrib() {
    check(
        include_str!("testdata/tiny_regression_zero_missing.lgb.txt"),
        include_str!("testdata/tiny_regression_zero_missing.rows.json"),
    );
}

#[test]
fn fixtures_cover_every_missing_type_and_default_direction() {
    let mut seen = Vec::new();
    for text in [
        include_str!("testdata/tiny_binary.lgb.txt"),
        include_str!("testdata/tiny_regression_zero_missing.lgb.txt"),
    ] {
        for tree in Ensemble::parse(text).unwrap().trees {
            for s in tree.splits {
                seen.push((s.missing, s.default_left));
            }
        }
    }
    for missing in [MissingType::None, MissingType::Zero, MissingType::NaN] {
        assert!(
            seen.iter().any(|&(m, _)| m == missing),
            "{missing:?} not covered"
        );
    }
    assert!(seen.iter().any(|&(_, left)| left) && seen.iter().any(|&(_, left)| !left));
}

#[test]
fn categorical_splits_are_rejected() {
    let text = include_str!("testdata/tiny_binary.lgb.txt").replacen(
        "decision_type=2 ",
        "decision_type=3 ",
        1,
    );
    let err = Ensemble::parse(&text).unwrap_err();
    assert!(
        matches!(&err, ShapError::InTree { tree: 0, source } if matches!(**source, ShapError::Unsupported(_))),
        "{err}"
    );
    assert!(err.to_string().contains("categorical"), "{err}");
}

#[test]
fn malformed_text_names_the_problem() {
    let text =
        include_str!("testdata/tiny_binary.lgb.txt").replacen("leaf_count=", "leaf_count=1 ", 1);
    let err = Ensemble::parse(&text).unwrap_err().to_string();
    assert!(
        err.contains("tree 0") && err.contains("leaf_count"),
        "{err}"
    );
    assert!(Ensemble::parse("not a model").is_err());
}

/// The shipped fraud model and its card's `samples_missing`: guest orders,
/// whose `account_age_days` is missing (null in the card, NaN to the model).
/// Every split on that feature that meets a NaN must send it the way
/// LightGBM's missing-value direction says, or the contributions would not
/// match `pred_contrib` nor sum to LightGBM's raw score.
#[test]
fn guest_orders_with_no_account_age_follow_lightgbm_missing_directions() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let ensemble = Ensemble::load(&dir.join("fraud.lgb.txt")).unwrap();
    let card: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("cards/fraud.json")).unwrap())
            .unwrap();
    let age = ensemble
        .feature_names
        .iter()
        .position(|n| n == "account_age_days")
        .unwrap();
    // The model learnt where NaN goes on account age, in both directions.
    let nan_splits: Vec<bool> = ensemble
        .trees
        .iter()
        .flat_map(|t| &t.splits)
        .filter(|s| s.feature == age && s.missing == MissingType::NaN)
        .map(|s| s.default_left)
        .collect();
    assert!(nan_splits.contains(&true) && nan_splits.contains(&false));

    let samples = card["samples_missing"].as_array().unwrap();
    assert!(samples.len() >= 4, "{} samples_missing", samples.len());
    let explainer = ensemble.explainer();
    let mut differs = 0;
    for (i, s) in samples.iter().enumerate() {
        let row: Vec<f32> = s["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().map_or(f32::NAN, |v| v as f32))
            .collect();
        assert!(row[age].is_nan(), "sample {i} has an account age");
        let lgb = &s["lightgbm"];
        let raw = lgb["raw"].as_f64().unwrap();
        let want: Vec<f64> = lgb["contributions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        for c in [ensemble.contributions(&row), explainer.contributions(&row)] {
            for (j, (got, want)) in c.values.iter().zip(&want).enumerate() {
                assert!(
                    (got - want).abs() <= 1e-4,
                    "sample {i} feature {j}: {got} vs LightGBM {want}"
                );
            }
            assert!(
                (c.raw_score() - raw).abs() <= 1e-6,
                "sample {i}: contributions sum to {} not LightGBM's raw {raw}",
                c.raw_score()
            );
        }
        let direct = ensemble.predict_raw(&row.iter().map(|&v| f64::from(v)).collect::<Vec<_>>());
        assert!(
            (direct - raw).abs() <= 1e-9,
            "sample {i}: {direct} vs {raw}"
        );
        // Reading NaN as 0 (a brand-new account) scores differently.
        let mut as_zero = row.clone();
        as_zero[age] = 0.0;
        let zero = ensemble.predict_raw(&as_zero.iter().map(|&v| f64::from(v)).collect::<Vec<_>>());
        differs += usize::from((zero - raw).abs() > 1e-6);
    }
    // The missing direction is not a no-op: most rows would score otherwise.
    assert!(
        differs * 2 > samples.len(),
        "{differs} of {} rows",
        samples.len()
    );
}
