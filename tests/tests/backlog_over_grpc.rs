//! Backlog re-optimisation through a real server on the demo network: held
//! orders re-planned together once better stock arrives, every move checked
//! against the stock and capacity it uses, the commit all or nothing and
//! durable across a restart.
#![allow(clippy::unwrap_used)] // a test may unwrap: a panic is its failure

mod common;

use std::collections::HashMap;

use allot_proto::v1 as pb;
use allot_proto::v1::admin_service_client::AdminServiceClient;
use allot_proto::v1::allocation_service_client::AllocationServiceClient;
use allot_proto::v1::inventory_service_client::InventoryServiceClient;
use common::orders::{committed, level, line, order, stock_rows, stocked_server};
use tonic::Code;
use tonic::transport::Channel;

const A: &str = "SKU-000001";
const B: &str = "SKU-000002";

fn held_all() -> pb::reoptimize_backlog_request::Selection {
    pb::reoptimize_backlog_request::Selection::Held(pb::HeldFilter::default())
}

fn reoptimize(
    selection: pb::reoptimize_backlog_request::Selection,
    commit: bool,
) -> pb::ReoptimizeBacklogRequest {
    pb::ReoptimizeBacklogRequest {
        selection: Some(selection),
        move_penalty_minor: Some(10),
        max_moves: None,
        commit,
        budget_ms: 5_000,
    }
}

async fn reservations(
    client: &mut AllocationServiceClient<Channel>,
    ids: &[String],
) -> Vec<pb::Reservation> {
    let mut out = Vec::new();
    for id in ids {
        out.push(
            client
                .get_reservation(pb::GetReservationRequest {
                    reservation_id: id.clone(),
                })
                .await
                .unwrap()
                .into_inner(),
        );
    }
    out
}

/// Every held unit is backed by stock (each node's reserved units are
/// exactly what the holds keep there, never more than on hand) and no node
/// holds more than its daily capacity.
async fn check_stock_and_capacity(
    held: &[pb::Reservation],
    inventory: &mut InventoryServiceClient<Channel>,
    capacity: &HashMap<String, u32>,
) {
    let mut per_pair: HashMap<(String, String), i64> = HashMap::new();
    let mut per_node: HashMap<String, u32> = HashMap::new();
    for r in held {
        assert_eq!(r.state, pb::ReservationState::Held as i32);
        for u in &r.units {
            *per_pair.entry((u.node.clone(), u.sku.clone())).or_default() += i64::from(u.quantity);
            *per_node.entry(u.node.clone()).or_default() += u.quantity;
        }
    }
    for node in ["DC-ATL", "DC-DFW", "DC-ONT"] {
        for sku in [A, B] {
            let at = level(inventory, sku, node).await;
            let held = per_pair
                .get(&(node.to_string(), sku.to_string()))
                .copied()
                .unwrap_or(0);
            assert_eq!(
                at.reserved, held,
                "{sku} at {node}: reserved is what the holds keep"
            );
            assert!(
                at.reserved <= at.on_hand,
                "{sku} at {node} oversold: {at:?}"
            );
        }
    }
    for (node, units) in per_node {
        assert!(
            units <= capacity[&node],
            "{node} holds {units} units, capacity {}",
            capacity[&node]
        );
    }
}

