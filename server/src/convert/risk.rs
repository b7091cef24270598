//! Risk messages to and from the models' types.

use std::collections::HashSet;

use allot_engine::network::Network;
use allot_models::features::{FraudReasonCode, OrderLine, fraud_reason_code};
use allot_models::risk::{RiskAssessment, RiskDecision, RiskReason, RuleHit};
use allot_proto::v1 as pb;
use allot_service::ServiceError;
use allot_service::fraud::{CustomerIdentity, FraudOrder, Place};
use allot_service::fraud_returns::{
    MAX_RETURNS_PER_REPORT, ReturnedOrder, ReturnsCall, ReturnsReport,
};
use allot_service::score::ScoreCall;

use super::invalid;
use super::order::{MAX_ORDER_ID_BYTES, destination, order_identity, order_line, service_level};
use super::time::system_time;

/// The order as the fraud check reads it, from a `ScoreOrderRequest`.
///
/// Every customer signal is optional (a guest checkout is scored on what is
/// known); [`missing_signals`] names what was not sent.
pub(crate) fn fraud_order(
    network: &Network,
    request: &pb::ScoreOrderRequest,
) -> Result<FraudOrder, ServiceError> {
    let pb::ScoreOrderRequest {
        order_id,
        lines,
        destination: dest,
        context,
        order_amount_minor,
        currency,
        service_level: level,
    } = request;
    order_identity(order_id, lines.len(), &|f| f.to_string())?;
    let total_minor = order_total(network, *order_amount_minor, currency)?;
    let empty = pb::OrderContext::default();
    let context = context.as_ref().unwrap_or(&empty);
    if !context.ip.is_empty() && context.ip.parse::<std::net::IpAddr>().is_err() {
        return Err(invalid(
            "context.ip",
            "not an IP address: IPv4 (203.0.113.7) or IPv6 (2001:db8::7) text form, or empty",
        ));
    }
    let mut order_lines = Vec::with_capacity(lines.len());
    let mut seen = HashSet::new();
    for (i, line) in lines.iter().enumerate() {
        let checked = order_line(
            network,
            line.line_id.clone(),
            &line.sku,
            line.quantity,
            line.unit_price_minor,
            line.weight_grams,
            &format!("lines[{i}]"),
            &mut seen,
        )?;
        let sku = network.sku(checked.sku);
        order_lines.push(OrderLine {
            qty: line.quantity,
            unit_price_minor: line
                .unit_price_minor
                // At most MAX_UNIT_PRICE_MINOR (checked above): fits i64.
                .map_or(sku.unit_price_minor, |p| {
                    i64::try_from(p).unwrap_or(i64::MAX)
                }),
            resale_risk: sku.resale_risk,
        });
    }
    let ship = destination(network, dest.clone(), "destination")?;
    let ship_region = network.region(ship.lane_region(network));
    let bill_to = match &context.billing {
        Some(billing) => destination(network, Some(billing.clone()), "context.billing")?.point,
        None => ship.point,
    };
    let placed_at = context
        .placed_at
        .as_ref()
        .map(|t| system_time(t, "context.placed_at"))
        .transpose()?;
    let account_created_at = context
        .account_created_at
        .as_ref()
        .map(|t| system_time(t, "context.account_created_at"))
        .transpose()?;
    let (ship_place, ship_line1) = match dest {
        Some(pb::Destination {
            location,
            address_line1,
            ..
        }) => (
            match location {
                Some(pb::destination::Location::PostalCode(p)) => Place::PostalCode(p.clone()),
                Some(pb::destination::Location::Coordinates(g)) => {
                    Place::Coordinates(allot_engine::network::GeoPoint {
                        lat: g.lat,
                        lon: g.lon,
                    })
                }
                // `destination` above refuses a destination without either.
                None => Place::PostalCode(String::new()),
            },
            address_line1.clone().unwrap_or_default(),
        ),
        None => (Place::PostalCode(String::new()), String::new()),
    };
    Ok(FraudOrder {
        order_id: order_id.clone(),
        placed_at,
        account_created_at,
        customer: customer_identity(order_id, &context.customer_id, &context.email),
        device_id: context.device_id.clone(),
        card_fingerprint: context.card_fingerprint.clone(),
        ship_place,
        ship_line1,
        ship_to: ship.point,
        bill_to,
        time_zone: ship_region.time_zone,
        service: service_level(*level, "service_level")?,
        lines: order_lines,
        total_minor,
    })
}

