//! ScoreOrder: the fraud probability, decision and reasons for one order,
//! scored on the solver pool and recorded before it is answered.

use std::sync::Arc;
use std::time::{Duration, Instant};

use allot_models::risk::RiskDecision;

use crate::clock::Clock;
use crate::engine::Engine;
use crate::error::ServiceError;
use crate::fraud::FraudOrder;
use crate::id::DecisionId;
use crate::pool::SolverPool;
use crate::sink::{Entry, Event, EventKind};
use crate::wire::{Recording, Wire};

/// Time budget of a score when the caller sets no deadline.
pub const DEFAULT_BUDGET: Duration = Duration::from_millis(50);

/// One ScoreOrder call, converted and validated by the adapter.
pub struct ScoreCall<R> {
    /// The OMS's order id.
    pub order_id: String,
    /// The order as the fraud check reads it.
    pub order: FraudOrder,
    /// The request as received (recorded redacted).
    pub request: R,
    /// When the call started.
    pub started: Instant,
    /// When scoring must end.
    pub deadline: Instant,
    /// Who asks: the name of the caller's token; empty with authentication
    /// off. Recorded with the decision and its event.
    pub caller: String,
}

/// The fraud scoring use case.
pub struct Scoring<W: Wire> {
    engine: Arc<Engine>,
    clock: Arc<dyn Clock>,
    wire: Arc<W>,
    pool: SolverPool,
}

/// Upper-case name of a fraud decision.
pub fn verdict(decision: RiskDecision) -> &'static str {
    match decision {
        RiskDecision::Approve => "APPROVE",
        RiskDecision::Review => "REVIEW",
        RiskDecision::Reject => "REJECT",
    }
}

impl<W: Wire> Scoring<W> {
    /// Over `engine` at `clock`'s time, answering through `wire`, scoring
    /// on `pool`.
    pub fn new(engine: Arc<Engine>, clock: Arc<dyn Clock>, wire: Arc<W>, pool: SolverPool) -> Self {
        Scoring {
            engine,
            clock,
            wire,
            pool,
        }
    }

    /// Scores the order (the feature store remembers it), records the
    /// assessment and answers.
    pub async fn score(
        &self,
        call: ScoreCall<W::ScoreRequest>,
    ) -> Result<W::Assessment, ServiceError> {
        let decided_at = self.clock.now();
        let event = call.order.event(decided_at, &self.engine.privacy);
        let risk = self.engine.risk.clone();
        let assessed = self
            .pool
            .run(call.deadline, move || risk.assess(&event, true))
            .await?
            .map_err(|e| ServiceError::internal(format!("fraud scoring failed: {e}")))?;
        tracing::debug!(
            order = %call.order_id,
            probability = assessed.probability,
            decision = ?assessed.decision,
            "order scored"
        );
        let id = DecisionId::mint();
        let answer = self.wire.assessment(&id, &assessed);
        let bytes = self.wire.assessment_record(
            Recording {
                id: &id,
                request: call.request,
                decided_at,
                elapsed: call.started.elapsed(),
                caller: &call.caller,
            },
            &answer,
            &assessed,
        );
        let event = Event {
            kind: EventKind::RiskScored,
            summary: format!(
                "order {} scored {:.3}: {}",
                call.order_id,
                assessed.probability,
                verdict(assessed.decision)
            ),
            order_id: call.order_id,
            reservation_id: String::new(),
            caller: call.caller.clone(),
        };
        self.engine
            .decisions
            .record(Entry::new(&id, bytes, Some(event)))?;
        Ok(answer)
    }
}
