//! The rebalancing MILP in HiGHS.
//!
//! Integer `x[l,i]` (units of item `i` on lane `l`) and `n[l]` (dispatches
//! of lane `l`), continuous `z[i,p,k]` in [0, 1] (whether the k-th unit of
//! position `p` is held). Minimise
//! `sum_l (fixed[l] n[l] + unit[l] sum_i x[l,i]) - sum value[i,p,k] z[i,p,k]`
//! (plus the constant expected shortfall cost of holding nothing) subject to
//!
//! - holding: `sum_k z[i,p,k] <= stock[i,p] + arrivals - departures`;
//! - departures: `sum_{l from p} x[l,i] <= movable[i,p]`;
//! - lanes: `sum_i x[l,i] <= capacity[l] n[l]`;
//! - storage: `sum_{l to n} x - sum_{l from n} x <= room[n]`.
//!
//! Values are non-increasing in k, so the LP fills the most valuable units
//! first and `sum_k z` prices the staircase exactly. Reductions keep the
//! model small and lose no optimum (each holds for some optimal plan, since
//! taking one unit off a flow that breaks it never costs more):
//!
//! - a position always holds its floor: the units that may not leave, and
//!   those worth at least the most a unit of the item is worth anywhere
//!   less the cheapest lane out (moving one could not pay), so `z` starts
//!   above it;
//! - past its stock, a position values only units worth more than the
//!   cheapest lane in;
//! - `x[l,i]` exists only if the best unit that could arrive (the one just
//!   above the destination's floor) is worth more than the lane's unit
//!   cost.
//!
//! HiGHS stops at a relative gap of [`TRANSFER_REL_GAP`].

use std::time::{Duration, Instant};

use highs::{Col, HighsModelStatus, HighsSolutionStatus, RowProblem, Sense};

use super::{Flow, Position, TransferPlan, TransferProblem, cost};
use crate::error::SolverError;
use crate::milp::{MIN_TIME_LIMIT_S, RANDOM_SEED, set};

/// Relative gap at which HiGHS stops and a plan counts as optimal.
pub const TRANSFER_REL_GAP: f64 = 1e-4;

/// What the solve found.
#[derive(Debug, Clone, PartialEq)]
pub struct TransferSolution {
    /// The best plan found (the empty plan when HiGHS found none better).
    pub plan: TransferPlan,
    /// Its objective: transfer cost plus expected shortfall cost.
    pub objective: f64,
    /// The objective of moving nothing.
    pub baseline: f64,
    /// A lower bound on the optimum.
    pub lower_bound: f64,
    /// Whether the plan is proven optimal (within [`TRANSFER_REL_GAP`]).
    pub proven: bool,
    /// Integer and continuous columns of the model.
    pub columns: usize,
    /// Time spent.
    pub elapsed: Duration,
}

impl TransferSolution {
    /// Relative gap between the plan and the bound (0 when proven).
    pub fn gap(&self) -> f64 {
        if self.proven {
            return 0.0;
        }
        ((self.objective - self.lower_bound) / self.objective.abs().max(1.0)).max(0.0)
    }
}

/// The columns of one flow.
struct FlowCol {
    lane: usize,
    item: usize,
    col: Col,
}

