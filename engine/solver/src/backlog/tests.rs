//! Backlog re-optimisation against an independent joint MILP in HiGHS
//! (integer units, one change indicator per order), and its invariants.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use allot_network::{NodeId, ServiceId, SkuId};
use highs::{HighsModelStatus, RowProblem, Sense};
use proptest::prelude::*;

use super::*;
use crate::problem::{Candidate, ProblemLine};
use crate::testgen::random_backlog;

fn far() -> Instant {
    Instant::now() + Duration::from_secs(60)
}

/// The joint optimum by HiGHS on its own formulation of the backlog:
/// integer free / protected / backordered units per order, binary node use
/// and change indicators, the pools as rows.
fn reference_optimum(backlog: &Backlog) -> i64 {
    let mut m = RowProblem::default();
    let mut free_rows: HashMap<(SkuId, NodeId), Vec<(highs::Col, f64)>> = HashMap::new();
    let mut prot_rows: HashMap<(SkuId, NodeId), Vec<(highs::Col, f64)>> = HashMap::new();
    let mut cap_rows: HashMap<NodeId, Vec<(highs::Col, f64)>> = HashMap::new();
    let mut changes = Vec::new();
    for order in &backlog.orders {
        let p = &order.problem;
        let changed = m.add_integer_column(backlog.move_penalty as f64, 0..=1);
        changes.push((changed, 1.0));
        let used: Vec<_> = p
            .candidates
            .iter()
            .map(|c| m.add_integer_column(c.package_cost as f64, 0..=1))
            .collect();
        let split = m.add_column(p.split_penalty as f64, 0.0..);
        let mut split_row = vec![(split, 1.0)];
        split_row.extend(used.iter().map(|&y| (y, -1.0)));
        m.add_row(-1.0.., split_row);
        if let Some(k) = p.max_nodes {
            m.add_row(..=f64::from(k), used.iter().map(|&y| (y, 1.0)));
        }
        // A variable differing from the current plan forces `changed`.
        let tie = |m: &mut RowProblem, x: highs::Col, now: u32, big: f64| {
            m.add_row(..=f64::from(now), [(x, 1.0), (changed, -big)]);
            m.add_row(..=-f64::from(now), [(x, -1.0), (changed, -big)]);
        };
        for (l, line) in p.lines.iter().enumerate() {
            let q = f64::from(line.quantity);
            let max_b = if p.allow_backorder { q } else { 0.0 };
            let b = m.add_integer_column(p.backorder_penalty as f64, 0.0..=max_b);
            tie(&mut m, b, order.current.backordered[l], q);
            let mut demand = vec![(b, 1.0)];
            for (n, c) in p.candidates.iter().enumerate() {
                let i = p.at(l, n);
                let pool = backlog.stock.get(&(line.sku, c.node));
                let allowed = p.free_stock[i] + p.protected_stock[i] > 0 && pool.is_some();
                let unit = p.unit_cost(l, n) as f64;
                let (fmax, pmax) = match (allowed, pool) {
                    (true, Some(pool)) => (f64::from(pool.free), f64::from(pool.protected)),
                    _ => (0.0, 0.0),
                };
                let xf = m.add_integer_column(unit, 0.0..=fmax.min(q));
                let xp =
                    m.add_integer_column(unit + p.protect_penalty[i] as f64, 0.0..=pmax.min(q));
                tie(&mut m, xf, order.current.free[i], q);
                tie(&mut m, xp, order.current.protected[i], q);
                demand.extend([(xf, 1.0), (xp, 1.0)]);
                m.add_row(..=0.0, [(xf, 1.0), (xp, 1.0), (used[n], -q)]);
                free_rows
                    .entry((line.sku, c.node))
                    .or_default()
                    .push((xf, 1.0));
                prot_rows
                    .entry((line.sku, c.node))
                    .or_default()
                    .push((xp, 1.0));
                cap_rows
                    .entry(c.node)
                    .or_default()
                    .extend([(xf, 1.0), (xp, 1.0)]);
            }
            m.add_row(q..=q, demand);
        }
    }
    for (key, row) in free_rows {
        let pool = backlog.stock.get(&key).map_or(0, |p| p.free);
        m.add_row(..=f64::from(pool), row);
    }
    for (key, row) in prot_rows {
        let pool = backlog.stock.get(&key).map_or(0, |p| p.protected);
        m.add_row(..=f64::from(pool), row);
    }
    for (node, row) in cap_rows {
        let cap = backlog.capacity.get(&node).copied().unwrap_or(0);
        m.add_row(..=f64::from(cap), row);
    }
    if let Some(k) = backlog.max_moves {
        m.add_row(..=f64::from(k), changes);
    }
    let mut model = m.optimise(Sense::Minimise);
    model.set_option("output_flag", false);
    model.set_option("threads", 1);
    model.set_option("mip_rel_gap", 0.0);
    model.set_option("mip_abs_gap", 0.5);
    let solved = model.solve();
    assert_eq!(solved.status(), HighsModelStatus::Optimal);
    solved.objective_value().round() as i64
}

