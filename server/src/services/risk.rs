//! RiskService: fraud probability, decision and reasons for one order.

use std::time::{Duration, Instant, SystemTime};

use allot_proto::v1 as pb;
use allot_proto::v1::risk_service_server::RiskService;
use tonic::{Request, Response, Status};

use crate::convert::risk as conv;
use crate::deadline::budget;
use crate::decisions::{DecisionRecorder, RiskDecision};
use crate::pool::SolverPool;
use crate::state::Ready;

/// Default time budget of a score without a gRPC deadline.
const DEFAULT_BUDGET: Duration = Duration::from_millis(50);

/// The RiskService adapter.
pub struct RiskApi {
    ready: Ready,
    pool: SolverPool,
}

impl RiskApi {
    /// An adapter over the engine published in `ready`; scoring (features,
    /// ONNX Runtime, TreeSHAP) runs on `pool`.
    pub fn new(ready: Ready, pool: SolverPool) -> Self {
        RiskApi { ready, pool }
    }
}

#[tonic::async_trait]
impl RiskService for RiskApi {
    async fn score_order(
        &self,
        request: Request<pb::ScoreOrderRequest>,
    ) -> Result<Response<pb::RiskAssessment>, Status> {
        let started = Instant::now();
        let deadline = budget(request.metadata(), started, DEFAULT_BUDGET, Duration::ZERO)?;
        let engine = self.ready.engine()?.clone();
        let message = request.into_inner();
        let input_hash = crate::decisions::input_hash(&message);
        let decided_at = SystemTime::now();
        let order = conv::order_event(&engine.network, &message, decided_at)?;
        let risk = engine.risk.clone();
        let assessed = self
            .pool
            .run(deadline, move || risk.assess(&order, true))
            .await?
            .map_err(|e| Status::internal(format!("fraud scoring failed: {e}")))?;
        tracing::debug!(
            order = %message.order_id,
            probability = assessed.probability,
            decision = ?assessed.decision,
            "order scored"
        );
        let assessment = conv::assessment(DecisionRecorder::new_id(), &assessed);
        engine.decisions.record_risk(RiskDecision {
            request: message,
            input_hash,
            assessment: &assessment,
            features: &assessed.features,
            decided_at,
            elapsed: started.elapsed(),
        })?;
        Ok(Response::new(assessment))
    }
}
