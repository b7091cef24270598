//! Replaying a ScoreOrder decision: the recorded features and rule outcomes
//! scored again by the loaded fraud model.

use allot_proto::v1 as pb;
use tonic::Status;

use super::{check_versions, diff, recorded_fraud_features};
use crate::convert::risk as risk_conv;
use crate::state::Engine;

/// Re-scores a RISK record and compares it with the recorded assessment.
pub(super) async fn replay(
    engine: &Engine,
    record: pb::DecisionRecord,
) -> Result<pb::ReplayDecisionResponse, Status> {
    check_versions(engine, &record)?;
    let Some(pb::decision_record::Response::RiskAssessment(recorded)) = record.response.clone()
    else {
        return Err(Status::failed_precondition(format!(
            "decision {} has no recorded risk assessment",
            record.decision_id
        )));
    };
    let features = recorded_fraud_features(&record);
    let hits = risk_conv::recorded_rule_hits(&recorded.reasons);
    let risk = engine.risk.clone();
    let assessed = tokio::task::spawn_blocking(move || risk.assess_recorded(features, hits))
        .await
        .map_err(|e| Status::internal(format!("replay task failed: {e}")))?
        .map_err(|e| Status::internal(format!("fraud scoring failed: {e}")))?;
    let replayed = risk_conv::assessment(record.decision_id.clone(), &assessed);
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
