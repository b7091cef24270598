//! AdminService: the network description and the models being served.

use allot_proto::v1 as pb;
use allot_proto::v1::admin_service_server::AdminService;
use allot_service::ServiceError;
use allot_service::models::{ReloadRequest, ReloadTarget};
use tonic::{Request, Response, Status};

use crate::convert::models::{drift_report, kinds, model_info, reloaded};
use crate::convert::network::describe;
use crate::error::reply;
use crate::serve::Ready;

/// The AdminService adapter.
pub(crate) struct AdminApi {
    ready: Ready,
    /// Largest answer, bytes (`grpc.max_message_bytes`).
    max_message_bytes: usize,
}

impl AdminApi {
    /// An adapter over the services published in `ready`, answering at most
    /// `max_message_bytes` per message.
    pub(crate) fn new(ready: Ready, max_message_bytes: usize) -> Self {
        AdminApi {
            ready,
            max_message_bytes,
        }
    }
}

#[tonic::async_trait]
impl AdminService for AdminApi {
    async fn get_network(
        &self,
        request: Request<pb::GetNetworkRequest>,
    ) -> Result<Response<pb::NetworkDescription>, Status> {
        let pb::GetNetworkRequest { include_skus } = request.into_inner();
        let max = self.max_message_bytes;
        reply(self.ready.get().and_then(|services| {
            let description = describe(services.network(), include_skus);
            let size = prost::Message::encoded_len(&description);
            if size > max {
                return Err(ServiceError::exhausted(format!(
                    "include_skus: the network with its {} SKUs is {size} bytes, more than the {max} bytes an answer may hold (grpc.max_message_bytes); call without include_skus",
                    description.sku_count
                )));
            }
            Ok(description)
        }))
    }

    async fn get_model_info(
        &self,
        request: Request<pb::GetModelInfoRequest>,
    ) -> Result<Response<pb::ModelInfo>, Status> {
        let pb::GetModelInfoRequest {} = request.into_inner();
        reply(
            self.ready
                .get()
                .map(|services| model_info(&services.models.loaded())),
        )
    }

    async fn reload_models(
        &self,
        request: Request<pb::ReloadModelsRequest>,
    ) -> Result<Response<pb::ReloadModelsResponse>, Status> {
        let pb::ReloadModelsRequest {
            model_dir,
            models,
            shadow,
        } = request.into_inner();
        let services = match self.ready.get() {
            Ok(s) => s,
            Err(e) => return reply(Err(e)),
        };
        let request = kinds(&models, "models").map(|kinds| ReloadRequest {
            dir: (!model_dir.is_empty()).then(|| model_dir.into()),
            kinds,
            target: if shadow {
                ReloadTarget::Shadow
            } else {
                ReloadTarget::Live
            },
        });
        let result = match request {
            Ok(request) => services.models.reload(request).await,
            Err(e) => Err(e),
        };
        reply(result.map(|r| reloaded(&r)))
    }

    async fn rollback_models(
        &self,
        request: Request<pb::RollbackModelsRequest>,
    ) -> Result<Response<pb::ReloadModelsResponse>, Status> {
        let pb::RollbackModelsRequest { models } = request.into_inner();
        let services = match self.ready.get() {
            Ok(s) => s,
            Err(e) => return reply(Err(e)),
        };
        let result = match kinds(&models, "models") {
            Ok(kinds) => services.models.rollback(kinds).await,
            Err(e) => Err(e),
        };
        reply(result.map(|r| reloaded(&r)))
    }

    async fn clear_shadow_models(
        &self,
        request: Request<pb::ClearShadowModelsRequest>,
    ) -> Result<Response<pb::ModelInfo>, Status> {
        let pb::ClearShadowModelsRequest {} = request.into_inner();
        reply(self.ready.get().and_then(|services| {
            services.models.clear_shadows()?;
            Ok(model_info(&services.models.loaded()))
        }))
    }

    async fn get_model_drift(
        &self,
        request: Request<pb::GetModelDriftRequest>,
    ) -> Result<Response<pb::ModelDriftReport>, Status> {
        let pb::GetModelDriftRequest {} = request.into_inner();
        reply(
            self.ready.get().map(|services| {
                drift_report(&services.models.drift(), services.models.alert_psi())
            }),
        )
    }
}
