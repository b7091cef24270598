//! Reservations after the decision: confirm (the units shipped), release,
//! read, and expiry of holds whose time ran out. Each change is an event in
//! the feed, attributed to the decision that made the hold.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use allot_engine::reservation::{
    Finished, Reservation, ReservationBook, ReservationError, ReservationState,
};

use crate::clock::Clock;
use crate::error::ServiceError;
use crate::sink::{DecisionSink, EventKind, reservation_event};

/// Where holds on stock are kept.
pub trait ReservationLedger: Send + Sync {
    /// The reservation with this id.
    fn get(&self, id: &str) -> Result<Reservation, ReservationError>;
    /// Confirms a held reservation (idempotent: a repeat is not a change).
    fn confirm(&self, id: &str, now: SystemTime) -> Result<Finished, ReservationError>;
    /// Releases a held reservation (idempotent: a repeat, or the release of
    /// an expired hold, is not a change).
    fn release(&self, id: &str, now: SystemTime) -> Result<Finished, ReservationError>;
    /// Expires every hold whose time ran out by `now`; returns them.
    fn expire_due(&self, now: SystemTime) -> Vec<Reservation>;
}

impl ReservationLedger for ReservationBook {
    fn get(&self, id: &str) -> Result<Reservation, ReservationError> {
        ReservationBook::get(self, id)
    }

    fn confirm(&self, id: &str, now: SystemTime) -> Result<Finished, ReservationError> {
        self.finish_as(id, ReservationState::Confirmed, now)
    }

    fn release(&self, id: &str, now: SystemTime) -> Result<Finished, ReservationError> {
        self.finish_as(id, ReservationState::Released, now)
    }

    fn expire_due(&self, now: SystemTime) -> Vec<Reservation> {
        ReservationBook::expire_due(self, now)
    }
}

/// The reservation use cases.
pub struct Reservations {
    ledger: Arc<dyn ReservationLedger>,
    sink: Arc<dyn DecisionSink>,
    clock: Arc<dyn Clock>,
}

fn required(reservation_id: &str) -> Result<(), ServiceError> {
    if reservation_id.is_empty() {
        return Err(ServiceError::invalid("reservation_id", "required"));
    }
    Ok(())
}

impl Reservations {
    /// Over `ledger`, logging changes to `sink`.
    pub fn new(
        ledger: Arc<dyn ReservationLedger>,
        sink: Arc<dyn DecisionSink>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Reservations {
            ledger,
            sink,
            clock,
        }
    }

    /// Confirms a held reservation: its units shipped. A repeat answers the
    /// reservation unchanged and logs no second event.
    pub fn confirm(&self, reservation_id: &str) -> Result<Reservation, ServiceError> {
        required(reservation_id)?;
        let done = self
            .ledger
            .confirm(reservation_id, self.clock.now())
            .map_err(ServiceError::domain)?;
        if done.changed {
            self.log(EventKind::ReservationConfirmed, &done.reservation);
        }
        Ok(done.reservation)
    }

    /// Releases a held reservation; `reason` and `note` are logged. A
    /// repeat (or the release of an expired hold) answers the reservation
    /// unchanged and logs no event.
    pub fn release(
        &self,
        reservation_id: &str,
        reason: &str,
        note: &str,
    ) -> Result<Reservation, ServiceError> {
        required(reservation_id)?;
        let done = self
            .ledger
            .release(reservation_id, self.clock.now())
            .map_err(ServiceError::domain)?;
        if done.changed {
            self.log(EventKind::ReservationReleased, &done.reservation);
            tracing::info!(reservation = %reservation_id, reason, note, "reservation released");
        }
        Ok(done.reservation)
    }

    /// The reservation with this id.
    pub fn get(&self, reservation_id: &str) -> Result<Reservation, ServiceError> {
        required(reservation_id)?;
        self.ledger
            .get(reservation_id)
            .map_err(ServiceError::domain)
    }

    /// Expires the holds whose time ran out; returns how many. Blocking.
    pub fn expire_due(&self) -> usize {
        let expired = self.ledger.expire_due(self.clock.now());
        for reservation in &expired {
            tracing::info!(reservation = %reservation.id, order = %reservation.order_id, "reservation expired");
            self.log(EventKind::ReservationExpired, reservation);
        }
        expired.len()
    }

    /// Expires holds once a second until the runtime stops (or the task is
    /// aborted).
    pub async fn expire_every_second(self: Arc<Self>) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let sweeper = self.clone();
            let _ = tokio::task::spawn_blocking(move || sweeper.expire_due()).await;
        }
    }

    /// Queues the event of a reservation change. The reservation has already
    /// changed state, so a full queue cannot shed the call: the loss is
    /// logged (and the log counts it in `allot_decisions_shed_total`).
    fn log(&self, kind: EventKind, reservation: &Reservation) {
        if let Err(error) = self.sink.event(reservation_event(kind, reservation)) {
            tracing::warn!(reservation = %reservation.id, %error, "reservation event not logged");
        }
    }
}
