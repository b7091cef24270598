//! ForecastDemand: the units each SKU will sell per day in a region (or a
//! node's region), from the demand model over the sales history allot
//! keeps ([`sales`]).

pub mod protection;
pub mod sales;
pub mod transfers;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use allot_engine::network::{Network, NodeId, RegionId, SkuId};
use allot_models::demand::{DayForecast, DemandForecaster, MAX_HORIZON_DAYS, Promotion, Series};
use allot_models::features::category_index;
use chrono::{Days, NaiveDate};

use crate::clock::Clock;
use crate::engine::Engine;
use crate::error::ServiceError;
use crate::pool::SolverPool;

/// Most SKUs, and most places, in one forecast.
pub const MAX_FORECAST_ITEMS: usize = 100;
/// Time a forecast may take when the caller sets no deadline.
pub const DEFAULT_BUDGET: std::time::Duration = std::time::Duration::from_secs(2);
/// Horizon when the request gives none.
pub const DEFAULT_HORIZON_DAYS: usize = 14;

/// Where demand is forecast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// A region of the network.
    Region(RegionId),
    /// A node: its region's demand.
    Node(NodeId),
}

/// A promotion on a category, as the adapter read it.
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryPromotion {
    /// The category name.
    pub category: String,
    /// The days and the discount.
    pub promotion: Promotion,
}

/// One ForecastDemand call, validated by the adapter (codes resolved).
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastQuery {
    /// The SKUs, each once.
    pub skus: Vec<SkuId>,
    /// The places, each once.
    pub places: Vec<Place>,
    /// Days from today, 1..=28.
    pub horizon_days: usize,
    /// Promotions to expect.
    pub promotions: Vec<CategoryPromotion>,
    /// When the answer is due.
    pub deadline: Instant,
}

/// One past day's sales as the history knows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownDay {
    /// The local date.
    pub date: NaiveDate,
    /// Units sold, `None` when the day was not observed.
    pub units: Option<u32>,
}

/// The forecast of one SKU in one place.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesForecast {
    /// The SKU.
    pub sku: SkuId,
    /// The region whose demand this is.
    pub region: RegionId,
    /// The node asked for, when the place was a node.
    pub node: Option<NodeId>,
    /// The 7 days before today, oldest first.
    pub history: Vec<KnownDay>,
    /// Units ordered so far today.
    pub ordered_today: u32,
    /// One forecast per day from today.
    pub days: Vec<DayForecast>,
}

/// A whole forecast.
#[derive(Debug, Clone, PartialEq)]
pub struct DemandAnswer {
    /// The demand model's version.
    pub model_version: String,
    /// Negative binomial size of a day's units (`INFINITY`: Poisson).
    pub dispersion_size: f64,
    /// SKUs outermost, places in the query's order.
    pub series: Vec<SeriesForecast>,
}

/// The ForecastDemand use case.
pub struct Forecasting {
    engine: Arc<Engine>,
    clock: Arc<dyn Clock>,
    pool: SolverPool,
}

impl Forecasting {
    /// Over `engine`'s demand model and sales history, at `clock`'s time,
    /// running the model on `pool`.
    pub fn new(engine: Arc<Engine>, clock: Arc<dyn Clock>, pool: SolverPool) -> Forecasting {
        Forecasting {
            engine,
            clock,
            pool,
        }
    }

