//! Protected stock priced from the demand forecast: a protected unit taken
//! at a node costs the sale it is expected to lose there, the SKU's lost
//! sale value times the probability that the node's own demand before its
//! next replenishment needs every protected unit it holds.
//!
//! The node's own demand is its region's (the region whose centroid is
//! nearest, [`super::node_region`]) summed over the node's
//! `replenishment_days` from today, a negative binomial moment-matched from
//! the daily forecasts. The forecasts are computed off the request path for
//! every (SKU, node) that holds protected stock, at start and then every
//! `demand.protection_refresh_s`; a pair the table lacks (protected stock
//! that appeared since) is priced at the flat `protect_penalty`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use allot_engine::allocation::protection::{ProtectionPrice, ProtectionPricer};
use allot_engine::network::{Network, NodeId, RegionId, SkuId};
use allot_engine::stock::StockStore;
use allot_models::demand::{DemandForecaster, NegativeBinomial, SalesHistory, Series};
use chrono::NaiveDate;
use parking_lot::RwLock;

use super::sales::local_date;
use super::{lag_days, node_region, series_of};

/// The lead-time demand of one SKU at one node.
#[derive(Debug, Clone, Copy, PartialEq)]
struct LeadDemand {
    mean: f64,
    variance: f64,
    lead_days: u32,
}

/// What one refresh computed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Refreshed {
    /// (SKU, node) pairs priced.
    pub pairs: usize,
    /// Series (SKU, region) forecast.
    pub series: usize,
    /// Time it took.
    pub elapsed: Duration,
}

/// Prices protected units from the demand forecast.
pub struct ForecastProtection {
    network: Arc<Network>,
    forecaster: Arc<DemandForecaster>,
    /// Share of a SKU's unit price a lost sale costs, per mille.
    lost_sale_permille: i64,
    table: RwLock<HashMap<(SkuId, NodeId), LeadDemand>>,
}

impl ForecastProtection {
    /// A pricer over `forecaster` for `network`'s nodes, a lost sale
    /// costing `lost_sale_permille` / 1000 of the unit price; its table is
    /// empty until [`ForecastProtection::refresh`].
    pub fn new(
        network: Arc<Network>,
        forecaster: Arc<DemandForecaster>,
        lost_sale_permille: i64,
    ) -> ForecastProtection {
        ForecastProtection {
            network,
            forecaster,
            lost_sale_permille,
            table: RwLock::new(HashMap::new()),
        }
    }

    /// Recomputes the lead-time demand of every (SKU, node) holding
    /// protected stock in `stock`, from the forecast starting at each
    /// region's today with `sales` as the lags. Blocking (the model runs
    /// once per lead day over every series).
    pub fn refresh(
        &self,
        stock: &StockStore,
        sales: &SalesHistory,
        now: SystemTime,
    ) -> Result<Refreshed, allot_models::scoring::ScoringError> {
        let started = Instant::now();
        let net = &self.network;
        // (SKU, region) -> the nodes of that region holding it protected.
        let mut wanted: BTreeMap<(SkuId, RegionId), Vec<NodeId>> = BTreeMap::new();
        for node in net.node_ids() {
            let region = node_region(net, node);
            for (sku, level) in stock.node_levels(node).1 {
                if level.protected > 0 && level.available() > 0 {
                    wanted.entry((sku, region)).or_default().push(node);
                }
            }
        }
        // Grouped by the regions' today, so one model run per day serves
        // every series of that start.
        let mut by_start: BTreeMap<NaiveDate, Vec<(SkuId, RegionId)>> = BTreeMap::new();
        for &(sku, region) in wanted.keys() {
            by_start
                .entry(local_date(net, region, now))
                .or_default()
                .push((sku, region));
        }
        let mut table = HashMap::new();
        for (start, keys) in by_start {
            let days = keys
                .iter()
                .flat_map(|k| &wanted[k])
                .map(|&n| net.node(n).replenishment_days)
                .max()
                .unwrap_or(1) as usize;
            let lags = lag_days(start);
            let series: Vec<Series> = keys
                .iter()
                .map(|&(sku, region)| {
                    let units = sales.units(sku, region, &lags);
                    series_of(net, sku, &units, Vec::new())
                })
                .collect();
            let means = self.forecaster.means(&series, start, days)?;
            for (key, means) in keys.iter().zip(means) {
                for &node in &wanted[key] {
                    let lead = net.node(node).replenishment_days;
                    let total = self
                        .forecaster
                        .total_distribution(means.iter().take(lead as usize).copied());
                    table.insert(
                        (key.0, node),
                        LeadDemand {
                            mean: total.mean(),
                            variance: total.variance(),
                            lead_days: lead,
                        },
                    );
                }
            }
        }
        let refreshed = Refreshed {
            pairs: table.len(),
            series: wanted.len(),
            elapsed: started.elapsed(),
        };
        *self.table.write() = table;
        Ok(refreshed)
    }
}

impl ProtectionPricer for ForecastProtection {
    fn price(&self, sku: SkuId, node: NodeId, protected: u32) -> Option<ProtectionPrice> {
        let lead = *self.table.read().get(&(sku, node))?;
        let demand = NegativeBinomial::from_moments(lead.mean, lead.variance);
        // P(demand >= protected): the units protected all go to the node's
        // own demand, so one taken now is a sale lost there.
        let stockout_probability = match protected {
            0 => 1.0,
            p => (1.0 - demand.cdf(p - 1)).clamp(0.0, 1.0),
        };
        let lost_sale = self.network.sku(sku).unit_price_minor * self.lost_sale_permille / 1000;
        Some(ProtectionPrice {
            per_unit: (lost_sale as f64 * stockout_probability).round() as i64,
            stockout_probability,
            expected_demand: lead.mean,
            lead_days: lead.lead_days,
        })
    }
}

/// Refreshes `engine`'s protection prices now (on the blocking pool),
/// logging what it priced; nothing when the engine prices no protection.
pub async fn refresh(engine: Arc<crate::engine::Engine>) {
    let Some(protection) = engine.protection.clone() else {
        return;
    };
    let done = tokio::task::spawn_blocking(move || {
        protection.refresh(&engine.stock, &engine.sales, SystemTime::now())
    })
    .await;
    match done {
        Ok(Ok(r)) => {
            metrics::gauge!("allot_protection_priced_pairs").set(r.pairs as f64);
            tracing::info!(
                pairs = r.pairs,
                series = r.series,
                ms = r.elapsed.as_millis() as u64,
                "protection prices refreshed from the demand forecast"
            );
        }
        Ok(Err(error)) => {
            tracing::warn!(%error, "protection prices not refreshed: the last ones (or the flat penalty) stay")
        }
        Err(error) => tracing::warn!(%error, "protection refresh task failed"),
    }
}
