//! A node's whole state as data, and restoring it: what checkpoints of
//! durable state are made of and rebuilt from.

use std::time::SystemTime;

use super::level::StockLevel;
use super::snapshot::SortedLevels;
use super::store::StockStore;
use crate::network::{NodeId, SkuId};

/// Everything one node's snapshot holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeImage {
    /// Every row, sorted by SKU (`reserved` includes allot's holds).
    pub rows: Vec<(SkuId, StockLevel)>,
    /// Units allot's reservations hold, per SKU, sorted by SKU.
    pub held: Vec<(SkuId, i64)>,
    /// The snapshot's version.
    pub version: u64,
    /// The last feed sequence applied.
    pub sequence: u64,
    /// When it last changed.
    pub updated_at: SystemTime,
}

impl StockStore {
    /// A consistent copy of node `node`'s whole state. Panics on a node id
    /// from another network.
    pub fn node_image(&self, node: NodeId) -> NodeImage {
        let guard = self.slot(node).read();
        NodeImage {
            rows: guard.levels.to_vec(),
            held: guard.held.iter().map(|(&s, &h)| (s, h)).collect(),
            version: guard.version,
            sequence: guard.sequence,
            updated_at: guard.updated_at,
        }
    }

    /// Sets node `node`'s whole state to `image` (rows of SKUs outside the
    /// network are dropped; rows are sorted and later duplicates dropped).
    /// For recovery: no check, no sequence rule.
    pub fn restore_node(&self, node: NodeId, image: NodeImage) {
        let sku_count = self.network().sku_count();
        let mut rows = image.rows;
        rows.retain(|(sku, _)| (sku.0 as usize) < sku_count);
        rows.sort_by_key(|r| r.0);
        rows.dedup_by_key(|r| r.0);
        let (skus, levels): (Vec<_>, Vec<_>) = rows.into_iter().unzip();
        let mut guard = self.slot(node).write();
        let old = std::mem::replace(&mut guard.levels, SortedLevels::from_sorted(skus, levels));
        guard.held = image
            .held
            .into_iter()
            .filter(|(sku, held)| (sku.0 as usize) < sku_count && *held > 0)
            .collect();
        guard.version = image.version;
        guard.sequence = image.sequence;
        guard.updated_at = image.updated_at;
        for &sku in old.skus().iter().chain(guard.levels.skus()) {
            self.changed(sku);
        }
    }

    /// Holds every `(node, sku, quantity)` without checking availability:
    /// for recovery, which replays holds that were checked when taken.
    /// Unknown ids and non-positive quantities are ignored.
    pub fn restore_holds(&self, items: &[(NodeId, SkuId, i64)]) {
        for &(node, sku, quantity) in items {
            if (node.0 as usize) >= self.network().node_count()
                || (sku.0 as usize) >= self.network().sku_count()
                || quantity <= 0
            {
                continue;
            }
            let mut guard = self.slot(node).write();
            guard.levels.entry(sku).reserved += quantity;
            *guard.held.entry(sku).or_insert(0) += quantity;
            self.changed(sku);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stock::fixture::network;

    #[test]
    fn an_image_restores_to_an_equal_node() {
        let from = StockStore::new(network(2, 3));
        let level = StockLevel {
            on_hand: 9,
            reserved: 1,
            protected: 2,
        };
        let now = SystemTime::now();
        from.replace_node(
            NodeId(1),
            vec![(SkuId(2), level), (SkuId(0), level)],
            4,
            now,
        )
        .unwrap();
        from.hold_many(&[(NodeId(1), SkuId(2), 3)]).unwrap();
        let image = from.node_image(NodeId(1));
        let to = StockStore::new(network(2, 3));
        to.restore_node(NodeId(1), image.clone());
        assert_eq!(to.node_image(NodeId(1)), image);
        assert_eq!(to.held(NodeId(1), SkuId(2)), 3);
        // A replayed hold needs no check.
        to.restore_holds(&[(NodeId(1), SkuId(0), 100)]);
        assert_eq!(to.level(NodeId(1), SkuId(0)).reserved, 101);
    }
}
