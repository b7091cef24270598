//! What the outbox holds and the bus carries, as JSON (the schemas are in
//! docs/scale-out.md). Subjects are under the bus's prefix (`allot.` by
//! default): `events.<kind>` for the decision feed an OMS subscribes to,
//! `stock.changed` and `capacity.changed` for every replica's snapshot.

use std::time::SystemTime;

use allot_engine::decisions::NewEvent;
use allot_service::sink::EventKind;
use serde::{Deserialize, Serialize};

/// A level of one SKU at one node as the ledger has it (a `StockChanged`
/// message).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockChanged {
    /// Node code.
    pub node: String,
    /// SKU code.
    pub sku: String,
    /// Units at the node.
    pub on_hand: i64,
    /// Units reserved: the feed's plus every replica's holds.
    pub reserved: i64,
    /// Units protected for demand.
    pub protected: i64,
    /// The row's version: it moves by one with every change of the row.
    pub version: i64,
    /// The ledger's change position of this version (orders all changes).
    pub change: i64,
}

/// Units used at a node on its local day (a `CapacityChanged` message).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapacityChanged {
    /// Node code.
    pub node: String,
    /// The node's local day, `YYYY-MM-DD`.
    pub day: String,
    /// Units reserved that day, by every replica.
    pub used: i64,
    /// The ledger's change position.
    pub change: i64,
}

/// A decision-feed event (OrderAllocated, ReservationConfirmed, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedEvent {
    /// The event's type: `OrderAllocated`, `OrderHeld`,
    /// `ReservationConfirmed`, `ReservationReleased`, `ReservationExpired`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The decision the event belongs to.
    pub decision_id: String,
    /// The order, when there is one.
    pub order_id: String,
    /// The reservation, when there is one.
    pub reservation_id: String,
    /// One line for humans, without personal data.
    pub summary: String,
    /// The name of the caller's token (empty for allot's own changes).
    pub caller: String,
    /// When it happened, ms since the Unix epoch.
    pub at_ms: u64,
}

/// The name of an event kind on the bus.
pub fn kind_name(kind: EventKind) -> &'static str {
    match kind {
        EventKind::OrderAllocated => "OrderAllocated",
        EventKind::OrderHeld => "OrderHeld",
        EventKind::PromiseQuoted => "PromiseQuoted",
        EventKind::RiskScored => "RiskScored",
        EventKind::ReservationConfirmed => "ReservationConfirmed",
        EventKind::ReservationReleased => "ReservationReleased",
        EventKind::ReservationExpired => "ReservationExpired",
        EventKind::ReturnRouted => "ReturnRouted",
        EventKind::ReservationReplanned => "ReservationReplanned",
    }
}

fn kind_of(name: &str) -> Option<EventKind> {
    EventKind::ALL.into_iter().find(|k| kind_name(*k) == name)
}

/// The subject of an event kind: `events.order_allocated`, ...
pub fn event_subject(kind: EventKind) -> String {
    let name = kind_name(kind);
    let mut subject = String::from("events.");
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            subject.push('_');
        }
        subject.push(c.to_ascii_lowercase());
    }
    subject
}

impl FeedEvent {
    /// The feed event of a logged event, at `at`.
    pub fn of(event: &NewEvent, at: SystemTime) -> Option<FeedEvent> {
        let kind = EventKind::from_code(event.kind)?;
        Some(FeedEvent {
            kind: kind_name(kind).to_string(),
            decision_id: event.decision_id.clone(),
            order_id: event.order_id.clone(),
            reservation_id: event.reservation_id.clone(),
            summary: event.summary.clone(),
            caller: event.caller.clone(),
            at_ms: at
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        })
    }

    /// The event for this replica's log; `None` for a type this build does
    /// not know.
    pub fn to_new(&self) -> Option<NewEvent> {
        Some(NewEvent {
            kind: kind_of(&self.kind)?.code(),
            decision_id: self.decision_id.clone(),
            order_id: self.order_id.clone(),
            reservation_id: self.reservation_id.clone(),
            summary: self.summary.clone(),
            caller: self.caller.clone(),
        })
    }
}

/// An outbox row about to be written: subject and JSON payload.
#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    pub(crate) subject: String,
    pub(crate) payload: Vec<u8>,
}

impl Outgoing {
    pub(crate) fn stock(change: &StockChanged) -> Outgoing {
        Outgoing {
            subject: "stock.changed".into(),
            payload: serde_json::to_vec(change).unwrap_or_default(),
        }
    }

    pub(crate) fn capacity(change: &CapacityChanged) -> Outgoing {
        Outgoing {
            subject: "capacity.changed".into(),
            payload: serde_json::to_vec(change).unwrap_or_default(),
        }
    }

    pub(crate) fn event(event: &NewEvent, at: SystemTime) -> Option<Outgoing> {
        let kind = EventKind::from_code(event.kind)?;
        let feed = FeedEvent::of(event, at)?;
        Some(Outgoing {
            subject: event_subject(kind),
            payload: serde_json::to_vec(&feed).unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_snake_case_and_events_round_trip() {
        assert_eq!(
            event_subject(EventKind::ReservationConfirmed),
            "events.reservation_confirmed"
        );
        let event = NewEvent {
            kind: EventKind::OrderAllocated.code(),
            decision_id: "d".into(),
            order_id: "o".into(),
            reservation_id: "r".into(),
            summary: "s".into(),
            caller: "c".into(),
        };
        let feed = FeedEvent::of(&event, SystemTime::UNIX_EPOCH).unwrap();
        assert_eq!(feed.kind, "OrderAllocated");
        assert_eq!(feed.to_new().unwrap(), event);
    }
}
