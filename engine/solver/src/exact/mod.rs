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

/// Extra unit costs on a problem's (line, candidate) pairs, by stock tier,
/// in the problem's row-major indexing: the prices a decomposition puts on
/// the stock and capacity several problems share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierPrices {
    /// Added per unit shipped from free stock.
    pub free: Vec<i64>,
    /// Added per unit shipped from protected stock.
    pub protected: Vec<i64>,
}

impl TierPrices {
    /// No extra cost anywhere.
    pub fn zero(problem: &Problem) -> TierPrices {
        let pairs = problem.lines.len() * problem.n();
        TierPrices {
            free: vec![0; pairs],
            protected: vec![0; pairs],
        }
    }

    /// A plan's objective plus the prices of the units it ships.
    pub fn cost(&self, problem: &Problem, plan: &Plan) -> i64 {
        let priced: i64 = (0..self.free.len())
            .map(|i| {
                self.free[i] * i64::from(plan.free[i])
                    + self.protected[i] * i64::from(plan.protected[i])
            })
            .sum();
        objective(problem, plan).total() + priced
    }
}

/// What one run of the search found.
struct Found {
    plan: Option<Plan>,
    timed_out: bool,
    open_lb: f64,
    nodes: u64,
}

/// The branch and bound over `problem` with `prices` added to its unit
/// costs; `start` is kept unless something cheaper is found.
fn search(
    problem: &Problem,
    prices: Option<&TierPrices>,
    deadline: Instant,
    start: Option<&Plan>,
) -> Found {
    let cost = |plan: &Plan| match prices {
        Some(p) => p.cost(problem, plan),
        None => objective(problem, plan).total(),
    };
    let model = reduce::Model::build_priced(problem, prices, true);
    let mut search = search::Search::new(&model, deadline);
    let start = start.filter(|p| check(problem, p).is_ok());
    let start_cost = start.map(cost);
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
    Found {
        plan,
        timed_out: search.timed_out,
        open_lb: search.open_lb,
        nodes: search.nodes,
    }
}

/// A valid lower bound when the search timed out: the open nodes' bound,
/// never above the plan's cost.
fn timed_out_bound(open_lb: f64, cost: Option<i64>) -> i64 {
    let lb = (open_lb - 1e-4).ceil();
    let lb = if lb.is_finite() {
        lb as i64
    } else {
        i64::MIN / 4
    };
    cost.map_or(lb, |c| lb.min(c))
}

/// Solves `problem` exactly by the specialised branch and bound.
///
/// Returns [`SolveStatus::Optimal`] with a proven optimum (lower bound =
/// objective), [`SolveStatus::Infeasible`] when no plan exists, or, when
/// `deadline` strikes first, [`SolveStatus::TimeLimit`] with the best plan
/// found (never worse than `start`, typically the greedy plan) and a valid
/// lower bound. Deterministic: the same problem gives the same plan.
pub fn solve_exact(problem: &Problem, deadline: Instant, start: Option<&Plan>) -> Solution {
    let began = Instant::now();
    let found = search(problem, None, deadline, start);
    let objective = found
        .plan
        .as_ref()
        .map_or(Objective::default(), |p| objective(problem, p));
    let total = objective.total();
    let (status, lower_bound) = match (&found.plan, found.timed_out) {
        (Some(_), false) => (SolveStatus::Optimal, total),
        (None, false) => (SolveStatus::Infeasible, 0),
        (plan, true) => (
            SolveStatus::TimeLimit,
            timed_out_bound(found.open_lb, plan.as_ref().map(|_| total)),
        ),
    };
    Solution {
        status,
        plan: found.plan,
        objective,
        lower_bound,
        method: Method::ExactBranchAndBound,
        nodes_explored: found.nodes,
        elapsed: began.elapsed(),
    }
}

/// What [`solve_exact_priced`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedSolution {
    /// The cheapest plan found under the prices; `None` when none exists
    /// (or none was found in time).
    pub plan: Option<Plan>,
    /// Its priced cost ([`TierPrices::cost`]).
    pub cost: i64,
    /// A lower bound on the priced optimum (= `cost` when proven; without
    /// a plan and proven, there is no plan at all).
    pub lower_bound: i64,
    /// Whether the search finished: `plan` is the priced optimum.
    pub proven: bool,
}

/// Solves `problem` with `prices` added to its unit costs, exactly by the
/// same branch and bound as [`solve_exact`]. The prices must keep the free
/// tier no dearer than the protected one (when the protect penalties are
/// >= 0).
pub fn solve_exact_priced(
    problem: &Problem,
    prices: &TierPrices,
    deadline: Instant,
    start: Option<&Plan>,
) -> PricedSolution {
    let found = search(problem, Some(prices), deadline, start);
    let cost = found.plan.as_ref().map(|p| prices.cost(problem, p));
    let lower_bound = if found.timed_out {
        timed_out_bound(found.open_lb, cost)
    } else {
        cost.unwrap_or(i64::MAX / 4)
    };
    PricedSolution {
        cost: cost.unwrap_or(i64::MAX / 4),
        plan: found.plan,
        lower_bound,
        proven: !found.timed_out,
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
