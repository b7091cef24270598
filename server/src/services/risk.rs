//! RiskService: fraud probability, decision and reasons for one order, and
//! the returned orders that feed the customers' return rates.

use std::time::Instant;

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
    budget: Budget,
}

impl RiskApi {
    /// An adapter over the services published in `ready`; a score's budget
    /// is the caller's deadline less the margin of `budget` (the deciding
    /// RPCs' margin), else [`DEFAULT_BUDGET`].
    pub(crate) fn new(ready: Ready, budget: Budget) -> Self {
        RiskApi {
            ready,
            budget: Budget {
                default: DEFAULT_BUDGET,
                ..budget
            },
        }
    }
}

#[tonic::async_trait]
impl RiskService for RiskApi {
    async fn score_order(
        &self,
        request: Request<pb::ScoreOrderRequest>,
    ) -> Result<Response<pb::RiskAssessment>, Status> {
        let started = Instant::now();
        reply(
            async {
                let deadline = self.budget.deadline(request.metadata(), started)?;
                let services = self.ready.get()?;
                let caller = crate::auth::caller_of(&request);
                let message = request.into_inner();
                let missing = conv::missing_signals(message.context.as_ref());
                let mut call = conv::score_call(services.network(), message, started, deadline)?;
                call.caller = caller;
                let mut assessment = services.score.score(call).await?;
                assessment.missing_signals = missing;
                Ok(assessment)
            }
            .await,
        )
    }

    async fn report_returns(
        &self,
        request: Request<pb::ReportReturnsRequest>,
    ) -> Result<Response<pb::ReportReturnsResponse>, Status> {
        let started = Instant::now();
        reply(
            async {
                let services = self.ready.get()?;
                let caller = crate::auth::caller_of(&request);
                let mut call = conv::returns_call(request.into_inner(), started)?;
                call.caller = caller;
                services.returns.report(call).await
            }
            .await,
        )
    }
}
