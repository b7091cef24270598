//! Fraud reason codes from per-feature contributions.

use serde::Serialize;

/// Why an order looks risky, named for the people who review it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReasonCode {
    /// Many orders or customers on the same device recently (`device_*`).
    HighDeviceVelocity,
    /// Many orders or addresses on the same card recently (`card_*`).
    HighCardVelocity,
    /// Billing and shipping addresses far apart (`ship_bill_distance_km`).
    ShipBillDistance,
    /// A young account placing a valuable order (`account_age_days`, `order_amount`).
    NewAccountHighValue,
    /// Items that are easy to resell (`*resale*`).
    HighResaleRiskItems,
    /// Fast, expensive shipping (`service_speed`).
    ExpressShippingRisk,
    /// Many customers shipping to one address, as reshippers do (`address_customers_*`).
    ReshipperAddress,
    /// Any other feature that pushed the score up.
    OtherRiskFactor,
}

impl ReasonCode {
    /// The code for a fraud feature, from its name.
    pub fn for_feature(name: &str) -> Self {
        match name {
            n if n.starts_with("device_") => Self::HighDeviceVelocity,
            n if n.starts_with("card_") => Self::HighCardVelocity,
            n if n.starts_with("ship_bill_distance") => Self::ShipBillDistance,
            "account_age_days" | "order_amount" => Self::NewAccountHighValue,
            n if n.contains("resale") => Self::HighResaleRiskItems,
            "service_speed" => Self::ExpressShippingRisk,
            n if n.starts_with("address_customers_") => Self::ReshipperAddress,
            _ => Self::OtherRiskFactor,
        }
    }

    /// The code as it appears in answers and logs, e.g. `HIGH_DEVICE_VELOCITY`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HighDeviceVelocity => "HIGH_DEVICE_VELOCITY",
            Self::HighCardVelocity => "HIGH_CARD_VELOCITY",
            Self::ShipBillDistance => "SHIP_BILL_DISTANCE",
            Self::NewAccountHighValue => "NEW_ACCOUNT_HIGH_VALUE",
            Self::HighResaleRiskItems => "HIGH_RESALE_RISK_ITEMS",
            Self::ExpressShippingRisk => "EXPRESS_SHIPPING_RISK",
            Self::ReshipperAddress => "RESHIPPER_ADDRESS",
            Self::OtherRiskFactor => "OTHER_RISK_FACTOR",
        }
    }
}

impl std::fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One feature that pushed an order toward fraud.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeatureReason {
    /// Feature name from the model card.
    pub feature: String,
    /// The feature's value for this order.
    pub value: f32,
    /// Its contribution to the score, log-odds: positive toward fraud,
    /// negative toward approval (the reasons of an approval).
    pub contribution: f32,
    /// The reason code the feature maps to.
    pub code: ReasonCode,
}

/// The `top` features with the largest positive contributions, largest first.
///
/// Features that lowered the score (or did not move it) are never reasons.
/// Ties keep input order. `features`, `contributions` and `names` are in the
/// model's input order; extra trailing entries (such as a bias column in
/// `contributions`) are ignored.
pub fn fraud_reasons(
    features: &[f32],
    contributions: &[f32],
    names: &[&str],
    top: usize,
) -> Vec<FeatureReason> {
    let n = features.len().min(contributions.len()).min(names.len());
    let mut idx: Vec<usize> = (0..n).filter(|&i| contributions[i] > 0.0).collect();
    idx.sort_by(|&a, &b| contributions[b].total_cmp(&contributions[a]));
    idx.truncate(top);
    idx.into_iter()
        .map(|i| FeatureReason {
            feature: names[i].to_owned(),
            value: features[i],
            contribution: contributions[i],
            code: ReasonCode::for_feature(names[i]),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_feature_names() {
        let cases = [
            ("device_orders_1h", "HIGH_DEVICE_VELOCITY"),
            ("card_addresses_7d", "HIGH_CARD_VELOCITY"),
            ("ship_bill_distance_km", "SHIP_BILL_DISTANCE"),
            ("account_age_days", "NEW_ACCOUNT_HIGH_VALUE"),
            ("order_amount", "NEW_ACCOUNT_HIGH_VALUE"),
            ("max_resale_risk", "HIGH_RESALE_RISK_ITEMS"),
            ("high_resale_share", "HIGH_RESALE_RISK_ITEMS"),
            ("service_speed", "EXPRESS_SHIPPING_RISK"),
            ("address_customers_7d", "RESHIPPER_ADDRESS"),
            ("hour_local", "OTHER_RISK_FACTOR"),
        ];
        for (name, code) in cases {
            assert_eq!(ReasonCode::for_feature(name).as_str(), code, "{name}");
        }
    }

    #[test]
    fn only_positive_contributions_sorted_descending() {
        let names = [
            "order_amount",
            "device_orders_1h",
            "hour_local",
            "card_orders_24h",
        ];
        let features = [900.0, 4.0, 3.0, 2.0];
        let contrib = [0.2, 1.5, -0.7, 0.0, 9.9];
        let r = fraud_reasons(&features, &contrib, &names, 5);
        let got: Vec<_> = r
            .iter()
            .map(|r| (r.feature.as_str(), r.code.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("device_orders_1h", "HIGH_DEVICE_VELOCITY"),
                ("order_amount", "NEW_ACCOUNT_HIGH_VALUE")
            ]
        );
        assert_eq!(r[0].value, 4.0);
        assert_eq!(r[0].contribution, 1.5);
        assert_eq!(fraud_reasons(&features, &contrib, &names, 1).len(), 1);
    }
}
