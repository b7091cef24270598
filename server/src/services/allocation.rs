//! AllocationService: Allocate, reservations, and shadow-mode evaluation.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use allot_proto::v1 as pb;
use allot_proto::v1::allocation_service_server::AllocationService;
use tonic::{Request, Response, Status};

use crate::allocate::AllocateCall;
use crate::config::AllocationConfig;
use crate::convert::allocation as conv;
use crate::convert::risk as risk_conv;
use crate::deadline::budget;
use crate::error::{invalid, status};
use crate::idempotency::{IdempotencyKeys, fingerprint};
use crate::pool::SolverPool;
use crate::state::Ready;

/// The AllocationService adapter.
pub struct AllocationApi {
    ready: Ready,
    config: AllocationConfig,
    pool: SolverPool,
    keys: Arc<IdempotencyKeys<pb::AllocateResponse>>,
    decision_queue: usize,
}

impl AllocationApi {
    /// An adapter over the engine published in `ready`.
    pub fn new(ready: Ready, config: AllocationConfig, pool: SolverPool) -> Self {
        let keys = Arc::new(IdempotencyKeys::new(config.idempotency_keys));
        AllocationApi {
            ready,
            config,
            pool,
            keys,
            decision_queue: 0,
        }
    }

    /// Sheds Allocate with RESOURCE_EXHAUSTED, before anything is reserved,
    /// while the decision log already has `capacity` entries queued.
    pub fn with_decision_queue(mut self, capacity: usize) -> Self {
        self.decision_queue = capacity;
        self
    }

    fn deadline<T>(&self, request: &Request<T>, started: Instant) -> Result<Instant, Status> {
        budget(
            request.metadata(),
            started,
            Duration::from_millis(self.config.default_budget_ms),
            Duration::from_millis(self.config.deadline_margin_ms),
        )
    }

    fn ttl(&self, asked: Option<Duration>) -> Result<Duration, Status> {
        let max = Duration::from_secs(self.config.max_reservation_ttl_s);
        match asked {
            None => Ok(Duration::from_secs(self.config.default_reservation_ttl_s)),
            Some(t) if t > max => Err(invalid(
                "options.reservation_ttl",
                format!(
                    "at most {} s (allocation.max_reservation_ttl_s)",
                    max.as_secs()
                ),
            )),
            Some(t) => Ok(t),
        }
    }
}

fn decision_id() -> String {
    format!("dec_{}", ulid::Ulid::new())
}

/// Queues a reservation event for the decision log. The reservation has
/// already changed state, so a full queue cannot shed the call: the loss is
/// logged and counted (`allot_decisions_shed_total`).
fn log_reservation_event(
    engine: &crate::state::Engine,
    kind: pb::DecisionEventKind,
    reservation: &allot_engine::reservation::Reservation,
) {
    let event = crate::decisions::reservation_event(kind, reservation);
    if let Err(error) = engine.decisions.event(event) {
        tracing::warn!(reservation = %reservation.id, error = %error.message(), "reservation event not logged");
    }
}

#[tonic::async_trait]
impl AllocationService for AllocationApi {
    async fn allocate(
        &self,
        request: Request<pb::AllocateRequest>,
    ) -> Result<Response<pb::AllocateResponse>, Status> {
        let started = Instant::now();
        let deadline = self.deadline(&request, started)?;
        let engine = self.ready.engine()?.clone();
        let message = request.into_inner();
        let print = fingerprint(&message);
        let now = SystemTime::now();
        let scored = risk_conv::allocate_order_event(&engine.network, &message, now)?;
        let (order, commit) = conv::order_request(&engine.network, message.clone(), "")?;
        let call = AllocateCall {
            engine,
            message,
            order,
            scored,
            review: self.config.review,
            decision_queue: self.decision_queue,
            started,
            deadline,
            now,
        };
        let response = match commit {
            None => call.run(&self.pool, None).await?,
            Some(c) => {
                let ttl = self.ttl(c.ttl)?;
                self.keys
                    .run(&c.idempotency_key, print, || {
                        call.run(&self.pool, Some(ttl))
                    })
                    .await?
            }
        };
        Ok(Response::new(response))
    }

    async fn confirm_reservation(
        &self,
        request: Request<pb::ConfirmReservationRequest>,
    ) -> Result<Response<pb::Reservation>, Status> {
        let pb::ConfirmReservationRequest { reservation_id } = request.into_inner();
        if reservation_id.is_empty() {
            return Err(invalid("reservation_id", "required"));
        }
        let engine = self.ready.engine()?;
        let reservation = engine
            .allocator
            .book()
            .confirm(&reservation_id, SystemTime::now())
            .map_err(status)?;
        log_reservation_event(
            engine,
            pb::DecisionEventKind::ReservationConfirmed,
            &reservation,
        );
        Ok(Response::new(conv::reservation(
            &engine.network,
            &reservation,
        )))
    }

    async fn release_reservation(
        &self,
        request: Request<pb::ReleaseReservationRequest>,
    ) -> Result<Response<pb::Reservation>, Status> {
        let pb::ReleaseReservationRequest {
            reservation_id,
            reason,
            note,
        } = request.into_inner();
        if reservation_id.is_empty() {
            return Err(invalid("reservation_id", "required"));
        }
        let engine = self.ready.engine()?;
        let reservation = engine
            .allocator
            .book()
            .release(&reservation_id, SystemTime::now())
            .map_err(status)?;
        log_reservation_event(
            engine,
            pb::DecisionEventKind::ReservationReleased,
            &reservation,
        );
        tracing::info!(reservation = %reservation_id, reason, note = %note, "reservation released");
        Ok(Response::new(conv::reservation(
            &engine.network,
            &reservation,
        )))
    }

    async fn evaluate_plan(
        &self,
        request: Request<pb::EvaluatePlanRequest>,
    ) -> Result<Response<pb::EvaluatePlanResponse>, Status> {
        let started = Instant::now();
        let deadline = self.deadline(&request, started)?;
        let engine = self.ready.engine()?.clone();
        let message = request.into_inner();
        let input_hash = crate::decisions::input_hash(&message);
        let recorded = message.clone();
        let pb::EvaluatePlanRequest { order, plan } = message;
        let order = order.ok_or_else(|| invalid("order", "required"))?;
        let decided_at = SystemTime::now();
        let (order, _commit) = conv::order_request(&engine.network, order, "order.")?;
        let planned = conv::planned_units(&engine.network, plan);
        let worker = engine.clone();
        let evaluation = self
            .pool
            .run(deadline, move || {
                worker
                    .allocator
                    .evaluate(&order, &planned, deadline, decided_at)
            })
            .await?
            .map_err(status)?;
        let response = conv::evaluate_response(&engine.network, decision_id(), &evaluation);
        engine
            .decisions
            .record_plan_evaluation(crate::decisions::PlanEvaluation {
                request: recorded,
                input_hash,
                response: &response,
                decided_at,
                elapsed: started.elapsed(),
            })?;
        Ok(Response::new(response))
    }
}
