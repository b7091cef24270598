//! ForecastWorkload: the request into a workload query (codes resolved,
//! each field checked and named), the workload into its answer.

use std::time::Instant;

use allot_engine::network::Network;
use allot_proto::v1 as pb;
use allot_service::ServiceError;
use allot_service::workload::{MAX_SKUS, WorkloadAnswer, WorkloadQuery, horizon};

use super::invalid;
use super::planning::resolve;

/// The query of a ForecastWorkload request.
pub(crate) fn workload_query(
    network: &Network,
    request: pb::ForecastWorkloadRequest,
    deadline: Instant,
) -> Result<WorkloadQuery, ServiceError> {
    let pb::ForecastWorkloadRequest {
        nodes,
        horizon_days,
        skus,
    } = request;
    if skus.len() > MAX_SKUS {
        return Err(invalid(
            "skus",
            format!("{} codes: at most {MAX_SKUS}", skus.len()),
        ));
    }
    if nodes.len() > network.node_count() {
        return Err(invalid(
            "nodes",
            format!(
                "{} codes: the network has {} nodes",
                nodes.len(),
                network.node_count()
            ),
        ));
    }
    Ok(WorkloadQuery {
        nodes: resolve("nodes", "node", &nodes, |c| network.node_id(c))?,
        skus: resolve("skus", "SKU", &skus, |c| network.sku_id(c))?,
        horizon_days: horizon(horizon_days)?,
        deadline,
    })
}

/// The answer of a workload forecast.
pub(crate) fn workload_forecast(network: &Network, answer: WorkloadAnswer) -> pb::WorkloadForecast {
    let WorkloadAnswer {
        model_version,
        series_routed,
        series_unrouted,
        unrouted_units,
        series_left_out,
        nodes,
    } = answer;
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    pb::WorkloadForecast {
        model_version,
        series_routed: count(series_routed),
        series_unrouted: count(series_unrouted),
        unrouted_units,
        series_left_out: count(series_left_out),
        nodes: nodes
            .into_iter()
            .map(|n| pb::NodeWorkload {
                node: network.node(n.node).code.clone(),
                units_per_staff_hour: n.units_per_staff_hour,
                daily_capacity_units: n.daily_capacity_units,
                days: n
                    .days
                    .into_iter()
                    .map(|d| pb::DayWorkload {
                        date: d.date.format("%Y-%m-%d").to_string(),
                        forecast_units: d.forecast_units,
                        reserved_units: d.reserved_units,
                        total_units: d.total_units,
                        staff_hours: d.staff_hours,
                        utilisation: d.utilisation,
                        closed: d.closed,
                        over_capacity: d.over_capacity,
                    })
                    .collect(),
            })
            .collect(),
    }
}
