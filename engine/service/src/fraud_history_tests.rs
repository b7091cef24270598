use std::path::Path;

use allot_engine::decisions::NewEvent;
use allot_engine::network::{GeoPoint, ServiceLevel};
use allot_models::features::{Observation, OrderEvent, OrderLine, ReturnObservation};

use super::*;
use crate::config::DecisionsConfig;
use crate::id::DecisionId;
use crate::sink::{Entry, Event, EventKind, LogSink};

const HOUR: i64 = 3_600;

/// A record in a test format: `obs:` and the observation's seven numbers, or
/// `none` for a decision that scored no order; `padding` bytes follow.
fn encode(observed: Option<&Observation>, padding: usize) -> Vec<u8> {
    let mut bytes = match observed {
        None => b"none".to_vec(),
        Some(o) => {
            let mut b = b"obs:".to_vec();
            for v in [
                o.time as u64,
                o.customer,
                o.device.unwrap_or(0),
                o.card.unwrap_or(0),
                o.ship_address,
                o.amount_minor as u64,
                o.order.unwrap_or(0),
            ] {
                b.extend_from_slice(&v.to_le_bytes());
            }
            b
        }
    };
    bytes.extend(
        b"DC-ATL SKU-000001 on_hand reserved "
            .iter()
            .cycle()
            .take(padding),
    );
    bytes
}

/// A ReportReturns record in the test format: `ret:` and three numbers per
/// returned order.
fn encode_returns(returns: &[ReturnObservation]) -> Vec<u8> {
    let mut b = b"ret:".to_vec();
    for r in returns {
        for v in [r.customer, r.order, r.time as u64] {
            b.extend_from_slice(&v.to_le_bytes());
        }
    }
    b
}

fn decode(bytes: &[u8]) -> Result<Remembered, ServiceError> {
    if bytes.starts_with(b"none") {
        return Ok(Remembered::default());
    }
    if let Some(rest) = bytes.strip_prefix(b"ret:") {
        let returns = rest
            .chunks_exact(24)
            .map(|c| {
                let v = |i: usize| u64::from_le_bytes(c[8 * i..8 * i + 8].try_into().unwrap());
                ReturnObservation {
                    customer: v(0),
                    order: v(1),
                    time: v(2) as i64,
                }
            })
            .collect();
        return Ok(Remembered {
            order: None,
            returns,
        });
    }
    let numbers = bytes
        .strip_prefix(b"obs:")
        .and_then(|rest| rest.get(..56))
        .ok_or_else(|| ServiceError::internal("not a test record"))?;
    let v: Vec<u64> = numbers
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    let some = |k: u64| (k != 0).then_some(k);
    Ok(Remembered {
        order: Some(Observation {
            order: some(v[6]),
            time: v[0] as i64,
            customer: v[1],
            device: some(v[2]),
            card: some(v[3]),
            ship_address: v[4],
            amount_minor: v[5] as i64,
        }),
        returns: Vec::new(),
    })
}

fn config(dir: &Path) -> DecisionsConfig {
    DecisionsConfig {
        dir: dir.to_path_buf(),
        commit_interval_ms: 0,
        ..DecisionsConfig::default()
    }
}

