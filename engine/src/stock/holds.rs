//! allot's own holds on stock: the units its reservations keep.
//!
//! A hold adds to a level's `reserved` (so `available()` drops) and is also
//! remembered per node and SKU, apart from the feed's numbers. When the feed
//! replaces a node's snapshot, the held units are added back onto the new
//! rows' `reserved`: a replacement never frees what allot reserved. Holds
//! end by release (the units become available again) or by shipment
//! (`ship_many`: the units leave `on_hand` too).
//!
//! Multi-node operations lock every node involved in ascending [`NodeId`]
//! order and check everything before changing anything: all or nothing.

use std::collections::BTreeMap;

use parking_lot::RwLockWriteGuard;

use super::error::StockError;
use super::snapshot::NodeSnapshot;
use super::store::StockStore;
use crate::network::{NodeId, SkuId};

/// Units per (node, SKU), summed, in ascending order.
fn totals(items: &[(NodeId, SkuId, i64)]) -> BTreeMap<(NodeId, SkuId), i64> {
    let mut totals = BTreeMap::new();
    for &(node, sku, quantity) in items {
        *totals.entry((node, sku)).or_insert(0) += quantity;
    }
    totals
}

impl StockStore {
    /// Write guards of every node in `totals`, ascending by node.
    fn lock_nodes(
        &self,
        totals: &BTreeMap<(NodeId, SkuId), i64>,
    ) -> BTreeMap<NodeId, RwLockWriteGuard<'_, NodeSnapshot>> {
        let mut guards = BTreeMap::new();
        for &(node, _) in totals.keys() {
            guards
                .entry(node)
                .or_insert_with(|| self.slot(node).write());
        }
        guards
    }

    fn check_ids(&self, items: &[(NodeId, SkuId, i64)]) -> Result<(), StockError> {
        for &(node, sku, quantity) in items {
            if node.0 as usize >= self.network().node_count() {
                return Err(StockError::UnknownNode(format!("#{}", node.0)));
            }
            if sku.0 as usize >= self.network().sku_count() {
                return Err(StockError::UnknownSku {
                    at: "hold".into(),
                    sku: format!("#{}", sku.0),
                });
            }
            if quantity < 0 {
                return Err(StockError::InvalidQuantity(quantity));
            }
        }
        Ok(())
    }

    /// Holds every `(node, sku, quantity)` at once, or none: fails with
    /// [`StockError::Insufficient`] (naming the first short node and SKU)
    /// unless each pair's available units cover the summed quantity. A
    /// [`StockStore::move_holds`] that releases nothing.
    pub fn hold_many(&self, items: &[(NodeId, SkuId, i64)]) -> Result<(), StockError> {
        self.move_holds(&[], items)
    }

    /// Moves holds in one step: ends the holds `release` (as
    /// [`StockStore::release_many`]) and takes the holds `hold`, or changes
    /// nothing: fails with [`StockError::Insufficient`] unless each pair's
    /// available units, plus what `release` frees there, cover `hold`. No
    /// other call sees the released units in between.
    pub fn move_holds(
        &self,
        release: &[(NodeId, SkuId, i64)],
        hold: &[(NodeId, SkuId, i64)],
    ) -> Result<(), StockError> {
        self.check_ids(release)?;
        self.check_ids(hold)?;
        let freed = totals(release);
        let taken = totals(hold);
        let mut every = freed.clone();
        every.extend(taken.keys().map(|&k| (k, 0)));
        let mut guards = self.lock_nodes(&every);
        // What each release really frees: never more than is held.
        let freed: BTreeMap<(NodeId, SkuId), i64> = freed
            .into_iter()
            .map(|((node, sku), quantity)| {
                let held = guards[&node].held.get(&sku).copied().unwrap_or(0);
                ((node, sku), quantity.min(held).max(0))
            })
            .collect();
        for (&(node, sku), &quantity) in &taken {
            let available = guards[&node].levels.get(sku).map_or(0, |l| l.available())
                + freed.get(&(node, sku)).copied().unwrap_or(0);
            if available < quantity {
                drop(guards);
                return Err(StockError::Insufficient {
                    node: self.network().node(node).code.clone(),
                    sku: self.network().sku(sku).code.clone(),
                    requested: quantity,
                    available,
                });
            }
        }
        for &(node, sku) in every.keys() {
            let delta = taken.get(&(node, sku)).copied().unwrap_or(0)
                - freed.get(&(node, sku)).copied().unwrap_or(0);
            if delta == 0 {
                continue;
            }
            let guard = guards.get_mut(&node).expect("locked above");
            let held = guard.held.get(&sku).copied().unwrap_or(0) + delta;
            if held == 0 {
                guard.held.remove(&sku);
            } else {
                guard.held.insert(sku, held);
            }
            let level = guard.levels.entry(sku);
            level.reserved = (level.reserved + delta).max(0);
            self.changed(sku);
        }
        Ok(())
    }

    /// Ends holds without shipping: `reserved` and the hold drop by up to
    /// each quantity (never below what is held). Unknown ids and negative
    /// quantities are ignored.
    pub fn release_many(&self, items: &[(NodeId, SkuId, i64)]) {
        self.end_holds(items, None);
    }

    /// Ends holds because the units shipped: as [`StockStore::release_many`],
    /// and `on_hand` drops by the same units (never below zero). Each node
    /// whose stock changed gets a new version and update time `at`, as for
    /// an applied delta.
    pub fn ship_many(&self, items: &[(NodeId, SkuId, i64)], at: std::time::SystemTime) {
        self.end_holds(items, Some(at));
    }

    fn end_holds(&self, items: &[(NodeId, SkuId, i64)], shipped_at: Option<std::time::SystemTime>) {
        let valid: Vec<_> = items
            .iter()
            .copied()
            .filter(|&(n, s, q)| {
                (n.0 as usize) < self.network().node_count()
                    && (s.0 as usize) < self.network().sku_count()
                    && q > 0
            })
            .collect();
        let totals = totals(&valid);
        let mut guards = self.lock_nodes(&totals);
        for (&(node, sku), &quantity) in &totals {
            let guard = guards.get_mut(&node).expect("locked above");
            let held = guard.held.get(&sku).copied().unwrap_or(0);
            let ending = quantity.min(held);
            if ending <= 0 {
                continue;
            }
            if held == ending {
                guard.held.remove(&sku);
            } else {
                guard.held.insert(sku, held - ending);
            }
            let level = guard.levels.entry(sku);
            level.reserved -= ending.min(level.reserved);
            if let Some(at) = shipped_at {
                level.on_hand -= ending.min(level.on_hand);
                guard.version += 1;
                guard.updated_at = at;
            }
            self.changed(sku);
        }
    }

    /// Units allot holds of `sku` at `node`.
    pub fn held(&self, node: NodeId, sku: SkuId) -> i64 {
        self.slot(node).read().held.get(&sku).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use crate::network::{NodeId, SkuId};
    use crate::stock::StockLevel;
    use crate::stock::StockStore;
    use crate::stock::fixture::network;

    fn store() -> StockStore {
        StockStore::new(network(3, 3))
    }

    fn lvl(on_hand: i64, reserved: i64) -> StockLevel {
        StockLevel {
            on_hand,
            reserved,
            protected: 0,
        }
    }

    #[test]
    fn holds_are_all_or_nothing_across_nodes() {
        let s = store();
        let now = SystemTime::now();
        s.replace_node(NodeId(0), vec![(SkuId(0), lvl(5, 0))], 0, now)
            .unwrap();
        s.replace_node(NodeId(1), vec![(SkuId(0), lvl(1, 0))], 0, now)
            .unwrap();
        let err = s
            .hold_many(&[(NodeId(0), SkuId(0), 3), (NodeId(1), SkuId(0), 2)])
            .unwrap_err();
        assert!(err.to_string().contains("2"), "{err}");
        assert_eq!(
            s.level(NodeId(0), SkuId(0)).reserved,
            0,
            "nothing held on failure"
        );
        s.hold_many(&[(NodeId(0), SkuId(0), 3), (NodeId(1), SkuId(0), 1)])
            .unwrap();
        assert_eq!(s.level(NodeId(0), SkuId(0)).available(), 2);
        assert_eq!(s.level(NodeId(1), SkuId(0)).available(), 0);
    }

    #[test]
    fn moved_holds_are_all_or_nothing_and_may_reuse_what_they_free() {
        let s = store();
        let now = SystemTime::now();
        s.replace_node(NodeId(0), vec![(SkuId(0), lvl(5, 0))], 0, now)
            .unwrap();
        s.replace_node(NodeId(1), vec![(SkuId(0), lvl(2, 0))], 0, now)
            .unwrap();
        s.hold_many(&[(NodeId(0), SkuId(0), 5)]).unwrap();
        // Node 1 has 2: moving 3 there fails and changes nothing.
        let short = s
            .move_holds(&[(NodeId(0), SkuId(0), 3)], &[(NodeId(1), SkuId(0), 3)])
            .unwrap_err();
        assert!(short.to_string().contains("3"), "{short}");
        assert_eq!(s.held(NodeId(0), SkuId(0)), 5);
        assert_eq!(s.level(NodeId(1), SkuId(0)).reserved, 0);
        // Moving 2 there, and re-taking 1 of the 3 freed at node 0.
        s.move_holds(
            &[(NodeId(0), SkuId(0), 3)],
            &[(NodeId(1), SkuId(0), 2), (NodeId(0), SkuId(0), 1)],
        )
        .unwrap();
        assert_eq!(s.held(NodeId(0), SkuId(0)), 3);
        assert_eq!(s.level(NodeId(0), SkuId(0)), lvl(5, 3));
        assert_eq!(s.held(NodeId(1), SkuId(0)), 2);
        assert_eq!(s.level(NodeId(1), SkuId(0)).available(), 0);
        // A node with nothing free takes back only what is moved off it.
        let full = s
            .move_holds(&[(NodeId(1), SkuId(0), 1)], &[(NodeId(1), SkuId(0), 2)])
            .unwrap_err();
        assert!(matches!(
            full,
            crate::stock::StockError::Insufficient { .. }
        ));
    }

    #[test]
    fn a_replacement_keeps_held_units_reserved() {
        let s = store();
        let now = SystemTime::now();
        s.replace_node(NodeId(0), vec![(SkuId(0), lvl(5, 1))], 0, now)
            .unwrap();
        s.hold_many(&[(NodeId(0), SkuId(0), 3)]).unwrap();
        assert_eq!(s.level(NodeId(0), SkuId(0)).reserved, 4);
        // The feed reports 6 on hand and 0 reserved outside allot.
        s.replace_node(NodeId(0), vec![(SkuId(0), lvl(6, 0))], 1, now)
            .unwrap();
        assert_eq!(s.level(NodeId(0), SkuId(0)).reserved, 3);
        assert_eq!(s.level(NodeId(0), SkuId(0)).available(), 3);
        // Even a replacement without the SKU keeps the hold visible.
        s.replace_node(NodeId(0), vec![], 2, now).unwrap();
        assert_eq!(s.level(NodeId(0), SkuId(0)).reserved, 3);
    }

    #[test]
    fn shipping_and_releasing_end_holds() {
        let s = store();
        let now = SystemTime::now();
        s.replace_node(NodeId(0), vec![(SkuId(0), lvl(10, 0))], 0, now)
            .unwrap();
        s.hold_many(&[(NodeId(0), SkuId(0), 4)]).unwrap();
        let before = s.freshness(NodeId(0)).version;
        s.ship_many(&[(NodeId(0), SkuId(0), 3)], now);
        assert_eq!(s.level(NodeId(0), SkuId(0)), lvl(7, 1));
        assert!(s.freshness(NodeId(0)).version > before);
        s.release_many(&[(NodeId(0), SkuId(0), 5)]);
        assert_eq!(
            s.level(NodeId(0), SkuId(0)),
            lvl(7, 0),
            "release never exceeds the hold"
        );
        assert_eq!(s.held(NodeId(0), SkuId(0)), 0);
    }
}
