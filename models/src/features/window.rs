//! One entity's bounded history: a time-ordered ring of its most recent
//! events plus lifetime counters.

use std::collections::VecDeque;

/// One event in an entity's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry {
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
    /// Orders observed while the entity was in the store.
    pub orders: u64,
    /// Returns observed while the entity was in the store.
    pub returns: u64,
}

impl History {
    pub(crate) fn new(capacity: usize, horizon: i64) -> History {
        History {
            recent: VecDeque::with_capacity(capacity.min(8)),
            capacity: capacity.max(1),
            horizon,
            orders: 0,
            returns: 0,
        }
    }

    /// Records an event, dropping events older than the horizon (relative to
    /// the newest event) and the oldest one when the ring is full.
    pub(crate) fn push(&mut self, e: Entry) {
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
        self.orders += 1;
    }

    /// Events with `now - window < time <= now`.
    fn within(&self, now: i64, window: i64) -> impl Iterator<Item = &Entry> {
        self.recent
            .iter()
            .filter(move |e| e.time > now - window && e.time <= now)
    }

    /// Number of events in the window.
    pub(crate) fn count(&self, now: i64, window: i64) -> usize {
        self.within(now, window).count()
    }

    /// Total amount of the events in the window, minor units.
    pub(crate) fn amount_minor(&self, now: i64, window: i64) -> i64 {
        self.within(now, window).map(|e| e.amount_minor).sum()
    }

    /// Distinct peers in the window together with `also` (at most
    /// `capacity + 1`, counted in a small on-stack-sized vector).
    pub(crate) fn distinct_peers(&self, now: i64, window: i64, also: u64) -> usize {
        let mut seen: Vec<u64> = Vec::with_capacity(8);
        seen.push(also);
        for e in self.within(now, window) {
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
        assert_eq!(h.count(3_601, 3_600), 3); // 1_000, 3_600, 3_601
        assert_eq!(h.count(3_600, 3_600), 2); // 1_000, 3_600: 0 is out (0 > 0 is false), 3_601 is later
        assert_eq!(h.count(999, 3_600), 1);
        assert_eq!(h.amount_minor(3_601, 86_400), 400);
        assert_eq!(h.distinct_peers(3_601, 86_400, 7), 3);
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
        assert_eq!(h.count(20, 1_000), 3);
        assert_eq!(h.distinct_peers(20, 1_000, 2), 4);
    }
}
