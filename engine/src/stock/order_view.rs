//! [`StockStore::order_view`]: the levels an allocation needs, read with one
//! read lock per node.

use super::level::StockLevel;
use super::store::StockStore;
use crate::network::{NodeId, SkuId};

/// A node's snapshot version and last delta sequence, as read with its
/// levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeVersion {
    /// The node.
    pub node: NodeId,
    /// Its snapshot version (bumped by every replacement, applied delta row
    /// and shipment).
    pub version: u64,
    /// The last delta sequence it accepted; 0 before the first.
    pub sequence: u64,
}

/// The levels of a few SKUs (an order's lines) at every node, with each
/// node's snapshot version at the time it was read.
///
/// Each node is read consistently under its own read lock; nodes are read
/// one after another (never two locks at once), so two nodes may come from
/// different moments. The versions let a later reservation detect change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderStockView {
    skus: Vec<SkuId>,
    /// Node-major: `levels[node * skus.len() + k]`.
    levels: Vec<StockLevel>,
    /// (version, sequence) per node.
    versions: Vec<(u64, u64)>,
}

impl OrderStockView {
    /// The SKUs the view holds, in the order they were asked for.
    pub fn skus(&self) -> &[SkuId] {
        &self.skus
    }

    /// The level of the `k`-th requested SKU at `node` (zero when the node
    /// has no row for it). Panics on an index out of range.
    pub fn level(&self, node: NodeId, k: usize) -> StockLevel {
        self.levels[node.0 as usize * self.skus.len() + k]
    }

    /// The snapshot version of `node` when it was read.
    pub fn version(&self, node: NodeId) -> u64 {
        self.versions[node.0 as usize].0
    }

    /// The snapshot version and delta sequence of `node` when it was read.
    pub fn node_version(&self, node: NodeId) -> NodeVersion {
        let (version, sequence) = self.versions[node.0 as usize];
        NodeVersion {
            node,
            version,
            sequence,
        }
    }

    /// The view as if `units` of `sku` held at `node` were released: its
    /// `reserved` there drops by them (never below zero). What a re-plan of
    /// the orders holding them reads.
    pub fn release(&mut self, node: NodeId, sku: SkuId, units: i64) {
        let width = self.skus.len();
        for (k, &s) in self.skus.iter().enumerate() {
            if s == sku
                && let Some(level) = self.levels.get_mut(node.0 as usize * width + k)
            {
                level.reserved = (level.reserved - units).max(0);
            }
        }
    }

    /// Number of nodes in the view (every node of the network).
    pub fn node_count(&self) -> usize {
        self.versions.len()
    }
}

impl StockStore {
    /// The levels of `skus` at every node, one read lock per node, with each
    /// node's version. Repeated SKUs are allowed (each gets its own column).
    pub fn order_view(&self, skus: &[SkuId]) -> OrderStockView {
        let mut levels = Vec::with_capacity(self.nodes.len() * skus.len());
        let mut versions = Vec::with_capacity(self.nodes.len());
        for slot in self.nodes.iter() {
            let guard = slot.0.read();
            levels.extend(
                skus.iter()
                    .map(|&s| guard.levels.get(s).unwrap_or_default()),
            );
            versions.push((guard.version, guard.sequence));
        }
        OrderStockView {
            skus: skus.to_vec(),
            levels,
            versions,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::SystemTime;

    use super::*;
    use crate::network::{DEMO_SEED, Network};

    #[test]
    fn view_matches_single_reads() {
        let network = Arc::new(Network::demo(DEMO_SEED));
        let store = StockStore::new(network.clone());
        let level = StockLevel {
            on_hand: 9,
            reserved: 2,
            protected: 1,
        };
        store
            .replace_node(NodeId(1), vec![(SkuId(3), level)], 0, SystemTime::now())
            .unwrap();
        let view = store.order_view(&[SkuId(3), SkuId(4)]);
        assert_eq!(view.level(NodeId(1), 0), level);
        assert_eq!(view.level(NodeId(1), 1), StockLevel::default());
        assert_eq!(view.level(NodeId(0), 0), StockLevel::default());
        assert_eq!(view.version(NodeId(1)), 1);
        assert_eq!(view.version(NodeId(0)), 0);
        store.apply_deltas(
            0,
            &[crate::stock::DeltaRow {
                node: network.node(NodeId(1)).code.clone(),
                sku: network.sku(SkuId(3)).code.clone(),
                sequence: 7,
                kind: Some(crate::stock::DeltaKind::Adjust),
                quantity: 1,
                protected: None,
            }],
            SystemTime::now(),
        );
        let view = store.order_view(&[SkuId(3)]);
        assert_eq!(
            view.node_version(NodeId(1)),
            NodeVersion {
                node: NodeId(1),
                version: 2,
                sequence: 7
            }
        );
        assert_eq!(view.node_count(), network.node_count());
    }
}
