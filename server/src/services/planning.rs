//! PlanningService: demand forecasts.

use std::time::Instant;

use allot_proto::v1 as pb;
use allot_proto::v1::planning_service_server::PlanningService;
use allot_service::demand::DEFAULT_BUDGET;
use tonic::{Request, Response, Status};

use crate::convert::planning as conv;
use crate::deadline::Budget;
use crate::error::reply;
use crate::serve::Ready;

/// The PlanningService adapter.
pub(crate) struct PlanningApi {
    ready: Ready,
    budget: Budget,
}

impl PlanningApi {
    /// An adapter over the services published in `ready`; a forecast's
    /// budget is the caller's deadline less the margin of `budget`, else
    /// [`DEFAULT_BUDGET`].
    pub(crate) fn new(ready: Ready, budget: Budget) -> Self {
        PlanningApi {
            ready,
            budget: Budget {
                default: DEFAULT_BUDGET,
                ..budget
            },
        }
    }
}

#[tonic::async_trait]
impl PlanningService for PlanningApi {
    async fn forecast_demand(
        &self,
        request: Request<pb::ForecastDemandRequest>,
    ) -> Result<Response<pb::DemandForecast>, Status> {
        let started = Instant::now();
        reply(
            async {
                let deadline = self.budget.deadline(request.metadata(), started)?;
                let services = self.ready.get()?;
                let query =
                    conv::forecast_query(services.network(), request.into_inner(), deadline)?;
                let answer = services.demand.forecast(query).await?;
                Ok(conv::demand_forecast(services.network(), answer))
            }
            .await,
        )
    }
}
