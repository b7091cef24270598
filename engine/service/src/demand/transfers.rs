//! PlanTransfers: the rebalancing plan. Which units to move between nodes,
//! on the network's lanes, so that transfer costs plus the expected cost of
//! the shortfalls the demand forecast predicts at every node over the
//! horizon are least (the MILP of `allot_solver::transfer`, in HiGHS).
//!
//! A node's demand is its region's (the region whose centroid is nearest,
//! [`super::node_region`]), shared equally among the nodes of the plan
//! whose region it is, summed over the horizon: a negative binomial
//! moment-matched from the daily forecasts. A unit short there costs
//! [`LOST_SHARE`] of a lost sale (the SKU's unit price times
//! `lost_sale_permille`) plus the rest of an extra package from another
//! node (the split penalty). The units a node can sell are its available
//! units (on hand less reserved); the units that may leave are those less
//! its protected units.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use allot_engine::allocation::transfer::{
    Item, Position, TransferLane, TransferProblem, TransferSolution, solve_transfers,
};
use allot_engine::network::{Network, NodeId, RegionId, SkuId};
use allot_models::demand::{DemandForecaster, NegativeBinomial, Series};
use chrono::{Days, NaiveDate};

use super::sales::local_date;
use super::{lag_days, node_region, series_of, served_model};
use crate::clock::Clock;
use crate::engine::Engine;
use crate::error::ServiceError;
use crate::pool::SolverPool;

/// Most SKUs in one plan.
pub const MAX_PLAN_SKUS: usize = 200;
/// Time a plan may take when the caller sets no deadline.
pub const DEFAULT_PLAN_BUDGET: Duration = Duration::from_secs(5);
/// Longest a plan may take, whatever the caller's deadline.
pub const MAX_PLAN_BUDGET: Duration = Duration::from_secs(60);
/// Share of the time left after the forecast that HiGHS is given.
const SOLVE_SHARE: f64 = 0.6;
/// Share of a node's shortfall that is a lost sale; the rest ships from
/// another node as an extra package.
pub const LOST_SHARE: f64 = 0.5;
/// Units past the point where demand reaches them with less than this
/// probability are worth nothing in the plan.
const NEGLIGIBLE: f64 = 1e-4;
/// Most units of one SKU the plan values at one node.
const MAX_VALUED_UNITS: u32 = 5_000;

/// One PlanTransfers call, validated by the adapter (codes resolved).
#[derive(Debug, Clone, PartialEq)]
pub struct TransferQuery {
    /// The SKUs to rebalance, each once.
    pub skus: Vec<SkuId>,
    /// The nodes that may send or receive; empty: every node.
    pub nodes: Vec<NodeId>,
    /// Days of demand the plan covers, 1..=28; lanes slower than this are
    /// not used.
    pub horizon_days: usize,
    /// When the answer is due.
    pub deadline: Instant,
}

/// One SKU on one transfer, and what it is for.
#[derive(Debug, Clone, PartialEq)]
pub struct TransferLine {
    /// The SKU.
    pub sku: SkuId,
    /// Units moved.
    pub units: u32,
    /// Their retail value (units times the unit price), minor units.
    pub value_minor: i64,
    /// Demand expected at the destination over the horizon, units.
    pub demand: f64,
    /// Units the destination can sell before the plan.
    pub stock_before: u32,
    /// Units it can sell after the plan.
    pub stock_after: u32,
    /// Expected units short at the destination before the plan.
    pub short_before: f64,
    /// Expected units short there after it.
    pub short_after: f64,
    /// Expected units short added at the origin by the units leaving.
    pub short_added_at_origin: f64,
}

/// One lane's transfers in the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedTransfer {
    /// The lane (index into the network's lanes).
    pub lane: usize,
    /// Dispatches (trucks) on it.
    pub dispatches: u32,
    /// Units moved, all SKUs.
    pub units: u32,
    /// Unit and dispatch costs, minor units.
    pub cost_minor: i64,
    /// The destination's local date when the units can be sold.
    pub arrives_on: NaiveDate,
    /// Per SKU.
    pub lines: Vec<TransferLine>,
}