fn unix(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

fn observation(time: i64, customer: u64, card: u64) -> Observation {
    Observation {
        order: Some(((time as u64) << 16) | customer),
        time,
        customer,
        device: Some(30 + customer),
        card: Some(card),
        ship_address: 900 + customer,
        amount_minor: 4_000,
    }
}

/// An order of `customer` with `card` at `time`, to read velocities with.
fn probe(time: i64, customer: u64, card: u64) -> OrderEvent {
    let nyc = GeoPoint {
        lat: 40.75,
        lon: -73.98,
    };
    OrderEvent {
        // Never an order observed in these tests.
        order: u64::MAX - customer,
        time,
        customer,
        account_created: Some(time - 400 * 86_400),
        device: Some(30 + customer),
        card: Some(card),
        ship_address: 900 + customer,
        ship_to: nyc,
        bill_to: nyc,
        time_zone: chrono_tz::America::New_York,
        service: ServiceLevel::Ground,
        lines: vec![OrderLine {
            qty: 1,
            unit_price_minor: 4_000,
            resale_risk: 0.2,
        }],
        total_minor: None,
    }
}

/// Records one decision with its event of `kind`; returns its id.
fn record(sink: &dyn DecisionSink, kind: EventKind, bytes: Vec<u8>) -> DecisionId {
    let id = DecisionId::mint();
    let event = Event {
        kind,
        order_id: "o".into(),
        reservation_id: String::new(),
        summary: String::new(),
        caller: String::new(),
    };
    sink.record(Entry::new(&id, bytes, Some(event))).unwrap();
    id
}

/// Closes `sink` (committing what is queued) and opens the log again, as a
/// restart does.
fn reopen(sink: LogSink, dir: &Path) -> LogSink {
    sink.close();
    drop(sink);
    LogSink::open(&config(dir)).unwrap()
}

#[test]
fn the_store_is_refilled_with_what_the_scored_decisions_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let sink = LogSink::open(&config(dir.path())).unwrap();
    let now = SystemTime::now();
    let t = unix(now);
    let live = FeatureStore::default();
    let mut scored = Vec::new();
    // Customer 1 orders five times on card 7, customer 2 twice on the same
    // card, through both ScoreOrder and Allocate (allocated or held).
    for (i, (customer, kind)) in [
        (1, EventKind::RiskScored),
        (2, EventKind::OrderAllocated),
        (1, EventKind::RiskScored),
        (1, EventKind::OrderHeld),
        (2, EventKind::RiskScored),
        (1, EventKind::OrderAllocated),
        (1, EventKind::RiskScored),
    ]
    .into_iter()
    .enumerate()
    {
        let o = observation(t - 5 * HOUR + i as i64 * HOUR / 2, customer, 7);
        live.remember(&o);
        scored.push(record(&sink, kind, encode(Some(&o), 100)));
    }
    // An Allocate without a context scored nothing.
    record(&sink, EventKind::OrderAllocated, encode(None, 100));
    // A promise records no order: nothing to remember.
    record(&sink, EventKind::PromiseQuoted, encode(None, 10));
    // A reservation event names the decision that scored: not twice.
    sink.event(NewEvent {
        kind: EventKind::ReservationConfirmed.code(),
        decision_id: scored[1].as_str().to_string(),
        order_id: "o".into(),
        reservation_id: "r".into(),
        summary: String::new(),
        caller: String::new(),
    })
    .unwrap();
    // A record that cannot be read is skipped and counted.
    record(&sink, EventKind::RiskScored, b"garbage".to_vec());
    let sink = reopen(sink, dir.path());

    let store = FeatureStore::default();
    let refilled = refill_from(&sink, &store, SystemTime::now(), decode).unwrap();
    assert_eq!(
        (refilled.decisions, refilled.orders, refilled.unreadable),
        (10, 7, 1),
        "{refilled:?}"
    );
    let next = probe(t, 1, 7);
    let v = store.velocity(&next);
    assert_eq!(v.customer_orders_24h, 5.0);
    assert_eq!(v.card_orders_24h, 7.0);
    assert_eq!(v.customer_amount_7d, 200.0);
    assert_eq!(v, live.velocity(&next), "the same as before the restart");
    assert_eq!(
        store.velocity(&probe(t, 2, 7)),
        live.velocity(&probe(t, 2, 7))
    );
    sink.close();
}

#[test]
fn reported_returns_are_refilled_in_commit_order_with_the_orders() {
    let dir = tempfile::tempdir().unwrap();
    let sink = LogSink::open(&config(dir.path())).unwrap();
    let t = unix(SystemTime::now());
    let live = FeatureStore::default();
    // Customer 1 orders four times; two orders come back, one of them
    // reported twice (two lines) and once more in a later report.
    let orders: Vec<Observation> = (0..4)
        .map(|i| observation(t - 10 * HOUR + i * HOUR, 1, 7))
        .collect();
    for o in &orders {
        live.remember(o);
        record(&sink, EventKind::RiskScored, encode(Some(o), 0));
    }
    let back = |o: &Observation| ReturnObservation {
        customer: 1,
        order: o.order.unwrap(),
        time: t - HOUR,
    };
    let first = [back(&orders[0]), back(&orders[0]), back(&orders[2])];
    let counted: Vec<bool> = first.iter().map(|r| live.remember_return(r)).collect();
    assert_eq!(counted, [true, false, true]);
    sink.record(Entry::new(
        &DecisionId::mint(),
        encode_returns(&first),
        None,
    ))
    .unwrap();
    assert!(!live.remember_return(&back(&orders[2])));
    sink.record(Entry::new(
        &DecisionId::mint(),
        encode_returns(&[back(&orders[2])]),
        None,
    ))
    .unwrap();
    let sink = reopen(sink, dir.path());

    let store = FeatureStore::default();
    let refilled = refill_from(&sink, &store, SystemTime::now(), decode).unwrap();
    assert_eq!(
        (refilled.decisions, refilled.orders, refilled.returns),
        (6, 4, 4),
        "{refilled:?}"
    );
    let next = probe(t, 1, 7);
    assert_eq!(store.velocity(&next).customer_return_rate, 0.5);
    assert_eq!(store.velocity(&next), live.velocity(&next));
    sink.close();
}

