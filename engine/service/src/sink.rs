//! Where decisions go: the [`DecisionSink`] the use cases record to before
//! they answer, the kinds of events in the feed, and the embedded sink over
//! the engine's durable decision log.
//!
//! Records cross the sink as encoded bytes under their decision id's key (the
//! adapter encodes them in its wire format); events carry their metadata in
//! the clear, without personal data.

use std::time::{Duration, SystemTime};

use allot_engine::decisions::{
    Bounds, DecisionLog, DecisionLogError, LogConfig, NewEvent, NewRecord, StoredEvent,
};
use allot_engine::reservation::Reservation;
use tokio::sync::broadcast;

use crate::config::DecisionsConfig;
use crate::error::ServiceError;
use crate::id::DecisionId;

/// Longest a read of a not yet committed decision waits for the writer.
pub const READ_WAIT: Duration = Duration::from_secs(2);

/// How often the writer prunes records and events past retention.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// What happened, as stored in the feed (the codes are the log's storage
/// format: never renumber one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// An order was allocated (allocated, backordered or unfulfillable).
    OrderAllocated = 1,
    /// An order was held for fraud or review.
    OrderHeld = 2,
    /// A delivery promise was quoted.
    PromiseQuoted = 3,
    /// An order was scored for fraud.
    RiskScored = 4,
    /// A reservation was confirmed.
    ReservationConfirmed = 5,
    /// A reservation was released by the caller.
    ReservationReleased = 6,
    /// A reservation expired.
    ReservationExpired = 7,
    /// A return was routed.
    ReturnRouted = 8,
    /// A held reservation was moved to new units by a backlog re-plan.
    ReservationReplanned = 9,
}

impl EventKind {
    /// Every kind, in code order.
    pub const ALL: [EventKind; 9] = [
        EventKind::OrderAllocated,
        EventKind::OrderHeld,
        EventKind::PromiseQuoted,
        EventKind::RiskScored,
        EventKind::ReservationConfirmed,
        EventKind::ReservationReleased,
        EventKind::ReservationExpired,
        EventKind::ReturnRouted,
        EventKind::ReservationReplanned,
    ];

    /// The stored code.
    pub fn code(self) -> i32 {
        self as i32
    }

    /// The kind of a stored code; `None` for a code this build does not know.
    pub fn from_code(code: i32) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.code() == code)
    }
}

/// One decision's record (encoded by the adapter) and its event, as queued.
#[derive(Debug)]
pub struct Entry {
    /// The record under its decision id's key.
    pub record: NewRecord,
    /// The event for the feed, if the decision has one.
    pub event: Option<NewEvent>,
}

impl Entry {
    /// The entry of `id`'s encoded record and its event of `kind`.
    pub fn new(id: &DecisionId, bytes: Vec<u8>, event: Option<Event>) -> Entry {
        Entry {
            record: NewRecord {
                key: id.key(),
                bytes,
            },
            event: event.map(|e| e.into_new(id)),
        }
    }
}

/// An event as a use case describes it; the sink assigns position and time.
#[derive(Debug, Clone)]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// The order, when there is one.
    pub order_id: String,
    /// The reservation, when there is one.
    pub reservation_id: String,
    /// One line for humans, without personal data.
    pub summary: String,
    /// Who asked (the name of the caller's token); empty with
    /// authentication off.
    pub caller: String,
}

impl Event {
    /// The event as the log stores it, under `decision`.
    pub fn into_new(self, decision: &DecisionId) -> NewEvent {
        NewEvent {
            kind: self.kind.code(),
            decision_id: decision.as_str().to_string(),
            order_id: self.order_id,
            reservation_id: self.reservation_id,
            summary: self.summary,
            caller: self.caller,
        }
    }
}

/// The event of a reservation changing state, attributed to the decision
/// that made it and to `caller` (the token's name; empty when allot itself
/// made the change, or with authentication off).
pub fn reservation_event(kind: EventKind, reservation: &Reservation, caller: &str) -> NewEvent {
    let verb = match kind {
        EventKind::ReservationConfirmed => "confirmed",
        EventKind::ReservationReleased => "released",
        EventKind::ReservationExpired => "expired",
        EventKind::ReservationReplanned => "re-planned",
        _ => "changed",
    };
    let units: u64 = reservation
        .units
        .iter()
        .map(|u| u64::from(u.quantity))
        .sum();
    NewEvent {
        kind: kind.code(),
        decision_id: reservation.decision_id.clone(),
        order_id: reservation.order_id.clone(),
        reservation_id: reservation.id.clone(),
        summary: format!(
            "reservation {} of order {} {verb} ({units} units)",
            reservation.id, reservation.order_id
        ),
        caller: caller.to_string(),
    }
}

/// Resolves once a record is on disk.
pub type Written = futures::future::BoxFuture<'static, Result<(), ServiceError>>;

