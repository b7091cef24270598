//! What a solver returns: the plan, its objective, and how much of its
//! optimality is proven.

use std::time::Duration;

use super::problem::{Objective, Plan};

/// How a solve ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SolveStatus {
    /// The plan is proven optimal (relative gap <= the solver's tolerance).
    Optimal,
    /// The time budget ran out; the plan is the best found (never worse than
    /// the greedy plan) and `lower_bound` bounds the optimum from below.
    TimeLimit,
    /// Proven: no plan satisfies the constraints (for example ship-complete
    /// with no single node holding every line, and backorders not allowed).
    Infeasible,
    /// Nothing to optimise: no line has a candidate node, so every unit is
    /// backordered (the plan) or, without backorders, there is no plan.
    Skipped,
}

/// Which algorithm produced (and proved) the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// The specialised exact branch and bound (docs/allocation.md).
    ExactBranchAndBound,
    /// HiGHS on the full MILP.
    Highs,
    /// The greedy heuristic (only as a deadline fallback: never proven).
    Greedy,
    /// One candidate node: the plan is trivially optimal.
    SingleNode,
    /// No candidate node: nothing was optimised ([`SolveStatus::Skipped`]).
    None,
}

impl Method {
    /// Stable lowercase name, used in answers and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::ExactBranchAndBound => "exact-bnb",
            Method::Highs => "highs",
            Method::Greedy => "greedy-fallback",
            Method::SingleNode => "single-node",
            Method::None => "none",
        }
    }
}

/// A solver's answer to one [`super::problem::Problem`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Solution {
    /// How the solve ended.
    pub status: SolveStatus,
    /// The best plan found; `None` only when infeasible (or when a time
    /// limit struck before any feasible plan was found).
    pub plan: Option<Plan>,
    /// The objective of `plan`, recomputed from the plan.
    pub objective: Objective,
    /// A proven lower bound on the optimal objective (equal to the
    /// objective's total when optimal).
    pub lower_bound: i64,
    /// Who produced it.
    pub method: Method,
    /// Branch-and-bound nodes (or HiGHS MIP nodes) explored.
    pub nodes_explored: u64,
    /// Wall time of the solve, including model building.
    pub elapsed: Duration,
}

impl Solution {
    /// Relative optimality gap: (objective - lower bound) / max(1,
    /// |objective|), at most 1 (1: nothing is known of the optimum).
    pub fn gap(&self) -> f64 {
        if self.plan.is_none() {
            return if matches!(self.status, SolveStatus::Infeasible | SolveStatus::Skipped) {
                0.0
            } else {
                1.0
            };
        }
        let total = self.objective.total();
        (((total - self.lower_bound).max(0) as f64) / (total.abs().max(1) as f64)).min(1.0)
    }
}
