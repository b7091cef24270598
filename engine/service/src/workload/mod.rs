//! ForecastWorkload: units to pick and ship per node per local day, and
//! the staff hours they take. Forecast demand ([`demand`]) is routed as
//! allocation would route it ([`route`]) and lands on the day the node
//! ships it ([`calendar`]); held reservations add their units on their
//! ship day; [`tally`] sums them per node and day.

pub mod calendar;
pub mod demand;
pub mod route;
pub mod tally;

use std::sync::Arc;
use std::time::{Duration, Instant};

use allot_engine::network::{NodeId, SkuId};

pub use tally::{DayWorkload, NodeWorkload};

use crate::clock::Clock;
use crate::demand::served_model;
use crate::engine::Engine;
use crate::error::{Code, ServiceError};
use crate::pool::SolverPool;
use crate::reservations::ReservationLedger;

/// Time a workload forecast may take when the caller sets no deadline.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(10);
/// Horizon when the request gives none.
pub const DEFAULT_HORIZON_DAYS: usize = 7;
/// Longest horizon, days.
pub const MAX_HORIZON_DAYS: usize = 14;
/// Most SKUs a request may name.
pub const MAX_SKUS: usize = 20;
/// Most series (SKU, region) one forecast routes; the ones with the fewest
/// units sold are left out beyond it.
pub const MAX_SERIES: usize = 4_000;
/// Series routed per turn on the solver pool (allocations get a permit
/// between turns).
const ROUTES_PER_TURN: usize = 64;

/// One ForecastWorkload call, validated by the adapter (codes resolved).
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadQuery {
    /// The nodes to answer for, each once; empty means every node.
    pub nodes: Vec<NodeId>,
    /// The SKUs whose demand and holds count, each once; empty means every
    /// series sold in its lag days (and every held unit).
    pub skus: Vec<SkuId>,
    /// Days from each node's today, 1..=14.
    pub horizon_days: usize,
    /// When the answer is due.
    pub deadline: Instant,
}

/// A whole workload forecast.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadAnswer {
    /// The demand model's version.
    pub model_version: String,
    /// Series forecast and routed to a node.
    pub series_routed: usize,
    /// Series forecast that no node can ship today (no stock anywhere
    /// eligible): their units are in no node's days.
    pub series_unrouted: usize,
    /// Expected units of the unrouted series over the horizon.
    pub unrouted_units: f64,
    /// Series beyond [`MAX_SERIES`], left out (the fewest units sold).
    pub series_left_out: usize,
    /// Per node asked, in the query's order (every node: network order).
    pub nodes: Vec<NodeWorkload>,
}

/// The ForecastWorkload use case.
pub struct Workload {
    engine: Arc<Engine>,
    ledger: Arc<dyn ReservationLedger>,
    clock: Arc<dyn Clock>,
    pool: SolverPool,
}

impl Workload {
    /// Over `engine`'s demand model, sales history and allocator, with the
    /// holds of `ledger`, at `clock`'s time, working on `pool`.
    pub fn new(
        engine: Arc<Engine>,
        ledger: Arc<dyn ReservationLedger>,
        clock: Arc<dyn Clock>,
        pool: SolverPool,
    ) -> Workload {
        Workload {
            engine,
            ledger,
            clock,
            pool,
        }
    }

    /// Forecasts the workload of the nodes of `query`.
    pub async fn forecast(&self, query: WorkloadQuery) -> Result<WorkloadAnswer, ServiceError> {
        let model = served_model(&self.engine)?;
        let model_version = model.version().to_string();
        let now = self.clock.now();
        let deadline = query.deadline;
        let held = self.ledger.held().await?;
        let engine = self.engine.clone();
        let skus = query.skus.clone();
        let days = query.horizon_days;
        let (chosen, forecasts) = self
            .pool
            .run(deadline, move || {
                let chosen = demand::choose(&engine.network, &engine.sales, &skus, MAX_SERIES, now);
                demand::forecast(
                    &engine.network,
                    &model,
                    &engine.sales,
                    &chosen.series,
                    days,
                    now,
                )
                .map(|f| (chosen, f))
                .map_err(|e| ServiceError::internal(format!("demand model: {e}")))
            })
            .await??;
        // Routed a turn at a time: between turns an allocation may take
        // the permit, and a caller gone stops the work.
        let mut routes: Vec<Option<NodeId>> = Vec::with_capacity(forecasts.len());
        for turn in chosen.series.chunks(ROUTES_PER_TURN) {
            if Instant::now() >= deadline {
                return Err(ServiceError::new(
                    Code::DeadlineExceeded,
                    format!(
                        "routed {} of {} series before the deadline; set a longer deadline or name fewer skus",
                        routes.len(),
                        chosen.series.len()
                    ),
                ));
            }
            let engine = self.engine.clone();
            let turn = turn.to_vec();
            let routed = self
                .pool
                .run(deadline, move || {
                    turn.iter()
                        .map(|&(sku, region)| {
                            route::route(&engine.allocator, sku, region, deadline, now)
                        })
                        .collect::<Result<Vec<_>, _>>()
                })
                .await?
                .map_err(ServiceError::domain)?;
            routes.extend(routed);
        }
        let engine = self.engine.clone();
        self.pool
            .run(deadline, move || {
                let network = &engine.network;
                let nodes: Vec<NodeId> = if query.nodes.is_empty() {
                    network.node_ids().collect()
                } else {
                    query.nodes.clone()
                };
                let mut tally = tally::Tally::new(network, &nodes, query.horizon_days, now);
                let (mut routed, mut unrouted, mut unrouted_units) = (0, 0, 0.0);
                for (series, route) in forecasts.iter().zip(&routes) {
                    match route {
                        Some(node) => {
                            routed += 1;
                            tally.add_demand(*node, series);
                        }
                        None => {
                            unrouted += 1;
                            unrouted_units += series.days.iter().map(|d| d.1).sum::<f64>();
                        }
                    }
                }
                for reservation in &held {
                    tally.add_held(reservation, &query.skus);
                }
                WorkloadAnswer {
                    model_version,
                    series_routed: routed,
                    series_unrouted: unrouted,
                    unrouted_units,
                    series_left_out: chosen.left_out,
                    nodes: tally.finish(&nodes),
                }
            })
            .await
    }
}

/// Checks a horizon: 0 means [`DEFAULT_HORIZON_DAYS`], else 1..=14.
pub fn horizon(days: u32) -> Result<usize, ServiceError> {
    match days as usize {
        0 => Ok(DEFAULT_HORIZON_DAYS),
        d if d <= MAX_HORIZON_DAYS => Ok(d),
        d => Err(ServiceError::invalid(
            "horizon_days",
            format!("{d} days: at most {MAX_HORIZON_DAYS}"),
        )),
    }
}
