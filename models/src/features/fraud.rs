//! Fraud features: the order itself plus the velocity of its customer,
//! device, card and shipping address.

use allot_engine::network::distance_km;
use chrono::{Datelike, TimeZone, Timelike, Utc, Weekday};

use super::{OrderEvent, service_speed};

/// SKUs at or above this resale risk count as high-resale.
pub const HIGH_RESALE_RISK: f32 = 0.7;

/// Fraud feature names, in model input order (the order of
/// [`FraudFeatures::to_row`]).
pub const FRAUD_FEATURES: &[&str] = &[
    "order_amount",
    "line_count",
    "unit_count",
    "max_resale_risk",
    "high_resale_share",
    "service_speed",
    "ship_bill_distance_km",
    "account_age_days",
    "customer_orders_24h",
    "customer_orders_7d",
    "customer_amount_7d",
    "device_orders_1h",
    "device_orders_24h",
    "device_customers_24h",
    "card_orders_24h",
    "card_addresses_7d",
    "address_orders_24h",
    "address_customers_7d",
    "customer_return_rate",
    "hour_local",
    "is_weekend",
];

/// Number of fraud features.
pub const FRAUD_FEATURE_COUNT: usize = 21;
const _: () = assert!(FRAUD_FEATURES.len() == FRAUD_FEATURE_COUNT);

/// What the engine knows about an order when it scores it for fraud.
///
/// Counts over windows count the entity's *earlier* orders (the scored order
/// is not yet observed); distinct counts include the scored order's own
/// customer or address. There is no label field: a label cannot reach a
/// model input through this type.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FraudFeatures {
    /// Order value, major currency units (USD).
    pub order_amount: f32,
    /// Number of order lines.
    pub line_count: f32,
    /// Units over all lines.
    pub unit_count: f32,
    /// Highest SKU resale risk among the lines, 0..=1.
    pub max_resale_risk: f32,
    /// Share of the order value in SKUs with resale risk >= 0.7, 0..=1.
    pub high_resale_share: f32,
    /// 0 ground, 1 two-day, 2 overnight, 3 same-day.
    pub service_speed: f32,
    /// Great-circle distance between billing and shipping address, km.
    pub ship_bill_distance_km: f32,
    /// Account age at order time, days (fractional, >= 0); NaN (missing)
    /// when the account's creation time is not known (a guest checkout):
    /// the model routes it down its trees' missing-value branches.
    pub account_age_days: f32,
    /// The customer's earlier orders in the last 24 hours.
    pub customer_orders_24h: f32,
    /// The customer's earlier orders in the last 7 days (saturates at the
    /// store's ring size).
    pub customer_orders_7d: f32,
    /// Value of the customer's earlier orders in the last 7 days, USD.
    pub customer_amount_7d: f32,
    /// Earlier orders from the device in the last hour (0 without a device).
    pub device_orders_1h: f32,
    /// Earlier orders from the device in the last 24 hours.
    pub device_orders_24h: f32,
    /// Distinct customers on the device in the last 24 hours, this order's
    /// customer included (0 without a device).
    pub device_customers_24h: f32,
    /// Earlier orders on the card in the last 24 hours (0 without a card).
    pub card_orders_24h: f32,
    /// Distinct shipping addresses on the card in the last 7 days, this
    /// order's address included (0 without a card).
    pub card_addresses_7d: f32,
    /// Earlier orders shipped to the address in the last 24 hours.
    pub address_orders_24h: f32,
    /// Distinct customers shipping to the address in the last 7 days, this
    /// order's customer included (the reshipper signal).
    pub address_customers_7d: f32,
    /// Returned orders over orders the store has seen for the customer, 0..=1
    /// (0 without history); an order counts once however many of its lines
    /// or return reports came back.
    pub customer_return_rate: f32,
    /// Hour of day, 0..=23, in the shipping address's time zone.
    pub hour_local: f32,
    /// 1 on Saturday and Sunday (shipping address local time), else 0.
    pub is_weekend: f32,
}

