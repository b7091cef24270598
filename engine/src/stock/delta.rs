//! Streamed stock deltas: per-node sequence numbers, duplicates, gaps,
//! quarantine.

use std::time::SystemTime;

use super::level::{NodeFreshness, StockLevel};
use super::metrics;
use super::quarantine::{QuarantineReason, QuarantinedRow};
use super::store::StockStore;
use crate::network::{NodeId, SkuId};

/// What a delta row does to `on_hand`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeltaKind {
    /// `on_hand += quantity` (quantity signed).
    Adjust,
    /// `on_hand = quantity`.
    Set,
}

impl DeltaKind {
    /// Parses `adjust` or `set` (ASCII case-insensitive); anything else is `None`.
    pub fn parse(text: &str) -> Option<DeltaKind> {
        if text.eq_ignore_ascii_case("adjust") {
            Some(DeltaKind::Adjust)
        } else if text.eq_ignore_ascii_case("set") {
            Some(DeltaKind::Set)
        } else {
            None
        }
    }

    /// `adjust` or `set`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeltaKind::Adjust => "adjust",
            DeltaKind::Set => "set",
        }
    }
}

/// One change to one (node, SKU) from the stock feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeltaRow {
    /// Node code.
    pub node: String,
    /// SKU code.
    pub sku: String,
    /// The node's feed sequence number of this row (starts at 1, +1 per row).
    pub sequence: u64,
    /// `None` = the sender's kind was not understood; the row is quarantined.
    pub kind: Option<DeltaKind>,
    /// The adjustment (signed) or the new `on_hand`.
    pub quantity: i64,
    /// `Some` sets `protected`; `None` leaves it as it is.
    pub protected: Option<i64>,
}

/// A jump in a node's sequence numbers: rows in between were never seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SequenceGap {
    /// The node.
    pub node: NodeId,
    /// The sequence number that was due (current + 1).
    pub expected: u64,
    /// The sequence number that arrived (and was accepted).
    pub received: u64,
}

/// What one call of [`StockStore::apply_deltas`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeltaOutcome {
    /// Rows in the batch.
    pub received: u64,
    /// Rows applied.
    pub applied: u64,
    /// Rows skipped because their sequence was not above the node's.
    pub duplicates: u64,
    /// Rows refused, by index.
    pub quarantined: Vec<QuarantinedRow>,
    /// Sequence gaps, by node then arrival.
    pub gaps: Vec<SequenceGap>,
    /// Freshness of every node whose version or sequence changed, by node.
    pub touched: Vec<NodeFreshness>,
}

impl StockStore {
    /// Applies a batch of delta rows; `rows[i]` has stream index
    /// `first_index + i`.
    ///
    /// Rows of one node are applied in batch order under one write-lock
    /// acquisition; nodes are processed one at a time in ascending order.
    /// See the [module docs](super) for duplicates, gaps and quarantine.
    pub fn apply_deltas(
        &self,
        first_index: u64,
        rows: &[DeltaRow],
        at: SystemTime,
    ) -> DeltaOutcome {
        let network = self.network();
        let mut outcome = DeltaOutcome {
            received: rows.len() as u64,
            ..DeltaOutcome::default()
        };
        // Resolve codes outside any lock; rows of unknown nodes never reach one.
        let mut by_node: Vec<(NodeId, u32, Option<SkuId>)> = Vec::with_capacity(rows.len());
        for (i, row) in rows.iter().enumerate() {
            match network.node_id(&row.node) {
                Some(node) => by_node.push((node, i as u32, network.sku_id(&row.sku))),
                None => outcome.quarantined.push(quarantine(
                    first_index + i as u64,
                    row,
                    QuarantineReason::UnknownNode,
                    format!("unknown node {:?}", row.node),
                )),
            }
        }
        by_node.sort_by_key(|r| r.0); // stable: keeps batch order within a node
        for group in by_node.chunk_by(|a, b| a.0 == b.0) {
            let node = group[0].0;
            let mut guard = self.slot(node).write();
            let (version, sequence) = (guard.version, guard.sequence);
            for &(_, i, sku) in group {
                let row = &rows[i as usize];
                if row.sequence <= guard.sequence {
                    outcome.duplicates += 1;
                    continue;
                }
                let expected = guard.sequence + 1;
                if row.sequence > expected {
                    outcome.gaps.push(SequenceGap {
                        node,
                        expected,
                        received: row.sequence,
                    });
                }
                guard.sequence = row.sequence;
                let result = match sku {
                    None => Err((
                        QuarantineReason::UnknownSku,
                        format!("unknown sku {:?}", row.sku),
                    )),
                    Some(sku) => apply_row(&mut guard.levels, sku, row),
                };
                match result {
                    Ok(()) => {
                        if let Some(sku) = sku {
                            self.changed(sku);
                        }
                        outcome.applied += 1;
                        guard.version += 1;
                        guard.updated_at = at;
                    }
                    Err((reason, message)) => {
                        outcome.quarantined.push(quarantine(
                            first_index + u64::from(i),
                            row,
                            reason,
                            message,
                        ));
                    }
                }
            }
            if (guard.version, guard.sequence) != (version, sequence) {
                outcome.touched.push(guard.freshness(node));
            }
        }
        outcome.quarantined.sort_by_key(|q| q.index);
        if !outcome.quarantined.is_empty() {
            self.quarantine.lock().record(&outcome.quarantined);
        }
        metrics::delta_batch(network, &outcome);
        outcome
    }
}

fn quarantine(
    index: u64,
    row: &DeltaRow,
    reason: QuarantineReason,
    message: String,
) -> QuarantinedRow {
    QuarantinedRow {
        index,
        node: row.node.clone(),
        sku: row.sku.clone(),
        sequence: row.sequence,
        reason,
        message,
    }
}

/// Validates one row against the current level and applies it, or says why not.
fn apply_row(
    levels: &mut super::snapshot::SortedLevels,
    sku: SkuId,
    row: &DeltaRow,
) -> Result<(), (QuarantineReason, String)> {
    let Some(kind) = row.kind else {
        return Err((
            QuarantineReason::InvalidKind,
            "kind must be adjust or set".to_string(),
        ));
    };
    if let Some(p) = row.protected.filter(|&p| p < 0) {
        return Err((
            QuarantineReason::NegativeProtected,
            format!("protected must be >= 0, got {p}"),
        ));
    }
    let current = levels.get(sku).unwrap_or_default();
    let on_hand = match kind {
        DeltaKind::Set if row.quantity < 0 => {
            return Err((
                QuarantineReason::NegativeQuantity,
                format!("set quantity must be >= 0, got {}", row.quantity),
            ));
        }
        DeltaKind::Set => row.quantity,
        DeltaKind::Adjust => match current.on_hand.checked_add(row.quantity) {
            Some(v) if v >= 0 => v,
            Some(v) => {
                return Err((
                    QuarantineReason::NegativeQuantity,
                    format!(
                        "adjust {:+} on on_hand {} would leave {v}",
                        row.quantity, current.on_hand
                    ),
                ));
            }
            None => {
                return Err((
                    QuarantineReason::NegativeQuantity,
                    format!(
                        "adjust {:+} on on_hand {} overflows",
                        row.quantity, current.on_hand
                    ),
                ));
            }
        },
    };
    let level: &mut StockLevel = levels.entry(sku);
    level.on_hand = on_hand;
    if let Some(p) = row.protected {
        level.protected = p;
    }
    Ok(())
}
