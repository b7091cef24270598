//! PlanTransfers: the request into a transfer query (codes resolved, each
//! field checked and named), the plan into its answer with the reasons.

use std::time::Instant;

use allot_engine::network::Network;
use allot_proto::v1 as pb;
use allot_service::ServiceError;
use allot_service::demand::horizon;
use allot_service::demand::transfers::{
    MAX_PLAN_SKUS, PlannedTransfer, TransferAnswer, TransferLine, TransferQuery,
};

use super::invalid;
use super::network::lane_mode;
use super::planning::resolve;

/// Reason code of every transfer line.
pub(crate) const SHORTFALL_COVERED: &str = "SHORTFALL_COVERED";

/// The query of a PlanTransfers request.
pub(crate) fn transfer_query(
    network: &Network,
    request: pb::PlanTransfersRequest,
    deadline: Instant,
) -> Result<TransferQuery, ServiceError> {
    let pb::PlanTransfersRequest {
        skus,
        nodes,
        horizon_days,
    } = request;
    if skus.is_empty() {
        return Err(invalid("skus", "at least one SKU code is required"));
    }
    if skus.len() > MAX_PLAN_SKUS {
        return Err(invalid(
            "skus",
            format!("{} codes: at most {MAX_PLAN_SKUS}", skus.len()),
        ));
    }
    Ok(TransferQuery {
        skus: resolve("skus", "SKU", &skus, |c| network.sku_id(c))?,
        nodes: resolve("nodes", "node", &nodes, |c| network.node_id(c))?,
        horizon_days: horizon(horizon_days)?,
        deadline,
    })
}

/// The answer of a plan.
pub(crate) fn transfer_plan(network: &Network, answer: TransferAnswer) -> pb::TransferPlan {
    let saving = answer.shortfall_cost_before_minor
        - answer.shortfall_cost_after_minor
        - answer.transfer_cost_minor;
    let mut transfers: Vec<pb::Transfer> = answer
        .transfers
        .iter()
        .map(|t| transfer(network, t, answer.horizon_days))
        .collect();
    transfers.sort_by(|a, b| (&a.from, &a.to, &a.mode).cmp(&(&b.from, &b.to, &b.mode)));
    pb::TransferPlan {
        model_version: answer.model_version,
        horizon_days: answer.horizon_days as u32,
        transfers,
        transfer_cost_minor: answer.transfer_cost_minor,
        shortfall_cost_before_minor: answer.shortfall_cost_before_minor,
        shortfall_cost_after_minor: answer.shortfall_cost_after_minor,
        saving_minor: saving.max(0),
        status: if answer.proven {
            pb::TransferPlanStatus::Optimal
        } else {
            pb::TransferPlanStatus::TimeLimit
        } as i32,
        gap: answer.gap,
        lanes_considered: answer.lanes_considered as u32,
        model_columns: answer.columns as u32,
        solve_ms: answer.solve_time.as_secs_f64() * 1e3,
        elapsed_ms: answer.elapsed.as_secs_f64() * 1e3,
    }
}

fn transfer(network: &Network, t: &PlannedTransfer, horizon_days: usize) -> pb::Transfer {
    let lane = &network.lanes()[t.lane];
    let from = network.node(lane.from).code.clone();
    let to = network.node(lane.to).code.clone();
    let mut lines: Vec<pb::TransferLine> = t
        .lines
        .iter()
        .map(|l| line(network, l, &from, &to, horizon_days))
        .collect();
    lines.sort_by(|a, b| a.sku.cmp(&b.sku));
    pb::Transfer {
        from,
        to,
        mode: lane_mode(lane.mode).to_string(),
        lead_days: lane.lead_days,
        arrives_on: t.arrives_on.format("%Y-%m-%d").to_string(),
        dispatches: t.dispatches,
        units: t.units,
        cost_minor: t.cost_minor,
        lines,
    }
}

fn line(
    network: &Network,
    l: &TransferLine,
    from: &str,
    to: &str,
    horizon_days: usize,
) -> pb::TransferLine {
    pb::TransferLine {
        sku: network.sku(l.sku).code.clone(),
        units: l.units,
        value_minor: l.value_minor,
        demand: l.demand,
        stock_before: l.stock_before,
        stock_after: l.stock_after,
        short_before: l.short_before,
        short_after: l.short_after,
        short_added_at_origin: l.short_added_at_origin,
        reason_code: SHORTFALL_COVERED.to_string(),
        message: format!(
            "{to} expects {:.1} units in {horizon_days} days and can sell {} ({:.1} short on average); {} units from {from} leave {:.1} short, and {:.1} short added at {from}",
            l.demand,
            l.stock_before,
            l.short_before,
            l.units,
            l.short_after,
            l.short_added_at_origin
        ),
    }
}
