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
        request: Request<pb::GetModelInfoRequest>,
    ) -> Result<Response<pb::ModelInfo>, Status> {
        let pb::GetModelInfoRequest {} = request.into_inner();
        let engine = self.ready.engine()?;
        let card = engine.risk.card();
        let (review, reject) = engine.risk.thresholds();
        let (dir, loaded_at) = &engine.models_loaded;
        let fraud = pb::ModelCard {
            name: card.name.clone(),
            version: card.version.clone(),
            kind: pb::ModelKind::Fraud as i32,
            feature_names: card
                .feature_names()
                .into_iter()
                .map(str::to_string)
                .collect(),
            loaded_at: Some(crate::convert::time::timestamp(*loaded_at)),
            thresholds: [
                ("review".to_string(), review),
                ("reject".to_string(), reject),
            ]
            .into(),
            sha256: card
                .extra
                .get("onnx")
                .and_then(|onnx| onnx.get("sha256"))
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string(),
            path: dir.join("fraud.onnx").display().to_string(),
        };
        Ok(Response::new(pb::ModelInfo {
            models: vec![fraud],
        }))
    }

    async fn reload_models(
        &self,
        _request: Request<pb::ReloadModelsRequest>,
    ) -> Result<Response<pb::ReloadModelsResponse>, Status> {
        Err(not_in_this_release("AdminService.ReloadModels"))
    }
}
