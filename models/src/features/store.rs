//! The feature store: rolling per-entity aggregates the fraud features read.
//!
//! Four kinds of entity are tracked: customers, devices, cards and shipping
//! addresses. Each entity keeps a [`History`]: its last `ring_capacity`
//! events (default 64) no older than `horizon` (default 7 days), plus
//! lifetime order and return counters for the return rate.
//!
//! # Memory and eviction
//!
//! Each kind is a [`moka::sync::Cache`] bounded by `max_entities` entries
//! (default 500,000 per kind) with `time_to_idle` (default 8 days):
//!
//! - an entity neither observed nor queried for 8 days is dropped; its 7-day
//!   windows would be empty anyway, only its lifetime return rate is lost;
//! - when a kind is full, moka evicts by its TinyLFU policy (rarely seen
//!   entities go first, and a brand-new entity may not be admitted while
//!   the cache is full of frequent ones).
//!
//! An evicted or unadmitted entity reads as "no history": zero counts and a
//! zero return rate, the same as a new one. Memory is bounded by
//! `4 * max_entities * (ring_capacity * 24 bytes + overhead)`; with the
//! defaults, about 3.5 GB in the worst case, a few hundred MB in practice
//! since most entities have a handful of events (rings grow on demand).
//!
//! Time idleness is measured on the wall clock; window arithmetic uses the
//! events' own timestamps, so replaying history (the world exporter) gives
//! the same features as live traffic.
//!
//! All methods take `&self`: the caches are concurrent and each entity's
//! history sits behind its own mutex.
//!
//! Orders are counted by their key ([`Observation::order`]): an order
//! scored twice (ScoreOrder, then Allocate with a context) is one order in
//! every count, and its own earlier observation is left out of the history
//! its features read, so scoring it again gives the features it had the
//! first time (if nothing else happened in between). A repeat is recognised
//! while the entity's ring still holds the order (its horizon and capacity).
//! Returns are counted per returned order
//! ([`FeatureStore::observe_returned_order`]).
//!
//! Nothing here is durable: what the store keeps of an order is an
//! [`Observation`], which the server records with each decision and feeds
//! back through [`FeatureStore::remember`] at start, for the orders within
//! [`FeatureStore::lookback_secs`]; reported returns are recorded likewise
//! and fed back through [`FeatureStore::observe_returned_order`].

use std::sync::Arc;
use std::time::Duration;

use moka::sync::Cache;
use parking_lot::Mutex;

use super::window::{Entry, History};
use super::{EntityKey, FraudFeatures, Observation, OrderEvent, ReturnObservation, Velocity};

const HOUR: i64 = 3_600;
const DAY: i64 = 24 * HOUR;
const WEEK: i64 = 7 * DAY;
/// The longest window any feature reads (see [`FeatureStore::velocity`]).
const LONGEST_WINDOW: i64 = WEEK;

/// Limits of a [`FeatureStore`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// Most entities kept per kind (customers, devices, cards, addresses).
    pub max_entities: u64,
    /// An entity not touched for this long (wall clock) is dropped.
    pub time_to_idle: Duration,
    /// Most recent events kept per entity.
    pub ring_capacity: usize,
    /// Events older than this (relative to the entity's newest), seconds,
    /// are dropped.
    pub horizon_secs: i64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            max_entities: 500_000,
            time_to_idle: Duration::from_secs(8 * 86_400),
            ring_capacity: 64,
            horizon_secs: WEEK,
        }
    }
}

type Shared = Arc<Mutex<History>>;

/// Rolling aggregates per customer, device, card and shipping address.
pub struct FeatureStore {
    config: StoreConfig,
    customers: Cache<EntityKey, Shared>,
    devices: Cache<EntityKey, Shared>,
    cards: Cache<EntityKey, Shared>,
    addresses: Cache<EntityKey, Shared>,
}

impl std::fmt::Debug for FeatureStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeatureStore")
            .field("config", &self.config)
            .field("entities", &self.entity_count())
            .finish()
    }
}

impl Default for FeatureStore {
    fn default() -> Self {
        FeatureStore::new(StoreConfig::default())
    }
}

impl FeatureStore {
    /// An empty store with these limits.
    pub fn new(config: StoreConfig) -> FeatureStore {
        let cache = || {
            Cache::builder()
                .max_capacity(config.max_entities)
                .time_to_idle(config.time_to_idle)
                .build()
        };
        FeatureStore {
            customers: cache(),
            devices: cache(),
            cards: cache(),
            addresses: cache(),
            config,
        }
    }

    /// The store's limits.
    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    /// How far back, seconds, the history reaches into the features: the
    /// longest window a feature reads (7 days), or the horizon when it is
    /// shorter. Orders older than this, relative to the newest, change no
    /// feature, so refilling the store needs only the orders within it.
    pub fn lookback_secs(&self) -> i64 {
        self.config.horizon_secs.min(LONGEST_WINDOW)
    }

