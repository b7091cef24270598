//! One order after another: the baseline a joint plan is measured against.
//! Every order's hold is released, then each order, in the backlog's order,
//! is planned alone against what the orders before it took, as a broker
//! that re-runs its per-order rules in sequence would.

use std::time::Instant;

use super::Backlog;
use super::pools::{Pools, Usage};
use crate::exact::solve_exact;
use crate::greedy::greedy;
use crate::problem::Plan;

/// How each order is planned in a sequential pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PerOrder {
    /// The exact per-order solver (each order optimal given the earlier
    /// ones).
    Exact,
    /// The greedy heuristic (rules in sequence).
    Greedy,
}

/// Plans every order of `backlog` in sequence; an order that finds no plan
/// gets `None` (it would stay unallocated). The plans together never
/// overdraw a pool.
pub fn sequential(backlog: &Backlog, per_order: PerOrder, deadline: Instant) -> Vec<Option<Plan>> {
    let pools = Pools::index(backlog);
    let mut usage = Usage::zero(&pools);
    let mut plans = Vec::with_capacity(backlog.orders.len());
    for o in 0..backlog.orders.len() {
        let residual = pools.residual(backlog, o, &usage);
        let plan = match per_order {
            PerOrder::Exact => solve_exact(&residual, deadline, greedy(&residual).as_ref()).plan,
            PerOrder::Greedy => greedy(&residual),
        };
        if let Some(plan) = &plan {
            usage.add(&pools, o, &backlog.orders[o].problem, plan);
        }
        plans.push(plan);
    }
    plans
}
