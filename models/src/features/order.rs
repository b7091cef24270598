//! The order as the feature store and the fraud features see it.

use allot_engine::network::{GeoPoint, ServiceLevel};
use chrono_tz::Tz;

/// A stable 64-bit key for an entity (customer, device, card, address).
///
/// The world uses dense ids directly; the engine hashes the caller's string
/// identifiers with [`entity_key`]. Keys only need to be unique per kind.
pub type EntityKey = u64;

/// How a server turns a caller's identifier of some kind (`customer`,
/// `card`, `device`, ...) into an [`EntityKey`]: allot's server keys them
/// under its secret privacy key, so a key cannot be traced back to an
/// identifier by hashing guesses.
pub trait EntityKeys: Send + Sync {
    /// The key of `id`, an identifier of `kind`.
    fn key(&self, kind: &str, id: &str) -> EntityKey;
}

/// Unkeyed [`entity_key`]s, the kind ignored: for tools and tests that
/// build their own events with [`entity_key`].
#[derive(Debug, Clone, Copy, Default)]
pub struct PlainKeys;

impl EntityKeys for PlainKeys {
    fn key(&self, _kind: &str, id: &str) -> EntityKey {
        entity_key(id)
    }
}

/// A stable key for a string identifier: FNV-1a over the bytes, so the same
/// identifier gives the same key in every process and on every platform.
pub fn entity_key(id: &str) -> EntityKey {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// One order line, with the SKU attributes the features need.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OrderLine {
    /// Units ordered.
    pub qty: u32,
    /// Selling price of one unit, minor currency units.
    pub unit_price_minor: i64,
    /// The SKU's resale risk, 0..=1.
    pub resale_risk: f32,
}

/// An order as it reaches the engine: who, from where, to where, what, and
/// when. Everything here is known at decision time.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderEvent {
    /// The order's key (of the caller's order id): the feature store counts
    /// an order once however many times it is scored.
    pub order: EntityKey,
    /// When the order was placed, unix seconds (UTC).
    pub time: i64,
    /// The customer account.
    pub customer: EntityKey,
    /// When the account was created, unix seconds (UTC); `None` when it is
    /// not known (a guest checkout, or a caller that did not send it): the
    /// account age feature is then missing (NaN), never 0.
    pub account_created: Option<i64>,
    /// The device fingerprint, when the caller sent one.
    pub device: Option<EntityKey>,
    /// The payment card fingerprint, when the caller sent one.
    pub card: Option<EntityKey>,
    /// The normalised shipping address.
    pub ship_address: EntityKey,
    /// Where the shipping address is.
    pub ship_to: GeoPoint,
    /// Where the billing address is.
    pub bill_to: GeoPoint,
    /// Time zone of the shipping address (the customer's local time).
    pub time_zone: Tz,
    /// The requested service level.
    pub service: ServiceLevel,
    /// The order lines.
    pub lines: Vec<OrderLine>,
    /// The order total the caller charged, when it gave one (tax and
    /// shipping included); `None`: the lines' value.
    pub total_minor: Option<i64>,
}

impl OrderEvent {
    /// Order value, minor currency units: the caller's total when it gave
    /// one, else the lines' value.
    pub fn amount_minor(&self) -> i64 {
        self.total_minor.unwrap_or_else(|| {
            self.lines.iter().fold(0i64, |sum, l| {
                sum.saturating_add(l.unit_price_minor.saturating_mul(i64::from(l.qty)))
            })
        })
    }

    /// What the feature store keeps of this order.
    pub fn observation(&self) -> Observation {
        Observation {
            order: Some(self.order),
            time: self.time,
            customer: self.customer,
            device: self.device,
            card: self.card,
            ship_address: self.ship_address,
            amount_minor: self.amount_minor(),
        }
    }
}

/// All the feature store keeps of one order: which, when, whose (the entity
/// keys, never the identifiers they were made from) and how much. Feeding the
/// same observations to an empty store, oldest first, gives the same
/// velocities as observing the orders did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observation {
    /// The order's key; `None` for an observation recorded before orders
    /// were keyed (it is never taken for a repeat of another).
    pub order: Option<EntityKey>,
    /// When the order was placed, unix seconds (UTC).
    pub time: i64,
    /// The customer account's key.
    pub customer: EntityKey,
    /// The device fingerprint's key, when the caller sent one.
    pub device: Option<EntityKey>,
    /// The payment card fingerprint's key, when the caller sent one.
    pub card: Option<EntityKey>,
    /// The normalised shipping address's key.
    pub ship_address: EntityKey,
    /// Order value, minor currency units.
    pub amount_minor: i64,
}

/// All the feature store keeps of one returned order: whose, which and when
/// (keys, like [`Observation`]). Feeding it to the store
/// ([`FeatureStore::remember_return`](super::FeatureStore::remember_return))
/// counts the order as returned once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReturnObservation {
    /// The customer's key (as [`OrderEvent::customer`]).
    pub customer: EntityKey,
    /// The returned order's key (as [`OrderEvent::order`]).
    pub order: EntityKey,
    /// When the return was received, unix seconds (UTC).
    pub time: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_key_is_stable_fnv1a() {
        assert_eq!(entity_key(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(entity_key("a"), 0xaf63_dc4c_8601_ec8c);
        assert_ne!(entity_key("card-1"), entity_key("card-2"));
    }
}
