//! The demand forecaster over the shipped demand model: quantiles around
//! the model's means, lags that move the forecast, a horizon fed by its own
//! means, and the card's held-out days inside their intervals.
#![allow(clippy::unwrap_used)] // a test may unwrap: a panic is its failure

use std::path::PathBuf;

use allot_models::demand::{DemandForecaster, NegativeBinomial, Promotion, Series};
use allot_models::features::{DemandFeatures, category_index};
use allot_models::scoring::{DemandModel, OrtRuntime};
use chrono::{Days, NaiveDate};

fn models_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR")))
}

fn forecaster() -> DemandForecaster {
    OrtRuntime::init(None).unwrap_or_else(|e| panic!("{e}"));
    DemandForecaster::load(&models_dir()).unwrap_or_else(|e| panic!("{e}"))
}

fn series(history: [Option<u32>; 7]) -> Series {
    Series {
        category: category_index("electronics"),
        list_price_minor: 4_999,
        promotions: Vec::new(),
        history,
    }
}

fn start() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 10, 14).unwrap()
}

#[test]
fn the_first_day_is_the_model_on_the_same_features() {
    let f = forecaster();
    let history = [3, 5, 2, 4, 6, 3, 4];
    let got = f.means(&[series(history.map(Some))], start(), 1).unwrap();
    let model = DemandModel::load(
        &models_dir().join("demand.onnx"),
        &models_dir().join("cards/demand.json"),
    )
    .unwrap();
    let row = DemandFeatures::compute(
        category_index("electronics"),
        start(),
        false,
        4_999,
        &history,
    )
    .to_row();
    let direct = f64::from(model.predict(&row).unwrap());
    assert!(
        (got[0][0] - direct).abs() < 1e-6,
        "{} vs {direct}",
        got[0][0]
    );
}

#[test]
fn more_recent_sales_forecast_more_and_quantiles_are_ordered() {
    let f = forecaster();
    let quiet = series([Some(0); 7]);
    let busy = series([Some(20); 7]);
    let out = f.forecast(&[quiet, busy], start(), 28).unwrap();
    assert_eq!(out[0].len(), 28);
    for days in &out {
        for (i, d) in days.iter().enumerate() {
            assert_eq!(d.date, start() + Days::new(i as u64));
            assert!(d.mean >= 0.0 && d.mean.is_finite());
            assert!(d.q10 <= d.q50 && d.q50 <= d.q90, "{d:?}");
        }
    }
    let total =
        |days: &[allot_models::demand::DayForecast]| days[..7].iter().map(|d| d.mean).sum::<f64>();
    assert!(
        total(&out[1]) > 2.0 * total(&out[0]),
        "{} vs {}",
        total(&out[1]),
        total(&out[0])
    );
}

#[test]
fn a_promotion_raises_demand_on_its_days_only() {
    let f = forecaster();
    let plain = series([Some(5); 7]);
    let mut promoted = plain.clone();
    promoted.promotions.push(Promotion {
        from: start() + Days::new(2),
        to: start() + Days::new(3),
        discount: 0.3,
    });
    let out = f.forecast(&[plain, promoted], start(), 4).unwrap();
    assert!(!out[1][1].promotion && out[1][2].promotion && out[1][3].promotion);
    assert_eq!(out[0][1].mean, out[1][1].mean);
    assert!(
        out[1][2].mean > out[0][2].mean,
        "{} vs {}",
        out[1][2].mean,
        out[0][2].mean
    );
}

#[test]
fn the_dispersion_fits_the_held_out_days() {
    let f = forecaster();
    let size = f.dispersion_size();
    assert!(size.is_finite() && size > 0.0, "size {size}");
    let coverage = f
        .holdout_coverage()
        .expect("the card has a held-out sample");
    // [q10, q90] of whole units holds at least 80% of the days (the bounds
    // are included), and the negative binomial is not absurdly wide.
    eprintln!("size {size:.3}, held-out coverage of [q10, q90] {coverage:.4}");
    assert!((0.80..0.95).contains(&coverage), "coverage {coverage}");
    let d = NegativeBinomial::new(5.0, size);
    assert!(d.variance() > 5.0);
}
