//! Demand by SKU x region x day for a sampled panel: calendar volume,
//! gift-season lift, promotions with price elasticity, a per-SKU trend and
//! a persistent latent level with over-dispersed (gamma-Poisson) noise.

use allot_engine::network::{Network, SkuId};
use allot_models::features::DemandFeatures;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::calendar::{Calendar, Split};
use super::catalog::{Catalog, promo_lift};
use super::population::Population;
use super::sample::{gamma_mean1, lognormal, poisson};

/// One exported demand row.
#[derive(Debug, Clone, Copy)]
pub struct DemandRow {
    /// Features known before the day.
    pub features: DemandFeatures,
    /// Label: units sold that day.
    pub units: u32,
    /// Split of the day.
    pub split: Split,
    /// The day (a meta column: holiday weeks in the report, never a
    /// feature).
    pub date: chrono::NaiveDate,
}

/// Picks `count` distinct indexes with probability proportional to `weight`.
fn sample_distinct(count: usize, weight: &[f64], rng: &mut ChaCha8Rng) -> Vec<usize> {
    let total: f64 = weight.iter().sum();
    let mut taken = vec![false; weight.len()];
    let mut out = Vec::with_capacity(count);
    let mut guard = 0;
    while out.len() < count.min(weight.len()) && guard < 100 * count {
        guard += 1;
        let mut x = rng.random::<f64>() * total;
        let mut pick = weight.len() - 1;
        for (i, w) in weight.iter().enumerate() {
            if x < *w {
                pick = i;
                break;
            }
            x -= w;
        }
        if !taken[pick] {
            taken[pick] = true;
            out.push(pick);
        }
    }
    out.sort_unstable();
    out
}

/// Demand rows for `skus` SKUs x `regions` regions over the calendar (days
/// from the 8th on, so that every row has a full week of lags).
pub fn demand_rows(
    net: &Network,
    cal: &Calendar,
    catalog: &Catalog,
    pop: &Population,
    skus: usize,
    regions: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<DemandRow> {
    let sku_ids = sample_distinct(skus, &catalog.sku_weight, rng);
    let region_weight: Vec<f64> = (0..net.regions().len())
        .map(|r| pop.region_weight(r))
        .collect();
    let region_ids = sample_distinct(regions, &region_weight, rng);
    let mean_region =
        region_ids.iter().map(|&r| region_weight[r]).sum::<f64>() / region_ids.len().max(1) as f64;
    let days = cal.days as usize;
    let mut rows = Vec::with_capacity(sku_ids.len() * region_ids.len() * days.saturating_sub(7));
    for &s in &sku_ids {
        let sku = SkuId(s as u32);
        let category = catalog.sku_category[s];
        let base = 0.6 * catalog.sku_weight[s].powf(0.8);
        let trend = lognormal(rng, 1.0, 0.3);
        for &r in &region_ids {
            let region_lift = region_weight[r] / mean_region * lognormal(rng, 1.0, 0.2);
            let mut level = 1.0;
            let mut units = vec![0u32; days];
            for (d, u) in units.iter_mut().enumerate() {
                let date = cal.date(d as u32);
                level = 0.75 * level + 0.25 * gamma_mean1(rng, 2.0);
                let promo = cal.promo(category, d as u32).map_or(1.0, promo_lift);
                let lambda = base
                    * region_lift
                    * Calendar::volume(date)
                    * Catalog::seasonal(category, date)
                    * promo
                    * trend.powf(d as f64 / days as f64)
                    * level;
                *u = poisson(rng, lambda);
            }
            for d in 7..days {
                let last: [u32; 7] = std::array::from_fn(|i| units[d - 7 + i]);
                let discount = cal.promo(category, d as u32);
                let price = Catalog::price(net, cal, sku, category, d as u32);
                rows.push(DemandRow {
                    features: DemandFeatures::compute(
                        category,
                        cal.date(d as u32),
                        discount.is_some(),
                        price,
                        &last,
                    ),
                    units: units[d],
                    split: cal.split(d as i64),
                    date: cal.date(d as u32),
                });
            }
        }
    }
    rows
}
