//! Demand features: one SKU in one region on one day, from the calendar, the
//! price and the recent sales history.

use chrono::{Datelike, NaiveDate};

use super::is_peak;

/// The category names whose position is the `category` feature; any other
/// category maps to `CATEGORIES.len()`.
pub const CATEGORIES: [&str; 13] = [
    "apparel",
    "footwear",
    "electronics",
    "home",
    "beauty",
    "grocery",
    "toys",
    "sports",
    "garden",
    "automotive",
    "jewelry",
    "health",
    "gift_cards",
];

/// The `category` feature of a category name.
pub fn category_index(name: &str) -> usize {
    CATEGORIES
        .iter()
        .position(|c| *c == name)
        .unwrap_or(CATEGORIES.len())
}

/// Demand feature names, in model input order (the order of
/// [`DemandFeatures::to_row`]).
///
/// Neither the region nor the week of the year is an input: trees split on
/// them memorise the training world's regions and weeks (its promotions,
/// its latent levels), which another world, or another year, does not
/// repeat. The level of a series comes from its own recent sales instead.
pub const DEMAND_FEATURES: &[&str] = &[
    "category",
    "weekday",
    "is_promo",
    "price",
    "lag_7d_mean",
    "lag_same_weekday",
    "lag_1d",
    "is_peak",
];

/// Number of demand features.
pub const DEMAND_FEATURE_COUNT: usize = 8;
const _: () = assert!(DEMAND_FEATURES.len() == DEMAND_FEATURE_COUNT);

/// What the engine knows about a SKU x region x day before the day's sales.
/// No label field: the day's units are never part of this type.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DemandFeatures {
    /// Category index, see [`CATEGORIES`].
    pub category: f32,
    /// 0 = Monday .. 6 = Sunday.
    pub weekday: f32,
    /// 1 if the SKU is on promotion that day, else 0.
    pub is_promo: f32,
    /// Selling price that day, major currency units (USD).
    pub price: f32,
    /// Mean units per day over the previous 7 days.
    pub lag_7d_mean: f32,
    /// Units sold 7 days earlier (same weekday).
    pub lag_same_weekday: f32,
    /// Units sold the day before.
    pub lag_1d: f32,
    /// 1 from November 15 to December 31, else 0.
    pub is_peak: f32,
}

impl DemandFeatures {
    /// The features for `date`, given the units of the previous 7 days
    /// (`last_7_days[0]` is 7 days before `date`, `last_7_days[6]` the day
    /// before).
    pub fn compute(
        category: usize,
        date: NaiveDate,
        is_promo: bool,
        price_minor: i64,
        last_7_days: &[u32; 7],
    ) -> DemandFeatures {
        let lags = last_7_days.map(|u| u as f32);
        DemandFeatures::with_lags(category, date, is_promo, price_minor, &lags)
    }

    /// As [`DemandFeatures::compute`], with the previous 7 days as any
    /// amounts: expected units for days not yet sold (a forecast several
    /// days ahead feeds its own means back as lags), NaN for a day whose
    /// sales are unknown (a missing lag is missing, never zero: the 7-day
    /// mean is then missing too).
    pub fn with_lags(
        category: usize,
        date: NaiveDate,
        is_promo: bool,
        price_minor: i64,
        last_7_days: &[f32; 7],
    ) -> DemandFeatures {
        let sum: f32 = last_7_days.iter().sum();
        DemandFeatures {
            category: category as f32,
            weekday: date.weekday().num_days_from_monday() as f32,
            is_promo: f32::from(u8::from(is_promo)),
            price: price_minor as f32 / 100.0,
            lag_7d_mean: sum / 7.0,
            lag_same_weekday: last_7_days[0],
            lag_1d: last_7_days[6],
            is_peak: f32::from(u8::from(is_peak(date))),
        }
    }

    /// The features as one model input row, in [`DEMAND_FEATURES`] order.
    pub fn to_row(&self) -> [f32; DEMAND_FEATURE_COUNT] {
        [
            self.category,
            self.weekday,
            self.is_promo,
            self.price,
            self.lag_7d_mean,
            self.lag_same_weekday,
            self.lag_1d,
            self.is_peak,
        ]
    }
}
