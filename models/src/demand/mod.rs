//! Demand: what the demand model forecasts for a SKU in a region, and the
//! sales history its lag features read.
//!
//! - [`SalesHistory`]: units ordered per SKU x region x local day, learned
//!   from the orders allot decides (each order once, by its id) and from
//!   imported daily sales; what it has not observed is missing, not zero.
//! - [`DemandForecaster`]: the ONNX demand model run day by day over a
//!   horizon (each day's expected units feed the next days' lags), with
//!   quantiles from a negative binomial whose dispersion is fitted on the
//!   card's held-out sample when the model loads.
//! - [`NegativeBinomial`]: the count distribution behind the quantiles and
//!   the expected stockouts that price protected stock.

mod distribution;
mod forecast;
mod history;

pub use distribution::NegativeBinomial;
pub use forecast::{DayForecast, DemandForecaster, MAX_HORIZON_DAYS, Promotion, Series};
pub use history::{HISTORY_DAYS, SalesHistory};
