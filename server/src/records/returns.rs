//! The record of a ReportReturns: the redacted request, the answer, and
//! what the fraud feature store keeps of each returned order (what the
//! server feeds back at start).

use allot_models::features::ReturnObservation;
use allot_proto::v1 as pb;
use allot_service::wire::Recording;
use prost::Message;

use super::ProtoWire;
use super::common::input_hash;
use super::history::returned as store_return;
use super::redact::{redact_returns, redact_route_return};

/// The encoded record of one report.
pub(super) fn record(
    wire: &ProtoWire,
    call: Recording<'_, pb::ReportReturnsRequest>,
    answer: &pb::ReportReturnsResponse,
    returned: &[ReturnObservation],
) -> Vec<u8> {
    let mut record = wire.header(&call, pb::DecisionKind::ReturnsReport);
    let mut request = call.request;
    record.input_hash = input_hash(&request);
    redact_returns(&mut request, &wire.privacy);
    record.request = Some(pb::decision_record::Request::ReportReturnsRequest(request));
    record.response = Some(pb::decision_record::Response::ReportReturnsResponse(
        answer.clone(),
    ));
    record.feature_store_returns = returned.iter().map(store_return).collect();
    record.encode_to_vec()
}

/// The encoded record of one routed return: the redacted request and the
/// answer (node, units by disposition, reasons, runner-up).
pub(super) fn route_record(
    wire: &ProtoWire,
    call: Recording<'_, pb::RouteReturnRequest>,
    answer: &pb::ReturnDecision,
) -> Vec<u8> {
    let mut record = wire.header(&call, pb::DecisionKind::Return);
    let mut request = call.request;
    record.input_hash = input_hash(&request);
    redact_route_return(&mut request, &wire.privacy);
    record.request = Some(pb::decision_record::Request::RouteReturnRequest(request));
    record.reasons = answer.reasons.clone();
    record.response = Some(pb::decision_record::Response::ReturnDecision(
        answer.clone(),
    ));
    record.encode_to_vec()
}

/// What a record's return decision took of its node's refurbishing and
/// liquidation capacity; `None` for other records (and write-offs).
pub(super) fn return_use(
    network: &allot_engine::network::Network,
    record: &[u8],
) -> Result<Option<allot_service::route_return::ReturnUse>, allot_service::ServiceError> {
    let record = pb::DecisionRecord::decode(record).map_err(|e| {
        allot_service::ServiceError::internal(format!("a decision record does not decode: {e}"))
    })?;
    let Some(pb::decision_record::Response::ReturnDecision(answer)) = record.response else {
        return Ok(None);
    };
    let Some(node) = network.node_id(&answer.node) else {
        return Ok(None);
    };
    let decided_at = record
        .decided_at
        .as_ref()
        .map(|t| crate::convert::time::system_time(t, "decided_at"))
        .transpose()?
        .unwrap_or_else(std::time::SystemTime::now);
    let units = |d: pb::ReturnDisposition| {
        answer
            .units
            .iter()
            .filter(|u| u.disposition == d as i32)
            .map(|u| u.quantity)
            .sum()
    };
    Ok(Some(allot_service::route_return::ReturnUse {
        node,
        refurbished: units(pb::ReturnDisposition::Refurbish),
        liquidated: units(pb::ReturnDisposition::Liquidate),
        decided_at,
    }))
}
