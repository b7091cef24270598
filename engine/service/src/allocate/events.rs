//! The feed's line for an allocation decision: what happened, where, at
//! what cost. No personal data.

use allot_engine::network::Network;

use super::Decided;
use super::policy::{Disposition, Hold};
use crate::sink::{Event, EventKind};

/// The event of one Allocate decision (ORDER_ALLOCATED, or ORDER_HELD when
/// the fraud answer holds the order), asked for by `caller`.
pub fn allocation_event(network: &Network, decided: &Decided, caller: &str) -> Event {
    let outcome = &decided.outcome;
    let kind = match decided.hold {
        Hold::None => EventKind::OrderAllocated,
        Hold::Fraud | Hold::Review => EventKind::OrderHeld,
    };
    Event {
        kind,
        order_id: outcome.order_id.clone(),
        reservation_id: outcome
            .reservation
            .as_ref()
            .map(|r| r.id.clone())
            .unwrap_or_default(),
        summary: summary(network, decided),
        caller: caller.to_string(),
    }
}

fn summary(network: &Network, decided: &Decided) -> String {
    let outcome = &decided.outcome;
    let order = &outcome.order_id;
    let nodes: Vec<&str> = outcome
        .shipments
        .iter()
        .map(|s| network.node(s.node).code.as_str())
        .collect();
    let plan = if nodes.is_empty() {
        "no shipment".to_string()
    } else {
        format!(
            "{}; {} shipments, {} minor",
            nodes.join(", "),
            nodes.len(),
            outcome.objective.total()
        )
    };
    let reserved = if outcome.reservation.is_some() {
        ", reserved"
    } else {
        ""
    };
    match decided.hold {
        Hold::Fraud => {
            format!("order {order} held for fraud (REJECT); plan {plan}, nothing reserved")
        }
        Hold::Review => format!("order {order} held for review; plan {plan}{reserved}"),
        Hold::None => match Disposition::of_plan(outcome) {
            Disposition::Unfulfillable => format!("order {order} unfulfillable"),
            d => format!(
                "order {order} {} to {plan}{reserved}",
                d.name().replace('_', " ")
            ),
        },
    }
}
