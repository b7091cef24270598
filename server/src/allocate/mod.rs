//! Allocate in one call: the fraud score, the plan (lateness and windows from
//! the ETA model), the hold policy, the reservation and the decision record.
//!
//! The handler converts and validates; [`AllocateCall::run`] scores and
//! solves on the solver pool (never on an async worker), decides what the
//! fraud answer holds, and records the decision before answering. Nothing is
//! reserved when the decision log cannot take the record.

mod record;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use allot_engine::allocation::allocate::{Allocator, Commit};
use allot_engine::allocation::error::AllocationError;
use allot_engine::allocation::outcome::AllocationOutcome;
use allot_engine::allocation::request::OrderRequest;
use allot_models::features::OrderEvent;
use allot_models::risk::{RiskAssessment, RiskDecision, RiskScorer};
use allot_models::scoring::ScoringError;
use allot_proto::v1 as pb;
use tonic::Status;

pub use record::allocation_record;

use crate::config::ReviewPolicy;
use crate::convert::allocation as conv;
use crate::convert::risk as risk_conv;
use crate::decisions::DecisionRecorder;
use crate::pool::SolverPool;
use crate::state::Engine;

/// What the fraud answer does to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// Not held (approved, or not scored).
    None,
    /// REJECT: held, nothing reserved (HELD_FRAUD).
    Fraud,
    /// REVIEW: held for a person (HELD_REVIEW); reserved or not by policy.
    Review,
}

/// The hold for a fraud decision, and whether the plan may be reserved.
pub fn hold_for(decision: Option<RiskDecision>, review: ReviewPolicy) -> (Hold, bool) {
    match decision {
        None | Some(RiskDecision::Approve) => (Hold::None, true),
        Some(RiskDecision::Reject) => (Hold::Fraud, false),
        Some(RiskDecision::Review) => (Hold::Review, review == ReviewPolicy::Reserve),
    }
}

/// A decided order, before it becomes a response.
#[derive(Debug, Clone)]
pub struct Decided {
    /// The plan (and the reservation, if one was made).
    pub outcome: AllocationOutcome,
    /// The fraud assessment; `None` when the request had no context.
    pub risk: Option<RiskAssessment>,
    /// What the assessment holds.
    pub hold: Hold,
}

/// Why a decision could not be made.
#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    /// The allocation failed (bad request, solver, lost races).
    #[error(transparent)]
    Allocation(#[from] AllocationError),
    /// The fraud model failed.
    #[error("fraud scoring failed: {0}")]
    Scoring(#[from] ScoringError),
}

impl DecideError {
    /// The gRPC status of the failure.
    pub fn status(self) -> Status {
        match self {
            DecideError::Allocation(e) => crate::error::status(e),
            e @ DecideError::Scoring(_) => Status::internal(e.to_string()),
        }
    }
}

/// What the fraud check of a decision starts from.
pub enum FraudInput {
    /// No context: not scored.
    None,
    /// A live order: features from the feature store (which then remembers
    /// the order).
    Live(Box<OrderEvent>),
    /// A recorded decision: its recorded features and rule hits.
    Recorded(Box<RiskAssessmentInput>),
}

/// Recorded fraud inputs (replay).
pub struct RiskAssessmentInput {
    /// The features as recorded.
    pub features: allot_models::features::FraudFeatures,
    /// The rules the order hit, as recorded.
    pub hits: Vec<allot_models::risk::RuleHit>,
}

/// How a decision runs.
pub enum Mode<'a> {
    /// A live call: the live capacities, reserving with `commit` when the
    /// hold allows it under `review`.
    Live {
        /// The reservation to make, if the call commits.
        commit: Option<Commit>,
        /// What REVIEW does.
        review: ReviewPolicy,
    },
    /// A recorded decision re-run: the recorded capacities, no reservation.
    Replay {
        /// Remaining capacity per node id, as recorded.
        capacity: &'a [u32],
    },
}

