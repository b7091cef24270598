//! What one client saw acknowledged: its committed allocations (request and
//! answer bytes), its reservations in their last acknowledged state, and the
//! calls whose outcome it does not know. The invariants are checked against
//! this; each client acts only on its own reservations, so it knows their
//! state exactly.

use allot_client::proto as pb;
use prost::Message;

use super::report::{Counts, Violation, ViolationKind};

/// Where a reservation is, as far as its client knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known {
    /// The last acknowledged state.
    State(pb::ReservationState),
    /// A confirm or release to this state was sent and not answered: the
    /// reservation is either still HELD or in this state.
    Pending(pb::ReservationState),
}

/// A reservation one client made.
#[derive(Debug, Clone)]
pub struct Tracked {
    /// Its id.
    pub id: String,
    /// The decision that made it.
    pub decision_id: String,
    /// The units it holds, as the Allocate answer listed them.
    pub units: Vec<pb::ReservedUnits>,
    /// Its state.
    pub known: Known,
}

impl Tracked {
    /// Whether it is known to hold its units.
    pub fn is_held(&self) -> bool {
        self.known == Known::State(pb::ReservationState::Held)
    }
}

/// A committing Allocate answered OK: what to re-send and what must come
/// back.
#[derive(Debug, Clone)]
pub struct AckedCommit {
    /// The request, re-sent as is to check the idempotency key.
    pub request: pb::AllocateRequest,
    /// `encode_to_vec` of the answer.
    pub response: Vec<u8>,
    /// The answer's decision id.
    pub decision_id: String,
}

/// Everything one client saw acknowledged, across rounds.
#[derive(Debug)]
pub struct ClientLedger {
    /// The client's number.
    pub client: usize,
    /// Orders it made so far (the next order's number).
    pub next_order: u64,
    /// Its committing Allocate calls answered OK.
    pub commits: Vec<AckedCommit>,
    /// Its reservations.
    pub reservations: Vec<Tracked>,
    /// Committing Allocate calls of unknown outcome, to re-send with the
    /// same key once the server is back.
    pub unknown_commits: Vec<pb::AllocateRequest>,
    /// What it saw in the current round.
    pub counts: Counts,
    /// Violations it saw in the current round.
    pub violations: Vec<Violation>,
}

impl ClientLedger {
    /// A client that has done nothing yet.
    pub fn new(client: usize) -> ClientLedger {
        ClientLedger {
            client,
            next_order: 0,
            commits: Vec::new(),
            reservations: Vec::new(),
            unknown_commits: Vec::new(),
            counts: Counts::default(),
            violations: Vec::new(),
        }
    }

    /// Records the OK answer to a committing Allocate.
    pub fn ack_commit(&mut self, request: pb::AllocateRequest, response: &pb::AllocateResponse) {
        self.counts.commits_acked += 1;
        if let Some(reservation) = &response.reservation {
            self.counts.commits_reserved += 1;
            if reservation.state() != pb::ReservationState::Held {
                self.violate(
                    ViolationKind::ReservationState,
                    format!(
                        "order {}: a new reservation {} is {:?}, not HELD",
                        request.order_id,
                        reservation.reservation_id,
                        reservation.state()
                    ),
                );
            }
            self.reservations.push(Tracked {
                id: reservation.reservation_id.clone(),
                decision_id: response.decision_id.clone(),
                units: reservation.units.clone(),
                known: Known::State(pb::ReservationState::Held),
            });
        }
        self.commits.push(AckedCommit {
            request,
            response: response.encode_to_vec(),
            decision_id: response.decision_id.clone(),
        });
    }

    /// Records a violation seen by this client.
    pub fn violate(&mut self, kind: ViolationKind, detail: impl Into<String>) {
        let detail = format!("client {}: {}", self.client, detail.into());
        self.violations.push(Violation::new(kind, detail));
    }

    /// Indexes of the reservations known to be HELD.
    pub fn held(&self) -> Vec<usize> {
        (0..self.reservations.len())
            .filter(|&i| self.reservations[i].is_held())
            .collect()
    }

    /// Indexes of the reservations whose state is known.
    pub fn settled(&self) -> Vec<usize> {
        (0..self.reservations.len())
            .filter(|&i| matches!(self.reservations[i].known, Known::State(_)))
            .collect()
    }

    /// Takes the counts and violations of the round that ends.
    pub fn end_round(&mut self) -> (Counts, Vec<Violation>) {
        (
            std::mem::take(&mut self.counts),
            std::mem::take(&mut self.violations),
        )
    }
}
