//! RouteReturn: the request to the engine's return, the route to the
//! answer.

use std::time::Instant;

use allot_engine::network::Network;
use allot_engine::returns::{
    Condition, Disposition, NodeRoute, ReturnCause, ReturnReason, ReturnReasonCode, ReturnRequest,
};
use allot_proto::v1 as pb;
use allot_service::ServiceError;
use allot_service::route_return::{RouteReturnCall, RoutedReturn};

use super::invalid;
use super::order::destination;

/// Most bytes of a return id.
const MAX_RETURN_ID_BYTES: usize = 128;

/// Most units in one return.
const MAX_RETURN_UNITS: u32 = 10_000;

/// The call of a RouteReturn request, checked field by field.
pub(crate) fn route_return_call(
    network: &Network,
    message: pb::RouteReturnRequest,
    started: Instant,
    deadline: Instant,
) -> Result<RouteReturnCall<pb::RouteReturnRequest>, ServiceError> {
    if message.return_id.is_empty() || message.return_id.len() > MAX_RETURN_ID_BYTES {
        return Err(invalid(
            "return_id",
            format!(
                "{} bytes: give 1 to {MAX_RETURN_ID_BYTES}",
                message.return_id.len()
            ),
        ));
    }
    if message.order_id.len() > MAX_RETURN_ID_BYTES {
        return Err(invalid(
            "order_id",
            format!(
                "{} bytes: at most {MAX_RETURN_ID_BYTES}",
                message.order_id.len()
            ),
        ));
    }
    if message.sku.is_empty() {
        return Err(invalid("sku", "required: the returned item's SKU code"));
    }
    let sku = network
        .sku_id(&message.sku)
        .ok_or_else(|| ServiceError::not_found("sku", "SKU", &message.sku))?;
    if !(1..=MAX_RETURN_UNITS).contains(&message.quantity) {
        return Err(invalid(
            "quantity",
            format!("{}: give 1 to {MAX_RETURN_UNITS} units", message.quantity),
        ));
    }
    let cause = match pb::ReturnReason::try_from(message.reason) {
        Ok(pb::ReturnReason::Defective) => ReturnCause::Defective,
        Ok(pb::ReturnReason::DamagedInTransit) => ReturnCause::DamagedInTransit,
        Ok(pb::ReturnReason::WrongItem) => ReturnCause::WrongItem,
        Ok(pb::ReturnReason::NotAsDescribed) => ReturnCause::NotAsDescribed,
        Ok(pb::ReturnReason::SizeFit) => ReturnCause::SizeFit,
        Ok(pb::ReturnReason::NoLongerNeeded) => ReturnCause::NoLongerNeeded,
        Ok(pb::ReturnReason::ArrivedLate) => ReturnCause::ArrivedLate,
        Ok(pb::ReturnReason::Other | pb::ReturnReason::Unspecified) => ReturnCause::Other,
        Err(_) => {
            return Err(invalid(
                "reason",
                format!("{} is not a ReturnReason", message.reason),
            ));
        }
    };
    let condition = match pb::ItemCondition::try_from(message.condition) {
        Ok(pb::ItemCondition::NewSealed) => Condition::NewSealed,
        Ok(pb::ItemCondition::LikeNew) => Condition::LikeNew,
        Ok(pb::ItemCondition::Used | pb::ItemCondition::Unspecified) => Condition::Used,
        Ok(pb::ItemCondition::Damaged) => Condition::Damaged,
        Err(_) => {
            return Err(invalid(
                "condition",
                format!("{} is not an ItemCondition", message.condition),
            ));
        }
    };
    let unit_price_minor = match message.unit_price_minor {
        Some(p) => i64::try_from(p)
            .ok()
            .filter(|p| *p <= 1_000_000_000)
            .ok_or_else(|| invalid("unit_price_minor", format!("{p}: at most 1000000000")))?,
        None => network.sku(sku).unit_price_minor,
    };
    let origin = destination(network, message.origin.clone(), "origin")?;
    Ok(RouteReturnCall {
        return_id: message.return_id.clone(),
        order_id: message.order_id.clone(),
        request: ReturnRequest {
            sku,
            quantity: message.quantity,
            cause,
            condition,
            origin,
            unit_price_minor,
        },
        raw: message,
        started,
        deadline,
        caller: String::new(),
    })
}

