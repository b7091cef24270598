//! Cross-checks of the exact solver against HiGHS on the strong formulation
//! (generous deadline), on the adversarial generator's instances and on the
//! local generator's targeted shapes, plus property tests of the solver's
//! invariants.

use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::solve_exact;
use crate::greedy::greedy;
use crate::milp::solve_highs;
use crate::problem::{Problem, check, objective};
use crate::solution::SolveStatus;
use crate::testgen::random_problem;

fn far() -> Instant {
    Instant::now() + Duration::from_secs(60)
}

/// Exact and HiGHS agree on the optimum (or both say infeasible).
fn agree(p: &Problem, what: &str) {
    let start = greedy(p);
    let exact = solve_exact(p, far(), start.as_ref());
    let highs = solve_highs(p, far(), start.as_ref())
        .unwrap_or_else(|e| panic!("{what}: highs failed: {e}"));
    match highs.status {
        SolveStatus::Infeasible => {
            assert_eq!(exact.status, SolveStatus::Infeasible, "{what}");
        }
        SolveStatus::Optimal => {
            assert_eq!(exact.status, SolveStatus::Optimal, "{what}");
            let plan = exact.plan.as_ref().unwrap();
            check(p, plan).unwrap_or_else(|v| panic!("{what}: {v}"));
            assert_eq!(exact.objective, objective(p, plan), "{what}");
            // HiGHS proves within its relative gap; the exact solver is
            // exact, so it is never worse and at most that gap better.
            let (e, h) = (exact.objective.total(), highs.objective.total());
            assert!(e <= h, "{what}: exact {e} > highs {h}");
            assert!(
                (h - e) as f64 <= 1e-4 * h.abs().max(1) as f64 + 1e-9,
                "{what}: exact {e} highs {h}"
            );
        }
        SolveStatus::TimeLimit => panic!("{what}: HiGHS hit the time limit"),
        SolveStatus::Skipped => panic!("{what}: HiGHS never skips"),
    }
}

#[test]
fn exact_agrees_with_highs_on_random_instances() {
    let shapes = [
        (1, 5, 40),
        (3, 10, 40),
        (5, 20, 30),
        (5, 50, 25),
        (8, 30, 10),
    ];
    for (lines, nodes, count) in shapes {
        for seed in 0..count {
            let p = random_problem(seed, lines, nodes);
            agree(&p, &format!("testgen seed {seed} {lines}x{nodes}"));
        }
    }
}

#[test]
fn exact_agrees_with_highs_on_targeted_shapes() {
    use super::tests::{Shape, problem};
    let base = Shape {
        lines: 5,
        nodes: 50,
        ..Shape::default()
    };
    let shapes = [
        Shape {
            ship_complete: true,
            ..base
        },
        Shape {
            max_nodes: Some(2),
            ..base
        },
        Shape {
            no_backorder: true,
            ..base
        },
        Shape {
            tight_capacity: true,
            ..base
        },
        Shape {
            protected: true,
            ..base
        },
        Shape {
            tight_capacity: true,
            protected: true,
            max_nodes: Some(3),
            ..base
        },
    ];
    for (k, shape) in shapes.into_iter().enumerate() {
        for seed in 0..8 {
            agree(
                &problem(seed * 7 + k as u64, shape),
                &format!("local seed {seed} {shape:?}"),
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Feasible, objective recomputes, never worse than greedy, same input
    /// same answer.
    #[test]
    fn exact_invariants(seed in 0u64..1_000_000, lines in 1usize..7, nodes in 1usize..40) {
        let p = random_problem(seed, lines, nodes);
        let start = greedy(&p);
        let a = solve_exact(&p, far(), start.as_ref());
        let b = solve_exact(&p, far(), start.as_ref());
        prop_assert_eq!(&a.plan, &b.plan);
        prop_assert_eq!(a.objective, b.objective);
        match &a.plan {
            Some(plan) => {
                prop_assert!(check(&p, plan).is_ok());
                prop_assert_eq!(a.objective, objective(&p, plan));
                prop_assert_eq!(a.status, SolveStatus::Optimal);
                prop_assert_eq!(a.lower_bound, a.objective.total());
                if let Some(g) = &start {
                    prop_assert!(a.objective.total() <= objective(&p, g).total());
                }
            }
            None => {
                prop_assert_eq!(a.status, SolveStatus::Infeasible);
                prop_assert!(start.is_none());
            }
        }
    }
}

#[test]
fn exact_short_deadline_on_large_instances_stays_valid() {
    for seed in 0..4 {
        let p = random_problem(seed, 20, 300);
        let start = greedy(&p);
        let began = Instant::now();
        let sol = solve_exact(&p, began + Duration::from_millis(2), start.as_ref());
        assert!(
            began.elapsed() < Duration::from_secs(2),
            "seed {seed}: {:?}",
            began.elapsed()
        );
        if let Some(plan) = &sol.plan {
            check(&p, plan).unwrap();
            assert_eq!(sol.objective, objective(&p, plan));
            assert!(sol.lower_bound <= sol.objective.total());
            if let Some(g) = &start {
                assert!(sol.objective.total() <= objective(&p, g).total());
            }
        }
    }
}