/// Scores the order, then plans it with `allocator` (reserving as `mode`
/// says). Blocking: run it on the solver pool.
pub fn decide(
    allocator: &Allocator,
    risk: &RiskScorer,
    order: &OrderRequest,
    fraud: FraudInput,
    mode: Mode<'_>,
    deadline: Instant,
    now: SystemTime,
) -> Result<Decided, DecideError> {
    let risk = match fraud {
        FraudInput::None => None,
        FraudInput::Live(event) => Some(risk.assess(&event, true)?),
        FraudInput::Recorded(input) => Some(risk.assess_recorded(input.features, input.hits)?),
    };
    let decision = risk.as_ref().map(|r| r.decision);
    let (hold, outcome) = match mode {
        Mode::Live { commit, review } => {
            let (hold, may_reserve) = hold_for(decision, review);
            let commit = commit.filter(|_| may_reserve);
            (hold, allocator.allocate(order, commit, deadline, now)?)
        }
        Mode::Replay { capacity } => {
            // The hold does not depend on the review policy; only the
            // reservation does, and a replay reserves nothing.
            let (hold, _) = hold_for(decision, ReviewPolicy::Hold);
            (
                hold,
                allocator.decide_with_capacity(order, capacity, deadline, now)?,
            )
        }
    };
    Ok(Decided {
        outcome,
        risk,
        hold,
    })
}

/// The `AllocateResponse` of a decision: the plan, the fraud assessment and
/// the disposition after the hold (HELD_FRAUD always wins; HELD_REVIEW
/// unless no plan exists).
pub fn response(
    network: &allot_engine::network::Network,
    decision_id: String,
    decided: &Decided,
) -> pb::AllocateResponse {
    let mut response = conv::allocate_response(network, decision_id.clone(), &decided.outcome);
    response.risk = decided
        .risk
        .as_ref()
        .map(|r| risk_conv::assessment(decision_id, r));
    late_risk_values(network, &decided.outcome, &mut response);
    if let Ok(plan) = pb::OrderDisposition::try_from(response.disposition) {
        response.disposition = disposition(plan, decided.hold) as i32;
    }
    response
}

/// LATE_RISK reasons name their node's probability of missing the promise
/// (`feature` = `p_late`, `value` = the probability).
fn late_risk_values(
    network: &allot_engine::network::Network,
    outcome: &AllocationOutcome,
    response: &mut pb::AllocateResponse,
) {
    let read = &outcome.read;
    for reason in response.lines.iter_mut().flat_map(|l| l.reasons.iter_mut()) {
        if reason.code != pb::ReasonCode::LateRisk as i32 {
            continue;
        }
        let p = network
            .node_id(&reason.node)
            .and_then(|node| read.candidates.iter().position(|&c| c == node))
            .and_then(|c| read.transit.p_late.get(c));
        if let Some(p) = p {
            reason.feature = "p_late".into();
            reason.value = format!("{p:.4}");
        }
    }
}

/// The disposition of a plan under a hold: HELD_FRAUD always wins,
/// HELD_REVIEW unless no plan exists (UNFULFILLABLE: there is nothing to
/// hold).
pub fn disposition(plan: pb::OrderDisposition, hold: Hold) -> pb::OrderDisposition {
    match hold {
        Hold::None => plan,
        Hold::Fraud => pb::OrderDisposition::HeldFraud,
        Hold::Review if plan == pb::OrderDisposition::Unfulfillable => plan,
        Hold::Review => pb::OrderDisposition::HeldReview,
    }
}

/// RESOURCE_EXHAUSTED when the decision log already holds `capacity`
/// queued entries (0 = capacity unknown: the record itself will tell).
fn log_has_room(depth: usize, capacity: usize) -> Result<(), Status> {
    if capacity > 0 && depth >= capacity {
        metrics::counter!("allot_decisions_shed_total").increment(1);
        return Err(Status::resource_exhausted(
            "the decision log's queue is full (decisions.queue_capacity); retry with backoff",
        ));
    }
    Ok(())
}

/// One Allocate call after conversion.
pub struct AllocateCall {
    /// The loaded engine.
    pub engine: Arc<Engine>,
    /// The request as received (recorded redacted).
    pub message: pb::AllocateRequest,
    /// The engine's request.
    pub order: OrderRequest,
    /// The order's fraud event, when it has a context.
    pub scored: Option<OrderEvent>,
    /// The review policy.
    pub review: ReviewPolicy,
    /// The decision log's queue capacity (0 = unknown: no early check).
    pub decision_queue: usize,
    /// When the call started.
    pub started: Instant,
    /// When the solve must end.
    pub deadline: Instant,
    /// The instant the order is decided at.
    pub now: SystemTime,
}

