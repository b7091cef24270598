//! Levels set from a ledger shared by several processes (the scale-out
//! state of docs/scale-out.md): the ledger's row is the truth, and this
//! process's own holds that are not yet in the ledger stay on top of it.

use std::time::SystemTime;

use super::level::StockLevel;
use super::store::StockStore;
use crate::network::{NodeId, SkuId};

impl StockStore {
    /// Sets `sku`'s level at `node` to the shared ledger's `level`, plus the
    /// units this process holds there that the ledger does not have yet
    /// (holds between a solve and its commit). Bumps the node's version and
    /// sets `updated_at` when the level changed. Unknown ids are ignored.
    pub fn mirror_level(&self, node: NodeId, sku: SkuId, level: StockLevel, at: SystemTime) {
        if (node.0 as usize) >= self.network().node_count()
            || (sku.0 as usize) >= self.network().sku_count()
        {
            return;
        }
        let mut guard = self.slot(node).write();
        let in_flight = guard.held.get(&sku).copied().unwrap_or(0);
        let wanted = StockLevel {
            reserved: level.reserved.saturating_add(in_flight),
            ..level
        };
        let current = guard.levels.get(sku).unwrap_or_default();
        if current == wanted {
            return;
        }
        *guard.levels.entry(sku) = wanted;
        guard.version += 1;
        guard.updated_at = at;
        self.changed(sku);
    }

    /// Moves node `node`'s feed sequence forward to `sequence` (never back):
    /// the sequence the shared ledger accepted from another process.
    pub fn mirror_sequence(&self, node: NodeId, sequence: u64) {
        if (node.0 as usize) >= self.network().node_count() {
            return;
        }
        let mut guard = self.slot(node).write();
        guard.sequence = guard.sequence.max(sequence);
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use crate::network::{NodeId, SkuId};
    use crate::stock::StockLevel;
    use crate::stock::StockStore;
    use crate::stock::fixture::network;

    fn lvl(on_hand: i64, reserved: i64) -> StockLevel {
        StockLevel {
            on_hand,
            reserved,
            protected: 0,
        }
    }

    #[test]
    fn a_mirrored_level_keeps_holds_not_yet_in_the_ledger() {
        let s = StockStore::new(network(2, 2));
        let now = SystemTime::now();
        s.replace_node(NodeId(0), vec![(SkuId(0), lvl(10, 0))], 0, now)
            .unwrap();
        s.hold_many(&[(NodeId(0), SkuId(0), 3)]).unwrap();
        let before = s.freshness(NodeId(0)).version;
        // Another process reserved 4: the ledger says 10 on hand, 4 reserved.
        s.mirror_level(NodeId(0), SkuId(0), lvl(10, 4), now);
        assert_eq!(s.level(NodeId(0), SkuId(0)), lvl(10, 7));
        assert!(s.freshness(NodeId(0)).version > before);
        // The same level again is no change.
        let version = s.freshness(NodeId(0)).version;
        s.mirror_level(NodeId(0), SkuId(0), lvl(10, 4), now);
        assert_eq!(s.freshness(NodeId(0)).version, version);
        s.mirror_sequence(NodeId(0), 9);
        s.mirror_sequence(NodeId(0), 4);
        assert_eq!(s.freshness(NodeId(0)).sequence, 9, "never moves back");
    }
}
