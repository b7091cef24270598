//! What people buy: categories with seasonal and promotional weights, SKU
//! popularity within a category, and the day's selling price.

use allot_engine::network::{Network, SkuId};
use allot_models::features::{CATEGORIES, category_index, is_peak};
use chrono::{Datelike, NaiveDate};
use rand_chacha::ChaCha8Rng;

use super::calendar::Calendar;
use super::sample::{Weighted, lognormal};

/// Categories bought as gifts, lifted in the peak season.
const GIFTY: [&str; 5] = ["toys", "electronics", "jewelry", "gift_cards", "beauty"];

/// The demo catalogue indexed for sampling.
#[derive(Debug, Clone)]
pub struct Catalog {
    /// SKUs of each category (by [`CATEGORIES`] index).
    pub by_category: Vec<Vec<SkuId>>,
    popularity: Vec<Weighted>,
    /// Popularity of each SKU (mean about 1).
    pub sku_weight: Vec<f64>,
    /// Category index of each SKU.
    pub sku_category: Vec<usize>,
    share: Vec<f64>,
}

impl Catalog {
    /// Indexes the network's SKUs; popularity is log-normal.
    pub fn new(net: &Network, rng: &mut ChaCha8Rng) -> Catalog {
        let n = CATEGORIES.len() + 1;
        let mut by_category = vec![Vec::new(); n];
        let mut sku_weight = Vec::with_capacity(net.sku_count());
        let mut sku_category = Vec::with_capacity(net.sku_count());
        for (i, s) in net.skus().iter().enumerate() {
            let c = category_index(&s.category);
            by_category[c].push(SkuId(i as u32));
            sku_weight.push(lognormal(rng, 1.0, 1.1));
            sku_category.push(c);
        }
        let popularity = by_category
            .iter()
            .map(|skus| Weighted::new(skus.iter().map(|s| sku_weight[s.0 as usize])))
            .collect();
        let share = by_category.iter().map(|s| s.len() as f64).collect();
        Catalog {
            by_category,
            popularity,
            sku_weight,
            sku_category,
            share,
        }
    }

    /// Seasonal lift of `category` on `date` (gift categories in the peak).
    pub fn seasonal(category: usize, date: NaiveDate) -> f64 {
        let gifty = CATEGORIES.get(category).is_some_and(|c| GIFTY.contains(c));
        match (gifty, is_peak(date), date.month()) {
            (true, true, _) => 1.8,
            (false, _, 9 | 10) if CATEGORIES.get(category) == Some(&"garden") => 0.7,
            _ => 1.0,
        }
    }

    /// A category for a legitimate order on day `d`: catalogue share x
    /// season x promotion lift.
    pub fn legit_category(&self, cal: &Calendar, d: u32, rng: &mut ChaCha8Rng) -> usize {
        let date = cal.date(d);
        let w = Weighted::new(self.share.iter().enumerate().map(|(c, &s)| {
            let promo = cal.promo(c, d).map_or(1.0, promo_lift);
            s * Catalog::seasonal(c, date) * promo
        }));
        w.pick(rng)
    }

    /// A category with explicit weights per category name (fraud mixes).
    pub fn category_with(&self, weight: impl Fn(&str) -> f64, rng: &mut ChaCha8Rng) -> usize {
        let w = Weighted::new(
            self.share
                .iter()
                .enumerate()
                .map(|(c, &s)| s * CATEGORIES.get(c).map_or(0.0, |name| weight(name))),
        );
        w.pick(rng)
    }

    /// A SKU of `category` by popularity.
    pub fn sku(&self, category: usize, rng: &mut ChaCha8Rng) -> SkuId {
        let skus = &self.by_category[category];
        skus[self.popularity[category].pick(rng)]
    }

    /// The selling price of `sku` on day `d`, minor units (promotions off).
    pub fn price(net: &Network, cal: &Calendar, sku: SkuId, category: usize, d: u32) -> i64 {
        let list = net.sku(sku).unit_price_minor;
        match cal.promo(category, d) {
            Some(discount) => ((list as f64) * (1.0 - discount)).round() as i64,
            None => list,
        }
    }
}

/// Demand lift of a discount: constant price elasticity of 2.5.
pub fn promo_lift(discount: f64) -> f64 {
    (1.0 - discount).powf(-2.5)
}
