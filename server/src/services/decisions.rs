//! DecisionService: explain, watch and replay recorded decisions.

use allot_engine::decisions::decision_key;
use allot_proto::v1 as pb;
use allot_proto::v1::decision_service_server::DecisionService;
use tokio::sync::watch;
use tonic::{Request, Response, Status};

use crate::error::invalid;
use crate::state::{Engine, Ready};

/// The DecisionService adapter.
pub struct DecisionApi {
    ready: Ready,
    stop: watch::Receiver<bool>,
}

impl DecisionApi {
    /// An adapter over the engine published in `ready`; open watch streams
    /// end with UNAVAILABLE when `stop` turns true.
    pub fn new(ready: Ready, stop: watch::Receiver<bool>) -> Self {
        DecisionApi { ready, stop }
    }
}

/// Validates `decision_id` (a ULID, with or without the `dec_` prefix).
fn checked_id(decision_id: &str) -> Result<(), Status> {
    if decision_id.is_empty() {
        return Err(invalid("decision_id", "required"));
    }
    if decision_key(decision_id).is_none() {
        return Err(invalid(
            "decision_id",
            format!("{decision_id:?} is not a decision id (dec_ and a ULID)"),
        ));
    }
    Ok(())
}

/// The stored record of `decision_id`, or NOT_FOUND.
async fn read_record(engine: &Engine, decision_id: String) -> Result<pb::DecisionRecord, Status> {
    checked_id(&decision_id)?;
    let recorder = engine.decisions.clone();
    let id = decision_id.clone();
    tokio::task::spawn_blocking(move || recorder.read(&id))
        .await
        .map_err(|e| Status::internal(format!("reading the decision log: {e}")))??
        .ok_or_else(|| {
            Status::not_found(format!(
                "decision_id: no decision {decision_id:?} (unknown, or older than decisions.retention_days)"
            ))
        })
}

#[tonic::async_trait]
impl DecisionService for DecisionApi {
    async fn explain_decision(
        &self,
        request: Request<pb::ExplainDecisionRequest>,
    ) -> Result<Response<pb::DecisionRecord>, Status> {
        let pb::ExplainDecisionRequest { decision_id } = request.into_inner();
        let engine = self.ready.engine()?;
        Ok(Response::new(read_record(engine, decision_id).await?))
    }

    type WatchDecisionsStream = crate::decisions::EventStream;

    async fn watch_decisions(
        &self,
        request: Request<pb::WatchDecisionsRequest>,
    ) -> Result<Response<Self::WatchDecisionsStream>, Status> {
        let engine = self.ready.engine()?;
        let stream = crate::decisions::watch(
            engine.decisions.clone(),
            request.into_inner(),
            self.stop.clone(),
        )
        .await?;
        Ok(Response::new(stream))
    }

    async fn replay_decision(
        &self,
        request: Request<pb::ReplayDecisionRequest>,
    ) -> Result<Response<pb::ReplayDecisionResponse>, Status> {
        let pb::ReplayDecisionRequest { decision_id } = request.into_inner();
        let engine = self.ready.engine()?.clone();
        let record = read_record(&engine, decision_id).await?;
        Ok(Response::new(
            crate::replay::replay_decision(&engine, record).await?,
        ))
    }
}
