//! Replaying a ScoreOrder decision: the recorded features and rule outcomes
//! scored again by the loaded fraud model.

use allot_proto::v1 as pb;
use allot_service::ServiceError;

use super::{Services, diff, precondition, recorded_fraud_features, recorded_with};
use crate::convert::risk as risk_conv;

/// Re-scores a RISK record and compares it with the recorded assessment.
pub(super) async fn replay(
    services: &Services,
    record: pb::DecisionRecord,
) -> Result<pb::ReplayDecisionResponse, ServiceError> {
    let Some(pb::decision_record::Response::RiskAssessment(recorded)) = record.response.clone()
    else {
        return Err(precondition(&record, "no recorded risk assessment"));
    };
    let features = recorded_fraud_features(&record);
    let hits = risk_conv::recorded_rule_hits(&recorded.reasons);
    let assessed = services
        .replay
        .score(&recorded_with(&record), features, hits)
        .await?;
    let mut replayed = risk_conv::assessment(record.decision_id.clone(), &assessed);
    // What the request did not carry is a fact of the request, not of the
    // model.
    replayed.missing_signals = recorded.missing_signals.clone();
    let differences = diff::risk("", Some(&recorded), Some(&replayed));
    Ok(pb::ReplayDecisionResponse {
        original: Some(record),
        identical: differences.is_empty(),
        differences,
        response: Some(pb::replay_decision_response::Response::RiskAssessment(
            replayed,
        )),
    })
}
