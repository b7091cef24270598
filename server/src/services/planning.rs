//! PlanningService: demand forecasts, transfer plans, workload forecasts.

use std::time::Instant;

use allot_proto::v1 as pb;
use allot_proto::v1::planning_service_server::PlanningService;
use allot_service::demand::DEFAULT_BUDGET;
use allot_service::demand::transfers::{DEFAULT_PLAN_BUDGET, MAX_PLAN_BUDGET};
use tonic::{Request, Response, Status};

use allot_service::workload::DEFAULT_BUDGET as WORKLOAD_BUDGET;

use crate::convert::planning as conv;
use crate::convert::transfers as transfer_conv;
use crate::convert::workload;
use crate::deadline::Budget;
use crate::error::reply;
use crate::serve::Ready;

/// The PlanningService adapter.
pub(crate) struct PlanningApi {
    ready: Ready,
    budget: Budget,
    plan_budget: Budget,
    workload_budget: Budget,
}

impl PlanningApi {
    /// An adapter over the services published in `ready`; a forecast's
    /// budget is the caller's deadline less the margin of `budget`, else
    /// [`DEFAULT_BUDGET`] ([`DEFAULT_PLAN_BUDGET`] for a transfer plan); a
    /// workload forecast's is at most [`WORKLOAD_BUDGET`].
    pub(crate) fn new(ready: Ready, budget: Budget) -> Self {
        PlanningApi {
            ready,
            workload_budget: budget.asking(WORKLOAD_BUDGET),
            // Not capped below its own default by allocation's longest.
            budget: Budget {
                default: DEFAULT_BUDGET,
                max: budget.max.max(DEFAULT_BUDGET),
                ..budget
            },
            plan_budget: Budget {
                default: DEFAULT_PLAN_BUDGET,
                max: MAX_PLAN_BUDGET,
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

    async fn plan_transfers(
        &self,
        request: Request<pb::PlanTransfersRequest>,
    ) -> Result<Response<pb::TransferPlan>, Status> {
        let started = Instant::now();
        reply(
            async {
                let deadline = self.plan_budget.deadline(request.metadata(), started)?;
                let services = self.ready.get()?;
                let query = transfer_conv::transfer_query(
                    services.network(),
                    request.into_inner(),
                    deadline,
                )?;
                let answer = services.transfers.plan(query).await?;
                Ok(transfer_conv::transfer_plan(services.network(), answer))
            }
            .await,
        )
    }

    async fn forecast_workload(
        &self,
        request: Request<pb::ForecastWorkloadRequest>,
    ) -> Result<Response<pb::WorkloadForecast>, Status> {
        let started = Instant::now();
        // Its own budget, not allocation's longest: a workload routes
        // thousands of one-unit orders. The caller's deadline still cuts it.
        let budget = self.workload_budget;
        reply(
            async {
                let deadline = budget.deadline(request.metadata(), started)?;
                let services = self.ready.get()?;
                let query =
                    workload::workload_query(services.network(), request.into_inner(), deadline)?;
                let answer = services.workload.forecast(query).await?;
                Ok(workload::workload_forecast(services.network(), answer))
            }
            .await,
        )
    }
}
