//! [`StockStore`]: every node's snapshot behind its own lock.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use parking_lot::{Mutex, RwLock};

use super::error::StockError;
use super::level::{NodeFreshness, StockLevel};
use super::metrics;
use super::quarantine::{QuarantineLog, QuarantineReason, QuarantinedRow};
use super::snapshot::{NodeSnapshot, SortedLevels};
use crate::network::{Network, NodeId, SkuId};

/// Keeps each node's lock on its own cache lines so readers of neighbouring
/// nodes do not contend on the same line.
#[derive(Debug)]
#[repr(align(128))]
pub(crate) struct Padded<T>(pub(crate) T);

/// What a replacement does to the node's delta sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SequenceUpdate {
    /// Keep it (a CSV load: the file says nothing of the feed).
    Keep,
    /// Set it, refusing to move it back.
    Advance(u64),
    /// Set it whatever it was (the feed restarts).
    Reset(u64),
}

/// In-memory stock of every node of one network.
///
/// Each node's snapshot sits behind its own `parking_lot::RwLock`. Only
/// holds (`hold_many` and friends, in `holds.rs`) take several node locks at
/// once, always in ascending [`NodeId`] order. See the [module docs](super)
/// for the rules.
#[derive(Debug)]
pub struct StockStore {
    network: Arc<Network>,
    pub(crate) nodes: Box<[Padded<RwLock<NodeSnapshot>>]>,
    pub(crate) quarantine: Mutex<QuarantineLog>,
    /// Per SKU: bumped after every change to that SKU's level at any node.
    generations: Box<[AtomicU64]>,
}

impl StockStore {
    /// A store where every node is empty, at version 0 and sequence 0.
    pub fn new(network: Arc<Network>) -> StockStore {
        let nodes = network
            .node_ids()
            .map(|_| Padded(RwLock::new(NodeSnapshot::empty())))
            .collect();
        StockStore {
            generations: (0..network.sku_count())
                .map(|_| AtomicU64::new(0))
                .collect(),
            nodes,
            quarantine: Mutex::new(QuarantineLog::default()),
            network,
        }
    }

    /// The network this store holds stock for.
    pub fn network(&self) -> &Arc<Network> {
        &self.network
    }

    pub(crate) fn slot(&self, node: NodeId) -> &RwLock<NodeSnapshot> {
        &self.nodes[node.0 as usize].0
    }

    /// The change counter of `sku`: it moves after every change to the
    /// SKU's level at any node (a replacement of a node that has or had a
    /// row for it, an applied delta row, a hold, a release, a shipment), so
    /// two equal reads of it bracket no change. Read it *before* reading the
    /// levels it guards: the levels read are then at least as new as the
    /// counter, never older (a change between the two reads only moves the
    /// counter the next reader sees). 0 for a SKU outside the network.
    pub fn sku_generation(&self, sku: SkuId) -> u64 {
        self.generations
            .get(sku.0 as usize)
            .map_or(0, |g| g.load(Ordering::Acquire))
    }

    /// Records a change of `sku`'s level; called by writers under the node's
    /// write lock, after the change.
    pub(crate) fn changed(&self, sku: SkuId) {
        if let Some(g) = self.generations.get(sku.0 as usize) {
            g.fetch_add(1, Ordering::AcqRel);
        }
    }

    fn check_node(&self, node: NodeId) -> Result<(), StockError> {
        if (node.0 as usize) < self.nodes.len() {
            Ok(())
        } else {
            Err(StockError::UnknownNode(format!("#{}", node.0)))
        }
    }

    /// Replaces node `node`'s whole snapshot with `rows` (any order), as of
    /// delta `as_of_sequence` of the node's feed.
    ///
    /// Every row is validated first (no negative field, no SKU twice, SKU in
    /// the network); on error nothing changes. The new map is built outside
    /// the lock and swapped in under it, so readers see the old or the new
    /// snapshot, never a mix. Version += 1, sequence = `as_of_sequence`,
    /// updated_at = `at`. Errors name `rows[i]` (index into `rows`).
    ///
    /// A snapshot older than the deltas the node has applied
    /// (`as_of_sequence` below its sequence) is refused with
    /// [`StockError::StaleSnapshot`]: taking it would roll them back. The
    /// check and the swap are one step under the node's lock.
    pub fn replace_node(
        &self,
        node: NodeId,
        rows: Vec<(SkuId, StockLevel)>,
        as_of_sequence: u64,
        at: SystemTime,
    ) -> Result<NodeFreshness, StockError> {
        self.replace(node, rows, SequenceUpdate::Advance(as_of_sequence), at)
    }

