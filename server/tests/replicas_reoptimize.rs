//! `ReoptimizeBacklog` over gRPC on two real `allot serve` replicas sharing
//! a throwaway PostgreSQL ledger and NATS JetStream bus
//! (`allot_tests::replicas`): orders held through one replica, better
//! stock fed through the other, then both replicas asked at once to re-plan
//! and commit the same holds. Exactly one re-plan applies (the other finds
//! nothing left, or is refused with FAILED_PRECONDITION and changes
//! nothing), both replicas then show the same reservations and levels, the
//! stock and capacity the moves use are backed, and the moves survive a
//! `kill -9` of the replica that did not make them.
#![allow(clippy::unwrap_used)] // a test may unwrap: a panic is its failure

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use allot_client::AllotClient;
use allot_client::proto as pb;
use allot_tests::crash::workload::{Levels, read_levels};
use allot_tests::orders::{committed, line, order};
use allot_tests::replicas::Fleet;
use tonic::Code;

const A: &str = "SKU-000001";
const B: &str = "SKU-000002";
/// Orders held before the better stock arrives.
const ORDERS: usize = 3;
/// Longest wait for a replica to show what the other wrote.
const CONVERGE: Duration = Duration::from_secs(60);

/// Order `i`: one A and one B to Atlanta, committed under its own key.
fn order_of(i: usize) -> pb::AllocateRequest {
    committed(
        order(
            &format!("o-{i}"),
            vec![line("a", A, 1), line("b", B, 1)],
            "30301",
        ),
        &format!("k-{i}"),
    )
}

/// Replaces `node`'s stock with `rows` (SKU, on hand) through `api`.
async fn replace(api: &AllotClient, node: &str, rows: &[(&str, i64)]) {
    let message = pb::ReplaceNodeStockRequest {
        node: node.into(),
        as_of_sequence: 0,
        rows: rows
            .iter()
            .map(|&(sku, on_hand)| pb::StockRecord {
                sku: sku.into(),
                on_hand,
                reserved: 0,
                protected: 0,
            })
            .collect(),
        reset_feed: false,
    };
    api.inventory()
        .replace_node_stock(tokio_stream::iter(vec![message]))
        .await
        .unwrap();
}

fn skus() -> Vec<String> {
    vec![A.to_string(), B.to_string()]
}

