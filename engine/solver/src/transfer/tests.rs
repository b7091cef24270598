//! The transfer MILP against an independent formulation in HiGHS (an
//! epigraph of each position's shortfall cost, no reductions), and a few
//! plans worked out by hand.

use std::time::{Duration, Instant};

use highs::{HighsModelStatus, RowProblem, Sense};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;

fn far() -> Instant {
    Instant::now() + Duration::from_secs(60)
}

/// The optimum by HiGHS on another formulation: integer units on every
/// lane for every item both ends hold, integer dispatches, and per position
/// a continuous `e` above every piece of its shortfall cost (convex and
/// piecewise linear in the units held), with the units held written out.
fn reference_optimum(problem: &TransferProblem) -> f64 {
    let mut m = RowProblem::default();
    let mut dispatch = Vec::new();
    for lane in &problem.lanes {
        dispatch.push(m.add_integer_column(lane.fixed_cost as f64, 0.0..=1e4));
    }
    let mut carried: Vec<Vec<(highs::Col, f64)>> = vec![Vec::new(); problem.lanes.len()];
    let mut net: Vec<Vec<(highs::Col, f64)>> = vec![Vec::new(); problem.nodes];
    for item in &problem.items {
        // Per position: +arrivals and -departures.
        let mut change: Vec<Vec<(highs::Col, f64)>> = vec![Vec::new(); item.positions.len()];
        let mut out: Vec<Vec<(highs::Col, f64)>> = vec![Vec::new(); item.positions.len()];
        for (l, lane) in problem.lanes.iter().enumerate() {
            let src = item.positions.iter().position(|p| p.node == lane.from);
            let dst = item.positions.iter().position(|p| p.node == lane.to);
            let (Some(src), Some(dst)) = (src, dst) else {
                continue;
            };
            let x = m.add_integer_column(lane.unit_cost as f64, 0.0..);
            carried[l].push((x, 1.0));
            change[dst].push((x, 1.0));
            change[src].push((x, -1.0));
            out[src].push((x, 1.0));
            net[lane.to].push((x, 1.0));
            net[lane.from].push((x, -1.0));
        }
        for (p, pos) in item.positions.iter().enumerate() {
            if !out[p].is_empty() {
                m.add_row(..=f64::from(pos.movable), out[p].clone());
            }
            // q = stock + change, as a column.
            let q = m.add_column(0.0, 0.0..);
            let mut def = change[p].clone();
            def.push((q, -1.0));
            m.add_row(-f64::from(pos.stock)..=-f64::from(pos.stock), def);
            let e = m.add_column(1.0, 0.0..);
            for k in 0..=pos.value.len() {
                // e >= S(k) + slope (q - k), slope = -value[k] (0 past the end)
                let s_k = pos.shortfall_cost(k as u32);
                let slope = -pos.value.get(k).copied().unwrap_or(0.0);
                m.add_row(s_k - slope * k as f64.., [(e, 1.0), (q, -slope)]);
            }
        }
    }
    for (l, mut row) in carried.into_iter().enumerate() {
        row.push((dispatch[l], -f64::from(problem.lanes[l].capacity)));
        m.add_row(..=0.0, row);
    }
    for (n, row) in net.into_iter().enumerate() {
        if let Some(room) = problem.room[n] {
            m.add_row(..=f64::from(room), row);
        }
    }
    let mut model = m.optimise(Sense::Minimise);
    model.set_option("threads", 1);
    model.set_option("output_flag", false);
    model.set_option("mip_rel_gap", 1e-9);
    model.set_option("mip_abs_gap", 1e-9);
    let solved = model.solve();
    assert_eq!(solved.status(), HighsModelStatus::Optimal);
    solved.objective_value()
}

