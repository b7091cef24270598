//! A backlog re-plan committed to the shared ledger (`Ledger::replan`), on
//! a throwaway PostgreSQL and NATS JetStream with one real `allot serve`
//! replica over them (`allot_tests::replicas`) and this process as a
//! second replica: two holds made as a commit makes them, one moved to
//! another node; the ledger's held units and capacity move with it, this
//! replica's snapshot shows the new levels at once and the other replica
//! converges to them; a re-plan the stock or the capacity no longer
//! covers, of a hold no longer held, or planned on units a hold no longer
//! has (another re-plan moved it first), fails with FAILED_PRECONDITION
//! and changes nothing.
#![allow(clippy::unwrap_used)] // a test may unwrap: a panic is its failure

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use allot_engine::network::{NodeId, SkuId};
use allot_engine::reservation::{Rehold, Reservation, ReservationState, ReservedUnits};
use allot_service::config::ServiceConfig;
use allot_service::engine::Engine;
use allot_service::error::Code;
use allot_service::reservations::{ReservationChange, ReservationLedger};
use allot_service::state::{Committed, SharedCommit, SharedLedger};
use allot_shared::Shared;
use allot_tests::crash::workload::read_levels;
use allot_tests::replicas::Fleet;

/// Longest wait for the other replica to show the moved levels.
const CONVERGE: Duration = Duration::from_secs(60);

fn units(node: NodeId, sku: SkuId, quantity: u32) -> Vec<ReservedUnits> {
    vec![ReservedUnits {
        line_id: "l1".into(),
        node,
        sku,
        quantity,
    }]
}

/// Microseconds since the epoch: what a `timestamptz` keeps of a time.
fn micros(at: SystemTime) -> u128 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_micros()
}

fn change(now: SystemTime) -> ReservationChange {
    ReservationChange {
        now,
        caller: "replan-test".into(),
        detail: ": backlog re-plan".into(),
    }
}

/// Holds `units` in this replica's book and commits the hold to the
/// ledger, as a committing Allocate does.
async fn hold(
    engine: &Engine,
    shared: &Shared,
    order: &str,
    units: Vec<ReservedUnits>,
) -> Reservation {
    let now = SystemTime::now();
    let decision_id = format!("dec-{order}");
    let reservation = engine
        .allocator
        .book()
        .hold(order, &decision_id, units, Duration::from_secs(600), now)
        .unwrap();
    let committed = shared
        .ledger()
        .commit(SharedCommit {
            key: format!("key-{order}"),
            fingerprint: [0; 32],
            response: Vec::new(),
            reservation: Some(reservation.clone()),
            decision_id,
            record: Vec::new(),
            event: None,
            at: now,
        })
        .await
        .unwrap();
    assert_eq!(committed, Committed::Done);
    reservation
}

/// Everything of the ledger a re-plan may change, as text.
fn ledger_rows(fleet: &Fleet, sku: &str) -> String {
    fleet
        .postgres
        .psql(&format!(
            "SELECT node, on_hand, feed_reserved, held, version, change FROM allot_stock WHERE sku = '{sku}' ORDER BY node; \
             SELECT node, day, used, change FROM allot_capacity ORDER BY node, day; \
             SELECT id, state, updated_at, body::text FROM allot_reservations ORDER BY id; \
             SELECT count(*) FROM allot_outbox"
        ))
        .unwrap()
}

/// `held` of the stock rows of `sku` at `nodes`, as `NODE|held` lines.
fn held(fleet: &Fleet, sku: &str, nodes: &[&str]) -> String {
    let nodes = nodes
        .iter()
        .map(|n| format!("'{n}'"))
        .collect::<Vec<_>>()
        .join(",");
    fleet
        .postgres
        .psql(&format!(
            "SELECT node, held FROM allot_stock WHERE sku = '{sku}' AND node IN ({nodes}) ORDER BY node"
        ))
        .unwrap()
}