/// A whole plan.
#[derive(Debug, Clone, PartialEq)]
pub struct TransferAnswer {
    /// The demand model's version.
    pub model_version: String,
    /// Days covered.
    pub horizon_days: usize,
    /// The transfers, by origin then destination.
    pub transfers: Vec<PlannedTransfer>,
    /// Transfer costs, minor units.
    pub transfer_cost_minor: i64,
    /// Expected shortfall cost without the plan, minor units.
    pub shortfall_cost_before_minor: i64,
    /// Expected shortfall cost with it, minor units.
    pub shortfall_cost_after_minor: i64,
    /// Whether HiGHS proved the plan optimal.
    pub proven: bool,
    /// Relative gap to the bound (0 when proven).
    pub gap: f64,
    /// Lanes the plan could use (within the horizon, between its nodes).
    pub lanes_considered: usize,
    /// Columns of the MILP.
    pub columns: usize,
    /// Time spent solving.
    pub solve_time: Duration,
    /// Time spent in all (forecast, model, solve).
    pub elapsed: Duration,
}

/// The PlanTransfers use case.
pub struct Rebalancing {
    engine: Arc<Engine>,
    clock: Arc<dyn Clock>,
    pool: SolverPool,
}

impl Rebalancing {
    /// Over `engine`'s network, stock and demand model, at `clock`'s time,
    /// solving on `pool`.
    pub fn new(engine: Arc<Engine>, clock: Arc<dyn Clock>, pool: SolverPool) -> Rebalancing {
        Rebalancing {
            engine,
            clock,
            pool,
        }
    }

    /// Plans the transfers of `query`.
    pub async fn plan(&self, query: TransferQuery) -> Result<TransferAnswer, ServiceError> {
        let model = served_model(&self.engine)?;
        let engine = self.engine.clone();
        let now = self.clock.now();
        let deadline = query.deadline;
        self.pool
            .run(deadline, move || plan(&engine, &model, &query, now))
            .await?
    }
}

/// The nodes of the plan and where each sits in the MILP.
struct Places {
    nodes: Vec<NodeId>,
    dense: HashMap<NodeId, usize>,
}

fn plan(
    engine: &Engine,
    model: &DemandForecaster,
    query: &TransferQuery,
    now: std::time::SystemTime,
) -> Result<TransferAnswer, ServiceError> {
    let started = Instant::now();
    let built = TransferModel::build(engine, model, query, now)?;
    // HiGHS overshoots its time limit on large models (by up to about 1 s
    // at 100 SKUs over the demo network): it gets a share of what is left.
    let left = query.deadline.saturating_duration_since(Instant::now());
    let solve_by = Instant::now() + left.mul_f64(SOLVE_SHARE);
    let solution = solve_transfers(built.problem(), solve_by)
        .map_err(|e| ServiceError::internal(format!("transfer plan: {e}")))?;
    Ok(built.answer(&engine.network, &solution, model.version(), now, started))
}

/// A plan's MILP and what it was built from (to explain its answer).
pub struct TransferModel {
    problem: TransferProblem,
    /// Per MILP lane, the index of the network lane.
    lanes: Vec<usize>,
    places: Places,
    demand: HashMap<(SkuId, NodeId), NegativeBinomial>,
    /// What a unit short costs, per item.
    per_unit: Vec<f64>,
    skus: Vec<SkuId>,
    horizon_days: usize,
}

impl TransferModel {
    /// The MILP of `query`: demand forecast from `engine`'s sales history
    /// at `now`, stock and storage from its stock store. Blocking (the
    /// model runs once per horizon day over every series).
    pub fn build(
        engine: &Engine,
        model: &DemandForecaster,
        query: &TransferQuery,
        now: std::time::SystemTime,
    ) -> Result<TransferModel, ServiceError> {
        let net = &engine.network;
        let nodes: Vec<NodeId> = if query.nodes.is_empty() {
            net.node_ids().collect()
        } else {
            query.nodes.clone()
        };
        let places = Places {
            dense: nodes.iter().enumerate().map(|(i, &n)| (n, i)).collect(),
            nodes,
        };
        let lanes: Vec<usize> = net
            .lanes()
            .iter()
            .enumerate()
            .filter(|(_, l)| {
                (l.lead_days as usize) < query.horizon_days
                    && places.dense.contains_key(&l.from)
                    && places.dense.contains_key(&l.to)
            })
            .map(|(i, _)| i)
            .collect();
        let demand = node_demand(net, model, engine, query, &places, now)?;
        let params = engine.allocator.params();
        let per_unit: Vec<f64> = query
            .skus
            .iter()
            .map(|&sku| {
                let lost =
                    (net.sku(sku).unit_price_minor * params.lost_sale_permille) as f64 / 1000.0;
                LOST_SHARE * lost + (1.0 - LOST_SHARE) * params.split_penalty as f64
            })
            .collect();
        let problem = TransferProblem {
            nodes: places.nodes.len(),
            room: places.nodes.iter().map(|&n| room(engine, n)).collect(),
            lanes: lanes
                .iter()
                .map(|&i| {
                    let l = &net.lanes()[i];
                    TransferLane {
                        from: places.dense[&l.from],
                        to: places.dense[&l.to],
                        unit_cost: l.unit_cost_minor,
                        fixed_cost: l.fixed_cost_minor,
                        capacity: l.capacity_units,
                    }
                })
                .collect(),
            items: query
                .skus
                .iter()
                .zip(&per_unit)
                .map(|(&sku, &per_unit)| item(engine, &places, sku, &demand, per_unit))
                .collect(),
        };
        Ok(TransferModel {
            problem,
            lanes,
            places,
            demand,
            per_unit,
            skus: query.skus.clone(),
            horizon_days: query.horizon_days,
        })
    }

