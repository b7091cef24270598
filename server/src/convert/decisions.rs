//! Decision events and their kinds between the feed and the wire.

use std::collections::HashSet;

use allot_engine::decisions::StoredEvent;
use allot_proto::v1 as pb;
use allot_service::ServiceError;
use allot_service::sink::EventKind;

use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::invalid;
use super::time::timestamp;
use crate::error::status;

/// An event kind as proto (exhaustive both ways).
pub(crate) fn kind_to_proto(kind: EventKind) -> pb::DecisionEventKind {
    match kind {
        EventKind::OrderAllocated => pb::DecisionEventKind::OrderAllocated,
        EventKind::OrderHeld => pb::DecisionEventKind::OrderHeld,
        EventKind::PromiseQuoted => pb::DecisionEventKind::PromiseQuoted,
        EventKind::RiskScored => pb::DecisionEventKind::RiskScored,
        EventKind::ReservationConfirmed => pb::DecisionEventKind::ReservationConfirmed,
        EventKind::ReservationReleased => pb::DecisionEventKind::ReservationReleased,
        EventKind::ReservationExpired => pb::DecisionEventKind::ReservationExpired,
        EventKind::ReturnRouted => pb::DecisionEventKind::ReturnRouted,
        EventKind::ReservationReplanned => pb::DecisionEventKind::ReservationReplanned,
    }
}

fn kind_from_proto(kind: pb::DecisionEventKind) -> Option<EventKind> {
    match kind {
        pb::DecisionEventKind::Unspecified => None,
        pb::DecisionEventKind::OrderAllocated => Some(EventKind::OrderAllocated),
        pb::DecisionEventKind::OrderHeld => Some(EventKind::OrderHeld),
        pb::DecisionEventKind::PromiseQuoted => Some(EventKind::PromiseQuoted),
        pb::DecisionEventKind::RiskScored => Some(EventKind::RiskScored),
        pb::DecisionEventKind::ReservationConfirmed => Some(EventKind::ReservationConfirmed),
        pb::DecisionEventKind::ReservationReleased => Some(EventKind::ReservationReleased),
        pb::DecisionEventKind::ReservationExpired => Some(EventKind::ReservationExpired),
        pb::DecisionEventKind::ReturnRouted => Some(EventKind::ReturnRouted),
        pb::DecisionEventKind::ReservationReplanned => Some(EventKind::ReservationReplanned),
    }
}

/// The kinds a watch asks for; each must be a known, specified kind.
pub(crate) fn wanted_kinds(kinds: &[i32]) -> Result<HashSet<EventKind>, ServiceError> {
    let mut wanted = HashSet::new();
    for (i, kind) in kinds.iter().enumerate() {
        let field = format!("kinds[{i}]");
        match pb::DecisionEventKind::try_from(*kind) {
            Ok(k) => match kind_from_proto(k) {
                Some(k) => {
                    wanted.insert(k);
                }
                None => {
                    return Err(invalid(
                        &field,
                        "DECISION_EVENT_KIND_UNSPECIFIED is not a kind of event",
                    ));
                }
            },
            Err(_) => return Err(invalid(&field, format!("unknown event kind {kind}"))),
        }
    }
    Ok(wanted)
}

/// The `DecisionEvent` message of a committed event. A stored code this
/// build does not know is passed on as stored.
pub(crate) fn event(event: &StoredEvent) -> pb::DecisionEvent {
    pb::DecisionEvent {
        position: event.position,
        at: Some(timestamp(event.at())),
        kind: EventKind::from_code(event.kind).map_or(event.kind, |k| kind_to_proto(k) as i32),
        decision_id: event.decision_id.clone(),
        order_id: event.order_id.clone(),
        reservation_id: event.reservation_id.clone(),
        summary: event.summary.clone(),
        caller: event.caller.clone(),
    }
}

/// The gRPC stream of one WatchDecisions call.
pub(crate) type EventStream =
    std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<pb::DecisionEvent, Status>> + Send>>;

/// A watch's events as the gRPC stream; an error ends it with its status.
pub(crate) fn event_stream(events: allot_service::decisions::EventStream) -> EventStream {
    let stream = ReceiverStream::new(events).map(|item| item.map(|e| event(&e)).map_err(status));
    Box::pin(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_maps_both_ways_and_bad_filters_name_the_field() {
        for kind in EventKind::ALL {
            assert_eq!(kind_from_proto(kind_to_proto(kind)), Some(kind));
            assert_eq!(kind_to_proto(kind) as i32, kind.code(), "stored code");
        }
        let e = wanted_kinds(&[1, 0]).unwrap_err();
        assert!(e.to_string().starts_with("kinds[1]: "), "{e}");
        let e = wanted_kinds(&[42]).unwrap_err();
        assert!(e.to_string().starts_with("kinds[0]: "), "{e}");
        assert_eq!(wanted_kinds(&[2, 2]).unwrap().len(), 1);
    }
}
