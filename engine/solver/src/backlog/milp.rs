//! The joint MILP of a backlog in HiGHS: every order's allocation model
//! (docs/allocation.md) side by side, the pools as coupling rows, a binary
//! per order that any unit differing from its current plan turns on (and
//! that pays the move penalty). Integer units, since the coupling rows break
//! the integrality of the per-order transportation problems. Used on
//! backlogs small enough for HiGHS to prove what the decomposition could
//! not.

use std::time::Instant;

use highs::{Col, HighsModelStatus, HighsSolutionStatus, RowProblem, Sense};

use super::Backlog;
use super::pools::Pools;
use crate::error::SolverError;
use crate::milp::{
    Columns, MIN_TIME_LIMIT_S, MIP_ABS_GAP, RANDOM_SEED, read_plan, set, write_plan,
};
use crate::problem::Plan;

/// Columns of one order: its model's, and whether it moved.
struct OrderColumns {
    plan: Columns,
    moved: Col,
}

/// What HiGHS found: plans (when it found any) and a lower bound.
pub(super) struct JointMilp {
    /// One plan per order, when HiGHS has a solution.
    pub plans: Option<Vec<Plan>>,
    /// A lower bound on the joint optimum (the objective when proven).
    pub lower_bound: Option<i64>,
}

/// Columns the joint model would have (its size, before building it).
pub(super) fn columns(backlog: &Backlog, pools: &Pools) -> usize {
    (0..backlog.orders.len())
        .map(|o| 2 * pools.pair[o].iter().flatten().count() + backlog.orders[o].problem.n())
        .sum()
}

/// Solves the joint MILP by `deadline`, with `start` (a joint plan) as
/// HiGHS's first incumbent.
///
/// HiGHS 1.16 sometimes returns the start's values with a better reported
/// objective (seen on small models solved in presolve, as for the
/// single-order model in `crate::milp`); the model is then solved again
/// without the start.
pub(super) fn solve_joint(
    backlog: &Backlog,
    pools: &Pools,
    start: &[Plan],
    deadline: Instant,
) -> Result<JointMilp, SolverError> {
    let (found, reported) = run(backlog, pools, Some(start), deadline)?;
    let stale = match (&found.plans, reported) {
        (Some(plans), Some(reported)) => {
            super::joint_objective(backlog, plans) as f64 > reported + 0.5
        }
        _ => false,
    };
    if stale {
        return Ok(run(backlog, pools, None, deadline)?.0);
    }
    Ok(found)
}

