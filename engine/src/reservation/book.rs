//! The reservation book: live and recently finished reservations, their
//! expiry, and the capacity they consume.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Days, NaiveDate, Utc};
use chrono_tz::Tz;
use parking_lot::Mutex;

use crate::ErrorCode;
use crate::error::Classify;
use crate::network::{NodeId, SkuId};
use crate::stock::{StockError, StockStore};

/// How long finished reservations stay queryable.
const FINISHED_RETENTION: Duration = Duration::from_secs(24 * 3600);

/// Where a reservation is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReservationState {
    /// Units are held.
    Held,
    /// The units shipped; the hold ended and on-hand dropped.
    Confirmed,
    /// The caller released the hold.
    Released,
    /// The time to live ran out before confirmation.
    Expired,
}

impl ReservationState {
    /// Lower-case name, as messages say it.
    pub fn name(self) -> &'static str {
        match self {
            ReservationState::Held => "held",
            ReservationState::Confirmed => "confirmed",
            ReservationState::Released => "released",
            ReservationState::Expired => "expired",
        }
    }

    /// What a caller whose operation this state refused does next, as the
    /// end of a message.
    fn next_step(self) -> &'static str {
        match self {
            ReservationState::Released | ReservationState::Expired => {
                ": its units are available again; allocate again"
            }
            ReservationState::Confirmed => ": its units have shipped",
            ReservationState::Held => "",
        }
    }
}

/// Units of one order line's SKU held at one node.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReservedUnits {
    /// The order line the units are for.
    pub line_id: String,
    /// The node.
    pub node: NodeId,
    /// The SKU.
    pub sku: SkuId,
    /// Units held.
    pub quantity: u32,
}

/// A reservation after a confirm, release or expiry, and whether that call
/// changed it (false for an idempotent repeat).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// The reservation as it is now.
    pub reservation: Reservation,
    /// This call moved it out of HELD.
    pub changed: bool,
}

/// New units for a held reservation: one move of a re-plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rehold {
    /// The held reservation.
    pub id: String,
    /// What it held when the move was planned: the move applies only while
    /// it still holds exactly these units (in any order).
    pub before: Vec<ReservedUnits>,
    /// What it holds after the move (replacing all it held).
    pub units: Vec<ReservedUnits>,
}

impl Rehold {
    /// Whether `held` (what the reservation holds now) are the units the
    /// move was planned on, in any order.
    pub fn planned_on(&self, held: &[ReservedUnits]) -> bool {
        fn sorted(units: &[ReservedUnits]) -> Vec<(&str, NodeId, SkuId, u32)> {
            let mut keys: Vec<_> = units
                .iter()
                .map(|u| (u.line_id.as_str(), u.node, u.sku, u.quantity))
                .collect();
            keys.sort_unstable();
            keys
        }
        held.len() == self.before.len() && sorted(held) == sorted(&self.before)
    }
}

/// One reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    /// Opaque id (`rsv_` + ULID).
    pub id: String,
    /// The order it holds stock for.
    pub order_id: String,
    /// The allocation decision that made it.
    pub decision_id: String,
    /// What it holds.
    pub units: Vec<ReservedUnits>,
    /// When it was made.
    pub created_at: SystemTime,
    /// When it expires unless confirmed or released.
    pub expires_at: SystemTime,
    /// Its state.
    pub state: ReservationState,
    /// When its state last changed.
    pub updated_at: SystemTime,
    /// Units it takes from each node's daily capacity, by the node's local
    /// day: (node, day, units).
    pub capacity_days: Vec<(NodeId, NaiveDate, u32)>,
}

