//! A replica's snapshot kept equal to the ledger: every `StockChanged` and
//! `CapacityChanged` (from its own commits, the bus, or the ledger read
//! back) is applied once, newest version wins, whatever order they arrive
//! in.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::SystemTime;

use allot_engine::network::{Network, NodeId, SkuId};
use allot_engine::reservation::ReservationBook;
use allot_engine::stock::{StockLevel, StockStore};
use chrono::NaiveDate;
use parking_lot::Mutex;

use crate::messages::{CapacityChanged, StockChanged};

/// Applies the ledger's changes to one replica's stock and book.
pub struct Mirror {
    network: Arc<Network>,
    stock: Arc<StockStore>,
    book: Arc<ReservationBook>,
    /// Version applied per (node, SKU); change position per (node, day).
    seen: Mutex<Seen>,
    /// The highest change position applied.
    position: AtomicI64,
}

#[derive(Default)]
struct Seen {
    rows: HashMap<(NodeId, SkuId), i64>,
    days: HashMap<(NodeId, NaiveDate), i64>,
}

impl Mirror {
    /// A mirror into `book` and its stock.
    pub fn new(book: Arc<ReservationBook>) -> Mirror {
        let stock = book.stock().clone();
        Mirror {
            network: stock.network().clone(),
            stock,
            book,
            seen: Mutex::new(Seen::default()),
            position: AtomicI64::new(0),
        }
    }

    /// The highest ledger change position applied here.
    pub fn position(&self) -> i64 {
        self.position.load(Ordering::Acquire)
    }

    /// Applies a row's level unless a newer version was applied already;
    /// says whether it applied. Rows of nodes or SKUs this network does not
    /// have are ignored.
    pub fn stock(&self, change: &StockChanged) -> bool {
        let (Some(node), Some(sku)) = (
            self.network.node_id(&change.node),
            self.network.sku_id(&change.sku),
        ) else {
            return false;
        };
        let mut seen = self.seen.lock();
        let version = seen.rows.entry((node, sku)).or_insert(0);
        self.position.fetch_max(change.change, Ordering::AcqRel);
        if change.version <= *version {
            return false;
        }
        *version = change.version;
        // Under the lock: two appliers of one row cannot swap their order.
        self.stock.mirror_level(
            node,
            sku,
            StockLevel {
                on_hand: change.on_hand,
                reserved: change.reserved,
                protected: change.protected,
            },
            SystemTime::now(),
        );
        metrics::counter!("allot_ledger_mirrored_total", "what" => "stock").increment(1);
        true
    }

    /// Applies a node-day's capacity use unless a newer one was applied.
    pub fn capacity(&self, change: &CapacityChanged) -> bool {
        let (Some(node), Ok(day)) = (
            self.network.node_id(&change.node),
            NaiveDate::parse_from_str(&change.day, "%Y-%m-%d"),
        ) else {
            return false;
        };
        let mut seen = self.seen.lock();
        let at = seen.days.entry((node, day)).or_insert(0);
        self.position.fetch_max(change.change, Ordering::AcqRel);
        if change.change <= *at {
            return false;
        }
        *at = change.change;
        self.book.mirror_capacity(
            node,
            day,
            u32::try_from(change.used.max(0)).unwrap_or(u32::MAX),
        );
        metrics::counter!("allot_ledger_mirrored_total", "what" => "capacity").increment(1);
        true
    }

    /// The version of a row applied here (0 = none), by codes.
    pub fn version(&self, node: &str, sku: &str) -> i64 {
        let (Some(node), Some(sku)) = (self.network.node_id(node), self.network.sku_id(sku)) else {
            return 0;
        };
        self.seen
            .lock()
            .rows
            .get(&(node, sku))
            .copied()
            .unwrap_or(0)
    }

    /// Every (node, SKU) version applied here, by codes, sorted.
    pub fn versions(&self) -> Vec<(String, String, i64)> {
        let seen = self.seen.lock();
        let mut all: Vec<_> = seen
            .rows
            .iter()
            .map(|(&(node, sku), &v)| {
                (
                    self.network.node(node).code.clone(),
                    self.network.sku(sku).code.clone(),
                    v,
                )
            })
            .collect();
        all.sort();
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use allot_engine::network::DEMO_SEED;

    fn change(version: i64, on_hand: i64) -> StockChanged {
        StockChanged {
            node: "DC-ATL".into(),
            sku: "SKU-000001".into(),
            on_hand,
            reserved: 1,
            protected: 0,
            version,
            change: version * 10,
        }
    }

    #[test]
    fn the_newest_version_wins_in_any_order_and_unknown_rows_are_ignored() {
        let network = Arc::new(Network::demo(DEMO_SEED));
        let stock = Arc::new(StockStore::new(network.clone()));
        let mirror = Mirror::new(Arc::new(ReservationBook::new(stock.clone())));
        let node = network.node_id("DC-ATL").unwrap();
        let sku = network.sku_id("SKU-000001").unwrap();
        assert!(mirror.stock(&change(2, 7)));
        assert!(
            !mirror.stock(&change(1, 99)),
            "an older version arrives late"
        );
        assert!(!mirror.stock(&change(2, 99)), "the same version twice");
        assert_eq!(stock.level(node, sku).on_hand, 7);
        assert!(mirror.stock(&change(3, 5)));
        assert_eq!(stock.level(node, sku).on_hand, 5);
        assert_eq!(mirror.version("DC-ATL", "SKU-000001"), 3);
        assert_eq!(mirror.position(), 30);
        let mut unknown = change(9, 1);
        unknown.node = "NOWHERE".into();
        assert!(!mirror.stock(&unknown));
        let day = CapacityChanged {
            node: "DC-ATL".into(),
            day: "2026-12-06".into(),
            used: 4,
            change: 40,
        };
        assert!(mirror.capacity(&day));
        assert!(!mirror.capacity(&CapacityChanged {
            used: 9,
            change: 35,
            ..day
        }));
    }
}
