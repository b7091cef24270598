//! The seam to a ledger shared by several allot processes (replicas behind
//! one address, docs/scale-out.md). A replica solves on its own in-memory
//! snapshot, as a single process does, holding the plan's units there;
//! the commit then goes to the shared ledger as one transaction whose
//! guarded updates refuse any unit another replica took first. A lost race
//! re-solves on the fresh levels the ledger mirrored back.

use std::collections::HashMap;
use std::time::SystemTime;

use allot_engine::decisions::NewEvent;
use allot_engine::reservation::Reservation;
use futures::future::BoxFuture;

use crate::error::ServiceError;
use crate::idempotency::Fingerprint;

/// A used key: the fingerprint of its request and its encoded answer.
pub type UsedKey = (Fingerprint, Vec<u8>);

/// A committing Allocate as the shared ledger takes it: everything one
/// transaction makes durable.
#[derive(Debug, Clone)]
pub struct SharedCommit {
    /// The idempotency key.
    pub key: String,
    /// The fingerprint of the request made with it.
    pub fingerprint: Fingerprint,
    /// The encoded answer, returned byte for byte to a retry on any replica.
    pub response: Vec<u8>,
    /// The hold this replica made for the plan (none when the hold policy
    /// or the stock kept the call from reserving).
    pub reservation: Option<Reservation>,
    /// The decision's id.
    pub decision_id: String,
    /// The encoded decision record.
    pub record: Vec<u8>,
    /// The decision's event, published from the ledger's outbox.
    pub event: Option<NewEvent>,
    /// When the decision was made.
    pub at: SystemTime,
}

/// How a commit ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Committed {
    /// Durable in the shared ledger.
    Done,
    /// Another replica took some of the units or capacity first: nothing was
    /// written, and this replica's snapshot now has the ledger's levels of
    /// what was short. Re-solve.
    Lost {
        /// What was short, for the logs.
        short: String,
    },
    /// The key was used first (by a concurrent call on another replica):
    /// nothing was written; its request fingerprint and answer.
    KeyUsed {
        /// The fingerprint of the request that used the key.
        fingerprint: Fingerprint,
        /// Its encoded answer.
        response: Vec<u8>,
    },
}

/// The commit side of a shared ledger (the replica's reservation reads and
/// changes go through [`ReservationLedger`](crate::reservations::ReservationLedger),
/// its stock writes through [`StockJournal`](crate::stock::StockJournal)).
pub trait SharedLedger: Send + Sync {
    /// The request fingerprint and encoded answer `key` remembers.
    fn key<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<UsedKey>, ServiceError>>;
    /// Commits in one transaction: the hold's units (each guarded by
    /// `reserved + q <= on_hand`) and capacity, the key with its answer,
    /// the decision record and an outbox row for its events. Whatever it
    /// answers, the hold made in this replica's book is withdrawn (the
    /// ledger has it now, or nobody does). UNAVAILABLE when the ledger
    /// cannot be reached.
    fn commit(&self, commit: SharedCommit) -> BoxFuture<'_, Result<Committed, ServiceError>>;
    /// Whether committed decisions' events go out through the ledger's
    /// outbox to every replica's feed (there is a bus); else the replica
    /// logs them in its own feed.
    fn publishes_events(&self) -> bool;
    /// The encoded records of decisions made by any replica, by id, in one
    /// query; an id the ledger does not have is absent from the map.
    fn decisions<'a>(
        &'a self,
        ids: &'a [String],
    ) -> BoxFuture<'a, Result<HashMap<String, Vec<u8>>, ServiceError>>;
}
