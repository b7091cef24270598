//! The daily transfer plan: the PlanTransfers model of the service
//! ([`TransferModel`]: the demand forecast per node over the horizon, the
//! shortfall values, the lanes) for the SKUs that sold the most units over
//! the network in the last 7 days, every node; solved by the greedy plan
//! (HiGHS's first incumbent, deterministic) or by HiGHS within a time
//! limit (the service's solve, deterministic only when it proves the plan
//! optimal). What it moves leaves the origin at once and arrives after
//! the lane's lead days ([`Supply::send`]).

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use allot_engine::allocation::transfer::greedy::greedy;
use allot_engine::allocation::transfer::{TransferPlan, TransferSolution, cost, solve_transfers};
use allot_engine::network::SkuId;
use allot_models::demand::DemandForecaster;
use allot_service::demand::transfers::{TransferAnswer, TransferModel, TransferQuery};
use allot_service::engine::Engine;
use chrono::{Days, NaiveDate};

use super::SimError;
use super::supply::{Arrival, Supply};

/// How a transfer plan is solved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferSolver {
    /// The greedy plan alone (each time the dispatch that saves the most).
    Greedy,
    /// HiGHS from the greedy plan, within the time limit.
    Milp(Duration),
}

/// The `count` SKUs with the most units sold over the network in the 7
/// days before `today` (ties by SKU id).
pub fn best_sellers(engine: &Engine, today: NaiveDate, count: usize) -> Vec<SkuId> {
    let from = today.checked_sub_days(Days::new(7)).unwrap_or(today);
    let to = today.pred_opt().unwrap_or(today);
    let mut by_sku: BTreeMap<SkuId, u64> = BTreeMap::new();
    for ((sku, _), units) in engine.sales.sold_between(from, to) {
        *by_sku.entry(sku).or_default() += u64::from(units);
    }
    let mut skus: Vec<(SkuId, u64)> = by_sku.into_iter().collect();
    skus.sort_by_key(|&(sku, units)| (std::cmp::Reverse(units), sku));
    skus.into_iter().take(count).map(|(s, _)| s).collect()
}

/// What one day's plan did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Planned {
    /// Units sent.
    pub units: u64,
    /// Lane dispatches.
    pub dispatches: u64,
    /// Unit and dispatch costs, cents.
    pub cost: i64,
    /// Whether HiGHS proved the plan optimal.
    pub proven: bool,
}

/// Plans the transfers of `skus` over every node for `horizon_days` at
/// `now`, solved with `solver`, and sends them on day `day`.
#[allow(clippy::too_many_arguments)]
pub fn plan_and_send(
    engine: &Engine,
    model: &DemandForecaster,
    supply: &mut Supply,
    skus: Vec<SkuId>,
    horizon_days: usize,
    solver: TransferSolver,
    day: usize,
    now: SystemTime,
) -> Result<Planned, SimError> {
    if skus.is_empty() {
        return Ok(Planned::default());
    }
    let started = Instant::now();
    let limit = match solver {
        TransferSolver::Greedy => Duration::from_secs(1),
        TransferSolver::Milp(limit) => limit,
    };
    let query = TransferQuery {
        skus,
        nodes: Vec::new(),
        horizon_days,
        deadline: started + limit,
    };
    let built = TransferModel::build(engine, model, &query, now)
        .map_err(|e| SimError::Plan(e.to_string()))?;
    let solution = match solver {
        TransferSolver::Greedy => greedy_solution(built.problem()),
        TransferSolver::Milp(limit) => solve_transfers(built.problem(), Instant::now() + limit)
            .map_err(|e| SimError::Plan(e.to_string()))?,
    };
    let answer: TransferAnswer =
        built.answer(&engine.network, &solution, model.version(), now, started);
    let mut planned = Planned {
        proven: solution.proven,
        ..Planned::default()
    };
    for t in &answer.transfers {
        let lane = &engine.network.lanes()[t.lane];
        planned.dispatches += u64::from(t.dispatches);
        planned.cost += t.cost_minor;
        for line in &t.lines {
            let arrival = Arrival {
                day: day + lane.lead_days as usize,
                node: lane.to,
                sku: line.sku,
                units: line.units,
            };
            let sent = supply.send(&engine.stock, lane.from, arrival, now)?;
            if sent != line.units {
                return Err(SimError::Invariant(format!(
                    "the plan moves {} units of SKU #{} out of {}, which can send {sent}",
                    line.units,
                    line.sku.0,
                    engine.network.node(lane.from).code
                )));
            }
            planned.units += u64::from(sent);
        }
    }
    Ok(planned)
}

/// The greedy plan over every (lane, SKU), as a solution.
fn greedy_solution(
    problem: &allot_engine::allocation::transfer::TransferProblem,
) -> TransferSolution {
    let started = Instant::now();
    let pairs: Vec<(usize, usize)> = (0..problem.lanes.len())
        .flat_map(|l| (0..problem.items.len()).map(move |i| (l, i)))
        .collect();
    let plan = greedy(problem, &pairs);
    let objective = cost(problem, &plan).total();
    let baseline = cost(problem, &TransferPlan::none(problem)).total();
    TransferSolution {
        plan,
        objective,
        baseline,
        lower_bound: f64::NEG_INFINITY,
        proven: false,
        columns: 0,
        elapsed: started.elapsed(),
    }
}
