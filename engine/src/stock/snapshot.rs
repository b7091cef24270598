//! The per-node map from SKU to level: two parallel vectors sorted by SKU.
//!
//! A sorted structure-of-arrays costs 28 bytes per row (a `HashMap` would
//! cost 40-70), keeps `node_levels` sorted for free and makes a lookup a
//! search over a dense `u32` array ([`search`]: a guess from the id, then a
//! binary search in a small window around it).

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
        search(&self.skus, sku).ok().map(|i| self.levels[i])
    }

    /// The level of `sku` for update, inserting a zero row if absent.
    pub(crate) fn entry(&mut self, sku: SkuId) -> &mut StockLevel {
        let i = match search(&self.skus, sku) {
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

/// `skus.binary_search(&sku)` (sorted, no duplicates), found faster: SKU
/// ids are dense integers, so the row of `sku` is first looked for where
/// it would sit if the node's SKUs were spread evenly over their id range,
/// then in windows that double around that guess, and binary search
/// finishes inside the window. On a node stocking a random part of the
/// catalogue the guess lands within a few rows, so a lookup touches one or
/// two cache lines instead of the dozen of a binary search over thousands
/// of rows; on any other spread it costs at most about twice a binary
/// search.
pub(crate) fn search(skus: &[SkuId], sku: SkuId) -> Result<usize, usize> {
    let (Some(&first), Some(&last)) = (skus.first(), skus.last()) else {
        return Err(0);
    };
    if sku <= first || sku >= last {
        return skus.binary_search(&sku);
    }
    // From here first < sku < last, so the guess is in 1..len - 1 or at 0
    // with skus[0] < sku, and both gallops stop inside the slice.
    let n = skus.len();
    let span = u64::from(last.0 - first.0);
    let guess = (u64::from(sku.0 - first.0) * (n as u64 - 1) / span) as usize;
    // A window with skus[lo] < sku <= skus[hi].
    let (lo, hi) = if skus[guess] < sku {
        let (mut lo, mut hi, mut step) = (guess, guess + 1, 1);
        while skus[hi] < sku {
            lo = hi;
            hi = (hi + step).min(n - 1);
            step *= 2;
        }
        (lo, hi)
    } else {
        let (mut lo, mut hi, mut step) = (guess - 1, guess, 1);
        while skus[lo] >= sku {
            hi = lo;
            lo = lo.saturating_sub(step);
            step *= 2;
        }
        (lo, hi)
    };
    match skus[lo + 1..=hi].binary_search(&sku) {
        Ok(i) => Ok(lo + 1 + i),
        Err(i) => Err(lo + 1 + i),
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

    proptest::proptest! {
        #[test]
        fn search_answers_as_binary_search(
            ids in proptest::collection::btree_set(0u32..5_000, 0..300),
            probes in proptest::collection::vec(0u32..5_100, 1..50),
            clustered in proptest::bool::ANY,
        ) {
            // Evenly spread ids, or squeezed into the low end (a bad guess).
            let skus: Vec<SkuId> = ids
                .iter()
                .map(|&i| SkuId(if clustered { i / 64 * 64 + i % 7 } else { i }))
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            for p in probes.into_iter().chain(skus.iter().map(|s| s.0)) {
                proptest::prop_assert_eq!(search(&skus, SkuId(p)), skus.binary_search(&SkuId(p)));
            }
        }
    }
}
