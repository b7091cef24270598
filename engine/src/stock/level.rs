//! One stock level and the freshness of one node's snapshot.

use std::time::SystemTime;

use crate::network::NodeId;

/// The stock of one SKU at one node, in units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StockLevel {
    /// Units physically at the node (never negative).
    pub on_hand: i64,
    /// Units promised to orders and not yet shipped (never negative; may
    /// exceed `on_hand` after a physical count drops below it).
    pub reserved: i64,
    /// Units held back for demand the demand model protects (the allocator
    /// uses them only at a penalty); not subtracted by [`StockLevel::available`].
    pub protected: i64,
}

impl StockLevel {
    /// Units that can still be promised: `max(0, on_hand - reserved)`.
    pub fn available(&self) -> i64 {
        self.on_hand.saturating_sub(self.reserved).max(0)
    }

    /// Whether every field is zero.
    pub fn is_zero(&self) -> bool {
        *self == StockLevel::default()
    }
}

/// How current one node's snapshot is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeFreshness {
    /// The node.
    pub node: NodeId,
    /// Bumped by every replacement (bulk load) and every applied delta row;
    /// 0 = never loaded.
    pub version: u64,
    /// Sequence number of the last delta row accepted from the feed (applied
    /// or quarantined), or the as-of sequence of the last replacement.
    pub sequence: u64,
    /// When the snapshot last changed (replacement or applied delta);
    /// `UNIX_EPOCH` if it never did.
    pub updated_at: SystemTime,
    /// Number of SKU rows the node holds now.
    pub rows: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn available_clamps_at_zero() {
        let l = StockLevel {
            on_hand: 3,
            reserved: 5,
            protected: 1,
        };
        assert_eq!(l.available(), 0);
        let l = StockLevel {
            on_hand: 7,
            reserved: 5,
            protected: 1,
        };
        assert_eq!(l.available(), 2);
    }
}
