//! The book as data, and rebuilding it: what checkpoints of durable state
//! hold and recovery replays.

use chrono::NaiveDate;

use super::book::{BookInner, Reservation, ReservationBook, ReservationState};
use crate::network::NodeId;

/// Every reservation of a book and the capacity used per node and day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BookImage {
    /// Live and recently finished reservations, by id.
    pub reservations: Vec<Reservation>,
    /// Units reserved per node and local day.
    pub capacity_used: Vec<(NodeId, NaiveDate, u32)>,
}

impl ReservationBook {
    /// A consistent copy of the book.
    pub fn image(&self) -> BookImage {
        let inner = self.inner.lock();
        let mut reservations: Vec<_> = inner.by_id.values().cloned().collect();
        reservations.sort_by(|a, b| a.id.cmp(&b.id));
        let mut capacity_used: Vec<_> = inner
            .capacity_used
            .iter()
            .map(|(&(node, day), &units)| (node, day, units))
            .collect();
        capacity_used.sort();
        BookImage {
            reservations,
            capacity_used,
        }
    }

    /// Replaces the book's contents with `image`, leaving stock as it is
    /// (a checkpoint's stock already holds the units of its live holds).
    pub fn restore(&self, image: BookImage) {
        let mut inner = self.inner.lock();
        inner.by_id.clear();
        inner.expiry.clear();
        inner.finished.clear();
        inner.capacity_used = image
            .capacity_used
            .into_iter()
            .map(|(node, day, units)| ((node, day), units))
            .collect();
        for reservation in image.reservations {
            file(&mut inner, reservation);
        }
    }

    /// Adds a reservation as it was made, holding its units and capacity
    /// without checking them (they were checked when it was made). A
    /// reservation already in the book is left alone: returns false.
    pub fn replay_hold(&self, reservation: Reservation) -> bool {
        let mut inner = self.inner.lock();
        if inner.by_id.contains_key(&reservation.id) {
            return false;
        }
        if reservation.state == ReservationState::Held {
            let items: Vec<_> = reservation
                .units
                .iter()
                .map(|u| (u.node, u.sku, i64::from(u.quantity)))
                .collect();
            self.stock.restore_holds(&items);
            for &(node, day, units) in &reservation.capacity_days {
                *inner.capacity_used.entry((node, day)).or_insert(0) += units;
            }
        }
        file(&mut inner, reservation);
        true
    }
}

impl ReservationBook {
    /// Replays a re-plan's move as it was made: the held reservation `id`
    /// now holds `units` with `capacity_days`, without checking them (they
    /// were checked when it was made, as was what the reservation held
    /// before: a recorded move is applied whatever it moves from). False,
    /// changing nothing, when the book has no such held reservation.
    pub fn replay_replan(
        &self,
        id: &str,
        units: Vec<super::ReservedUnits>,
        capacity_days: Vec<(NodeId, NaiveDate, u32)>,
        at: std::time::SystemTime,
    ) -> bool {
        let mut inner = self.inner.lock();
        let Some(r) = inner.by_id.get(id) else {
            return false;
        };
        if r.state != ReservationState::Held {
            return false;
        }
        let old: Vec<_> = r
            .units
            .iter()
            .map(|u| (u.node, u.sku, i64::from(u.quantity)))
            .collect();
        let old_days = r.capacity_days.clone();
        let new: Vec<_> = units
            .iter()
            .map(|u| (u.node, u.sku, i64::from(u.quantity)))
            .collect();
        self.stock.release_many(&old);
        self.stock.restore_holds(&new);
        for (node, day, units) in old_days {
            if let Some(used) = inner.capacity_used.get_mut(&(node, day)) {
                *used = used.saturating_sub(units);
            }
        }
        for &(node, day, units) in &capacity_days {
            *inner.capacity_used.entry((node, day)).or_insert(0) += units;
        }
        let r = inner.by_id.get_mut(id).expect("present above");
        r.units = units;
        r.capacity_days = capacity_days;
        r.updated_at = at;
        true
    }
}

/// Files `reservation` in the book's maps: by id, and by expiry when held or
/// by its end when finished.
fn file(inner: &mut BookInner, reservation: Reservation) {
    if reservation.state == ReservationState::Held {
        inner
            .expiry
            .insert((reservation.expires_at, reservation.id.clone()));
    } else {
        inner
            .finished
            .insert((reservation.updated_at, reservation.id.clone()));
    }
    inner.by_id.insert(reservation.id.clone(), reservation);
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::network::{DEMO_SEED, Network, SkuId};
    use crate::reservation::ReservedUnits;
    use crate::stock::{StockLevel, StockStore};

    #[test]
    fn a_replayed_hold_equals_the_hold_and_an_image_restores_the_book() {
        let network = Arc::new(Network::demo(DEMO_SEED));
        let node = network.node_id("DC-ATL").unwrap();
        let now = SystemTime::now();
        let book = |on_hand| {
            let stock = Arc::new(StockStore::new(network.clone()));
            let level = StockLevel {
                on_hand,
                reserved: 0,
                protected: 0,
            };
            stock
                .replace_node(node, vec![(SkuId(0), level)], 0, now)
                .unwrap();
            ReservationBook::new(stock)
        };
        let live = book(10);
        let units = vec![ReservedUnits {
            line_id: "l1".into(),
            node,
            sku: SkuId(0),
            quantity: 4,
        }];
        let made = live
            .hold("o1", "d1", units, Duration::from_secs(60), now)
            .unwrap();
        // Replayed on stock that could no longer cover it: no check.
        let replayed = book(1);
        assert!(replayed.replay_hold(made.clone()));
        assert!(!replayed.replay_hold(made.clone()), "once");
        assert_eq!(replayed.image(), live.image());
        assert_eq!(replayed.stock().held(node, SkuId(0)), 4);
        assert_eq!(
            replayed.remaining_capacity(now),
            live.remaining_capacity(now)
        );
        let restored = book(10);
        restored.restore(live.image());
        assert_eq!(restored.image(), live.image());
        assert_eq!(restored.get(&made.id).unwrap(), made);
    }
}