/// The history part of the fraud features, as a feature store computes it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Velocity {
    /// See [`FraudFeatures::customer_orders_24h`].
    pub customer_orders_24h: f32,
    /// See [`FraudFeatures::customer_orders_7d`].
    pub customer_orders_7d: f32,
    /// See [`FraudFeatures::customer_amount_7d`].
    pub customer_amount_7d: f32,
    /// See [`FraudFeatures::device_orders_1h`].
    pub device_orders_1h: f32,
    /// See [`FraudFeatures::device_orders_24h`].
    pub device_orders_24h: f32,
    /// See [`FraudFeatures::device_customers_24h`].
    pub device_customers_24h: f32,
    /// See [`FraudFeatures::card_orders_24h`].
    pub card_orders_24h: f32,
    /// See [`FraudFeatures::card_addresses_7d`].
    pub card_addresses_7d: f32,
    /// See [`FraudFeatures::address_orders_24h`].
    pub address_orders_24h: f32,
    /// See [`FraudFeatures::address_customers_7d`].
    pub address_customers_7d: f32,
    /// See [`FraudFeatures::customer_return_rate`].
    pub customer_return_rate: f32,
}

impl FraudFeatures {
    /// The features of `order` given its entities' history.
    pub fn from_parts(order: &OrderEvent, v: &Velocity) -> FraudFeatures {
        let mut amount = 0i64;
        let mut high = 0i64;
        let mut units = 0u32;
        let mut max_risk = 0f32;
        for l in &order.lines {
            // Saturating: a caller's prices and quantities are bounded by
            // the contract, but the features never wrap whatever they are.
            let value = l.unit_price_minor.saturating_mul(i64::from(l.qty));
            amount = amount.saturating_add(value);
            units = units.saturating_add(l.qty);
            max_risk = max_risk.max(l.resale_risk);
            if l.resale_risk >= HIGH_RESALE_RISK {
                high = high.saturating_add(value);
            }
        }
        let local = Utc
            .timestamp_opt(order.time, 0)
            .single()
            .unwrap_or_default()
            .with_timezone(&order.time_zone);
        let weekend = matches!(local.weekday(), Weekday::Sat | Weekday::Sun);
        FraudFeatures {
            order_amount: order.amount_minor() as f32 / 100.0,
            line_count: order.lines.len() as f32,
            unit_count: units as f32,
            max_resale_risk: max_risk,
            high_resale_share: if amount > 0 {
                (high as f64 / amount as f64) as f32
            } else {
                0.0
            },
            service_speed: service_speed(order.service),
            ship_bill_distance_km: distance_km(order.bill_to, order.ship_to) as f32,
            account_age_days: order.account_created.map_or(f32::NAN, |created| {
                ((order.time - created).max(0) as f64 / 86_400.0) as f32
            }),
            customer_orders_24h: v.customer_orders_24h,
            customer_orders_7d: v.customer_orders_7d,
            customer_amount_7d: v.customer_amount_7d,
            device_orders_1h: v.device_orders_1h,
            device_orders_24h: v.device_orders_24h,
            device_customers_24h: v.device_customers_24h,
            card_orders_24h: v.card_orders_24h,
            card_addresses_7d: v.card_addresses_7d,
            address_orders_24h: v.address_orders_24h,
            address_customers_7d: v.address_customers_7d,
            customer_return_rate: v.customer_return_rate,
            hour_local: local.hour() as f32,
            is_weekend: f32::from(u8::from(weekend)),
        }
    }

