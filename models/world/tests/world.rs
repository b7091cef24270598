//! The synthetic world: determinism, sane fraud rates, transit that behaves
//! like carriers, the exported schema, and no label in any feature type.
#![allow(clippy::unwrap_used)] // a test may unwrap: a panic is its failure

use std::sync::OnceLock;

use allot_models::features::{
    DEMAND_FEATURES, DemandFeatures, ETA_FEATURES, EtaFeatures, FRAUD_FEATURES, FraudFeatures,
};
use allot_training::export::{write_demand, write_eta, write_fraud};
use allot_training::world::{FraudKind, World, WorldConfig};
use sha2::{Digest, Sha256};

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| World::generate(WorldConfig::small(11)))
}

fn first_rows_hash(w: &World, rows: usize) -> String {
    let fraud = w.fraud_rows();
    let mut buf = Vec::new();
    write_fraud(&fraud[..rows.min(fraud.len())], &mut buf).unwrap();
    let eta = w.eta_rows();
    write_eta(w, &eta[..rows.min(eta.len())], &mut buf).unwrap();
    write_demand(&w.demand[..rows.min(w.demand.len())], &mut buf).unwrap();
    format!("{:x}", Sha256::digest(&buf))
}

#[test]
fn same_seed_same_rows() {
    let again = World::generate(WorldConfig::small(11));
    assert_eq!(
        first_rows_hash(world(), 1_000),
        first_rows_hash(&again, 1_000)
    );
    let other = World::generate(WorldConfig::small(12));
    assert_ne!(
        first_rows_hash(world(), 1_000),
        first_rows_hash(&other, 1_000)
    );
}

#[test]
fn fraud_rate_is_sane_and_fraud_looks_different() {
    let w = world();
    let rate = w.fraud_rate();
    assert!((0.005..0.05).contains(&rate), "fraud rate {rate}");
    let rows = w.fraud_rows();
    let mean = |fraud: bool, f: fn(&FraudFeatures) -> f32| {
        let v: Vec<f32> = rows
            .iter()
            .filter(|r| r.is_fraud == fraud)
            .map(|r| f(&r.features))
            .filter(|v| !v.is_nan()) // guest orders have no account age
            .collect();
        v.iter().sum::<f32>() / v.len().max(1) as f32
    };
    assert!(mean(true, |f| f.order_amount) > 2.0 * mean(false, |f| f.order_amount));
    assert!(mean(true, |f| f.address_customers_7d) > mean(false, |f| f.address_customers_7d) + 1.0);
    assert!(mean(true, |f| f.account_age_days) < mean(false, |f| f.account_age_days));
}

#[test]
fn orders_are_in_time_order_and_split_by_time() {
    let w = world();
    assert!(w.orders.windows(2).all(|p| p[0].time <= p[1].time));
    let rows = w.fraud_rows();
    let splits: Vec<&str> = rows.iter().map(|r| r.split.as_str()).collect();
    let first_test = splits.iter().position(|s| *s == "test").unwrap();
    assert!(splits[first_test..].iter().all(|s| *s == "test"));
    assert!(splits[..first_test].contains(&"valid"));
}

#[test]
fn transit_grows_with_distance_and_slower_service() {
    let rows = world().eta_rows();
    let mean = |pred: &dyn Fn(&EtaFeatures) -> bool| {
        let v: Vec<f64> = rows
            .iter()
            .filter(|r| pred(&r.features))
            .map(|r| r.transit_days)
            .collect();
        assert!(v.len() > 30, "too few rows");
        v.iter().sum::<f64>() / v.len() as f64
    };
    let ground_near = mean(&|f| f.service_speed == 0.0 && f.zone <= 3.0);
    let ground_mid = mean(&|f| f.service_speed == 0.0 && (4.0..=5.0).contains(&f.zone));
    let ground_far = mean(&|f| f.service_speed == 0.0 && f.zone >= 6.0);
    assert!(
        ground_near < ground_mid && ground_mid < ground_far,
        "{ground_near} {ground_mid} {ground_far}"
    );
    let by_speed: Vec<f64> = (0..4)
        .map(|s| mean(&|f| f.service_speed == s as f32))
        .collect();
    assert!(by_speed.windows(2).all(|p| p[0] > p[1]), "{by_speed:?}");
    assert!(rows.iter().all(|r| r.transit_days > 0.0));
}

#[test]
fn exported_headers_are_the_schema() {
    let mut buf = Vec::new();
    write_fraud(&[], &mut buf).unwrap();
    let header = String::from_utf8(buf).unwrap();
    assert_eq!(
        header.trim_end(),
        format!("{},is_fraud,order_time,split", FRAUD_FEATURES.join(","))
    );
    let mut buf = Vec::new();
    write_eta(world(), &[], &mut buf).unwrap();
    let header = String::from_utf8(buf).unwrap();
    assert_eq!(
        header.trim_end(),
        format!("{},transit_days,service,split", ETA_FEATURES.join(","))
    );
    let mut buf = Vec::new();
    write_demand(&[], &mut buf).unwrap();
    let header = String::from_utf8(buf).unwrap();
    assert_eq!(
        header.trim_end(),
        format!("{},units,split,date", DEMAND_FEATURES.join(","))
    );
}

