//! The specialised exact solver for the allocation MILP (docs/allocation.md):
//! a branch and bound over node sets that proves optimality exactly (costs
//! are whole minor units, so it prunes on `bound > incumbent - 1`).
//!
//! - `reduce`: the internal model and safe candidate reduction (empty
//!   nodes, tier capping, dominance).
//! - `assign`: the optimal assignment for a fixed node set (per-line fill,
//!   min-cost flow when capacity binds).
//! - `bound`: the Lagrangian bound (demand rows relaxed; per-node
//!   sort-and-fill) and its subgradient.
//! - `search`: the search. Every single node is assigned; a root
//!   Lagrangian bound fixes out hopeless nodes; every pair of the remaining
//!   nodes is settled by enumeration under a cheap bound; a depth-first
//!   branch and bound (deflected subgradient from the parent's multipliers,
//!   reduced-cost fixing, the subproblem's set assigned as a primal) then
//!   covers the sets of three or more nodes, whose bound carries at least
//!   three fixed costs and is much tighter than the plain LP bound.

mod assign;
mod bound;
mod reduce;
mod search;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_highs;

use std::time::Instant;

use super::problem::{Objective, Plan, Problem, check, objective};
use super::solution::{Method, Solution, SolveStatus};

/// Solves `problem` exactly by the specialised branch and bound.
///
/// Returns [`SolveStatus::Optimal`] with a proven optimum (lower bound =
/// objective), [`SolveStatus::Infeasible`] when no plan exists, or, when
/// `deadline` strikes first, [`SolveStatus::TimeLimit`] with the best plan
/// found (never worse than `start`, typically the greedy plan) and a valid
/// lower bound. Deterministic: the same problem gives the same plan.
pub fn solve_exact(problem: &Problem, deadline: Instant, start: Option<&Plan>) -> Solution {
    let began = Instant::now();
    let model = reduce::Model::build(problem, true);
    let mut search = search::Search::new(&model, deadline);
    let start = start.filter(|p| check(problem, p).is_ok());
    let start_cost = start.map(|p| objective(problem, p).total());
    if let Some(plan) = start {
        // The start's node set, if every node survived reduction.
        let set: Option<Vec<usize>> = plan
            .used(problem)
            .iter()
            .map(|&c| model.orig.binary_search(&c).ok())
            .collect();
        if let Some(set) = set {
            search.try_set(&set);
        }
    }
    search.run();

    let mut plan = None;
    if let Some(set) = search.best_set.clone()
        && start_cost.is_none_or(|c| search.ub <= c)
    {
        search.assigner.solve(&model, &set);
        plan = Some(search.assigner.plan(&model, problem, &set));
    }
    if plan.is_none() {
        plan = start.cloned();
    }
    let objective = plan
        .as_ref()
        .map_or(Objective::default(), |p| objective(problem, p));
    let total = objective.total();
    let (status, lower_bound) = match (&plan, search.timed_out) {
        (Some(_), false) => (SolveStatus::Optimal, total),
        (None, false) => (SolveStatus::Infeasible, 0),
        (_, true) => {
            let lb = (search.open_lb - 1e-4).ceil();
            let lb = if lb.is_finite() {
                lb as i64
            } else {
                i64::MIN / 4
            };
            let lb = if plan.is_some() { lb.min(total) } else { lb };
            (SolveStatus::TimeLimit, lb)
        }
    };
    Solution {
        status,
        plan,
        objective,
        lower_bound,
        method: Method::ExactBranchAndBound,
        nodes_explored: search.nodes,
        elapsed: began.elapsed(),
    }
}

/// The root Lagrangian bound (over all non-empty node sets, no incumbent),
/// for benchmarks of the bound alone.
#[doc(hidden)]
pub fn root_bound(problem: &Problem) -> f64 {
    let model = reduce::Model::build(problem, true);
    let mut search =
        search::Search::new(&model, Instant::now() + std::time::Duration::from_secs(1));
    search.root_bound()
}

/// The optimal assignment's objective when exactly the given candidates
/// (problem indices, ascending) may ship, for benchmarks of the assignment.
#[doc(hidden)]
pub fn assign_candidates(problem: &Problem, candidates: &[usize]) -> Option<i64> {
    let model = reduce::Model::build(problem, false);
    let set: Vec<usize> = candidates
        .iter()
        .filter_map(|c| model.orig.binary_search(c).ok())
        .collect();
    assign::Assigner::default().solve(&model, &set)
}
