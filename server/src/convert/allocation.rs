//! Allocation messages to and from engine types.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use allot_engine::allocation::candidates::{Exclusion, ExclusionReason};
use allot_engine::allocation::evaluate::{Evaluation, PlannedUnits, ViolationKind};
use allot_engine::allocation::outcome::{
    AllocationOutcome, Reason, ReasonCode, Shipment, SolverStats,
};
use allot_engine::allocation::problem::Objective;
use allot_engine::allocation::request::{AllocationOptions, Destination, OrderLine, OrderRequest};
use allot_engine::allocation::solution::SolveStatus;
use allot_engine::network::{GeoPoint, Network, ServiceLevel};
use allot_engine::reservation::{Reservation, ReservationState};
use allot_proto::v1 as pb;
use allot_service::ServiceError;
use allot_service::allocate::{AllocateCall, CommitRequest, EvaluateCall};
use prost::Message;
use sha2::{Digest, Sha256};

use super::level;
use super::time::{system_time, timestamp};
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
        country_code: _,
        address_line1: _,
        address_line2: _,
        city: _,
    }) = d
    else {
        return Err(invalid(field, "required: a postal_code or coordinates"));
    };
    match location {
        Some(pb::destination::Location::PostalCode(code)) => {
            let region = network.resolve_postal_code(&code).ok_or_else(|| {
                not_found(
                    &format!("{field}.postal_code"),
                    "postal code region for",
                    &code,
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
                    "lat must be in -90..=90 and lon in -180..=180",
                ));
            }
            let point = GeoPoint { lat, lon };
            Ok(Destination {
                point,
                region: Some(network.nearest_region(point)),
            })
        }
        None => Err(invalid(field, "required: a postal_code or coordinates")),
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
    if order_id.is_empty() {
        return Err(invalid(&field("order_id"), "required"));
    }
    if lines.is_empty() {
        return Err(invalid(&field("lines"), "at least one line is required"));
    }
    let mut seen = HashSet::new();
    let mut order_lines = Vec::with_capacity(lines.len());
    for (i, line) in lines.into_iter().enumerate() {
        let pb::OrderLine {
            line_id,
            sku,
            quantity,
            unit_price_minor: _,
            weight_grams,
        } = line;
        let at = field(&format!("lines[{i}]"));
        let line_id = if line_id.is_empty() {
            (i + 1).to_string()
        } else {
            line_id
        };
        if !seen.insert(line_id.clone()) {
            return Err(invalid(
                &format!("{at}.line_id"),
                format!("duplicate line id {line_id:?}"),
            ));
        }
        let sku_id = network
            .sku_id(&sku)
            .ok_or_else(|| not_found(&format!("{at}.sku"), "SKU", &sku))?;
        if quantity == 0 {
            return Err(invalid(&format!("{at}.quantity"), "must be >= 1"));
        }
        if weight_grams == Some(0) {
            return Err(invalid(
                &format!("{at}.weight_grams"),
                "must be >= 1 when set",
            ));
        }
        order_lines.push(OrderLine {
            line_id,
            sku: sku_id,
            quantity,
            weight_grams,
        });
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
        if idempotency_key.is_empty() {
            return Err(invalid(
                &field("options.idempotency_key"),
                "required when commit is true",
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
                service: _,
            } = p;
            PlannedUnits {
                line_id,
                node: network.node_id(&node),
                node_code: node,
                quantity,
            }
        })
        .collect()
}

fn reason_code(code: ReasonCode) -> pb::ReasonCode {
    match code {
        ReasonCode::LowestCost => pb::ReasonCode::LowestCost,
        ReasonCode::OnlyNodeWithStock => pb::ReasonCode::OnlyNodeWithStock,
        ReasonCode::SplitForStock => pb::ReasonCode::SplitForStock,
        ReasonCode::SplitForCost => pb::ReasonCode::SplitForCost,
        ReasonCode::CapacityLimited => pb::ReasonCode::CapacityLimited,
        ReasonCode::ProtectedStockUsed => pb::ReasonCode::ProtectedStockUsed,
        ReasonCode::ExcludedColdChain => pb::ReasonCode::ExcludedColdChain,
        ReasonCode::ExcludedHazmat => pb::ReasonCode::ExcludedHazmat,
        ReasonCode::ExcludedRegion => pb::ReasonCode::ExcludedRegion,
        ReasonCode::ExcludedByRequest => pb::ReasonCode::ExcludedByRequest,
        ReasonCode::ExcludedClosed => pb::ReasonCode::ExcludedClosed,
        ReasonCode::ExcludedNoStock => pb::ReasonCode::ExcludedNoStock,
        ReasonCode::Backordered => pb::ReasonCode::Backordered,
        ReasonCode::DeadlineFallback => pb::ReasonCode::DeadlineFallback,
        ReasonCode::ShipComplete => pb::ReasonCode::ShipComplete,
        ReasonCode::MaxSplitsLimited => pb::ReasonCode::MaxSplitsLimited,
        ReasonCode::LateRisk => pb::ReasonCode::LateRisk,
    }
}

/// A domain reason on the wire.
pub(crate) fn reason(network: &Network, r: &Reason) -> pb::Reason {
    pb::Reason {
        code: reason_code(r.code) as i32,
        message: r.message.clone(),
        feature: String::new(),
        value: String::new(),
        contribution: 0.0,
        cost_delta_minor: r.cost_delta,
        node: r
            .node
            .map(|n| network.node(n).code.clone())
            .unwrap_or_default(),
    }
}

fn exclusion(network: &Network, e: &Exclusion) -> pb::ExcludedCandidate {
    let code = &network.node(e.node).code;
    pb::ExcludedCandidate {
        node: code.clone(),
        reasons: e
            .reasons
            .iter()
            .map(|r| {
                let (c, message) = match r {
                    ExclusionReason::ExcludedByRequest => {
                        (pb::ReasonCode::ExcludedByRequest, "excluded by the request")
                    }
                    ExclusionReason::ColdChain => (
                        pb::ReasonCode::ExcludedColdChain,
                        "cannot ship cold-chain items",
                    ),
                    ExclusionReason::Hazmat => (
                        pb::ReasonCode::ExcludedHazmat,
                        "cannot ship hazardous materials",
                    ),
                    ExclusionReason::BlockedDestination => (
                        pb::ReasonCode::ExcludedRegion,
                        "may not ship to the destination",
                    ),
                    ExclusionReason::NoService => (
                        pb::ReasonCode::ExcludedClosed,
                        "no carrier service from it meets the service level to the destination",
                    ),
                    ExclusionReason::NoCapacity => {
                        (pb::ReasonCode::ExcludedClosed, "no capacity left today")
                    }
                    ExclusionReason::NoStock => (
                        pb::ReasonCode::ExcludedNoStock,
                        "holds none of the order's SKUs",
                    ),
                };
                pb::Reason {
                    code: c as i32,
                    message: format!("{code}: {message}"),
                    node: code.clone(),
                    ..Default::default()
                }
            })
            .collect(),
    }
}

/// Objective terms as proto.
pub(crate) fn objective(o: &Objective) -> pb::Objective {
    pb::Objective {
        total_minor: o.total(),
        package_minor: o.package,
        transport_minor: o.transport,
        handling_minor: o.handling,
        split_penalty_minor: o.split,
        lateness_penalty_minor: o.lateness,
        protection_penalty_minor: o.protection,
        backorder_penalty_minor: o.backorder,
    }
}

/// Priced shipments as proto.
pub(crate) fn shipments(network: &Network, shipments: &[Shipment]) -> Vec<pb::Shipment> {
    shipments
        .iter()
        .map(|s| {
            let service = network.service(s.service);
            pb::Shipment {
                node: network.node(s.node).code.clone(),
                service: service.code.clone(),
                service_level: level::to_proto(service.level) as i32,
                units: s.units,
                weight_grams: s.weight_grams,
                package_cost_minor: s.package_cost,
                transport_cost_minor: s.transport_cost,
                handling_cost_minor: s.handling_cost,
                lateness_penalty_minor: s.lateness_penalty,
                total_cost_minor: s.total(),
                delivery_window: s.window.as_ref().map(|w| pb::DeliveryWindow {
                    earliest: Some(timestamp(w.earliest)),
                    latest: Some(timestamp(w.latest)),
                    on_time_probability: w.on_time_probability,
                }),
                ship_by: s.ship_by.map(timestamp),
            }
        })
        .collect()
}

/// Solver statistics as proto.
pub(crate) fn solver(s: &SolverStats) -> pb::SolverStats {
    let status = match s.status {
        SolveStatus::Optimal => pb::SolverStatus::Optimal,
        SolveStatus::TimeLimit => pb::SolverStatus::TimeLimit,
        SolveStatus::Infeasible => pb::SolverStatus::Infeasible,
    };
    pb::SolverStats {
        status: status as i32,
        method: s.method.as_str().to_string(),
        gap: s.gap,
        solve_time_us: s.solve_time.as_micros() as u64,
        candidates_before: s.candidates_before,
        candidates_after_reduction: s.candidates_after,
        nodes_explored: s.nodes_explored,
    }
}

/// A reservation as proto.
pub(crate) fn reservation(network: &Network, r: &Reservation) -> pb::Reservation {
    let state = match r.state {
        ReservationState::Held => pb::ReservationState::Held,
        ReservationState::Confirmed => pb::ReservationState::Confirmed,
        ReservationState::Released => pb::ReservationState::Released,
        ReservationState::Expired => pb::ReservationState::Expired,
    };
    pb::Reservation {
        reservation_id: r.id.clone(),
        order_id: r.order_id.clone(),
        state: state as i32,
        expires_at: Some(timestamp(r.expires_at)),
        created_at: Some(timestamp(r.created_at)),
        ended_at: (r.state != ReservationState::Held).then(|| timestamp(r.updated_at)),
        decision_id: r.decision_id.clone(),
        units: r
            .units
            .iter()
            .map(|u| pb::ReservedUnits {
                line_id: u.line_id.clone(),
                node: network.node(u.node).code.clone(),
                sku: network.sku(u.sku).code.clone(),
                quantity: u.quantity,
            })
            .collect(),
    }
}

/// The line allocations of an outcome as proto.
pub(crate) fn lines(network: &Network, outcome: &AllocationOutcome) -> Vec<pb::LineAllocation> {
    outcome
        .lines
        .iter()
        .map(|l| pb::LineAllocation {
            line_id: l.line_id.clone(),
            sku: network.sku(l.sku).code.clone(),
            quantity: l.quantity,
            assignments: l
                .assignments
                .iter()
                .map(|a| pb::LineAssignment {
                    node: network.node(a.node).code.clone(),
                    quantity: a.quantity,
                    service: network.service(a.service).code.clone(),
                    protected_quantity: a.protected,
                })
                .collect(),
            backordered_quantity: l.backordered,
            reasons: l.reasons.iter().map(|r| reason(network, r)).collect(),
        })
        .collect()
}

/// The whole `AllocateResponse`.
pub(crate) fn allocate_response(
    network: &Network,
    decision_id: String,
    outcome: &AllocationOutcome,
) -> pb::AllocateResponse {
    let backordered: u32 = outcome.lines.iter().map(|l| l.backordered).sum();
    let ordered: u32 = outcome.lines.iter().map(|l| l.quantity).sum();
    let disposition = if outcome.unfulfillable {
        pb::OrderDisposition::Unfulfillable
    } else if backordered == ordered {
        pb::OrderDisposition::Backordered
    } else if backordered > 0 {
        pb::OrderDisposition::PartiallyBackordered
    } else {
        pb::OrderDisposition::Allocated
    };
    pb::AllocateResponse {
        decision_id,
        order_id: outcome.order_id.clone(),
        disposition: disposition as i32,
        lines: lines(network, outcome),
        shipments: shipments(network, &outcome.shipments),
        objective: Some(objective(&outcome.objective)),
        solver: Some(solver(&outcome.solver)),
        used_node_alternatives: outcome
            .alternatives
            .iter()
            .map(|a| pb::NodeAlternative {
                node: network.node(a.node).code.clone(),
                cost_without_minor: a.cost_without,
            })
            .collect(),
        runners_up: outcome
            .runners_up
            .iter()
            .map(|r| pb::CandidateComparison {
                node: network.node(r.node).code.clone(),
                binding_reason: Some(reason(network, &r.reason)),
                cost_difference_minor: r.cost_difference,
            })
            .collect(),
        excluded: outcome
            .excluded
            .iter()
            .map(|e| exclusion(network, e))
            .collect(),
        risk: None,
        reservation: outcome
            .reservation
            .as_ref()
            .map(|r| reservation(network, r)),
    }
}

/// The whole `EvaluatePlanResponse`.
pub(crate) fn evaluate_response(
    network: &Network,
    decision_id: String,
    e: &Evaluation,
) -> pb::EvaluatePlanResponse {
    let optimal_total = e.optimal.objective.total();
    pb::EvaluatePlanResponse {
        decision_id,
        feasible: e.feasible,
        plan_objective: Some(objective(&e.objective)),
        plan_shipments: shipments(network, &e.shipments),
        violations: e
            .violations
            .iter()
            .map(|v| pb::PlanViolation {
                kind: match v.kind {
                    ViolationKind::Oversell => pb::PlanViolationKind::Oversell,
                    ViolationKind::Capacity => pb::PlanViolationKind::Capacity,
                    ViolationKind::IneligibleNode => pb::PlanViolationKind::IneligibleNode,
                    ViolationKind::ShipComplete => pb::PlanViolationKind::ShipComplete,
                    ViolationKind::MaxSplits => pb::PlanViolationKind::MaxSplits,
                    ViolationKind::QuantityMismatch => pb::PlanViolationKind::QuantityMismatch,
                    ViolationKind::UnknownNode => pb::PlanViolationKind::UnknownNode,
                } as i32,
                line_id: v.line_id.clone().unwrap_or_default(),
                node: v.node.clone().unwrap_or_default(),
                message: v.message.clone(),
            })
            .collect(),
        optimal_objective: Some(objective(&e.optimal.objective)),
        optimal_lines: lines(network, &e.optimal),
        difference_minor: (!e.optimal.unfulfillable).then(|| e.objective.total() - optimal_total),
        solver: Some(solver(&e.optimal.solver)),
    }
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
    let commit = commit.map(|c| c.with(Sha256::digest(message.encode_to_vec()).into()));
    Ok(AllocateCall {
        order,
        fraud,
        commit,
        request: message,
        started,
        deadline,
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
    let (order, _commit) = order_request(network, order, "order.")?;
    Ok(EvaluateCall {
        order,
        planned: planned_units(network, plan),
        request: message,
        started,
        deadline,
    })
}
