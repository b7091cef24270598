//! The one place decision records are built, for every kind of decision,
//! from the domain outcome and the request and answer as they crossed the
//! wire; and the protobuf side of the service layer's [`Wire`]: answers
//! built from domain types, records encoded as `DecisionRecord` bytes.
//!
//! A record holds the request as received with personal data hashed
//! ([`redact`]), the answer as sent, what the engine read (stock rows and
//! versions, capacities, the decision time), the models and features, the
//! reasons, and the hashes of the configuration and network it was made
//! with. docs/decisions.md describes the format.

mod allocation;
mod common;
mod evaluation;
mod history;
mod promise;
pub(crate) mod redact;
mod returns;
mod risk;

use std::sync::Arc;
use std::time::SystemTime;

use allot_engine::allocation::evaluate::Evaluation;
use allot_engine::network::Network;
use allot_engine::promise::{PromiseOutcome, PromiseRequest};
use allot_models::features::ReturnObservation;
use allot_models::risk::RiskAssessment;
use allot_proto::v1 as pb;
use allot_service::allocate::Decided;
use allot_service::engine::Engine;
use allot_service::fraud_returns::ReturnsReport;
use allot_service::wire::{Quote, Recording, Remembered, Wire};
use allot_service::{DecisionId, ServiceError};

pub(crate) use allocation::allocation_response;

/// Version of this server, recorded in every decision.
pub(crate) fn server_version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// The protobuf wire: answers as `allot.v1` messages, records as encoded
/// `DecisionRecord`s.
pub(crate) struct ProtoWire {
    network: Arc<Network>,
    config_hash: String,
    network_hash: String,
    privacy: Arc<allot_service::privacy::Pseudonymizer>,
}

impl ProtoWire {
    /// For the network and hashes of `engine`.
    pub(crate) fn new(engine: &Engine) -> ProtoWire {
        ProtoWire {
            network: engine.network.clone(),
            config_hash: engine.config_hash.clone(),
            network_hash: engine.network_hash.clone(),
            privacy: engine.privacy.clone(),
        }
    }

    /// The fields every record shares.
    fn header<R>(&self, call: &Recording<'_, R>, kind: pb::DecisionKind) -> pb::DecisionRecord {
        pb::DecisionRecord {
            decision_id: call.id.as_str().to_string(),
            kind: kind as i32,
            recorded_at: Some(crate::convert::time::timestamp(SystemTime::now())),
            config_hash: self.config_hash.clone(),
            network_hash: self.network_hash.clone(),
            decision_time_us: u64::try_from(call.elapsed.as_micros()).unwrap_or(u64::MAX),
            server_version: server_version().to_string(),
            decided_at: Some(crate::convert::time::timestamp(call.decided_at)),
            caller: call.caller.to_string(),
            ..Default::default()
        }
    }
}

impl Wire for ProtoWire {
    type AllocateRequest = pb::AllocateRequest;
    type AllocateResponse = pb::AllocateResponse;
    type EvaluateRequest = pb::EvaluatePlanRequest;
    type EvaluateResponse = pb::EvaluatePlanResponse;
    type PromiseRequest = pb::PromiseRequest;
    type PromiseResponse = pb::PromiseResponse;
    type ScoreRequest = pb::ScoreOrderRequest;
    type Assessment = pb::RiskAssessment;
    type ReturnsRequest = pb::ReportReturnsRequest;
    type ReturnsResponse = pb::ReportReturnsResponse;
    type RouteReturnRequest = pb::RouteReturnRequest;
    type ReturnDecision = pb::ReturnDecision;

    fn allocation(&self, id: &DecisionId, decided: &Decided) -> pb::AllocateResponse {
        allocation_response(&self.network, id.as_str().to_string(), decided)
    }

    fn allocation_bytes(&self, response: &pb::AllocateResponse) -> Vec<u8> {
        prost::Message::encode_to_vec(response)
    }

