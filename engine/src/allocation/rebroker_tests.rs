//! Re-brokering live holds on the demo network: the joint plan's moves
//! always commit on the book they were planned on, never oversell stock or
//! capacity, save what they say, and a proven re-plan leaves nothing to
//! gain.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use proptest::prelude::*;

use super::allocate::{Allocator, Commit};
use super::candidates::tests::{order, setup};
use super::params::CostParams;
use super::rebroker::{HeldOrder, RebrokerParams, rebroker};
use crate::network::{NodeId, RegionId, ServiceLevel, SkuId};
use crate::reservation::ReservationBook;
use crate::stock::{StockLevel, StockStore};

/// Sets the on-hand units of some SKUs at `node`, keeping its other rows
/// (and allot's holds, which a replacement adds back).
fn set_units(store: &StockStore, node: NodeId, units: &[(SkuId, i64)], now: SystemTime) {
    let (_, old) = store.node_levels(node);
    let mut rows: Vec<(SkuId, StockLevel)> = old
        .into_iter()
        .filter(|(s, _)| units.iter().all(|(u, _)| u != s))
        .map(|(s, mut l)| {
            l.reserved -= store.held(node, s);
            (s, l)
        })
        .collect();
    rows.extend(units.iter().map(|&(sku, on_hand)| {
        (
            sku,
            StockLevel {
                on_hand,
                reserved: 0,
                protected: 0,
            },
        )
    }));
    store.replace_node(node, rows, 0, now).unwrap();
}

/// A few SKUs scarce at a few nodes; `orders` random orders of them held;
/// then stock arrives at `restocked` nodes. Returns the allocator and the
/// held orders.
fn backlog(seed: u64, orders: usize, restocked: usize) -> (Allocator, Vec<HeldOrder>) {
    let (network, store, _) = setup();
    let store = Arc::new(store);
    let book = Arc::new(ReservationBook::new(store.clone()));
    let allocator = Allocator::new(book.clone(), CostParams::default());
    let mut rng = seed;
    let mut next = |n: usize| {
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((rng >> 33) % n as u64) as usize
    };
    let skus: Vec<SkuId> = (0..6).map(|k| SkuId(k * 7)).collect();
    let now = SystemTime::now();
    let nodes = network.node_count();
    for n in network.node_ids() {
        let units: Vec<(SkuId, i64)> = skus.iter().map(|&s| (s, 0)).collect();
        set_units(&store, n, &units, now);
    }
    for _ in 0..6 {
        let units: Vec<(SkuId, i64)> = skus.iter().map(|&s| (s, next(6) as i64)).collect();
        set_units(&store, NodeId(next(nodes) as u32), &units, now);
    }
    let mut held = Vec::new();
    for o in 0..orders {
        let mut lines: Vec<SkuId> = (0..1 + next(3)).map(|_| skus[next(skus.len())]).collect();
        lines.sort();
        lines.dedup();
        let region = RegionId(next(network.regions().len()) as u32);
        let mut request = order(&network, &lines, region, ServiceLevel::Ground);
        request.order_id = format!("o-{o}");
        let commit = Commit {
            ttl: Duration::from_secs(600),
            decision_id: format!("d-{o}"),
        };
        let outcome = allocator
            .allocate(
                &request,
                Some(commit),
                Instant::now() + Duration::from_secs(2),
                now,
            )
            .unwrap();
        if let Some(reservation) = outcome.reservation {
            held.push(HeldOrder {
                reservation,
                request,
            });
        }
    }
    for _ in 0..restocked {
        let node = NodeId(next(nodes) as u32);
        let units: Vec<(SkuId, i64)> = skus
            .iter()
            .map(|&s| (s, store.level(node, s).on_hand + next(5) as i64))
            .collect();
        set_units(&store, node, &units, now);
    }
    (allocator, held)
}

fn check_backed(allocator: &Allocator) {
    let book = allocator.book();
    let stock = book.stock();
    let network = stock.network();
    for n in network.node_ids() {
        let (_, levels) = stock.node_levels(n);
        for (sku, level) in levels {
            assert!(
                stock.held(n, sku) <= level.on_hand,
                "{} {}: held {} > on hand {}",
                network.node(n).code,
                network.sku(sku).code,
                stock.held(n, sku),
                level.on_hand
            );
        }
    }
    let capacity = book.remaining_capacity(SystemTime::now());
    for n in network.node_ids() {
        assert!(capacity[n.0 as usize] <= network.node(n).daily_capacity_units);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn moves_commit_on_the_book_they_were_planned_on(
        seed in 0u64..1_000_000,
        orders in 3usize..25,
        restocked in 1usize..6,
        move_penalty in 0i64..300,
    ) {
        let (allocator, held) = backlog(seed, orders, restocked);
        let params = RebrokerParams { move_penalty, max_moves: None };
        let deadline = Instant::now() + Duration::from_secs(20);
        let now = SystemTime::now();
        let plan = rebroker(&allocator, held.clone(), params, deadline, now).unwrap();
        prop_assert!(plan.skipped.is_empty(), "{:?}", plan.skipped);
        prop_assert_eq!(plan.orders, held.len());
        prop_assert!(plan.replan.objective <= plan.replan.current_objective);
        prop_assert!(plan.replan.lower_bound <= plan.replan.objective);
        let per_move: i64 = plan.moves.iter().map(|m| m.saving() - move_penalty).sum();
        prop_assert_eq!(per_move, plan.saving());
        for m in &plan.moves {
            prop_assert!(!m.reasons.is_empty(), "{:?}", m);
        }
        let reholds: Vec<_> = plan.moves.iter().map(|m| m.rehold()).collect();
        let moved = allocator.book().replan(&reholds, now).unwrap();
        prop_assert_eq!(moved.len(), plan.moves.len());
        check_backed(&allocator);
        if plan.replan.lower_bound >= plan.replan.objective {
            // Proven: from the new holds nothing is left to gain.
            let held: Vec<HeldOrder> = held
                .into_iter()
                .map(|mut h| {
                    h.reservation = allocator.book().get(&h.reservation.id).unwrap();
                    h
                })
                .collect();
            let again = rebroker(&allocator, held, params, deadline, now).unwrap();
            prop_assert_eq!(again.saving(), 0);
            prop_assert!(again.moves.is_empty());
        }
    }
}

#[test]
fn nothing_held_is_an_empty_proven_re_plan() {
    let (allocator, _) = backlog(1, 0, 0);
    let params = RebrokerParams {
        move_penalty: 100,
        max_moves: None,
    };
    let plan = rebroker(
        &allocator,
        Vec::new(),
        params,
        Instant::now() + Duration::from_secs(1),
        SystemTime::now(),
    )
    .unwrap();
    assert_eq!(plan.orders, 0);
    assert!(plan.moves.is_empty() && plan.skipped.is_empty());
    assert_eq!(plan.saving(), 0);
    assert_eq!(plan.packages, (0, 0));
    assert!(plan.replan.lower_bound >= plan.replan.objective);
}