/// Why a reservation operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ReservationError {
    /// No reservation has this id (or it finished more than a day ago).
    #[error("reservation_id: unknown reservation {0:?}")]
    NotFound(String),
    /// The reservation is not in a state that allows the operation.
    #[error("reservation_id: reservation {id:?} is {} and cannot be {wanted}{}", state.name(), state.next_step())]
    WrongState {
        /// The reservation.
        id: String,
        /// Its state.
        state: ReservationState,
        /// What was asked (confirmed, released).
        wanted: &'static str,
    },
    /// Stock was short when the hold was taken.
    #[error(transparent)]
    Stock(#[from] StockError),
    /// A re-plan's move was planned on other units than the reservation
    /// holds now: another re-plan moved it since.
    #[error(
        "reservation {0:?} changed since the re-plan was planned (another re-plan moved it first)"
    )]
    Changed(String),
    /// A re-plan listed the same reservation twice.
    #[error("reservation {0:?} is listed twice in one re-plan")]
    Repeated(String),
    /// A node's daily capacity was used up by other commits since the solve.
    #[error("{node} has {remaining} units of capacity left today, {requested} requested")]
    Capacity {
        /// The node code.
        node: String,
        /// Units the plan puts on it.
        requested: u32,
        /// Units it can still take today.
        remaining: u32,
    },
}

impl Classify for ReservationError {
    fn code(&self) -> ErrorCode {
        match self {
            ReservationError::NotFound(_) => ErrorCode::NotFound,
            ReservationError::WrongState { .. } => ErrorCode::FailedPrecondition,
            ReservationError::Stock(e) => e.code(),
            ReservationError::Changed(_) => ErrorCode::FailedPrecondition,
            ReservationError::Repeated(_) => ErrorCode::InvalidArgument,
            ReservationError::Capacity { .. } => ErrorCode::FailedPrecondition,
        }
    }
}

#[derive(Default)]
pub(super) struct BookInner {
    pub(super) by_id: HashMap<String, Reservation>,
    /// (expires_at, id) of held reservations.
    pub(super) expiry: BTreeSet<(SystemTime, String)>,
    /// (finished_at, id) of finished reservations, for purging.
    pub(super) finished: BTreeSet<(SystemTime, String)>,
    /// Units reserved per node and local day.
    pub(super) capacity_used: HashMap<(NodeId, NaiveDate), u32>,
}

/// Live and recently finished reservations over one [`StockStore`].
pub struct ReservationBook {
    pub(super) stock: Arc<StockStore>,
    pub(super) inner: Mutex<BookInner>,
}

impl ReservationBook {
    /// An empty book over `stock`.
    pub fn new(stock: Arc<StockStore>) -> ReservationBook {
        ReservationBook {
            stock,
            inner: Mutex::new(BookInner::default()),
        }
    }

    /// The stock the book holds units of.
    pub fn stock(&self) -> &Arc<StockStore> {
        &self.stock
    }

    /// The local date of `node` at `at`.
    fn node_day(&self, node: NodeId, at: SystemTime) -> NaiveDate {
        let tz = self.stock.network().node(node).time_zone;
        DateTime::<Utc>::from(at).with_timezone(&tz).date_naive()
    }

    /// Units each node can still take today (daily capacity minus units
    /// reserved for its local day), indexed by [`NodeId`].
    pub fn remaining_capacity(&self, now: SystemTime) -> Vec<u32> {
        let network = self.stock.network();
        // The local day once per time zone (a network has a handful), and
        // outside the lock every reservation takes.
        let mut zones: Vec<(Tz, NaiveDate)> = Vec::new();
        let days: Vec<NaiveDate> = network
            .nodes()
            .iter()
            .map(|n| match zones.iter().find(|z| z.0 == n.time_zone) {
                Some(&(_, day)) => day,
                None => {
                    let day = DateTime::<Utc>::from(now)
                        .with_timezone(&n.time_zone)
                        .date_naive();
                    zones.push((n.time_zone, day));
                    day
                }
            })
            .collect();
        let inner = self.inner.lock();
        network
            .node_ids()
            .zip(days)
            .map(|(node, day)| {
                let used = inner.capacity_used.get(&(node, day)).copied().unwrap_or(0);
                network.node(node).daily_capacity_units.saturating_sub(used)
            })
            .collect()
    }

