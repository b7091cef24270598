//! The record of an EvaluatePlan (shadow mode) evaluation. It has no event:
//! shadow mode decides nothing an OMS acts on.

use allot_proto::v1 as pb;
use allot_service::wire::Recording;
use prost::Message;

use super::ProtoWire;
use super::common::{distinct, input_hash};
use super::redact::redact_evaluate;

/// The encoded record of one evaluation.
pub(super) fn record(
    wire: &ProtoWire,
    call: Recording<'_, pb::EvaluatePlanRequest>,
    response: &pb::EvaluatePlanResponse,
) -> Vec<u8> {
    let mut record = wire.header(&call, pb::DecisionKind::PlanEvaluation);
    let mut request = call.request;
    record.input_hash = input_hash(&request);
    redact_evaluate(&mut request, &wire.privacy);
    record.request = Some(pb::decision_record::Request::EvaluatePlanRequest(request));
    record.response = Some(pb::decision_record::Response::EvaluatePlanResponse(
        response.clone(),
    ));
    record.reasons = distinct(response.optimal_lines.iter().flat_map(|l| &l.reasons));
    record.solver = response.solver.clone();
    record.encode_to_vec()
}
