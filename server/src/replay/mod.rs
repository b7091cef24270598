//! ReplayDecision: re-runs a recorded decision against the state it recorded
//! (the stock it read, the capacities, the features, the time) with the
//! models loaded now, and compares the answers.
//!
//! - `allocation`: Allocate decisions, over a stock store rebuilt from the
//!   recorded rows, without reserving.
//! - `risk`: ScoreOrder decisions, re-scored from the recorded features.
//! - `promise`: GetDeliveryPromise quotes, over the same rebuilt stock and
//!   recorded capacities, at the recorded order time.
//! - `diff`: what differs between two answers, ignoring ids, timings and
//!   timestamps of the decision itself.

mod allocation;
mod diff;
mod promise;
mod risk;

use allot_proto::v1 as pb;
use tonic::Status;

use crate::state::Engine;

/// Re-runs `record` (as read from the decision log) and reports whether the
/// answer is identical. FAILED_PRECONDITION when the record was made with
/// another network or model version than the ones served now (the message
/// names both), or its kind cannot be replayed.
pub async fn replay_decision(
    engine: &Engine,
    record: pb::DecisionRecord,
) -> Result<pb::ReplayDecisionResponse, Status> {
    match pb::DecisionKind::try_from(record.kind) {
        Ok(pb::DecisionKind::Allocation) => allocation::replay(engine, record).await,
        Ok(pb::DecisionKind::Risk) => risk::replay(engine, record).await,
        Ok(pb::DecisionKind::Promise) => promise::replay(engine, record).await,
        Ok(kind) => Err(Status::failed_precondition(format!(
            "decision {}: {} decisions cannot be replayed by this server",
            record.decision_id,
            kind.as_str_name()
        ))),
        Err(_) => Err(Status::failed_precondition(format!(
            "decision {} has an unknown kind {}",
            record.decision_id, record.kind
        ))),
    }
}

/// FAILED_PRECONDITION unless the record's network and models are the ones
/// served now.
fn check_versions(engine: &Engine, record: &pb::DecisionRecord) -> Result<(), Status> {
    let id = &record.decision_id;
    let served = engine.decisions.network_hash();
    if !record.network_hash.is_empty() && record.network_hash != served {
        return Err(Status::failed_precondition(format!(
            "decision {id} was made on network {} but this server serves network {served}",
            record.network_hash
        )));
    }
    let (fraud_name, fraud_version) = engine.risk.model_version();
    for m in &record.model_versions {
        let loaded = if m.name == fraud_name {
            Some(fraud_version.to_string())
        } else {
            engine
                .transit
                .as_ref()
                .filter(|t| t.model_name() == m.name)
                .map(|t| t.model_version().to_string())
        };
        match loaded {
            Some(v) if v == m.version => {}
            Some(v) => {
                return Err(Status::failed_precondition(format!(
                    "decision {id} used model {} version {} but version {v} is loaded",
                    m.name, m.version
                )));
            }
            None => {
                return Err(Status::failed_precondition(format!(
                    "decision {id} used model {} version {} which is not loaded",
                    m.name, m.version
                )));
            }
        }
    }
    Ok(())
}

/// The fraud features of a record as the model's input row (a feature the
/// record does not hold was missing: NaN).
fn recorded_fraud_features(record: &pb::DecisionRecord) -> allot_models::features::FraudFeatures {
    use allot_models::features::{FRAUD_FEATURE_COUNT, FRAUD_FEATURES, FraudFeatures};
    let mut row = [f32::NAN; FRAUD_FEATURE_COUNT];
    for (value, name) in row.iter_mut().zip(FRAUD_FEATURES) {
        if let Some(v) = record.features.get(*name) {
            *value = *v as f32;
        }
    }
    FraudFeatures::from_row(&row)
}
