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
//! taking one unit off a flow that breaks it never costs more; that unit
//! lands back at its origin, so the value reductions are not applied to
//! lanes out of a node with limited storage, nor to what they feed):
//!
//! - a position always holds the units that may not leave, so `z` starts
//!   above them;
//! - past its stock, a position values only units worth more than the
//!   cheapest lane in;
//! - `x[l,i]` exists only if the best unit that could arrive (the one just
//!   above the destination's floor) is worth more than the lane's unit
//!   cost;
//! - a lane is left out when everything it could carry would save less
//!   than one dispatch costs.
//!
//! HiGHS stops at a relative gap of [`TRANSFER_REL_GAP`].

use std::time::{Duration, Instant};

use highs::{Col, HighsModelStatus, HighsSolutionStatus, RowProblem, Sense};

use super::greedy::greedy;
use super::{Flow, Position, TransferPlan, TransferProblem, cost};
use crate::error::SolverError;
use crate::milp::{RANDOM_SEED, set, set_deadline};

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
    /// Relative gap between the plan and the bound, 0 to 1 (0 when
    /// proven, 1 when HiGHS stopped before it had a bound).
    pub fn gap(&self) -> f64 {
        if self.proven {
            return 0.0;
        }
        ((self.objective - self.lower_bound) / self.objective.abs().max(1.0)).clamp(0.0, 1.0)
    }
}

/// A lane worth modelling for an item.
struct Candidate {
    src: usize,
    dst: usize,
    movable: u32,
    most_units: u32,
    gain: f64,
}

