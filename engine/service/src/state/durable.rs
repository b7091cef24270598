//! [`Durable`]: the ledgers over the live stock, book and keys, recording
//! every change in the journal.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use allot_engine::network::{Network, NodeId, SkuId};
use allot_engine::reservation::{Finished, Rehold, Reservation, ReservationBook, ReservationState};
use allot_engine::stock::{DeltaOutcome, DeltaRow, NodeFreshness, StockLevel, StockStore};
use allot_journal::Journal;
use parking_lot::Mutex;

use super::change::{
    Change, DeltaRecord, FinishedAs, KeyRecord, MoveRecord, ReservationRecord, RowRecord, journaled,
};
use super::compact::Compactor;
use super::replica::{KeyEntry, Keys};
use super::{Receipt, unavailable};
use crate::error::ServiceError;
use crate::idempotency::{Fingerprint, KEY_TTL, KeyStore};
use crate::reservations::{Pending, ReservationChange, ReservationLedger};
use crate::sink::DecisionSink;
use crate::stock::StockJournal;

/// The durable state of one process.
pub struct Durable {
    network: Arc<Network>,
    stock: Arc<StockStore>,
    book: Arc<ReservationBook>,
    keys: Arc<Keys>,
    journal: Arc<Journal>,
    /// Orders the changes whose order matters (every change but a commit's
    /// hold) with their records.
    order: Mutex<()>,
    compactor: Mutex<Option<Compactor>>,
    /// Commit records made since the last checkpoint (the checkpoint thread
    /// folds them past a count).
    commits: Arc<AtomicU64>,
    /// Where commits' holds and keys are written (with their decisions).
    log: Arc<dyn DecisionSink>,
}

impl Durable {
    pub(super) fn new(
        stock: Arc<StockStore>,
        book: Arc<ReservationBook>,
        keys: Arc<Keys>,
        journal: Arc<Journal>,
        compactor: Compactor,
        commits: Arc<AtomicU64>,
        log: Arc<dyn DecisionSink>,
    ) -> Durable {
        Durable {
            network: stock.network().clone(),
            stock,
            book,
            keys,
            journal,
            order: Mutex::new(()),
            compactor: Mutex::new(Some(compactor)),
            commits,
            log,
        }
    }

    fn append(&self, change: &Change) -> Result<Receipt, ServiceError> {
        self.append_bytes(&change.encode())
    }

    /// Appends an encoded change with the decision log's commit position:
    /// call it under the order lock, after the change was made.
    fn append_bytes(&self, change: &[u8]) -> Result<Receipt, ServiceError> {
        let record = journaled(self.log.commits_through(), change);
        let ticket = self.journal.append(&record).map_err(unavailable)?;
        Ok(Receipt::of(&self.journal, ticket))
    }

    /// Everything appended so far: what a caller who saw no change of its
    /// own waits for (it may have read another call's change).
    fn tail(&self) -> Receipt {
        Receipt::of(&self.journal, self.journal.tail())
    }

    /// The sequence number of the last durable record.
    pub fn durable_seq(&self) -> u64 {
        self.journal.durable_seq()
    }

    /// The journal's failure, if it failed (health shows it).
    pub fn failure(&self) -> Option<String> {
        self.journal.failure()
    }

    /// Stops the checkpoint thread and closes the journal (everything
    /// queued is written and synced). Blocking; idempotent.
    pub fn close(&self) {
        if let Some(compactor) = self.compactor.lock().take() {
            compactor.stop();
        }
        self.journal.close();
    }

    fn finish(
        &self,
        id: &str,
        to: ReservationState,
        now: SystemTime,
    ) -> Result<(Finished, Receipt), ServiceError> {
        let _order = self.order.lock();
        let done = self
            .book
            .finish_as(id, to, now)
            .map_err(ServiceError::domain)?;
        let receipt = match FinishedAs::of(to) {
            Some(state) if done.changed => self.append(&Change::Finish {
                id: id.to_string(),
                state,
                at: now,
            })?,
            _ => self.tail(),
        };
        Ok((done, receipt))
    }
}

impl Drop for Durable {
    fn drop(&mut self) {
        self.close();
    }
}

impl ReservationLedger for Durable {
    fn get<'a>(&'a self, id: &'a str) -> Pending<'a, Reservation> {
        Box::pin(std::future::ready(
            self.book.get(id).map_err(ServiceError::domain),
        ))
    }

