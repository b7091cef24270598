//! Replaying an Allocate decision: the recorded stock rows over the served
//! network, the recorded capacities, the recorded time as now, the fraud
//! score from the recorded features, and no reservation.

use allot_proto::v1 as pb;
use allot_service::ServiceError;

use super::{Services, diff, precondition, recorded_fraud_features, recorded_state, recorded_with};
use crate::convert::order::order_request;
use crate::convert::risk as risk_conv;
use crate::records::allocation_response;

/// Re-runs an ALLOCATION record and compares the answers.
pub(super) async fn replay(
    services: &Services,
    record: pb::DecisionRecord,
) -> Result<pb::ReplayDecisionResponse, ServiceError> {
    let with = recorded_with(&record);
    services.replay.check_versions(&with)?;
    let Some(pb::decision_record::Request::AllocateRequest(request)) = record.request.clone()
    else {
        return Err(precondition(&record, "no recorded Allocate request"));
    };
    let Some(pb::decision_record::Response::AllocateResponse(recorded)) = record.response.clone()
    else {
        return Err(precondition(&record, "no recorded Allocate response"));
    };
    let network = services.network();
    let state = recorded_state(&record, network)?;
    let (order, _commit) = order_request(network, request.clone(), "allocate_request.")?;
    let fraud = match (&request.context, &recorded.risk) {
        (Some(_), Some(risk)) => Some((
            recorded_fraud_features(&record),
            risk_conv::recorded_rule_hits(&risk.reasons),
        )),
        _ => None,
    };
    let decided = services
        .replay
        .allocation(&with, order, fraud, state)
        .await?;
    let mut replayed = allocation_response(network, record.decision_id.clone(), &decided);
    // What the request did not carry is a fact of the request, not of the
    // model.
    if let (Some(replayed), Some(recorded)) = (replayed.risk.as_mut(), recorded.risk.as_ref()) {
        replayed.missing_signals = recorded.missing_signals.clone();
    }
    let differences = diff::allocation(&recorded, &replayed);
    Ok(pb::ReplayDecisionResponse {
        original: Some(record),
        identical: differences.is_empty(),
        differences,
        response: Some(pb::replay_decision_response::Response::AllocateResponse(
            replayed,
        )),
    })
}
