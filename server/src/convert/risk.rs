//! Risk messages to and from the models' types.

use std::collections::HashSet;

use allot_engine::network::Network;
use allot_models::features::OrderLine;
use allot_models::risk::{RiskAssessment, RiskDecision, RiskReason, RuleHit};
use allot_models::shap::ReasonCode as FeatureCode;
use allot_proto::v1 as pb;
use allot_service::ServiceError;
use allot_service::fraud::{CustomerIdentity, FraudOrder, Place};
use allot_service::score::ScoreCall;

use super::invalid;
use super::order::{destination, order_identity, order_line, service_level};
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
    let ship_region = network.region(
        ship.region
            .unwrap_or_else(|| network.nearest_region(ship.point)),
    );
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
        placed_at,
        account_created_at,
        customer: customer_identity(order_id, context),
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
/// history).
fn customer_identity(order_id: &str, context: &pb::OrderContext) -> CustomerIdentity {
    if !context.customer_id.is_empty() {
        CustomerIdentity::Account(context.customer_id.clone())
    } else if !context.email.trim().is_empty() {
        CustomerIdentity::GuestEmail(context.email.trim().to_lowercase())
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

fn feature_code(code: FeatureCode) -> pb::ReasonCode {
    match code {
        FeatureCode::HighDeviceVelocity => pb::ReasonCode::HighDeviceVelocity,
        FeatureCode::HighCardVelocity => pb::ReasonCode::HighCardVelocity,
        FeatureCode::ShipBillDistance => pb::ReasonCode::ShipBillDistance,
        FeatureCode::NewAccountHighValue => pb::ReasonCode::NewAccountHighValue,
        FeatureCode::HighResaleRiskItems => pb::ReasonCode::HighResaleRiskItems,
        FeatureCode::ExpressShippingRisk => pb::ReasonCode::ExpressShippingRisk,
        FeatureCode::ReshipperAddress => pb::ReasonCode::ReshipperAddress,
        FeatureCode::OtherRiskFactor => pb::ReasonCode::OtherRiskFactor,
    }
}

/// A reason of an assessment whose order amounted to `amount` (major
/// units), the value an AMOUNT_LIMIT reason names.
fn reason(r: &RiskReason, amount: f32) -> pb::Reason {
    match r {
        RiskReason::Feature(f) => pb::Reason {
            code: feature_code(f.code) as i32,
            message: format!(
                "{} = {} raised the fraud score (+{:.3} log-odds)",
                f.feature, f.value, f.contribution
            ),
            feature: f.feature.clone(),
            value: f.value.to_string(),
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
        reasons: a
            .reasons
            .iter()
            .map(|r| reason(r, a.features.order_amount))
            .collect(),
        model_name: a.model_name.clone(),
        model_version: a.model_version.clone(),
        scoring_time_us: a.elapsed.as_micros() as u64,
        decision_id,
        // Filled by the adapter from the request (`missing_signals`).
        missing_signals: Vec::new(),
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
