//! Allocate in one call: the fraud score, the plan (lateness and windows
//! from the ETA model), the hold policy, the reservation and the decision
//! record; and EvaluatePlan, the shadow-mode comparison of a caller's plan
//! with the optimum.
//!
//! Scoring and solving run on the solver pool, never on an async worker.
//! A decision is recorded before it is answered; nothing stays reserved when
//! the decision log cannot take the record.

mod events;
mod keys;
mod policy;
mod shared;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use allot_engine::allocation::allocate::{Allocator, Commit};
use allot_engine::allocation::evaluate::PlannedUnits;
use allot_engine::allocation::outcome::AllocationOutcome;
use allot_engine::allocation::request::{Destination, OrderRequest};
use allot_models::features::{FraudFeatures, OrderEvent};
use allot_models::risk::{RiskAssessment, RiskScorer, RuleHit};

pub use events::allocation_event;
pub use keys::{EncodedKeys, SharedKeys};
pub use policy::{Disposition, Hold, hold_for};

use crate::clock::Clock;
use crate::config::{AllocationConfig, ReviewPolicy, ServiceConfig};
use crate::demand::sales::record_order;
use crate::engine::Engine;
use crate::error::ServiceError;
use crate::fraud::FraudOrder;
use crate::id::DecisionId;
use crate::idempotency::{Fingerprint, Idempotency, KeyLedger, Remembered};
use crate::pool::SolverPool;
use crate::sink::Entry;
use crate::state::SharedLedger;
use crate::wire::{Recording, Wire};

/// A decided order, before it becomes an answer.
#[derive(Debug, Clone)]
pub struct Decided {
    /// The plan (and the reservation, if one was made).
    pub outcome: AllocationOutcome,
    /// The fraud assessment; `None` when the request had no context.
    pub risk: Option<RiskAssessment>,
    /// What the assessment holds.
    pub hold: Hold,
}

impl Decided {
    /// The order's disposition after the hold.
    pub fn disposition(&self) -> Disposition {
        Disposition::of_plan(&self.outcome).under(self.hold)
    }
}

/// What the fraud check of a decision starts from.
pub enum FraudInput {
    /// No context: not scored.
    None,
    /// A live order: features from the feature store (which then remembers
    /// the order).
    Live(Box<OrderEvent>),
    /// Already scored (a re-solve after another replica took the units).
    Scored(Box<RiskAssessment>),
    /// A recorded decision: its recorded features and rule hits.
    Recorded {
        /// The features as recorded.
        features: Box<FraudFeatures>,
        /// The rules the order hit, as recorded.
        hits: Vec<RuleHit>,
    },
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
) -> Result<Decided, ServiceError> {
    let scoring = |e| ServiceError::internal(format!("fraud scoring failed: {e}"));
    let risk = match fraud {
        FraudInput::None => None,
        FraudInput::Live(event) => Some(risk.assess(&event, true).map_err(scoring)?),
        FraudInput::Scored(assessed) => Some(*assessed),
        FraudInput::Recorded { features, hits } => {
            Some(risk.assess_recorded(*features, hits).map_err(scoring)?)
        }
    };
    let decision = risk.as_ref().map(|r| r.decision);
    let (hold, outcome) = match mode {
        Mode::Live { commit, review } => {
            let (hold, may_reserve) = hold_for(decision, review);
            let commit = commit.filter(|_| may_reserve);
            let outcome = allocator
                .allocate(order, commit, deadline, now)
                .map_err(ServiceError::domain)?;
            (hold, outcome)
        }
        Mode::Replay { capacity } => {
            // The hold does not depend on the review policy; only the
            // reservation does, and a replay reserves nothing.
            let (hold, _) = hold_for(decision, ReviewPolicy::Hold);
            let outcome = allocator
                .decide_with_capacity(order, capacity, deadline, now)
                .map_err(ServiceError::domain)?;
            (hold, outcome)
        }
    };
    Ok(Decided {
        outcome,
        risk,
        hold,
    })
}

/// The commit part of an Allocate call.
#[derive(Debug, Clone)]
pub struct CommitRequest {
    /// The idempotency key (required to commit).
    pub idempotency_key: String,
    /// The reservation's time to live, when the caller set one.
    pub ttl: Option<Duration>,
    /// The fingerprint of the request as received.
    pub fingerprint: Fingerprint,
}

/// One Allocate call, converted and validated by the adapter.
pub struct AllocateCall<R> {
    /// The engine's request.
    pub order: OrderRequest,
    /// The order as the fraud check reads it, when it has a context.
    pub fraud: Option<FraudOrder>,
    /// Reserve the plan, idempotently.
    pub commit: Option<CommitRequest>,
    /// The request as received (recorded redacted).
    pub request: R,
    /// When the call started.
    pub started: Instant,
    /// When the solve must end.
    pub deadline: Instant,
    /// Who asks: the name of the caller's token; empty with authentication
    /// off. Recorded with the decision and its event.
    pub caller: String,
}