/// Capacity used per node (every day), as `NODE|used` lines.
fn capacity(fleet: &Fleet) -> String {
    fleet
        .postgres
        .psql("SELECT node, sum(used) FROM allot_capacity GROUP BY node HAVING sum(used) > 0 ORDER BY node")
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replan_moves_holds_in_the_shared_ledger_all_or_nothing() {
    let fleet = Fleet::start(env!("CARGO_BIN_EXE_allot"), 1, Vec::new())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServiceConfig::default();
    config.decisions.dir = dir.path().to_path_buf();
    config.models.eta_refresh = false;
    config.state.ledger = Some(fleet.postgres.url());
    config.state.bus = Some(fleet.nats.url());
    let load = config.clone();
    let engine = Arc::new(
        tokio::task::spawn_blocking(move || Engine::load(&load))
            .await
            .unwrap()
            .unwrap(),
    );
    let network = engine.network.clone();
    let (atl, ont) = (
        network.node_id("DC-ATL").unwrap(),
        network.node_id("DC-ONT").unwrap(),
    );
    let sku = SkuId(0);
    let code = network.sku(sku).code.clone();
    // The stock of record: 10 at ATL, 4 at ONT, nothing reserved.
    fleet
        .postgres
        .psql(&format!(
            "INSERT INTO allot_stock AS s (node, sku, on_hand, feed_reserved, held, protected, version, change) \
             SELECT node, '{code}', on_hand, 0, 0, 0, 1, nextval('allot_change') \
             FROM (VALUES ('DC-ATL', 10), ('DC-ONT', 4)) AS w(node, on_hand) \
             ON CONFLICT (node, sku) DO UPDATE SET on_hand = EXCLUDED.on_hand, feed_reserved = 0, held = 0, \
             protected = 0, version = s.version + 1, change = EXCLUDED.change"
        ))
        .unwrap();
    let bus = allot_shared::connect_bus(&fleet.nats.url()).await.unwrap();
    let shared = Shared::open(&config.state, &engine, Some(bus))
        .await
        .unwrap();
    let ledger = shared.ledger().clone();
    let level = |node: NodeId| engine.stock.level(node, sku);
    assert_eq!(
        (level(atl).on_hand, level(atl).reserved),
        (10, 0),
        "caught up"
    );

    let a = hold(&engine, &shared, "o1", units(atl, sku, 3)).await;
    let b = hold(&engine, &shared, "o2", units(atl, sku, 2)).await;
    assert_eq!(
        held(&fleet, &code, &["DC-ATL", "DC-ONT"]),
        "DC-ATL|5\nDC-ONT|0"
    );
    assert_eq!(capacity(&fleet), "DC-ATL|5");
    let mut ids = vec![a.id.clone(), b.id.clone()];
    ids.sort();
    let listed: Vec<String> = ledger
        .held()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(listed, ids, "held() lists both holds by id");

    // b moves to ONT.
    let now = SystemTime::now();
    let (moved, receipt) = ledger
        .replan(
            &[Rehold {
                id: b.id.clone(),
                before: b.units.clone(),
                units: units(ont, sku, 2),
            }],
            &change(now),
        )
        .await
        .unwrap();
    receipt.durable().await.unwrap();
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0].units, units(ont, sku, 2));
    assert_eq!(moved[0].state, ReservationState::Held);
    assert_eq!(
        (
            &moved[0].order_id,
            &moved[0].decision_id,
            micros(moved[0].expires_at)
        ),
        (&b.order_id, &b.decision_id, micros(b.expires_at)),
        "the order, its decision and the expiry (to the ledger's microsecond) stay"
    );
    assert_eq!(moved[0].capacity_days.len(), 1);
    assert_eq!(moved[0].capacity_days[0].0, ont);
    let read = ledger.get(&b.id).await.unwrap();
    assert_eq!(read.units, units(ont, sku, 2), "the ledger's row moved");
    assert_eq!(read.capacity_days, moved[0].capacity_days);
    assert_eq!(
        held(&fleet, &code, &["DC-ATL", "DC-ONT"]),
        "DC-ATL|3\nDC-ONT|2"
    );
    assert_eq!(capacity(&fleet), "DC-ATL|3\nDC-ONT|2");
    assert_eq!(
        fleet
            .postgres
            .psql(
                "SELECT count(*) FROM allot_outbox WHERE subject = 'events.reservation_replanned'"
            )
            .unwrap(),
        "1",
        "one event per moved hold"
    );
    // This replica's snapshot has the new levels at once.
    assert_eq!(level(atl).reserved, 3);
    assert_eq!(level(ont).reserved, 2);
    let remaining = engine.allocator.book().remaining_capacity(now);
    let limit = |node: NodeId| network.node(node).daily_capacity_units;
    assert_eq!(remaining[atl.0 as usize], limit(atl) - 3);
    assert_eq!(remaining[ont.0 as usize], limit(ont) - 2);
    // And the other replica converges to them.
    let other = fleet.client(0).await.unwrap();
    let started = Instant::now();
    loop {
        let levels = read_levels(&other, std::slice::from_ref(&code))
            .await
            .unwrap();
        let reserved = |node: &str| levels[&(node.to_string(), code.clone())].reserved;
        if reserved("DC-ATL") == 3 && reserved("DC-ONT") == 2 {
            break;
        }
        assert!(
            started.elapsed() < CONVERGE,
            "the other replica shows {levels:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A re-plan planned on b's old units, as one made before the move
    // was: refused whole (a's move too), nothing changed.
    let before = ledger_rows(&fleet, &code);
    let stale = ledger
        .replan(
            &[
                Rehold {
                    id: a.id.clone(),
                    before: a.units.clone(),
                    units: units(ont, sku, 1),
                },
                Rehold {
                    id: b.id.clone(),
                    before: b.units.clone(),
                    units: units(ont, sku, 1),
                },
            ],
            &change(SystemTime::now()),
        )
        .await
        .map(|_| ())
        .unwrap_err();
    assert_eq!(stale.code(), Code::FailedPrecondition, "{stale}");
    assert!(stale.to_string().contains(&b.id), "{stale}");
    assert!(stale.to_string().contains("changed since"), "{stale}");
    assert_eq!(ledger_rows(&fleet, &code), before, "nothing changed");

    // b back to ATL and a to ONT with 5 units: ONT has 4, even with b's 2
    // given back. Refused whole: b's move (ATL, written first) too.
    let before = ledger_rows(&fleet, &code);
    let short = ledger
        .replan(
            &[
                Rehold {
                    id: a.id.clone(),
                    before: a.units.clone(),
                    units: units(ont, sku, 5),
                },
                Rehold {
                    id: b.id.clone(),
                    before: units(ont, sku, 2),
                    units: units(atl, sku, 2),
                },
            ],
            &change(SystemTime::now()),
        )
        .await
        .map(|_| ())
        .unwrap_err();
    assert_eq!(short.code(), Code::FailedPrecondition, "{short}");
    assert!(short.to_string().contains("DC-ONT"), "{short}");
    assert_eq!(ledger_rows(&fleet, &code), before, "nothing changed");

    // ONT with 1 unit of capacity left today: 2 more refused.
    let today = fleet
        .postgres
        .psql("SELECT day FROM allot_capacity WHERE node = 'DC-ONT'")
        .unwrap();
    fleet
        .postgres
        .psql(&format!(
            "UPDATE allot_capacity SET used = {}, change = nextval('allot_change') WHERE node = 'DC-ONT' AND day = {today}",
            limit(ont) - 1
        ))
        .unwrap();
    let before = ledger_rows(&fleet, &code);
    let full = ledger
        .replan(
            &[Rehold {
                id: a.id.clone(),
                before: a.units.clone(),
                units: units(ont, sku, 2),
            }],
            &change(SystemTime::now()),
        )
        .await
        .map(|_| ())
        .unwrap_err();
    assert_eq!(full.code(), Code::FailedPrecondition, "{full}");
    assert!(full.to_string().contains("capacity"), "{full}");
    assert_eq!(ledger_rows(&fleet, &code), before, "nothing changed");
    assert_eq!(
        engine
            .allocator
            .book()
            .remaining_capacity(SystemTime::now())[ont.0 as usize],
        1,
        "this replica knows the node-day that was short"
    );
    // What b gives back there covers b's own move within the day.
    let (same, receipt) = ledger
        .replan(
            &[Rehold {
                id: b.id.clone(),
                before: units(ont, sku, 2),
                units: units(ont, sku, 1),
            }],
            &change(SystemTime::now()),
        )
        .await
        .unwrap();
    receipt.durable().await.unwrap();
    assert_eq!(same[0].units, units(ont, sku, 1));
    assert_eq!(
        held(&fleet, &code, &["DC-ATL", "DC-ONT"]),
        "DC-ATL|3\nDC-ONT|1"
    );

    // A released hold cannot move; an unknown one is not found.
    let (done, receipt) = ledger
        .release(&a.id, &change(SystemTime::now()))
        .await
        .unwrap();
    receipt.durable().await.unwrap();
    assert_eq!(done.reservation.state, ReservationState::Released);
    let before = ledger_rows(&fleet, &code);
    let released = ledger
        .replan(
            &[Rehold {
                id: a.id.clone(),
                before: a.units.clone(),
                units: units(ont, sku, 1),
            }],
            &change(SystemTime::now()),
        )
        .await
        .map(|_| ())
        .unwrap_err();
    assert_eq!(released.code(), Code::FailedPrecondition, "{released}");
    assert!(released.to_string().contains("released"), "{released}");
    let unknown = ledger
        .replan(
            &[Rehold {
                id: "rsv_nope".into(),
                before: units(ont, sku, 1),
                units: units(ont, sku, 1),
            }],
            &change(SystemTime::now()),
        )
        .await
        .map(|_| ())
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound, "{unknown}");
    assert_eq!(ledger_rows(&fleet, &code), before, "nothing changed");
    let listed: Vec<String> = ledger
        .held()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(listed, vec![b.id.clone()]);
    engine.decisions.close();
}
