use std::time::Duration;

use allot_engine::network::{GeoPoint, ServiceLevel};

use super::*;
use crate::features::OrderLine;

fn order(time: i64, customer: u64, device: u64, card: u64, address: u64) -> OrderEvent {
    OrderEvent {
        // One order per (time, customer, device, card, address).
        order: crate::features::entity_key(&format!("{time}/{customer}/{device}/{card}/{address}")),
        time,
        customer,
        account_created: Some(time - 10 * DAY),
        device: Some(device),
        card: Some(card),
        ship_address: address,
        ship_to: GeoPoint {
            lat: 40.7,
            lon: -74.0,
        },
        bill_to: GeoPoint {
            lat: 40.7,
            lon: -74.0,
        },
        time_zone: chrono_tz::America::New_York,
        service: ServiceLevel::Ground,
        lines: vec![OrderLine {
            qty: 2,
            unit_price_minor: 5_000,
            resale_risk: 0.8,
        }],
        total_minor: None,
    }
}

#[test]
fn features_describe_history_before_the_order() {
    let store = FeatureStore::default();
    let t0 = 1_800_000_000;
    let first = order(t0, 1, 10, 100, 1_000);
    let f = store.fraud_features(&first);
    assert_eq!(f.customer_orders_24h, 0.0);
    assert_eq!(f.device_customers_24h, 1.0);
    assert_eq!(f.card_addresses_7d, 1.0);
    assert_eq!(f.address_customers_7d, 1.0);
    assert_eq!(f.order_amount, 100.0);
    assert_eq!(f.high_resale_share, 1.0);
    store.observe(&first);

    // 30 minutes later: another customer, same device, same card, new address.
    let second = order(t0 + 1_800, 2, 10, 100, 1_001);
    let f = store.fraud_features(&second);
    assert_eq!(f.customer_orders_24h, 0.0);
    assert_eq!(f.device_orders_1h, 1.0);
    assert_eq!(f.device_customers_24h, 2.0);
    assert_eq!(f.card_orders_24h, 1.0);
    assert_eq!(f.card_addresses_7d, 2.0);
    store.observe(&second);

    // Two hours later, first customer again, to the second customer's address.
    let third = order(t0 + 2 * HOUR, 1, 11, 101, 1_001);
    let f = store.fraud_features(&third);
    assert_eq!(f.customer_orders_24h, 1.0);
    assert_eq!(f.customer_amount_7d, 100.0);
    assert_eq!(f.device_orders_1h, 0.0);
    assert_eq!(f.address_orders_24h, 1.0);
    assert_eq!(f.address_customers_7d, 2.0);
}

#[test]
fn windows_roll_over() {
    let store = FeatureStore::default();
    let t0 = 1_800_000_000;
    for i in 0..5 {
        store.observe(&order(t0 + i * HOUR, 1, 10, 100, 1_000));
    }
    let at = |t| store.fraud_features(&order(t, 1, 10, 100, 1_000));
    let f = at(t0 + 4 * HOUR + 60);
    assert_eq!((f.device_orders_1h, f.customer_orders_24h), (1.0, 5.0));
    let f = at(t0 + DAY + 2 * HOUR);
    assert_eq!(f.customer_orders_24h, 2.0, "orders at +3h and +4h remain");
    assert_eq!(f.customer_orders_7d, 5.0);
    let f = at(t0 + 8 * DAY);
    assert_eq!((f.customer_orders_24h, f.customer_orders_7d), (0.0, 0.0));
    assert_eq!(f.customer_amount_7d, 0.0);
}

#[test]
fn return_rate_counts_returns_over_orders() {
    let store = FeatureStore::default();
    let t0 = 1_800_000_000;
    for i in 0..4 {
        store.observe(&order(t0 + i * DAY, 7, 10, 100, 1_000));
    }
    store.observe_return(7);
    let f = store.fraud_features(&order(t0 + 5 * DAY, 7, 10, 100, 1_000));
    assert_eq!(f.customer_return_rate, 0.25);
}

