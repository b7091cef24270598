//! The record of a ScoreOrder decision: the redacted request, the model and
//! the features it saw, the assessment, what the feature store remembered.

use allot_models::risk::RiskAssessment;
use allot_proto::v1 as pb;
use allot_service::wire::Recording;
use prost::Message;

use super::ProtoWire;
use super::common::{fraud_features, input_hash, model_version, shadow_score};
use super::history::entry;
use super::redact::redact_score;
use crate::convert::risk::missing_signals;

/// The encoded record of one assessment.
pub(super) fn record(
    wire: &ProtoWire,
    call: Recording<'_, pb::ScoreOrderRequest>,
    assessment: &pb::RiskAssessment,
    assessed: &RiskAssessment,
) -> Vec<u8> {
    let mut record = wire.header(&call, pb::DecisionKind::Risk);
    let mut request = call.request;
    let mut assessment = assessment.clone();
    assessment.missing_signals = missing_signals(request.context.as_ref());
    record.input_hash = input_hash(&request);
    redact_score(&mut request, &wire.privacy);
    record.model_versions = vec![model_version(
        &assessed.model_name,
        &assessed.model_version,
        &assessed.model_sha256,
    )];
    record.shadow = shadow_score(assessed);
    record.request = Some(pb::decision_record::Request::ScoreOrderRequest(request));
    record.reasons = assessment.reasons.clone();
    record.response = Some(pb::decision_record::Response::RiskAssessment(assessment));
    record.features = fraud_features(&assessed.features);
    record.feature_store_entry = assessed.observed.as_ref().map(entry);
    record.encode_to_vec()
}