/// Where decision records and events are kept, and read back.
pub trait DecisionSink: Send + Sync {
    /// Queues a record and its event without waiting for disk.
    /// RESOURCE_EXHAUSTED when the queue is full: the call sheds rather than
    /// losing the record silently.
    fn record(&self, entry: Entry) -> Result<(), ServiceError>;
    /// Queues a record and its event with a commit record (the state a
    /// committing call changed) for the same transaction; the returned
    /// future resolves once all are on disk (UNAVAILABLE when the write
    /// failed: then none is).
    fn record_durably(&self, entry: Entry, commit: Vec<u8>) -> Result<Written, ServiceError>;
    /// Visits every retained record decided at or after `since` (by its
    /// id's time), in commit order, with its decision key. Blocking.
    fn records_since(
        &self,
        since: SystemTime,
        visit: &mut dyn FnMut(u128, &[u8]),
    ) -> Result<u64, ServiceError>;
    /// The position of the last commit record on disk: every commit whose
    /// caller was told it is durable is at or below it.
    fn commits_through(&self) -> u64;
    /// Every commit record after position `after`, in order. Blocking.
    fn commits_after(&self, after: u64) -> Result<Vec<(u64, Vec<u8>)>, ServiceError>;
    /// Removes the commit records up to position `through`. Blocking.
    fn remove_commits_through(&self, through: u64) -> Result<(), ServiceError>;
    /// Queues an event without a record (reservation changes).
    fn event(&self, event: NewEvent) -> Result<(), ServiceError>;
    /// Entries waiting for the writer.
    fn queue_depth(&self) -> usize;
    /// The encoded record of `id`, `None` when unknown or pruned; a record
    /// queued before the call is read once committed (read your writes).
    /// Blocking.
    fn read(&self, id: &DecisionId) -> Result<Option<Vec<u8>>, ServiceError>;
    /// Committed events after `after`, at most `limit`. Blocking.
    fn events_after(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, ServiceError>;
    /// The oldest retained and latest positions. Blocking.
    fn bounds(&self) -> Result<Bounds, ServiceError>;
    /// Committed events from the next commit on.
    fn subscribe(&self) -> broadcast::Receiver<StoredEvent>;
    /// Refuses new entries, commits what is queued and closes. Blocking;
    /// idempotent.
    fn close(&self);
}

/// The embedded sink: the engine's redb decision log, and a broadcast of
/// each committed batch's events to live watchers.
pub struct LogSink {
    log: DecisionLog,
    live: broadcast::Sender<StoredEvent>,
}

impl LogSink {
    /// Opens the log in `config.dir` and starts its writer. Blocking.
    pub fn open(config: &DecisionsConfig) -> Result<LogSink, DecisionLogError> {
        let (live, _) = broadcast::channel(config.watch_buffer.max(1));
        let publish = live.clone();
        let log = DecisionLog::open(
            &LogConfig {
                dir: config.dir.clone(),
                queue_capacity: config.queue_capacity,
                max_batch: config.max_batch,
                durability: config.durability,
                commit_interval: Duration::from_millis(config.commit_interval_ms),
                retention: Duration::from_secs(u64::from(config.retention_days) * 86_400),
                prune_every: PRUNE_EVERY,
            },
            Box::new(move |events| {
                for event in events {
                    // No receiver is not an error: nobody is watching.
                    let _ = publish.send(event.clone());
                }
            }),
        )?;
        Ok(LogSink { log, live })
    }
}

fn log_error(error: DecisionLogError) -> ServiceError {
    match error {
        DecisionLogError::QueueFull { .. } => ServiceError::exhausted(error.to_string()),
        DecisionLogError::Closed => {
            ServiceError::unavailable("allot is shutting down: the decision log is closed")
        }
        other => ServiceError::domain(other),
    }
}

impl DecisionSink for LogSink {
    fn record(&self, entry: Entry) -> Result<(), ServiceError> {
        self.log
            .submit(Some(entry.record), entry.event)
            .map_err(log_error)
    }

    fn record_durably(&self, entry: Entry, commit: Vec<u8>) -> Result<Written, ServiceError> {
        let (told, written) = tokio::sync::oneshot::channel();
        self.log
            .submit_then(
                Some(entry.record),
                entry.event,
                Some(commit),
                Box::new(move |result| {
                    let _ = told.send(result);
                }),
            )
            .map_err(log_error)?;
        Ok(Box::pin(async move {
            match written.await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(ServiceError::unavailable(format!(
                    "the decision record could not be written: {e}"
                ))),
                Err(_) => Err(ServiceError::unavailable(
                    "allot is shutting down: the decision log is closed",
                )),
            }
        }))
    }

    fn records_since(
        &self,
        since: SystemTime,
        visit: &mut dyn FnMut(u128, &[u8]),
    ) -> Result<u64, ServiceError> {
        let ms = since
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        self.log.records_since(ms, visit).map_err(log_error)
    }

    fn commits_through(&self) -> u64 {
        self.log.commits_through()
    }

    fn commits_after(&self, after: u64) -> Result<Vec<(u64, Vec<u8>)>, ServiceError> {
        self.log.commits_after(after).map_err(log_error)
    }

    fn remove_commits_through(&self, through: u64) -> Result<(), ServiceError> {
        self.log.remove_commits_through(through).map_err(log_error)
    }

    fn event(&self, event: NewEvent) -> Result<(), ServiceError> {
        self.log.submit(None, Some(event)).map_err(log_error)
    }

    fn queue_depth(&self) -> usize {
        self.log.queue_depth()
    }

    fn read(&self, id: &DecisionId) -> Result<Option<Vec<u8>>, ServiceError> {
        let key = id.key();
        let mut bytes = self.log.record(key).map_err(log_error)?;
        if bytes.is_none() && self.log.wait_committed(READ_WAIT) {
            bytes = self.log.record(key).map_err(log_error)?;
        }
        Ok(bytes)
    }

    fn events_after(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, ServiceError> {
        self.log.events_after(after, limit).map_err(log_error)
    }

    fn bounds(&self) -> Result<Bounds, ServiceError> {
        self.log.bounds().map_err(log_error)
    }

    fn subscribe(&self) -> broadcast::Receiver<StoredEvent> {
        self.live.subscribe()
    }

    fn close(&self) {
        self.log.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_its_stored_code() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::from_code(kind.code()), Some(kind));
        }
        assert_eq!(EventKind::from_code(0), None);
        assert_eq!(EventKind::from_code(99), None);
    }
}