/// The column of one unit position held.
struct Held {
    item: usize,
    position: usize,
    /// 0-based: the (k + 1)-th unit.
    k: usize,
    col: Col,
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
    let mut held: Vec<Held> = Vec::new();
    let mut cheapest_in = vec![None; problem.nodes];
    // The reductions below take a unit off a flow, which adds a unit at
    // its origin: where storage is limited that may not fit, so a node
    // with limited storage, and what it feeds, are not reduced.
    let limited: Vec<bool> = problem.room.iter().map(Option::is_some).collect();
    let mut fed_by_limited = vec![false; problem.nodes];
    for lane in &problem.lanes {
        fed_by_limited[lane.to] |= limited[lane.from];
        let cost = lane.unit_cost as f64;
        let slot = &mut cheapest_in[lane.to];
        *slot = Some(slot.map_or(cost, |c: f64| c.min(cost)));
    }
    // Per item and position, the units that may not leave: always held.
    let floors: Vec<Vec<u32>> = problem
        .items
        .iter()
        .map(|item| {
            item.positions
                .iter()
                .map(|p| p.stock - p.movable.min(p.stock))
                .collect()
        })
        .collect();
    let candidate = |i: usize, l: usize| -> Option<Candidate> {
        let item = &problem.items[i];
        let lane = &problem.lanes[l];
        let src = item.positions.iter().position(|p| p.node == lane.from)?;
        let dst = item.positions.iter().position(|p| p.node == lane.to)?;
        let movable = item.positions[src].movable.min(item.positions[src].stock);
        let dst_pos = &item.positions[dst];
        let dst_floor = floors[i][dst] as usize;
        // No more than the source can send, one dispatch carries, or the
        // destination can value above its floor.
        let useful = top(dst_pos, cheapest_in[dst_pos.node]).saturating_sub(dst_floor);
        // A source short of storage may send units the destination does
        // not value, to make room: none of the value reductions hold.
        let freeing = limited[lane.from];
        let most_units = if freeing {
            movable.min(lane.capacity)
        } else {
            movable.min(lane.capacity).min(useful as u32)
        };
        // The best that could arrive is the unit just above the floor.
        let best = dst_pos.value.get(dst_floor).copied().unwrap_or(0.0);
        (most_units > 0 && (freeing || best > lane.unit_cost as f64)).then(|| Candidate {
            src,
            dst,
            movable,
            most_units,
            // What the lane could save at most on this item, however many
            // dispatches it used.
            gain: dst_pos
                .value
                .iter()
                .skip(dst_floor)
                .take(movable.min(useful as u32) as usize)
                .map(|v| (v - lane.unit_cost as f64).max(0.0))
                .sum(),
        })
    };
    // A lane whose dispatch could not save its fixed cost, whatever it
    // carried, stays unused.
    let open: Vec<bool> = (0..problem.lanes.len())
        .map(|l| {
            let gain: f64 = (0..problem.items.len())
                .filter_map(|i| candidate(i, l))
                .map(|c| c.gain)
                .sum();
            limited[problem.lanes[l].from] || gain > problem.lanes[l].fixed_cost as f64
        })
        .collect();
    for (i, item) in problem.items.iter().enumerate() {
        // Per position: its holding row (columns, and the constant stock
        // above the floor) and its departures.
        let mut holding: Vec<Vec<(Col, f64)>> = vec![Vec::new(); item.positions.len()];
        let mut departures: Vec<Vec<(Col, f64)>> = vec![Vec::new(); item.positions.len()];
        let floor = |p: usize| floors[i][p];
        for (l, lane) in problem.lanes.iter().enumerate() {
            if !open[l] {
                continue;
            }
            let Some(Candidate {
                src,
                dst,
                movable,
                most_units,
                ..
            }) = candidate(i, l)
            else {
                continue;
            };
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
            let top = if receives && fed_by_limited[pos.node] {
                pos.value.len()
            } else if receives {
                top(pos, cheapest_in[pos.node])
            } else {
                (pos.stock as usize).min(pos.value.len())
            };
            // Units above `top` are never held: their value stays a cost.
            // A position nothing leaves or reaches keeps its stock.
            if holding[p].is_empty() {
                constant += pos.shortfall_cost(pos.stock);
                continue;
            }
            constant += pos.value.iter().skip(floor.max(top)).sum::<f64>();
            if floor >= top {
                continue;
            }
            let mut row = std::mem::take(&mut holding[p]);
            for k in floor..top {
                constant += pos.value[k];
                let z = m.add_column(-pos.value[k], 0.0..=1.0);
                held.push(Held {
                    item: i,
                    position: p,
                    k,
                    col: z,
                });
                row.push((z, 1.0));
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
    // The greedy plan as the first incumbent.
    let allowed: Vec<(usize, usize)> = flows.iter().map(|f| (f.lane, f.item)).collect();
    let start = greedy(problem, &allowed);
    let values = start_vector(problem, &start, &flows, &dispatch, &held, columns);
    model
        .try_set_solution(Some(&values), None, None, None)
        .map_err(|e| SolverError(format!("setting the HiGHS start: {e:?}")))?;
    set_deadline(&mut model, deadline)?;
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

/// Units of `pos` worth holding when it may receive: past its stock, only
/// those worth more than the cheapest lane in costs.
fn top(pos: &Position, cheapest_in: Option<f64>) -> usize {
    let cost = cheapest_in.unwrap_or(f64::INFINITY);
    let worth = pos.value.iter().take_while(|&&v| v > cost).count();
    worth.max(pos.stock as usize).min(pos.value.len())
}

/// `plan` as values of the model's columns.
fn start_vector(
    problem: &TransferProblem,
    plan: &TransferPlan,
    flows: &[FlowCol],
    dispatch: &[Option<Col>],
    held: &[Held],
    columns: usize,
) -> Vec<f64> {
    let mut v = vec![0.0; columns];
    let mut after: Vec<Vec<i64>> = problem
        .items
        .iter()
        .map(|i| i.positions.iter().map(|p| i64::from(p.stock)).collect())
        .collect();
    for f in &plan.flows {
        if let Some(c) = flows.iter().find(|c| c.lane == f.lane && c.item == f.item) {
            v[c.col.index()] = f64::from(f.units);
        }
        let lane = &problem.lanes[f.lane];
        let item = &problem.items[f.item];
        for (p, pos) in item.positions.iter().enumerate() {
            if pos.node == lane.to {
                after[f.item][p] += i64::from(f.units);
            }
            if pos.node == lane.from {
                after[f.item][p] -= i64::from(f.units);
            }
        }
    }
    for (l, n) in dispatch.iter().enumerate() {
        if let Some(n) = n {
            v[n.index()] = f64::from(plan.dispatches[l]);
        }
    }
    for h in held {
        if (h.k as i64) < after[h.item][h.position] {
            v[h.col.index()] = 1.0;
        }
    }
    v
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