    fn confirm<'a>(
        &'a self,
        id: &'a str,
        change: &'a ReservationChange,
    ) -> Pending<'a, (Finished, Receipt)> {
        Box::pin(std::future::ready(self.finish(
            id,
            ReservationState::Confirmed,
            change.now,
        )))
    }

    fn release<'a>(
        &'a self,
        id: &'a str,
        change: &'a ReservationChange,
    ) -> Pending<'a, (Finished, Receipt)> {
        Box::pin(std::future::ready(self.finish(
            id,
            ReservationState::Released,
            change.now,
        )))
    }

    fn expire_due(&self, now: SystemTime) -> Pending<'_, (Vec<Reservation>, Receipt)> {
        Box::pin(std::future::ready(self.expire(now)))
    }

    fn held(&self) -> Pending<'_, Vec<Reservation>> {
        Box::pin(std::future::ready(Ok(self.book.held())))
    }

    fn replan<'a>(
        &'a self,
        moves: &'a [Rehold],
        change: &'a ReservationChange,
    ) -> Pending<'a, (Vec<Reservation>, Receipt)> {
        Box::pin(std::future::ready(self.move_holds(moves, change.now)))
    }
}

impl Durable {
    /// A re-plan's moves, made in the book and written as one record:
    /// recovery replays all of them or none.
    fn move_holds(
        &self,
        moves: &[Rehold],
        now: SystemTime,
    ) -> Result<(Vec<Reservation>, Receipt), ServiceError> {
        let _order = self.order.lock();
        let moved = self.book.replan(moves, now).map_err(ServiceError::domain)?;
        let receipt = self.append(&Change::Replan {
            moves: moved
                .iter()
                .map(|r| MoveRecord::of(&self.network, r))
                .collect(),
            at: now,
        })?;
        Ok((moved, receipt))
    }
}

impl Durable {
    fn expire(&self, now: SystemTime) -> Result<(Vec<Reservation>, Receipt), ServiceError> {
        let _order = self.order.lock();
        let expired = self.book.expire_due(now);
        for r in &expired {
            // The tail below covers it.
            let _covered = self.append(&Change::Finish {
                id: r.id.clone(),
                state: FinishedAs::Expired,
                at: now,
            })?;
        }
        let cut = now.checked_sub(KEY_TTL);
        if let Some(cut) = cut {
            self.keys.retain(|_, k| k.at > cut);
        }
        Ok((expired, self.tail()))
    }
}

impl StockJournal for Durable {
    fn replace_node(
        &self,
        node: NodeId,
        rows: Vec<(SkuId, StockLevel)>,
        as_of_sequence: u64,
        reset_feed: bool,
        at: SystemTime,
    ) -> Result<(NodeFreshness, Receipt), ServiceError> {
        if node.0 as usize >= self.network.node_count() {
            return Err(ServiceError::invalid("node", "unknown node"));
        }
        let record = Change::Replace {
            node: self.network.node(node).code.clone(),
            rows: rows
                .iter()
                .filter(|(sku, _)| (sku.0 as usize) < self.network.sku_count())
                .map(|(sku, level)| RowRecord::of(&self.network, *sku, level))
                .collect(),
            as_of: as_of_sequence,
            reset_feed,
            at,
        }
        .encode();
        let _order = self.order.lock();
        let fresh = self
            .stock
            .replace_or_reset(node, rows, as_of_sequence, reset_feed, at)
            .map_err(ServiceError::domain)?;
        Ok((fresh, self.append_bytes(&record)?))
    }

    fn apply_deltas(
        &self,
        first_index: u64,
        rows: &[DeltaRow],
        at: SystemTime,
    ) -> Result<(DeltaOutcome, Receipt), ServiceError> {
        let record = Change::Deltas {
            first_index,
            rows: rows.iter().map(DeltaRecord::of).collect(),
            at,
        }
        .encode();
        let _order = self.order.lock();
        let outcome = self.stock.apply_deltas(first_index, rows, at);
        // Quarantined rows move the sequence too: record any batch that
        // changed a node.
        let receipt = if outcome.touched.is_empty() {
            self.tail()
        } else {
            self.append_bytes(&record)?
        };
        Ok((outcome, receipt))
    }
}

impl KeyStore for Durable {
    fn get(&self, key: &str) -> Option<(Fingerprint, Arc<[u8]>)> {
        let entry = self.keys.get(key)?;
        Some((entry.fingerprint, entry.response.clone()))
    }

    fn remember(&self, key: &str, fingerprint: Fingerprint, response: Vec<u8>, at: SystemTime) {
        self.keys.insert(
            key.to_string(),
            KeyEntry {
                fingerprint,
                response: response.into(),
                at,
            },
        );
    }

    fn commit_record(
        &self,
        key: &str,
        fingerprint: Fingerprint,
        response: Vec<u8>,
        reservation: Option<&Reservation>,
        at: SystemTime,
    ) -> Vec<u8> {
        self.commits.fetch_add(1, Ordering::Relaxed);
        Change::Commit {
            key: KeyRecord {
                key: key.to_string(),
                fingerprint,
                response,
                at,
            },
            reservation: reservation.map(|r| ReservationRecord::of(&self.network, r)),
        }
        .encode()
    }
}
