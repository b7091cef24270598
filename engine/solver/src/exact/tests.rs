//! Exact solver tests: against a brute-force enumerator over node subsets
//! (no reduction, min-cost-flow assignment per subset) on seeded random
//! instances of many shapes.

use std::time::{Duration, Instant};

use allot_network::{NodeId, ServiceId, SkuId};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::assign::Assigner;
use super::reduce::Model;
use super::solve_exact;
use crate::problem::{Candidate, Plan, Problem, ProblemLine, check, objective};
use crate::solution::SolveStatus;

/// Knobs of the local instance generator.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Shape {
    pub(super) lines: usize,
    pub(super) nodes: usize,
    pub(super) ship_complete: bool,
    pub(super) max_nodes: Option<u32>,
    pub(super) no_backorder: bool,
    pub(super) tight_capacity: bool,
    pub(super) protected: bool,
}

pub(super) fn problem(seed: u64, s: Shape) -> Problem {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let lines: Vec<ProblemLine> = (0..s.lines)
        .map(|i| ProblemLine {
            sku: SkuId(i as u32),
            quantity: rng.random_range(1..=4),
            unit_weight_grams: rng.random_range(100..3000),
        })
        .collect();
    let candidates: Vec<Candidate> = (0..s.nodes)
        .map(|n| Candidate {
            node: NodeId(n as u32),
            service: ServiceId(0),
            zone: rng.random_range(1..=8),
            package_cost: rng.random_range(300..1500),
            handling_per_unit: rng.random_range(50..300),
            lateness_per_unit: rng.random_range(0..100),
            capacity: if s.tight_capacity {
                rng.random_range(0..6)
            } else {
                rng.random_range(20..500)
            },
        })
        .collect();
    let pairs = s.lines * s.nodes;
    let mut transport = vec![0; pairs];
    let mut free = vec![0; pairs];
    let mut prot = vec![0; pairs];
    for (l, line) in lines.iter().enumerate() {
        let q = line.quantity;
        for n in 0..s.nodes {
            let i = l * s.nodes + n;
            transport[i] = rng.random_range(50..900);
            if rng.random_bool(0.5) {
                let have = rng.random_range(0..=q + 1).min(q);
                free[i] = have;
                if s.protected && rng.random_bool(0.4) {
                    prot[i] = rng.random_range(0..=q);
                }
            }
        }
    }
    Problem {
        lines,
        candidates,
        transport_per_unit: transport,
        free_stock: free,
        protected_stock: prot,
        // Priced per pair, as the demand forecast prices them.
        protect_penalty: (0..pairs)
            .map(|_| {
                if s.protected {
                    rng.random_range(0..800)
                } else {
                    500
                }
            })
            .collect(),
        split_penalty: rng.random_range(0..600),
        backorder_penalty: rng.random_range(800..5000),
        allow_backorder: !(s.no_backorder || s.ship_complete),
        max_nodes: if s.ship_complete {
            Some(1)
        } else {
            s.max_nodes
        },
    }
}

/// The optimum by enumerating every node subset of size <= max_nodes.
fn brute_force(problem: &Problem) -> Option<i64> {
    let m = Model::build(problem, false);
    let mut a = Assigner::default();
    let n = m.n();
    let mut best = None::<i64>;
    let mut set = Vec::new();
    fn rec(
        m: &Model,
        a: &mut Assigner,
        start: usize,
        n: usize,
        set: &mut Vec<usize>,
        best: &mut Option<i64>,
    ) {
        if let Some(c) = a.solve(m, set) {
            *best = Some(best.map_or(c, |b| b.min(c)));
        }
        if set.len() == m.k {
            return;
        }
        for i in start..n {
            set.push(i);
            rec(m, a, i + 1, n, set, best);
            set.pop();
        }
    }
    rec(&m, &mut a, 0, n, &mut set, &mut best);
    best
}

fn far() -> Instant {
    Instant::now() + Duration::from_secs(30)
}

fn check_against_brute_force(seed: u64, shape: Shape) {
    let p = problem(seed, shape);
    let sol = solve_exact(&p, far(), None);
    let truth = brute_force(&p);
    match truth {
        None => assert_eq!(sol.status, SolveStatus::Infeasible, "seed {seed} {shape:?}"),
        Some(opt) => {
            assert_eq!(sol.status, SolveStatus::Optimal, "seed {seed} {shape:?}");
            let plan = sol.plan.as_ref().unwrap();
            check(&p, plan).unwrap_or_else(|v| panic!("seed {seed} {shape:?}: {v}"));
            assert_eq!(sol.objective, objective(&p, plan));
            assert_eq!(sol.objective.total(), opt, "seed {seed} {shape:?}");
            assert_eq!(sol.lower_bound, opt);
        }
    }
}

