//! Services of the allot.v1 contract that later releases implement. They are
//! registered (so reflection and health list them) and answer UNIMPLEMENTED
//! with a message that says what this release does serve.

use allot_proto::v1 as pb;
use allot_service::ServiceError;
use tonic::{Request, Response, Status};

use crate::error::reply;

/// ReturnsService: answers UNIMPLEMENTED in this release.
pub(crate) struct ReturnsApi;

#[tonic::async_trait]
impl pb::returns_service_server::ReturnsService for ReturnsApi {
    async fn route_return(
        &self,
        _: Request<pb::RouteReturnRequest>,
    ) -> Result<Response<pb::ReturnDecision>, Status> {
        reply(Err(ServiceError::not_in_this_release(
            "ReturnsService.RouteReturn",
        )))
    }
}
