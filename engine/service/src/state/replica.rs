//! State rebuilt from the journal: a checkpoint's image restored, then the
//! records after it applied in order. Recovery replays into the live stock,
//! book and keys; compaction into a private copy it then checkpoints.
//!
//! Replaying gives the acknowledged state because every change a record
//! describes was applied in memory in the record's order wherever order
//! matters: confirmations, releases, expiries, replacements and deltas are
//! recorded under one lock together with their change. A commit's record is
//! written after its hold was taken, but a hold commutes with every other
//! change (it adds to `reserved` and `held` only, and nothing else depends
//! on them but its own end), so it is replayed without checks where its
//! record stands. Its own end can precede its record (an expiry sweep that
//! ran between the hold and the record): such an end waits until the
//! reservation appears.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use allot_engine::network::Network;
use allot_engine::reservation::{BookImage, ReservationBook};
use allot_engine::stock::{NodeImage, StockStore};
use dashmap::DashMap;
use serde::{Deserialize, Serialize};

use super::change::{
    Change, DeltaRecord, FinishedAs, KeyRecord, MoveRecord, ReservationRecord, RowRecord, date,
    days,
};
use crate::idempotency::{Fingerprint, KEY_TTL};

/// What a used key remembers.
#[derive(Debug, Clone)]
pub(crate) struct KeyEntry {
    pub(crate) fingerprint: Fingerprint,
    pub(crate) response: Arc<[u8]>,
    pub(crate) at: SystemTime,
}

/// Used idempotency keys.
pub(crate) type Keys = DashMap<String, KeyEntry>;

/// The stock, book and keys a journal replays into.
pub(crate) struct Replica {
    pub(crate) network: Arc<Network>,
    pub(crate) stock: Arc<StockStore>,
    pub(crate) book: Arc<ReservationBook>,
    pub(crate) keys: Arc<Keys>,
    /// Ends of reservations whose commit record comes later.
    early: HashMap<String, (FinishedAs, SystemTime)>,
    /// Re-plan moves of reservations whose commit record comes later in
    /// this replay. (A re-plan reads each order's decision record first,
    /// so its commit is on disk before the move is recorded; this only
    /// keeps a replay order-proof.)
    early_moves: HashMap<String, (MoveRecord, SystemTime)>,
    /// Rows, units and records naming nodes or SKUs the network lacks.
    pub(crate) dropped: u64,
    /// The latest time a record carries.
    latest: SystemTime,
}

/// A checkpoint's payload: the whole state as data.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct StateImage {
    /// The decision log's commit records up to this position are in it.
    pub(crate) commits_through: u64,
    nodes: Vec<NodeRecord>,
    reservations: Vec<ReservationRecord>,
    /// (node code, days since 0001-01-01, units).
    capacity_used: Vec<(String, i32, u32)>,
    keys: Vec<KeyRecord>,
    early: Vec<(String, FinishedAs, SystemTime)>,
}

#[derive(Debug, Serialize, Deserialize)]
struct NodeRecord {
    code: String,
    rows: Vec<RowRecord>,
    held: Vec<(String, i64)>,
    version: u64,
    sequence: u64,
    updated_at: SystemTime,
}

impl StateImage {
    /// The newest checkpoint's sequence number and image, if there is one.
    pub(crate) fn latest(
        checkpoints: &allot_journal::Checkpoints,
    ) -> Result<Option<(u64, StateImage)>, super::StateError> {
        let Some(checkpoint) = checkpoints.latest()? else {
            return Ok(None);
        };
        let image = StateImage::decode(&checkpoint.payload).map_err(|e| {
            super::StateError::Undecodable {
                what: format!("checkpoint {}", checkpoint.seq),
                problem: e.to_string(),
            }
        })?;
        Ok(Some((checkpoint.seq, image)))
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        postcard::to_stdvec(self).unwrap_or_default()
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<StateImage, postcard::Error> {
        postcard::from_bytes(bytes)
    }
}

impl Replica {
    /// Over the given stock, book and keys.
    pub(crate) fn new(stock: Arc<StockStore>, book: Arc<ReservationBook>, keys: Arc<Keys>) -> Self {
        Replica {
            network: stock.network().clone(),
            stock,
            book,
            keys,
            early: HashMap::new(),
            early_moves: HashMap::new(),
            dropped: 0,
            latest: SystemTime::UNIX_EPOCH,
        }
    }

