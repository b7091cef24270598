//! Delta rows that were refused, why, and the log operators read them from.

use std::collections::VecDeque;

/// How many quarantined rows [`super::StockStore::recent_quarantined`] keeps.
pub const RECENT_QUARANTINE_CAPACITY: usize = 1000;

/// Why a delta row was quarantined instead of applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum QuarantineReason {
    /// The node code is not in the network.
    UnknownNode,
    /// The SKU code is not in the network.
    UnknownSku,
    /// A `set` with a negative quantity, or an `adjust` that would take
    /// `on_hand` below zero (or out of the `i64` range).
    NegativeQuantity,
    /// The kind is neither `adjust` nor `set`.
    InvalidKind,
    /// A negative `protected` quantity.
    NegativeProtected,
}

impl QuarantineReason {
    /// Every reason, in declaration order.
    pub const ALL: [QuarantineReason; 5] = [
        QuarantineReason::UnknownNode,
        QuarantineReason::UnknownSku,
        QuarantineReason::NegativeQuantity,
        QuarantineReason::InvalidKind,
        QuarantineReason::NegativeProtected,
    ];

    /// The snake_case label used in metrics and APIs, e.g. `unknown_node`.
    pub fn as_str(self) -> &'static str {
        match self {
            QuarantineReason::UnknownNode => "unknown_node",
            QuarantineReason::UnknownSku => "unknown_sku",
            QuarantineReason::NegativeQuantity => "negative_quantity",
            QuarantineReason::InvalidKind => "invalid_kind",
            QuarantineReason::NegativeProtected => "negative_protected",
        }
    }

    fn slot(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for QuarantineReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A delta row that was not applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantinedRow {
    /// Position of the row in its stream (`first_index + i`).
    pub index: u64,
    /// Node code as sent.
    pub node: String,
    /// SKU code as sent.
    pub sku: String,
    /// Sequence number as sent.
    pub sequence: u64,
    /// Why it was refused.
    pub reason: QuarantineReason,
    /// A human explanation, e.g. the current `on_hand` and the adjustment.
    pub message: String,
}

/// Counts per reason since start and a ring buffer of the latest rows.
#[derive(Debug, Default)]
pub(crate) struct QuarantineLog {
    counts: [u64; QuarantineReason::ALL.len()],
    recent: VecDeque<QuarantinedRow>,
}

impl QuarantineLog {
    /// Records a batch of quarantined rows.
    pub(crate) fn record(&mut self, rows: &[QuarantinedRow]) {
        for row in rows {
            self.counts[row.reason.slot()] += 1;
        }
        let keep = rows.len().min(RECENT_QUARANTINE_CAPACITY);
        let overflow = (self.recent.len() + keep).saturating_sub(RECENT_QUARANTINE_CAPACITY);
        self.recent.drain(..overflow);
        self.recent
            .extend(rows[rows.len() - keep..].iter().cloned());
    }

    /// Count per reason, every reason listed.
    pub(crate) fn counts(&self) -> Vec<(QuarantineReason, u64)> {
        QuarantineReason::ALL
            .iter()
            .map(|&r| (r, self.counts[r.slot()]))
            .collect()
    }

    /// The latest `limit` rows, oldest first.
    pub(crate) fn recent(&self, limit: usize) -> Vec<QuarantinedRow> {
        let skip = self.recent.len().saturating_sub(limit);
        self.recent.iter().skip(skip).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(index: u64) -> QuarantinedRow {
        QuarantinedRow {
            index,
            node: "N".into(),
            sku: "S".into(),
            sequence: index,
            reason: QuarantineReason::InvalidKind,
            message: String::new(),
        }
    }

    #[test]
    fn ring_buffer_keeps_the_last_thousand() {
        let mut log = QuarantineLog::default();
        let rows: Vec<_> = (0..1500).map(row).collect();
        log.record(&rows[..700]);
        log.record(&rows[700..]);
        let recent = log.recent(usize::MAX);
        assert_eq!(recent.len(), RECENT_QUARANTINE_CAPACITY);
        assert_eq!(recent[0].index, 500);
        assert_eq!(
            log.recent(2).iter().map(|r| r.index).collect::<Vec<_>>(),
            vec![1498, 1499]
        );
        let counts = log.counts();
        assert_eq!(counts[3], (QuarantineReason::InvalidKind, 1500));
        assert_eq!(counts[0], (QuarantineReason::UnknownNode, 0));
    }
}
