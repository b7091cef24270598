//! ReoptimizeBacklog: the request into the use case's, the re-plan into
//! the answer.

use std::time::{Duration, Instant};

use allot_engine::allocation::rebroker::{Move, MoveReasonCode};
use allot_engine::network::Network;
use allot_proto::v1 as pb;
use allot_service::ServiceError;
use allot_service::reoptimize::{
    DEFAULT_BUDGET, MAX_BUDGET, MAX_ORDERS, ReoptimizeRequest, Reoptimized, Selection,
};

use super::allocation::reserved_units;
use super::{invalid, not_found};

/// Cost of moving one order when the request sets none, minor units.
pub(crate) const DEFAULT_MOVE_PENALTY: i64 = 100;

/// The time the request asks to solve for: `budget_ms`, 0 for the
/// default, at most the longest.
pub(crate) fn budget(request: &pb::ReoptimizeBacklogRequest) -> Duration {
    match request.budget_ms {
        0 => DEFAULT_BUDGET,
        ms => Duration::from_millis(u64::from(ms)).min(MAX_BUDGET),
    }
}

/// The use case's request, by `deadline`, for `caller`.
pub(crate) fn reoptimize_request(
    network: &Network,
    request: pb::ReoptimizeBacklogRequest,
    deadline: Instant,
    caller: String,
) -> Result<ReoptimizeRequest, ServiceError> {
    let pb::ReoptimizeBacklogRequest {
        selection,
        move_penalty_minor,
        max_moves,
        commit,
        budget_ms: _,
    } = request;
    let ids = |ids: Vec<String>, field: &str| {
        if ids.is_empty() {
            return Err(invalid(field, "at least one id"));
        }
        if ids.len() > MAX_ORDERS {
            return Err(invalid(
                field,
                format!("at most {MAX_ORDERS} ids, got {}", ids.len()),
            ));
        }
        Ok(ids)
    };
    let selection = match selection {
        None => {
            return Err(invalid(
                "selection",
                "required: reservations, decisions or held",
            ));
        }
        Some(pb::reoptimize_backlog_request::Selection::Reservations(pb::ReservationIds {
            ids: list,
        })) => Selection::Reservations(ids(list, "reservations.ids")?),
        Some(pb::reoptimize_backlog_request::Selection::Decisions(pb::DecisionIds {
            ids: list,
        })) => Selection::Decisions(ids(list, "decisions.ids")?),
        Some(pb::reoptimize_backlog_request::Selection::Held(pb::HeldFilter { node, sku })) => {
            Selection::Held {
                node: match node.as_str() {
                    "" => None,
                    code => Some(
                        network
                            .node_id(code)
                            .ok_or_else(|| not_found("held.node", "node", code))?,
                    ),
                },
                sku: match sku.as_str() {
                    "" => None,
                    code => Some(
                        network
                            .sku_id(code)
                            .ok_or_else(|| not_found("held.sku", "SKU", code))?,
                    ),
                },
            }
        }
    };
    let move_penalty = move_penalty_minor.unwrap_or(DEFAULT_MOVE_PENALTY);
    if move_penalty < 0 {
        return Err(invalid(
            "move_penalty_minor",
            format!("must be at least 0, got {move_penalty}"),
        ));
    }
    Ok(ReoptimizeRequest {
        selection,
        move_penalty,
        max_moves,
        commit,
        deadline,
        caller,
    })
}

/// The answer of a re-plan.
pub(crate) fn reoptimize_response(
    network: &Network,
    done: &Reoptimized,
) -> pb::ReoptimizeBacklogResponse {
    let plan = &done.plan;
    let replan = &plan.replan;
    pb::ReoptimizeBacklogResponse {
        replan_id: done.id.as_str().to_string(),
        moves: plan
            .moves
            .iter()
            .map(|m| backlog_move(network, m))
            .collect(),
        skipped: plan
            .skipped
            .iter()
            .map(|s| pb::SkippedHold {
                reservation_id: s.reservation_id.clone(),
                reason: s.reason.clone(),
            })
            .collect(),
        orders: u32::try_from(plan.orders).unwrap_or(u32::MAX),
        objective_before_minor: replan.current_objective,
        objective_after_minor: replan.objective,
        saving_minor: plan.saving(),
        lower_bound_minor: replan.lower_bound,
        gap: replan.gap(),
        proven_optimal: replan.lower_bound >= replan.objective,
        packages_before: plan.packages.0,
        packages_after: plan.packages.1,
        committed: done.committed,
        solve_time_us: u64::try_from(replan.elapsed.as_micros()).unwrap_or(u64::MAX),
    }
}

fn backlog_move(network: &Network, m: &Move) -> pb::BacklogMove {
    pb::BacklogMove {
        reservation_id: m.reservation_id.clone(),
        order_id: m.order_id.clone(),
        decision_id: m.decision_id.clone(),
        before: reserved_units(network, &m.before),
        after: reserved_units(network, &m.after),
        cost_before_minor: m.cost_before.total(),
        cost_after_minor: m.cost_after.total(),
        saving_minor: m.saving(),
        packages_before: m.packages.0,
        packages_after: m.packages.1,
        reasons: m
            .reasons
            .iter()
            .map(|r| pb::MoveReason {
                code: reason_code(r.code) as i32,
                message: r.message.clone(),
                saving_minor: r.saving,
            })
            .collect(),
    }
}

fn reason_code(code: MoveReasonCode) -> pb::MoveReasonCode {
    match code {
        MoveReasonCode::FewerPackages => pb::MoveReasonCode::FewerPackages,
        MoveReasonCode::FewerBackordered => pb::MoveReasonCode::FewerBackordered,
        MoveReasonCode::LowerShippingCost => pb::MoveReasonCode::LowerShippingCost,
        MoveReasonCode::LowerLateRisk => pb::MoveReasonCode::LowerLateRisk,
        MoveReasonCode::LessProtectedStock => pb::MoveReasonCode::LessProtectedStock,
        MoveReasonCode::FreesStockForOthers => pb::MoveReasonCode::FreesStockForOthers,
    }
}
