//! Risk messages to and from the models' types.

use allot_engine::network::Network;
use allot_models::features::OrderLine;
use allot_models::risk::{RiskAssessment, RiskDecision, RiskReason, RuleHit};
use allot_models::shap::ReasonCode as FeatureCode;
use allot_proto::v1 as pb;
use allot_service::ServiceError;
use allot_service::fraud::{FraudOrder, Place};
use allot_service::score::ScoreCall;

use super::order::{destination, service_level};
use super::time::system_time;
use super::{invalid, not_found};

/// The order as the fraud check reads it, from a `ScoreOrderRequest`.
pub(crate) fn fraud_order(
    network: &Network,
    request: &pb::ScoreOrderRequest,
) -> Result<FraudOrder, ServiceError> {
    let pb::ScoreOrderRequest {
        order_id,
        lines,
        destination: dest,
        context,
        order_amount_minor: _,
        currency: _,
        service_level: level,
    } = request;
    if order_id.is_empty() {
        return Err(invalid("order_id", "required"));
    }
    if lines.is_empty() {
        return Err(invalid("lines", "at least one line is required"));
    }
    let Some(context) = context else {
        return Err(invalid(
            "context",
            "required: the customer, device and card the order comes from",
        ));
    };
    if context.customer_id.is_empty() {
        return Err(invalid("context.customer_id", "required"));
    }
    let mut order_lines = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        let sku = network
            .sku_id(&line.sku)
            .ok_or_else(|| not_found(&format!("lines[{i}].sku"), "SKU", &line.sku))?;
        if line.quantity == 0 {
            return Err(invalid(&format!("lines[{i}].quantity"), "must be >= 1"));
        }
        let sku = network.sku(sku);
        order_lines.push(OrderLine {
            qty: line.quantity,
            unit_price_minor: line
                .unit_price_minor
                .map_or(sku.unit_price_minor, |p| p as i64),
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
        customer_id: context.customer_id.clone(),
        device_id: context.device_id.clone(),
        card_fingerprint: context.card_fingerprint.clone(),
        ship_place,
        ship_line1,
        ship_to: ship.point,
        bill_to,
        time_zone: ship_region.time_zone,
        service: service_level(*level, "service_level")?,
        lines: order_lines,
    })
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

fn reason(r: &RiskReason) -> pb::Reason {
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
                ..Default::default()
            }
        }
    }
}

/// The `RiskAssessment` message.
pub(crate) fn assessment(decision_id: String, a: &RiskAssessment) -> pb::RiskAssessment {
    let decision = match a.decision {
        RiskDecision::Approve => pb::RiskDecision::Approve,
        RiskDecision::Review => pb::RiskDecision::Review,
        RiskDecision::Reject => pb::RiskDecision::Reject,
    };
    pb::RiskAssessment {
        fraud_probability: f64::from(a.probability),
        decision: decision as i32,
        reasons: a.reasons.iter().map(reason).collect(),
        model_name: a.model_name.clone(),
        model_version: a.model_version.clone(),
        scoring_time_us: a.elapsed.as_micros() as u64,
        decision_id,
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
    })
}