#[tokio::test]
async fn held_orders_move_together_when_better_stock_arrives() {
    // A and B only far from Atlanta, at two different nodes: every order
    // ships in two packages.
    let (server, mut client, mut inventory) =
        stocked_server(vec![("DC-ONT", vec![(A, 20)]), ("DC-DFW", vec![(B, 20)])]).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let request = committed(
            order(
                &format!("o-{i}"),
                vec![line("a", A, 1), line("b", B, 1)],
                "30301",
            ),
            &format!("k-{i}"),
        );
        let answer = client.allocate(request).await.unwrap().into_inner();
        let reservation = answer.reservation.expect("the order holds stock");
        assert_eq!(reservation.units.len(), 2, "two nodes: {reservation:?}");
        ids.push(reservation.reservation_id);
    }
    let before = reservations(&mut client, &ids).await;
    let capacity: HashMap<String, u32> = AdminServiceClient::new(server.channel().await)
        .get_network(pb::GetNetworkRequest {
            include_skus: false,
        })
        .await
        .unwrap()
        .into_inner()
        .nodes
        .into_iter()
        .map(|n| (n.code, n.daily_capacity_units))
        .collect();

    // Both SKUs arrive in Atlanta, enough for three of the five orders.
    stock_rows(&mut inventory, "DC-ATL", vec![(A, 3), (B, 3)]).await;

    // A proposal changes nothing.
    let proposal = client
        .reoptimize_backlog(reoptimize(held_all(), false))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(proposal.orders, 5);
    assert!(!proposal.committed);
    assert_eq!(proposal.moves.len(), 3, "{proposal:#?}");
    assert!(proposal.saving_minor > 0);
    assert_eq!(
        proposal.saving_minor,
        proposal.objective_before_minor - proposal.objective_after_minor
    );
    assert!(proposal.lower_bound_minor <= proposal.objective_after_minor);
    assert!(
        proposal.proven_optimal,
        "a small backlog is proven: {proposal:#?}"
    );
    assert_eq!(proposal.packages_before, 10);
    assert_eq!(proposal.packages_after, 7);
    for m in &proposal.moves {
        assert!(m.saving_minor > 0, "{m:?}");
        assert_eq!((m.packages_before, m.packages_after), (2, 1));
        assert!(
            m.reasons
                .iter()
                .any(|r| r.code == pb::MoveReasonCode::FewerPackages as i32),
            "{m:?}"
        );
        assert!(m.after.iter().all(|u| u.node == "DC-ATL"), "{m:?}");
    }
    assert_eq!(reservations(&mut client, &ids).await, before);
    check_stock_and_capacity(&before, &mut inventory, &capacity).await;

    // Committed: every move applied, same ids, the stock and capacity they
    // use backed.
    let done = client
        .reoptimize_backlog(reoptimize(held_all(), true))
        .await
        .unwrap()
        .into_inner();
    assert!(done.committed);
    assert_eq!(done.moves.len(), 3);
    let after = reservations(&mut client, &ids).await;
    for m in &done.moves {
        let r = after
            .iter()
            .find(|r| r.reservation_id == m.reservation_id)
            .unwrap();
        assert_eq!(r.units, m.after, "the reservation holds the move's units");
        assert_eq!(r.decision_id, m.decision_id);
    }
    check_stock_and_capacity(&after, &mut inventory, &capacity).await;
    assert_eq!(level(&mut inventory, A, "DC-ATL").await.available, 0);

    // Re-planning again finds nothing left to gain.
    let again = client
        .reoptimize_backlog(reoptimize(held_all(), true))
        .await
        .unwrap()
        .into_inner();
    assert!(again.moves.is_empty(), "{again:#?}");
    assert!(!again.committed);

    // The moves are durable: a restart recovers them.
    let server = server.restart().await;
    let mut client = AllocationServiceClient::new(server.channel().await);
    let mut inventory = InventoryServiceClient::new(server.channel().await);
    assert_eq!(reservations(&mut client, &ids).await, after);
    check_stock_and_capacity(&after, &mut inventory, &capacity).await;
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_commit_is_all_or_nothing_and_bad_requests_name_the_field() {
    let (server, mut client, mut inventory) =
        stocked_server(vec![("DC-ONT", vec![(A, 10)]), ("DC-DFW", vec![(B, 10)])]).await;
    let mut ids = Vec::new();
    let mut decisions = Vec::new();
    for i in 0..2 {
        let answer = client
            .allocate(committed(
                order(
                    &format!("o-{i}"),
                    vec![line("a", A, 1), line("b", B, 1)],
                    "30301",
                ),
                &format!("k-{i}"),
            ))
            .await
            .unwrap()
            .into_inner();
        ids.push(answer.reservation.unwrap().reservation_id);
        decisions.push(answer.decision_id);
    }
    stock_rows(&mut inventory, "DC-ATL", vec![(A, 2), (B, 2)]).await;
    let status =
        |r: Result<tonic::Response<pb::ReoptimizeBacklogResponse>, tonic::Status>| r.unwrap_err();

    // Selected by decision: both orders move.
    let by_decision = client
        .reoptimize_backlog(reoptimize(
            pb::reoptimize_backlog_request::Selection::Decisions(pb::DecisionIds {
                ids: decisions.clone(),
            }),
            false,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_decision.moves.len(), 2);

    // A released reservation cannot be re-planned; nothing changes.
    client
        .release_reservation(pb::ReleaseReservationRequest {
            reservation_id: ids[1].clone(),
            reason: pb::ReleaseReason::OrderCancelled as i32,
            note: String::new(),
        })
        .await
        .unwrap();
    let before = reservations(&mut client, &ids).await;
    let refused = status(
        client
            .reoptimize_backlog(reoptimize(
                pb::reoptimize_backlog_request::Selection::Reservations(pb::ReservationIds {
                    ids: ids.clone(),
                }),
                true,
            ))
            .await,
    );
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert!(
        refused.message().contains("reservations.ids[1]"),
        "{refused:?}"
    );
    assert_eq!(reservations(&mut client, &ids).await, before);

    let mut bad = reoptimize(held_all(), false);
    bad.selection = None;
    let missing = status(client.reoptimize_backlog(bad).await);
    assert_eq!(missing.code(), Code::InvalidArgument);
    assert!(missing.message().contains("selection"), "{missing:?}");
    let mut bad = reoptimize(held_all(), false);
    bad.move_penalty_minor = Some(-1);
    let negative = status(client.reoptimize_backlog(bad).await);
    assert_eq!(negative.code(), Code::InvalidArgument);
    assert!(
        negative.message().contains("move_penalty_minor"),
        "{negative:?}"
    );
    let unknown = status(
        client
            .reoptimize_backlog(reoptimize(
                pb::reoptimize_backlog_request::Selection::Held(pb::HeldFilter {
                    node: "DC-NOWHERE".into(),
                    sku: String::new(),
                }),
                false,
            ))
            .await,
    );
    assert_eq!(unknown.code(), Code::NotFound);
    assert!(unknown.message().contains("held.node"), "{unknown:?}");
    let twice = status(
        client
            .reoptimize_backlog(reoptimize(
                pb::reoptimize_backlog_request::Selection::Reservations(pb::ReservationIds {
                    ids: vec![ids[0].clone(), ids[0].clone()],
                }),
                false,
            ))
            .await,
    );
    assert_eq!(twice.code(), Code::InvalidArgument);
    assert!(twice.message().contains("reservations.ids[1]"), "{twice:?}");
    server.stop().await.unwrap();
}