/// One HiGHS run; with the objective HiGHS reported for its solution.
fn run(
    backlog: &Backlog,
    pools: &Pools,
    start: Option<&[Plan]>,
    deadline: Instant,
) -> Result<(JointMilp, Option<f64>), SolverError> {
    let mut m = RowProblem::default();
    let mut free_rows: Vec<Vec<(Col, f64)>> = vec![Vec::new(); pools.stock.len()];
    let mut prot_rows: Vec<Vec<(Col, f64)>> = vec![Vec::new(); pools.stock.len()];
    let mut cap_rows: Vec<Vec<(Col, f64)>> = vec![Vec::new(); pools.capacity.len()];
    let mut orders = Vec::with_capacity(backlog.orders.len());
    for (o, order) in backlog.orders.iter().enumerate() {
        let p = &order.problem;
        let current = &order.current;
        let moved = m.add_integer_column(backlog.move_penalty as f64, 0..=1);
        let used: Vec<Col> = p
            .candidates
            .iter()
            .map(|c| m.add_integer_column(c.package_cost as f64, 0..=1))
            .collect();
        let split = m.add_column(p.split_penalty as f64, 0.0..);
        let mut row = vec![(split, 1.0)];
        row.extend(used.iter().map(|&y| (y, -1.0)));
        m.add_row(-1.0.., row);
        if let Some(k) = p.max_nodes {
            m.add_row(..=f64::from(k), used.iter().map(|&y| (y, 1.0)));
        }
        // Any unit away from the current plan turns `moved` on.
        let tie = |m: &mut RowProblem, x: Col, now: u32, most: u32| {
            let big = f64::from(most.max(now));
            m.add_row(..=f64::from(now), [(x, 1.0), (moved, -big)]);
            m.add_row(..=-f64::from(now), [(x, -1.0), (moved, -big)]);
        };
        let pairs = p.lines.len() * p.n();
        let mut cols = Columns {
            free: vec![None; pairs],
            protected: vec![None; pairs],
            backorder: Vec::with_capacity(p.lines.len()),
            used,
            split,
        };
        for (l, line) in p.lines.iter().enumerate() {
            let q = line.quantity;
            let max_b = if p.allow_backorder { q } else { 0 };
            let b = m.add_integer_column(p.backorder_penalty as f64, 0.0..=f64::from(max_b));
            tie(&mut m, b, current.backordered[l], q);
            let mut demand = vec![(b, 1.0)];
            for n in 0..p.n() {
                let i = p.at(l, n);
                let (Some(r), Some(k)) = (pools.pair[o][i], pools.node[o][n]) else {
                    continue;
                };
                let unit = p.unit_cost(l, n) as f64;
                let tiers = [
                    (
                        pools.stock[r].free.min(q),
                        unit,
                        &mut free_rows[r],
                        &mut cols.free[i],
                        current.free[i],
                    ),
                    (
                        pools.stock[r].protected.min(q),
                        unit + p.protect_penalty[i] as f64,
                        &mut prot_rows[r],
                        &mut cols.protected[i],
                        current.protected[i],
                    ),
                ];
                for (most, cost, pool_row, col, now) in tiers {
                    if most == 0 {
                        continue;
                    }
                    let x = m.add_integer_column(cost, 0.0..=f64::from(most));
                    m.add_row(..=0.0, [(x, 1.0), (cols.used[n], -f64::from(most))]);
                    tie(&mut m, x, now, most);
                    pool_row.push((x, 1.0));
                    cap_rows[k].push((x, 1.0));
                    demand.push((x, 1.0));
                    *col = Some(x);
                }
            }
            m.add_row(f64::from(q)..=f64::from(q), demand);
            cols.backorder.push(b);
        }
        orders.push(OrderColumns { plan: cols, moved });
    }
    for (r, row) in free_rows.into_iter().enumerate() {
        if !row.is_empty() {
            m.add_row(..=f64::from(pools.stock[r].free), row);
        }
    }
    for (r, row) in prot_rows.into_iter().enumerate() {
        if !row.is_empty() {
            m.add_row(..=f64::from(pools.stock[r].protected), row);
        }
    }
    for (k, row) in cap_rows.into_iter().enumerate() {
        if !row.is_empty() {
            m.add_row(..=f64::from(pools.capacity[k]), row);
        }
    }
    if let Some(k) = backlog.max_moves {
        m.add_row(..=f64::from(k), orders.iter().map(|c| (c.moved, 1.0)));
    }
    let num_cols = m.num_cols();
    let mut model = m
        .try_optimise(Sense::Minimise)
        .map_err(|e| SolverError(format!("building the joint HiGHS model: {e:?}")))?;
    let time_limit = deadline
        .saturating_duration_since(Instant::now())
        .as_secs_f64()
        .max(MIN_TIME_LIMIT_S);
    set(&mut model, "threads", 1)?;
    set(&mut model, "output_flag", false)?;
    set(&mut model, "random_seed", RANDOM_SEED)?;
    // Exact to the minor unit: the objective is whole minor units.
    set(&mut model, "mip_rel_gap", 0.0)?;
    set(&mut model, "mip_abs_gap", MIP_ABS_GAP)?;
    set(&mut model, "time_limit", time_limit)?;
    if let Some(start) = start {
        let values = start_vector(backlog, &orders, start, num_cols);
        model
            .try_set_solution(Some(&values), None, None, None)
            .map_err(|e| SolverError(format!("setting the HiGHS start: {e:?}")))?;
    }
    let solved = model
        .try_solve()
        .map_err(|e| SolverError(format!("HiGHS run failed: {e:?}")))?;
    let status = solved.status();
    let plans = (solved.primal_solution_status() == HighsSolutionStatus::Feasible)
        .then(|| read_plans(backlog, &orders, solved.get_solution().columns()));
    let lower_bound = match status {
        HighsModelStatus::Infeasible | HighsModelStatus::UnboundedOrInfeasible => None,
        _ => solved
            .double_info_value(c"mip_dual_bound")
            .ok()
            .filter(|b| b.is_finite())
            .map(|b| (b - 1e-6).ceil() as i64),
    };
    let reported = plans.as_ref().map(|_| solved.objective_value());
    Ok((JointMilp { plans, lower_bound }, reported))
}

fn start_vector(
    backlog: &Backlog,
    orders: &[OrderColumns],
    start: &[Plan],
    num_cols: usize,
) -> Vec<f64> {
    let mut v = vec![0.0; num_cols];
    for ((order, cols), plan) in backlog.orders.iter().zip(orders).zip(start) {
        write_plan(&order.problem, &cols.plan, plan, &mut v);
        v[cols.moved.index()] = if *plan != order.current { 1.0 } else { 0.0 };
    }
    v
}

fn read_plans(backlog: &Backlog, orders: &[OrderColumns], values: &[f64]) -> Vec<Plan> {
    backlog
        .orders
        .iter()
        .zip(orders)
        .map(|(order, cols)| read_plan(&order.problem, &cols.plan, values))
        .collect()
}
