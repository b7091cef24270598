//! The network's domain types: nodes, carriers, services, SKUs, regions.
//!
//! All money is in minor currency units (cents) as `i64`; all weights in
//! grams; all distances in kilometres; all times of day are local to the
//! node's time zone.

use chrono::{NaiveDate, NaiveTime, Weekday};
use chrono_tz::Tz;

/// Dense index of a node inside its [`super::Network`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub u32);

/// Dense index of a SKU inside its [`super::Network`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SkuId(pub u32);

/// Dense index of a carrier service inside its [`super::Network`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceId(pub u32);

/// Dense index of a destination region inside its [`super::Network`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegionId(pub u32);

/// A point on the earth, in decimal degrees (WGS84).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeoPoint {
    /// Latitude in degrees, -90..=90.
    pub lat: f64,
    /// Longitude in degrees, -180..=180.
    pub lon: f64,
}

/// What kind of place a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeKind {
    /// A distribution centre: large, cheap per unit, ships most services.
    DistributionCenter,
    /// A retail store that also ships (ship-from-store).
    Store,
    /// A third-party logistics provider's warehouse.
    ThirdPartyLogistics,
}

/// The set of weekdays on which something happens (a node is open, a
/// carrier picks up).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WeekdaySet(u8);

impl WeekdaySet {
    /// No day at all.
    pub const EMPTY: WeekdaySet = WeekdaySet(0);
    /// Monday to Friday.
    pub const WEEKDAYS: WeekdaySet = WeekdaySet(0b0011111);
    /// Every day of the week.
    pub const ALL: WeekdaySet = WeekdaySet(0b1111111);

    /// This set with `day` added.
    pub fn with(self, day: Weekday) -> WeekdaySet {
        WeekdaySet(self.0 | (1 << day.num_days_from_monday()))
    }

    /// Whether `day` is in the set.
    pub fn contains(self, day: Weekday) -> bool {
        self.0 & (1 << day.num_days_from_monday()) != 0
    }

    /// Whether the set holds no day.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// A place that holds stock and ships it: a DC, a store or a 3PL.
#[derive(Debug, Clone)]
pub struct Node {
    /// Stable code the OMS uses (unique in the network), e.g. `DC-ATL`.
    pub code: String,
    /// Human name.
    pub name: String,
    /// DC, store or 3PL.
    pub kind: NodeKind,
    /// Where it is.
    pub location: GeoPoint,
    /// Its IANA time zone; cutoffs and open days are local to it.
    pub time_zone: Tz,
    /// Units it can pick and ship per day.
    pub daily_capacity_units: u32,
    /// Units one staff hour picks, packs and ships (the node's
    /// productivity): the workload forecast's staff hours.
    pub units_per_staff_hour: u32,
    /// Local time after which an order ships the next open day.
    pub order_cutoff: NaiveTime,
    /// Whole days from release to hand-over to the carrier (0 = same day).
    pub processing_days: u32,
    /// Weekdays on which the node ships.
    pub open_days: WeekdaySet,
    /// Local dates on which the node does not ship although it is an open day.
    pub holidays: Vec<NaiveDate>,
    /// Handling cost per unit picked, minor currency units.
    pub handling_cost_minor: i64,
    /// Can ship cold-chain SKUs.
    pub cold_chain: bool,
    /// Can ship hazardous-materials SKUs.
    pub hazmat: bool,
    /// Accepts customer returns.
    pub accepts_returns: bool,
    /// What it can do with the returns it accepts (ignored when it accepts
    /// none).
    pub returns: ReturnHandling,
    /// Days between two replenishments of the node's stock: its protected
    /// stock must last that long (the horizon of its stockout risk).
    pub replenishment_days: u32,
    /// Most units the node can store (`None`: unlimited); a transfer plan
    /// never fills it above this.
    pub storage_units: Option<u32>,
    /// Region codes or area codes (for example a state, `AK`) it may not ship to.
    pub blocked_destinations: Vec<String>,
    /// Carrier services that pick up at this node.
    pub services: Vec<ServiceId>,
}

/// What a node does with the customer returns it receives: the costs and
/// the daily capacities of its channels. Restocking needs no capacity of
/// its own (it is receiving); refurbishing and liquidation are limited per
/// local day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReturnHandling {
    /// Cost to receive, inspect and grade one returned unit, minor units.
    pub receiving_cost_minor: i64,
    /// Units it can refurbish per local day (0: it does not refurbish).
    pub refurbish_units_per_day: u32,
    /// Cost to refurbish one unit, minor units.
    pub refurbish_cost_minor: i64,
    /// Units it can hand to liquidators per local day (0: it does not
    /// liquidate).
    pub liquidation_units_per_day: u32,
    /// Sends defective units back to their vendor for credit.
    pub returns_to_vendor: bool,
}

