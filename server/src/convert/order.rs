//! Allocate and EvaluatePlan requests into the service's calls: the order
//! (lines, destination, service level, options), the commit, the caller's
//! plan.

use std::collections::HashSet;
use std::time::{Duration, Instant, SystemTime};

use allot_engine::allocation::evaluate::PlannedUnits;
use allot_engine::allocation::request::{AllocationOptions, Destination, OrderLine, OrderRequest};
use allot_engine::network::{GeoPoint, Network, ServiceLevel};
use allot_proto::v1 as pb;
use allot_service::ServiceError;
use allot_service::allocate::{AllocateCall, CommitRequest, EvaluateCall};
use prost::Message;
use sha2::{Digest, Sha256};

use super::level;
use super::time::system_time;
use super::{invalid, not_found};

/// A service level from the wire; unspecified means "any" (ground).
pub(crate) fn service_level(level: i32, field: &str) -> Result<ServiceLevel, ServiceError> {
    Ok(level::from_proto(level, field)?.unwrap_or(ServiceLevel::Ground))
}

/// Resolves a destination to a point and region.
pub(crate) fn destination(
    network: &Network,
    d: Option<pb::Destination>,
    field: &str,
) -> Result<Destination, ServiceError> {
    let Some(pb::Destination {
        location,
        country_code,
        address_line1: _,
        address_line2: _,
        city: _,
    }) = d
    else {
        return Err(invalid(field, "required: a postal_code or coordinates"));
    };
    if !country_code.is_empty()
        && (country_code.len() != 2 || !country_code.bytes().all(|b| b.is_ascii_alphabetic()))
    {
        return Err(invalid(
            &format!("{field}.country_code"),
            "not an ISO 3166-1 alpha-2 code: two letters such as US, or empty for the network's country",
        ));
    }
    if !country_code.is_empty() && !country_code.eq_ignore_ascii_case(network.country()) {
        return Err(invalid(
            &format!("{field}.country_code"),
            format!(
                "{country_code:?} is not served: the network delivers to {} only (empty means {})",
                network.country(),
                network.country()
            ),
        ));
    }
    match location {
        Some(pb::destination::Location::PostalCode(code)) => {
            if code.is_empty()
                || code.len() > MAX_POSTAL_CODE_BYTES
                || !code
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b' ' || b == b'-')
            {
                let got = if code.len() <= 64 {
                    format!("{code:?}")
                } else {
                    format!("{} bytes", code.len())
                };
                return Err(invalid(
                    &format!("{field}.postal_code"),
                    format!(
                        "a postal code is 1 to {MAX_POSTAL_CODE_BYTES} letters, digits, spaces or hyphens (e.g. 10001, SW1A 1AA), got {got}"
                    ),
                ));
            }
            // Unresolvable is the caller's error whatever the reason (no
            // region matches, or not a postal code at all), as the contract
            // says: INVALID_ARGUMENT, not NOT_FOUND.
            let region = network.resolve_postal_code(&code).ok_or_else(|| {
                invalid(
                    &format!("{field}.postal_code"),
                    format!(
                        "{code:?} matches no region of the network (a postal code as printed, e.g. 10001)"
                    ),
                )
            })?;
            Ok(Destination {
                point: network.region(region).centroid,
                region: Some(region),
            })
        }
        Some(pb::destination::Location::Coordinates(pb::GeoPoint { lat, lon })) => {
            if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
                return Err(invalid(
                    &format!("{field}.coordinates"),
                    format!(
                        "lat must be in -90..=90 and lon in -180..=180, got lat {lat}, lon {lon}"
                    ),
                ));
            }
            let point = GeoPoint { lat, lon };
            Ok(Destination {
                point,
                region: Some(network.nearest_region(point)),
            })
        }
        None => Err(invalid(
            &format!("{field}.location"),
            "required: set postal_code or coordinates",
        )),
    }
}

/// The commit part of an `AllocateRequest`, before its fingerprint.
pub(crate) struct Commit {
    /// The idempotency key (required).
    pub(crate) idempotency_key: String,
    /// The reservation's time to live, when the caller set one.
    pub(crate) ttl: Option<Duration>,
}

impl Commit {
    /// The service's commit request for a request with `fingerprint`.
    pub(crate) fn with(self, fingerprint: [u8; 32]) -> CommitRequest {
        CommitRequest {
            idempotency_key: self.idempotency_key,
            ttl: self.ttl,
            fingerprint,
        }
    }
}