    fn entity(&self, cache: &Cache<EntityKey, Shared>, key: EntityKey) -> Shared {
        let (cap, horizon) = (self.config.ring_capacity, self.config.horizon_secs);
        cache.get_with(key, || Arc::new(Mutex::new(History::new(cap, horizon))))
    }

    /// Records an order (call it after scoring the order, so its features
    /// describe the history before it).
    pub fn observe(&self, order: &OrderEvent) {
        self.remember(&order.observation());
    }

    /// Records an order from what the store keeps of it: what
    /// [`FeatureStore::observe`] does, from an [`Observation`] (one kept
    /// elsewhere, e.g. in a decision record, when refilling the store).
    ///
    /// An order is counted once: an observation of an order an entity's
    /// history already holds (the same order scored again, e.g. by
    /// ScoreOrder and then by Allocate) replaces the earlier one there.
    /// Returns whether the order was new to its customer.
    pub fn remember(&self, order: &Observation) -> bool {
        let entry = |peer| Entry {
            order: order.order,
            time: order.time,
            amount_minor: order.amount_minor,
            peer,
        };
        let new = self
            .entity(&self.customers, order.customer)
            .lock()
            .push(entry(0));
        if let Some(device) = order.device {
            self.entity(&self.devices, device)
                .lock()
                .push(entry(order.customer));
        }
        if let Some(card) = order.card {
            self.entity(&self.cards, card)
                .lock()
                .push(entry(order.ship_address));
        }
        self.entity(&self.addresses, order.ship_address)
            .lock()
            .push(entry(order.customer));
        new
    }

    /// Records that one of `customer`'s orders came back (an order not
    /// identified: every call counts).
    pub fn observe_return(&self, customer: EntityKey) {
        self.entity(&self.customers, customer)
            .lock()
            .push_return(None);
    }

    /// Records that `customer`'s order `order` came back; a return of an
    /// order already counted as returned is not counted again (several
    /// returned lines of one order, or one return reported twice). Returns
    /// whether it was counted.
    pub fn observe_returned_order(&self, customer: EntityKey, order: EntityKey) -> bool {
        self.entity(&self.customers, customer)
            .lock()
            .push_return(Some(order))
    }

    /// Records a returned order from what the store keeps of it: what
    /// [`FeatureStore::observe_returned_order`] does (a return recorded
    /// elsewhere, e.g. in the decision log, when refilling the store).
    pub fn remember_return(&self, returned: &ReturnObservation) -> bool {
        self.observe_returned_order(returned.customer, returned.order)
    }

    /// The history part of the fraud features of `order`, from what the
    /// store has observed so far.
    pub fn velocity(&self, order: &OrderEvent) -> Velocity {
        let now = order.time;
        // The order itself, when it was observed before (scored twice), is
        // not part of its own history.
        let except = Some(order.order);
        let mut v = Velocity::default();
        if let Some(c) = self.customers.get(&order.customer) {
            let h = c.lock();
            v.customer_orders_24h = h.count(now, DAY, except) as f32;
            v.customer_orders_7d = h.count(now, WEEK, except) as f32;
            v.customer_amount_7d = h.amount_minor(now, WEEK, except) as f32 / 100.0;
            v.customer_return_rate = h.return_rate(except);
        }
        if let Some(device) = order.device {
            v.device_customers_24h = 1.0;
            if let Some(d) = self.devices.get(&device) {
                let h = d.lock();
                v.device_orders_1h = h.count(now, HOUR, except) as f32;
                v.device_orders_24h = h.count(now, DAY, except) as f32;
                v.device_customers_24h = h.distinct_peers(now, DAY, order.customer, except) as f32;
            }
        }
        if let Some(card) = order.card {
            v.card_addresses_7d = 1.0;
            if let Some(c) = self.cards.get(&card) {
                let h = c.lock();
                v.card_orders_24h = h.count(now, DAY, except) as f32;
                v.card_addresses_7d =
                    h.distinct_peers(now, WEEK, order.ship_address, except) as f32;
            }
        }
        v.address_customers_7d = 1.0;
        if let Some(a) = self.addresses.get(&order.ship_address) {
            let h = a.lock();
            v.address_orders_24h = h.count(now, DAY, except) as f32;
            v.address_customers_7d = h.distinct_peers(now, WEEK, order.customer, except) as f32;
        }
        v
    }

    /// The fraud features of `order` against the history observed so far
    /// (the order itself is not observed by this call).
    pub fn fraud_features(&self, order: &OrderEvent) -> FraudFeatures {
        FraudFeatures::from_parts(order, &self.velocity(order))
    }

    /// Runs moka's pending maintenance (evictions, expirations) now.
    pub fn run_pending_tasks(&self) {
        for c in [&self.customers, &self.devices, &self.cards, &self.addresses] {
            c.run_pending_tasks();
        }
    }

    /// Entities held over all kinds (approximate until
    /// [`FeatureStore::run_pending_tasks`]).
    pub fn entity_count(&self) -> u64 {
        [&self.customers, &self.devices, &self.cards, &self.addresses]
            .iter()
            .map(|c| c.entry_count())
            .sum()
    }
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
