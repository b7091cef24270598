//! State survives a restart on the same data directory: holds, confirmations
//! (on-hand that shipped stays gone), stock replaced and changed by deltas
//! with their versions and sequences, capacity, and idempotency keys (a
//! retry answers the original bytes and reserves nothing more); a hold whose
//! time ran out while the server was down expires at start, with its event.
//! (Crashes with `kill -9` are server/tests/crash.rs.)

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use allot_proto::v1 as pb;
use allot_proto::v1::allocation_service_client::AllocationServiceClient;
use allot_proto::v1::decision_service_client::DecisionServiceClient;
use allot_proto::v1::inventory_service_client::InventoryServiceClient;
use common::orders::{committed, level, line, order, stock_rows};
use common::{TestServer, test_config};
use prost::Message;
use tonic::transport::Channel;

struct Clients {
    allocation: AllocationServiceClient<Channel>,
    inventory: InventoryServiceClient<Channel>,
    decisions: DecisionServiceClient<Channel>,
}

async fn clients(server: &TestServer) -> Clients {
    Clients {
        allocation: AllocationServiceClient::new(server.channel().await),
        inventory: InventoryServiceClient::new(server.channel().await),
        decisions: DecisionServiceClient::new(server.channel().await),
    }
}

fn with_ttl(mut request: pb::AllocateRequest, ttl: Duration) -> pb::AllocateRequest {
    request
        .options
        .get_or_insert_with(Default::default)
        .reservation_ttl = Some(prost_types::Duration {
        seconds: ttl.as_secs() as i64,
        nanos: 0,
    });
    request
}

async fn reservation(c: &mut Clients, id: &str) -> pb::Reservation {
    c.allocation
        .get_reservation(pb::GetReservationRequest {
            reservation_id: id.into(),
        })
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test]
async fn acknowledged_state_survives_a_restart() {
    let mut config = test_config();
    config.stock.demo = false;
    config.allocation.default_budget_ms = 2_000;
    let server = TestServer::start(config).await;
    server.wait_serving().await;
    let mut c = clients(&server).await;
    stock_rows(
        &mut c.inventory,
        "DC-ATL",
        vec![("SKU-000001", 10), ("SKU-000002", 5)],
    )
    .await;
    stock_rows(&mut c.inventory, "DC-DFW", vec![("SKU-000001", 1001)]).await;

    // Two holds; the second ships.
    let hour = Duration::from_secs(3600);
    let first_request = with_ttl(
        committed(
            order("o-1", vec![line("a", "SKU-000001", 3)], "30301"),
            "key-1",
        ),
        hour,
    );
    let first = c
        .allocation
        .allocate(first_request.clone())
        .await
        .unwrap()
        .into_inner();
    let second = c
        .allocation
        .allocate(with_ttl(
            committed(
                order("o-2", vec![line("a", "SKU-000001", 2)], "30301"),
                "key-2",
            ),
            hour,
        ))
        .await
        .unwrap()
        .into_inner();
    let held = first.reservation.clone().unwrap();
    let shipped = second.reservation.clone().unwrap().reservation_id;
    c.allocation
        .confirm_reservation(pb::ConfirmReservationRequest {
            reservation_id: shipped.clone(),
        })
        .await
        .unwrap();
    // The feed: DFW counted down to 10, then a delta sells 1 at ATL.
    stock_rows(&mut c.inventory, "DC-DFW", vec![("SKU-000001", 10)]).await;
    c.inventory
        .stream_stock_deltas(tokio_stream::iter(vec![pb::StockDeltaBatch {
            deltas: vec![pb::StockDelta {
                node: "DC-ATL".into(),
                sku: "SKU-000002".into(),
                sequence: 1,
                kind: pb::DeltaKind::Adjust as i32,
                quantity: -1,
                protected: None,
            }],
        }]))
        .await
        .unwrap();
    // A hold that runs out while the server is down.
    let brief = c
        .allocation
        .allocate(with_ttl(
            committed(
                order("o-3", vec![line("a", "SKU-000002", 1)], "30301"),
                "key-3",
            ),
            Duration::from_secs(1),
        ))
        .await
        .unwrap()
        .into_inner()
        .reservation
        .unwrap();

    let mut before = Vec::new();
    for (sku, node) in [
        ("SKU-000001", "DC-ATL"),
        ("SKU-000001", "DC-DFW"),
        ("SKU-000002", "DC-ATL"),
    ] {
        before.push(level(&mut c.inventory, sku, node).await);
    }
    let status_before = c
        .inventory
        .get_stock_status(pb::GetStockStatusRequest {})
        .await
        .unwrap()
        .into_inner();
    // Down long enough for the brief hold's time to run out.
    let server = server.restart_after(Duration::from_millis(1_100)).await;
    let mut c = clients(&server).await;

    // The brief hold expired at start: its unit is available again.
    assert_eq!(
        reservation(&mut c, &brief.reservation_id).await.state,
        pb::ReservationState::Expired as i32
    );
    let mut after = Vec::new();
    for (sku, node) in [
        ("SKU-000001", "DC-ATL"),
        ("SKU-000001", "DC-DFW"),
        ("SKU-000002", "DC-ATL"),
    ] {
        after.push(level(&mut c.inventory, sku, node).await);
    }
    let expired_unit = after[2].available - before[2].available;
    assert_eq!(expired_unit, 1, "the expired hold gave its unit back");
    after[2].available -= 1;
    after[2].reserved += 1;
    assert_eq!(after, before, "levels, versions and times as acknowledged");
    let status_after = c
        .inventory
        .get_stock_status(pb::GetStockStatusRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        status_after.nodes, status_before.nodes,
        "every node's version, sequence, rows and time as acknowledged"
    );

    // Reservations in their acknowledged states.
    assert_eq!(reservation(&mut c, &held.reservation_id).await, held);
    assert_eq!(
        reservation(&mut c, &shipped).await.state,
        pb::ReservationState::Confirmed as i32
    );
    // The key answers the original bytes and holds nothing more.
    let retry = c
        .allocation
        .allocate(first_request)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(retry.encode_to_vec(), first.encode_to_vec());
    assert_eq!(
        level(&mut c.inventory, "SKU-000001", "DC-ATL").await,
        after[0]
    );
    // The decision that made the hold is explainable.
    c.decisions
        .explain_decision(pb::ExplainDecisionRequest {
            decision_id: first.decision_id.clone(),
        })
        .await
        .unwrap();
    // The hold still releases, and a snapshot older than the applied delta
    // is still refused (the sequence survived).
    c.allocation
        .release_reservation(pb::ReleaseReservationRequest {
            reservation_id: held.reservation_id.clone(),
            reason: pb::ReleaseReason::OrderCancelled as i32,
            note: String::new(),
        })
        .await
        .unwrap();
    let stale = pb::ReplaceNodeStockRequest {
        node: "DC-ATL".into(),
        as_of_sequence: 0,
        rows: vec![],
        reset_feed: false,
    };
    let refused = c
        .inventory
        .replace_node_stock(tokio_stream::iter(vec![stale]))
        .await
        .unwrap_err();
    assert_eq!(
        refused.code(),
        tonic::Code::FailedPrecondition,
        "{refused:?}"
    );
}
