//! Seeded random allocation problems: the instance generator of the
//! solver's and the engine's tests and of the benchmarks (not used when
//! serving).
//!
//! Adversarial on purpose: stock levels are mixed (many zero, some short of
//! the quantity), protected stock is common, capacities are sometimes tight,
//! unit costs vary enough that splitting sometimes beats one package, and
//! some problems forbid backorders or limit the number of nodes.

use allot_network::{NodeId, ServiceId, SkuId};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use std::collections::HashMap;

use super::backlog::{Backlog, BacklogOrder, PerOrder, StockPool, sequential};
use super::problem::{Candidate, Plan, Problem, ProblemLine};

/// A random problem with `lines` lines and `nodes` candidates, the same for
/// the same arguments.
pub fn random_problem(seed: u64, lines: usize, nodes: usize) -> Problem {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xa110_c8ed);
    let lines: Vec<ProblemLine> = (0..lines)
        .map(|l| ProblemLine {
            sku: SkuId(l as u32),
            quantity: if rng.random_bool(0.2) {
                rng.random_range(5..=12)
            } else {
                rng.random_range(1..=4)
            },
            unit_weight_grams: rng.random_range(100..=8_000),
        })
        .collect();
    let total_units: u32 = lines.iter().map(|l| l.quantity).sum();
    let tight = rng.random_bool(0.3);
    let candidates: Vec<Candidate> = (0..nodes)
        .map(|n| {
            let zone = rng.random_range(2..=8u8);
            Candidate {
                node: NodeId(n as u32),
                service: ServiceId(0),
                zone,
                package_cost: rng.random_range(350..=1_400) + 60 * i64::from(zone),
                handling_per_unit: rng.random_range(20..=180),
                lateness_per_unit: if rng.random_bool(0.5) {
                    0
                } else {
                    rng.random_range(0..=500)
                },
                capacity: if tight && rng.random_bool(0.5) {
                    rng.random_range(1..=total_units.div_ceil(2).max(1))
                } else {
                    rng.random_range(total_units..=total_units * 20)
                },
            }
        })
        .collect();
    let per_kg: Vec<i64> = candidates
        .iter()
        .map(|c| rng.random_range(40..=120) * i64::from(c.zone))
        .collect();
    let mut transport = Vec::with_capacity(lines.len() * nodes);
    let mut free = Vec::with_capacity(lines.len() * nodes);
    let mut protected = Vec::with_capacity(lines.len() * nodes);
    let stock_rate = rng.random_range(0.25..=0.8);
    for line in &lines {
        for rate in &per_kg {
            transport.push((rate * i64::from(line.unit_weight_grams) + 500).div_euclid(1000));
            let (available, prot) = if rng.random_bool(stock_rate) {
                let available = match rng.random_range(0..4) {
                    0 => rng.random_range(1..=line.quantity),
                    _ => rng.random_range(line.quantity..=line.quantity * 10),
                };
                let prot = if rng.random_bool(0.3) {
                    rng.random_range(0..=available)
                } else {
                    0
                };
                (available, prot)
            } else {
                (0, 0)
            };
            let f = line.quantity.min(available - prot);
            free.push(f);
            protected.push((line.quantity - f).min(prot));
        }
    }
    let max_nodes = match rng.random_range(0..10) {
        0 => Some(1),
        1 => Some(2),
        2 => Some(3),
        _ => None,
    };
    let pairs = lines.len() * nodes;
    Problem {
        lines,
        candidates,
        transport_per_unit: transport,
        free_stock: free,
        protected_stock: protected,
        protect_penalty: vec![600; pairs],
        split_penalty: [0, 250, 250, 1_000][rng.random_range(0..4)],
        backorder_penalty: 4_000,
        allow_backorder: !rng.random_bool(0.15),
        max_nodes,
    }
}

/// A random backlog of `orders` orders of `lines` lines over `nodes` nodes
/// (SKU `l` and node `n` are shared by every order), the same for the same
/// arguments. The current plans are the orders planned one by one, each
/// exactly, as they arrived; then stock arrives and capacity frees up
/// (the pools grow), so re-planning them jointly can save.
pub fn random_backlog(seed: u64, orders: usize, lines: usize, nodes: usize) -> Backlog {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xbac0_1065);
    let mut stock = HashMap::new();
    for l in 0..lines {
        for n in 0..nodes {
            if rng.random_bool(0.6) {
                stock.insert(
                    (SkuId(l as u32), NodeId(n as u32)),
                    StockPool {
                        free: rng.random_range(0..=(orders as u32 * 2)),
                        protected: if rng.random_bool(0.3) {
                            rng.random_range(0..=3)
                        } else {
                            0
                        },
                    },
                );
            }
        }
    }
    let capacity = (0..nodes)
        .map(|n| {
            (
                NodeId(n as u32),
                rng.random_range(orders as u32..=(orders as u32 * 6)),
            )
        })
        .collect();
    let orders: Vec<BacklogOrder> = (0..orders)
        .map(|o| {
            let mut problem = random_problem(
                seed.wrapping_mul(1_000).wrapping_add(o as u64),
                lines,
                nodes,
            );
            problem.allow_backorder = true;
            problem.max_nodes = problem.max_nodes.filter(|_| rng.random_bool(0.5));
            for (i, (f, p)) in problem
                .free_stock
                .iter_mut()
                .zip(problem.protected_stock.iter_mut())
                .enumerate()
            {
                // The pair may ship (the pools decide how many) unless a rule
                // restricts it.
                let allowed = !rng.random_bool(0.1);
                let (l, n) = (i / nodes, i % nodes);
                let held = stock.contains_key(&(SkuId(l as u32), NodeId(n as u32)));
                (*f, *p) = if allowed && held { (1, 0) } else { (0, 0) };
            }
            let current = Plan::all_backordered(&problem);
            BacklogOrder { problem, current }
        })
        .collect();
    let mut backlog = Backlog {
        orders,
        stock,
        capacity,
        move_penalty: [0, 50, 200][rng.random_range(0..3)],
        max_moves: rng.random_bool(0.3).then(|| rng.random_range(1..=3)),
    };
    let far = std::time::Instant::now() + std::time::Duration::from_secs(5);
    for (o, plan) in sequential(&backlog, PerOrder::Exact, far)
        .into_iter()
        .enumerate()
    {
        if let Some(plan) = plan {
            backlog.orders[o].current = plan;
        }
    }
    // Stock arrives, capacity frees up (in key order: the same backlog for
    // the same arguments).
    let mut keys: Vec<_> = backlog.stock.keys().copied().collect();
    keys.sort();
    for key in keys {
        if rng.random_bool(0.4)
            && let Some(pool) = backlog.stock.get_mut(&key)
        {
            pool.free += rng.random_range(1..=3);
        }
    }
    for n in 0..nodes {
        if let Some(cap) = backlog.capacity.get_mut(&NodeId(n as u32)) {
            *cap += rng.random_range(0..=2);
        }
    }
    backlog
}