/// A random problem: 2 to 5 nodes, 1 to 4 items, random lanes, stock,
/// movable units, storage room and non-increasing unit values.
fn random_problem(seed: u64) -> TransferProblem {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let nodes = rng.random_range(2..=5usize);
    let mut lanes = Vec::new();
    for from in 0..nodes {
        for to in 0..nodes {
            if from != to && rng.random_bool(0.6) {
                lanes.push(TransferLane {
                    from,
                    to,
                    unit_cost: rng.random_range(0..=60),
                    fixed_cost: rng.random_range(0..=400),
                    capacity: rng.random_range(1..=12),
                });
            }
        }
    }
    let items = (0..rng.random_range(1..=4))
        .map(|_| {
            let unit = rng.random_range(50..=600) as f64;
            let mut positions = Vec::new();
            for node in 0..nodes {
                if !rng.random_bool(0.8) {
                    continue;
                }
                let stock = rng.random_range(0..=14u32);
                let mut value: Vec<f64> = (0..rng.random_range(0..=12))
                    .map(|_| unit * rng.random::<f64>())
                    .collect();
                value.sort_by(|a, b| b.total_cmp(a));
                positions.push(Position {
                    node,
                    stock,
                    movable: rng.random_range(0..=stock),
                    value,
                });
            }
            Item { positions }
        })
        .collect();
    let room = (0..nodes)
        .map(|_| rng.random_bool(0.3).then(|| rng.random_range(0..=8)))
        .collect();
    TransferProblem {
        nodes,
        room,
        lanes,
        items,
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-5 * a.abs().max(b.abs()).max(1.0)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn agrees_with_the_epigraph_formulation(seed in any::<u64>()) {
        let problem = random_problem(seed);
        let solution = solve_transfers(&problem, far()).unwrap();
        prop_assert!(solution.proven);
        prop_assert_eq!(check(&problem, &solution.plan), Ok(()));
        let evaluated = cost(&problem, &solution.plan).total();
        prop_assert!(close(evaluated, solution.objective), "{} vs {}", evaluated, solution.objective);
        prop_assert!(solution.objective <= solution.baseline + 1e-9);
        let reference = reference_optimum(&problem);
        prop_assert!(
            close(solution.objective, reference),
            "MILP {} vs reference {} on {:?}", solution.objective, reference, problem
        );
    }
}

/// Node 0 holds 10 spare units; node 1 none, its first units worth 500,
/// 400, 300 and 10.
fn two_nodes(capacity: u32, room: Option<u32>) -> TransferProblem {
    TransferProblem {
        nodes: 2,
        room: vec![None, room],
        lanes: vec![TransferLane {
            from: 0,
            to: 1,
            unit_cost: 20,
            fixed_cost: 100,
            capacity,
        }],
        items: vec![Item {
            positions: vec![
                Position {
                    node: 0,
                    stock: 10,
                    movable: 10,
                    value: Vec::new(),
                },
                Position {
                    node: 1,
                    stock: 0,
                    movable: 0,
                    value: vec![500.0, 400.0, 300.0, 10.0],
                },
            ],
        }],
    }
}

#[test]
fn moves_the_units_worth_more_than_they_cost() {
    let s = solve_transfers(&two_nodes(10, None), far()).unwrap();
    assert_eq!(
        s.plan.flows,
        vec![Flow {
            lane: 0,
            item: 0,
            units: 3
        }]
    );
    assert_eq!(s.plan.dispatches, vec![1]);
    assert!(close(s.objective, 100.0 + 60.0 + 10.0));
    assert!(close(s.baseline, 1210.0));
}

#[test]
fn pays_for_a_second_dispatch_when_one_is_too_small() {
    let s = solve_transfers(&two_nodes(2, None), far()).unwrap();
    assert_eq!(s.plan.flows[0].units, 3);
    assert_eq!(s.plan.dispatches, vec![2]);
}

#[test]
fn storage_room_limits_arrivals() {
    let s = solve_transfers(&two_nodes(10, Some(1)), far()).unwrap();
    assert_eq!(s.plan.flows[0].units, 1);
    let none = solve_transfers(&two_nodes(10, Some(0)), far()).unwrap();
    assert!(none.plan.flows.is_empty());
    assert!(close(none.objective, none.baseline));
}

#[test]
fn a_unit_needed_at_home_stays() {
    // Node 0's own units are worth more there than at node 1.
    let mut p = two_nodes(10, None);
    p.items[0].positions[0].value = vec![900.0; 10];
    let s = solve_transfers(&p, far()).unwrap();
    assert!(s.plan.flows.is_empty());
}

#[test]
fn random_problems_often_move_stock() {
    // The agreement above means little if the plans are mostly empty.
    let moving = (0..200)
        .filter(|&seed| {
            let problem = random_problem(seed);
            !solve_transfers(&problem, far())
                .unwrap()
                .plan
                .flows
                .is_empty()
        })
        .count();
    assert!(moving >= 50, "{moving} of 200 random plans move stock");
}