/// No label leakage, at compile level: the feature types hold exactly the
/// listed features. These exhaustive destructurings stop compiling if any
/// field (a label, a hidden truth, anything) is added to a feature struct,
/// until it is also named here and in the `*_FEATURES` lists, where the
/// header test above and the `to_row` arity pin it.
#[test]
fn feature_types_hold_no_labels() {
    let FraudFeatures {
        order_amount: _,
        line_count: _,
        unit_count: _,
        max_resale_risk: _,
        high_resale_share: _,
        service_speed: _,
        ship_bill_distance_km: _,
        account_age_days: _,
        customer_orders_24h: _,
        customer_orders_7d: _,
        customer_amount_7d: _,
        device_orders_1h: _,
        device_orders_24h: _,
        device_customers_24h: _,
        card_orders_24h: _,
        card_addresses_7d: _,
        address_orders_24h: _,
        address_customers_7d: _,
        customer_return_rate: _,
        hour_local: _,
        is_weekend: _,
    } = FraudFeatures::default();
    let EtaFeatures {
        distance_km: _,
        zone: _,
        service_speed: _,
        transit_days_nominal: _,
        origin_kind: _,
        order_hour_local: _,
        after_cutoff: _,
        hours_to_cutoff: _,
        weekday: _,
        is_peak: _,
        origin_lat: _,
        origin_lon: _,
        dest_lat: _,
        dest_lon: _,
    } = EtaFeatures::default();
    let DemandFeatures {
        category: _,
        weekday: _,
        is_promo: _,
        price: _,
        lag_7d_mean: _,
        lag_same_weekday: _,
        lag_1d: _,
        is_peak: _,
    } = DemandFeatures::default();
    for names in [FRAUD_FEATURES, ETA_FEATURES, DEMAND_FEATURES] {
        for label in [
            "is_fraud",
            "transit_days",
            "units",
            "split",
            "date",
            "order_time",
            "service",
        ] {
            assert!(!names.contains(&label), "{label} is a label/meta column");
        }
    }
}

#[test]
fn feature_store_replay_matches_export() {
    // Serving path: a fresh store, score then observe, through the public API.
    let w = world();
    let store = allot_models::features::FeatureStore::default();
    let rows = w.fraud_rows();
    let mut returns = w.returns.iter().peekable();
    let mut returned = vec![false; w.orders.len()];
    for (o, row) in w.orders.iter().zip(&rows).take(3_000) {
        while let Some(r) = returns.next_if(|r| r.time <= o.time) {
            if !std::mem::replace(&mut returned[r.order as usize], true) {
                store.observe_return(u64::from(w.orders[r.order as usize].customer));
            }
        }
        let event = w.order_event(o);
        let mut want = store.fraud_features(&event);
        if o.guest {
            want.account_age_days = f32::NAN;
        }
        // NaN-aware equality, value by value
        let (want, got) = (want.to_row(), row.features.to_row());
        assert!(
            want.iter()
                .zip(&got)
                .all(|(a, b)| a == b || (a.is_nan() && b.is_nan())),
            "{want:?} != {got:?}"
        );
        store.observe(&event);
    }
}

#[test]
fn guest_checkouts_have_no_account_age() {
    let w = world();
    let rows = w.fraud_rows();
    let mut guests = 0;
    for (o, row) in w.orders.iter().zip(&rows) {
        assert_eq!(o.guest, row.features.account_age_days.is_nan());
        guests += usize::from(o.guest);
        // takeovers and reshippers use their accounts
        if matches!(
            o.fraud,
            Some(FraudKind::AccountTakeover | FraudKind::Reshipper)
        ) {
            assert!(!o.guest);
        }
    }
    let share = guests as f64 / rows.len() as f64;
    assert!((0.05..0.10).contains(&share), "guest share {share}");
    let stolen: Vec<bool> = w
        .orders
        .iter()
        .filter(|o| o.fraud == Some(FraudKind::StolenCard))
        .map(|o| o.guest)
        .collect();
    let stolen_share = stolen.iter().filter(|&&g| g).count() as f64 / stolen.len().max(1) as f64;
    assert!(
        stolen_share > 2.0 * share,
        "stolen-card guest share {stolen_share}"
    );
}

#[test]
fn busy_cards_are_mostly_fraud_and_fraud_campaigns_make_them() {
    let w = world();
    let rows = w.fraud_rows();
    // Campaigns pool a few working cards over many accounts: some fraud
    // orders come on a card already used several times that day.
    let busy = |r: &&allot_training::world::FraudRow| r.features.card_orders_24h >= 4.0;
    let busy_fraud = rows.iter().filter(busy).filter(|r| r.is_fraud).count();
    let busy_all = rows.iter().filter(busy).count();
    assert!(busy_fraud >= 20, "{busy_fraud} fraud orders on busy cards");
    let share = busy_fraud as f64 / busy_all as f64;
    assert!(share > 0.8, "share of fraud among busy-card orders {share}");
    // Pooled cards often come from fresh devices: card velocity without
    // device velocity.
    let card_only = rows
        .iter()
        .filter(|r| {
            r.is_fraud && r.features.card_orders_24h >= 2.0 && r.features.device_orders_24h == 0.0
        })
        .count();
    assert!(
        card_only > 0,
        "no fraud order with card velocity from a fresh device"
    );
}
