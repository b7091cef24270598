//! Backlog fixtures: held orders on the demo network, decided one by one as
//! they arrived, then re-planned after stock arrived and capacity freed up.
//!
//! Each order is a demo problem (`alloc::DemoWorld::problem`, 1 to 5 lines,
//! every eligible node). When the orders arrived, each (SKU, node) pool held
//! `arrival_share` of today's units (rounded down), except the share
//! `restocked` of the pools, empty then and stocked since, and each node's
//! capacity was `arrival_share` of today's; the orders were planned one at a time,
//! each exactly, against what the earlier ones left (an order that found no
//! plan is not in the backlog). Today the pools hold `stock_share` of the
//! demo stock (rounded) and each
//! node a random share in `capacity_share` of its daily capacity, the
//! backlog's own holds included.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use allot_engine::allocation::backlog::{Backlog, BacklogOrder, PerOrder, StockPool, sequential};
use allot_engine::allocation::problem::Plan;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::alloc::DemoWorld;

/// Penalty per changed order plan, cents.
pub const MOVE_PENALTY: i64 = 50;

/// A backlog of at most `orders` held orders (see the module documentation).
pub fn demo_backlog(
    world: &DemoWorld,
    seed: u64,
    orders: usize,
    arrival_share: f64,
    restocked: f64,
    capacity_share: (f64, f64),
    stock_share: f64,
) -> Backlog {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xbac_1065);
    let stock: BTreeMap<_, _> = world
        .pools()
        .map(|(sku, node, free, protected)| {
            let today = |x: u32| (f64::from(x) * stock_share).round() as u32;
            let pool = StockPool {
                free: today(free),
                protected: today(protected),
            };
            ((sku, node), pool)
        })
        .collect();
    let capacity: BTreeMap<_, _> = world
        .network
        .node_ids()
        .map(|id| {
            let daily = f64::from(world.network.node(id).daily_capacity_units);
            (
                id,
                (daily * rng.random_range(capacity_share.0..capacity_share.1)) as u32,
            )
        })
        .collect();
    let scaled = |x: u32| (f64::from(x) * arrival_share) as u32;
    let mut arrival = Backlog {
        orders: (0..orders)
            .map(|o| {
                let problem =
                    world.problem(seed * 100_000 + o as u64, rng.random_range(1..=5), 100);
                let current = Plan::all_backordered(&problem);
                BacklogOrder { problem, current }
            })
            .collect(),
        stock: stock
            .iter()
            .map(|(k, p)| {
                let pool = if rng.random_bool(restocked) {
                    StockPool::default()
                } else {
                    StockPool {
                        free: scaled(p.free),
                        protected: scaled(p.protected),
                    }
                };
                (*k, pool)
            })
            .collect(),
        capacity: capacity.iter().map(|(k, c)| (*k, scaled(*c))).collect(),
        move_penalty: MOVE_PENALTY,
        max_moves: None,
    };
    let far = Instant::now() + Duration::from_secs(600);
    let plans = sequential(&arrival, PerOrder::Exact, far);
    let held: Vec<BacklogOrder> = arrival
        .orders
        .drain(..)
        .zip(plans)
        .filter_map(|(mut order, plan)| {
            order.current = plan?;
            Some(order)
        })
        .collect();
    Backlog {
        orders: held,
        stock: stock.into_iter().collect(),
        capacity: capacity.into_iter().collect(),
        move_penalty: MOVE_PENALTY,
        max_moves: None,
    }
}
