//! The book of a process that shares its ledger with others (the scale-out
//! state of docs/scale-out.md): a hold lives here only between its solve
//! and its commit to the shared ledger, and capacity used is the ledger's
//! plus those holds.

use chrono::NaiveDate;

use super::book::{ReservationBook, ReservationState};
use crate::network::NodeId;

impl ReservationBook {
    /// Ends a hold made here without a trace: its units and capacity are
    /// given back and the book forgets it (the shared ledger has it now, or
    /// it was never committed). Unknown ids are ignored.
    pub fn withdraw(&self, id: &str) {
        let mut inner = self.inner.lock();
        let Some(reservation) = inner.by_id.remove(id) else {
            return;
        };
        inner
            .expiry
            .remove(&(reservation.expires_at, reservation.id.clone()));
        inner
            .finished
            .remove(&(reservation.updated_at, reservation.id.clone()));
        if reservation.state != ReservationState::Held {
            return;
        }
        let items: Vec<_> = reservation
            .units
            .iter()
            .map(|u| (u.node, u.sku, i64::from(u.quantity)))
            .collect();
        self.stock.release_many(&items);
        for &(node, day, units) in &reservation.capacity_days {
            if let Some(used) = inner.capacity_used.get_mut(&(node, day)) {
                *used = used.saturating_sub(units);
            }
        }
    }

    /// Sets the units used at `node` on its local `day` to the shared
    /// ledger's `used`, plus what the holds still here take that day.
    pub fn mirror_capacity(&self, node: NodeId, day: NaiveDate, used: u32) {
        let mut inner = self.inner.lock();
        let in_flight: u32 = inner
            .by_id
            .values()
            .filter(|r| r.state == ReservationState::Held)
            .flat_map(|r| r.capacity_days.iter())
            .filter(|&&(n, d, _)| n == node && d == day)
            .map(|&(_, _, units)| units)
            .sum();
        inner
            .capacity_used
            .insert((node, day), used.saturating_add(in_flight));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, SystemTime};

    use crate::network::{DEMO_SEED, Network, SkuId};
    use crate::reservation::{ReservationBook, ReservedUnits};
    use crate::stock::{StockLevel, StockStore};

    #[test]
    fn a_withdrawn_hold_gives_back_units_and_capacity_and_is_forgotten() {
        let network = Arc::new(Network::demo(DEMO_SEED));
        let stock = Arc::new(StockStore::new(network.clone()));
        let node = network.node_id("DC-ATL").unwrap();
        let level = StockLevel {
            on_hand: 10,
            reserved: 0,
            protected: 0,
        };
        let now = SystemTime::now();
        stock
            .replace_node(node, vec![(SkuId(0), level)], 0, now)
            .unwrap();
        let book = ReservationBook::new(stock.clone());
        let full = book.remaining_capacity(now)[node.0 as usize];
        let units = vec![ReservedUnits {
            line_id: "l1".into(),
            node,
            sku: SkuId(0),
            quantity: 4,
        }];
        let r = book
            .hold("o1", "d1", units, Duration::from_secs(60), now)
            .unwrap();
        let day = r.capacity_days[0].1;
        // The ledger says 7 used by others: 7 + 4 held here.
        book.mirror_capacity(node, day, 7);
        assert_eq!(book.remaining_capacity(now)[node.0 as usize], full - 11);
        book.withdraw(&r.id);
        assert_eq!(stock.level(node, SkuId(0)).available(), 10);
        assert_eq!(book.remaining_capacity(now)[node.0 as usize], full - 7);
        assert!(book.get(&r.id).is_err());
        book.withdraw(&r.id);
    }
}
