//! Enum values as a support agent reads them: the proto names without their
//! type prefix (`ORDER_DISPOSITION_ALLOCATED` reads `ALLOCATED`).

use allot_proto::v1 as pb;
use allot_service::sink::EventKind;

fn short<'a>(name: &'a str, prefix: &str) -> &'a str {
    name.strip_prefix(prefix).unwrap_or(name)
}

/// An allocation's disposition.
pub(crate) fn disposition(code: i32) -> &'static str {
    pb::OrderDisposition::try_from(code)
        .map_or("UNKNOWN", |d| short(d.as_str_name(), "ORDER_DISPOSITION_"))
}

/// A returned unit's disposition.
pub(crate) fn return_disposition(code: i32) -> &'static str {
    pb::ReturnDisposition::try_from(code)
        .map_or("UNKNOWN", |d| short(d.as_str_name(), "RETURN_DISPOSITION_"))
}

/// A fraud decision.
pub(crate) fn risk(code: i32) -> &'static str {
    pb::RiskDecision::try_from(code).map_or("UNKNOWN", |d| short(d.as_str_name(), "RISK_DECISION_"))
}

/// A reason code.
pub(crate) fn reason(code: i32) -> &'static str {
    pb::ReasonCode::try_from(code).map_or("UNKNOWN", |c| short(c.as_str_name(), "REASON_CODE_"))
}

/// A service level.
pub(crate) fn level(code: i32) -> &'static str {
    pb::ServiceLevel::try_from(code).map_or("UNKNOWN", |l| short(l.as_str_name(), "SERVICE_LEVEL_"))
}

/// A decision record's kind.
pub(crate) fn decision_kind(code: i32) -> &'static str {
    pb::DecisionKind::try_from(code).map_or("UNKNOWN", |k| short(k.as_str_name(), "DECISION_KIND_"))
}

/// A reservation's state.
pub(crate) fn reservation_state(code: i32) -> &'static str {
    pb::ReservationState::try_from(code)
        .map_or("UNKNOWN", |s| short(s.as_str_name(), "RESERVATION_STATE_"))
}

/// A solver status.
pub(crate) fn solver_status(code: i32) -> &'static str {
    pb::SolverStatus::try_from(code).map_or("UNKNOWN", |s| short(s.as_str_name(), "SOLVER_STATUS_"))
}

/// A model's kind.
pub(crate) fn model_kind(code: i32) -> &'static str {
    pb::ModelKind::try_from(code).map_or("UNKNOWN", |k| short(k.as_str_name(), "MODEL_KIND_"))
}

/// A model's role.
pub(crate) fn model_role(code: i32) -> &'static str {
    pb::ModelRole::try_from(code).map_or("UNKNOWN", |r| short(r.as_str_name(), "MODEL_ROLE_"))
}

/// A drift band.
pub(crate) fn drift_band(code: i32) -> &'static str {
    pb::DriftBand::try_from(code).map_or("UNKNOWN", |b| short(b.as_str_name(), "DRIFT_BAND_"))
}

/// A feed event's kind, as the search form offers it.
pub(crate) fn event(kind: EventKind) -> &'static str {
    match kind {
        EventKind::OrderAllocated => "ORDER_ALLOCATED",
        EventKind::OrderHeld => "ORDER_HELD",
        EventKind::PromiseQuoted => "PROMISE_QUOTED",
        EventKind::RiskScored => "RISK_SCORED",
        EventKind::ReservationConfirmed => "RESERVATION_CONFIRMED",
        EventKind::ReservationReleased => "RESERVATION_RELEASED",
        EventKind::ReservationExpired => "RESERVATION_EXPIRED",
        EventKind::ReturnRouted => "RETURN_ROUTED",
        EventKind::ReservationReplanned => "RESERVATION_REPLANNED",
    }
}

/// The kinds of decision the search offers.
pub(crate) const DECISION_EVENTS: [EventKind; 5] = [
    EventKind::OrderAllocated,
    EventKind::OrderHeld,
    EventKind::PromiseQuoted,
    EventKind::RiskScored,
    EventKind::ReturnRouted,
];
