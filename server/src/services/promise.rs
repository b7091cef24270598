//! PromiseService: delivery options for a cart.

use std::time::Instant;

use allot_proto::v1 as pb;
use allot_proto::v1::promise_service_server::PromiseService;
use tonic::{Request, Response, Status};

use crate::convert::promise as conv;
use crate::deadline::Budget;
use crate::error::reply;
use crate::serve::Ready;

/// The PromiseService adapter.
pub(crate) struct PromiseApi {
    ready: Ready,
    budget: Budget,
}

impl PromiseApi {
    /// An adapter over the services published in `ready`; the time budget
    /// is allocation's.
    pub(crate) fn new(ready: Ready, budget: Budget) -> Self {
        PromiseApi { ready, budget }
    }
}

#[tonic::async_trait]
impl PromiseService for PromiseApi {
    async fn get_delivery_promise(
        &self,
        request: Request<pb::PromiseRequest>,
    ) -> Result<Response<pb::PromiseResponse>, Status> {
        let started = Instant::now();
        reply(
            async {
                let deadline = self.budget.deadline(request.metadata(), started)?;
                let services = self.ready.get()?;
                let now = services.now();
                let caller = crate::auth::caller_of(&request);
                let message = request.into_inner();
                let mut call =
                    conv::promise_call(services.network(), message, now, started, deadline)?;
                call.caller = caller;
                services.promise.quote(call).await
            }
            .await,
        )
    }
}