/// `api`'s levels of A and B once `done` holds of them.
async fn until(api: &AllotClient, what: &str, done: impl Fn(&Levels) -> bool) -> Levels {
    let deadline = Instant::now() + CONVERGE;
    loop {
        let levels = read_levels(api, &skus()).await.unwrap();
        if done(&levels) {
            return levels;
        }
        assert!(Instant::now() < deadline, "{what}: {levels:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn on_hand(levels: &Levels, node: &str, sku: &str) -> i64 {
    levels
        .get(&(node.to_string(), sku.to_string()))
        .map_or(0, |l| l.on_hand)
}

async fn reservations(api: &AllotClient, ids: &[String]) -> Vec<pb::Reservation> {
    let mut out = Vec::new();
    for id in ids {
        out.push(
            api.allocation()
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

/// Units the holds keep per (node, SKU).
fn held(reservations: &[pb::Reservation]) -> BTreeMap<(String, String), i64> {
    let mut held = BTreeMap::new();
    for r in reservations {
        assert_eq!(r.state(), pb::ReservationState::Held, "{r:?}");
        for u in &r.units {
            *held.entry((u.node.clone(), u.sku.clone())).or_insert(0) += i64::from(u.quantity);
        }
    }
    held
}

/// Every node's reserved A and B are what the holds keep there, never more
/// than on hand, and no node holds more than its daily capacity.
fn check_backed(levels: &Levels, holds: &[pb::Reservation], capacity: &HashMap<String, u32>) {
    let held = held(holds);
    for ((node, sku), level) in levels {
        let keep = held.get(&(node.clone(), sku.clone())).copied().unwrap_or(0);
        assert_eq!(level.reserved, keep, "{sku} at {node}: {level:?}");
        assert!(level.reserved <= level.on_hand, "{sku} at {node} oversold");
    }
    let mut per_node: HashMap<&str, u32> = HashMap::new();
    for ((node, _), units) in &held {
        *per_node.entry(node).or_default() += u32::try_from(*units).unwrap();
    }
    for (node, units) in per_node {
        assert!(units <= capacity[node], "{node} holds {units} units");
    }
}

fn replan(commit: bool) -> pb::ReoptimizeBacklogRequest {
    pb::ReoptimizeBacklogRequest {
        selection: Some(pb::reoptimize_backlog_request::Selection::Held(
            pb::HeldFilter::default(),
        )),
        move_penalty_minor: Some(10),
        max_moves: None,
        commit,
        budget_ms: 5_000,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_replan_the_same_holds_once() {
    let mut fleet = Fleet::start(env!("CARGO_BIN_EXE_allot"), 2, Vec::new())
        .await
        .unwrap();
    let (first, second) = (
        fleet.client(0).await.unwrap(),
        fleet.client(1).await.unwrap(),
    );
    let network = first
        .admin()
        .get_network(pb::GetNetworkRequest {
            include_skus: false,
        })
        .await
        .unwrap()
        .into_inner();
    let capacity: HashMap<String, u32> = network
        .nodes
        .iter()
        .map(|n| (n.code.clone(), n.daily_capacity_units))
        .collect();

    // A only at Ontario, B only at Dallas: every order ships in two
    // packages.
    for node in &network.nodes {
        let rows: &[(&str, i64)] = match node.code.as_str() {
            "DC-ONT" => &[(A, 20), (B, 0)],
            "DC-DFW" => &[(A, 0), (B, 20)],
            _ => &[(A, 0), (B, 0)],
        };
        replace(&first, &node.code, rows).await;
    }
    until(&second, "the second replica shows the new stock", |l| {
        on_hand(l, "DC-ONT", A) == 20
            && on_hand(l, "DC-DFW", B) == 20
            && l.values().map(|x| x.on_hand).sum::<i64>() == 40
    })
    .await;
    let mut ids = Vec::new();
    for i in 0..ORDERS {
        let answer = first
            .allocation()
            .allocate(order_of(i))
            .await
            .unwrap()
            .into_inner();
        let reservation = answer.reservation.expect("the order holds stock");
        assert_eq!(reservation.units.len(), 2, "two nodes: {reservation:?}");
        ids.push(reservation.reservation_id);
    }

    // Atlanta receives both SKUs, through the other replica: enough for
    // two of the three orders.
    replace(&second, "DC-ATL", &[(A, 2), (B, 2)]).await;
    until(&first, "the first replica shows Atlanta's stock", |l| {
        on_hand(l, "DC-ATL", A) == 2 && on_hand(l, "DC-ATL", B) == 2
    })
    .await;
    until(&second, "the second replica shows the holds", |l| {
        l.values().map(|x| x.reserved).sum::<i64>() == 2 * ORDERS as i64
    })
    .await;

    // The replica that did not make the orders reads their decision
    // records from the shared ledger and proposes the same two moves.
    let proposal = second
        .allocation()
        .reoptimize_backlog(replan(false))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(proposal.orders, ORDERS as u32, "{proposal:#?}");
    assert!(proposal.skipped.is_empty(), "{proposal:#?}");
    assert_eq!(proposal.moves.len(), 2, "{proposal:#?}");

    // Both replicas re-plan and commit the same holds at once.
    let (one, two) = tokio::join!(
        async { first.allocation().reoptimize_backlog(replan(true)).await },
        async { second.allocation().reoptimize_backlog(replan(true)).await },
    );
    let mut applied = Vec::new();
    for answer in [one, two] {
        match answer {
            Ok(r) => {
                let r = r.into_inner();
                if r.committed {
                    applied.push(r);
                } else {
                    assert!(r.moves.is_empty(), "uncommitted with moves: {r:#?}");
                }
            }
            Err(status) => {
                assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
                assert!(status.message().contains("nothing changed"), "{status:?}");
            }
        }
    }
    assert_eq!(
        applied.len(),
        1,
        "exactly one re-plan applies: {applied:#?}"
    );
    let done = applied.remove(0);
    assert_eq!(done.moves.len(), 2, "{done:#?}");
    assert_eq!((done.packages_before, done.packages_after), (6, 4));

    // Both replicas show the moves and the same levels, backed.
    let after = reservations(&first, &ids).await;
    for m in &done.moves {
        let r = after
            .iter()
            .find(|r| r.reservation_id == m.reservation_id)
            .unwrap();
        assert_eq!(r.units, m.after, "the reservation holds the move's units");
        assert!(r.units.iter().all(|u| u.node == "DC-ATL"), "{r:?}");
    }
    assert_eq!(reservations(&second, &ids).await, after);
    let holds = held(&after);
    let reserved_as_held = |l: &Levels| {
        l.iter().all(|((node, sku), level)| {
            level.reserved
                == holds
                    .get(&(node.clone(), sku.clone()))
                    .copied()
                    .unwrap_or(0)
        })
    };
    let levels = until(
        &second,
        "the second replica shows the moves",
        reserved_as_held,
    )
    .await;
    check_backed(&levels, &after, &capacity);
    let first_levels = until(
        &first,
        "the first replica shows the moves",
        reserved_as_held,
    )
    .await;
    assert_eq!(first_levels, levels, "the replicas agree on the levels");

    // Nothing is left to gain, on either replica.
    for api in [&first, &second] {
        let again = api
            .allocation()
            .reoptimize_backlog(replan(false))
            .await
            .unwrap()
            .into_inner();
        assert!(again.moves.is_empty(), "{again:#?}");
    }

    // The moves live in the shared ledger: the second replica, killed and
    // restarted, still shows them.
    fleet.kill(1).unwrap();
    fleet.spawn(1).await.unwrap();
    let second = fleet.client(1).await.unwrap();
    assert_eq!(reservations(&second, &ids).await, after);
    let restarted = until(
        &second,
        "the restarted replica shows the moves",
        reserved_as_held,
    )
    .await;
    assert_eq!(restarted, levels);
}
