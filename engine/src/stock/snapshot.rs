//! The per-node map from SKU to level: two parallel vectors sorted by SKU.
//!
//! A sorted structure-of-arrays costs 28 bytes per row (a `HashMap` would
//! cost 40-70), keeps `node_levels` sorted for free and makes a lookup a
//! binary search over a dense `u32` array.

use std::time::SystemTime;

use super::level::{NodeFreshness, StockLevel};
use crate::network::{NodeId, SkuId};

/// One node's stock and its freshness; lives behind the node's lock.
#[derive(Debug)]
pub(crate) struct NodeSnapshot {
    pub(crate) levels: SortedLevels,
    /// Units held by allot's own reservations, per SKU; they are part of
    /// `levels[sku].reserved` and survive replacements (see `holds.rs`).
    pub(crate) held: std::collections::BTreeMap<SkuId, i64>,
    pub(crate) version: u64,
    pub(crate) sequence: u64,
    pub(crate) updated_at: SystemTime,
}

impl NodeSnapshot {
    /// An empty, never-loaded snapshot.
    pub(crate) fn empty() -> NodeSnapshot {
        NodeSnapshot {
            levels: SortedLevels::default(),
            held: std::collections::BTreeMap::new(),
            version: 0,
            sequence: 0,
            updated_at: SystemTime::UNIX_EPOCH,
        }
    }

    /// The freshness of this snapshot as node `node`.
    pub(crate) fn freshness(&self, node: NodeId) -> NodeFreshness {
        NodeFreshness {
            node,
            version: self.version,
            sequence: self.sequence,
            updated_at: self.updated_at,
            rows: self.levels.len(),
        }
    }
}

/// SKU -> level, sorted by SKU, no duplicates.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct SortedLevels {
    skus: Vec<SkuId>,
    levels: Vec<StockLevel>,
}

impl SortedLevels {
    /// Builds from rows already sorted by SKU without duplicates.
    pub(crate) fn from_sorted(skus: Vec<SkuId>, levels: Vec<StockLevel>) -> SortedLevels {
        debug_assert_eq!(skus.len(), levels.len());
        debug_assert!(skus.windows(2).all(|w| w[0] < w[1]));
        SortedLevels { skus, levels }
    }

    /// Number of rows.
    pub(crate) fn len(&self) -> usize {
        self.skus.len()
    }

    /// The level of `sku`, if the node has a row for it.
    pub(crate) fn get(&self, sku: SkuId) -> Option<StockLevel> {
        self.skus.binary_search(&sku).ok().map(|i| self.levels[i])
    }

    /// The level of `sku` for update, inserting a zero row if absent.
    pub(crate) fn entry(&mut self, sku: SkuId) -> &mut StockLevel {
        let i = match self.skus.binary_search(&sku) {
            Ok(i) => i,
            Err(i) => {
                self.skus.insert(i, sku);
                self.levels.insert(i, StockLevel::default());
                i
            }
        };
        &mut self.levels[i]
    }

    /// The SKUs with a row, sorted.
    pub(crate) fn skus(&self) -> &[SkuId] {
        &self.skus
    }

    /// A copy of every row, sorted by SKU.
    pub(crate) fn to_vec(&self) -> Vec<(SkuId, StockLevel)> {
        self.skus
            .iter()
            .copied()
            .zip(self.levels.iter().copied())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_keeps_rows_sorted() {
        let mut m = SortedLevels::default();
        for s in [5, 1, 3, 1] {
            m.entry(SkuId(s)).on_hand += 1;
        }
        let v = m.to_vec();
        assert_eq!(v.iter().map(|r| r.0.0).collect::<Vec<_>>(), vec![1, 3, 5]);
        assert_eq!(m.get(SkuId(1)).unwrap().on_hand, 2);
        assert_eq!(m.get(SkuId(2)), None);
    }
}
