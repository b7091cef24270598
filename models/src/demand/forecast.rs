//! The demand model run over a horizon: day by day, every series in one
//! batch per day, each day's expected units fed back as the next days'
//! lags; quantiles from a negative binomial around each day's mean.

use std::path::Path;

use chrono::{Days, NaiveDate};

use super::distribution::NegativeBinomial;
use crate::features::{CYBER_WEEK_DISCOUNT, DEMAND_FEATURE_COUNT, DemandFeatures, is_cyber_week};
use crate::registry::Holdout;
use crate::scoring::{DemandModel, ScoringError};

/// Longest forecast horizon, days.
pub const MAX_HORIZON_DAYS: usize = 28;

/// A price cut on a category over a range of days.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Promotion {
    /// First day of the promotion.
    pub from: NaiveDate,
    /// Last day of the promotion (inclusive).
    pub to: NaiveDate,
    /// Share of the list price taken off, in (0, 1).
    pub discount: f64,
}

/// One SKU x region to forecast.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The `category` feature (see [`crate::features::category_index`]).
    pub category: usize,
    /// List price of one unit, minor currency units.
    pub list_price_minor: i64,
    /// Promotions of the SKU's category (besides Black Friday to Cyber
    /// Monday, which the calendar knows).
    pub promotions: Vec<Promotion>,
    /// Units sold on each of the 7 days before the first forecast day
    /// (oldest first); `None` where the history does not know.
    pub history: [Option<u32>; 7],
}

impl Series {
    /// The deepest discount on `day`, if any.
    fn discount(&self, day: NaiveDate) -> Option<f64> {
        let mut best = is_cyber_week(day).then_some(CYBER_WEEK_DISCOUNT);
        for p in &self.promotions {
            if day >= p.from && day <= p.to {
                best = Some(best.map_or(p.discount, |b| b.max(p.discount)));
            }
        }
        best
    }

    /// The selling price on `day`.
    fn price(&self, day: NaiveDate) -> i64 {
        match self.discount(day) {
            Some(d) => ((self.list_price_minor as f64) * (1.0 - d)).round() as i64,
            None => self.list_price_minor,
        }
    }
}

/// The forecast of one day of one series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DayForecast {
    /// The day.
    pub date: NaiveDate,
    /// Expected units.
    pub mean: f64,
    /// 10% quantile of the units.
    pub q10: u32,
    /// Median units.
    pub q50: u32,
    /// 90% quantile of the units.
    pub q90: u32,
    /// Whether the promotion price applied.
    pub promotion: bool,
}

/// The demand model with the dispersion of its errors.
#[derive(Debug)]
pub struct DemandForecaster {
    model: DemandModel,
    /// Negative binomial size of a day's units around the model's mean
    /// (`f64::INFINITY`: Poisson).
    size: f64,
    /// Share of the card's held-out days inside [q10, q90].
    holdout_coverage: Option<f64>,
}

impl DemandForecaster {
    /// Loads `demand.onnx` and `cards/demand.json` from `dir`, and fits
    /// the dispersion on the card's held-out sample (method of moments:
    /// the variance of the units around the model's mean beyond the mean
    /// itself); Poisson when the card has no held-out sample.
    pub fn load(dir: &Path) -> Result<DemandForecaster, ScoringError> {
        let model = DemandModel::load(&dir.join("demand.onnx"), &dir.join("cards/demand.json"))?;
        let holdout =
            Holdout::from_card(model.model().card()).map_err(|detail| ScoringError::Mismatch {
                model: "demand".to_string(),
                detail,
            })?;
        let Some(holdout) = holdout else {
            return Ok(DemandForecaster {
                model,
                size: f64::INFINITY,
                holdout_coverage: None,
            });
        };
        let rows: Vec<[f32; DEMAND_FEATURE_COUNT]> = holdout
            .rows
            .iter()
            .filter_map(|r| r.as_slice().try_into().ok())
            .collect();
        let means = model.predict_batch(&rows)?;
        let (mut square, mut excess) = (0.0, 0.0);
        for (&m, &y) in means.iter().zip(&holdout.labels) {
            let m = f64::from(m);
            square += m * m;
            excess += (y - m) * (y - m) - m;
        }
        let size = if excess > 0.0 {
            square / excess
        } else {
            f64::INFINITY
        };
        let inside = means
            .iter()
            .zip(&holdout.labels)
            .filter(|&(&m, &y)| {
                let d = NegativeBinomial::new(f64::from(m), size);
                let y = y.round().max(0.0) as u32;
                y >= d.quantile(0.1) && y <= d.quantile(0.9)
            })
            .count();
        Ok(DemandForecaster {
            model,
            size,
            holdout_coverage: Some(inside as f64 / means.len().max(1) as f64),
        })
    }

