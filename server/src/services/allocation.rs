//! AllocationService: Allocate, reservations, and shadow-mode evaluation.

use std::time::Instant;

use allot_proto::v1 as pb;
use allot_proto::v1::allocation_service_server::AllocationService;
use tonic::{Request, Response, Status};

use crate::auth::caller_of;
use crate::convert::allocation as conv;
use crate::convert::order::{allocate_call, evaluate_call};
use crate::convert::reoptimize;
use crate::convert::risk as risk_conv;
use crate::deadline::Budget;
use crate::error::reply;
use crate::serve::Ready;

/// The AllocationService adapter.
pub(crate) struct AllocationApi {
    ready: Ready,
    budget: Budget,
}

impl AllocationApi {
    /// An adapter over the services published in `ready`.
    pub(crate) fn new(ready: Ready, budget: Budget) -> Self {
        AllocationApi { ready, budget }
    }
}

#[tonic::async_trait]
impl AllocationService for AllocationApi {
    async fn allocate(
        &self,
        request: Request<pb::AllocateRequest>,
    ) -> Result<Response<pb::AllocateResponse>, Status> {
        let started = Instant::now();
        reply(
            async {
                let deadline = self.budget.deadline(request.metadata(), started)?;
                let caller = caller_of(&request);
                let services = self.ready.get()?;
                let message = request.into_inner();
                let missing = risk_conv::missing_signals(message.context.as_ref());
                let mut call = allocate_call(services.network(), message, started, deadline)?;
                call.caller = caller;
                let mut response = services.allocation.allocate(call).await?;
                if let Some(risk) = response.risk.as_mut() {
                    risk.missing_signals = missing;
                }
                Ok(response)
            }
            .await,
        )
    }

    async fn confirm_reservation(
        &self,
        request: Request<pb::ConfirmReservationRequest>,
    ) -> Result<Response<pb::Reservation>, Status> {
        let caller = caller_of(&request);
        let pb::ConfirmReservationRequest { reservation_id } = request.into_inner();
        reply(
            async {
                let services = self.ready.get()?;
                let reservation = services
                    .reservations
                    .confirm(&reservation_id, &caller)
                    .await?;
                Ok(conv::reservation(services.network(), &reservation))
            }
            .await,
        )
    }

    async fn release_reservation(
        &self,
        request: Request<pb::ReleaseReservationRequest>,
    ) -> Result<Response<pb::Reservation>, Status> {
        let caller = caller_of(&request);
        let pb::ReleaseReservationRequest {
            reservation_id,
            reason,
            note,
        } = request.into_inner();
        let reason = conv::release_reason(reason);
        reply(
            async {
                let services = self.ready.get()?;
                let reservation = services
                    .reservations
                    .release(&reservation_id, reason, &note, &caller)
                    .await?;
                Ok(conv::reservation(services.network(), &reservation))
            }
            .await,
        )
    }

    async fn get_reservation(
        &self,
        request: Request<pb::GetReservationRequest>,
    ) -> Result<Response<pb::Reservation>, Status> {
        let pb::GetReservationRequest { reservation_id } = request.into_inner();
        let answer = async {
            let services = self.ready.get()?;
            let reservation = services.reservations.get(&reservation_id).await?;
            Ok(conv::reservation(services.network(), &reservation))
        };
        reply(answer.await)
    }

    async fn reoptimize_backlog(
        &self,
        request: Request<pb::ReoptimizeBacklogRequest>,
    ) -> Result<Response<pb::ReoptimizeBacklogResponse>, Status> {
        let started = Instant::now();
        reply(
            async {
                let budget = self.budget.asking(reoptimize::budget(request.get_ref()));
                let deadline = budget.deadline(request.metadata(), started)?;
                let caller = caller_of(&request);
                let services = self.ready.get()?;
                let call = reoptimize::reoptimize_request(
                    services.network(),
                    request.into_inner(),
                    deadline,
                    caller,
                )?;
                let done = services.reoptimize.reoptimize(call).await?;
                Ok(reoptimize::reoptimize_response(services.network(), &done))
            }
            .await,
        )
    }

    async fn evaluate_plan(
        &self,
        request: Request<pb::EvaluatePlanRequest>,
    ) -> Result<Response<pb::EvaluatePlanResponse>, Status> {
        let started = Instant::now();
        reply(
            async {
                let deadline = self.budget.deadline(request.metadata(), started)?;
                let caller = caller_of(&request);
                let services = self.ready.get()?;
                let message = request.into_inner();
                let mut call = evaluate_call(services.network(), message, started, deadline)?;
                call.caller = caller;
                services.allocation.evaluate(call).await
            }
            .await,
        )
    }
}