/// The caller's order total when it gave one (`None`: the lines' value), in
/// the network's currency, the only one accepted.
fn order_total(
    network: &Network,
    amount_minor: i64,
    currency: &str,
) -> Result<Option<i64>, ServiceError> {
    let home = network.currency();
    if !currency.is_empty() {
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(invalid(
                "currency",
                format!(
                    "{currency:?} is not an ISO 4217 code: three letters such as {home}, or empty for {home}"
                ),
            ));
        }
        if !currency.eq_ignore_ascii_case(home) {
            return Err(invalid(
                "currency",
                format!(
                    "{currency} is not the network's currency: amounts must be in {home} (no conversion), or leave it empty"
                ),
            ));
        }
    }
    match amount_minor {
        0 => Ok(None),
        a if a < 0 => Err(invalid(
            "order_amount_minor",
            format!("must be >= 0 (0: the lines' value), got {a}"),
        )),
        a => Ok(Some(a)),
    }
}

/// Who the velocity features count the order against: the OMS's customer
/// id; for a guest checkout the e-mail address (normalised), the identity
/// a guest comes back with; else the order itself (a customer with no
/// history). ReportReturns names the customer of a returned order the same
/// way.
fn customer_identity(order_id: &str, customer_id: &str, email: &str) -> CustomerIdentity {
    if !customer_id.is_empty() {
        CustomerIdentity::Account(customer_id.to_string())
    } else if !email.trim().is_empty() {
        CustomerIdentity::GuestEmail(email.trim().to_lowercase())
    } else {
        CustomerIdentity::GuestOrder(order_id.to_string())
    }
}

/// The customer signals a request did not carry, as field paths in
/// OrderContext's field order (`context` alone when it had none): what the
/// answer's `missing_signals` says.
pub(crate) fn missing_signals(context: Option<&pb::OrderContext>) -> Vec<String> {
    let Some(pb::OrderContext {
        customer_id,
        account_created_at,
        email,
        device_id,
        card_fingerprint,
        billing,
        ip,
        placed_at: _,
    }) = context
    else {
        return vec!["context".to_string()];
    };
    [
        ("context.customer_id", customer_id.is_empty()),
        ("context.account_created_at", account_created_at.is_none()),
        ("context.email", email.is_empty()),
        ("context.device_id", device_id.is_empty()),
        ("context.card_fingerprint", card_fingerprint.is_empty()),
        ("context.billing", billing.is_none()),
        ("context.ip", ip.is_empty()),
    ]
    .into_iter()
    .filter(|(_, missing)| *missing)
    .map(|(field, _)| field.to_string())
    .collect()
}

/// The fraud order of an Allocate request with a `context` (the same
/// features, amount and rules as ScoreOrder: line unit prices, else the SKUs'
/// list prices); `None` without a context (the order is not scored).
pub(crate) fn allocate_fraud_order(
    network: &Network,
    request: &pb::AllocateRequest,
) -> Result<Option<FraudOrder>, ServiceError> {
    if request.context.is_none() {
        return Ok(None);
    }
    let score = pb::ScoreOrderRequest {
        order_id: request.order_id.clone(),
        lines: request.lines.clone(),
        destination: request.destination.clone(),
        context: request.context.clone(),
        order_amount_minor: 0,
        currency: String::new(),
        service_level: request.service_level,
    };
    fraud_order(network, &score).map(Some)
}

/// The rule hits recorded in an assessment's reasons (BLOCK_LIST with the
/// matched kind in `feature`, ALLOW_LIST, AMOUNT_LIMIT): the rules' inputs
/// are personal data and are not recorded in clear, their outcome is.
pub(crate) fn recorded_rule_hits(reasons: &[pb::Reason]) -> Vec<RuleHit> {
    reasons
        .iter()
        .filter_map(|r| match pb::ReasonCode::try_from(r.code) {
            Ok(pb::ReasonCode::BlockList) => Some(RuleHit::Blocked(match r.feature.as_str() {
                "card" => "card",
                "device" => "device",
                _ => "customer",
            })),
            Ok(pb::ReasonCode::AllowList) => Some(RuleHit::Allowed),
            Ok(pb::ReasonCode::AmountLimit) => Some(RuleHit::OverAmount),
            _ => None,
        })
        .collect()
}

