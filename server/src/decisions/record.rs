//! Building decision records from what a handler has at hand.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use allot_engine::allocation::candidates::StockRow;
use allot_engine::network::Network;
use allot_engine::stock::NodeVersion;
use allot_models::features::{FRAUD_FEATURES, FraudFeatures};
use allot_proto::v1 as pb;

use super::{DecisionRecorder, redact_allocate, redact_score, server_version};
use crate::convert::time::timestamp;

/// The snapshot versions and delta sequences a decision read, as recorded:
/// ordered by node code.
pub fn stock_versions(network: &Network, read: &[NodeVersion]) -> Vec<pb::NodeSnapshotVersion> {
    let mut versions: Vec<pb::NodeSnapshotVersion> = read
        .iter()
        .map(|v| pb::NodeSnapshotVersion {
            node: network.node(v.node).code.clone(),
            version: v.version,
            sequence: v.sequence,
        })
        .collect();
    versions.sort_by(|a, b| a.node.cmp(&b.node));
    versions
}

/// The stock rows a decision read, as recorded: ordered by node code, then
/// SKU code.
pub fn stock_read(network: &Network, rows: &[StockRow]) -> Vec<pb::StockRead> {
    let mut read: Vec<pb::StockRead> = rows
        .iter()
        .map(|r| pb::StockRead {
            node: network.node(r.node).code.clone(),
            sku: network.sku(r.sku).code.clone(),
            on_hand: r.level.on_hand,
            reserved: r.level.reserved,
            protected: r.level.protected,
        })
        .collect();
    read.sort_by(|a, b| (&a.node, &a.sku).cmp(&(&b.node, &b.sku)));
    read
}

/// Every node's remaining capacity (indexed by node id; a node beyond the
/// slice has none), as recorded: ordered by node code.
pub fn capacity(network: &Network, remaining: &[u32]) -> Vec<pb::NodeCapacity> {
    let mut capacity: Vec<pb::NodeCapacity> = network
        .node_ids()
        .map(|n| pb::NodeCapacity {
            node: network.node(n).code.clone(),
            remaining_units: remaining.get(n.0 as usize).copied().unwrap_or(0),
        })
        .collect();
    capacity.sort_by(|a, b| a.node.cmp(&b.node));
    capacity
}

/// Model input features by name, without the missing (NaN) ones.
pub fn fraud_features(features: &FraudFeatures) -> HashMap<String, f64> {
    FRAUD_FEATURES
        .iter()
        .zip(features.to_row())
        .filter(|(_, value)| !value.is_nan())
        .map(|(name, value)| ((*name).to_string(), f64::from(value)))
        .collect()
}

/// What a ScoreOrder decision is recorded from.
pub struct RiskDecision<'a> {
    /// The request as received (redacted here).
    pub request: pb::ScoreOrderRequest,
    /// Hex SHA-256 of the request as received.
    pub input_hash: String,
    /// The answer sent.
    pub assessment: &'a pb::RiskAssessment,
    /// The features the model saw.
    pub features: &'a FraudFeatures,
    /// The instant the order was evaluated at.
    pub decided_at: SystemTime,
    /// Time to decide at the server.
    pub elapsed: Duration,
}

impl DecisionRecorder {
    /// Records a ScoreOrder decision with its RISK_SCORED event.
    pub fn record_risk(&self, decision: RiskDecision<'_>) -> Result<(), tonic::Status> {
        let RiskDecision {
            mut request,
            input_hash,
            assessment,
            features,
            decided_at,
            elapsed,
        } = decision;
        redact_score(&mut request);
        let verdict = pb::RiskDecision::try_from(assessment.decision).map_or("UNSPECIFIED", |d| {
            d.as_str_name().trim_start_matches("RISK_DECISION_")
        });
        let event = pb::DecisionEvent {
            kind: pb::DecisionEventKind::RiskScored as i32,
            decision_id: assessment.decision_id.clone(),
            order_id: request.order_id.clone(),
            summary: format!(
                "order {} scored {:.3}: {verdict}",
                request.order_id, assessment.fraud_probability
            ),
            ..Default::default()
        };
        let record = pb::DecisionRecord {
            decision_id: assessment.decision_id.clone(),
            kind: pb::DecisionKind::Risk as i32,
            recorded_at: Some(timestamp(SystemTime::now())),
            input_hash,
            model_versions: vec![pb::ModelVersion {
                name: assessment.model_name.clone(),
                version: assessment.model_version.clone(),
            }],
            config_hash: self.config_hash().to_string(),
            network_hash: self.network_hash().to_string(),
            request: Some(pb::decision_record::Request::ScoreOrderRequest(request)),
            response: Some(pb::decision_record::Response::RiskAssessment(
                assessment.clone(),
            )),
            features: fraud_features(features),
            reasons: assessment.reasons.clone(),
            decision_time_us: u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            server_version: server_version().to_string(),
            decided_at: Some(timestamp(decided_at)),
            ..Default::default()
        };
        self.record(&record, Some(event))
    }
}

/// What an EvaluatePlan (shadow mode) evaluation is recorded from.
pub struct PlanEvaluation<'a> {
    /// The request as received (its order is redacted here).
    pub request: pb::EvaluatePlanRequest,
    /// Hex SHA-256 of the request as received.
    pub input_hash: String,
    /// The answer sent.
    pub response: &'a pb::EvaluatePlanResponse,
    /// The instant the plan was evaluated at.
    pub decided_at: SystemTime,
    /// Time to evaluate at the server.
    pub elapsed: Duration,
}

impl DecisionRecorder {
    /// Records an EvaluatePlan evaluation (no event: shadow mode decides
    /// nothing an OMS acts on).
    pub fn record_plan_evaluation(
        &self,
        evaluation: PlanEvaluation<'_>,
    ) -> Result<(), tonic::Status> {
        let PlanEvaluation {
            mut request,
            input_hash,
            response,
            decided_at,
            elapsed,
        } = evaluation;
        if let Some(order) = request.order.as_mut() {
            redact_allocate(order);
        }
        let mut reasons: Vec<pb::Reason> = Vec::new();
        for reason in response.optimal_lines.iter().flat_map(|l| &l.reasons) {
            if !reasons.contains(reason) {
                reasons.push(reason.clone());
            }
        }
        let record = pb::DecisionRecord {
            decision_id: response.decision_id.clone(),
            kind: pb::DecisionKind::PlanEvaluation as i32,
            recorded_at: Some(timestamp(SystemTime::now())),
            input_hash,
            config_hash: self.config_hash().to_string(),
            network_hash: self.network_hash().to_string(),
            request: Some(pb::decision_record::Request::EvaluatePlanRequest(request)),
            response: Some(pb::decision_record::Response::EvaluatePlanResponse(
                response.clone(),
            )),
            reasons,
            solver: response.solver.clone(),
            decision_time_us: u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            server_version: server_version().to_string(),
            decided_at: Some(timestamp(decided_at)),
            ..Default::default()
        };
        self.record(&record, None)
    }
}