fn disposition(d: Disposition) -> pb::ReturnDisposition {
    match d {
        Disposition::Restock => pb::ReturnDisposition::Restock,
        Disposition::Refurbish => pb::ReturnDisposition::Refurbish,
        Disposition::Liquidate => pb::ReturnDisposition::Liquidate,
        Disposition::ReturnToVendor => pb::ReturnDisposition::ReturnToVendor,
        Disposition::WriteOff => pb::ReturnDisposition::WriteOff,
    }
}

fn reason_code(code: ReturnReasonCode) -> pb::ReasonCode {
    match code {
        ReturnReasonCode::Restock => pb::ReasonCode::RestockCondition,
        ReturnReasonCode::Refurbish => pb::ReasonCode::RefurbishCondition,
        ReturnReasonCode::Liquidate => pb::ReasonCode::LiquidateLowValue,
        ReturnReasonCode::ReturnToVendor => pb::ReasonCode::ReturnToVendor,
        ReturnReasonCode::WriteOff => pb::ReasonCode::WriteOffDamaged,
        ReturnReasonCode::ChannelFull => pb::ReasonCode::ReturnChannelFull,
        ReturnReasonCode::RunnerUp => pb::ReasonCode::ReturnRunnerUp,
        ReturnReasonCode::NoReturnNode => pb::ReasonCode::NoReturnNode,
    }
}

fn reason(network: &Network, r: &ReturnReason) -> pb::Reason {
    super::node_reason(
        reason_code(r.code),
        &r.message,
        r.node
            .map(|n| network.node(n).code.clone())
            .unwrap_or_default(),
        r.value_delta,
    )
}

fn alternative(network: &Network, r: &NodeRoute) -> pb::ReturnAlternative {
    pb::ReturnAlternative {
        node: network.node(r.node).code.clone(),
        disposition: disposition(r.main_disposition()) as i32,
        net_recovery_minor: r.net_minor(),
        shipping_cost_minor: r.label_cost_minor,
    }
}

/// The answer of a routed return.
pub(crate) fn return_decision(
    network: &Network,
    return_id: String,
    decision_id: String,
    routed: &RoutedReturn,
) -> pb::ReturnDecision {
    let route = &routed.route;
    let reasons = route.reasons.iter().map(|r| reason(network, r)).collect();
    let runner_up = route.runner_up.as_ref().map(|r| alternative(network, r));
    let candidate_nodes = u32::try_from(route.candidates).unwrap_or(u32::MAX);
    match &route.chosen {
        None => pb::ReturnDecision {
            return_id,
            disposition: pb::ReturnDisposition::WriteOff as i32,
            reasons,
            decision_id,
            runner_up,
            candidate_nodes,
            ..Default::default()
        },
        Some(chosen) => pb::ReturnDecision {
            return_id,
            node: network.node(chosen.node).code.clone(),
            disposition: disposition(chosen.main_disposition()) as i32,
            expected_recovery_minor: chosen.recovery_minor(),
            shipping_cost_minor: chosen.label_cost_minor,
            net_recovery_minor: chosen.net_minor(),
            service: network.service(chosen.service).code.clone(),
            reasons,
            decision_id,
            units: chosen
                .units
                .iter()
                .map(|u| pb::ReturnUnits {
                    disposition: disposition(u.disposition) as i32,
                    quantity: u.units,
                    recovery_minor: u.recovery_minor,
                })
                .collect(),
            receiving_cost_minor: chosen.receiving_cost_minor,
            runner_up,
            candidate_nodes,
        },
    }
}