fn feature_code(code: FraudReasonCode) -> pb::ReasonCode {
    match code {
        FraudReasonCode::HighDeviceVelocity => pb::ReasonCode::HighDeviceVelocity,
        FraudReasonCode::HighCardVelocity => pb::ReasonCode::HighCardVelocity,
        FraudReasonCode::ShipBillDistance => pb::ReasonCode::ShipBillDistance,
        FraudReasonCode::NewAccountHighValue => pb::ReasonCode::NewAccountHighValue,
        FraudReasonCode::HighOrderValue => pb::ReasonCode::HighOrderValue,
        FraudReasonCode::HighResaleRiskItems => pb::ReasonCode::HighResaleRiskItems,
        FraudReasonCode::ExpressShippingRisk => pb::ReasonCode::ExpressShippingRisk,
        FraudReasonCode::ReshipperAddress => pb::ReasonCode::ReshipperAddress,
        FraudReasonCode::OtherRiskFactor => pb::ReasonCode::OtherRiskFactor,
        FraudReasonCode::LowRiskFactor => pb::ReasonCode::LowRiskFactor,
    }
}

/// A reason of an assessment whose order had `features` (the value an
/// AMOUNT_LIMIT reason names is its amount, major units). A model reason's
/// code comes from the feature, the direction it pushed and the order's
/// other features ([`fraud_reason_code`]); a missing value reads `missing`.
fn reason(r: &RiskReason, features: &allot_models::features::FraudFeatures) -> pb::Reason {
    let amount = features.order_amount;
    match r {
        RiskReason::Feature(f) => pb::Reason {
            code: feature_code(fraud_reason_code(&f.feature, f.contribution, features)) as i32,
            message: if f.value.is_nan() {
                format!(
                    "{} missing {} the fraud score ({:+.3} log-odds)",
                    f.feature,
                    if f.contribution > 0.0 {
                        "raised"
                    } else {
                        "lowered"
                    },
                    f.contribution
                )
            } else {
                format!(
                    "{} = {} {} the fraud score ({:+.3} log-odds)",
                    f.feature,
                    f.value,
                    if f.contribution > 0.0 {
                        "raised"
                    } else {
                        "lowered"
                    },
                    f.contribution
                )
            },
            feature: f.feature.clone(),
            // A missing feature (no account, no device...) has no number.
            value: if f.value.is_nan() {
                MISSING_VALUE.to_string()
            } else {
                f.value.to_string()
            },
            contribution: f64::from(f.contribution),
            ..Default::default()
        },
        RiskReason::Rule(hit) => {
            let matched = match hit {
                RuleHit::Blocked(what) => *what,
                RuleHit::Allowed => "customer",
                RuleHit::OverAmount => "order_amount",
            };
            let (code, message) = match hit {
                RuleHit::Blocked(what) => (
                    pb::ReasonCode::BlockList,
                    format!("the {what} is on a block list"),
                ),
                RuleHit::Allowed => (
                    pb::ReasonCode::AllowList,
                    "the customer is on the allow list".to_string(),
                ),
                RuleHit::OverAmount => (
                    pb::ReasonCode::AmountLimit,
                    "the order exceeds the configured amount limit".to_string(),
                ),
            };
            pb::Reason {
                code: code as i32,
                message,
                feature: matched.to_string(),
                // The amount is not personal data; what a block or allow
                // list matched is, and is not repeated here.
                value: match hit {
                    RuleHit::OverAmount => amount.to_string(),
                    RuleHit::Blocked(_) | RuleHit::Allowed => String::new(),
                },
                ..Default::default()
            }
        }
    }
}

/// `Reason.value` of a feature the order did not have.
pub(crate) const MISSING_VALUE: &str = "missing";

/// A fraud decision on the wire.
pub(crate) fn risk_decision(d: RiskDecision) -> pb::RiskDecision {
    match d {
        RiskDecision::Approve => pb::RiskDecision::Approve,
        RiskDecision::Review => pb::RiskDecision::Review,
        RiskDecision::Reject => pb::RiskDecision::Reject,
    }
}

