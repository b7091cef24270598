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
use super::redact::redact_returns;

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
