//! A plan's cost and feasibility, computed from the plan alone (not from
//! the MILP): what the tests hold the solver to.

use super::{TransferPlan, TransferProblem};

/// What a plan costs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlanCost {
    /// Unit and dispatch costs of the transfers.
    pub transfer: i64,
    /// Expected shortfall cost at every position after the transfers.
    pub shortfall: f64,
}

impl PlanCost {
    /// Transfer plus shortfall cost: the objective.
    pub fn total(&self) -> f64 {
        self.transfer as f64 + self.shortfall
    }
}

/// Units of every item at every position after `plan`, in the problem's
/// order (`None` where a position would go negative).
fn after(problem: &TransferProblem, plan: &TransferPlan) -> Vec<Vec<Option<u32>>> {
    problem
        .items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            item.positions
                .iter()
                .map(|p| {
                    let mut q = i64::from(p.stock);
                    for f in plan.flows.iter().filter(|f| f.item == i) {
                        let lane = &problem.lanes[f.lane];
                        if lane.to == p.node {
                            q += i64::from(f.units);
                        }
                        if lane.from == p.node {
                            q -= i64::from(f.units);
                        }
                    }
                    u32::try_from(q).ok()
                })
                .collect()
        })
        .collect()
}

/// The cost of `plan` (assumed feasible; see [`check`]).
pub fn cost(problem: &TransferProblem, plan: &TransferPlan) -> PlanCost {
    let transfer = plan
        .flows
        .iter()
        .map(|f| problem.lanes[f.lane].unit_cost * i64::from(f.units))
        .sum::<i64>()
        + plan
            .dispatches
            .iter()
            .zip(&problem.lanes)
            .map(|(&n, l)| l.fixed_cost * i64::from(n))
            .sum::<i64>();
    let shortfall = problem
        .items
        .iter()
        .zip(after(problem, plan))
        .flat_map(|(item, qs)| {
            item.positions
                .iter()
                .zip(qs)
                .map(|(p, q)| p.shortfall_cost(q.unwrap_or(0)))
        })
        .sum();
    PlanCost {
        transfer,
        shortfall,
    }
}

/// Why `plan` is not a plan of `problem`, if it is not.
pub fn check(problem: &TransferProblem, plan: &TransferPlan) -> Result<(), String> {
    if plan.dispatches.len() != problem.lanes.len() {
        return Err(format!(
            "{} dispatch counts for {} lanes",
            plan.dispatches.len(),
            problem.lanes.len()
        ));
    }
    let mut carried = vec![0u64; problem.lanes.len()];
    let mut net_in = vec![0i64; problem.nodes];
    for f in &plan.flows {
        let lane = problem
            .lanes
            .get(f.lane)
            .ok_or_else(|| format!("flow on lane {} of {}", f.lane, problem.lanes.len()))?;
        let item = problem
            .items
            .get(f.item)
            .ok_or_else(|| format!("flow of item {} of {}", f.item, problem.items.len()))?;
        if item.at(lane.to).is_none() {
            return Err(format!(
                "item {} has no position at node {}",
                f.item, lane.to
            ));
        }
        carried[f.lane] += u64::from(f.units);
        net_in[lane.to] += i64::from(f.units);
        net_in[lane.from] -= i64::from(f.units);
    }
    for (l, lane) in problem.lanes.iter().enumerate() {
        if carried[l] > u64::from(lane.capacity) * u64::from(plan.dispatches[l]) {
            return Err(format!(
                "lane {l} carries {} units in {} dispatches of {}",
                carried[l], plan.dispatches[l], lane.capacity
            ));
        }
    }
    for (n, room) in problem.room.iter().enumerate() {
        if let Some(room) = room
            && net_in[n] > i64::from(*room)
        {
            return Err(format!(
                "node {n} gains {} units, room for {room}",
                net_in[n]
            ));
        }
    }
    for (i, item) in problem.items.iter().enumerate() {
        for p in &item.positions {
            let out: u32 = plan
                .flows
                .iter()
                .filter(|f| f.item == i && problem.lanes[f.lane].from == p.node)
                .map(|f| f.units)
                .sum();
            if out > p.movable {
                return Err(format!(
                    "item {i} sends {out} units from node {}, {} movable",
                    p.node, p.movable
                ));
            }
        }
        for f in plan.flows.iter().filter(|f| f.item == i) {
            if item.at(problem.lanes[f.lane].from).is_none() {
                return Err(format!(
                    "item {i} has no position at the source of lane {}",
                    f.lane
                ));
            }
        }
    }
    Ok(())
}