#[test]
fn an_order_scored_twice_counts_once_and_does_not_see_itself() {
    let store = FeatureStore::default();
    let t0 = 1_800_000_000;
    let first = order(t0, 1, 10, 100, 1_000);
    store.observe(&first);
    let second = order(t0 + 600, 1, 10, 100, 1_000);
    let before = store.fraud_features(&second);
    let history = store.velocity(&second);
    assert_eq!(before.customer_orders_24h, 1.0);
    assert_eq!(before.device_orders_1h, 1.0);
    store.observe(&second);
    // The same order again (ScoreOrder, then Allocate): the features it had
    // the first time, and it is still one order for everyone after it.
    assert_eq!(store.fraud_features(&second), before);
    store.observe(&second);
    let again = OrderEvent {
        time: t0 + 660,
        ..second.clone()
    };
    assert_eq!(
        store.velocity(&again),
        history,
        "a later repeat sees the same history"
    );
    store.observe(&again);
    let third = order(t0 + 1_200, 1, 10, 100, 1_000);
    let f = store.fraud_features(&third);
    assert_eq!(f.customer_orders_24h, 2.0);
    assert_eq!(f.customer_amount_7d, 200.0);
    assert_eq!(f.device_orders_1h, 2.0);
    assert_eq!(f.card_orders_24h, 2.0);
    assert_eq!(f.address_orders_24h, 2.0);
    // One return of the customer's two orders: the rate is a half.
    assert!(store.observe_returned_order(1, second.order));
    assert!(
        !store.observe_returned_order(1, second.order),
        "reported twice"
    );
    assert_eq!(store.fraud_features(&third).customer_return_rate, 0.5);
}

#[test]
fn unkeyed_observations_are_never_repeats() {
    let store = FeatureStore::default();
    let t0 = 1_800_000_000;
    let mut o = order(t0, 1, 10, 100, 1_000).observation();
    o.order = None;
    assert!(store.remember(&o));
    assert!(store.remember(&o));
    let f = store.fraud_features(&order(t0 + 60, 1, 10, 100, 1_000));
    assert_eq!(f.customer_orders_24h, 2.0);
}

#[test]
fn ring_capacity_bounds_counts() {
    let store = FeatureStore::new(StoreConfig {
        ring_capacity: 8,
        ..StoreConfig::default()
    });
    let t0 = 1_800_000_000;
    for i in 0..20 {
        store.observe(&order(t0 + i, 1, 10, 100, 1_000));
    }
    let f = store.fraud_features(&order(t0 + 30, 1, 10, 100, 1_000));
    assert_eq!(f.customer_orders_24h, 8.0);
}

#[test]
fn capacity_evicts_entities() {
    let store = FeatureStore::new(StoreConfig {
        max_entities: 50,
        ..StoreConfig::default()
    });
    for i in 0..1_000u64 {
        store.observe(&order(1_800_000_000 + i as i64, i, i, i, i));
    }
    store.run_pending_tasks();
    assert!(store.entity_count() <= 4 * 50, "{}", store.entity_count());
}

#[test]
fn idle_entities_expire() {
    let store = FeatureStore::new(StoreConfig {
        time_to_idle: Duration::from_millis(50),
        ..StoreConfig::default()
    });
    let t0 = 1_800_000_000;
    store.observe(&order(t0, 1, 10, 100, 1_000));
    std::thread::sleep(Duration::from_millis(120));
    store.run_pending_tasks();
    assert_eq!(store.entity_count(), 0);
    let f = store.fraud_features(&order(t0 + 60, 1, 10, 100, 1_000));
    assert_eq!(f.customer_orders_24h, 0.0, "an expired entity reads as new");
}

#[test]
fn store_is_shareable_across_threads() {
    let store = std::sync::Arc::new(FeatureStore::default());
    let handles: Vec<_> = (0..4u64)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                for i in 0..100 {
                    store.observe(&order(1_800_000_000 + i, t, 10, 100, 1_000));
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let f = store.fraud_features(&order(1_800_000_200, 0, 10, 100, 1_000));
    assert_eq!(f.device_customers_24h, 4.0);
    assert_eq!(f.customer_orders_24h, 64.0, "ring capacity");
}

#[test]
fn remembered_observations_give_the_velocities_observed_orders_gave() {
    let live = FeatureStore::default();
    let t0 = 1_800_000_000;
    let orders: Vec<OrderEvent> = (0..40)
        .map(|i| {
            order(
                t0 + i * 1_700,
                i as u64 % 3,
                10 + i as u64 % 2,
                100,
                1_000 + i as u64 % 5,
            )
        })
        .collect();
    for o in &orders {
        live.observe(o);
    }
    let refilled = FeatureStore::default();
    for o in &orders {
        refilled.remember(&o.observation());
    }
    for probe in [
        order(t0 + 40 * 1_700, 1, 10, 100, 1_002),
        order(t0 + 3 * DAY, 2, 11, 100, 1_009),
    ] {
        assert_eq!(refilled.velocity(&probe), live.velocity(&probe));
    }
    assert_eq!(live.lookback_secs(), WEEK);
    let short = FeatureStore::new(StoreConfig {
        horizon_secs: DAY,
        ..StoreConfig::default()
    });
    assert_eq!(short.lookback_secs(), DAY, "a shorter horizon bounds it");
}