    /// Like [`StockStore::replace_node`], for a feed that restarts its
    /// numbering: the node's sequence becomes `as_of_sequence` whatever it
    /// was.
    pub fn reset_node(
        &self,
        node: NodeId,
        rows: Vec<(SkuId, StockLevel)>,
        as_of_sequence: u64,
        at: SystemTime,
    ) -> Result<NodeFreshness, StockError> {
        self.replace(node, rows, SequenceUpdate::Reset(as_of_sequence), at)
    }

    /// [`StockStore::reset_node`] when `reset_feed`, else
    /// [`StockStore::replace_node`].
    pub fn replace_or_reset(
        &self,
        node: NodeId,
        rows: Vec<(SkuId, StockLevel)>,
        as_of_sequence: u64,
        reset_feed: bool,
        at: SystemTime,
    ) -> Result<NodeFreshness, StockError> {
        if reset_feed {
            self.reset_node(node, rows, as_of_sequence, at)
        } else {
            self.replace_node(node, rows, as_of_sequence, at)
        }
    }

    fn replace(
        &self,
        node: NodeId,
        mut rows: Vec<(SkuId, StockLevel)>,
        sequence: SequenceUpdate,
        at: SystemTime,
    ) -> Result<NodeFreshness, StockError> {
        self.check_node(node)?;
        let sku_count = self.network.sku_count();
        for (i, (sku, level)) in rows.iter().enumerate() {
            if sku.0 as usize >= sku_count {
                return Err(StockError::UnknownSku {
                    at: format!("rows[{i}]"),
                    sku: format!("#{}", sku.0),
                });
            }
            check_level(level).map_err(|(field, problem)| StockError::InvalidRow {
                at: format!("rows[{i}]"),
                field,
                problem,
            })?;
        }
        // Stable sort keeps the original order among equal SKUs, so the
        // second one of a duplicate pair is reported.
        let mut order: Vec<u32> = (0..rows.len() as u32).collect();
        order.sort_by_key(|&i| rows[i as usize].0);
        if let Some(w) = order
            .windows(2)
            .find(|w| rows[w[0] as usize].0 == rows[w[1] as usize].0)
        {
            let (sku, _) = rows[w[1] as usize];
            return Err(StockError::DuplicateSku {
                at: format!("rows[{}]", w[1]),
                sku: self.network.sku(sku).code.clone(),
            });
        }
        drop(order);
        rows.sort_unstable_by_key(|r| r.0);
        let (skus, levels) = rows.into_iter().unzip();
        let fresh = self
            .swap_in(node, SortedLevels::from_sorted(skus, levels), sequence, at)
            .map_err(|applied| StockError::StaleSnapshot {
                node: self.network.node(node).code.clone(),
                as_of: match sequence {
                    SequenceUpdate::Advance(s) | SequenceUpdate::Reset(s) => s,
                    SequenceUpdate::Keep => applied,
                },
                applied,
            })?;
        metrics::snapshot_changed(&self.network, &[fresh]);
        Ok(fresh)
    }

    /// Swaps `levels` in as node `node`'s snapshot; the old one is dropped
    /// after the lock is released. `sequence`: `None` keeps the current one.
    /// Swaps `levels` in as node `node`'s snapshot, updating its sequence as
    /// `sequence` says; `Err(current sequence)` (nothing changed) when an
    /// `Advance` would move the sequence back.
    pub(crate) fn swap_in(
        &self,
        node: NodeId,
        levels: SortedLevels,
        sequence: SequenceUpdate,
        at: SystemTime,
    ) -> Result<NodeFreshness, u64> {
        let mut levels = levels;
        let mut guard = self.slot(node).write();
        if let SequenceUpdate::Advance(s) = sequence
            && s < guard.sequence
        {
            return Err(guard.sequence);
        }
        // allot's own holds are not in the feed: carry them into the new
        // snapshot so a replacement never frees reserved units.
        for (&sku, &held) in &guard.held {
            levels.entry(sku).reserved += held;
        }
        let old = std::mem::replace(&mut guard.levels, levels);
        for &sku in old.skus().iter().chain(guard.levels.skus()) {
            self.changed(sku);
        }
        guard.version += 1;
        match sequence {
            SequenceUpdate::Keep => {}
            SequenceUpdate::Advance(s) | SequenceUpdate::Reset(s) => guard.sequence = s,
        }
        guard.updated_at = at;
        let fresh = guard.freshness(node);
        drop(guard);
        drop(old);
        Ok(fresh)
    }

