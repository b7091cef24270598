//! The joint plan, improved by best responses: each order in turn is
//! re-planned exactly against what the other orders leave, and takes the
//! new plan only if it beats its plan so far (a move pays the move
//! penalty). Every step keeps the joint plan feasible and never raises the
//! joint objective.

use std::time::Instant;

use super::Backlog;
use super::bound::Mover;
use super::pools::{Pools, Usage};
use crate::exact::solve_exact;
use crate::problem::{Plan, check, objective};

/// Passes over the orders at most (each pass after the first only runs
/// because an order moved).
const MAX_PASSES: usize = 4;

/// The joint plan being improved.
pub(super) struct Joint {
    /// Each order's plan.
    pub plans: Vec<Plan>,
    /// Each order's objective under its plan, its move penalty included.
    cost: Vec<i64>,
    usage: Usage,
    moves: u32,
}

impl Joint {
    /// The current plans (feasible: checked by the caller).
    pub fn new(backlog: &Backlog, pools: &Pools, current: Vec<Plan>) -> Joint {
        let mut usage = Usage::zero(pools);
        let cost = current
            .iter()
            .enumerate()
            .map(|(o, plan)| {
                let problem = &backlog.orders[o].problem;
                usage.add(pools, o, problem, plan);
                objective(problem, plan).total()
            })
            .collect();
        Joint {
            plans: current,
            cost,
            usage,
            moves: 0,
        }
    }

    /// The Lagrangian heuristic: a joint plan where the orders whose priced
    /// plan moves (`moving`, in that order) take that plan if it still
    /// fits what the others' current plans and the earlier movers leave,
    /// else their best response; every other order keeps its current plan.
    /// `None` when an order can do neither.
    pub fn from_moving(
        backlog: &Backlog,
        pools: &Pools,
        moving: &[Mover],
        current_costs: &[i64],
        deadline: Instant,
    ) -> Option<Joint> {
        let mut released = vec![false; backlog.orders.len()];
        for m in moving {
            released[m.order] = true;
        }
        let mut joint = Joint {
            plans: backlog.orders.iter().map(|o| o.current.clone()).collect(),
            cost: current_costs.to_vec(),
            usage: Usage::zero(pools),
            moves: 0,
        };
        for (o, order) in backlog.orders.iter().enumerate() {
            if !released[o] {
                joint.usage.add(pools, o, &order.problem, &order.current);
            }
        }
        for m in moving {
            let o = m.order;
            let order = &backlog.orders[o];
            let may_move = backlog.max_moves.is_none_or(|k| joint.moves < k);
            let residual = pools.residual(backlog, o, &joint.usage);
            let (plan, cost) = if may_move && check(&residual, &m.plan).is_ok() {
                let cost = objective(&order.problem, &m.plan).total() + backlog.move_penalty;
                (m.plan.clone(), cost)
            } else {
                joint.best_response(backlog, pools, o, may_move, None, deadline)?
            };
            joint.moves += u32::from(plan != order.current);
            joint.usage.add(pools, o, &order.problem, &plan);
            joint.plans[o] = plan;
            joint.cost[o] = cost;
        }
        Some(joint)
    }

    /// Order `o`'s best plan against the usage of the others (`o`'s own
    /// not in it): its exact optimum plus the move penalty, or its current
    /// plan if that still fits and is cheaper. `start` seeds the search.
    fn best_response(
        &self,
        backlog: &Backlog,
        pools: &Pools,
        o: usize,
        may_move: bool,
        start: Option<&Plan>,
        deadline: Instant,
    ) -> Option<(Plan, i64)> {
        let order = &backlog.orders[o];
        let residual = pools.residual(backlog, o, &self.usage);
        let mut best: Option<(Plan, i64)> = None;
        if may_move {
            let start = start.filter(|p| check(&residual, p).is_ok());
            let found = solve_exact(&residual, deadline, start);
            if let Some(plan) = found.plan {
                let penalty = if plan == order.current {
                    0
                } else {
                    backlog.move_penalty
                };
                best = Some((plan, found.objective.total() + penalty));
            }
        }
        if check(&residual, &order.current).is_ok() {
            let keep = objective(&order.problem, &order.current).total();
            if best.as_ref().is_none_or(|(_, c)| keep < *c) {
                best = Some((order.current.clone(), keep));
            }
        }
        best
    }

    /// The joint plan of `plans` (one per order, together within the
    /// pools), or `None` when an order has none or it moves too many.
    pub fn from_plans(backlog: &Backlog, pools: &Pools, plans: Vec<Option<Plan>>) -> Option<Joint> {
        let plans: Vec<Plan> = plans.into_iter().collect::<Option<_>>()?;
        let mut joint = Joint::new(backlog, pools, plans);
        for (o, order) in backlog.orders.iter().enumerate() {
            if joint.plans[o] != order.current {
                joint.moves += 1;
                joint.cost[o] += backlog.move_penalty;
            }
        }
        backlog
            .max_moves
            .is_none_or(|k| joint.moves <= k)
            .then_some(joint)
    }

    /// The joint objective, move penalties included.
    pub fn objective(&self) -> i64 {
        self.cost.iter().sum()
    }

    /// Best responses, in passes over `order`: the orders that gain from a
    /// move on their own, largest saving first (contested units go to the
    /// orders that gain most from them; moves that only help other orders
    /// come from the Lagrangian heuristic).
    pub fn improve(
        &mut self,
        backlog: &Backlog,
        pools: &Pools,
        order: &[usize],
        deadline: Instant,
    ) {
        for _ in 0..MAX_PASSES {
            let mut changed = false;
            for &o in order {
                if Instant::now() >= deadline {
                    return;
                }
                changed |= self.respond(backlog, pools, o, deadline);
            }
            if !changed {
                return;
            }
        }
    }

    /// Re-plans order `o` against what the others leave; whether its plan
    /// changed.
    fn respond(&mut self, backlog: &Backlog, pools: &Pools, o: usize, deadline: Instant) -> bool {
        let order = &backlog.orders[o];
        let moved_now = self.plans[o] != order.current;
        let may_move = moved_now || backlog.max_moves.is_none_or(|k| self.moves < k);
        let plan = std::mem::replace(&mut self.plans[o], order.current.clone());
        self.usage.remove(pools, o, &order.problem, &plan);
        let improved = self
            .best_response(backlog, pools, o, may_move, Some(&plan), deadline)
            .filter(|(_, c)| *c < self.cost[o]);
        let changed = improved.is_some();
        self.plans[o] = plan;
        if let Some((plan, cost)) = improved {
            self.moves = self.moves + u32::from(plan != order.current) - u32::from(moved_now);
            self.plans[o] = plan;
            self.cost[o] = cost;
        }
        self.usage.add(pools, o, &order.problem, &self.plans[o]);
        changed
    }
}
