//! DecisionService: explain, watch and replay recorded decisions.

use allot_proto::v1 as pb;
use allot_proto::v1::decision_service_server::DecisionService;
use allot_service::DecisionId;
use tonic::{Request, Response, Status};

use crate::convert::decisions::{EventStream, event_stream, wanted_kinds};
use crate::error::reply;
use crate::replay::{read_record, replay};
use crate::serve::Ready;

/// The DecisionService adapter.
pub(crate) struct DecisionApi {
    ready: Ready,
}

impl DecisionApi {
    /// An adapter over the services published in `ready`.
    pub(crate) fn new(ready: Ready) -> Self {
        DecisionApi { ready }
    }
}

#[tonic::async_trait]
impl DecisionService for DecisionApi {
    async fn explain_decision(
        &self,
        request: Request<pb::ExplainDecisionRequest>,
    ) -> Result<Response<pb::DecisionRecord>, Status> {
        let pb::ExplainDecisionRequest { decision_id } = request.into_inner();
        reply(
            async {
                let id = DecisionId::parse(&decision_id, "decision_id")?;
                read_record(self.ready.get()?, &id).await
            }
            .await,
        )
    }

    type WatchDecisionsStream = EventStream;

    async fn watch_decisions(
        &self,
        request: Request<pb::WatchDecisionsRequest>,
    ) -> Result<Response<EventStream>, Status> {
        let pb::WatchDecisionsRequest {
            from_position,
            kinds,
        } = request.into_inner();
        reply(
            async {
                let kinds = wanted_kinds(&kinds)?;
                let decisions = &self.ready.get()?.decisions;
                Ok(event_stream(decisions.watch(from_position, kinds).await?))
            }
            .await,
        )
    }

    async fn replay_decision(
        &self,
        request: Request<pb::ReplayDecisionRequest>,
    ) -> Result<Response<pb::ReplayDecisionResponse>, Status> {
        let pb::ReplayDecisionRequest { decision_id } = request.into_inner();
        reply(
            async {
                let id = DecisionId::parse(&decision_id, "decision_id")?;
                let services = self.ready.get()?;
                replay(services, read_record(services, &id).await?).await
            }
            .await,
        )
    }
}
