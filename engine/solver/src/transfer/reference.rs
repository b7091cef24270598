//! An independent formulation of the rebalancing MILP, for checking and
//! measuring the one [`super::milp`] solves: integer units on every lane
//! for every item both ends hold (no reductions), integer dispatches, and
//! per position a continuous `e` above every linear piece of its shortfall
//! cost (convex and piecewise linear in the units held), with the units
//! held written out as a column. Its optimum must equal the MILP's.

use std::time::Instant;

use highs::{HighsModelStatus, RowProblem, Sense};

use super::TransferProblem;
use crate::error::SolverError;
use crate::milp::{set, set_deadline};

/// The optimum by HiGHS on another formulation: integer units on every
/// lane for every item both ends hold, integer dispatches, and per position
/// a continuous `e` above every piece of its shortfall cost (convex and
/// piecewise linear in the units held), with the units held written out.
pub fn reference_optimum(problem: &TransferProblem, deadline: Instant) -> Result<f64, SolverError> {
    // HiGHS 1.16's presolve returns an error on a few of these models (seen
    // on random instances): solved again without it.
    match solve(build(problem), deadline, true) {
        Err(_) => solve(build(problem), deadline, false),
        found => found,
    }
}

/// Solves the reference model by `deadline`, with or without presolve.
fn solve(m: RowProblem, deadline: Instant, presolve: bool) -> Result<f64, SolverError> {
    let mut model = m
        .try_optimise(Sense::Minimise)
        .map_err(|e| SolverError(format!("building the reference model: {e:?}")))?;
    set(&mut model, "threads", 1)?;
    set(&mut model, "output_flag", false)?;
    set(&mut model, "mip_rel_gap", 1e-9)?;
    set(&mut model, "mip_abs_gap", 1e-9)?;
    set(&mut model, "presolve", if presolve { "on" } else { "off" })?;
    set_deadline(&mut model, deadline)?;
    let solved = model
        .try_solve()
        .map_err(|e| SolverError(format!("HiGHS run failed: {e:?}")))?;
    match solved.status() {
        HighsModelStatus::Optimal => Ok(solved.objective_value()),
        // No lane and no item: nothing to decide, nothing to pay.
        HighsModelStatus::ModelEmpty => Ok(0.0),
        other => Err(SolverError(format!("the reference model ended {other:?}"))),
    }
}

/// The reference model of `problem`.
fn build(problem: &TransferProblem) -> RowProblem {
    let mut m = RowProblem::default();
    let mut dispatch = Vec::new();
    for lane in &problem.lanes {
        dispatch.push(m.add_integer_column(lane.fixed_cost as f64, 0.0..=1e4));
    }
    let mut carried: Vec<Vec<(highs::Col, f64)>> = vec![Vec::new(); problem.lanes.len()];
    let mut net: Vec<Vec<(highs::Col, f64)>> = vec![Vec::new(); problem.nodes];
    for item in &problem.items {
        // Per position: +arrivals and -departures.
        let mut change: Vec<Vec<(highs::Col, f64)>> = vec![Vec::new(); item.positions.len()];
        let mut out: Vec<Vec<(highs::Col, f64)>> = vec![Vec::new(); item.positions.len()];
        for (l, lane) in problem.lanes.iter().enumerate() {
            let src = item.positions.iter().position(|p| p.node == lane.from);
            let dst = item.positions.iter().position(|p| p.node == lane.to);
            let (Some(src), Some(dst)) = (src, dst) else {
                continue;
            };
            let x = m.add_integer_column(lane.unit_cost as f64, 0.0..);
            carried[l].push((x, 1.0));
            change[dst].push((x, 1.0));
            change[src].push((x, -1.0));
            out[src].push((x, 1.0));
            net[lane.to].push((x, 1.0));
            net[lane.from].push((x, -1.0));
        }
        for (p, pos) in item.positions.iter().enumerate() {
            if !out[p].is_empty() {
                m.add_row(..=f64::from(pos.movable), out[p].clone());
            }
            // q = stock + change, as a column.
            let q = m.add_column(0.0, 0.0..);
            let mut def = change[p].clone();
            def.push((q, -1.0));
            m.add_row(-f64::from(pos.stock)..=-f64::from(pos.stock), def);
            let e = m.add_column(1.0, 0.0..);
            for k in 0..=pos.value.len() {
                // e >= S(k) + slope (q - k), slope = -value[k] (0 past the end)
                let s_k = pos.shortfall_cost(k as u32);
                let slope = -pos.value.get(k).copied().unwrap_or(0.0);
                m.add_row(s_k - slope * k as f64.., [(e, 1.0), (q, -slope)]);
            }
        }
    }
    for (l, mut row) in carried.into_iter().enumerate() {
        row.push((dispatch[l], -f64::from(problem.lanes[l].capacity)));
        m.add_row(..=0.0, row);
    }
    for (n, row) in net.into_iter().enumerate() {
        if let Some(room) = problem.room[n] {
            m.add_row(..=f64::from(room), row);
        }
    }
    m
}
