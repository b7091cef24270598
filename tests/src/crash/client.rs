//! One client's work in a round: committing orders for the contested SKUs,
//! confirming, releasing and reading back its own reservations, until the
//! round stops; every answer goes into its ledger.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use allot_client::AllotClient;
use allot_client::proto as pb;
use rand::Rng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;
use tonic::Code;

use super::ledger::{ClientLedger, Known};
use super::report::ViolationKind;
use super::rpc::{Outcome, call, describe, read_failure};
use super::workload::Workload;

/// Most reservations one client holds at once; at the limit it confirms or
/// releases instead of committing.
const MAX_HOLDS: usize = 4;

/// Pause after a call without an answer (most likely the server died) or
/// shed for overload (RESOURCE_EXHAUSTED: "retry with backoff", says the
/// contract): the client does not pile up calls that cannot be served.
const PAUSE: Duration = Duration::from_millis(50);

/// What a client does next.
enum Action {
    Commit,
    Confirm(usize),
    Release(usize),
    Get(usize),
}

/// Works against `api` until `stop` is set, then gives the ledger back.
/// Each call is recorded as acknowledged, refused or of unknown outcome.
pub async fn work(
    api: AllotClient,
    workload: Arc<Workload>,
    mut ledger: ClientLedger,
    mut rng: ChaCha8Rng,
    tag: u64,
    stop: Arc<AtomicBool>,
) -> ClientLedger {
    while !stop.load(Ordering::Acquire) {
        let pause = match choose(&ledger, &mut rng) {
            Action::Commit => {
                let order_id = format!("crash-{tag}-c{}-{}", ledger.client, ledger.next_order);
                ledger.next_order += 1;
                let request = workload.order(&mut rng, order_id);
                commit(&api, &mut ledger, request).await
            }
            Action::Confirm(i) => {
                finish(&api, &mut ledger, i, pb::ReservationState::Confirmed).await
            }
            Action::Release(i) => {
                finish(&api, &mut ledger, i, pb::ReservationState::Released).await
            }
            Action::Get(i) => get(&api, &mut ledger, i).await,
        };
        if pause {
            tokio::time::sleep(PAUSE).await;
        }
    }
    ledger
}

/// Half commits; with holds, also releases (about 1 in 3), reads and a few
/// confirms (3 in 100: a confirm takes its units out of stock for good);
/// at [`MAX_HOLDS`] only releases and confirms (1 in 10).
fn choose(ledger: &ClientLedger, rng: &mut ChaCha8Rng) -> Action {
    let held = ledger.held();
    let pick = |rng: &mut ChaCha8Rng, from: &[usize]| from.choose(rng).copied();
    if held.len() >= MAX_HOLDS {
        let i = pick(rng, &held).unwrap_or_default();
        return if rng.random_bool(0.1) {
            Action::Confirm(i)
        } else {
            Action::Release(i)
        };
    }
    let roll = rng.random_range(0..100);
    match (roll, pick(rng, &held)) {
        (0..50, _) => Action::Commit,
        (50..53, Some(i)) => Action::Confirm(i),
        (53..85, Some(i)) => Action::Release(i),
        _ => match pick(rng, &ledger.settled()) {
            Some(i) => Action::Get(i),
            None => Action::Commit,
        },
    }
}

/// A committing Allocate; true if unanswered or shed (see [`PAUSE`]).
async fn commit(
    api: &AllotClient,
    ledger: &mut ClientLedger,
    request: pb::AllocateRequest,
) -> bool {
    let mut pause = false;
    match call(api.allocation().allocate(request.clone())).await {
        Outcome::Ok(response) => ledger.ack_commit(request, &response),
        Outcome::Refused(status) if status.code() == Code::ResourceExhausted => {
            pause = true;
            ledger.counts.commits_shed += 1;
        }
        Outcome::Refused(_) => ledger.counts.commits_refused += 1,
        Outcome::Unknown(_) => {
            pause = true;
            ledger.counts.unknown += 1;
            ledger.unknown_commits.push(request);
        }
        Outcome::Unexpected(status) => ledger.violate(
            ViolationKind::Unexpected,
            format!("Allocate {}: {}", request.order_id, describe(&status)),
        ),
    }
    pause
}

/// Confirms or releases (`to`) the held reservation `i`; true if
/// unanswered or shed (see [`PAUSE`]).
async fn finish(
    api: &AllotClient,
    ledger: &mut ClientLedger,
    i: usize,
    to: pb::ReservationState,
) -> bool {
    let id = ledger.reservations[i].id.clone();
    let mut allocation = api.allocation();
    let answer = if to == pb::ReservationState::Confirmed {
        call(
            allocation.confirm_reservation(pb::ConfirmReservationRequest {
                reservation_id: id.clone(),
            }),
        )
        .await
    } else {
        call(
            allocation.release_reservation(pb::ReleaseReservationRequest {
                reservation_id: id.clone(),
                reason: pb::ReleaseReason::OrderCancelled as i32,
                note: String::new(),
            }),
        )
        .await
    };
    match answer {
        Outcome::Ok(reservation) => {
            if to == pb::ReservationState::Confirmed {
                ledger.counts.confirms_acked += 1;
            } else {
                ledger.counts.releases_acked += 1;
            }
            if reservation.state() != to {
                ledger.violate(
                    ViolationKind::ReservationState,
                    format!("{id}: asked {to:?}, answered {:?}", reservation.state()),
                );
            }
            ledger.reservations[i].known = Known::State(to);
        }
        // Overloaded: nothing done, the reservation is still held.
        Outcome::Refused(status) if status.code() == Code::ResourceExhausted => return true,
        Outcome::Refused(status) | Outcome::Unexpected(status) => {
            let kind = read_failure(&status);
            ledger.violate(
                kind,
                format!("{id} held, {to:?} refused: {}", describe(&status)),
            );
        }
        Outcome::Unknown(_) => {
            ledger.counts.unknown += 1;
            ledger.reservations[i].known = Known::Pending(to);
            return true;
        }
    }
    false
}

/// Reads reservation `i` back and compares its state; true if unanswered
/// or shed (see [`PAUSE`]).
async fn get(api: &AllotClient, ledger: &mut ClientLedger, i: usize) -> bool {
    let tracked = &ledger.reservations[i];
    let request = pb::GetReservationRequest {
        reservation_id: tracked.id.clone(),
    };
    match call(api.allocation().get_reservation(request)).await {
        Outcome::Ok(reservation) => {
            ledger.counts.gets_acked += 1;
            let Known::State(expected) = tracked.known else {
                return false;
            };
            if reservation.state() != expected {
                let detail = format!(
                    "{}: acknowledged {expected:?}, read {:?}",
                    tracked.id,
                    reservation.state()
                );
                ledger.violate(ViolationKind::ReservationState, detail);
            }
        }
        Outcome::Refused(status) if status.code() == Code::ResourceExhausted => return true,
        Outcome::Refused(status) | Outcome::Unexpected(status) => {
            let kind = read_failure(&status);
            let detail = format!("GetReservation {}: {}", tracked.id, describe(&status));
            ledger.violate(kind, detail);
        }
        // A read changes nothing: no outcome to settle.
        Outcome::Unknown(_) => return true,
    }
    false
}