/// Solves `problem` by `deadline`. The empty plan is always feasible, so
/// an answer exists whenever HiGHS runs; past the deadline it is the best
/// plan found, with the bound.
pub fn solve_transfers(
    problem: &TransferProblem,
    deadline: Instant,
) -> Result<TransferSolution, SolverError> {
    let started = Instant::now();
    let baseline = cost(problem, &TransferPlan::none(problem)).total();
    let mut m = RowProblem::default();
    let mut constant = 0.0;
    // Dispatch columns, created for lanes that carry any flow column.
    let mut dispatch: Vec<Option<Col>> = vec![None; problem.lanes.len()];
    let mut lane_rows: Vec<Vec<(Col, f64)>> = vec![Vec::new(); problem.lanes.len()];
    let mut net_rows: Vec<Vec<(Col, f64)>> = vec![Vec::new(); problem.nodes];
    let mut flows: Vec<FlowCol> = Vec::new();
    let (mut cheapest_out, mut cheapest_in) =
        (vec![None; problem.nodes], vec![None; problem.nodes]);
    for lane in &problem.lanes {
        let cost = lane.unit_cost as f64;
        for slot in [&mut cheapest_out[lane.from], &mut cheapest_in[lane.to]] {
            *slot = Some(slot.map_or(cost, |c: f64| c.min(cost)));
        }
    }
    for (i, item) in problem.items.iter().enumerate() {
        // Per position: its holding row (columns, and the constant stock
        // above the floor) and its departures.
        let mut holding: Vec<Vec<(Col, f64)>> = vec![Vec::new(); item.positions.len()];
        let mut departures: Vec<Vec<(Col, f64)>> = vec![Vec::new(); item.positions.len()];
        // The most a unit of the item is worth anywhere.
        let most = item
            .positions
            .iter()
            .filter_map(|p| p.value.first().copied())
            .fold(0.0, f64::max);
        let floor = |p: usize| {
            floor(
                &item.positions[p],
                most,
                cheapest_out[item.positions[p].node],
            )
        };
        for (l, lane) in problem.lanes.iter().enumerate() {
            let (Some(src), Some(dst)) = (
                item.positions.iter().position(|p| p.node == lane.from),
                item.positions.iter().position(|p| p.node == lane.to),
            ) else {
                continue;
            };
            let movable = item.positions[src].movable.min(item.positions[src].stock);
            if movable == 0 {
                continue;
            }
            let best = item.positions[dst]
                .value
                .get(floor(dst) as usize)
                .copied()
                .unwrap_or(0.0);
            if best <= lane.unit_cost as f64 {
                continue;
            }
            // No more than the source can send, one dispatch carries, or
            // the destination can value above its floor.
            let dst_pos = &item.positions[dst];
            let useful =
                top(dst_pos, cheapest_in[dst_pos.node]).saturating_sub(floor(dst) as usize);
            let most_units = movable.min(lane.capacity).min(useful as u32);
            if most_units == 0 {
                continue;
            }
            let x = m.add_integer_column(lane.unit_cost as f64, 0.0..=f64::from(movable));
            let n = match dispatch[l] {
                Some(n) => n,
                None => {
                    let most = f64::from(dispatch_bound(problem, l));
                    let n = m.add_integer_column(lane.fixed_cost as f64, 0.0..=most);
                    dispatch[l] = Some(n);
                    n
                }
            };
            // Disaggregated linking: x <= most_units n (tighter than the
            // lane's capacity row alone).
            m.add_row(..=0.0, [(x, 1.0), (n, -f64::from(most_units))]);
            lane_rows[l].push((x, 1.0));
            holding[dst].push((x, -1.0));
            holding[src].push((x, 1.0));
            departures[src].push((x, 1.0));
            net_rows[lane.to].push((x, 1.0));
            net_rows[lane.from].push((x, -1.0));
            flows.push(FlowCol {
                lane: l,
                item: i,
                col: x,
            });
        }
        for (p, pos) in item.positions.iter().enumerate() {
            let floor = floor(p) as usize;
            let receives = holding[p].iter().any(|&(_, a)| a < 0.0);
            let top = if receives {
                top(pos, cheapest_in[pos.node])
            } else {
                (pos.stock as usize).min(pos.value.len())
            };
            // Units above `top` are never held: their value stays a cost.
            constant += pos.value.iter().skip(floor.max(top)).sum::<f64>();
            if floor >= top {
                continue;
            }
            let mut row = std::mem::take(&mut holding[p]);
            for k in floor..top {
                constant += pos.value[k];
                row.push((m.add_column(-pos.value[k], 0.0..=1.0), 1.0));
            }
            // sum z + departures - arrivals <= stock - floor
            m.add_row(..=f64::from(pos.stock) - floor as f64, row);
        }
        for (p, out) in departures.into_iter().enumerate() {
            if !out.is_empty() {
                m.add_row(
                    ..=f64::from(item.positions[p].movable.min(item.positions[p].stock)),
                    out,
                );
            }
        }
    }
    for (l, row) in lane_rows.into_iter().enumerate() {
        if let Some(n) = dispatch[l] {
            let mut row = row;
            row.push((n, -f64::from(problem.lanes[l].capacity)));
            m.add_row(..=0.0, row);
        }
    }
    for (node, row) in net_rows.into_iter().enumerate() {
        if let (Some(room), false) = (problem.room[node], row.is_empty()) {
            m.add_row(..=f64::from(room), row);
        }
    }
    let columns = m.num_cols();
    if flows.is_empty() {
        return Ok(TransferSolution {
            plan: TransferPlan::none(problem),
            objective: baseline,
            baseline,
            lower_bound: baseline,
            proven: true,
            columns,
            elapsed: started.elapsed(),
        });
    }
    let mut model = m
        .try_optimise(Sense::Minimise)
        .map_err(|e| SolverError(format!("building the transfer model: {e:?}")))?;
    set(&mut model, "threads", 1)?;
    set(&mut model, "output_flag", false)?;
    set(&mut model, "random_seed", RANDOM_SEED)?;
    set(&mut model, "mip_rel_gap", TRANSFER_REL_GAP)?;
    set(
        &mut model,
        "time_limit",
        deadline
            .saturating_duration_since(Instant::now())
            .as_secs_f64()
            .max(MIN_TIME_LIMIT_S),
    )?;
    let solved = model
        .try_solve()
        .map_err(|e| SolverError(format!("HiGHS run failed: {e:?}")))?;
    let status = solved.status();
    let mut plan = TransferPlan::none(problem);
    if solved.primal_solution_status() == HighsSolutionStatus::Feasible {
        let values = solved.get_solution().columns().to_vec();
        for f in &flows {
            let units = values[f.col.index()].round().max(0.0) as u32;
            if units > 0 {
                plan.flows.push(Flow {
                    lane: f.lane,
                    item: f.item,
                    units,
                });
            }
        }
        for (l, n) in dispatch.iter().enumerate() {
            if let Some(n) = n {
                plan.dispatches[l] = values[n.index()].round().max(0.0) as u32;
            }
        }
        plan.flows.sort_by_key(|f| (f.lane, f.item));
    }
    let mut objective = cost(problem, &plan).total();
    if objective > baseline || super::check(problem, &plan).is_err() {
        plan = TransferPlan::none(problem);
        objective = baseline;
    }
    let proven = status == HighsModelStatus::Optimal;
    let lower_bound = if proven {
        objective
    } else {
        solved
            .double_info_value(c"mip_dual_bound")
            .ok()
            .filter(|b| b.is_finite())
            .map_or(f64::NEG_INFINITY, |b| b + constant)
            .min(objective)
    };
    Ok(TransferSolution {
        plan,
        objective,
        baseline,
        lower_bound,
        proven,
        columns,
        elapsed: started.elapsed(),
    })
}

