//! The ETA predictor over the shipped model: one model run per call for the
//! lanes the cache misses, the same quantiles batched or one by one, cache
//! hits identical to the first answer, and probabilities that behave.
#![allow(clippy::unwrap_used)] // a test may unwrap: a panic is its failure

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use allot_engine::network::{DEMO_SEED, Network, RegionId};
use allot_engine::transit::{Lane, TransitPredictor};
use allot_models::scoring::OrtRuntime;
use allot_models::transit::{EtaPredictor, PredictorOptions};

fn predictor() -> Option<EtaPredictor> {
    OrtRuntime::init(None).unwrap_or_else(|e| panic!("{e}"));
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    if !dir.join("eta.onnx").is_file() {
        let msg = "models/eta.onnx missing; run models/training/retrain";
        if std::env::var_os("CI").is_some() {
            panic!("{msg}");
        }
        eprintln!("SKIPPED (not CI): {msg}");
        return None;
    }
    let network = Arc::new(Network::demo(DEMO_SEED));
    Some(
        EtaPredictor::load(&dir, network, PredictorOptions::default())
            .unwrap_or_else(|e| panic!("{e}")),
    )
}

/// A Tuesday 10:00 UTC in November 2026.
fn released() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_795_082_400)
}

fn some_lanes(p: &EtaPredictor) -> Vec<Lane> {
    p.lanes().into_iter().step_by(97).take(40).collect()
}

#[test]
fn batch_equals_one_by_one_and_cache_hits_are_identical() {
    let (Some(a), Some(b)) = (predictor(), predictor()) else {
        return;
    };
    let lanes = some_lanes(&a);
    let mut with_dup = lanes.clone();
    with_dup.push(lanes[3]);
    let batch = a.predict(&with_dup, released()).unwrap();
    assert_eq!(a.stats().runs, 1, "one model run for all misses");
    assert_eq!(batch[lanes.len()], batch[3]);
    for (lane, q) in lanes.iter().zip(&batch) {
        let single = b.predict(&[*lane], released()).unwrap()[0];
        for (x, y) in [
            (q.q10, single.q10),
            (q.q50, single.q50),
            (q.q90, single.q90),
        ] {
            assert!(
                (x - y).abs() <= 1e-5 * y.abs().max(1.0),
                "{q:?} vs {single:?}"
            );
        }
        assert!(q.q10 <= q.q50 && q.q50 <= q.q90, "{q:?}");
    }
    let before = a.stats();
    let again = a
        .predict(&lanes, released() + Duration::from_secs(60))
        .unwrap();
    assert_eq!(&again[..], &batch[..lanes.len()]);
    let after = a.stats();
    assert_eq!(after.runs, before.runs);
    assert_eq!(after.hits - before.hits, lanes.len() as u64);
}

#[test]
fn prefill_makes_every_lane_a_hit() {
    let Some(p) = predictor() else { return };
    let scored = p.prefill(released()).unwrap();
    assert_eq!(scored, p.lanes().len());
    assert_eq!(p.prefill(released()).unwrap(), 0, "already cached");
    let before = p.stats();
    let lanes = some_lanes(&p);
    p.predict(&lanes, released()).unwrap();
    assert_eq!(p.stats().runs, before.runs);
    assert_eq!(p.stats().misses, before.misses);
}

/// Regression: with moka's default TinyLFU admission, a full cache refused
/// the keys of each new bucket (never seen before, so "rarer" than the old
/// bucket's), and prefilled buckets missed. The cache is LRU.
#[test]
fn a_new_bucket_displaces_the_old_one_in_a_full_cache() {
    let Some(p) = predictor() else { return };
    let lanes = p.lanes();
    let small = EtaPredictor::new(
        allot_models::scoring::EtaModel::load(
            &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("eta.onnx"),
            &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("cards/eta.json"),
        )
        .unwrap(),
        p.network().clone(),
        p.calibration().clone(),
        PredictorOptions {
            cache_entries: lanes.len() as u64 * 3 / 2,
            ..PredictorOptions::default()
        },
    );
    let sample: Vec<Lane> = lanes.iter().step_by(101).copied().collect();
    for k in 0..3u64 {
        let at = released() + Duration::from_secs(900 * k);
        small.prefill(at).unwrap();
        let before = small.stats();
        small.predict(&sample, at).unwrap();
        assert_eq!(small.stats().misses, before.misses, "bucket {k} missed");
    }
}

#[test]
fn the_refresher_prefills_now_and_the_next_bucket_and_stops_when_dropped() {
    let Some(p) = predictor() else { return };
    let p = std::sync::Arc::new(p);
    let (tx, rx) = std::sync::mpsc::channel();
    let live = p.clone();
    let refresher = allot_models::transit::Refresher::spawn(
        move || live.clone(),
        Duration::from_secs(90),
        move |pass| {
            let _ = tx.send(pass.map_err(|e| e.to_string()));
        },
    )
    .unwrap();
    let first = rx.recv().unwrap().unwrap();
    assert!(first >= p.lanes().len(), "{first} lanes in the first pass");
    let before = p.stats();
    let now = std::time::SystemTime::now();
    p.predict(&some_lanes(&p), now).unwrap();
    assert_eq!(
        p.stats().misses,
        before.misses,
        "the current bucket is cached"
    );
    drop(refresher);
    assert!(rx.recv().is_err(), "no pass after the drop");
}

#[test]
fn probabilities_are_monotone_in_days_and_in_range() {
    let Some(p) = predictor() else { return };
    let q = p.predict(&some_lanes(&p), released()).unwrap();
    for quant in q.iter().take(10) {
        let mut prev = 0.0;
        for i in 0..=200 {
            let v = p.p_delivered_within(quant, f64::from(i) * 0.1);
            assert!((0.0..=1.0).contains(&v), "{v}");
            assert!(v >= prev, "{quant:?}: {v} < {prev}");
            prev = v;
        }
        assert!(p.p_delivered_within(quant, quant.q90 + 10.0) > 0.9);
    }
}

#[test]
fn the_shipped_calibration_fits_the_shipped_model() {
    let Some(p) = predictor() else { return };
    let cal = p.calibration();
    assert!(!cal.is_identity(), "models/eta.calibration.json is missing");
    cal.check().unwrap();
    assert_eq!(cal.model_version, p.model().version);
    assert!(cal.map.len() > 10);
}

#[test]
fn a_lane_outside_the_network_is_an_error_not_a_panic() {
    let Some(p) = predictor() else { return };
    let mut lane = some_lanes(&p)[0];
    lane.region = RegionId(10_000);
    assert!(p.predict(&[lane], released()).is_err());
}

#[test]
fn the_prefilled_table_answers_exactly_what_the_model_does() {
    let (Some(prefilled), Some(fresh)) = (predictor(), predictor()) else {
        return;
    };
    prefilled.prefill(released()).unwrap();
    let lanes = some_lanes(&prefilled);
    let runs = prefilled.stats().runs;
    assert_eq!(
        prefilled.predict(&lanes, released()).unwrap(),
        fresh.predict(&lanes, released()).unwrap()
    );
    assert_eq!(prefilled.stats().runs, runs, "answered from the table");
    // A bucket that was not prefilled still goes to the model.
    let later = released() + Duration::from_secs(6 * 3600);
    assert_eq!(
        prefilled.predict(&lanes, later).unwrap(),
        fresh.predict(&lanes, later).unwrap()
    );
    assert_eq!(prefilled.stats().runs, runs + 1);
}
