//! Backlog re-optimisation: several orders' allocations decided together.
//!
//! Each order keeps its own allocation MILP (docs/allocation.md); the orders
//! are coupled by the stock and the node capacity they share, and a plan
//! that differs from the order's current plan (a *move*) costs
//! `move_penalty`, at most `max_moves` orders may move. The joint objective
//! is the sum of the orders' objectives plus the move penalties.
//!
//! - `pools`: the shared stock and capacity, and what a set of plans uses
//!   of them (the joint feasibility check).
//! - `bound`: a Lagrangian lower bound, the coupling constraints priced
//!   into each order's problem, each solved exactly by the specialised
//!   branch and bound.
//! - `improve`: the joint plan: from the current plans, each order in turn
//!   re-planned exactly against what the others leave (best response),
//!   those with the most to save first, until no order improves.
//! - `milp`: the joint MILP in HiGHS, for backlogs small enough that it
//!   can close the gap the decomposition leaves.
//! - `sequential`: the baseline, every order planned alone in turn.
//!
//! The answer is proven optimal when the plan's objective meets the bound,
//! else it carries the gap; it is never worse than the current plans.

mod bound;
mod improve;
mod milp;
mod pools;
mod sequential;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use allot_network::{NodeId, SkuId};

use crate::problem::{Plan, Problem, objective};
use crate::solution::SolveStatus;

pub use pools::{JointViolation, check_joint};
pub use sequential::{PerOrder, sequential};

/// The units of one SKU at one node the backlog may use: what its orders
/// hold there now plus what is still available.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StockPool {
    /// Units that ship without penalty.
    pub free: u32,
    /// Protected units (each costs its pair's `protect_penalty`).
    pub protected: u32,
}

/// One order of the backlog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BacklogOrder {
    /// The order's allocation problem. Its costs, rules and candidates are
    /// the order's; its stock caps only say which (line, candidate) pairs
    /// may ship at all (a pair with none is restricted by a rule or holds
    /// nothing). The units come from the backlog's pools, and each
    /// candidate's capacity from the node's pool.
    pub problem: Problem,
    /// The plan the order holds now, in `problem`'s indexing.
    pub current: Plan,
}

/// Orders to re-plan together, with what they share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backlog {
    /// The orders.
    pub orders: Vec<BacklogOrder>,
    /// Shared stock per (SKU, node); a pair without a pool has none.
    pub stock: HashMap<(SkuId, NodeId), StockPool>,
    /// Units each node may still ship on the planned day, the backlog's
    /// current use included; a node without an entry ships nothing.
    pub capacity: HashMap<NodeId, u32>,
    /// Cost of changing one order's plan, minor units (>= 0).
    pub move_penalty: i64,
    /// At most this many orders may change plan; `None`: no limit.
    pub max_moves: Option<u32>,
}

/// Why a backlog cannot be re-planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BacklogError {
    /// An order's current plan is not a plan of its problem.
    #[error("order {order}: the current plan is not a plan of its problem: {reason}")]
    CurrentPlan {
        /// The order's index.
        order: usize,
        /// Why.
        reason: String,
    },
    /// The current plans together use more than the pools hold: for held
    /// orders, the stock feed reports fewer units on hand than they hold.
    #[error(
        "the current plans use more than the shared pools hold ({0}): there is less stock or capacity than the plans already hold (for held orders, the stock feed reports fewer units on hand than allot holds); resync the stock feed, or narrow the selection to leave out the orders on that pool"
    )]
    CurrentJoint(JointViolation),
    /// A negative move penalty.
    #[error("move_penalty must be at least 0, got {0}")]
    MovePenalty(i64),
}

/// The backlog's joint plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replan {
    /// Each order's plan, in the backlog's order.
    pub plans: Vec<Plan>,
    /// Whether each order's plan differs from its current one.
    pub moved: Vec<bool>,
    /// Each order's objective under its new plan (without move penalties).
    pub costs: Vec<i64>,
    /// Each order's objective under its current plan.
    pub current_costs: Vec<i64>,
    /// The joint objective: the orders' objectives plus the move
    /// penalties.
    pub objective: i64,
    /// The current plans' joint objective (no moves).
    pub current_objective: i64,
    /// A proven lower bound on the joint optimum.
    pub lower_bound: i64,
    /// `Optimal` when the objective meets the bound, else `TimeLimit`.
    pub status: SolveStatus,
    /// Lagrangian iterations run.
    pub iterations: u32,
    /// Wall time.
    pub elapsed: Duration,
}

impl Replan {
    /// Relative gap: (objective - lower bound) / max(1, |objective|), at
    /// most 1.
    pub fn gap(&self) -> f64 {
        let gap = (self.objective - self.lower_bound).max(0) as f64;
        (gap / self.objective.abs().max(1) as f64).min(1.0)
    }

    /// How many orders moved.
    pub fn moves(&self) -> usize {
        self.moved.iter().filter(|m| **m).count()
    }
}

/// The joint MILP goes to HiGHS, when the decomposition leaves a gap, only
/// up to this many columns (about 100 orders of 3 lines over 15 nodes).
pub const JOINT_MILP_MAX_COLUMNS: usize = 10_000;