    /// Holds `units` for `order_id` until `now + ttl`, all or nothing.
    /// Fails with the stock error (FAILED_PRECONDITION) when any unit is no
    /// longer available: the caller re-solves on fresh stock.
    pub fn hold(
        &self,
        order_id: &str,
        decision_id: &str,
        units: Vec<ReservedUnits>,
        ttl: Duration,
        now: SystemTime,
    ) -> Result<Reservation, ReservationError> {
        let items: Vec<_> = units
            .iter()
            .map(|u| (u.node, u.sku, i64::from(u.quantity)))
            .collect();
        let capacity_days = self.capacity_days(&units, now);
        let mut inner = self.inner.lock();
        // Capacity is checked under the book's lock, so two commits can not
        // both take a node's last units of the day.
        for &(node, day, units) in &capacity_days {
            let used = inner.capacity_used.get(&(node, day)).copied().unwrap_or(0);
            let capacity = self.stock.network().node(node).daily_capacity_units;
            if used + units > capacity {
                return Err(ReservationError::Capacity {
                    node: self.stock.network().node(node).code.clone(),
                    requested: units,
                    remaining: capacity.saturating_sub(used),
                });
            }
        }
        self.stock.hold_many(&items)?;
        for &(node, day, units) in &capacity_days {
            *inner.capacity_used.entry((node, day)).or_insert(0) += units;
        }
        let reservation = Reservation {
            id: format!("rsv_{}", ulid::Ulid::new()),
            order_id: order_id.to_string(),
            decision_id: decision_id.to_string(),
            units,
            created_at: now,
            expires_at: now + ttl,
            state: ReservationState::Held,
            updated_at: now,
            capacity_days,
        };
        inner
            .expiry
            .insert((reservation.expires_at, reservation.id.clone()));
        inner
            .by_id
            .insert(reservation.id.clone(), reservation.clone());
        Ok(reservation)
    }

    /// Every held reservation, by id.
    pub fn held(&self) -> Vec<Reservation> {
        let inner = self.inner.lock();
        let mut held: Vec<Reservation> = inner
            .expiry
            .iter()
            .filter_map(|(_, id)| inner.by_id.get(id).cloned())
            .collect();
        held.sort_by(|a, b| a.id.cmp(&b.id));
        held
    }