/// One line of an order or a cart: its id unique among `seen`, its SKU
/// resolved, its quantity and weight positive, its price within
/// [`MAX_UNIT_PRICE_MINOR`]; `at` names it in errors.
#[allow(clippy::too_many_arguments)] // the line's fields, destructured by each caller
pub(crate) fn order_line(
    network: &Network,
    line_id: String,
    sku: &str,
    quantity: u32,
    unit_price_minor: Option<u64>,
    weight_grams: Option<u32>,
    at: &str,
    seen: &mut HashSet<String>,
) -> Result<OrderLine, ServiceError> {
    if line_id.is_empty() || line_id.len() > MAX_LINE_ID_BYTES {
        return Err(invalid(
            &format!("{at}.line_id"),
            format!(
                "must be 1 to {MAX_LINE_ID_BYTES} bytes, got {}",
                line_id.len()
            ),
        ));
    }
    if !seen.insert(line_id.clone()) {
        return Err(invalid(
            &format!("{at}.line_id"),
            format!("duplicate line id {line_id:?}: line ids must be unique within the request"),
        ));
    }
    let sku = network
        .sku_id(sku)
        .ok_or_else(|| not_found(&format!("{at}.sku"), "SKU", sku))?;
    if quantity == 0 || quantity > MAX_LINE_QUANTITY {
        return Err(invalid(
            &format!("{at}.quantity"),
            format!("must be 1 to {MAX_LINE_QUANTITY}, got {quantity}"),
        ));
    }
    if let Some(price) = unit_price_minor.filter(|p| *p > MAX_UNIT_PRICE_MINOR) {
        return Err(invalid(
            &format!("{at}.unit_price_minor"),
            format!("must be at most {MAX_UNIT_PRICE_MINOR} minor units, got {price}"),
        ));
    }
    if weight_grams == Some(0) {
        return Err(invalid(
            &format!("{at}.weight_grams"),
            "must be >= 1 when set, got 0 (leave it absent for the SKU's weight)",
        ));
    }
    Ok(OrderLine {
        line_id,
        sku,
        quantity,
        weight_grams,
    })
}

/// Longest postal code, bytes (the longest in use have 10 characters).
pub(crate) const MAX_POSTAL_CODE_BYTES: usize = 16;

/// Highest unit price, minor units (10^12: ten billion in a currency with
/// cents). Order values computed from it stay far inside `i64` even for
/// 1,000 lines of 1,000,000 units.
pub(crate) const MAX_UNIT_PRICE_MINOR: u64 = 1_000_000_000_000;

/// Longest line id, bytes.
pub(crate) const MAX_LINE_ID_BYTES: usize = 64;
/// Most units one line may order.
pub(crate) const MAX_LINE_QUANTITY: u32 = 1_000_000;
/// Longest order id, bytes.
pub(crate) const MAX_ORDER_ID_BYTES: usize = 128;
/// Longest idempotency key, bytes.
pub(crate) const MAX_IDEMPOTENCY_KEY_BYTES: usize = 128;
/// Most lines one order may have.
pub(crate) const MAX_ORDER_LINES: usize = 1_000;

/// An order's id (1 to 128 bytes) and its number of lines (1 to 1000), as
/// Allocate and ScoreOrder require them; `field` names a field.
pub(crate) fn order_identity(
    order_id: &str,
    lines: usize,
    field: &dyn Fn(&str) -> String,
) -> Result<(), ServiceError> {
    if order_id.is_empty() || order_id.len() > MAX_ORDER_ID_BYTES {
        return Err(invalid(
            &field("order_id"),
            format!(
                "required, 1 to {MAX_ORDER_ID_BYTES} bytes, got {}",
                order_id.len()
            ),
        ));
    }
    if lines == 0 || lines > MAX_ORDER_LINES {
        return Err(invalid(
            &field("lines"),
            format!("must hold 1 to {MAX_ORDER_LINES} lines, got {lines}"),
        ));
    }
    Ok(())
}

/// A live call's promise is ahead of now (a replayed decision's need not
/// be: it is re-run as of when it was made); `prefix` leads the field path.
fn promise_ahead(order: &OrderRequest, prefix: &str) -> Result<(), ServiceError> {
    match order.promised_by {
        Some(at) if at < SystemTime::now() => Err(invalid(
            &format!("{prefix}promised_by"),
            "is in the past: a promise is a future instant (or leave it absent: no promise)",
        )),
        _ => Ok(()),
    }
}

