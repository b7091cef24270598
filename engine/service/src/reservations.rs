//! Reservations after the decision: confirm (the units shipped), release,
//! read, and expiry of holds whose time ran out. Each change is an event in
//! the feed, attributed to the decision that made the hold.

use crate::privacy::Pseudonymizer;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use allot_engine::reservation::{Finished, Reservation, ReservationBook, ReservationState};

use crate::clock::Clock;
use crate::error::ServiceError;
use crate::sink::{DecisionSink, EventKind, reservation_event};
use crate::state::Receipt;

/// Where holds on stock are kept. Each change comes with the [`Receipt`]
/// to await before acknowledging it.
pub trait ReservationLedger: Send + Sync {
    /// The reservation with this id.
    fn get(&self, id: &str) -> Result<Reservation, ServiceError>;
    /// Confirms a held reservation (idempotent: a repeat is not a change).
    fn confirm(&self, id: &str, now: SystemTime) -> Result<(Finished, Receipt), ServiceError>;
    /// Releases a held reservation (idempotent: a repeat, or the release of
    /// an expired hold, is not a change).
    fn release(&self, id: &str, now: SystemTime) -> Result<(Finished, Receipt), ServiceError>;
    /// Expires every hold whose time ran out by `now`; returns them.
    fn expire_due(&self, now: SystemTime) -> Result<(Vec<Reservation>, Receipt), ServiceError>;
}

/// The book alone: state in memory only.
impl ReservationLedger for ReservationBook {
    fn get(&self, id: &str) -> Result<Reservation, ServiceError> {
        ReservationBook::get(self, id).map_err(ServiceError::domain)
    }

    fn confirm(&self, id: &str, now: SystemTime) -> Result<(Finished, Receipt), ServiceError> {
        self.finish_as(id, ReservationState::Confirmed, now)
            .map(|f| (f, Receipt::done()))
            .map_err(ServiceError::domain)
    }

    fn release(&self, id: &str, now: SystemTime) -> Result<(Finished, Receipt), ServiceError> {
        self.finish_as(id, ReservationState::Released, now)
            .map(|f| (f, Receipt::done()))
            .map_err(ServiceError::domain)
    }

    fn expire_due(&self, now: SystemTime) -> Result<(Vec<Reservation>, Receipt), ServiceError> {
        Ok((ReservationBook::expire_due(self, now), Receipt::done()))
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
        let (done, receipt) = self.ledger.confirm(reservation_id, self.clock.now())?;
        receipt.durable().await?;
        if done.changed {
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
        let (done, receipt) = self.ledger.release(reservation_id, self.clock.now())?;
        receipt.durable().await?;
        if done.changed {
            metrics::counter!("allot_reservations_released_total", "reason" => reason).increment(1);
            let mut event =
                reservation_event(EventKind::ReservationReleased, &done.reservation, caller);
            event.summary = if note.is_empty() {
                format!("{}: {reason}", event.summary)
            } else {
                format!(
                    "{}: {reason}; note: {}",
                    event.summary,
                    self.privacy.pseudonym(note)
                )
            };
            if let Err(error) = self.sink.event(event) {
                tracing::warn!(reservation = %reservation_id, %error, "reservation event not logged");
            }
            tracing::info!(reservation = %reservation_id, reason, "reservation released");
        }
        Ok(done.reservation)
    }

    /// The reservation with this id.
    pub fn get(&self, reservation_id: &str) -> Result<Reservation, ServiceError> {
        required(reservation_id)?;
        self.ledger.get(reservation_id)
    }

    /// Expires the holds whose time ran out, durably, then logs their
    /// events; returns how many. Blocking (off the async workers).
    pub fn expire_due(&self) -> Result<usize, ServiceError> {
        let (expired, receipt) = self.ledger.expire_due(self.clock.now())?;
        receipt.wait()?;
        for reservation in &expired {
            tracing::info!(reservation = %reservation.id, order = %reservation.order_id, "reservation expired");
            self.log(EventKind::ReservationExpired, reservation, "");
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
            let sweeper = self.clone();
            if let Ok(Err(error)) = tokio::task::spawn_blocking(move || sweeper.expire_due()).await
            {
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