    /// Moves held reservations to new units, all or nothing: each keeps
    /// its id, order, decision and expiry; its old units and their
    /// capacity are given back and the new units held, their capacity
    /// taken on each node's local day at `now`. Fails, changing nothing,
    /// when a reservation is not held, holds other units than its move's
    /// `before` ([`ReservationError::Changed`]: another re-plan moved it
    /// since this one was planned), is listed twice
    /// ([`ReservationError::Repeated`]), or a node's capacity of the day or a
    /// pair's stock (counting what the moves free) does not cover the new
    /// units. Returns the reservations as they are now, in `moves` order.
    pub fn replan(
        &self,
        moves: &[Rehold],
        now: SystemTime,
    ) -> Result<Vec<Reservation>, ReservationError> {
        let mut inner = self.inner.lock();
        let mut release = Vec::new();
        let mut hold = Vec::new();
        let mut given_back: HashMap<(NodeId, NaiveDate), u32> = HashMap::new();
        let mut taken: HashMap<(NodeId, NaiveDate), u32> = HashMap::new();
        let mut days = Vec::with_capacity(moves.len());
        let mut seen = std::collections::HashSet::with_capacity(moves.len());
        for m in moves {
            if !seen.insert(m.id.as_str()) {
                return Err(ReservationError::Repeated(m.id.clone()));
            }
            let r = inner
                .by_id
                .get(&m.id)
                .ok_or_else(|| ReservationError::NotFound(m.id.clone()))?;
            if r.state != ReservationState::Held {
                return Err(ReservationError::WrongState {
                    id: m.id.clone(),
                    state: r.state,
                    wanted: "re-planned",
                });
            }
            if !m.planned_on(&r.units) {
                return Err(ReservationError::Changed(m.id.clone()));
            }
            release.extend(
                r.units
                    .iter()
                    .map(|u| (u.node, u.sku, i64::from(u.quantity))),
            );
            hold.extend(
                m.units
                    .iter()
                    .map(|u| (u.node, u.sku, i64::from(u.quantity))),
            );
            for &(node, day, units) in &r.capacity_days {
                *given_back.entry((node, day)).or_insert(0) += units;
            }
            let capacity_days = self.capacity_days(&m.units, now);
            for &(node, day, units) in &capacity_days {
                *taken.entry((node, day)).or_insert(0) += units;
            }
            days.push(capacity_days);
        }
        let network = self.stock.network();
        for (&(node, day), &units) in &taken {
            let back = given_back.get(&(node, day)).copied().unwrap_or(0);
            if units <= back {
                continue;
            }
            let used = inner.capacity_used.get(&(node, day)).copied().unwrap_or(0);
            let capacity = network.node(node).daily_capacity_units;
            let left = capacity.saturating_sub(used.saturating_sub(back));
            if units > left {
                return Err(ReservationError::Capacity {
                    node: network.node(node).code.clone(),
                    requested: units,
                    remaining: left,
                });
            }
        }
        self.stock.move_holds(&release, &hold)?;
        for (key, units) in given_back {
            if let Some(used) = inner.capacity_used.get_mut(&key) {
                *used = used.saturating_sub(units);
            }
        }
        for (key, units) in taken {
            *inner.capacity_used.entry(key).or_insert(0) += units;
        }
        let mut moved = Vec::with_capacity(moves.len());
        for (m, capacity_days) in moves.iter().zip(days) {
            let r = inner.by_id.get_mut(&m.id).expect("checked above");
            r.units = m.units.clone();
            r.capacity_days = capacity_days;
            r.updated_at = now;
            moved.push(r.clone());
        }
        Ok(moved)
    }

    /// Units per node of `units`, on each node's local day at `now`.
    fn capacity_days(
        &self,
        units: &[ReservedUnits],
        now: SystemTime,
    ) -> Vec<(NodeId, NaiveDate, u32)> {
        let mut per_node: HashMap<NodeId, u32> = HashMap::new();
        for u in units {
            *per_node.entry(u.node).or_insert(0) += u.quantity;
        }
        let mut days: Vec<_> = per_node
            .into_iter()
            .map(|(node, units)| (node, self.node_day(node, now), units))
            .collect();
        days.sort();
        days
    }

    /// The reservation with this id.
    pub fn get(&self, id: &str) -> Result<Reservation, ReservationError> {
        self.inner
            .lock()
            .by_id
            .get(id)
            .cloned()
            .ok_or_else(|| ReservationError::NotFound(id.to_string()))
    }

    /// Confirms a held reservation: its units shipped. Confirming a
    /// confirmed reservation answers it unchanged (idempotent).
    pub fn confirm(&self, id: &str, now: SystemTime) -> Result<Reservation, ReservationError> {
        self.finish(id, ReservationState::Confirmed, now)
            .map(|f| f.reservation)
    }

    /// Releases a held reservation. Releasing a released or expired
    /// reservation answers it unchanged (idempotent).
    pub fn release(&self, id: &str, now: SystemTime) -> Result<Reservation, ReservationError> {
        self.finish(id, ReservationState::Released, now)
            .map(|f| f.reservation)
    }

    /// Ends a held reservation in `to` (confirmed or released), saying
    /// whether this call changed it: a repeat of a confirm or a release (or a
    /// release of an expired hold) answers the reservation as it is and
    /// `changed` false.
    pub fn finish_as(
        &self,
        id: &str,
        to: ReservationState,
        now: SystemTime,
    ) -> Result<Finished, ReservationError> {
        self.finish(id, to, now)
    }