#[test]
fn only_the_decisions_within_the_lookback_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let sink = LogSink::open(&config(dir.path())).unwrap();
    let t = unix(SystemTime::now());
    for i in 0..3 {
        record(
            &sink,
            EventKind::RiskScored,
            encode(Some(&observation(t + i, 1, 7)), 0),
        );
    }
    // Wait for the first three to commit, so the next ones commit later.
    sink.read(&record(
        &sink,
        EventKind::RiskScored,
        encode(Some(&observation(t + 3, 1, 7)), 0),
    ))
    .unwrap();
    std::thread::sleep(Duration::from_millis(20));
    let between = SystemTime::now();
    std::thread::sleep(Duration::from_millis(20));
    for i in 4..6 {
        record(
            &sink,
            EventKind::RiskScored,
            encode(Some(&observation(t + i, 1, 7)), 0),
        );
    }
    let sink = reopen(sink, dir.path());
    let week = Duration::from_secs(7 * 86_400);

    let everything = refill_from(&sink, &FeatureStore::default(), SystemTime::now(), decode);
    assert_eq!(everything.unwrap().orders, 6);
    // A week after `between`, the four decisions before it are out.
    let store = FeatureStore::default();
    let later = refill_from(&sink, &store, between + week, decode).unwrap();
    assert_eq!((later.decisions, later.orders), (2, 2), "{later:?}");
    assert_eq!(
        store.velocity(&probe(t + 10, 1, 7)).customer_orders_24h,
        2.0
    );
    // A week after the last one, nothing is.
    let none = refill_from(
        &sink,
        &FeatureStore::default(),
        SystemTime::now() + week,
        decode,
    )
    .unwrap();
    assert_eq!(none.decisions, 0);

    let empty = tempfile::tempdir().unwrap();
    let fresh = LogSink::open(&config(empty.path())).unwrap();
    let nothing = refill_from(&fresh, &FeatureStore::default(), SystemTime::now(), decode);
    assert_eq!(nothing.unwrap().decisions, 0);
    fresh.close();
    sink.close();
}

/// Rebuild time for 100k scored decisions of 2 KB each, as the writer
/// batches them under load (up to `decisions.max_batch`) and one per
/// commit (light load). Run with
/// `cargo test --release -p allot-service rebuild_time -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement: run it in release"]
fn rebuild_time_of_100k_decisions() {
    const N: u64 = 100_000;
    for max_batch in [1_024, 64] {
        let dir = tempfile::tempdir().unwrap();
        let config = DecisionsConfig {
            queue_capacity: N as usize + 1,
            max_batch,
            durability: allot_engine::decisions::Durability::Eventual,
            ..config(dir.path())
        };
        let sink = LogSink::open(&config).unwrap();
        let t = unix(SystemTime::now());
        let written = Instant::now();
        for i in 0..N {
            let o = observation(t - 86_400 + (i as i64 % 86_400), i % 20_000, i % 5_000);
            record(&sink, EventKind::RiskScored, encode(Some(&o), 2_000));
        }
        sink.close();
        drop(sink);
        let written = written.elapsed();
        let sink = LogSink::open(&config).unwrap();
        let store = FeatureStore::default();
        let refilled = refill_from(&sink, &store, SystemTime::now(), decode).unwrap();
        assert_eq!(refilled.orders, N);
        let observed: Vec<Observation> = (0..N)
            .map(|i| observation(t - 86_400 + (i as i64 % 86_400), i % 20_000, i % 5_000))
            .collect();
        let remembered = Instant::now();
        let fresh = FeatureStore::default();
        for o in &observed {
            fresh.remember(o);
        }
        println!(
            "max_batch {max_batch}: {N} decisions rebuilt in {:?} (written in {written:?}; \
             remembering them alone takes {:?})",
            refilled.elapsed,
            remembered.elapsed()
        );
        sink.close();
    }
}
