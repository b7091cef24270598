//! Risk messages to and from the models' types.

use std::time::{SystemTime, UNIX_EPOCH};

use allot_engine::network::Network;
use allot_models::features::{OrderEvent, OrderLine, entity_key};
use allot_models::risk::{RiskAssessment, RiskDecision, RiskReason, RuleHit};
use allot_models::shap::ReasonCode as FeatureCode;
use allot_proto::v1 as pb;
use tonic::Status;

use super::allocation::{destination, service_level, system_time};
use crate::error::{invalid, not_found};

fn unix(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The shipping address's identity for velocity features: the postal code or
/// coordinates and the first address line, normalised.
fn address_key(d: &pb::Destination) -> u64 {
    let place = match &d.location {
        Some(pb::destination::Location::PostalCode(p)) => p.trim().to_ascii_uppercase(),
        Some(pb::destination::Location::Coordinates(g)) => format!("{:.4},{:.4}", g.lat, g.lon),
        None => String::new(),
    };
    let line = d
        .address_line1
        .as_deref()
        .unwrap_or("")
        .trim()
        .to_lowercase();
    entity_key(&format!("{place}|{line}"))
}

/// The order event the feature store and the model see, from a
/// `ScoreOrderRequest`.
pub fn order_event(
    network: &Network,
    request: &pb::ScoreOrderRequest,
    now: SystemTime,
) -> Result<OrderEvent, Status> {
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
    let placed = match &context.placed_at {
        Some(t) => system_time(t, "context.placed_at")?,
        None => now,
    };
    let created = match &context.account_created_at {
        Some(t) => system_time(t, "context.account_created_at")?,
        None => placed,
    };
    let key = |id: &str| (!id.is_empty()).then(|| entity_key(id));
    Ok(OrderEvent {
        time: unix(placed),
        customer: entity_key(&context.customer_id),
        account_created: unix(created),
        device: key(&context.device_id),
        card: key(&context.card_fingerprint),
        ship_address: dest.as_ref().map_or(0, address_key),
        ship_to: ship.point,
        bill_to,
        time_zone: ship_region.time_zone,
        service: service_level(*level, "service_level")?,
        lines: order_lines,
    })
}

/// The order event of an Allocate request with a `context` (the same
/// features, amount and rules as ScoreOrder: line unit prices, else the SKUs'
/// list prices); `None` without a context (the order is not scored).
pub fn allocate_order_event(
    network: &Network,
    request: &pb::AllocateRequest,
    now: SystemTime,
) -> Result<Option<OrderEvent>, Status> {
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
    order_event(network, &score, now).map(Some)
}

/// The rule hits recorded in an assessment's reasons (BLOCK_LIST with the
/// matched kind in `feature`, ALLOW_LIST, AMOUNT_LIMIT): the rules' inputs
/// are personal data and are not recorded in clear, their outcome is.
pub fn recorded_rule_hits(reasons: &[pb::Reason]) -> Vec<RuleHit> {
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
pub fn assessment(decision_id: String, a: &RiskAssessment) -> pb::RiskAssessment {
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
