//! The solve pipeline: greedy start, the exact branch and bound, HiGHS as
//! the bounded fallback when the exact search runs out of time.

use std::time::Instant;

use super::exact::solve_exact;
use super::greedy::greedy;
use super::milp::solve_highs;
use super::problem::{Problem, objective};
use super::solution::{Method, Solution, SolveStatus};

/// Share of the remaining budget the exact search may use before HiGHS gets
/// the rest.
const EXACT_SHARE: f64 = 0.6;

/// Solves `problem` by `deadline`: proven optimal when time allows, else the
/// best plan found (never worse than greedy) with a valid lower bound.
pub fn solve(problem: &Problem, deadline: Instant) -> Solution {
    let started = Instant::now();
    if problem.n() == 0 {
        return skipped(problem, started);
    }
    let start = greedy(problem);
    if Instant::now() >= deadline {
        return fallback(problem, start, started);
    }
    let exact_deadline = started
        + deadline
            .saturating_duration_since(started)
            .mul_f64(EXACT_SHARE);
    let mut best = solve_exact(problem, exact_deadline, start.as_ref());
    if best.status == SolveStatus::TimeLimit && Instant::now() < deadline {
        match solve_highs(problem, deadline, best.plan.as_ref().or(start.as_ref())) {
            Ok(highs) => best = better(best, highs),
            Err(error) => {
                tracing::warn!(%error, "highs fallback failed; keeping the exact search's best plan")
            }
        }
    }
    if best.plan.is_none()
        && best.status != SolveStatus::Infeasible
        && let Some(plan) = start
    {
        best.objective = objective(problem, &plan);
        best.plan = Some(plan);
        best.method = Method::Greedy;
    }
    if problem.n() == 1 && best.status == SolveStatus::Optimal {
        best.method = Method::SingleNode;
        best.nodes_explored = 0;
    }
    best.elapsed = started.elapsed();
    best
}

/// The greedy plan as the answer of a solve whose time ran out before the
/// search began: not proven, the lower bound unknown (gap 1).
fn fallback(problem: &Problem, plan: Option<super::problem::Plan>, started: Instant) -> Solution {
    let objective = plan
        .as_ref()
        .map_or(Default::default(), |p| objective(problem, p));
    Solution {
        status: SolveStatus::TimeLimit,
        lower_bound: 0,
        plan,
        objective,
        method: Method::Greedy,
        nodes_explored: 0,
        elapsed: started.elapsed(),
    }
}

/// The answer without candidates: every unit backordered when backorders
/// are allowed, else no plan.
fn skipped(problem: &Problem, started: Instant) -> Solution {
    let plan = greedy(problem);
    let objective = plan
        .as_ref()
        .map_or(Default::default(), |p| objective(problem, p));
    Solution {
        status: SolveStatus::Skipped,
        lower_bound: objective.total(),
        plan,
        objective,
        method: Method::None,
        nodes_explored: 0,
        elapsed: started.elapsed(),
    }
}

/// The better of two solutions of one problem: a proof wins, else the lower
/// objective; the lower bound is the stronger of the two.
fn better(a: Solution, b: Solution) -> Solution {
    let lower_bound = a.lower_bound.max(b.lower_bound);
    let nodes = a.nodes_explored + b.nodes_explored;
    let mut pick = match (&a.plan, &b.plan) {
        _ if b.status == SolveStatus::Optimal || b.status == SolveStatus::Infeasible => b,
        _ if a.status == SolveStatus::Optimal || a.status == SolveStatus::Infeasible => a,
        (Some(_), Some(_)) if b.objective.total() < a.objective.total() => b,
        (None, Some(_)) => b,
        _ => a,
    };
    if pick.plan.is_some() {
        pick.lower_bound = lower_bound.min(pick.objective.total());
        if pick.lower_bound >= pick.objective.total() {
            pick.status = SolveStatus::Optimal;
        }
    }
    pick.nodes_explored = nodes;
    pick
}