    /// An empty replica over `network`.
    pub(crate) fn empty(network: &Arc<Network>) -> Self {
        let stock = Arc::new(StockStore::new(network.clone()));
        let book = Arc::new(ReservationBook::new(stock.clone()));
        Replica::new(stock, book, Arc::new(Keys::new()))
    }

    /// Remembers a used key.
    fn remember(&mut self, key: KeyRecord) {
        self.latest = self.latest.max(key.at);
        self.keys.insert(
            key.key,
            KeyEntry {
                fingerprint: key.fingerprint,
                response: key.response.into(),
                at: key.at,
            },
        );
    }

    /// Moves a held reservation as a re-plan recorded it.
    fn replay_move(&mut self, moved: &MoveRecord, at: SystemTime) {
        let (units, capacity_days) = moved.to_units(&self.network, &mut self.dropped);
        self.book.replay_replan(&moved.id, units, capacity_days, at);
    }

    /// Applies one record.
    pub(crate) fn apply(&mut self, change: Change) {
        match change {
            Change::Commit { key, reservation } => {
                self.remember(key);
                if let Some(record) = reservation {
                    let reservation = record.to_reservation(&self.network, &mut self.dropped);
                    let id = reservation.id.clone();
                    self.book.replay_hold(reservation);
                    if let Some((moved, at)) = self.early_moves.remove(&id) {
                        self.replay_move(&moved, at);
                    }
                    if let Some((to, at)) = self.early.remove(&id) {
                        let _ = self.book.finish_as(&id, to.state(), at);
                    }
                }
            }
            Change::Replan { moves, at } => {
                self.latest = self.latest.max(at);
                for moved in moves {
                    if self.book.get(&moved.id).is_ok() {
                        self.replay_move(&moved, at);
                    } else {
                        self.early_moves.insert(moved.id.clone(), (moved, at));
                    }
                }
            }
            Change::Finish { id, state, at } => {
                self.latest = self.latest.max(at);
                if self.book.get(&id).is_ok() {
                    let _ = self.book.finish_as(&id, state.state(), at);
                } else {
                    self.early.insert(id, (state, at));
                }
            }
            Change::Replace {
                node,
                rows,
                as_of,
                reset_feed,
                at,
            } => {
                self.latest = self.latest.max(at);
                let Some(node) = self.network.node_id(&node) else {
                    self.dropped += 1;
                    return;
                };
                let rows: Vec<_> = rows
                    .iter()
                    .filter_map(|r| r.to_row(&self.network))
                    .collect();
                // It was accepted when made, on the same sequence: it is
                // accepted again (or was a no-op on a changed network).
                let _ = self
                    .stock
                    .replace_or_reset(node, rows, as_of, reset_feed, at);
            }
            Change::Deltas {
                first_index,
                rows,
                at,
            } => {
                self.latest = self.latest.max(at);
                let rows: Vec<_> = rows.iter().map(DeltaRecord::to_row).collect();
                self.stock.apply_deltas(first_index, &rows, at);
            }
        }
    }

    /// Applies journal records (each with the commit position it saw) and
    /// commit records (by position) in the order they happened: a commit
    /// before the first journal record that saw it; commits no journal
    /// record saw, at the end (a hold commutes with every change but its
    /// own end, and that end can only be a journal record that saw it, or an
    /// expiry, which commutes too).
    pub(crate) fn replay(&mut self, journal: Vec<(u64, Change)>, commits: Vec<(u64, Change)>) {
        let mut commits = commits.into_iter().peekable();
        for (seen, change) in journal {
            while let Some((_, commit)) = commits.next_if(|(position, _)| *position <= seen) {
                self.apply(commit);
            }
            self.apply(change);
        }
        for (_, commit) in commits {
            self.apply(commit);
        }
    }

