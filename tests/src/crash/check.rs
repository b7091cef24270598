//! The invariants, checked through the API once the server is back and every
//! unknown outcome is settled, against what the clients saw acknowledged.

use std::collections::HashMap;

use allot_client::AllotClient;
use allot_client::proto as pb;
use prost::Message;

use super::ledger::{ClientLedger, Known};
use super::report::{Violation, ViolationKind};
use super::rpc::{Outcome, describe, read_failure, settled};
use super::workload::{Workload, read_levels};

/// Per contested (node, SKU): reserved = baseline reserved + the live holds;
/// on_hand = baseline on_hand - the confirmed units; holds and confirmed
/// units together within what was available at the start.
pub async fn stock(
    api: &AllotClient,
    workload: &Workload,
    ledgers: &[ClientLedger],
) -> Vec<Violation> {
    let now = match read_levels(api, &workload.skus).await {
        Ok(levels) => levels,
        Err(error) => {
            let detail = format!("cannot read the stock: {error:#}");
            return vec![Violation::new(ViolationKind::Unexpected, detail)];
        }
    };
    // (held, shipped) units per (node, SKU).
    let mut units: HashMap<(&str, &str), (i64, i64)> = HashMap::new();
    for tracked in ledgers.iter().flat_map(|l| &l.reservations) {
        for unit in &tracked.units {
            let entry = units
                .entry((unit.node.as_str(), unit.sku.as_str()))
                .or_default();
            match tracked.known {
                Known::State(pb::ReservationState::Held) => entry.0 += i64::from(unit.quantity),
                Known::State(pb::ReservationState::Confirmed) => {
                    entry.1 += i64::from(unit.quantity);
                }
                _ => {}
            }
        }
    }
    let mut violations = Vec::new();
    for ((node, sku), base) in &workload.baseline {
        let (held, shipped) = units
            .get(&(node.as_str(), sku.as_str()))
            .copied()
            .unwrap_or_default();
        let Some(level) = now.get(&(node.clone(), sku.clone())) else {
            let detail = format!("{node}/{sku}: not listed by GetSkuAvailability");
            violations.push(Violation::new(ViolationKind::Unexpected, detail));
            continue;
        };
        if level.reserved != base.reserved + held {
            violations.push(Violation::new(
                ViolationKind::StockReserved,
                format!(
                    "{node}/{sku}: reserved {} read, expected {} (baseline {} + {held} held)",
                    level.reserved,
                    base.reserved + held,
                    base.reserved
                ),
            ));
        }
        if level.on_hand != base.on_hand - shipped {
            violations.push(Violation::new(
                ViolationKind::StockOnHand,
                format!(
                    "{node}/{sku}: on_hand {} read, expected {} (baseline {} - {shipped} confirmed)",
                    level.on_hand,
                    base.on_hand - shipped,
                    base.on_hand
                ),
            ));
        }
        if held + shipped > base.available || level.available < 0 {
            violations.push(Violation::new(
                ViolationKind::Oversold,
                format!(
                    "{node}/{sku}: {held} held + {shipped} confirmed of {} available at the start; available {} now",
                    base.available, level.available
                ),
            ));
        }
    }
    violations
}

/// One client's acknowledgements: each reservation reads back in its last
/// acknowledged state (same decision, same units); each decision is
/// explainable; each idempotency key re-sent with its request answers the
/// same bytes. The re-sends come last: on a server that forgot a key they
/// commit again.
pub async fn client(api: &AllotClient, ledger: &ClientLedger) -> Vec<Violation> {
    let who = ledger.client;
    let mut violations = Vec::new();
    let mut violate = |kind, detail: String| {
        violations.push(Violation::new(kind, format!("client {who}: {detail}")));
    };
    for tracked in &ledger.reservations {
        let Known::State(expected) = tracked.known else {
            continue;
        };
        let request = pb::GetReservationRequest {
            reservation_id: tracked.id.clone(),
        };
        match settled(&api.allocation(), &request, |mut c, r| async move {
            c.get_reservation(r).await
        })
        .await
        {
            Outcome::Ok(read) => {
                if read.state() != expected {
                    violate(
                        ViolationKind::ReservationState,
                        format!(
                            "{}: acknowledged {expected:?}, read {:?}",
                            tracked.id,
                            read.state()
                        ),
                    );
                } else if read.decision_id != tracked.decision_id || read.units != tracked.units {
                    violate(
                        ViolationKind::ReservationState,
                        format!(
                            "{}: made by {} holding {:?}, read {} holding {:?}",
                            tracked.id,
                            tracked.decision_id,
                            tracked.units,
                            read.decision_id,
                            read.units
                        ),
                    );
                }
            }
            Outcome::Refused(status) | Outcome::Unexpected(status) => {
                let kind = read_failure(&status);
                let detail = format!(
                    "{} acknowledged {expected:?}: GetReservation {}",
                    tracked.id,
                    describe(&status)
                );
                violate(kind, detail);
            }
            Outcome::Unknown(why) => violate(
                ViolationKind::Unresolved,
                format!("GetReservation {}: {why}", tracked.id),
            ),
        }
    }
    for commit in &ledger.commits {
        let request = pb::ExplainDecisionRequest {
            decision_id: commit.decision_id.clone(),
        };
        match settled(&api.decisions(), &request, |mut c, r| async move {
            c.explain_decision(r).await
        })
        .await
        {
            Outcome::Ok(_) => {}
            Outcome::Refused(status) | Outcome::Unexpected(status) => violate(
                ViolationKind::NotExplainable,
                format!(
                    "decision {} (order {}): {}",
                    commit.decision_id,
                    commit.request.order_id,
                    describe(&status)
                ),
            ),
            Outcome::Unknown(why) => violate(
                ViolationKind::NotExplainable,
                format!("decision {}: {why}", commit.decision_id),
            ),
        }
    }
    for commit in &ledger.commits {
        match settled(&api.allocation(), &commit.request, |mut c, r| async move {
            c.allocate(r).await
        })
        .await
        {
            Outcome::Ok(answer) => {
                if answer.encode_to_vec() != commit.response {
                    violate(
                        ViolationKind::IdempotencyBytes,
                        format!(
                            "key {}: first answered decision {} ({} bytes), now decision {} ({} bytes, reservation {:?})",
                            commit.request.order_id,
                            commit.decision_id,
                            commit.response.len(),
                            answer.decision_id,
                            answer.encoded_len(),
                            answer.reservation.as_ref().map(|r| &r.reservation_id),
                        ),
                    );
                }
            }
            Outcome::Refused(status) | Outcome::Unexpected(status) => violate(
                ViolationKind::IdempotencyError,
                format!("key {}: {}", commit.request.order_id, describe(&status)),
            ),
            Outcome::Unknown(why) => violate(
                ViolationKind::IdempotencyError,
                format!("key {}: {why}", commit.request.order_id),
            ),
        }
    }
    violations
}
