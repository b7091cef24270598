//! RiskService: fraud probability, decision and reasons for one order.

use std::time::{Duration, Instant, SystemTime};

use allot_proto::v1 as pb;
use allot_proto::v1::risk_service_server::RiskService;
use tonic::{Request, Response, Status};

use crate::convert::risk as conv;
use crate::deadline::budget;
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
        let deadline = budget(
            request.metadata(),
            Instant::now(),
            DEFAULT_BUDGET,
            Duration::ZERO,
        )?;
        let engine = self.ready.engine()?.clone();
        let message = request.into_inner();
        let order = conv::order_event(&engine.network, &message, SystemTime::now())?;
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
        Ok(Response::new(conv::assessment(
            format!("dec_{}", ulid::Ulid::new()),
            &assessed,
        )))
    }
}