/// One EvaluatePlan call, converted and validated by the adapter.
pub struct EvaluateCall<R> {
    /// The order the plan is for.
    pub order: OrderRequest,
    /// The caller's plan.
    pub planned: Vec<PlannedUnits>,
    /// The request as received (recorded redacted).
    pub request: R,
    /// When the call started.
    pub started: Instant,
    /// When the solve must end.
    pub deadline: Instant,
    /// Who asks: the name of the caller's token; empty with authentication
    /// off. Recorded with the decision and its event.
    pub caller: String,
}

/// The allocation use cases.
pub struct Allocation<W: Wire> {
    decider: Arc<Decider<W>>,
    config: AllocationConfig,
    keys: Idempotency<W::AllocateResponse>,
}

/// What a decision needs, shared with the task that commits it (a commit
/// runs to its end even when its caller goes away).
struct Decider<W: Wire> {
    engine: Arc<Engine>,
    clock: Arc<dyn Clock>,
    wire: Arc<W>,
    pool: SolverPool,
    review: ReviewPolicy,
    decision_queue: usize,
    /// Where a commit's key goes: asked for the record that makes it
    /// durable with the decision.
    keys: Arc<dyn KeyLedger<W::AllocateResponse>>,
    /// The ledger shared with other replicas, when there is one: commits go
    /// through it.
    shared: Option<Arc<dyn SharedLedger>>,
}

/// What a committing call reserves under.
struct KeyedCommit {
    ttl: Duration,
    key: String,
    fingerprint: Fingerprint,
}

impl<W: Wire> Allocation<W> {
    /// Over `engine` at `clock`'s time, answering through `wire`, solving
    /// on `pool`, remembering idempotency keys in `keys`.
    pub fn new(
        engine: Arc<Engine>,
        clock: Arc<dyn Clock>,
        wire: Arc<W>,
        pool: SolverPool,
        config: &ServiceConfig,
        keys: Arc<dyn KeyLedger<W::AllocateResponse>>,
        shared: Option<Arc<dyn SharedLedger>>,
    ) -> Self {
        let decision_queue = config.decisions.queue_capacity;
        let config = config.allocation.clone();
        Allocation {
            decider: Arc::new(Decider {
                engine,
                clock,
                wire,
                pool,
                review: config.review,
                decision_queue,
                keys: keys.clone(),
                shared,
            }),
            config,
            keys: Idempotency::new(keys),
        }
    }

    /// The reservation's time to live: the caller's, at most the
    /// configured maximum, else the default.
    fn ttl(&self, asked: Option<Duration>) -> Result<Duration, ServiceError> {
        let max = Duration::from_secs(self.config.max_reservation_ttl_s);
        match asked {
            None => Ok(Duration::from_secs(self.config.default_reservation_ttl_s)),
            Some(t) if t > max => Err(ServiceError::invalid(
                "options.reservation_ttl",
                format!(
                    "at most {} s (allocation.max_reservation_ttl_s)",
                    max.as_secs()
                ),
            )),
            Some(t) => Ok(t),
        }
    }

    /// Decides an order (reserving when it commits, once per idempotency
    /// key), records the decision and answers. A commit runs on its own
    /// task: a caller that goes away (cancelled, timed out) does not stop it
    /// halfway, and its key remembers the answer for the retry.
    pub async fn allocate(
        &self,
        call: AllocateCall<W::AllocateRequest>,
    ) -> Result<W::AllocateResponse, ServiceError> {
        match call.commit.clone() {
            None => self.decider.clone().decide_and_record(call, None).await,
            Some(commit) => {
                let keyed = KeyedCommit {
                    ttl: self.ttl(commit.ttl)?,
                    key: commit.idempotency_key.clone(),
                    fingerprint: commit.fingerprint,
                };
                let decider = self.decider.clone();
                match decider.shared.clone() {
                    Some(shared) => {
                        self.keys
                            .run(&commit.idempotency_key, commit.fingerprint, move || {
                                decider.decide_shared(shared, call, keyed)
                            })
                            .await
                    }
                    None => {
                        self.keys
                            .run(&commit.idempotency_key, commit.fingerprint, move || {
                                decider.decide_and_record(call, Some(keyed))
                            })
                            .await
                    }
                }
            }
        }
    }

    /// Evaluates the caller's plan against the optimum (shadow mode: nothing
    /// reserved, no event) and records the evaluation.
    pub async fn evaluate(
        &self,
        call: EvaluateCall<W::EvaluateRequest>,
    ) -> Result<W::EvaluateResponse, ServiceError> {
        self.decider.evaluate(call).await
    }
}

