//! Reservations after the decision: confirm (the units shipped), release,
//! read, and expiry of holds whose time ran out. Each change is an event in
//! the feed, attributed to the decision that made the hold.

use crate::privacy::Pseudonymizer;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use allot_engine::reservation::{Finished, Rehold, Reservation, ReservationBook, ReservationState};

use crate::clock::Clock;
use crate::error::ServiceError;
use crate::sink::{DecisionSink, EventKind, reservation_event};
use crate::state::Receipt;
use futures::future::BoxFuture;

/// Who changes a reservation, when, and what its event adds to the
/// summary (a ledger that publishes events itself writes them from this).
#[derive(Debug, Clone)]
pub struct ReservationChange {
    /// When.
    pub now: SystemTime,
    /// The name of the caller's token (empty with authentication off).
    pub caller: String,
    /// Appended to the event's summary (a release's reason and note hash).
    pub detail: String,
}

/// What a ledger's calls resolve to.
pub type Pending<'a, T> = BoxFuture<'a, Result<T, ServiceError>>;

/// Where holds on stock are kept. Each change comes with the [`Receipt`]
/// to await before acknowledging it.
pub trait ReservationLedger: Send + Sync {
    /// The reservation with this id.
    fn get<'a>(&'a self, id: &'a str) -> Pending<'a, Reservation>;
    /// Confirms a held reservation (idempotent: a repeat is not a change).
    fn confirm<'a>(
        &'a self,
        id: &'a str,
        change: &'a ReservationChange,
    ) -> Pending<'a, (Finished, Receipt)>;
    /// Releases a held reservation (idempotent: a repeat, or the release of
    /// an expired hold, is not a change).
    fn release<'a>(
        &'a self,
        id: &'a str,
        change: &'a ReservationChange,
    ) -> Pending<'a, (Finished, Receipt)>;
    /// Expires every hold whose time ran out by `now`; returns them.
    fn expire_due(&self, now: SystemTime) -> Pending<'_, (Vec<Reservation>, Receipt)>;
    /// Every held reservation, by id.
    fn held(&self) -> Pending<'_, Vec<Reservation>>;
    /// Moves held reservations to new units, all or nothing (a backlog
    /// re-plan's commit): each keeps its id, order, decision and expiry;
    /// its old units and capacity are given back and the new ones taken
    /// on each node's local day at `change.now`. FAILED_PRECONDITION,
    /// changing nothing, when a reservation is no longer held, holds other
    /// units than its move's `before` (another re-plan moved it since this
    /// one was planned), or the stock or capacity moved under the plan.
    /// Returns the reservations as they are now, in `moves` order.
    fn replan<'a>(
        &'a self,
        moves: &'a [Rehold],
        change: &'a ReservationChange,
    ) -> Pending<'a, (Vec<Reservation>, Receipt)>;
    /// Whether the ledger publishes the events of its changes itself (a
    /// shared ledger's outbox): then the use case logs none of its own.
    fn publishes_events(&self) -> bool {
        false
    }
}

/// The book alone: state in memory only.
impl ReservationLedger for ReservationBook {
    fn get<'a>(&'a self, id: &'a str) -> Pending<'a, Reservation> {
        Box::pin(std::future::ready(
            ReservationBook::get(self, id).map_err(ServiceError::domain),
        ))
    }

    fn confirm<'a>(
        &'a self,
        id: &'a str,
        change: &'a ReservationChange,
    ) -> Pending<'a, (Finished, Receipt)> {
        Box::pin(std::future::ready(
            self.finish_as(id, ReservationState::Confirmed, change.now)
                .map(|f| (f, Receipt::done()))
                .map_err(ServiceError::domain),
        ))
    }

    fn release<'a>(
        &'a self,
        id: &'a str,
        change: &'a ReservationChange,
    ) -> Pending<'a, (Finished, Receipt)> {
        Box::pin(std::future::ready(
            self.finish_as(id, ReservationState::Released, change.now)
                .map(|f| (f, Receipt::done()))
                .map_err(ServiceError::domain),
        ))
    }

    fn expire_due(&self, now: SystemTime) -> Pending<'_, (Vec<Reservation>, Receipt)> {
        Box::pin(std::future::ready(Ok((
            ReservationBook::expire_due(self, now),
            Receipt::done(),
        ))))
    }

    fn held(&self) -> Pending<'_, Vec<Reservation>> {
        Box::pin(std::future::ready(Ok(ReservationBook::held(self))))
    }

    fn replan<'a>(
        &'a self,
        moves: &'a [Rehold],
        change: &'a ReservationChange,
    ) -> Pending<'a, (Vec<Reservation>, Receipt)> {
        Box::pin(std::future::ready(
            ReservationBook::replan(self, moves, change.now)
                .map(|moved| (moved, Receipt::done()))
                .map_err(ServiceError::domain),
        ))
    }
}

/// Longest note a release takes (the contract's limit).
pub const MAX_NOTE_BYTES: usize = 500;

/// The reservation use cases.
pub struct Reservations {
    ledger: Arc<dyn ReservationLedger>,
    sink: Arc<dyn DecisionSink>,
    clock: Arc<dyn Clock>,
    privacy: Arc<Pseudonymizer>,
}

