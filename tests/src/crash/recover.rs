//! After a restart, before any check: every call of unknown outcome is
//! settled. Committing Allocates are re-sent with their key (the server
//! either remembers the first answer or commits now), and the reservations a
//! confirm or release was in flight for are read back. Afterwards every
//! reservation that exists is one some client knows.

use allot_client::AllotClient;
use allot_client::proto as pb;
use tonic::Code;

use super::ledger::{ClientLedger, Known};
use super::report::ViolationKind;
use super::rpc::{Outcome, describe, read_failure, settled};

/// Settles the unknown outcomes of one client; returns how many were
/// settled.
pub async fn settle(api: &AllotClient, ledger: &mut ClientLedger) -> usize {
    let mut settled_count = 0;
    for request in std::mem::take(&mut ledger.unknown_commits) {
        match settled(&api.allocation(), &request, |mut c, r| async move {
            c.allocate(r).await
        })
        .await
        {
            Outcome::Ok(response) => {
                settled_count += 1;
                ledger.ack_commit(request, &response);
            }
            Outcome::Refused(status) if status.code() == Code::FailedPrecondition => {
                settled_count += 1;
                ledger.counts.commits_refused += 1;
            }
            Outcome::Unexpected(status) => ledger.violate(
                ViolationKind::Unexpected,
                format!(
                    "Allocate {} re-sent: {}",
                    request.order_id,
                    describe(&status)
                ),
            ),
            // Still overloaded or unanswered after every retry: tried again
            // after the next restart.
            Outcome::Refused(status) => {
                let detail = format!(
                    "Allocate {} re-sent: {}",
                    request.order_id,
                    describe(&status)
                );
                ledger.violate(ViolationKind::Unresolved, detail);
                ledger.unknown_commits.push(request);
            }
            Outcome::Unknown(why) => {
                ledger.violate(
                    ViolationKind::Unresolved,
                    format!("Allocate {} re-sent: {why}", request.order_id),
                );
                ledger.unknown_commits.push(request);
            }
        }
    }
    for i in 0..ledger.reservations.len() {
        let Known::Pending(to) = ledger.reservations[i].known else {
            continue;
        };
        let id = ledger.reservations[i].id.clone();
        let request = pb::GetReservationRequest {
            reservation_id: id.clone(),
        };
        match settled(&api.allocation(), &request, |mut c, r| async move {
            c.get_reservation(r).await
        })
        .await
        {
            Outcome::Ok(reservation) => {
                let state = reservation.state();
                if state == to || state == pb::ReservationState::Held {
                    settled_count += 1;
                    ledger.reservations[i].known = Known::State(state);
                } else {
                    ledger.violate(
                        ViolationKind::ReservationState,
                        format!("{id}: HELD with {to:?} in flight, read {state:?}"),
                    );
                }
            }
            Outcome::Refused(status) | Outcome::Unexpected(status) => {
                let kind = read_failure(&status);
                let detail = format!(
                    "{id}: HELD with {to:?} in flight, GetReservation: {}",
                    describe(&status)
                );
                ledger.violate(kind, detail);
            }
            Outcome::Unknown(why) => ledger.violate(
                ViolationKind::Unresolved,
                format!("{id}: HELD with {to:?} in flight, GetReservation: {why}"),
            ),
        }
    }
    settled_count
}