    /// Expires every held reservation whose time ran out by `now`, and
    /// forgets finished ones older than a day and the capacity used on days
    /// that are over in every time zone. Returns the expired ones.
    pub fn expire_due(&self, now: SystemTime) -> Vec<Reservation> {
        let due: Vec<String> = {
            let inner = self.inner.lock();
            inner
                .expiry
                .iter()
                .take_while(|(at, _)| *at <= now)
                .map(|(_, id)| id.clone())
                .collect()
        };
        let expired = due
            .iter()
            .filter_map(|id| self.finish(id, ReservationState::Expired, now).ok())
            .filter(|f| f.changed)
            .map(|f| f.reservation)
            .collect();
        self.purge(now);
        expired
    }

    /// Forgets finished reservations older than a day and the capacity used
    /// on days that are over in every time zone (as of `now`).
    pub fn purge(&self, now: SystemTime) {
        let mut inner = self.inner.lock();
        let cutoff = now
            .checked_sub(FINISHED_RETENTION)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let old: Vec<_> = inner
            .finished
            .iter()
            .take_while(|(at, _)| *at <= cutoff)
            .cloned()
            .collect();
        for key in old {
            inner.finished.remove(&key);
            inner.by_id.remove(&key.1);
        }
        // Two UTC days back is yesterday or earlier in every time zone.
        if let Some(oldest_kept) = DateTime::<Utc>::from(now)
            .date_naive()
            .checked_sub_days(Days::new(2))
        {
            inner
                .capacity_used
                .retain(|&(_, day), _| day >= oldest_kept);
        }
    }

    /// Node-days with capacity used on record (for tests of forgetting).
    #[cfg(test)]
    fn capacity_days_on_record(&self) -> usize {
        self.inner.lock().capacity_used.len()
    }

    /// Number of reservations currently holding stock.
    pub fn live(&self) -> usize {
        self.inner.lock().expiry.len()
    }