/// The answer's own invariants: a joint plan, its objective recomputed,
/// never worse than the current plans, the move limit kept.
fn invariants(backlog: &Backlog, r: &Replan) {
    check_joint(backlog, &r.plans).unwrap();
    let mut total = 0;
    for (o, order) in backlog.orders.iter().enumerate() {
        let cost = objective(&order.problem, &r.plans[o]).total();
        assert_eq!(r.costs[o], cost);
        assert_eq!(r.moved[o], r.plans[o] != order.current);
        total += cost + if r.moved[o] { backlog.move_penalty } else { 0 };
    }
    assert_eq!(r.objective, total);
    assert!(r.objective <= r.current_objective);
    assert!(r.lower_bound <= r.objective);
    if let Some(k) = backlog.max_moves {
        assert!(r.moves() <= k as usize);
    }
}

fn one_sku_order(package: [i64; 2], current_node: usize) -> BacklogOrder {
    let problem = Problem {
        lines: vec![ProblemLine {
            sku: SkuId(0),
            quantity: 1,
            unit_weight_grams: 500,
        }],
        candidates: (0..2)
            .map(|n| Candidate {
                node: NodeId(n as u32),
                service: ServiceId(0),
                zone: 2,
                package_cost: package[n],
                handling_per_unit: 0,
                lateness_per_unit: 0,
                capacity: 1,
            })
            .collect(),
        transport_per_unit: vec![0, 0],
        free_stock: vec![1, 1],
        protected_stock: vec![0, 0],
        protect_penalty: vec![600; 2],
        split_penalty: 250,
        backorder_penalty: 4_000,
        allow_backorder: false,
        max_nodes: None,
    };
    let mut current = Plan::all_backordered(&problem);
    current.backordered[0] = 0;
    current.free[current_node] = 1;
    BacklogOrder { problem, current }
}

/// Two orders, one unit each; node 0 has one unit. The first order took
/// it although it saves little there; the second saves much more from it.
fn contested(move_penalty: i64) -> Backlog {
    Backlog {
        orders: vec![one_sku_order([500, 520], 0), one_sku_order([500, 900], 1)],
        stock: HashMap::from([
            (
                (SkuId(0), NodeId(0)),
                StockPool {
                    free: 1,
                    protected: 0,
                },
            ),
            (
                (SkuId(0), NodeId(1)),
                StockPool {
                    free: 1,
                    protected: 0,
                },
            ),
        ]),
        capacity: HashMap::from([(NodeId(0), 5), (NodeId(1), 5)]),
        move_penalty,
        max_moves: None,
    }
}

#[test]
fn contested_stock_goes_to_the_order_that_saves_most() {
    let backlog = contested(10);
    let r = reoptimize(&backlog, far()).unwrap();
    invariants(&backlog, &r);
    assert_eq!(r.current_objective, 500 + 900);
    // Swap: 520 + 500 plus two moves.
    assert_eq!(r.objective, 520 + 500 + 2 * 10);
    assert_eq!(r.moved, vec![true, true]);
    assert_eq!(r.status, SolveStatus::Optimal);
    assert_eq!(reference_optimum(&backlog), r.objective);
}