    /// The features from one model input row, in [`FRAUD_FEATURES`] order
    /// (the inverse of [`FraudFeatures::to_row`]).
    pub fn from_row(row: &[f32; FRAUD_FEATURE_COUNT]) -> FraudFeatures {
        let [
            order_amount,
            line_count,
            unit_count,
            max_resale_risk,
            high_resale_share,
            service_speed,
            ship_bill_distance_km,
            account_age_days,
            customer_orders_24h,
            customer_orders_7d,
            customer_amount_7d,
            device_orders_1h,
            device_orders_24h,
            device_customers_24h,
            card_orders_24h,
            card_addresses_7d,
            address_orders_24h,
            address_customers_7d,
            customer_return_rate,
            hour_local,
            is_weekend,
        ] = *row;
        FraudFeatures {
            order_amount,
            line_count,
            unit_count,
            max_resale_risk,
            high_resale_share,
            service_speed,
            ship_bill_distance_km,
            account_age_days,
            customer_orders_24h,
            customer_orders_7d,
            customer_amount_7d,
            device_orders_1h,
            device_orders_24h,
            device_customers_24h,
            card_orders_24h,
            card_addresses_7d,
            address_orders_24h,
            address_customers_7d,
            customer_return_rate,
            hour_local,
            is_weekend,
        }
    }

    /// The features as one model input row, in [`FRAUD_FEATURES`] order.
    pub fn to_row(&self) -> [f32; FRAUD_FEATURE_COUNT] {
        [
            self.order_amount,
            self.line_count,
            self.unit_count,
            self.max_resale_risk,
            self.high_resale_share,
            self.service_speed,
            self.ship_bill_distance_km,
            self.account_age_days,
            self.customer_orders_24h,
            self.customer_orders_7d,
            self.customer_amount_7d,
            self.device_orders_1h,
            self.device_orders_24h,
            self.device_customers_24h,
            self.card_orders_24h,
            self.card_addresses_7d,
            self.address_orders_24h,
            self.address_customers_7d,
            self.customer_return_rate,
            self.hour_local,
            self.is_weekend,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use allot_engine::network::{GeoPoint, ServiceLevel};

    use crate::features::OrderLine;

    fn order(account_created: Option<i64>) -> OrderEvent {
        let here = GeoPoint {
            lat: 40.7,
            lon: -74.0,
        };
        OrderEvent {
            order: 1,
            time: 1_800_000_000,
            customer: 2,
            account_created,
            device: None,
            card: None,
            ship_address: 3,
            ship_to: here,
            bill_to: here,
            time_zone: chrono_tz::America::New_York,
            service: ServiceLevel::Ground,
            lines: vec![OrderLine {
                qty: 3,
                unit_price_minor: 1_299,
                resale_risk: 0.1,
            }],
            total_minor: None,
        }
    }

    #[test]
    fn an_unknown_account_age_is_missing_not_zero() {
        let v = Velocity::default();
        let guest = FraudFeatures::from_parts(&order(None), &v);
        assert!(guest.account_age_days.is_nan());
        let new = FraudFeatures::from_parts(&order(Some(1_800_000_000)), &v);
        assert_eq!(new.account_age_days, 0.0);
        let old = FraudFeatures::from_parts(&order(Some(1_800_000_000 - 3 * 86_400)), &v);
        assert_eq!(old.account_age_days, 3.0);
    }

    #[test]
    fn the_callers_total_is_the_order_amount() {
        let v = Velocity::default();
        let mut o = order(None);
        assert_eq!(FraudFeatures::from_parts(&o, &v).order_amount, 38.97);
        o.total_minor = Some(54_321);
        let f = FraudFeatures::from_parts(&o, &v);
        assert_eq!(f.order_amount, 543.21);
        assert_eq!(o.observation().amount_minor, 54_321);
        assert_eq!(o.observation().order, Some(1));
    }

    #[test]
    fn a_row_reads_back_into_the_same_features() {
        let row: [f32; FRAUD_FEATURE_COUNT] = std::array::from_fn(|i| i as f32 * 1.5 + 0.25);
        assert_eq!(FraudFeatures::from_row(&row).to_row(), row);
    }
}