    fn finish(
        &self,
        id: &str,
        to: ReservationState,
        now: SystemTime,
    ) -> Result<Finished, ReservationError> {
        let mut inner = self.inner.lock();
        let reservation = inner
            .by_id
            .get(id)
            .cloned()
            .ok_or_else(|| ReservationError::NotFound(id.to_string()))?;
        let unchanged = |reservation| {
            Ok(Finished {
                reservation,
                changed: false,
            })
        };
        match reservation.state {
            ReservationState::Held => {}
            state if state == to => return unchanged(reservation),
            // Releasing what already expired is a no-op, as the contract says.
            ReservationState::Expired if to == ReservationState::Released => {
                return unchanged(reservation);
            }
            state => {
                return Err(ReservationError::WrongState {
                    id: id.to_string(),
                    state,
                    wanted: match to {
                        ReservationState::Confirmed => "confirmed",
                        ReservationState::Released => "released",
                        ReservationState::Expired => "expired",
                        ReservationState::Held => "held",
                    },
                });
            }
        }
        let items: Vec<_> = reservation
            .units
            .iter()
            .map(|u| (u.node, u.sku, i64::from(u.quantity)))
            .collect();
        if to == ReservationState::Confirmed {
            self.stock.ship_many(&items, now);
        } else {
            self.stock.release_many(&items);
            for &(node, day, units) in &reservation.capacity_days {
                if let Some(used) = inner.capacity_used.get_mut(&(node, day)) {
                    *used = used.saturating_sub(units);
                }
            }
        }
        inner
            .expiry
            .remove(&(reservation.expires_at, reservation.id.clone()));
        inner.finished.insert((now, reservation.id.clone()));
        let updated = inner.by_id.get_mut(id).expect("present above");
        updated.state = to;
        updated.updated_at = now;
        Ok(Finished {
            reservation: updated.clone(),
            changed: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::{DEMO_SEED, Network};
    use crate::stock::StockLevel;

    fn book() -> (ReservationBook, NodeId, SkuId) {
        let network = Arc::new(Network::demo(DEMO_SEED));
        let stock = Arc::new(StockStore::new(network.clone()));
        let node = network.node_id("DC-ATL").unwrap();
        let sku = SkuId(0);
        let level = StockLevel {
            on_hand: 10,
            reserved: 0,
            protected: 0,
        };
        stock
            .replace_node(node, vec![(sku, level)], 0, SystemTime::now())
            .unwrap();
        (ReservationBook::new(stock), node, sku)
    }

    fn units(node: NodeId, sku: SkuId, quantity: u32) -> Vec<ReservedUnits> {
        vec![ReservedUnits {
            line_id: "l1".into(),
            node,
            sku,
            quantity,
        }]
    }

    #[test]
    fn capacity_used_on_days_over_everywhere_is_forgotten() {
        let (book, node, sku) = book();
        let now = SystemTime::now();
        let capacity = book.remaining_capacity(now)[node.0 as usize];
        book.hold(
            "o1",
            "d1",
            units(node, sku, 3),
            Duration::from_secs(60),
            now,
        )
        .unwrap();
        book.confirm(
            &book
                .hold(
                    "o2",
                    "d2",
                    units(node, sku, 2),
                    Duration::from_secs(60),
                    now,
                )
                .unwrap()
                .id,
            now,
        )
        .unwrap();
        // The next day the hold has expired (its units gave back) and the
        // day is still on record: it may be today somewhere.
        book.expire_due(now + Duration::from_secs(86_400));
        assert_eq!(book.capacity_days_on_record(), 1);
        assert_eq!(book.remaining_capacity(now)[node.0 as usize], capacity - 2);
        book.expire_due(now + Duration::from_secs(3 * 86_400));
        assert_eq!(book.capacity_days_on_record(), 0);
    }

    #[test]
    fn a_replan_moves_every_hold_or_none() {
        let (book, atl, sku) = book();
        let network = book.stock().network().clone();
        let other = network.node_id("DC-ONT").unwrap();
        let now = SystemTime::now();
        let level = StockLevel {
            on_hand: 4,
            reserved: 0,
            protected: 0,
        };
        book.stock()
            .replace_node(other, vec![(sku, level)], 0, now)
            .unwrap();
        let ttl = Duration::from_secs(60);
        let a = book.hold("o1", "d1", units(atl, sku, 3), ttl, now).unwrap();
        let b = book.hold("o2", "d2", units(atl, sku, 2), ttl, now).unwrap();
        let before = book.image();
        // b moves to LAX (4 there) and a to LAX too: 3 + 2 > 4, refused whole.
        let refused = book
            .replan(
                &[
                    Rehold {
                        id: a.id.clone(),
                        before: a.units.clone(),
                        units: units(other, sku, 3),
                    },
                    Rehold {
                        id: b.id.clone(),
                        before: b.units.clone(),
                        units: units(other, sku, 2),
                    },
                ],
                now,
            )
            .unwrap_err();
        assert_eq!(refused.code(), ErrorCode::FailedPrecondition, "{refused}");
        assert_eq!(book.image(), before, "nothing changed");
        let moved = book
            .replan(
                &[Rehold {
                    id: b.id.clone(),
                    before: b.units.clone(),
                    units: units(other, sku, 2),
                }],
                now,
            )
            .unwrap();
        assert_eq!(moved[0].units, units(other, sku, 2));
        assert_eq!(moved[0].decision_id, "d2", "the order's decision stays");
        assert_eq!(book.stock().held(atl, sku), 3);
        assert_eq!(book.stock().held(other, sku), 2);
        let capacity = |n: NodeId| book.remaining_capacity(now)[n.0 as usize];
        assert_eq!(
            capacity(atl),
            network.node(atl).daily_capacity_units - 3,
            "the moved units' capacity came back"
        );
        assert_eq!(
            capacity(other),
            network.node(other).daily_capacity_units - 2
        );
        // A finished reservation cannot move.
        book.release(&a.id, now).unwrap();
        let finished = book
            .replan(
                &[Rehold {
                    id: a.id.clone(),
                    before: a.units.clone(),
                    units: units(other, sku, 1),
                }],
                now,
            )
            .unwrap_err();
        assert!(matches!(finished, ReservationError::WrongState { .. }));
        // Replaying the move on a book that made only the holds gives the
        // same book.
        let stock = Arc::new(StockStore::new(network.clone()));
        let replayed = ReservationBook::new(stock);
        replayed.restore(before.clone());
        replayed.stock().restore_holds(&[(atl, sku, 5)]);
        assert!(replayed.replay_replan(
            &b.id,
            moved[0].units.clone(),
            moved[0].capacity_days.clone(),
            now
        ));
        assert_eq!(replayed.stock().held(other, sku), 2);
        assert_eq!(replayed.stock().held(atl, sku), 3);
        assert_eq!(replayed.get(&b.id).unwrap(), book.get(&b.id).unwrap());
    }

    #[test]
    fn a_move_planned_on_units_the_hold_no_longer_has_is_refused() {
        let (book, atl, sku) = book();
        let ont = book.stock().network().node_id("DC-ONT").unwrap();
        let now = SystemTime::now();
        let level = StockLevel {
            on_hand: 4,
            reserved: 0,
            protected: 0,
        };
        book.stock()
            .replace_node(ont, vec![(sku, level)], 0, now)
            .unwrap();
        let ttl = Duration::from_secs(60);
        let a = book.hold("o1", "d1", units(atl, sku, 3), ttl, now).unwrap();
        let b = book.hold("o2", "d2", units(atl, sku, 2), ttl, now).unwrap();
        // Two re-plans planned on the same holds; the first to apply moves b.
        let first = Rehold {
            id: b.id.clone(),
            before: b.units.clone(),
            units: units(ont, sku, 2),
        };
        let second = [
            Rehold {
                id: a.id.clone(),
                before: a.units.clone(),
                units: units(ont, sku, 1),
            },
            Rehold {
                id: b.id.clone(),
                before: b.units.clone(),
                units: units(ont, sku, 1),
            },
        ];
        book.replan(std::slice::from_ref(&first), now).unwrap();
        let before = book.image();
        let refused = book.replan(&second, now).unwrap_err();
        assert!(
            matches!(&refused, ReservationError::Changed(id) if *id == b.id),
            "{refused}"
        );
        assert_eq!(refused.code(), ErrorCode::FailedPrecondition);
        assert!(refused.to_string().contains("changed since"), "{refused}");
        assert_eq!(book.image(), before, "nothing changed, a's move neither");
        assert_eq!(book.stock().held(atl, sku), 3);
        assert_eq!(book.stock().held(ont, sku), 2);
        // Re-applying the first re-plan is refused too: b moved already.
        let again = book.replan(std::slice::from_ref(&first), now).unwrap_err();
        assert!(matches!(again, ReservationError::Changed(_)), "{again}");
        // Planned on what b holds now, in any order, the move applies.
        let split = vec![
            ReservedUnits {
                line_id: "l1".into(),
                node: ont,
                sku,
                quantity: 1,
            },
            ReservedUnits {
                line_id: "l1".into(),
                node: atl,
                sku,
                quantity: 1,
            },
        ];
        book.replan(
            &[Rehold {
                id: b.id.clone(),
                before: units(ont, sku, 2),
                units: split.clone(),
            }],
            now,
        )
        .unwrap();
        let reversed: Vec<_> = split.iter().rev().cloned().collect();
        let moved = book
            .replan(
                &[Rehold {
                    id: b.id.clone(),
                    before: reversed,
                    units: units(ont, sku, 2),
                }],
                now,
            )
            .unwrap();
        assert_eq!(moved[0].units, units(ont, sku, 2));
        assert_eq!(book.stock().held(atl, sku), 3);
        assert_eq!(book.stock().held(ont, sku), 2);
        // The same hold listed twice in one re-plan is refused, nothing
        // changed (each copy alone was planned on what it holds).
        let twice = Rehold {
            id: a.id.clone(),
            before: a.units.clone(),
            units: units(ont, sku, 1),
        };
        let before = book.image();
        let repeated = book.replan(&[twice.clone(), twice], now).unwrap_err();
        assert!(
            matches!(&repeated, ReservationError::Repeated(id) if *id == a.id),
            "{repeated}"
        );
        assert_eq!(repeated.code(), ErrorCode::InvalidArgument);
        assert_eq!(book.image(), before);
    }

    #[test]
    fn only_the_first_confirm_or_release_is_a_change() {
        let (book, node, sku) = book();
        let now = SystemTime::now();
        let hold = |order: &str| {
            book.hold(order, "d", units(node, sku, 1), Duration::from_secs(1), now)
                .unwrap()
                .id
        };
        let (a, b, c) = (hold("o1"), hold("o2"), hold("o3"));
        let confirm = |id: &str| {
            book.finish_as(id, ReservationState::Confirmed, now)
                .unwrap()
        };
        let release = |id: &str| book.finish_as(id, ReservationState::Released, now).unwrap();
        assert!(confirm(&a).changed);
        let repeat = confirm(&a);
        assert!(!repeat.changed);
        assert_eq!(repeat.reservation.state, ReservationState::Confirmed);
        assert!(release(&b).changed);
        assert!(!release(&b).changed);
        book.expire_due(now + Duration::from_secs(2));
        let expired = release(&c);
        assert!(
            !expired.changed,
            "releasing an expired hold changes nothing"
        );
        assert_eq!(expired.reservation.state, ReservationState::Expired);
        assert_eq!(book.stock().level(node, sku).reserved, 0);
    }

    #[test]
    fn hold_confirm_release_and_expire() {
        let (book, node, sku) = book();
        let now = SystemTime::now();
        let capacity = book.remaining_capacity(now)[node.0 as usize];
        let a = book
            .hold(
                "o1",
                "d1",
                units(node, sku, 4),
                Duration::from_secs(60),
                now,
            )
            .unwrap();
        let b = book
            .hold("o2", "d2", units(node, sku, 5), Duration::from_secs(1), now)
            .unwrap();
        assert_eq!(book.stock().level(node, sku).available(), 1);
        assert_eq!(book.remaining_capacity(now)[node.0 as usize], capacity - 9);
        let short = book
            .hold(
                "o3",
                "d3",
                units(node, sku, 2),
                Duration::from_secs(60),
                now,
            )
            .unwrap_err();
        assert_eq!(short.code(), ErrorCode::FailedPrecondition);

        let confirmed = book.confirm(&a.id, now).unwrap();
        assert_eq!(confirmed.state, ReservationState::Confirmed);
        assert_eq!(
            book.confirm(&a.id, now).unwrap().state,
            ReservationState::Confirmed
        );
        assert_eq!(
            book.release(&a.id, now).unwrap_err().code(),
            ErrorCode::FailedPrecondition
        );
        let level = book.stock().level(node, sku);
        assert_eq!((level.on_hand, level.reserved), (6, 5));

        // More units than the node's daily capacity allows are refused
        // without holding anything.
        let big = book
            .hold(
                "o4",
                "d4",
                units(node, sku, capacity),
                Duration::from_secs(60),
                now,
            )
            .unwrap_err();
        assert!(matches!(big, ReservationError::Capacity { .. }), "{big}");
        assert_eq!(book.stock().level(node, sku).available(), 1);

        let expired = book.expire_due(now + Duration::from_secs(2));
        assert_eq!(expired.len(), 1);
        assert_eq!(expired[0].id, b.id);
        assert_eq!(book.stock().level(node, sku).available(), 6);
        assert_eq!(book.live(), 0);
        let again = book.release(&b.id, now).unwrap();
        assert_eq!(
            again.state,
            ReservationState::Expired,
            "releasing an expired reservation is a no-op"
        );
        assert_eq!(book.stock().level(node, sku).available(), 6);
        assert_eq!(book.remaining_capacity(now)[node.0 as usize], capacity - 4);
        assert_eq!(book.get("nope").unwrap_err().code(), ErrorCode::NotFound);
    }
}
