//! Allocation outcomes as messages: lines, shipments, reasons, objective,
//! solver statistics, reservations, and the whole Allocate and EvaluatePlan
//! answers.

use allot_engine::allocation::candidates::{Exclusion, ExclusionReason};
use allot_engine::allocation::evaluate::{Evaluation, ViolationKind};
use allot_engine::allocation::outcome::{
    AllocationOutcome, Reason, ReasonCode, Shipment, SolverStats,
};
use allot_engine::allocation::problem::Objective;
use allot_engine::allocation::solution::SolveStatus;
use allot_engine::network::Network;
use allot_engine::reservation::{Reservation, ReservationState};
use allot_proto::v1 as pb;

use super::level;
use super::time::timestamp;

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
        ReasonCode::InsufficientStock => pb::ReasonCode::InsufficientStock,
    }
}

/// A domain reason on the wire.
pub(crate) fn reason(network: &Network, r: &Reason) -> pb::Reason {
    super::node_reason(
        reason_code(r.code),
        &r.message,
        r.node
            .map(|n| network.node(n).code.clone())
            .unwrap_or_default(),
        r.cost_delta,
    )
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
        SolveStatus::Skipped => pb::SolverStatus::Skipped,
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
        units: reserved_units(network, &r.units),
    }
}

/// Units by codes, ordered by line id then node.
pub(crate) fn reserved_units(
    network: &Network,
    units: &[allot_engine::reservation::ReservedUnits],
) -> Vec<pb::ReservedUnits> {
    let mut out: Vec<pb::ReservedUnits> = units
        .iter()
        .map(|u| pb::ReservedUnits {
            line_id: u.line_id.clone(),
            node: network.node(u.node).code.clone(),
            sku: network.sku(u.sku).code.clone(),
            quantity: u.quantity,
        })
        .collect();
    out.sort_by(|a, b| (&a.line_id, &a.node).cmp(&(&b.line_id, &b.node)));
    out
}

/// Most nodes listed one by one for holding none of the order's SKUs; more
/// are summarised in one entry.
const NO_STOCK_LISTED: usize = 50;

/// The excluded nodes, ordered by node code; when more than
/// [`NO_STOCK_LISTED`] were excluded only for holding none of the order's
/// SKUs, those are one entry with an empty `node` (first), whose reason
/// says how many.
fn excluded(network: &Network, exclusions: &[Exclusion]) -> Vec<pb::ExcludedCandidate> {
    let mut listed: Vec<pb::ExcludedCandidate> =
        exclusions.iter().map(|e| exclusion(network, e)).collect();
    listed.sort_by(|a, b| a.node.cmp(&b.node));
    let no_stock_only = |e: &pb::ExcludedCandidate| {
        e.reasons
            .iter()
            .all(|r| r.code == pb::ReasonCode::ExcludedNoStock as i32)
    };
    let without_stock = listed.iter().filter(|e| no_stock_only(e)).count();
    if without_stock <= NO_STOCK_LISTED {
        return listed;
    }
    let mut summarised = vec![pb::ExcludedCandidate {
        node: String::new(),
        reasons: vec![pb::Reason {
            code: pb::ReasonCode::ExcludedNoStock as i32,
            message: format!("{without_stock} nodes hold none of the order's SKUs"),
            ..Default::default()
        }],
    }];
    summarised.extend(listed.into_iter().filter(|e| !no_stock_only(e)));
    summarised
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
        excluded: excluded(network, &outcome.excluded),
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

/// A release reason's name, for the decision log and the metrics label
/// (unspecified and unknown values are "other").
pub(crate) fn release_reason(reason: i32) -> &'static str {
    match pb::ReleaseReason::try_from(reason) {
        Ok(pb::ReleaseReason::OrderCancelled) => "order_cancelled",
        Ok(pb::ReleaseReason::Reallocated) => "reallocated",
        Ok(pb::ReleaseReason::FraudRejected) => "fraud_rejected",
        Ok(pb::ReleaseReason::PaymentFailed) => "payment_failed",
        // Unspecified is recorded as "other", as the contract says; so is
        // a value this server does not know.
        Ok(pb::ReleaseReason::Other | pb::ReleaseReason::Unspecified) | Err(_) => "other",
    }
}