/// The engine request from an `AllocateRequest`, plus the commit part.
pub(crate) fn order_request(
    network: &Network,
    request: pb::AllocateRequest,
    prefix: &str,
) -> Result<(OrderRequest, Option<Commit>), ServiceError> {
    let pb::AllocateRequest {
        order_id,
        lines,
        destination: dest,
        service_level: level,
        promised_by,
        options,
        context: _context,
    } = request;
    let field = |f: &str| format!("{prefix}{f}");
    order_identity(&order_id, lines.len(), &field)?;
    let mut seen = HashSet::new();
    let mut order_lines = Vec::with_capacity(lines.len());
    for (i, line) in lines.into_iter().enumerate() {
        let pb::OrderLine {
            line_id,
            sku,
            quantity,
            unit_price_minor,
            weight_grams,
        } = line;
        let at = field(&format!("lines[{i}]"));
        let line = order_line(
            network,
            line_id,
            &sku,
            quantity,
            unit_price_minor,
            weight_grams,
            &at,
            &mut seen,
        )?;
        order_lines.push(line);
    }
    let destination = destination(network, dest, &field("destination"))?;
    let service_level = service_level(level, &field("service_level"))?;
    let promised_by = promised_by
        .as_ref()
        .map(|t| system_time(t, &field("promised_by")))
        .transpose()?;
    let pb::AllocationOptions {
        ship_complete,
        max_splits,
        excluded_nodes,
        allow_backorder,
        commit,
        idempotency_key,
        reservation_ttl,
    } = options.unwrap_or_default();
    if max_splits == Some(0) {
        return Err(invalid(
            &field("options.max_splits"),
            "must be >= 1 when set",
        ));
    }
    let mut excluded = Vec::with_capacity(excluded_nodes.len());
    for (i, code) in excluded_nodes.iter().enumerate() {
        excluded.push(network.node_id(code).ok_or_else(|| {
            not_found(
                &field(&format!("options.excluded_nodes[{i}]")),
                "node",
                code,
            )
        })?);
    }
    let commit = if commit {
        if idempotency_key.is_empty() || idempotency_key.len() > MAX_IDEMPOTENCY_KEY_BYTES {
            return Err(invalid(
                &field("options.idempotency_key"),
                format!(
                    "required when commit is true, 1 to {MAX_IDEMPOTENCY_KEY_BYTES} bytes, got {}",
                    idempotency_key.len()
                ),
            ));
        }
        let ttl = match reservation_ttl {
            None => None,
            Some(d) if d.seconds < 0 || d.nanos < 0 || (d.seconds == 0 && d.nanos == 0) => {
                return Err(invalid(
                    &field("options.reservation_ttl"),
                    "must be positive",
                ));
            }
            Some(d) => Some(Duration::new(d.seconds as u64, d.nanos as u32)),
        };
        Some(Commit {
            idempotency_key,
            ttl,
        })
    } else {
        None
    };
    let request = OrderRequest {
        order_id,
        lines: order_lines,
        destination,
        service_level,
        promised_by,
        options: AllocationOptions {
            ship_complete,
            max_splits,
            excluded_nodes: excluded,
            allow_backorder,
        },
    };
    Ok((request, commit))
}

/// The caller's plan of an `EvaluatePlanRequest`.
pub(crate) fn planned_units(
    network: &Network,
    plan: Vec<pb::PlannedAssignment>,
) -> Vec<PlannedUnits> {
    plan.into_iter()
        .map(|p| {
            let pb::PlannedAssignment {
                line_id,
                node,
                quantity,
                service,
            } = p;
            PlannedUnits {
                line_id,
                node: network.node_id(&node),
                node_code: node,
                quantity,
                service: service.as_deref().and_then(|code| network.service_id(code)),
                service_code: service,
            }
        })
        .collect()
}

/// The service's Allocate call: the order, its fraud check, the commit with
/// the request's fingerprint, and the request as received.
pub(crate) fn allocate_call(
    network: &Network,
    message: pb::AllocateRequest,
    started: Instant,
    deadline: Instant,
) -> Result<AllocateCall<pb::AllocateRequest>, ServiceError> {
    let fraud = super::risk::allocate_fraud_order(network, &message)?;
    let (order, commit) = order_request(network, message.clone(), "")?;
    promise_ahead(&order, "")?;
    let commit = commit.map(|c| c.with(Sha256::digest(message.encode_to_vec()).into()));
    Ok(AllocateCall {
        order,
        fraud,
        commit,
        request: message,
        started,
        deadline,
        // The handler names the caller (crate::auth::caller_of).
        caller: String::new(),
    })
}

/// The service's EvaluatePlan call.
pub(crate) fn evaluate_call(
    network: &Network,
    message: pb::EvaluatePlanRequest,
    started: Instant,
    deadline: Instant,
) -> Result<EvaluateCall<pb::EvaluatePlanRequest>, ServiceError> {
    let pb::EvaluatePlanRequest { order, plan } = message.clone();
    let order = order.ok_or_else(|| invalid("order", "required"))?;
    if order.options.as_ref().is_some_and(|o| o.commit) {
        return Err(invalid(
            "order.options.commit",
            "must be false: EvaluatePlan never reserves",
        ));
    }
    if plan.is_empty() {
        return Err(invalid("plan", "required: at least one assignment"));
    }
    if let Some(i) = plan.iter().position(|p| p.quantity == 0) {
        return Err(invalid(
            &format!("plan[{i}].quantity"),
            "must be >= 1, got 0",
        ));
    }
    let (order, _commit) = order_request(network, order, "order.")?;
    promise_ahead(&order, "order.")?;
    Ok(EvaluateCall {
        order,
        planned: planned_units(network, plan),
        request: message,
        started,
        deadline,
        // The handler names the caller (crate::auth::caller_of).
        caller: String::new(),
    })
}