    fn allocation_from_bytes(&self, bytes: &[u8]) -> Result<pb::AllocateResponse, ServiceError> {
        prost::Message::decode(bytes).map_err(|e| {
            ServiceError::internal(format!("a remembered answer does not decode: {e}"))
        })
    }

    fn allocation_record(
        &self,
        call: Recording<'_, pb::AllocateRequest>,
        response: &pb::AllocateResponse,
        decided: &Decided,
    ) -> Vec<u8> {
        allocation::record(self, call, response, decided)
    }

    fn evaluation(&self, id: &DecisionId, evaluation: &Evaluation) -> pb::EvaluatePlanResponse {
        crate::convert::allocation::evaluate_response(
            &self.network,
            id.as_str().to_string(),
            evaluation,
        )
    }

    fn evaluation_record(
        &self,
        call: Recording<'_, pb::EvaluatePlanRequest>,
        response: &pb::EvaluatePlanResponse,
    ) -> Vec<u8> {
        evaluation::record(self, call, response)
    }

    fn promise(
        &self,
        id: &DecisionId,
        request: &PromiseRequest,
        outcome: &PromiseOutcome,
        now: SystemTime,
    ) -> pb::PromiseResponse {
        crate::convert::promise::promise_response(
            &self.network,
            request,
            outcome,
            id.as_str().to_string(),
            now,
        )
    }

    fn promise_record(
        &self,
        call: Recording<'_, pb::PromiseRequest>,
        response: pb::PromiseResponse,
        quote: Quote<'_>,
    ) -> Result<(Vec<u8>, pb::PromiseResponse), ServiceError> {
        promise::record(self, call, response, quote)
    }

    fn assessment(&self, id: &DecisionId, assessed: &RiskAssessment) -> pb::RiskAssessment {
        crate::convert::risk::assessment(id.as_str().to_string(), assessed)
    }

    fn assessment_record(
        &self,
        call: Recording<'_, pb::ScoreOrderRequest>,
        answer: &pb::RiskAssessment,
        assessed: &RiskAssessment,
    ) -> Vec<u8> {
        risk::record(self, call, answer, assessed)
    }

    fn returns_report(&self, id: &DecisionId, report: &ReturnsReport) -> pb::ReportReturnsResponse {
        crate::convert::risk::returns_response(id.as_str().to_string(), report)
    }

    fn returns_record(
        &self,
        call: Recording<'_, pb::ReportReturnsRequest>,
        answer: &pb::ReportReturnsResponse,
        returned: &[ReturnObservation],
    ) -> Vec<u8> {
        returns::record(self, call, answer, returned)
    }

    fn return_decision(
        &self,
        id: &DecisionId,
        routed: &allot_service::route_return::RoutedReturn,
    ) -> pb::ReturnDecision {
        crate::convert::returns::return_decision(
            &self.network,
            routed.return_id.clone(),
            id.as_str().to_string(),
            routed,
        )
    }

    fn return_record(
        &self,
        call: Recording<'_, pb::RouteReturnRequest>,
        answer: &pb::ReturnDecision,
    ) -> Vec<u8> {
        returns::route_record(self, call, answer)
    }

    fn return_use(
        &self,
        record: &[u8],
    ) -> Result<Option<allot_service::route_return::ReturnUse>, ServiceError> {
        returns::return_use(&self.network, record)
    }

    fn allocated_order(
        &self,
        record: &[u8],
    ) -> Result<allot_engine::allocation::request::OrderRequest, ServiceError> {
        use prost::Message;
        let record = pb::DecisionRecord::decode(record)
            .map_err(|e| ServiceError::internal(format!("the record does not decode: {e}")))?;
        let Some(pb::decision_record::Request::AllocateRequest(request)) = record.request else {
            return Err(ServiceError::precondition(format!(
                "decision {} recorded no Allocate request",
                record.decision_id
            )));
        };
        let (order, _commit) =
            crate::convert::order::order_request(&self.network, request, "allocate_request.")?;
        Ok(order)
    }

    fn feature_history(&self, record: &[u8]) -> Result<Remembered, ServiceError> {
        history::recorded(record)
    }
}