    /// The MILP.
    pub fn problem(&self) -> &TransferProblem {
        &self.problem
    }
}

/// Per (SKU, node of the plan): its demand over the horizon.
fn node_demand(
    net: &Network,
    model: &DemandForecaster,
    engine: &Engine,
    query: &TransferQuery,
    places: &Places,
    now: std::time::SystemTime,
) -> Result<HashMap<(SkuId, NodeId), NegativeBinomial>, ServiceError> {
    let mut sharing: BTreeMap<RegionId, Vec<NodeId>> = BTreeMap::new();
    for &n in &places.nodes {
        sharing.entry(node_region(net, n)).or_default().push(n);
    }
    let mut by_start: BTreeMap<NaiveDate, Vec<(SkuId, RegionId)>> = BTreeMap::new();
    for &sku in &query.skus {
        for &region in sharing.keys() {
            by_start
                .entry(local_date(net, region, now))
                .or_default()
                .push((sku, region));
        }
    }
    let mut out = HashMap::new();
    for (start, keys) in by_start {
        let lags = lag_days(start);
        let series: Vec<Series> = keys
            .iter()
            .map(|&(sku, region)| {
                let units = engine.sales.units(sku, region, &lags);
                series_of(net, sku, &units, Vec::new())
            })
            .collect();
        let means = model
            .means(&series, start, query.horizon_days)
            .map_err(|e| ServiceError::internal(format!("demand model: {e}")))?;
        for (&(sku, region), means) in keys.iter().zip(means) {
            let total = model.total_distribution(means);
            let share = sharing[&region].len() as f64;
            // Each customer picks one of the region's nodes at random.
            let mean = total.mean() / share;
            let variance = mean + (total.variance() - total.mean()) / (share * share);
            let each = NegativeBinomial::from_moments(mean, variance);
            for &n in &sharing[&region] {
                out.insert((sku, n), each);
            }
        }
    }
    Ok(out)
}

/// Units `node` may still gain: its storage less what it holds.
fn room(engine: &Engine, node: NodeId) -> Option<u32> {
    let storage = engine.network.node(node).storage_units?;
    let held: i64 = engine
        .stock
        .node_levels(node)
        .1
        .iter()
        .map(|(_, l)| l.on_hand.max(0))
        .sum();
    Some(u32::try_from((i64::from(storage) - held).max(0)).unwrap_or(0))
}

/// `sku` at every node of the plan that holds it or expects demand.
fn item(
    engine: &Engine,
    places: &Places,
    sku: SkuId,
    demand: &HashMap<(SkuId, NodeId), NegativeBinomial>,
    per_unit: f64,
) -> Item {
    let positions = places
        .nodes
        .iter()
        .enumerate()
        .filter_map(|(i, &node)| {
            let level = engine.stock.level(node, sku);
            let stock = u32::try_from(level.available()).unwrap_or(u32::MAX);
            let movable = u32::try_from((level.available() - level.protected).max(0)).unwrap_or(0);
            let value = demand
                .get(&(sku, node))
                .map(|d| values(d, per_unit))
                .unwrap_or_default();
            (stock > 0 || !value.is_empty()).then_some(Position {
                node: i,
                stock,
                movable,
                value,
            })
        })
        .collect();
    Item { positions }
}

