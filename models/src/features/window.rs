//! One entity's bounded history: a time-ordered ring of its most recent
//! events plus lifetime counters.

use std::collections::VecDeque;

use super::EntityKey;

/// One event in an entity's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The order's key; `None` when it was not keyed (never a repeat).
    pub order: Option<EntityKey>,
    /// Unix seconds.
    pub time: i64,
    /// Order value, minor units.
    pub amount_minor: i64,
    /// The other entity of the event: the customer for a device or an
    /// address, the shipping address for a card, 0 for a customer.
    pub peer: u64,
}

/// The last `capacity` events within `horizon` seconds, oldest first, and
/// lifetime order / return counters.
#[derive(Debug, Clone)]
pub(crate) struct History {
    recent: VecDeque<Entry>,
    capacity: usize,
    horizon: i64,
    /// Distinct orders observed while the entity was in the store.
    pub orders: u64,
    /// Distinct returned orders observed while the entity was in the store.
    pub returns: u64,
    /// The keys of the returned orders counted in `returns`.
    returned: Vec<EntityKey>,
}

impl History {
    pub(crate) fn new(capacity: usize, horizon: i64) -> History {
        History {
            recent: VecDeque::with_capacity(capacity.min(8)),
            capacity: capacity.max(1),
            horizon,
            orders: 0,
            returns: 0,
            returned: Vec::new(),
        }
    }

    /// Records an event, dropping events older than the horizon (relative to
    /// the newest event) and the oldest one when the ring is full. An event
    /// of an order the ring already holds replaces that order's event (the
    /// order is counted once); returns whether the order was new.
    pub(crate) fn push(&mut self, e: Entry) -> bool {
        let repeat = e.order.is_some()
            && self
                .recent
                .iter()
                .position(|x| x.order == e.order)
                .map(|i| self.recent.remove(i))
                .is_some();
        let at = self.recent.partition_point(|x| x.time <= e.time);
        self.recent.insert(at, e);
        let newest = self.recent.back().map_or(e.time, |x| x.time);
        while self
            .recent
            .front()
            .is_some_and(|x| x.time <= newest - self.horizon)
        {
            self.recent.pop_front();
        }
        while self.recent.len() > self.capacity {
            self.recent.pop_front();
        }
        if !repeat {
            self.orders += 1;
        }
        !repeat
    }

    /// Records a returned order (`None`: one not keyed, always counted);
    /// returns whether it was counted (a return of an order already counted
    /// as returned is not).
    pub(crate) fn push_return(&mut self, order: Option<EntityKey>) -> bool {
        if let Some(order) = order {
            if self.returned.contains(&order) {
                return false;
            }
            self.returned.push(order);
        }
        self.returns += 1;
        true
    }

    /// Returned orders over orders, 0..=1 (0 without orders), `except` left
    /// out of both when the history holds it (the order being scored, when
    /// it was observed before: its rate is the one it had the first time).
    pub(crate) fn return_rate(&self, except: Option<EntityKey>) -> f32 {
        let held = except.is_some() && self.recent.iter().any(|e| e.order == except);
        let returned = except.is_some_and(|o| self.returned.contains(&o));
        let orders = self.orders.saturating_sub(u64::from(held));
        let returns = self.returns.saturating_sub(u64::from(returned));
        if orders == 0 {
            return 0.0;
        }
        (returns as f32 / orders as f32).min(1.0)
    }

    /// Events with `now - window < time <= now`, other than `except`'s
    /// (the order being scored, when it was observed before).
    fn within(
        &self,
        now: i64,
        window: i64,
        except: Option<EntityKey>,
    ) -> impl Iterator<Item = &Entry> {
        self.recent.iter().filter(move |e| {
            e.time > now - window && e.time <= now && (e.order.is_none() || e.order != except)
        })
    }

    /// Number of events in the window, `except`'s left out.
    pub(crate) fn count(&self, now: i64, window: i64, except: Option<EntityKey>) -> usize {
        self.within(now, window, except).count()
    }

    /// Total amount of the events in the window, minor units, `except`'s
    /// left out.
    pub(crate) fn amount_minor(&self, now: i64, window: i64, except: Option<EntityKey>) -> i64 {
        self.within(now, window, except)
            .map(|e| e.amount_minor)
            .sum()
    }

