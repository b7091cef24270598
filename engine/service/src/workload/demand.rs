//! Which demand a workload forecast carries, and its expected units per
//! day: the (SKU, region) series sold in their lag days (or every region
//! of the SKUs asked for), forecast by the demand model in one batch per
//! start date; today counts only the units still expected (the day's
//! expected units less those already ordered).

use std::collections::BTreeMap;
use std::time::SystemTime;

use allot_engine::network::{Network, RegionId, SkuId};
use allot_models::demand::{DemandForecaster, SalesHistory, Series};
use allot_models::scoring::ScoringError;
use chrono::NaiveDate;

use crate::demand::sales::local_date;
use crate::demand::{lag_days, series_of};

/// One (SKU, region) series and its expected units per region-local day.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesDemand {
    /// The SKU.
    pub sku: SkuId,
    /// The region its orders ship to.
    pub region: RegionId,
    /// Expected units per day from the region's today, in date order;
    /// today's are those still expected.
    pub days: Vec<(NaiveDate, f64)>,
}

/// The series to forecast, largest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Chosen {
    /// At most `limit` series with their lag units, most units first.
    pub series: Vec<(SkuId, RegionId)>,
    /// Series beyond the limit, left out.
    pub left_out: usize,
}

/// The series a workload forecast routes: with `skus`, those SKUs in every
/// region; else every (SKU, region) with units sold on its lag days (the 7
/// days before the region's today). Most units sold first, at most
/// `limit`.
pub fn choose(
    network: &Network,
    sales: &SalesHistory,
    skus: &[SkuId],
    limit: usize,
    now: SystemTime,
) -> Chosen {
    let regions: Vec<RegionId> = (0..network.regions().len())
        .map(|r| RegionId(r as u32))
        .collect();
    let lags: Vec<Vec<NaiveDate>> = regions
        .iter()
        .map(|&r| lag_days(local_date(network, r, now)))
        .collect();
    let lag_units = |sku: SkuId, region: RegionId| -> u32 {
        sales
            .units(sku, region, &lags[region.0 as usize])
            .into_iter()
            .flatten()
            .fold(0u32, u32::saturating_add)
    };
    let mut series: Vec<((SkuId, RegionId), u32)> = if skus.is_empty() {
        let first = lags.iter().filter_map(|l| l.first()).min().copied();
        let last = lags.iter().filter_map(|l| l.last()).max().copied();
        let (Some(first), Some(last)) = (first, last) else {
            return Chosen {
                series: Vec::new(),
                left_out: 0,
            };
        };
        sales
            .sold_between(first, last)
            .into_iter()
            .map(|(key, _)| (key, lag_units(key.0, key.1)))
            .filter(|&(_, units)| units > 0)
            .collect()
    } else {
        skus.iter()
            .flat_map(|&sku| regions.iter().map(move |&r| (sku, r)))
            .map(|key| (key, lag_units(key.0, key.1)))
            .collect()
    };
    // Most units first, then by SKU and region: the same history leaves
    // out the same series.
    series.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let left_out = series.len().saturating_sub(limit);
    series.truncate(limit);
    Chosen {
        series: series.into_iter().map(|(key, _)| key).collect(),
        left_out,
    }
}

/// Forecasts `series` for `days` days from each region's today: one model
/// run per forecast day over every series of a start date. Blocking.
pub fn forecast(
    network: &Network,
    model: &DemandForecaster,
    sales: &SalesHistory,
    series: &[(SkuId, RegionId)],
    days: usize,
    now: SystemTime,
) -> Result<Vec<SeriesDemand>, ScoringError> {
    let mut by_start: BTreeMap<NaiveDate, Vec<usize>> = BTreeMap::new();
    let mut inputs: Vec<Series> = Vec::with_capacity(series.len());
    let mut ordered_today: Vec<u32> = Vec::with_capacity(series.len());
    for (i, &(sku, region)) in series.iter().enumerate() {
        let today = local_date(network, region, now);
        let mut read = lag_days(today);
        read.push(today);
        let units = sales.units(sku, region, &read);
        inputs.push(series_of(network, sku, &units, Vec::new()));
        ordered_today.push(units.get(7).copied().flatten().unwrap_or(0));
        by_start.entry(today).or_default().push(i);
    }
    let mut out: Vec<SeriesDemand> = series
        .iter()
        .map(|&(sku, region)| SeriesDemand {
            sku,
            region,
            days: Vec::new(),
        })
        .collect();
    for (start, members) in by_start {
        let group: Vec<Series> = members.iter().map(|&i| inputs[i].clone()).collect();
        let means = model.means(&group, start, days)?;
        for (i, means) in members.into_iter().zip(means) {
            out[i].days = means
                .into_iter()
                .enumerate()
                .map(|(d, mean)| {
                    let date = start + chrono::Days::new(d as u64);
                    let units = if d == 0 {
                        (mean - f64::from(ordered_today[i])).max(0.0)
                    } else {
                        mean
                    };
                    (date, units)
                })
                .collect();
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use allot_engine::network::DEMO_SEED;

    use super::*;

    #[test]
    fn sold_series_come_largest_first_and_the_limit_leaves_the_rest_out() {
        let net = Network::demo(DEMO_SEED);
        let sales = SalesHistory::new();
        let now = SystemTime::now();
        let region = RegionId(3);
        let yesterday = lag_days(local_date(&net, region, now))[6];
        sales.import_day(SkuId(5), region, yesterday, 2);
        sales.import_day(SkuId(9), region, yesterday, 8);
        sales.import_day(SkuId(7), region, yesterday, 0);
        let chosen = choose(&net, &sales, &[], 10, now);
        assert_eq!(chosen.series, vec![(SkuId(9), region), (SkuId(5), region)]);
        assert_eq!(chosen.left_out, 0);
        let one = choose(&net, &sales, &[], 1, now);
        assert_eq!(one.series, vec![(SkuId(9), region)]);
        assert_eq!(one.left_out, 1);
    }

    #[test]
    fn asked_skus_are_forecast_in_every_region() {
        let net = Network::demo(DEMO_SEED);
        let sales = SalesHistory::new();
        let chosen = choose(&net, &sales, &[SkuId(1)], usize::MAX, SystemTime::now());
        assert_eq!(chosen.series.len(), net.regions().len());
        assert!(chosen.series.iter().all(|&(sku, _)| sku == SkuId(1)));
    }
}
