//! Decision events between their protobuf form and the log's.

use allot_engine::decisions::{NewEvent, StoredEvent};
use allot_proto::v1 as pb;

use crate::convert::time::timestamp;

/// The log's form of an event the caller built (position and time are the
/// log's to assign, so they are ignored here).
pub fn new_event(event: pb::DecisionEvent, decision_id: &str) -> NewEvent {
    let pb::DecisionEvent {
        position: _,
        at: _,
        kind,
        decision_id: event_decision,
        order_id,
        reservation_id,
        summary,
    } = event;
    NewEvent {
        kind,
        decision_id: if event_decision.is_empty() {
            decision_id.to_string()
        } else {
            event_decision
        },
        order_id,
        reservation_id,
        summary,
    }
}

/// The `DecisionEvent` message of a committed event.
pub fn event_message(event: &StoredEvent) -> pb::DecisionEvent {
    pb::DecisionEvent {
        position: event.position,
        at: Some(timestamp(event.at())),
        kind: event.kind,
        decision_id: event.decision_id.clone(),
        order_id: event.order_id.clone(),
        reservation_id: event.reservation_id.clone(),
        summary: event.summary.clone(),
    }
}

/// The event of a reservation changing state (confirmed, released,
/// expired), attributed to the decision that made it.
pub fn reservation_event(
    kind: pb::DecisionEventKind,
    reservation: &allot_engine::reservation::Reservation,
) -> pb::DecisionEvent {
    let verb = match kind {
        pb::DecisionEventKind::ReservationConfirmed => "confirmed",
        pb::DecisionEventKind::ReservationReleased => "released",
        pb::DecisionEventKind::ReservationExpired => "expired",
        _ => "changed",
    };
    let units: u64 = reservation
        .units
        .iter()
        .map(|u| u64::from(u.quantity))
        .sum();
    pb::DecisionEvent {
        kind: kind as i32,
        decision_id: reservation.decision_id.clone(),
        order_id: reservation.order_id.clone(),
        reservation_id: reservation.id.clone(),
        summary: format!(
            "reservation {} of order {} {verb} ({units} units)",
            reservation.id, reservation.order_id
        ),
        ..Default::default()
    }
}