impl AllocateCall {
    /// Decides (reserving for `ttl` when given), records the decision and
    /// answers. RESOURCE_EXHAUSTED before anything is reserved when the
    /// decision log's queue is full.
    pub async fn run(
        &self,
        pool: &SolverPool,
        ttl: Option<Duration>,
    ) -> Result<pb::AllocateResponse, Status> {
        let recorder = self.engine.decisions.clone();
        log_has_room(recorder.queue_depth(), self.decision_queue)?;
        let decision_id = DecisionRecorder::new_id();
        let commit = ttl.map(|ttl| Commit {
            ttl,
            decision_id: decision_id.clone(),
        });
        let worker = self.engine.clone();
        let order = self.order.clone();
        let fraud = match &self.scored {
            Some(event) => FraudInput::Live(Box::new(event.clone())),
            None => FraudInput::None,
        };
        let (review, deadline, now) = (self.review, self.deadline, self.now);
        let decided = pool
            .run(deadline, move || {
                decide(
                    &worker.allocator,
                    &worker.risk,
                    &order,
                    fraud,
                    Mode::Live { commit, review },
                    deadline,
                    now,
                )
            })
            .await?
            .map_err(DecideError::status)?;
        let network = &self.engine.network;
        let response = response(network, decision_id.clone(), &decided);
        let disposition = pb::OrderDisposition::try_from(response.disposition)
            .map_or("unknown", |d| d.as_str_name())
            .trim_start_matches("ORDER_DISPOSITION_")
            .to_ascii_lowercase();
        metrics::counter!("allot_allocations_total", "disposition" => disposition).increment(1);
        tracing::debug!(
            order = %response.order_id,
            decision = %decision_id,
            disposition = response.disposition,
            method = decided.outcome.solver.method.as_str(),
            total = decided.outcome.objective.total(),
            "order allocated"
        );
        let (record, event) = allocation_record(
            &self.engine,
            self.message.clone(),
            &response,
            &decided,
            self.started.elapsed(),
        );
        if let Err(shed) = recorder.record(&record, Some(event)) {
            // The record could not be queued: undo the reservation so the
            // failed call holds nothing.
            if let Some(r) = &decided.outcome.reservation {
                let _ = self
                    .engine
                    .allocator
                    .book()
                    .release(&r.id, SystemTime::now());
            }
            return Err(shed);
        }
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pb::OrderDisposition as D;

    #[test]
    fn reject_holds_without_reserving_and_review_follows_the_policy() {
        assert_eq!(hold_for(None, ReviewPolicy::Hold), (Hold::None, true));
        assert_eq!(
            hold_for(Some(RiskDecision::Approve), ReviewPolicy::Hold),
            (Hold::None, true)
        );
        for policy in [ReviewPolicy::Reserve, ReviewPolicy::Hold] {
            assert_eq!(
                hold_for(Some(RiskDecision::Reject), policy),
                (Hold::Fraud, false)
            );
        }
        assert_eq!(
            hold_for(Some(RiskDecision::Review), ReviewPolicy::Reserve),
            (Hold::Review, true)
        );
        assert_eq!(
            hold_for(Some(RiskDecision::Review), ReviewPolicy::Hold),
            (Hold::Review, false)
        );
    }

    #[test]
    fn a_full_decision_log_sheds_before_anything_is_decided() {
        assert!(log_has_room(0, 16).is_ok());
        assert!(log_has_room(15, 16).is_ok());
        let shed = log_has_room(16, 16).unwrap_err();
        assert_eq!(shed.code(), tonic::Code::ResourceExhausted);
        assert!(log_has_room(1_000, 0).is_ok(), "unknown capacity");
    }

    #[test]
    fn fraud_wins_over_every_plan_and_review_over_every_plan_but_none() {
        for plan in [
            D::Allocated,
            D::PartiallyBackordered,
            D::Backordered,
            D::Unfulfillable,
        ] {
            assert_eq!(disposition(plan, Hold::None), plan);
            assert_eq!(disposition(plan, Hold::Fraud), D::HeldFraud);
        }
        assert_eq!(disposition(D::Allocated, Hold::Review), D::HeldReview);
        assert_eq!(disposition(D::Backordered, Hold::Review), D::HeldReview);
        assert_eq!(
            disposition(D::Unfulfillable, Hold::Review),
            D::Unfulfillable
        );
    }
}