    /// The model's version (its card's).
    pub fn version(&self) -> &str {
        &self.model.model().card().version
    }

    /// The negative binomial size of a day's units (`INFINITY`: Poisson).
    pub fn dispersion_size(&self) -> f64 {
        self.size
    }

    /// Share of the card's held-out days inside their [q10, q90].
    pub fn holdout_coverage(&self) -> Option<f64> {
        self.holdout_coverage
    }

    /// The distribution of one day's units with expected value `mean`.
    pub fn day_distribution(&self, mean: f64) -> NegativeBinomial {
        NegativeBinomial::new(mean, self.size)
    }

    /// The distribution of the total units of several days with these
    /// means (days independent, moments added).
    pub fn total_distribution(&self, means: impl IntoIterator<Item = f64>) -> NegativeBinomial {
        let (mut mean, mut variance) = (0.0, 0.0);
        for m in means {
            let d = self.day_distribution(m);
            mean += d.mean();
            variance += d.variance();
        }
        NegativeBinomial::from_moments(mean, variance)
    }

    /// Expected units per day for `days` days from `start`, per series
    /// (one model run per day over every series).
    pub fn means(
        &self,
        series: &[Series],
        start: NaiveDate,
        days: usize,
    ) -> Result<Vec<Vec<f64>>, ScoringError> {
        // Per series: the 7 known days, then each forecast day's mean.
        let mut lags: Vec<Vec<f32>> = series
            .iter()
            .map(|s| {
                s.history
                    .iter()
                    .map(|u| u.map_or(f32::NAN, |u| u as f32))
                    .collect()
            })
            .collect();
        let mut rows: Vec<[f32; DEMAND_FEATURE_COUNT]> = Vec::with_capacity(series.len());
        for d in 0..days {
            let day = start + Days::new(d as u64);
            rows.clear();
            for (s, lag) in series.iter().zip(&lags) {
                let last: [f32; 7] = std::array::from_fn(|i| lag[d + i]);
                rows.push(
                    DemandFeatures::with_lags(
                        s.category,
                        day,
                        s.discount(day).is_some(),
                        s.price(day),
                        &last,
                    )
                    .to_row(),
                );
            }
            let means = if rows.is_empty() {
                Vec::new()
            } else {
                self.model.predict_batch(&rows)?
            };
            for (lag, m) in lags.iter_mut().zip(means) {
                lag.push(m.max(0.0));
            }
        }
        Ok(lags
            .into_iter()
            .map(|l| l[7..].iter().map(|&m| f64::from(m)).collect())
            .collect())
    }

    /// Per series, `days` daily forecasts from `start`: mean and the 10%,
    /// 50% and 90% quantiles.
    pub fn forecast(
        &self,
        series: &[Series],
        start: NaiveDate,
        days: usize,
    ) -> Result<Vec<Vec<DayForecast>>, ScoringError> {
        let means = self.means(series, start, days)?;
        Ok(series
            .iter()
            .zip(means)
            .map(|(s, means)| {
                means
                    .into_iter()
                    .enumerate()
                    .map(|(d, mean)| {
                        let date = start + Days::new(d as u64);
                        let dist = self.day_distribution(mean);
                        DayForecast {
                            date,
                            mean,
                            q10: dist.quantile(0.1),
                            q50: dist.quantile(0.5),
                            q90: dist.quantile(0.9),
                            promotion: s.discount(date).is_some(),
                        }
                    })
                    .collect()
            })
            .collect())
    }
}
