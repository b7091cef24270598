//! What a promise answers, in domain terms.

use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use chrono::NaiveDate;

use crate::allocation::candidates::StockRow;
use crate::allocation::outcome::Reason;
use crate::allocation::protection::ProtectionRead;
use crate::network::{NodeId, ServiceId, ServiceLevel, SkuId};
use crate::stock::NodeVersion;
use crate::transit::TransitQuantiles;

/// Units of one cart line shipped from one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShipFrom {
    /// The node.
    pub node: NodeId,
    /// Index of the line in the request.
    pub line: usize,
    /// The line's SKU.
    pub sku: SkuId,
    /// Units, >= 1.
    pub quantity: u32,
}

/// One parcel of an option.
#[derive(Debug, Clone, PartialEq)]
pub struct ShipmentQuote {
    /// The shipping node.
    pub node: NodeId,
    /// The carrier service (s* of the node for the level).
    pub service: ServiceId,
    /// Node-local date it leaves.
    pub ship_date: NaiveDate,
    /// The order cutoff that date holds until.
    pub ship_by: SystemTime,
    /// Transit quantiles, days from the order time (`None`: nominal).
    pub quantiles: Option<TransitQuantiles>,
    /// Earliest likely delivery.
    pub earliest: SystemTime,
    /// Latest likely delivery.
    pub latest: SystemTime,
}

/// One way the cart can be delivered.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryOption {
    /// The level quoted.
    pub service_level: ServiceLevel,
    /// Carrier service of the slowest shipment (the one arriving last).
    pub service: ServiceId,
    /// Where the units ship from, by line then node.
    pub ship_from: Vec<ShipFrom>,
    /// Earliest order cutoff among the shipping nodes.
    pub ship_by: SystemTime,
    /// Node-local date the last shipment leaves.
    pub ship_date_local: NaiveDate,
    /// Destination-local date of `earliest_delivery`.
    pub earliest_delivery_date: NaiveDate,
    /// Destination-local date of `latest_delivery`: the date to promise.
    pub latest_delivery_date: NaiveDate,
    /// The latest of the shipments' earliest deliveries.
    pub earliest_delivery: SystemTime,
    /// The latest of the shipments' latest deliveries.
    pub latest_delivery: SystemTime,
    /// P(every shipment delivered by the end of `latest_delivery_date`).
    pub on_time_probability: f64,
    /// Shipping cost: package, transport and handling, minor units.
    pub cost_minor: i64,
    /// The option's plan came from the promise cache.
    pub from_cache: bool,
    /// The parcels, in node order.
    pub shipments: Vec<ShipmentQuote>,
}

/// A level that cannot be offered.
#[derive(Debug, Clone, PartialEq)]
pub struct UnavailableOption {
    /// The level.
    pub service_level: ServiceLevel,
    /// Why not (exclusions of the nodes that hold the cart's SKUs).
    pub reasons: Vec<Reason>,
}

/// Where the delivery windows come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransitSource {
    /// The transit model.
    Model,
    /// No transit model is loaded: nominal transit days.
    Nominal,
    /// The transit model failed: nominal transit days, and why.
    NominalAfterModelError(String),
}

/// What a promise read, for the decision log.
#[derive(Debug, Clone, PartialEq)]
pub struct PromiseRead {
    /// Every (node, SKU) level of the cart's SKUs the plans were built on.
    /// Empty when the quote came from a cache entry whose first quote was
    /// already recorded (`recorded_by` set): that record holds them.
    pub stock_read: Vec<StockRow>,
    /// Snapshot version and delta sequence of every node with a row in
    /// `stock_read`, as read (in the same read as the rows); empty with
    /// `stock_read`.
    pub stock_versions: Vec<NodeVersion>,
    /// Remaining capacity per node (indexed by node id).
    pub capacity: Vec<u32>,
    /// The order time the promise was computed for.
    pub decided_at: SystemTime,
    /// Digest of the cart SKUs' change counters and the capacities read
    /// (the cache key's generation).
    pub stock_digest: u64,
    /// The protected stock the plans priced from the demand forecast
    /// (empty with `stock_read`, or when nothing was priced so).
    pub protection: ProtectionRead,
    /// The decision whose record holds this read in full. Shared by every
    /// quote answered from the same cache entry (same cart, destination,
    /// levels, time bucket and digest, so the same rows and capacities):
    /// the caller that records the first of them sets it, and the others
    /// can refer to that record instead of repeating the read.
    pub recorded_by: Arc<OnceLock<String>>,
}

/// The answer to a promise request.
#[derive(Debug, Clone, PartialEq)]
pub struct PromiseOutcome {
    /// The options, fastest level first.
    pub options: Vec<DeliveryOption>,
    /// Levels that cannot be offered (only when asked to explain).
    pub unavailable: Vec<UnavailableOption>,
    /// The transit model that answered, if one did.
    pub model: Option<crate::transit::ModelTag>,
    /// Where the windows come from.
    pub transit: TransitSource,
    /// The plans came from the cache.
    pub from_cache: bool,
    /// What was read.
    pub read: PromiseRead,
}
