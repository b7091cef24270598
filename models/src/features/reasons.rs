//! What a fraud feature's contribution means to the people who review an
//! order: its reason code (from the feature, the direction it pushed and
//! the order's other features), and which contributions an answer lists.
//!
//! Codes are NaN-safe: a missing feature (NaN, e.g. the account age of a
//! guest checkout) never satisfies a comparison, so a missing account age is
//! never a new account.

use serde::Serialize;

use super::FraudFeatures;

/// An account younger than this many days placing a valuable order is a
/// new account with a high-value order.
pub const NEW_ACCOUNT_DAYS: f32 = 30.0;

/// Why an order looks risky (or safe), named for the people who review it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FraudReasonCode {
    /// Many orders or customers on the same device recently (`device_*`).
    HighDeviceVelocity,
    /// Many orders or addresses on the same card recently (`card_*`).
    HighCardVelocity,
    /// Billing and shipping addresses far apart (`ship_bill_distance_km`).
    ShipBillDistance,
    /// An account younger than [`NEW_ACCOUNT_DAYS`] (`account_age_days`)
    /// places the order, or a valuable order (`order_amount`) comes from
    /// one.
    NewAccountHighValue,
    /// The order's value alone (`order_amount`) from an account that is
    /// not new, or whose age is not known.
    HighOrderValue,
    /// Items that are easy to resell (`*resale*`).
    HighResaleRiskItems,
    /// Fast, expensive shipping (`service_speed`).
    ExpressShippingRisk,
    /// Many customers shipping to one address, as reshippers do
    /// (`address_customers_*`).
    ReshipperAddress,
    /// Any other feature that pushed the score up (a missing account age
    /// among them).
    OtherRiskFactor,
    /// A feature that pushed the score down: what weighed toward approval.
    LowRiskFactor,
}

impl FraudReasonCode {
    /// The code as it appears in answers and logs, e.g.
    /// `HIGH_DEVICE_VELOCITY`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HighDeviceVelocity => "HIGH_DEVICE_VELOCITY",
            Self::HighCardVelocity => "HIGH_CARD_VELOCITY",
            Self::ShipBillDistance => "SHIP_BILL_DISTANCE",
            Self::NewAccountHighValue => "NEW_ACCOUNT_HIGH_VALUE",
            Self::HighOrderValue => "HIGH_ORDER_VALUE",
            Self::HighResaleRiskItems => "HIGH_RESALE_RISK_ITEMS",
            Self::ExpressShippingRisk => "EXPRESS_SHIPPING_RISK",
            Self::ReshipperAddress => "RESHIPPER_ADDRESS",
            Self::OtherRiskFactor => "OTHER_RISK_FACTOR",
            Self::LowRiskFactor => "LOW_RISK_FACTOR",
        }
    }
}

impl std::fmt::Display for FraudReasonCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether the order's account is known to be younger than
/// [`NEW_ACCOUNT_DAYS`] (false when its age is missing).
fn new_account(features: &FraudFeatures) -> bool {
    features.account_age_days < NEW_ACCOUNT_DAYS
}

/// The reason code of fraud feature `name` contributing `contribution`
/// (log-odds) to the score of an order with `features`: a negative
/// contribution is a [`FraudReasonCode::LowRiskFactor`]; `order_amount` is
/// [`FraudReasonCode::NewAccountHighValue`] only for an account known to be
/// new, else [`FraudReasonCode::HighOrderValue`]; `account_age_days` is
/// [`FraudReasonCode::NewAccountHighValue`] only when the age is known and
/// young, else [`FraudReasonCode::OtherRiskFactor`].
pub fn fraud_reason_code(
    name: &str,
    contribution: f32,
    features: &FraudFeatures,
) -> FraudReasonCode {
    // NaN too: a contribution that did not raise the score is never a risk
    // reason.
    if contribution.is_nan() || contribution <= 0.0 {
        return FraudReasonCode::LowRiskFactor;
    }
    match name {
        n if n.starts_with("device_") => FraudReasonCode::HighDeviceVelocity,
        n if n.starts_with("card_") => FraudReasonCode::HighCardVelocity,
        n if n.starts_with("ship_bill_distance") => FraudReasonCode::ShipBillDistance,
        "order_amount" if new_account(features) => FraudReasonCode::NewAccountHighValue,
        "order_amount" => FraudReasonCode::HighOrderValue,
        "account_age_days" if new_account(features) => FraudReasonCode::NewAccountHighValue,
        n if n.contains("resale") => FraudReasonCode::HighResaleRiskItems,
        "service_speed" => FraudReasonCode::ExpressShippingRisk,
        n if n.starts_with("address_customers_") => FraudReasonCode::ReshipperAddress,
        _ => FraudReasonCode::OtherRiskFactor,
    }
}