/// The `RiskAssessment` message.
pub(crate) fn assessment(decision_id: String, a: &RiskAssessment) -> pb::RiskAssessment {
    let decision = risk_decision(a.decision);
    pb::RiskAssessment {
        fraud_probability: f64::from(a.probability),
        decision: decision as i32,
        reasons: a.reasons.iter().map(|r| reason(r, &a.features)).collect(),
        model_name: a.model_name.clone(),
        model_version: a.model_version.clone(),
        scoring_time_us: a.elapsed.as_micros() as u64,
        decision_id,
        // Filled by the adapter from the request (`missing_signals`).
        missing_signals: Vec::new(),
    }
}

/// The service's ReportReturns call: 1 to [`MAX_RETURNS_PER_REPORT`]
/// returned orders, each with an order id of 1 to 128 bytes.
pub(crate) fn returns_call(
    message: pb::ReportReturnsRequest,
    started: std::time::Instant,
) -> Result<ReturnsCall<pb::ReportReturnsRequest>, ServiceError> {
    let n = message.returns.len();
    if n == 0 || n > MAX_RETURNS_PER_REPORT {
        return Err(invalid(
            "returns",
            format!("must hold 1 to {MAX_RETURNS_PER_REPORT} returned orders, got {n}"),
        ));
    }
    let mut returns = Vec::with_capacity(n);
    for (i, r) in message.returns.iter().enumerate() {
        if r.order_id.is_empty() || r.order_id.len() > MAX_ORDER_ID_BYTES {
            return Err(invalid(
                &format!("returns[{i}].order_id"),
                format!(
                    "required, 1 to {MAX_ORDER_ID_BYTES} bytes, got {}",
                    r.order_id.len()
                ),
            ));
        }
        let returned_at = r
            .returned_at
            .as_ref()
            .map(|t| system_time(t, &format!("returns[{i}].returned_at")))
            .transpose()?;
        returns.push(ReturnedOrder {
            order_id: r.order_id.clone(),
            customer: customer_identity(&r.order_id, &r.customer_id, &r.email),
            returned_at,
        });
    }
    Ok(ReturnsCall {
        returns,
        request: message,
        started,
        // The handler names the caller (crate::auth::caller_of).
        caller: String::new(),
    })
}

/// The `ReportReturnsResponse` message.
pub(crate) fn returns_response(
    decision_id: String,
    report: &ReturnsReport,
) -> pb::ReportReturnsResponse {
    pb::ReportReturnsResponse {
        decision_id,
        counted: report.counted,
        already_counted: report.already_counted,
    }
}

/// The service's ScoreOrder call.
pub(crate) fn score_call(
    network: &Network,
    message: pb::ScoreOrderRequest,
    started: std::time::Instant,
    deadline: std::time::Instant,
) -> Result<ScoreCall<pb::ScoreOrderRequest>, ServiceError> {
    let order = fraud_order(network, &message)?;
    Ok(ScoreCall {
        order_id: message.order_id.clone(),
        order,
        request: message,
        started,
        deadline,
        // The handler names the caller (crate::auth::caller_of).
        caller: String::new(),
    })
}

#[cfg(test)]
mod tests {
    use allot_engine::network::DEMO_SEED;
    use allot_models::features::FraudFeatures;
    use allot_models::shap::{FeatureReason, ReasonCode};
    use allot_service::privacy::Pseudonymizer;

    use super::*;

    fn request(amount_minor: i64) -> pb::ScoreOrderRequest {
        pb::ScoreOrderRequest {
            order_id: "o-1".into(),
            lines: vec![pb::OrderLine {
                line_id: "1".into(),
                sku: "SKU-000001".into(),
                quantity: 2,
                unit_price_minor: Some(1_299),
                weight_grams: None,
            }],
            destination: Some(pb::Destination {
                location: Some(pb::destination::Location::PostalCode("10001".into())),
                ..Default::default()
            }),
            context: Some(pb::OrderContext {
                customer_id: "c-1".into(),
                ..Default::default()
            }),
            order_amount_minor: amount_minor,
            currency: String::new(),
            service_level: 0,
        }
    }

    #[test]
    fn the_amount_sent_is_the_orders_amount_and_no_account_age_is_missing() {
        let network = Network::demo(DEMO_SEED);
        let keys = Pseudonymizer::new(&[1u8; 32], "test").unwrap();
        let now = std::time::SystemTime::now();
        let sent = fraud_order(&network, &request(54_321)).unwrap();
        let event = sent.event(now, &keys);
        assert_eq!(event.amount_minor(), 54_321);
        assert_eq!(event.account_created, None);
        assert_eq!(event.observation().amount_minor, 54_321);
        let lines = fraud_order(&network, &request(0))
            .unwrap()
            .event(now, &keys);
        assert_eq!(lines.amount_minor(), 2 * 1_299);
        // The same order id is the same order, another is another.
        assert_eq!(lines.order, event.order);
        let mut other = request(0);
        other.order_id = "o-2".into();
        let other = fraud_order(&network, &other).unwrap().event(now, &keys);
        assert_ne!(other.order, event.order);
        assert_eq!(other.customer, event.customer);
    }

