//! ReturnsService: where a returned item goes and what happens to each of
//! its units.

use std::time::Instant;

use allot_proto::v1 as pb;
use tonic::{Request, Response, Status};

use crate::convert::returns as conv;
use crate::deadline::Budget;
use crate::error::reply;
use crate::serve::Ready;

/// A routing's budget without a caller deadline: the demand forecast of the
/// horizon runs the model once per day.
const DEFAULT_BUDGET: std::time::Duration = std::time::Duration::from_millis(1_000);

/// The ReturnsService adapter.
pub(crate) struct ReturnsApi {
    ready: Ready,
    budget: Budget,
}

impl ReturnsApi {
    /// An adapter over the services published in `ready`; a routing's
    /// budget is the caller's deadline less `budget`'s margin, else
    /// [`DEFAULT_BUDGET`].
    pub(crate) fn new(ready: Ready, budget: Budget) -> Self {
        ReturnsApi {
            ready,
            budget: Budget {
                default: DEFAULT_BUDGET,
                ..budget
            },
        }
    }
}

#[tonic::async_trait]
impl pb::returns_service_server::ReturnsService for ReturnsApi {
    async fn route_return(
        &self,
        request: Request<pb::RouteReturnRequest>,
    ) -> Result<Response<pb::ReturnDecision>, Status> {
        let started = Instant::now();
        reply(
            async {
                let deadline = self.budget.deadline(request.metadata(), started)?;
                let services = self.ready.get()?;
                let caller = crate::auth::caller_of(&request);
                let message = request.into_inner();
                let mut call =
                    conv::route_return_call(services.network(), message, started, deadline)?;
                call.caller = caller;
                services.route_return.route(call).await
            }
            .await,
        )
    }
}
