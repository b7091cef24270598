//! What the fraud model sees of an order: the caller's identities, reduced
//! to the feature store's entity keys, and the shipping address normalised
//! so that the same address written twice is one address.

use std::time::{SystemTime, UNIX_EPOCH};

use allot_engine::network::{GeoPoint, ServiceLevel};
use allot_models::features::{OrderEvent, OrderLine};
use chrono_tz::Tz;

use crate::privacy::Pseudonymizer;

/// Where the shipping address is, as the caller wrote it.
#[derive(Debug, Clone, PartialEq)]
pub enum Place {
    /// A postal code.
    PostalCode(String),
    /// Coordinates.
    Coordinates(GeoPoint),
}

/// An order as the fraud check reads it (validated by the adapter).
#[derive(Debug, Clone)]
pub struct FraudOrder {
    /// The OMS's order id: the feature store counts an order once however
    /// many times it is scored (ScoreOrder, Allocate with a context).
    pub order_id: String,
    /// When the order was placed; `None`: when it is decided.
    pub placed_at: Option<SystemTime>,
    /// When the customer's account was created; `None`: not known (a guest
    /// checkout), the account age feature is missing.
    pub account_created_at: Option<SystemTime>,
    /// Who the customer is, for the velocity features.
    pub customer: CustomerIdentity,
    /// The device fingerprint; empty when not sent.
    pub device_id: String,
    /// The card fingerprint; empty when not sent.
    pub card_fingerprint: String,
    /// Where the shipping address is, as written.
    pub ship_place: Place,
    /// The shipping address's first line, as written (empty when not sent).
    pub ship_line1: String,
    /// The shipping address's resolved point.
    pub ship_to: GeoPoint,
    /// The billing address's resolved point (the shipping point when not
    /// sent).
    pub bill_to: GeoPoint,
    /// Time zone of the shipping address.
    pub time_zone: Tz,
    /// The requested service level.
    pub service: ServiceLevel,
    /// The order lines with their prices and resale risk.
    pub lines: Vec<OrderLine>,
    /// The order total the caller charged (tax and shipping included), when
    /// it gave one; `None`: the lines' value.
    pub total_minor: Option<i64>,
}

/// Who placed an order, as far as the caller knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomerIdentity {
    /// A customer account: the OMS's customer id.
    Account(String),
    /// A guest checkout with an e-mail address (normalised: trimmed, lower
    /// case): a guest who comes back with the same address is the same
    /// customer.
    GuestEmail(String),
    /// A guest checkout without an e-mail address: the order id, so the
    /// customer has no history.
    GuestOrder(String),
}

impl CustomerIdentity {
    /// The feature store's key of the customer, under `keys`. The kinds
    /// never collide: a customer id equal to someone's e-mail address is
    /// another customer.
    pub fn key(&self, keys: &Pseudonymizer) -> u64 {
        match self {
            CustomerIdentity::Account(id) => keys.entity_key("customer", id),
            CustomerIdentity::GuestEmail(email) => keys.entity_key("guest-email", email),
            CustomerIdentity::GuestOrder(order) => keys.entity_key("guest-order", order),
        }
    }
}

fn unix(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The feature store's key of the OMS's order id `order_id`, under `keys`.
pub fn order_key(order_id: &str, keys: &Pseudonymizer) -> u64 {
    keys.entity_key("order", order_id)
}

/// The shipping address's identity for velocity features: the postal code
/// (trimmed, upper case) or the coordinates (4 decimals), and the first
/// address line (trimmed, lower case), under `keys`.
pub fn address_key(place: &Place, line1: &str, keys: &Pseudonymizer) -> u64 {
    let place = match place {
        Place::PostalCode(p) => p.trim().to_ascii_uppercase(),
        Place::Coordinates(g) => format!("{:.4},{:.4}", g.lat, g.lon),
    };
    keys.entity_key(
        "ship-address",
        &format!("{place}|{}", line1.trim().to_lowercase()),
    )
}

impl FraudOrder {
    /// The event the feature store and the model see, for an order
    /// decided at `now`, its identities keyed under `keys`.
    pub fn event(&self, now: SystemTime, keys: &Pseudonymizer) -> OrderEvent {
        let placed = self.placed_at.unwrap_or(now);
        let key = |kind: &str, id: &str| (!id.is_empty()).then(|| keys.entity_key(kind, id));
        OrderEvent {
            order: order_key(&self.order_id, keys),
            time: unix(placed),
            customer: self.customer.key(keys),
            account_created: self.account_created_at.map(unix),
            device: key("device", &self.device_id),
            card: key("card", &self.card_fingerprint),
            ship_address: address_key(&self.ship_place, &self.ship_line1, keys),
            ship_to: self.ship_to,
            bill_to: self.bill_to,
            time_zone: self.time_zone,
            service: self.service,
            lines: self.lines.clone(),
            total_minor: self.total_minor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_address_written_two_ways_is_one_address() {
        let keys = Pseudonymizer::new(&[1u8; 32], "test").unwrap();
        let a = address_key(&Place::PostalCode(" 10001 ".into()), "1 Main St ", &keys);
        let b = address_key(&Place::PostalCode("10001".into()), "1 MAIN ST", &keys);
        assert_eq!(a, b);
        let c = address_key(&Place::PostalCode("10002".into()), "1 Main St", &keys);
        assert_ne!(a, c);
        let g = GeoPoint {
            lat: 40.712_81,
            lon: -74.006_02,
        };
        let near = GeoPoint {
            lat: 40.712_84,
            lon: -74.006_04,
        };
        assert_eq!(
            address_key(&Place::Coordinates(g), "", &keys),
            address_key(&Place::Coordinates(near), "", &keys)
        );
    }
}