#[test]
fn a_move_penalty_above_the_saving_keeps_the_plans() {
    let backlog = contested(200);
    let r = reoptimize(&backlog, far()).unwrap();
    invariants(&backlog, &r);
    assert_eq!(r.moves(), 0);
    assert_eq!(r.objective, r.current_objective);
    assert_eq!(r.status, SolveStatus::Optimal);
}

#[test]
fn a_move_limit_below_the_swap_keeps_the_plans() {
    let mut backlog = contested(10);
    backlog.max_moves = Some(1);
    let r = reoptimize(&backlog, far()).unwrap();
    invariants(&backlog, &r);
    // The saving needs both orders to move; one move alone saves nothing.
    assert_eq!(r.moves(), 0);
    assert_eq!(r.status, SolveStatus::Optimal);
    assert_eq!(reference_optimum(&backlog), r.objective);
}

#[test]
fn an_empty_backlog_is_its_own_optimum() {
    let mut backlog = contested(0);
    backlog.orders.clear();
    let r = reoptimize(&backlog, far()).unwrap();
    assert_eq!(
        (r.objective, r.lower_bound, r.status),
        (0, 0, SolveStatus::Optimal)
    );
}

#[test]
fn current_plans_that_overdraw_a_pool_are_refused() {
    let mut backlog = contested(0);
    backlog.orders[1].current = backlog.orders[0].current.clone();
    let err = reoptimize(&backlog, far()).unwrap_err();
    assert!(
        matches!(
            err,
            BacklogError::CurrentJoint(JointViolation::Stock { .. })
        ),
        "{err}"
    );
    // It names the pool and says what to do.
    let message = err.to_string();
    assert!(
        message.contains("units planned, the pool holds"),
        "{message}"
    );
    assert!(message.contains("resync the stock feed"), "{message}");
    backlog.move_penalty = -1;
    assert_eq!(
        reoptimize(&backlog, far()).unwrap_err(),
        BacklogError::MovePenalty(-1)
    );
}

#[test]
fn random_backlogs_meet_the_reference_optimum() {
    let (mut proven, mut total) = (0, 0);
    for seed in 0..60 {
        let backlog = random_backlog(seed, 2 + (seed % 3) as usize, 1 + (seed % 2) as usize, 3);
        // The decomposition alone: a valid bound, a plan never below the optimum.
        let r = reoptimize_within(&backlog, far(), 0).unwrap();
        invariants(&backlog, &r);
        let best = reference_optimum(&backlog);
        assert!(
            r.lower_bound <= best,
            "seed {seed}: bound {} above the optimum {best}",
            r.lower_bound
        );
        assert!(
            r.objective >= best,
            "seed {seed}: {} below the optimum {best}",
            r.objective
        );
        if r.status == SolveStatus::Optimal {
            assert_eq!(r.objective, best, "seed {seed}");
        }
        proven += usize::from(r.status == SolveStatus::Optimal);
        total += 1;
        assert_eq!(
            reoptimize_within(&backlog, far(), 0).unwrap().plans,
            r.plans,
            "seed {seed}: same input, same plans"
        );
        // With the joint MILP behind it: the optimum, proven.
        let r = reoptimize(&backlog, far()).unwrap();
        invariants(&backlog, &r);
        assert_eq!(r.status, SolveStatus::Optimal, "seed {seed}");
        assert_eq!(r.objective, best, "seed {seed}");
    }
    eprintln!("backlog: the decomposition alone proved {proven} of {total}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn joint_plans_are_feasible_bounded_and_never_worse(seed in 0u64..10_000, orders in 2usize..6, lines in 1usize..4, nodes in 2usize..5) {
        let backlog = random_backlog(seed, orders, lines, nodes);
        let best = reference_optimum(&backlog);
        let alone = reoptimize_within(&backlog, far(), 0).unwrap();
        invariants(&backlog, &alone);
        prop_assert!(alone.lower_bound <= best);
        prop_assert!(alone.objective >= best);
        if alone.status == SolveStatus::Optimal {
            prop_assert_eq!(alone.objective, best);
        }
        let r = reoptimize(&backlog, far()).unwrap();
        invariants(&backlog, &r);
        prop_assert_eq!(r.status, SolveStatus::Optimal);
        prop_assert_eq!(r.objective, best);
    }
}