    fn feature(name: &str, value: f32, contribution: f32) -> RiskReason {
        RiskReason::Feature(FeatureReason {
            feature: name.into(),
            value,
            contribution,
            // The shap crate's code; the answer's comes from the features.
            code: ReasonCode::NewAccountHighValue,
        })
    }

    #[test]
    fn reason_codes_come_from_the_feature_its_direction_and_the_account_age() {
        let old = FraudFeatures {
            account_age_days: 400.0,
            order_amount: 900.0,
            ..FraudFeatures::default()
        };
        let guest = FraudFeatures {
            account_age_days: f32::NAN,
            ..old
        };
        let young = FraudFeatures {
            account_age_days: 1.0,
            ..old
        };
        let code = |r: &RiskReason, f: &FraudFeatures| reason(r, f).code;
        let amount = feature("order_amount", 900.0, 0.8);
        assert_eq!(code(&amount, &old), pb::ReasonCode::HighOrderValue as i32);
        assert_eq!(code(&amount, &guest), pb::ReasonCode::HighOrderValue as i32);
        assert_eq!(
            code(&amount, &young),
            pb::ReasonCode::NewAccountHighValue as i32
        );
        let missing_age = feature("account_age_days", f32::NAN, 0.3);
        let r = reason(&missing_age, &guest);
        assert_eq!(r.code, pb::ReasonCode::OtherRiskFactor as i32);
        assert_eq!(r.value, MISSING_VALUE);
        assert!(r.message.contains("missing"), "{}", r.message);
        let toward_approval = feature("account_age_days", 400.0, -1.2);
        let r = reason(&toward_approval, &old);
        assert_eq!(r.code, pb::ReasonCode::LowRiskFactor as i32);
        assert!(r.message.contains("lowered"), "{}", r.message);
        assert_eq!(r.contribution, f64::from(-1.2f32));
    }

    #[test]
    fn returned_orders_are_named_like_scored_ones_and_checked() {
        let started = std::time::Instant::now();
        let call = returns_call(
            pb::ReportReturnsRequest {
                returns: vec![
                    pb::ReturnedOrder {
                        order_id: "o-1".into(),
                        customer_id: "c-1".into(),
                        email: "ignored@example.com".into(),
                        returned_at: Some(prost_types::Timestamp {
                            seconds: 1_790_000_000,
                            nanos: 0,
                        }),
                    },
                    pb::ReturnedOrder {
                        order_id: "o-2".into(),
                        customer_id: String::new(),
                        email: " Guest@Example.com ".into(),
                        returned_at: None,
                    },
                    pb::ReturnedOrder {
                        order_id: "o-3".into(),
                        ..Default::default()
                    },
                ],
            },
            started,
        )
        .unwrap();
        let customers: Vec<&CustomerIdentity> = call.returns.iter().map(|r| &r.customer).collect();
        assert_eq!(
            customers,
            [
                &CustomerIdentity::Account("c-1".into()),
                &CustomerIdentity::GuestEmail("guest@example.com".into()),
                &CustomerIdentity::GuestOrder("o-3".into()),
            ]
        );
        assert_eq!(
            call.returns[0].returned_at,
            Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_790_000_000))
        );
        assert_eq!(call.returns[1].returned_at, None);
        let refused = |returns: Vec<pb::ReturnedOrder>| {
            returns_call(pb::ReportReturnsRequest { returns }, started)
                .err()
                .unwrap()
                .to_string()
        };
        assert!(refused(vec![]).contains("returns"));
        assert!(refused(vec![pb::ReturnedOrder::default()]).contains("returns[0].order_id"));
        let too_many = vec![
            pb::ReturnedOrder {
                order_id: "o".into(),
                ..Default::default()
            };
            MAX_RETURNS_PER_REPORT + 1
        ];
        assert!(refused(too_many).contains("1 to 1000"));
    }
}