    /// The whole state as data, after forgetting what is past retention as
    /// of the latest record (finished reservations after a day, keys after
    /// their time to live).
    pub(crate) fn image(&self) -> StateImage {
        self.book.purge(self.latest);
        let network = &self.network;
        let nodes = network
            .node_ids()
            .map(|node| {
                let image = self.stock.node_image(node);
                NodeRecord {
                    code: network.node(node).code.clone(),
                    rows: image
                        .rows
                        .iter()
                        .map(|(sku, level)| RowRecord::of(network, *sku, level))
                        .collect(),
                    held: image
                        .held
                        .iter()
                        .map(|(sku, held)| (network.sku(*sku).code.clone(), *held))
                        .collect(),
                    version: image.version,
                    sequence: image.sequence,
                    updated_at: image.updated_at,
                }
            })
            .collect();
        let book = self.book.image();
        let live_after = self.latest.checked_sub(KEY_TTL);
        let mut keys: Vec<_> = self
            .keys
            .iter()
            .filter(|k| live_after.is_none_or(|cut| k.at > cut))
            .map(|k| KeyRecord {
                key: k.key().clone(),
                fingerprint: k.fingerprint,
                response: k.response.to_vec(),
                at: k.at,
            })
            .collect();
        keys.sort_by(|a, b| a.key.cmp(&b.key));
        StateImage {
            commits_through: 0,
            nodes,
            reservations: book
                .reservations
                .iter()
                .map(|r| ReservationRecord::of(network, r))
                .collect(),
            capacity_used: book
                .capacity_used
                .iter()
                .map(|&(node, day, units)| (network.node(node).code.clone(), days(day), units))
                .collect(),
            keys,
            // An end whose commit never came (the call failed after its hold
            // was swept) is forgotten with the finished reservations.
            early: self
                .early
                .iter()
                .filter(|(_, (_, at))| live_after.is_none_or(|cut| *at > cut))
                .map(|(id, &(to, at))| (id.clone(), to, at))
                .collect(),
        }
    }

    /// Sets the state to `image`.
    pub(crate) fn restore(&mut self, image: StateImage) {
        let network = self.network.clone();
        for node in image.nodes {
            let Some(id) = network.node_id(&node.code) else {
                self.dropped += 1;
                continue;
            };
            self.latest = self.latest.max(node.updated_at);
            let rows: Vec<_> = node
                .rows
                .iter()
                .filter_map(|r| r.to_row(&network))
                .collect();
            self.dropped += (node.rows.len() - rows.len()) as u64;
            let held = node
                .held
                .iter()
                .filter_map(|(sku, held)| Some((network.sku_id(sku)?, *held)))
                .collect();
            self.stock.restore_node(
                id,
                NodeImage {
                    rows,
                    held,
                    version: node.version,
                    sequence: node.sequence,
                    updated_at: node.updated_at,
                },
            );
        }
        let reservations = image
            .reservations
            .iter()
            .map(|r| r.to_reservation(&network, &mut self.dropped))
            .collect::<Vec<_>>();
        for r in &reservations {
            self.latest = self.latest.max(r.updated_at);
        }
        self.book.restore(BookImage {
            reservations,
            capacity_used: image
                .capacity_used
                .iter()
                .filter_map(|(node, day, units)| {
                    Some((network.node_id(node)?, date(*day)?, *units))
                })
                .collect(),
        });
        self.keys.clear();
        for key in image.keys {
            self.remember(key);
        }
        self.early = image
            .early
            .into_iter()
            .map(|(id, to, at)| (id, (to, at)))
            .collect();
    }
}
