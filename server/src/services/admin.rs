//! AdminService: the network description; model info arrives with the models.

use allot_proto::v1 as pb;
use allot_proto::v1::admin_service_server::AdminService;
use tonic::{Request, Response, Status};

use crate::error::not_in_this_release;
use crate::state::Ready;

/// The AdminService adapter.
pub struct AdminApi {
    ready: Ready,
}

impl AdminApi {
    /// An adapter over the engine published in `ready`.
    pub fn new(ready: Ready) -> Self {
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
        let engine = self.ready.engine()?;
        Ok(Response::new(crate::convert::network::describe(
            &engine.network,
            include_skus,
        )))
    }

    async fn get_model_info(
        &self,
        _request: Request<pb::GetModelInfoRequest>,
    ) -> Result<Response<pb::ModelInfo>, Status> {
        Err(not_in_this_release("AdminService.GetModelInfo"))
    }

    async fn reload_models(
        &self,
        _request: Request<pb::ReloadModelsRequest>,
    ) -> Result<Response<pb::ReloadModelsResponse>, Status> {
        Err(not_in_this_release("AdminService.ReloadModels"))
    }
}