    /// The level of `sku` at `node`; zero if the node has no row for it (or
    /// the node id is not in the network).
    pub fn level(&self, node: NodeId, sku: SkuId) -> StockLevel {
        match self.nodes.get(node.0 as usize) {
            Some(slot) => slot.0.read().levels.get(sku).unwrap_or_default(),
            None => StockLevel::default(),
        }
    }

    /// Every node that has a row for `sku`, in node order, with that node's
    /// freshness. Each node is read consistently; nodes are read one after
    /// another.
    pub fn sku_levels(&self, sku: SkuId) -> Vec<(NodeFreshness, StockLevel)> {
        let mut out = Vec::new();
        for (i, slot) in self.nodes.iter().enumerate() {
            let guard = slot.0.read();
            if let Some(level) = guard.levels.get(sku) {
                out.push((guard.freshness(NodeId(i as u32)), level));
            }
        }
        out
    }

    /// A consistent copy of one node's snapshot, sorted by SKU.
    /// Panics on a node id from another network.
    pub fn node_levels(&self, node: NodeId) -> (NodeFreshness, Vec<(SkuId, StockLevel)>) {
        let guard = self.slot(node).read();
        (guard.freshness(node), guard.levels.to_vec())
    }

    /// The freshness of one node. Panics on a node id from another network.
    pub fn freshness(&self, node: NodeId) -> NodeFreshness {
        self.slot(node).read().freshness(node)
    }

    /// The freshness of every node, in node order.
    pub fn all_freshness(&self) -> Vec<NodeFreshness> {
        self.nodes
            .iter()
            .enumerate()
            .map(|(i, slot)| slot.0.read().freshness(NodeId(i as u32)))
            .collect()
    }

    /// Quarantined delta rows since start, per reason (every reason listed).
    pub fn quarantine_counts(&self) -> Vec<(QuarantineReason, u64)> {
        self.quarantine.lock().counts()
    }

    /// The latest `limit` quarantined rows (at most the last 1000 are kept),
    /// oldest first.
    pub fn recent_quarantined(&self, limit: usize) -> Vec<QuarantinedRow> {
        self.quarantine.lock().recent(limit)
    }

    /// Holds `quantity` units of `sku` at `node` for allot (see
    /// [`StockStore::hold_many`]): fails with [`StockError::Insufficient`]
    /// unless `available() >= quantity`. Returns the new level.
    pub fn reserve(
        &self,
        node: NodeId,
        sku: SkuId,
        quantity: i64,
    ) -> Result<StockLevel, StockError> {
        self.hold_many(&[(node, sku, quantity)])?;
        Ok(self.level(node, sku))
    }

    /// Releases up to `quantity` held units (see
    /// [`StockStore::release_many`]). Returns the new level.
    pub fn release(&self, node: NodeId, sku: SkuId, quantity: i64) -> StockLevel {
        if (node.0 as usize) >= self.nodes.len() {
            return StockLevel::default();
        }
        self.release_many(&[(node, sku, quantity)]);
        self.level(node, sku)
    }
}

/// Checks that no field of a level is negative; returns the field and problem.
pub(crate) fn check_level(level: &StockLevel) -> Result<(), (&'static str, String)> {
    for (field, value) in [
        ("on_hand", level.on_hand),
        ("reserved", level.reserved),
        ("protected", level.protected),
    ] {
        if value < 0 {
            return Err((field, format!("must be >= 0, got {value}")));
        }
    }
    Ok(())
}
