//! The transfer MILP against an independent formulation in HiGHS (an
//! epigraph of each position's shortfall cost, no reductions), and a few
//! plans worked out by hand.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::reference::reference_optimum;
use super::*;

fn far() -> Instant {
    Instant::now() + Duration::from_secs(60)
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
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// Whether `found` is within the MILP's stopping gap of `optimum`.
fn within_gap(found: f64, optimum: f64) -> bool {
    found >= optimum - 1e-6 * optimum.abs().max(1.0)
        && found - optimum <= milp::TRANSFER_REL_GAP * optimum.abs().max(1.0)
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
        let reference = reference_optimum(&problem, far()).unwrap();
        prop_assert!(
            within_gap(solution.objective, reference),
            "MILP {} vs reference {} on {:?}", solution.objective, reference, problem
        );
    }
}

#[test]
fn a_problem_with_nothing_to_decide_costs_nothing_in_both_formulations() {
    // No lane and no node holding the item: HiGHS calls the reference
    // model empty (a random instance found it).
    let problem = TransferProblem {
        nodes: 2,
        room: vec![None, None],
        lanes: Vec::new(),
        items: vec![Item {
            positions: Vec::new(),
        }],
    };
    let solution = solve_transfers(&problem, far()).unwrap();
    assert!(solution.proven);
    assert!(close(solution.objective, 0.0));
    assert_eq!(reference_optimum(&problem, far()).unwrap(), 0.0);
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

#[test]
fn greedy_plans_are_feasible_and_never_worse_than_moving_nothing() {
    let mut improved = 0;
    for seed in 0..300 {
        let problem = random_problem(seed);
        let allowed: Vec<(usize, usize)> = (0..problem.lanes.len())
            .flat_map(|l| (0..problem.items.len()).map(move |i| (l, i)))
            .collect();
        let plan = greedy::greedy(&problem, &allowed);
        assert_eq!(check(&problem, &plan), Ok(()), "seed {seed}");
        let none = cost(&problem, &TransferPlan::none(&problem)).total();
        let found = cost(&problem, &plan).total();
        assert!(found <= none + 1e-9, "seed {seed}: {found} > {none}");
        improved += usize::from(found < none);
    }
    assert!(improved >= 50, "{improved} of 300 greedy plans move stock");
}