fn required(reservation_id: &str) -> Result<(), ServiceError> {
    if reservation_id.is_empty() {
        return Err(ServiceError::invalid("reservation_id", "required"));
    }
    Ok(())
}

impl Reservations {
    /// Over `ledger`, logging changes to `sink`; a release's free-text note
    /// is logged as its keyed hash under `privacy`, never in clear.
    pub fn new(
        ledger: Arc<dyn ReservationLedger>,
        sink: Arc<dyn DecisionSink>,
        clock: Arc<dyn Clock>,
        privacy: Arc<Pseudonymizer>,
    ) -> Self {
        Reservations {
            ledger,
            sink,
            clock,
            privacy,
        }
    }

    /// Confirms a held reservation: its units shipped. A repeat answers the
    /// reservation unchanged and logs no second event. Answers once the
    /// change is durable; the event names `caller` (the token's name).
    pub async fn confirm(
        &self,
        reservation_id: &str,
        caller: &str,
    ) -> Result<Reservation, ServiceError> {
        required(reservation_id)?;
        let change = ReservationChange {
            now: self.clock.now(),
            caller: caller.to_string(),
            detail: String::new(),
        };
        let (done, receipt) = self.ledger.confirm(reservation_id, &change).await?;
        receipt.durable().await?;
        if done.changed && !self.ledger.publishes_events() {
            self.log(EventKind::ReservationConfirmed, &done.reservation, caller);
        }
        Ok(done.reservation)
    }

    /// Releases a held reservation; `reason` (a short name: it labels
    /// `allot_reservations_released_total`) and `note` (at most
    /// [`MAX_NOTE_BYTES`], free text that may hold anything: only its keyed
    /// hash) go into its event in the decision log. A repeat
    /// (or the release of an expired hold) answers the reservation unchanged
    /// and logs no event. The event names `caller` (the token's name).
    pub async fn release(
        &self,
        reservation_id: &str,
        reason: &'static str,
        note: &str,
        caller: &str,
    ) -> Result<Reservation, ServiceError> {
        required(reservation_id)?;
        if note.len() > MAX_NOTE_BYTES {
            return Err(ServiceError::invalid(
                "note",
                format!("at most {MAX_NOTE_BYTES} bytes, got {}", note.len()),
            ));
        }
        let detail = if note.is_empty() {
            format!(": {reason}")
        } else {
            format!(": {reason}; note: {}", self.privacy.pseudonym(note))
        };
        let change = ReservationChange {
            now: self.clock.now(),
            caller: caller.to_string(),
            detail,
        };
        let (done, receipt) = self.ledger.release(reservation_id, &change).await?;
        receipt.durable().await?;
        if done.changed {
            metrics::counter!("allot_reservations_released_total", "reason" => reason).increment(1);
            tracing::info!(reservation = %reservation_id, reason, "reservation released");
        }
        if done.changed && !self.ledger.publishes_events() {
            let mut event =
                reservation_event(EventKind::ReservationReleased, &done.reservation, caller);
            event.summary.push_str(&change.detail);
            if let Err(error) = self.sink.event(event) {
                tracing::warn!(reservation = %reservation_id, %error, "reservation event not logged");
            }
        }
        Ok(done.reservation)
    }

    /// The reservation with this id.
    pub async fn get(&self, reservation_id: &str) -> Result<Reservation, ServiceError> {
        required(reservation_id)?;
        self.ledger.get(reservation_id).await
    }

    /// Expires the holds whose time ran out, durably, then logs their
    /// events; returns how many.
    pub async fn expire_due(&self) -> Result<usize, ServiceError> {
        let (expired, receipt) = self.ledger.expire_due(self.clock.now()).await?;
        receipt.durable().await?;
        for reservation in &expired {
            tracing::info!(reservation = %reservation.id, order = %reservation.order_id, "reservation expired");
            if !self.ledger.publishes_events() {
                self.log(EventKind::ReservationExpired, reservation, "");
            }
        }
        Ok(expired.len())
    }

    /// Expires holds once a second until the runtime stops (or the task is
    /// aborted).
    pub async fn expire_every_second(self: Arc<Self>) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            // Off the async workers: an embedded ledger expires a whole
            // backlog under its lock.
            let sweeper = self.clone();
            let runtime = tokio::runtime::Handle::current();
            let swept =
                tokio::task::spawn_blocking(move || runtime.block_on(sweeper.expire_due())).await;
            if let Ok(Err(error)) = swept {
                tracing::warn!(%error, "expiry sweep failed");
            }
        }
    }

    /// Queues the event of a reservation change. The reservation has already
    /// changed state, so a full queue cannot shed the call: the loss is
    /// logged (and the log counts it in `allot_decisions_shed_total`).
    fn log(&self, kind: EventKind, reservation: &Reservation, caller: &str) {
        if let Err(error) = self
            .sink
            .event(reservation_event(kind, reservation, caller))
        {
            tracing::warn!(reservation = %reservation.id, %error, "reservation event not logged");
        }
    }
}
