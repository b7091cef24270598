//! Promise messages to and from engine types.

use std::collections::HashSet;
use std::time::SystemTime;

use allot_engine::network::{Network, ServiceLevel};
use allot_engine::promise::{DeliveryOption, MAX_LINES, PromiseOutcome, PromiseRequest};
use allot_proto::v1 as pb;
use allot_service::ServiceError;
use allot_service::promise::PromiseCall;

use super::allocation::reason;
use super::invalid;
use super::level;
use super::order::{destination, order_line};
use super::time::{system_time, timestamp};

/// A requested service level; UNSPECIFIED has no meaning in a list.
fn requested_level(level: i32, field: &str) -> Result<ServiceLevel, ServiceError> {
    level::from_proto(level, field)?.ok_or_else(|| {
        invalid(
            field,
            "SERVICE_LEVEL_UNSPECIFIED cannot be quoted; leave service_levels empty for all",
        )
    })
}

/// The engine request from a `PromiseRequest`; the order time defaults to
/// `now`.
pub(crate) fn promise_request(
    network: &Network,
    request: pb::PromiseRequest,
    now: SystemTime,
) -> Result<PromiseRequest, ServiceError> {
    let pb::PromiseRequest {
        lines,
        destination: dest,
        order_time,
        explain_unavailable,
        service_levels,
    } = request;
    if lines.is_empty() {
        return Err(invalid("lines", "at least one line is required"));
    }
    if lines.len() > MAX_LINES {
        return Err(invalid(
            "lines",
            format!("at most {MAX_LINES} lines, got {}", lines.len()),
        ));
    }
    let mut seen = HashSet::new();
    let mut cart = Vec::with_capacity(lines.len());
    for (i, line) in lines.into_iter().enumerate() {
        let pb::OrderLine {
            line_id,
            sku,
            quantity,
            unit_price_minor,
            weight_grams,
        } = line;
        // Line ids (1 to 64 bytes, unique), SKUs, quantities (1 to
        // 1000000) and weights are checked as for an order.
        let at = format!("lines[{i}]");
        cart.push(order_line(
            network,
            line_id,
            &sku,
            quantity,
            unit_price_minor,
            weight_grams,
            &at,
            &mut seen,
        )?);
    }
    let destination = destination(network, dest, "destination")?;
    let order_time = order_time
        .as_ref()
        .map(|t| system_time(t, "order_time"))
        .transpose()?
        .unwrap_or(now);
    let service_levels = service_levels
        .iter()
        .enumerate()
        .map(|(i, &l)| requested_level(l, &format!("service_levels[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(PromiseRequest {
        lines: cart,
        destination,
        order_time,
        explain_unavailable,
        service_levels,
    })
}

fn option(network: &Network, request: &PromiseRequest, o: &DeliveryOption) -> pb::DeliveryOption {
    pb::DeliveryOption {
        service_level: level::to_proto(o.service_level) as i32,
        service: network.service(o.service).code.clone(),
        ship_from: o
            .ship_from
            .iter()
            .map(|s| pb::ShipFrom {
                node: network.node(s.node).code.clone(),
                line_id: request
                    .lines
                    .get(s.line)
                    .map(|l| l.line_id.clone())
                    .unwrap_or_default(),
                sku: network.sku(s.sku).code.clone(),
                quantity: s.quantity,
            })
            .collect(),
        ship_by: Some(timestamp(o.ship_by)),
        ship_date_local: o.ship_date_local.to_string(),
        earliest_delivery_date: o.earliest_delivery_date.to_string(),
        latest_delivery_date: o.latest_delivery_date.to_string(),
        earliest_delivery: Some(timestamp(o.earliest_delivery)),
        latest_delivery: Some(timestamp(o.latest_delivery)),
        on_time_probability: o.on_time_probability,
        cost_minor: o.cost_minor,
        from_cache: o.from_cache,
    }
}

/// The wire answer of a promise.
pub(crate) fn promise_response(
    network: &Network,
    request: &PromiseRequest,
    outcome: &PromiseOutcome,
    decision_id: String,
    quoted_at: SystemTime,
) -> pb::PromiseResponse {
    pb::PromiseResponse {
        options: outcome
            .options
            .iter()
            .map(|o| option(network, request, o))
            .collect(),
        unavailable: outcome
            .unavailable
            .iter()
            .map(|u| pb::UnavailableOption {
                service_level: level::to_proto(u.service_level) as i32,
                reasons: u.reasons.iter().map(|r| reason(network, r)).collect(),
            })
            .collect(),
        decision_id,
        model_version: outcome
            .model
            .as_ref()
            .map(|m| m.version.clone())
            .unwrap_or_default(),
        quoted_at: Some(timestamp(quoted_at)),
    }
}

/// The service's promise call; the order time defaults to `now`.
pub(crate) fn promise_call(
    network: &Network,
    message: pb::PromiseRequest,
    now: SystemTime,
    started: std::time::Instant,
    deadline: std::time::Instant,
) -> Result<PromiseCall<pb::PromiseRequest>, ServiceError> {
    Ok(PromiseCall {
        promise: promise_request(network, message.clone(), now)?,
        request: message,
        quoted_at: now,
        started,
        deadline,
        // The handler names the caller (crate::auth::caller_of).
        caller: String::new(),
    })
}