/// How a transfer lane moves stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LaneMode {
    /// A truck (full or less-than-truckload): a fixed cost per dispatch and
    /// a capacity per truck.
    Truck,
    /// Parcels: priced per unit, little or no fixed cost.
    Parcel,
}

/// A lane on which stock can be transferred from one node to another.
#[derive(Debug, Clone, PartialEq)]
pub struct Lane {
    /// The node the stock leaves.
    pub from: NodeId,
    /// The node it arrives at.
    pub to: NodeId,
    /// Truck or parcel.
    pub mode: LaneMode,
    /// Whole days from dispatch until the units can be sold at `to`.
    pub lead_days: u32,
    /// Cost per unit moved, minor currency units.
    pub unit_cost_minor: i64,
    /// Cost of one transfer on the lane (a truck dispatched, a pickup),
    /// whatever it carries, minor currency units.
    pub fixed_cost_minor: i64,
    /// Most units one transfer carries.
    pub capacity_units: u32,
}

/// How fast a carrier service is, from fastest to slowest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServiceLevel {
    /// Delivered the day it ships (local courier, limited radius).
    SameDay,
    /// Delivered the next business day.
    Overnight,
    /// Delivered within two business days.
    TwoDay,
    /// Economy ground, several days.
    Ground,
}

/// A carrier (UPS-like, FedEx-like, a local courier ...).
#[derive(Debug, Clone)]
pub struct Carrier {
    /// Stable code, unique in the network.
    pub code: String,
    /// Human name.
    pub name: String,
}

/// The price of one package in one zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZoneRate {
    /// The carrier zone this rate applies to.
    pub zone: u8,
    /// Fixed cost per package, minor currency units.
    pub package_cost_minor: i64,
    /// Cost per kilogram of shipped weight, minor currency units.
    pub per_kg_cost_minor: i64,
}

/// One service of one carrier, with its rate table.
#[derive(Debug, Clone)]
pub struct CarrierService {
    /// Stable code, unique in the network, e.g. `UPX-GROUND`.
    pub code: String,
    /// Index of the carrier in [`super::Network::carriers`].
    pub carrier: usize,
    /// Human name.
    pub name: String,
    /// How fast it is.
    pub level: ServiceLevel,
    /// Nominal transit in business days (0 for same day).
    pub transit_days: u32,
    /// Weekdays on which the carrier picks up.
    pub pickup_days: WeekdaySet,
    /// Farthest destination it serves from a node, km (`None` = unlimited).
    pub max_distance_km: Option<f64>,
    /// Rates per zone; every zone of the network's zoning has one.
    pub rates: Vec<ZoneRate>,
}

/// One band of the zoning: destinations up to `max_km` away are in `zone`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ZoneBand {
    /// Upper bound (inclusive) of the great-circle distance, km.
    pub max_km: f64,
    /// Zone number charged for it.
    pub zone: u8,
}

/// A sellable item.
#[derive(Debug, Clone)]
pub struct Sku {
    /// Stable code, unique in the network.
    pub code: String,
    /// Merchandise category, e.g. `electronics`.
    pub category: String,
    /// Shipping weight of one unit, grams.
    pub weight_grams: u32,
    /// Needs a cold-chain-capable node.
    pub cold_chain: bool,
    /// Hazardous material: needs a hazmat-capable node.
    pub hazmat: bool,
    /// Resale risk 0.0..=1.0: how attractive it is to fraudsters.
    pub resale_risk: f32,
    /// Retail price of one unit, minor currency units.
    pub unit_price_minor: i64,
}

/// A destination region: a postal-code prefix with a centroid and time zone.
#[derive(Debug, Clone)]
pub struct Region {
    /// Stable code, unique in the network, e.g. `US-100`.
    pub code: String,
    /// Postal-code prefix that resolves to this region (longest match wins).
    pub postal_prefix: String,
    /// Human name, e.g. `New York, NY`.
    pub name: String,
    /// Administrative area (state, province), e.g. `NY`.
    pub area: String,
    /// Centroid used for distances and zones.
    pub centroid: GeoPoint,
    /// IANA time zone of the region.
    pub time_zone: Tz,
}
