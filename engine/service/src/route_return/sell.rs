//! The probability that a restocked unit sells at its node before the
//! horizon: the node's own demand (its region's, [`node_region`]) over the
//! horizon, a negative binomial from the demand forecast, must exceed the
//! units the node already has available. Without a demand model every unit
//! is taken to sell with probability 0 (restocking is then valued at the
//! liquidation price, and the reason says so by its probability).

use std::collections::HashMap;
use std::time::SystemTime;

use allot_engine::network::{NodeId, RegionId};
use allot_engine::returns::ReturnRequest;
use allot_models::demand::NegativeBinomial;

use crate::demand::sales::local_date;
use crate::demand::{lag_days, node_region, series_of};
use crate::engine::Engine;

/// Each return node's demand over the horizon and its available stock.
pub(super) struct SellThrough {
    demand: HashMap<RegionId, NegativeBinomial>,
    available: HashMap<NodeId, u32>,
    region: HashMap<NodeId, RegionId>,
}

impl SellThrough {
    /// P(the k-th returned unit sells), k = 1..=quantity.
    pub fn probabilities(&self, node: NodeId, quantity: u32) -> Vec<f64> {
        let (Some(region), Some(&have)) = (self.region.get(&node), self.available.get(&node))
        else {
            return vec![0.0; quantity as usize];
        };
        let Some(demand) = self.demand.get(region) else {
            return vec![0.0; quantity as usize];
        };
        // The k-th unit sells when demand reaches have + k units:
        // P(D >= have + k), k = 1..=quantity.
        let reach = demand.survival_upto(have.saturating_add(quantity));
        reach
            .get(have as usize..)
            .map_or_else(|| vec![0.0; quantity as usize], <[f64]>::to_vec)
    }
}

/// The forecast demand of `request`'s SKU in every return node's region
/// over `days` from `now`, and each node's available units. Blocking (the
/// model runs once per day of the horizon).
pub(super) fn sell_through(
    engine: &Engine,
    request: &ReturnRequest,
    now: SystemTime,
    days: usize,
) -> SellThrough {
    let net = &engine.network;
    let nodes: Vec<NodeId> = net
        .node_ids()
        .filter(|&n| net.node(n).accepts_returns)
        .collect();
    let region: HashMap<NodeId, RegionId> =
        nodes.iter().map(|&n| (n, node_region(net, n))).collect();
    let available = nodes
        .iter()
        .map(|&n| {
            let level = engine.stock.level(n, request.sku);
            (
                n,
                u32::try_from(level.available().max(0)).unwrap_or(u32::MAX),
            )
        })
        .collect();
    let mut demand = HashMap::new();
    if let Some(model) = engine.demand.as_ref() {
        let mut by_start: std::collections::BTreeMap<_, Vec<RegionId>> = Default::default();
        let mut regions: Vec<RegionId> = region.values().copied().collect();
        regions.sort();
        regions.dedup();
        for r in regions {
            by_start.entry(local_date(net, r, now)).or_default().push(r);
        }
        for (start, regions) in by_start {
            let lags = lag_days(start);
            let series: Vec<_> = regions
                .iter()
                .map(|&r| {
                    series_of(
                        net,
                        request.sku,
                        &engine.sales.units(request.sku, r, &lags),
                        Vec::new(),
                    )
                })
                .collect();
            match model.means(&series, start, days) {
                Ok(means) => {
                    for (r, means) in regions.iter().zip(means) {
                        let total = model.total_distribution(means.iter().copied());
                        demand.insert(
                            *r,
                            NegativeBinomial::from_moments(total.mean(), total.variance()),
                        );
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "no demand forecast for a return: restocking valued at the liquidation price")
                }
            }
        }
    }
    SellThrough {
        demand,
        available,
        region,
    }
}
