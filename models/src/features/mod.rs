//! Decision-time features: computed by the engine when it decides, and by the
//! world exporter from the same code, so training and serving never diverge.
//!
//! Every feature struct holds only what is knowable at decision time; none
//! has a label field, so a label cannot leak into a model input by
//! construction (the exporter appends labels as separate columns).

mod demand;
mod eta;
mod eta_cache;
mod fraud;
mod order;
mod reasons;
mod store;
mod window;

pub use demand::{
    CATEGORIES, DEMAND_FEATURE_COUNT, DEMAND_FEATURES, DemandFeatures, category_index,
};
pub use eta::{ETA_FEATURE_COUNT, ETA_FEATURES, ETA_TIME_BUCKET_SECS, EtaFeatures};
pub use eta_cache::{EtaCache, EtaKey};
pub use fraud::{FRAUD_FEATURE_COUNT, FRAUD_FEATURES, FraudFeatures, HIGH_RESALE_RISK, Velocity};
pub use order::{
    EntityKey, EntityKeys, Observation, OrderEvent, OrderLine, PlainKeys, ReturnObservation,
    entity_key,
};
pub use reasons::{FraudReasonCode, NEW_ACCOUNT_DAYS, fraud_reason_code, reason_indices};
pub use store::{FeatureStore, StoreConfig};

use allot_engine::network::{NodeKind, ServiceLevel};
use chrono::{Datelike, NaiveDate};

/// Service speed code used by the models: 0 ground, 1 two-day, 2 overnight,
/// 3 same-day.
pub fn service_speed(level: ServiceLevel) -> f32 {
    match level {
        ServiceLevel::Ground => 0.0,
        ServiceLevel::TwoDay => 1.0,
        ServiceLevel::Overnight => 2.0,
        ServiceLevel::SameDay => 3.0,
    }
}

/// Origin kind code used by the models: 0 DC, 1 store, 2 3PL.
pub fn origin_kind(kind: NodeKind) -> f32 {
    match kind {
        NodeKind::DistributionCenter => 0.0,
        NodeKind::Store => 1.0,
        NodeKind::ThirdPartyLogistics => 2.0,
    }
}

/// Whether `date` is in the peak season: November 15 to December 31.
pub fn is_peak(date: NaiveDate) -> bool {
    (date.month() == 11 && date.day() >= 15) || date.month() == 12
}

/// The day after US Thanksgiving (fourth Thursday of November).
pub fn black_friday(year: i32) -> NaiveDate {
    NaiveDate::from_weekday_of_month_opt(year, 11, chrono::Weekday::Thu, 4)
        .unwrap_or_default()
        .succ_opt()
        .unwrap_or_default()
}

/// Whether `date` is in Black Friday .. Cyber Monday, when every category
/// sells at a discount ([`CYBER_WEEK_DISCOUNT`]).
pub fn is_cyber_week(date: NaiveDate) -> bool {
    let bf = black_friday(date.year());
    date >= bf && date <= bf + chrono::Days::new(3)
}

/// The discount every category carries from Black Friday to Cyber Monday.
pub const CYBER_WEEK_DISCOUNT: f64 = 0.20;