    /// Distinct peers in the window together with `also`, `except`'s event
    /// left out (at most `capacity + 1`, counted in a small vector).
    pub(crate) fn distinct_peers(
        &self,
        now: i64,
        window: i64,
        also: u64,
        except: Option<EntityKey>,
    ) -> usize {
        let mut seen: Vec<u64> = Vec::with_capacity(8);
        seen.push(also);
        for e in self.within(now, window, except) {
            if !seen.contains(&e.peer) {
                seen.push(e.peer);
            }
        }
        seen.len()
    }

    /// Events currently held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.recent.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(time: i64, peer: u64) -> Entry {
        Entry {
            order: None,
            time,
            amount_minor: 100,
            peer,
        }
    }

    #[test]
    fn windows_are_half_open_on_the_left() {
        let mut h = History::new(64, 7 * 86_400);
        for t in [0, 1_000, 3_600, 3_601] {
            h.push(e(t, t as u64 % 2));
        }
        assert_eq!(h.count(3_601, 3_600, None), 3); // 1_000, 3_600, 3_601
        assert_eq!(h.count(3_600, 3_600, None), 2); // 1_000, 3_600: 0 is out (0 > 0 is false), 3_601 is later
        assert_eq!(h.count(999, 3_600, None), 1);
        assert_eq!(h.amount_minor(3_601, 86_400, None), 400);
        assert_eq!(h.distinct_peers(3_601, 86_400, 7, None), 3);
    }

    #[test]
    fn ring_is_bounded_and_horizon_prunes() {
        let mut h = History::new(4, 100);
        for t in 0..10 {
            h.push(e(t, 0));
        }
        assert_eq!(h.len(), 4);
        assert_eq!(h.orders, 10);
        h.push(e(500, 0));
        assert_eq!(h.len(), 1, "events older than the horizon are dropped");
    }

    #[test]
    fn out_of_order_events_stay_sorted() {
        let mut h = History::new(3, 1_000);
        h.push(e(10, 1));
        h.push(e(5, 2));
        h.push(e(20, 3));
        h.push(e(15, 4));
        // Oldest (5) evicted.
        assert_eq!(h.count(20, 1_000, None), 3);
        assert_eq!(h.distinct_peers(20, 1_000, 2, None), 4);
    }

    #[test]
    fn a_repeated_order_replaces_its_event_and_counts_once() {
        let mut h = History::new(64, 7 * 86_400);
        let keyed = |order, time| Entry {
            order: Some(order),
            time,
            amount_minor: 100,
            peer: order,
        };
        assert!(h.push(keyed(1, 10)));
        assert!(h.push(keyed(2, 20)));
        assert!(!h.push(keyed(1, 30)), "order 1 again");
        assert!(h.push(e(40, 9)));
        assert!(h.push(e(40, 9)), "unkeyed events are never repeats");
        assert_eq!(h.orders, 4);
        assert_eq!(h.len(), 4);
        assert_eq!(h.count(40, 100, None), 4);
        assert_eq!(h.count(25, 100, None), 1, "order 1 moved to its new time");
        assert_eq!(h.count(40, 100, Some(1)), 3, "the scored order is left out");
        assert_eq!(h.amount_minor(40, 100, Some(2)), 300);
        assert_eq!(h.distinct_peers(40, 100, 5, Some(1)), 3, "5, 2 and 9");
    }

    #[test]
    fn a_returned_order_counts_once() {
        let mut h = History::new(4, 100);
        assert!(h.push_return(Some(7)));
        assert!(!h.push_return(Some(7)));
        assert!(h.push_return(Some(8)));
        assert!(h.push_return(None));
        assert!(h.push_return(None));
        assert_eq!(h.returns, 4);
        assert_eq!(h.return_rate(None), 0.0, "no orders seen");
        for order in 1..=8 {
            h.push(Entry {
                order: Some(order),
                time: order as i64,
                amount_minor: 1,
                peer: 0,
            });
        }
        assert_eq!(h.return_rate(None), 0.5);
        // Order 7, scored again, sees the rate it had: 3 returns of 7.
        assert_eq!(h.return_rate(Some(7)), 3.0 / 7.0);
        assert_eq!(h.return_rate(Some(99)), 0.5, "an order never observed");
    }
}