/// The indices of the contributions an answer lists, strongest first, at
/// most `top`: toward fraud (a review or reject) the positive ones of at
/// least `min`, toward approval the negative ones of at most `-min`.
///
/// Every decision has reasons: when no contribution passes `min` in the
/// decision's direction, the one that pushed furthest that way is listed
/// alone (the strongest positive one toward fraud, the lowest toward
/// approval, whatever their size). NaN contributions are never listed.
pub fn reason_indices(
    contributions: &[f32],
    toward_approval: bool,
    top: usize,
    min: f32,
) -> Vec<usize> {
    // Contributions toward the decision, as a positive pull.
    let pull = |c: f32| if toward_approval { -c } else { c };
    let mut idx: Vec<usize> = (0..contributions.len())
        .filter(|&i| !contributions[i].is_nan())
        .collect();
    // Strongest pull first; ties keep input order (a stable sort).
    idx.sort_by(|&a, &b| pull(contributions[b]).total_cmp(&pull(contributions[a])));
    let listed: Vec<usize> = idx
        .iter()
        .copied()
        .filter(|&i| pull(contributions[i]) > 0.0 && pull(contributions[i]) >= min)
        .take(top.max(1))
        .collect();
    if listed.is_empty() {
        idx.truncate(1);
        return idx;
    }
    listed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aged(days: f32) -> FraudFeatures {
        FraudFeatures {
            account_age_days: days,
            order_amount: 900.0,
            ..FraudFeatures::default()
        }
    }

    #[test]
    fn order_value_is_a_new_account_reason_only_for_a_known_young_account() {
        let code = |name, days| fraud_reason_code(name, 0.4, &aged(days)).as_str();
        assert_eq!(code("order_amount", 2.0), "NEW_ACCOUNT_HIGH_VALUE");
        assert_eq!(code("order_amount", 400.0), "HIGH_ORDER_VALUE");
        assert_eq!(code("order_amount", f32::NAN), "HIGH_ORDER_VALUE");
        assert_eq!(code("account_age_days", 2.0), "NEW_ACCOUNT_HIGH_VALUE");
        assert_eq!(code("account_age_days", f32::NAN), "OTHER_RISK_FACTOR");
        assert_eq!(code("account_age_days", 400.0), "OTHER_RISK_FACTOR");
    }

    #[test]
    fn codes_follow_feature_names_and_direction() {
        let f = aged(400.0);
        let cases = [
            ("device_orders_1h", 1.0, "HIGH_DEVICE_VELOCITY"),
            ("card_addresses_7d", 1.0, "HIGH_CARD_VELOCITY"),
            ("ship_bill_distance_km", 1.0, "SHIP_BILL_DISTANCE"),
            ("max_resale_risk", 1.0, "HIGH_RESALE_RISK_ITEMS"),
            ("service_speed", 1.0, "EXPRESS_SHIPPING_RISK"),
            ("address_customers_7d", 1.0, "RESHIPPER_ADDRESS"),
            ("hour_local", 1.0, "OTHER_RISK_FACTOR"),
            ("device_orders_1h", -1.0, "LOW_RISK_FACTOR"),
            ("order_amount", 0.0, "LOW_RISK_FACTOR"),
            ("order_amount", f32::NAN, "LOW_RISK_FACTOR"),
        ];
        for (name, contribution, code) in cases {
            assert_eq!(
                fraud_reason_code(name, contribution, &f).as_str(),
                code,
                "{name} {contribution}"
            );
        }
    }

    #[test]
    fn risky_decisions_list_positive_pushes_and_approvals_negative_ones() {
        let c = [0.2, 1.5, -0.7, 0.0, -0.01, f32::NAN, -0.3];
        assert_eq!(reason_indices(&c, false, 5, 0.05), [1, 0]);
        assert_eq!(reason_indices(&c, false, 1, 0.05), [1]);
        assert_eq!(reason_indices(&c, true, 5, 0.05), [2, 6]);
        assert_eq!(reason_indices(&c, true, 5, 0.0), [2, 6, 4]);
    }

    #[test]
    fn every_decision_has_a_reason() {
        // Nothing passes the minimum: the strongest pull alone.
        let small = [0.01, -0.02, 0.03];
        assert_eq!(reason_indices(&small, false, 5, 0.05), [2]);
        assert_eq!(reason_indices(&small, true, 5, 0.05), [1]);
        // Nothing pulls toward approval at all: the lowest push up.
        let up = [0.4, 0.1, 0.9];
        assert_eq!(reason_indices(&up, true, 5, 0.05), [1]);
        assert_eq!(
            reason_indices(&[f32::NAN], true, 5, 0.05),
            Vec::<usize>::new()
        );
        assert_eq!(reason_indices(&[], false, 5, 0.05), Vec::<usize>::new());
    }
}
