//! The adapter's side of the use cases: how an answer looks on the wire and
//! how its decision record is encoded. The use cases own the flow (decide,
//! hold, reserve, record before answering, remember the key); the adapter
//! that implements [`Wire`] owns the format, so no transport type reaches
//! this crate.

use std::time::{Duration, SystemTime};

use allot_engine::allocation::evaluate::Evaluation;
use allot_engine::allocation::request::OrderRequest;
use allot_engine::promise::{PromiseOutcome, PromiseRequest};
use allot_models::features::{Observation, ReturnObservation};
use allot_models::risk::RiskAssessment;

use crate::allocate::Decided;
use crate::error::ServiceError;
use crate::fraud_returns::ReturnsReport;
use crate::id::DecisionId;
use crate::route_return::{ReturnUse, RoutedReturn};

/// Builds answers and encodes decision records in the adapter's format; the
/// use cases add the events.
pub trait Wire: Send + Sync + 'static {
    /// An Allocate request as received.
    type AllocateRequest: Clone + Send + 'static;
    /// An Allocate answer.
    type AllocateResponse: Clone + Send + Sync + 'static;
    /// An EvaluatePlan request as received.
    type EvaluateRequest: Send + 'static;
    /// An EvaluatePlan answer.
    type EvaluateResponse: Send + 'static;
    /// A promise request as received.
    type PromiseRequest: Send + 'static;
    /// A promise answer.
    type PromiseResponse: Send + 'static;
    /// A ScoreOrder request as received.
    type ScoreRequest: Send + 'static;
    /// A ScoreOrder answer.
    type Assessment: Send + 'static;
    /// A ReportReturns request as received.
    type ReturnsRequest: Send + 'static;
    /// A ReportReturns answer.
    type ReturnsResponse: Send + 'static;
    /// A RouteReturn request as received.
    type RouteReturnRequest: Send + 'static;
    /// A RouteReturn answer.
    type ReturnDecision: Send + 'static;

    /// The answer of an allocation decision.
    fn allocation(&self, id: &DecisionId, decided: &Decided) -> Self::AllocateResponse;

    /// The encoded record of an allocation decision.
    fn allocation_record(
        &self,
        call: Recording<'_, Self::AllocateRequest>,
        response: &Self::AllocateResponse,
        decided: &Decided,
    ) -> Vec<u8>;

    /// The bytes of an Allocate answer, kept with its idempotency key.
    fn allocation_bytes(&self, response: &Self::AllocateResponse) -> Vec<u8>;

    /// An Allocate answer from [`Wire::allocation_bytes`]' bytes.
    fn allocation_from_bytes(&self, bytes: &[u8]) -> Result<Self::AllocateResponse, ServiceError>;

    /// The answer of a plan evaluation.
    fn evaluation(&self, id: &DecisionId, evaluation: &Evaluation) -> Self::EvaluateResponse;

    /// The encoded record of a plan evaluation.
    fn evaluation_record(
        &self,
        call: Recording<'_, Self::EvaluateRequest>,
        response: &Self::EvaluateResponse,
    ) -> Vec<u8>;

    /// The answer of a promise quoted at `now`.
    fn promise(
        &self,
        id: &DecisionId,
        request: &PromiseRequest,
        outcome: &PromiseOutcome,
        now: SystemTime,
    ) -> Self::PromiseResponse;

    /// The encoded record of a promise; the answer moves through the
    /// encoding and comes back out, so it is not copied. A quote that read
    /// exactly the state an earlier record holds names it in
    /// `state_recorded_by` and leaves that state out.
    fn promise_record(
        &self,
        call: Recording<'_, Self::PromiseRequest>,
        response: Self::PromiseResponse,
        quote: Quote<'_>,
    ) -> Result<(Vec<u8>, Self::PromiseResponse), ServiceError>;

    /// The answer of a fraud assessment.
    fn assessment(&self, id: &DecisionId, assessed: &RiskAssessment) -> Self::Assessment;

    /// The encoded record of a ScoreOrder decision (with the features the
    /// model saw and what the feature store remembered).
    fn assessment_record(
        &self,
        call: Recording<'_, Self::ScoreRequest>,
        answer: &Self::Assessment,
        assessed: &RiskAssessment,
    ) -> Vec<u8>;

    /// The answer of a ReportReturns.
    fn returns_report(&self, id: &DecisionId, report: &ReturnsReport) -> Self::ReturnsResponse;

    /// The encoded record of a ReportReturns (with what the feature store
    /// keeps of each returned order, in request order).
    fn returns_record(
        &self,
        call: Recording<'_, Self::ReturnsRequest>,
        answer: &Self::ReturnsResponse,
        returned: &[ReturnObservation],
    ) -> Vec<u8>;

    /// The answer of a RouteReturn decision.
    fn return_decision(&self, id: &DecisionId, routed: &RoutedReturn) -> Self::ReturnDecision;

    /// The encoded record of a RouteReturn decision.
    fn return_record(
        &self,
        call: Recording<'_, Self::RouteReturnRequest>,
        answer: &Self::ReturnDecision,
    ) -> Vec<u8>;

    /// What an encoded record's return decision took of its node's
    /// channels; `None` for any other record.
    fn return_use(&self, record: &[u8]) -> Result<Option<ReturnUse>, ServiceError>;

    /// The order an encoded allocation record decided, as it was asked (a
    /// backlog re-plan rebuilds each held order from its record); an error
    /// says why the bytes hold no such order.
    fn allocated_order(&self, record: &[u8]) -> Result<OrderRequest, ServiceError>;

    /// What the fraud feature store remembered of an encoded record: the
    /// order it scored, the returned orders it reported (nothing for a
    /// decision that did neither). An error says why the bytes are not a
    /// record.
    fn feature_history(&self, record: &[u8]) -> Result<Remembered, ServiceError>;
}

/// What a decision record holds for the fraud feature store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Remembered {
    /// The order the decision scored (ScoreOrder, Allocate with a context).
    pub order: Option<Observation>,
    /// The returned orders it reported (ReportReturns).
    pub returns: Vec<ReturnObservation>,
}

/// What every record holds of its call besides the answer.
pub struct Recording<'a, R> {
    /// The decision's id.
    pub id: &'a DecisionId,
    /// The request as received (the adapter hashes it, then redacts it).
    pub request: R,
    /// The instant the decision was evaluated at.
    pub decided_at: SystemTime,
    /// Time to decide at the server.
    pub elapsed: Duration,
    /// Who asked: the name of the caller's token; empty with
    /// authentication off.
    pub caller: &'a str,
}

/// What a promise record holds besides its call and answer.
pub struct Quote<'a> {
    /// The engine's request.
    pub request: &'a PromiseRequest,
    /// The plans, with what they read.
    pub outcome: &'a PromiseOutcome,
    /// The decision whose record already holds the state this quote read.
    pub state_recorded_by: Option<&'a str>,
    /// What the shadow ETA version predicted for the same shipments, when
    /// one is set.
    pub eta_shadow: Option<&'a crate::models::eta_shadow::EtaShadow>,
}
