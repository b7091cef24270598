//! AdminService: the network description and the models being served.

use allot_proto::v1 as pb;
use allot_proto::v1::admin_service_server::AdminService;
use allot_service::ServiceError;
use tonic::{Request, Response, Status};

use crate::convert::network::{describe, model_info};
use crate::error::reply;
use crate::serve::Ready;

/// The AdminService adapter.
pub(crate) struct AdminApi {
    ready: Ready,
}

impl AdminApi {
    /// An adapter over the services published in `ready`.
    pub(crate) fn new(ready: Ready) -> Self {
        AdminApi { ready }
    }
}

#[tonic::async_trait]
impl AdminService for AdminApi {
    async fn get_network(
        &self,
        request: Request<pb::GetNetworkRequest>,
    ) -> Result<Response<pb::NetworkDescription>, Status> {
        let pb::GetNetworkRequest { include_skus } = request.into_inner();
        reply(
            self.ready
                .get()
                .map(|services| describe(services.network(), include_skus)),
        )
    }

    async fn get_model_info(
        &self,
        request: Request<pb::GetModelInfoRequest>,
    ) -> Result<Response<pb::ModelInfo>, Status> {
        let pb::GetModelInfoRequest {} = request.into_inner();
        reply(
            self.ready
                .get()
                .map(|services| model_info(&services.models.fraud())),
        )
    }

    async fn reload_models(
        &self,
        _request: Request<pb::ReloadModelsRequest>,
    ) -> Result<Response<pb::ReloadModelsResponse>, Status> {
        reply(Err(ServiceError::not_in_this_release(
            "AdminService.ReloadModels",
        )))
    }
}
