//! RiskService: fraud probability, decision and reasons for one order.

use std::time::{Duration, Instant};

use allot_proto::v1 as pb;
use allot_proto::v1::risk_service_server::RiskService;
use allot_service::score::DEFAULT_BUDGET;
use tonic::{Request, Response, Status};

use crate::convert::risk as conv;
use crate::deadline::Budget;
use crate::error::reply;
use crate::serve::Ready;

/// The RiskService adapter.
pub(crate) struct RiskApi {
    ready: Ready,
}

impl RiskApi {
    /// An adapter over the services published in `ready`.
    pub(crate) fn new(ready: Ready) -> Self {
        RiskApi { ready }
    }
}

/// A score's budget: the caller's whole deadline, else 50 ms.
const BUDGET: Budget = Budget {
    default: DEFAULT_BUDGET,
    margin: Duration::ZERO,
};

#[tonic::async_trait]
impl RiskService for RiskApi {
    async fn score_order(
        &self,
        request: Request<pb::ScoreOrderRequest>,
    ) -> Result<Response<pb::RiskAssessment>, Status> {
        let started = Instant::now();
        reply(
            async {
                let deadline = BUDGET.deadline(request.metadata(), started)?;
                let services = self.ready.get()?;
                let message = request.into_inner();
                let call = conv::score_call(services.network(), message, started, deadline)?;
                services.score.score(call).await
            }
            .await,
        )
    }
}
