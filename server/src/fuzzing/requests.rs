//! Each RPC's request path up to the service call, as its handler in
//! `services/` runs it.

use std::time::{Duration, Instant, SystemTime};

use allot_engine::network::Network;
use allot_proto::v1 as pb;
use allot_service::DecisionId;
use bytes::Buf;
use prost::Message;

use super::{Rejected, Rpc};
use crate::convert::decisions::wanted_kinds;
use crate::convert::order::{allocate_call, evaluate_call};
use crate::convert::{
    allocation, models, planning, promise, reoptimize, risk, stock, transfers, workload,
};

/// The budget a call gets without a caller's deadline; conversion only
/// carries it.
const BUDGET: Duration = Duration::from_millis(50);

/// Decodes `bytes` as `rpc`'s request and converts it.
pub(super) fn convert(network: &Network, rpc: Rpc, bytes: &[u8]) -> Result<(), Rejected> {
    let started = Instant::now();
    let deadline = started + BUDGET;
    match rpc {
        Rpc::GetNetwork => {
            let pb::GetNetworkRequest { include_skus: _ } = pb::GetNetworkRequest::decode(bytes)?;
        }
        Rpc::GetModelInfo => {
            let pb::GetModelInfoRequest {} = pb::GetModelInfoRequest::decode(bytes)?;
        }
        Rpc::ReloadModels => {
            let message = pb::ReloadModelsRequest::decode(bytes)?;
            models::kinds(&message.models, "models")?;
        }
        Rpc::RollbackModels => {
            let message = pb::RollbackModelsRequest::decode(bytes)?;
            models::kinds(&message.models, "models")?;
        }
        Rpc::ClearShadowModels => {
            let pb::ClearShadowModelsRequest {} = pb::ClearShadowModelsRequest::decode(bytes)?;
        }
        Rpc::GetModelDrift => {
            let pb::GetModelDriftRequest {} = pb::GetModelDriftRequest::decode(bytes)?;
        }
        Rpc::ReportReturns => {
            let message = pb::ReportReturnsRequest::decode(bytes)?;
            risk::returns_call(message, started)?;
        }
        Rpc::Allocate => {
            let message = pb::AllocateRequest::decode(bytes)?;
            risk::missing_signals(message.context.as_ref());
            allocate_call(network, message, started, deadline)?;
        }
        Rpc::ConfirmReservation => {
            let pb::ConfirmReservationRequest { reservation_id: _ } =
                pb::ConfirmReservationRequest::decode(bytes)?;
        }
        Rpc::ReleaseReservation => {
            let pb::ReleaseReservationRequest {
                reservation_id: _,
                reason,
                note: _,
            } = pb::ReleaseReservationRequest::decode(bytes)?;
            allocation::release_reason(reason);
        }
        Rpc::GetReservation => {
            let pb::GetReservationRequest { reservation_id: _ } =
                pb::GetReservationRequest::decode(bytes)?;
        }
        Rpc::ReoptimizeBacklog => {
            let message = pb::ReoptimizeBacklogRequest::decode(bytes)?;
            reoptimize::budget(&message);
            reoptimize::reoptimize_request(network, message, deadline, String::new())?;
        }
        Rpc::ForecastDemand => {
            let message = pb::ForecastDemandRequest::decode(bytes)?;
            planning::forecast_query(network, message, deadline)?;
        }
        Rpc::PlanTransfers => {
            let message = pb::PlanTransfersRequest::decode(bytes)?;
            transfers::transfer_query(network, message, deadline)?;
        }
        Rpc::ForecastWorkload => {
            let message = pb::ForecastWorkloadRequest::decode(bytes)?;
            workload::workload_query(network, message, deadline)?;
        }
        Rpc::EvaluatePlan => {
            let message = pb::EvaluatePlanRequest::decode(bytes)?;
            evaluate_call(network, message, started, deadline)?;
        }
        Rpc::ExplainDecision => {
            let pb::ExplainDecisionRequest { decision_id } =
                pb::ExplainDecisionRequest::decode(bytes)?;
            DecisionId::parse(&decision_id, "decision_id")?;
        }
        Rpc::WatchDecisions => {
            let pb::WatchDecisionsRequest {
                from_position: _,
                kinds,
            } = pb::WatchDecisionsRequest::decode(bytes)?;
            wanted_kinds(&kinds)?;
        }
        Rpc::ReplayDecision => {
            let pb::ReplayDecisionRequest { decision_id } =
                pb::ReplayDecisionRequest::decode(bytes)?;
            DecisionId::parse(&decision_id, "decision_id")?;
        }
        Rpc::ReplaceNodeStock => {
            let messages = stream_of::<pb::ReplaceNodeStockRequest>(bytes)?;
            futures::executor::block_on(stock::replacement(network, messages))?;
        }
        Rpc::StreamStockDeltas => {
            let messages = stream_of::<pb::StockDeltaBatch>(bytes)?;
            let batches = stock::delta_batches(messages);
            for batch in futures::executor::block_on_stream(batches) {
                batch?;
            }
        }
        Rpc::GetSkuAvailability => {
            let pb::GetSkuAvailabilityRequest {
                sku,
                nodes,
                include_zero: _,
            } = pb::GetSkuAvailabilityRequest::decode(bytes)?;
            stock::availability_query(network, &sku, &nodes)?;
        }
        Rpc::GetNodeStock => {
            let pb::GetNodeStockRequest {
                node,
                page_size: _,
                page_token,
            } = pb::GetNodeStockRequest::decode(bytes)?;
            stock::node_page_query(network, &node, &page_token)?;
        }
        Rpc::GetStockStatus => {
            let pb::GetStockStatusRequest {} = pb::GetStockStatusRequest::decode(bytes)?;
        }
        Rpc::GetDeliveryPromise => {
            let message = pb::PromiseRequest::decode(bytes)?;
            promise::promise_call(network, message, SystemTime::now(), started, deadline)?;
        }
        Rpc::RouteReturn => {
            let message = pb::RouteReturnRequest::decode(bytes)?;
            crate::convert::returns::route_return_call(network, message, started, deadline)?;
        }
        Rpc::ScoreOrder => {
            let message = pb::ScoreOrderRequest::decode(bytes)?;
            risk::missing_signals(message.context.as_ref());
            risk::score_call(network, message, started, deadline)?;
        }
    }
    Ok(())
}

/// A client stream's messages, length-delimited one after another, as a
/// stream such as a handler reads.
fn stream_of<M: Message + Default>(
    mut bytes: &[u8],
) -> Result<futures::stream::Iter<std::vec::IntoIter<Result<M, tonic::Status>>>, Rejected> {
    let mut messages = Vec::new();
    while bytes.has_remaining() {
        messages.push(Ok(M::decode_length_delimited(&mut bytes)?));
    }
    Ok(futures::stream::iter(messages))
}