    /// Forecasts every SKU in every place of `query`.
    pub async fn forecast(&self, query: ForecastQuery) -> Result<DemandAnswer, ServiceError> {
        let model = served_model(&self.engine)?;
        let engine = self.engine.clone();
        let now = self.clock.now();
        let deadline = query.deadline;
        self.pool
            .run(deadline, move || {
                let network = &engine.network;
                let cells = cells(network, &query);
                // One model run per start date (regions in different time
                // zones may be on different dates).
                let mut by_start: BTreeMap<NaiveDate, Vec<usize>> = BTreeMap::new();
                let mut series = Vec::with_capacity(cells.len());
                let mut answers = Vec::with_capacity(cells.len());
                for (i, &(sku, region, node)) in cells.iter().enumerate() {
                    let today = sales::local_date(network, region, now);
                    let mut days = lag_days(today);
                    days.push(today);
                    let units = engine.sales.units(sku, region, &days);
                    let history: Vec<KnownDay> = days
                        .iter()
                        .zip(&units)
                        .take(7)
                        .map(|(&date, &units)| KnownDay { date, units })
                        .collect();
                    let promotions = query
                        .promotions
                        .iter()
                        .filter(|p| p.category == network.sku(sku).category)
                        .map(|p| p.promotion)
                        .collect();
                    series.push(series_of(network, sku, &units, promotions));
                    by_start.entry(today).or_default().push(i);
                    answers.push(SeriesForecast {
                        sku,
                        region,
                        node,
                        history,
                        ordered_today: units.get(7).copied().flatten().unwrap_or(0),
                        days: Vec::new(),
                    });
                }
                for (start, members) in by_start {
                    let group: Vec<Series> = members.iter().map(|&i| series[i].clone()).collect();
                    let out = model
                        .forecast(&group, start, query.horizon_days)
                        .map_err(|e| ServiceError::internal(format!("demand model: {e}")))?;
                    for (i, days) in members.into_iter().zip(out) {
                        answers[i].days = days;
                    }
                }
                Ok(DemandAnswer {
                    model_version: model.version().to_string(),
                    dispersion_size: model.dispersion_size(),
                    series: answers,
                })
            })
            .await?
    }
}

/// The demand model `engine` serves, or FAILED_PRECONDITION saying where
/// to put one.
pub fn served_model(engine: &Engine) -> Result<Arc<DemandForecaster>, ServiceError> {
    engine.demand.clone().ok_or_else(|| {
        ServiceError::precondition(format!(
            "no demand model is served: {} has no demand.onnx; put demand.onnx and cards/demand.json there (the repository's models/ has them) and restart",
            engine.models_dir.display()
        ))
    })
}

/// The 7 days before `start`, oldest first: the days a forecast from
/// `start` reads as its lags.
pub fn lag_days(start: NaiveDate) -> Vec<NaiveDate> {
    (1..=7u64)
        .rev()
        .filter_map(|back| start.checked_sub_days(Days::new(back)))
        .collect()
}

/// The demand model's series of `sku` in a region: its category and list
/// price, `promotions`, and the units of the 7 lag days in that region (the
/// first 7 of `units`, as [`lag_days`] orders them; `None` where unknown).
/// The region itself is not a model input: its level is in its units.
pub fn series_of(
    network: &Network,
    sku: SkuId,
    units: &[Option<u32>],
    promotions: Vec<Promotion>,
) -> Series {
    let item = network.sku(sku);
    Series {
        category: category_index(&item.category),
        list_price_minor: item.unit_price_minor,
        promotions,
        history: std::array::from_fn(|d| units.get(d).copied().flatten()),
    }
}

/// Every (SKU, region, node) of the query, SKUs outermost.
fn cells(network: &Network, query: &ForecastQuery) -> Vec<(SkuId, RegionId, Option<NodeId>)> {
    let mut out = Vec::with_capacity(query.skus.len() * query.places.len());
    for &sku in &query.skus {
        for &place in &query.places {
            out.push(match place {
                Place::Region(r) => (sku, r, None),
                Place::Node(n) => (sku, node_region(network, n), Some(n)),
            });
        }
    }
    out
}

/// The region a node's own demand comes from: the one whose centroid is
/// nearest the node.
pub fn node_region(network: &Network, node: NodeId) -> RegionId {
    network.nearest_region(network.node(node).location)
}

/// Checks a horizon: 0 means [`DEFAULT_HORIZON_DAYS`], else 1..=28.
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