/// The joint objective of `plans`: the orders' objectives plus a move
/// penalty per plan that differs from the current one.
fn joint_objective(backlog: &Backlog, plans: &[Plan]) -> i64 {
    plans
        .iter()
        .zip(&backlog.orders)
        .map(|(p, o)| {
            objective(&o.problem, p).total()
                + if *p == o.current {
                    0
                } else {
                    backlog.move_penalty
                }
        })
        .sum()
}

/// How many of `plans` differ from their order's current plan.
fn moves(backlog: &Backlog, plans: &[Plan]) -> usize {
    plans
        .iter()
        .zip(&backlog.orders)
        .filter(|(p, o)| **p != o.current)
        .count()
}

/// Relative gap at which the bound stops tightening.
pub const TARGET_GAP: f64 = 1e-4;

/// Re-plans `backlog` jointly by `deadline`: never worse than the current
/// plans, optimal when proven, else with a valid lower bound.
/// Deterministic when the deadline does not strike.
pub fn reoptimize(backlog: &Backlog, deadline: Instant) -> Result<Replan, BacklogError> {
    reoptimize_within(backlog, deadline, JOINT_MILP_MAX_COLUMNS)
}

/// [`reoptimize`], handing the joint MILP to HiGHS (when a gap is left)
/// only up to `milp_max_columns` columns; 0: the decomposition alone.
pub fn reoptimize_within(
    backlog: &Backlog,
    deadline: Instant,
    milp_max_columns: usize,
) -> Result<Replan, BacklogError> {
    let started = Instant::now();
    if backlog.move_penalty < 0 {
        return Err(BacklogError::MovePenalty(backlog.move_penalty));
    }
    for (o, order) in backlog.orders.iter().enumerate() {
        pools::Pools::check_shape(order)
            .map_err(|reason| BacklogError::CurrentPlan { order: o, reason })?;
    }
    let pools = pools::Pools::index(backlog);
    let current: Vec<Plan> = backlog.orders.iter().map(|o| o.current.clone()).collect();
    pools
        .check(backlog, &current)
        .map_err(BacklogError::CurrentJoint)?;
    let relaxed: Vec<Problem> = (0..backlog.orders.len())
        .map(|o| pools.relaxed(backlog, o))
        .collect();
    let current_costs: Vec<i64> = backlog
        .orders
        .iter()
        .map(|o| objective(&o.problem, &o.current).total())
        .collect();
    let current_objective: i64 = current_costs.iter().sum();

    let mut lagrange = bound::Lagrange::new(backlog, &pools, &relaxed);
    let saving = lagrange.movers_alone(backlog, deadline);
    let mut joint = improve::Joint::new(backlog, &pools, current);
    joint.improve(backlog, &pools, &saving, deadline);
    // Every hold released and the orders re-planned one by one (exactly),
    // then improved the same way: a second start.
    let again = sequential(backlog, PerOrder::Exact, deadline);
    if let Some(mut found) = improve::Joint::from_plans(backlog, &pools, again) {
        found.improve(backlog, &pools, &saving, deadline);
        if found.objective() < joint.objective() {
            joint = found;
        }
    }
    let upper = joint.objective();
    let iterations = lagrange.tighten(backlog, upper, deadline, |moving| {
        if let Some(mut found) =
            improve::Joint::from_moving(backlog, &pools, moving, &current_costs, deadline)
        {
            found.improve(backlog, &pools, &saving, deadline);
            if found.objective() < joint.objective() {
                joint = found;
            }
        }
        joint.objective()
    });
    let mut lower_bound = lagrange.bound().min(joint.objective());
    let mut plans = joint.plans;
    let mut total = joint_objective(backlog, &plans);
    if lower_bound < total
        && milp::columns(backlog, &pools) <= milp_max_columns
        && Instant::now() < deadline
    {
        match milp::solve_joint(backlog, &pools, &plans, deadline) {
            Ok(found) => {
                if let Some(better) = found
                    .plans
                    .filter(|p| pools.check(backlog, p).is_ok())
                    .filter(|p| {
                        backlog
                            .max_moves
                            .is_none_or(|k| moves(backlog, p) <= k as usize)
                    })
                    .filter(|p| joint_objective(backlog, p) < total)
                {
                    total = joint_objective(backlog, &better);
                    plans = better;
                }
                lower_bound = lower_bound
                    .max(found.lower_bound.unwrap_or(i64::MIN))
                    .min(total);
            }
            Err(error) => {
                tracing::warn!(%error, "the joint MILP failed; keeping the decomposition's plan")
            }
        }
    }
    let moved: Vec<bool> = plans
        .iter()
        .zip(&backlog.orders)
        .map(|(p, o)| *p != o.current)
        .collect();
    let costs: Vec<i64> = plans
        .iter()
        .zip(&backlog.orders)
        .map(|(p, o)| objective(&o.problem, p).total())
        .collect();
    debug_assert!(total <= current_objective);
    Ok(Replan {
        status: if lower_bound >= total {
            SolveStatus::Optimal
        } else {
            SolveStatus::TimeLimit
        },
        plans,
        moved,
        costs,
        current_costs,
        objective: total,
        current_objective,
        lower_bound,
        iterations,
        elapsed: started.elapsed(),
    })
}
