//! Supply, the same in every arm: each node is restocked up to its
//! starting level (the demo stock's on-hand units, per SKU) every
//! `replenishment_days` of that node (from the network file), on the days
//! `(day + node index) % replenishment_days == 0` so that nodes of a kind
//! do not all restock on the same morning. A SKU above its starting level
//! (units a transfer brought) is left as it is: an order-up-to policy, so a
//! transfer moves units earlier, it does not add them for free. Supplier
//! orders cost nothing here (the same in every arm).
//!
//! Transfers leave their origin at once and reach their destination the
//! morning `lead_days` later.

use std::collections::BTreeMap;
use std::time::SystemTime;

use allot_engine::network::{NodeId, SkuId};
use allot_engine::stock::{StockLevel, StockStore};

use super::SimError;

/// Units of one SKU on their way to a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arrival {
    /// Day index (of the window) the units arrive, in the morning.
    pub day: usize,
    /// The destination.
    pub node: NodeId,
    /// The SKU.
    pub sku: SkuId,
    /// Units.
    pub units: u32,
}

/// The starting stock and the units in transit.
#[derive(Debug)]
pub struct Supply {
    /// Starting on-hand units per node, by SKU.
    start: Vec<BTreeMap<SkuId, i64>>,
    in_transit: Vec<Arrival>,
    /// Units restocked so far.
    pub restocked_units: u64,
}

impl Supply {
    /// Remembers `stock`'s levels as the starting levels.
    pub fn new(stock: &StockStore) -> Supply {
        let start = stock
            .network()
            .node_ids()
            .map(|n| {
                stock
                    .node_levels(n)
                    .1
                    .into_iter()
                    .map(|(sku, l)| (sku, l.on_hand))
                    .collect()
            })
            .collect();
        Supply {
            start,
            in_transit: Vec::new(),
            restocked_units: 0,
        }
    }

    /// The morning of `day`: restocks the nodes due, then lands the
    /// arrivals due. Returns the units that arrived.
    pub fn morning(
        &mut self,
        stock: &StockStore,
        day: usize,
        at: SystemTime,
    ) -> Result<u64, SimError> {
        let network = stock.network().clone();
        let due = |node: NodeId| {
            let every = network.node(node).replenishment_days.max(1) as usize;
            day > 0 && (day + node.0 as usize).is_multiple_of(every)
        };
        let mut changes: BTreeMap<NodeId, Vec<(SkuId, i64)>> = BTreeMap::new();
        for node in network.node_ids().filter(|&n| due(n)) {
            changes.entry(node).or_default();
        }
        let mut arrived = 0;
        let (landing, later): (Vec<Arrival>, Vec<Arrival>) =
            self.in_transit.drain(..).partition(|a| a.day <= day);
        self.in_transit = later;
        for a in landing {
            arrived += u64::from(a.units);
            changes
                .entry(a.node)
                .or_default()
                .push((a.sku, i64::from(a.units)));
        }
        for (node, added) in changes {
            let restock = due(node);
            let start = &self.start[node.0 as usize];
            let mut restocked = 0;
            self.rewrite(stock, node, at, |levels| {
                if restock {
                    for (&sku, &units) in start {
                        let level = levels.entry(sku).or_default();
                        if level.on_hand < units {
                            restocked += units - level.on_hand;
                            level.on_hand = units;
                        }
                    }
                }
                for &(sku, units) in &added {
                    levels.entry(sku).or_default().on_hand += units;
                }
            })?;
            self.restocked_units += restocked as u64;
        }
        Ok(arrived)
    }

    /// Takes `arrival.units` of `arrival.sku` out of `node` now, to land
    /// at `arrival.node` on the morning of `arrival.day`; never more than
    /// the node's available units less its protected ones. Returns the
    /// units sent.
    pub fn send(
        &mut self,
        stock: &StockStore,
        node: NodeId,
        arrival: Arrival,
        at: SystemTime,
    ) -> Result<u32, SimError> {
        let mut sent = 0;
        self.rewrite(stock, node, at, |levels| {
            let level = levels.entry(arrival.sku).or_default();
            let movable = (level.available() - level.protected).max(0);
            sent = arrival.units.min(u32::try_from(movable).unwrap_or(0));
            level.on_hand -= i64::from(sent);
        })?;
        if sent > 0 {
            self.in_transit.push(Arrival {
                units: sent,
                ..arrival
            });
        }
        Ok(sent)
    }

    /// Units in transit now.
    pub fn in_transit_units(&self) -> u64 {
        self.in_transit.iter().map(|a| u64::from(a.units)).sum()
    }

    /// Replaces `node`'s snapshot with its levels changed by `change`, as
    /// a stock feed would (no hold is live between orders: each is
    /// confirmed when made).
    fn rewrite(
        &self,
        stock: &StockStore,
        node: NodeId,
        at: SystemTime,
        change: impl FnOnce(&mut BTreeMap<SkuId, StockLevel>),
    ) -> Result<(), SimError> {
        let (freshness, rows) = stock.node_levels(node);
        let mut levels: BTreeMap<SkuId, StockLevel> = rows.into_iter().collect();
        change(&mut levels);
        stock.replace_node(node, levels.into_iter().collect(), freshness.sequence, at)?;
        Ok(())
    }
}