#[test]
fn exact_matches_brute_force_on_small_shapes() {
    let shapes = [
        Shape {
            lines: 1,
            nodes: 5,
            ..Shape::default()
        },
        Shape {
            lines: 3,
            nodes: 8,
            ..Shape::default()
        },
        Shape {
            lines: 3,
            nodes: 10,
            protected: true,
            ..Shape::default()
        },
        Shape {
            lines: 4,
            nodes: 9,
            tight_capacity: true,
            ..Shape::default()
        },
        Shape {
            lines: 4,
            nodes: 10,
            ship_complete: true,
            ..Shape::default()
        },
        Shape {
            lines: 4,
            nodes: 10,
            max_nodes: Some(2),
            no_backorder: true,
            ..Shape::default()
        },
        Shape {
            lines: 5,
            nodes: 10,
            no_backorder: true,
            protected: true,
            tight_capacity: true,
            ..Shape::default()
        },
        Shape {
            lines: 3,
            nodes: 10,
            max_nodes: Some(3),
            protected: true,
            ..Shape::default()
        },
    ];
    for (k, shape) in shapes.into_iter().enumerate() {
        for seed in 0..40 {
            check_against_brute_force(seed * 31 + k as u64, shape);
        }
    }
}

#[test]
fn exact_never_worse_than_start_and_deterministic() {
    for seed in 0..30 {
        let p = problem(
            seed,
            Shape {
                lines: 5,
                nodes: 40,
                protected: true,
                ..Shape::default()
            },
        );
        let start = Plan::all_backordered(&p);
        let a = solve_exact(&p, far(), Some(&start));
        let b = solve_exact(&p, far(), Some(&start));
        assert_eq!(a.plan, b.plan);
        assert!(a.objective.total() <= objective(&p, &start).total());
        check(&p, a.plan.as_ref().unwrap()).unwrap();
    }
}

#[test]
fn exact_time_limit_keeps_start() {
    let p = problem(
        3,
        Shape {
            lines: 8,
            nodes: 60,
            ..Shape::default()
        },
    );
    let start = Plan::all_backordered(&p);
    let sol = solve_exact(&p, Instant::now(), Some(&start));
    let plan = sol.plan.as_ref().unwrap();
    check(&p, plan).unwrap();
    assert!(sol.objective.total() <= objective(&p, &start).total());
    assert!(sol.lower_bound <= sol.objective.total());
}

#[test]
fn exact_matches_brute_force_on_generator_instances() {
    use crate::testgen::random_problem;
    for (lines, nodes) in [(1, 5), (3, 10), (4, 12)] {
        for seed in 0..40 {
            let p = random_problem(seed, lines, nodes);
            let sol = solve_exact(&p, far(), None);
            match brute_force(&p) {
                None => assert_eq!(
                    sol.status,
                    SolveStatus::Infeasible,
                    "seed {seed} {lines}x{nodes}"
                ),
                Some(opt) => {
                    assert_eq!(sol.objective.total(), opt, "seed {seed} {lines}x{nodes}");
                    check(&p, sol.plan.as_ref().unwrap()).unwrap();
                }
            }
        }
    }
}

/// `solve_below` gives up only on sets none of whose plans shipping from
/// every node beats the limit; otherwise it agrees with `solve`.
#[test]
fn assignment_gives_up_only_above_the_limit() {
    let mut gave_up = 0;
    for seed in 0..60 {
        let p = problem(
            seed,
            Shape {
                lines: 4,
                nodes: 6,
                tight_capacity: true,
                protected: true,
                no_backorder: seed % 2 == 0,
                ..Shape::default()
            },
        );
        let m = Model::build(&p, false);
        let mut a = Assigner::default();
        for mask in 1u32..(1 << m.n()) {
            let set: Vec<usize> = (0..m.n()).filter(|&n| mask & (1 << n) != 0).collect();
            let full = a.solve(&m, &set);
            let every_node_ships = (0..set.len()).all(|pos| {
                (0..m.l).any(|line| a.ship1[pos * m.l + line] + a.ship2[pos * m.l + line] > 0)
            });
            for limit in full.map_or(vec![1_000], |c| vec![c - 50, c, c + 1, c + 500]) {
                match a.solve_below(&m, &set, limit) {
                    Some(c) => assert_eq!(Some(c), full, "seed {seed} set {set:?}"),
                    None => {
                        if let Some(c) = full {
                            gave_up += 1;
                            assert!(
                                c >= limit || !every_node_ships,
                                "seed {seed} set {set:?} limit {limit}: {c}"
                            );
                        }
                    }
                }
            }
        }
    }
    assert!(gave_up > 0);
}