/// The units of `pos` always held in some optimal plan: those that may not
/// leave, and those worth at least `most` (the most a unit of the item is
/// worth anywhere) less the cheapest lane out of the node (`None`: no lane
/// out), since moving one could not pay.
fn floor(pos: &Position, most: f64, cheapest_out: Option<f64>) -> u32 {
    let stuck = pos.stock - pos.movable.min(pos.stock);
    let Some(cost) = cheapest_out else {
        return pos.stock;
    };
    let kept = pos
        .value
        .iter()
        .take(pos.stock as usize)
        .take_while(|&&v| v + cost >= most)
        .count() as u32;
    stuck.max(kept)
}

/// Units of `pos` worth holding when it may receive: past its stock, only
/// those worth more than the cheapest lane in costs.
fn top(pos: &Position, cheapest_in: Option<f64>) -> usize {
    let cost = cheapest_in.unwrap_or(f64::INFINITY);
    let worth = pos.value.iter().take_while(|&&v| v > cost).count();
    worth.max(pos.stock as usize).min(pos.value.len())
}

/// Most dispatches lane `l` could need: every movable unit at its origin.
fn dispatch_bound(problem: &TransferProblem, l: usize) -> u32 {
    let lane = &problem.lanes[l];
    let movable: u64 = problem
        .items
        .iter()
        .filter_map(|item| item.at(lane.from))
        .map(|p| u64::from(p.movable))
        .sum();
    u32::try_from(movable.div_ceil(u64::from(lane.capacity))).unwrap_or(u32::MAX)
}