impl<W: Wire> Decider<W> {
    /// Decides (reserving when it commits), records the decision and
    /// answers. RESOURCE_EXHAUSTED before anything is reserved when the
    /// decision log's queue is full. With a durable key ledger, a committing
    /// call's decision record and its commit record (the hold, the key, the
    /// answer) are written in one transaction and are on disk before this
    /// returns: both or neither survive a crash.
    async fn decide_and_record(
        self: Arc<Self>,
        call: AllocateCall<W::AllocateRequest>,
        commit: Option<KeyedCommit>,
    ) -> Result<W::AllocateResponse, ServiceError> {
        let (ttl, keyed) = match commit {
            Some(c) => (Some(c.ttl), Some(c)),
            None => (None, None),
        };
        let sink = self.engine.decisions.clone();
        log_has_room(sink.queue_depth(), self.decision_queue)?;
        let id = DecisionId::mint();
        let commit = ttl.map(|ttl| Commit {
            ttl,
            decision_id: id.as_str().to_string(),
        });
        let now = self.clock.now();
        let fraud = match &call.fraud {
            Some(order) => FraudInput::Live(Box::new(order.event(now, &self.engine.privacy))),
            None => FraudInput::None,
        };
        let destination = call.order.destination;
        let decided = self
            .solve(call.order, call.deadline, commit, fraud, now)
            .await?;
        let disposition = decided.disposition();
        metrics::counter!("allot_allocations_total", "disposition" => disposition.name())
            .increment(1);
        tracing::debug!(
            order = %decided.outcome.order_id,
            decision = %id,
            disposition = disposition.name(),
            method = decided.outcome.solver.method.as_str(),
            total = decided.outcome.objective.total(),
            "order allocated"
        );
        let response = self.wire.allocation(&id, &decided);
        let bytes = self.wire.allocation_record(
            Recording {
                id: &id,
                request: call.request,
                decided_at: decided.outcome.read.decided_at,
                elapsed: call.started.elapsed(),
                caller: &call.caller,
            },
            &response,
            &decided,
        );
        let event = allocation_event(&self.engine.network, &decided, &call.caller);
        let entry = Entry::new(&id, bytes, Some(event));
        let reservation = &decided.outcome.reservation;
        let commit_record = keyed.and_then(|c| {
            let remembered = Remembered {
                request: c.fingerprint,
                response: response.clone(),
            };
            self.keys
                .commit_record(&c.key, &remembered, reservation.as_ref(), now)
        });
        let recorded = match commit_record {
            Some(state) => match sink.record_durably(entry, state) {
                Ok(written) => written.await,
                Err(e) => Err(e),
            },
            None => sink.record(entry),
        };
        if let Err(failed) = recorded {
            // Neither the record nor the hold was kept: undo the hold in
            // memory so the failed call holds nothing.
            if let Some(r) = reservation {
                let _ = self
                    .engine
                    .allocator
                    .book()
                    .release(&r.id, self.clock.now());
            }
            return Err(failed);
        }
        count_demand(&self.engine, &destination, &decided);
        Ok(response)
    }

    /// Scores (unless scored already) and solves on the pool, holding the
    /// plan in the book when `commit` says so.
    async fn solve(
        &self,
        order: OrderRequest,
        deadline: Instant,
        commit: Option<Commit>,
        fraud: FraudInput,
        now: SystemTime,
    ) -> Result<Decided, ServiceError> {
        let review = self.review;
        let worker = self.engine.clone();
        self.pool
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
    }

    /// See [`Allocation::evaluate`].
    async fn evaluate(
        &self,
        call: EvaluateCall<W::EvaluateRequest>,
    ) -> Result<W::EvaluateResponse, ServiceError> {
        let decided_at = self.clock.now();
        let worker = self.engine.clone();
        let (order, planned, deadline) = (call.order, call.planned, call.deadline);
        let evaluation = self
            .pool
            .run(deadline, move || {
                worker
                    .allocator
                    .evaluate(&order, &planned, deadline, decided_at)
            })
            .await?
            .map_err(ServiceError::domain)?;
        let id = DecisionId::mint();
        let response = self.wire.evaluation(&id, &evaluation);
        let bytes = self.wire.evaluation_record(
            Recording {
                id: &id,
                request: call.request,
                decided_at,
                elapsed: call.started.elapsed(),
                caller: &call.caller,
            },
            &response,
        );
        self.engine.decisions.record(Entry::new(&id, bytes, None))?;
        Ok(response)
    }
}

/// Counts a recorded Allocate decision's order in the demand sales history.
fn count_demand(engine: &Engine, destination: &Destination, decided: &Decided) {
    let outcome = &decided.outcome;
    record_order(
        engine,
        &outcome.order_id,
        destination,
        outcome.lines.iter().map(|l| (l.sku, l.quantity)),
        outcome.read.decided_at,
    );
}

/// RESOURCE_EXHAUSTED when the decision log already holds `capacity`
/// queued entries (0 = capacity unknown: the record itself will tell).
fn log_has_room(depth: usize, capacity: usize) -> Result<(), ServiceError> {
    if capacity > 0 && depth >= capacity {
        metrics::counter!("allot_decisions_shed_total").increment(1);
        return Err(ServiceError::exhausted(
            "the decision log's queue is full (decisions.queue_capacity); retry with backoff",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Code;

    #[test]
    fn a_full_decision_log_sheds_before_anything_is_decided() {
        assert!(log_has_room(0, 16).is_ok());
        assert!(log_has_room(15, 16).is_ok());
        let shed = log_has_room(16, 16).unwrap_err();
        assert_eq!(shed.code(), Code::ResourceExhausted);
        assert!(log_has_room(1_000, 0).is_ok(), "unknown capacity");
    }
}