/// The value of the k-th unit held against `demand`: `per_unit` times the
/// chance demand reaches it, for every unit demand reaches with at least
/// [`NEGLIGIBLE`] probability.
fn values(demand: &NegativeBinomial, per_unit: f64) -> Vec<f64> {
    if demand.mean() <= 0.0 {
        return Vec::new();
    }
    let upto = demand.quantile(1.0 - NEGLIGIBLE).clamp(1, MAX_VALUED_UNITS);
    demand
        .survival_upto(upto)
        .into_iter()
        .take_while(|&p| p >= NEGLIGIBLE)
        .map(|p| per_unit * p)
        .collect()
}

/// Expected units short when `q` units meet `demand`: sum of P(D >= k)
/// over k > q.
fn short(position: Option<&Position>, q: u32, per_unit: f64) -> f64 {
    position.map_or(0.0, |p| {
        p.shortfall_cost(q) / per_unit.max(f64::MIN_POSITIVE)
    })
}

impl TransferModel {
    /// The answer `solution` of this model gives, with the reasons.
    pub fn answer(
        &self,
        net: &Network,
        solution: &TransferSolution,
        model_version: &str,
        now: std::time::SystemTime,
        started: Instant,
    ) -> TransferAnswer {
        let TransferModel {
            problem,
            lanes,
            places,
            demand,
            per_unit,
            skus,
            horizon_days,
        } = self;
        let plan = &solution.plan;
        // Units after the plan per (item, dense node).
        let mut after: HashMap<(usize, usize), i64> = HashMap::new();
        for f in &plan.flows {
            let lane = &problem.lanes[f.lane];
            *after.entry((f.item, lane.to)).or_default() += i64::from(f.units);
            *after.entry((f.item, lane.from)).or_default() -= i64::from(f.units);
        }
        let held = |item: usize, node: usize| -> (u32, u32) {
            let before = problem.items[item].at(node).map_or(0, |p| p.stock);
            let change = after.get(&(item, node)).copied().unwrap_or(0);
            (before, (i64::from(before) + change).max(0) as u32)
        };
        let mut transfers: Vec<PlannedTransfer> = Vec::new();
        for (l, &index) in lanes.iter().enumerate() {
            let lane = &net.lanes()[index];
            let flows: Vec<_> = plan.flows.iter().filter(|f| f.lane == l).collect();
            if flows.is_empty() {
                continue;
            }
            let (from, to) = (problem.lanes[l].from, problem.lanes[l].to);
            let lines: Vec<TransferLine> = flows
                .iter()
                .map(|f| {
                    let sku = skus[f.item];
                    let item = &problem.items[f.item];
                    let per_unit = per_unit[f.item];
                    let (before, after_to) = held(f.item, to);
                    let (origin_before, origin_after) = held(f.item, from);
                    TransferLine {
                        sku,
                        units: f.units,
                        value_minor: net.sku(sku).unit_price_minor * i64::from(f.units),
                        demand: demand
                            .get(&(sku, places.nodes[to]))
                            .map_or(0.0, |d| d.mean()),
                        stock_before: before,
                        stock_after: after_to,
                        short_before: short(item.at(to), before, per_unit),
                        short_after: short(item.at(to), after_to, per_unit),
                        short_added_at_origin: short(item.at(from), origin_after, per_unit)
                            - short(item.at(from), origin_before, per_unit),
                    }
                })
                .collect();
            let units: u32 = lines.iter().map(|l| l.units).sum();
            let dispatches = plan.dispatches[l];
            let region = node_region(net, lane.to);
            let today = local_date(net, region, now);
            transfers.push(PlannedTransfer {
                lane: index,
                dispatches,
                units,
                cost_minor: lane.unit_cost_minor * i64::from(units)
                    + lane.fixed_cost_minor * i64::from(dispatches),
                arrives_on: today
                    .checked_add_days(Days::new(u64::from(lane.lead_days)))
                    .unwrap_or(today),
                lines,
            });
        }
        let cost = allot_engine::allocation::transfer::cost(problem, plan);
        TransferAnswer {
            model_version: model_version.to_string(),
            horizon_days: *horizon_days,
            transfers,
            transfer_cost_minor: cost.transfer,
            shortfall_cost_before_minor: (solution.baseline).round() as i64,
            shortfall_cost_after_minor: cost.shortfall.round() as i64,
            proven: solution.proven,
            gap: solution.gap(),
            lanes_considered: lanes.len(),
            columns: solution.columns,
            solve_time: solution.elapsed,
            elapsed: started.elapsed(),
        }
    }
}
