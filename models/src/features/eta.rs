//! ETA features: one shipment from an origin node with a carrier service to
//! a destination point, scored at the time the order is released.

use allot_engine::network::{Network, NodeId, RegionId, ServiceId, distance_km};
use chrono::{Datelike, TimeZone, Timelike, Utc};

use super::{is_peak, origin_kind, service_speed};

/// ETA feature names, in model input order (the order of
/// [`EtaFeatures::to_row`]).
pub const ETA_FEATURES: &[&str] = &[
    "distance_km",
    "zone",
    "service_speed",
    "transit_days_nominal",
    "origin_kind",
    "order_hour_local",
    "after_cutoff",
    "hours_to_cutoff",
    "weekday",
    "is_peak",
    "origin_lat",
    "origin_lon",
    "dest_lat",
    "dest_lon",
];

/// ETA features see the order time floored to this many seconds (15
/// minutes; node cutoffs are on half hours, so a bucket never straddles one).
pub const ETA_TIME_BUCKET_SECS: i64 = 900;

/// Number of ETA features.
pub const ETA_FEATURE_COUNT: usize = 14;
const _: () = assert!(ETA_FEATURES.len() == ETA_FEATURE_COUNT);

/// What the engine knows about a shipment when it predicts its transit time.
/// No label field: the actual transit is never part of this type.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct EtaFeatures {
    /// Great-circle distance, origin node to the destination region's
    /// centroid, km.
    pub distance_km: f32,
    /// Carrier zone (2..=8) of that distance; 9 beyond the zoning.
    pub zone: f32,
    /// 0 ground, 1 two-day, 2 overnight, 3 same-day.
    pub service_speed: f32,
    /// The service's nominal transit, business days (0 for same-day).
    pub transit_days_nominal: f32,
    /// 0 DC, 1 store, 2 3PL.
    pub origin_kind: f32,
    /// Order time (15-minute bucket) at the origin, hours since local
    /// midnight, a multiple of 0.25.
    pub order_hour_local: f32,
    /// 1 if the order time is at or after the node's cutoff (local), else 0.
    pub after_cutoff: f32,
    /// Node cutoff minus local order time, hours (negative after cutoff).
    pub hours_to_cutoff: f32,
    /// Weekday at the origin, 0 = Monday .. 6 = Sunday.
    pub weekday: f32,
    /// 1 from November 15 to December 31 (origin local date), else 0.
    pub is_peak: f32,
    /// Origin latitude, degrees.
    pub origin_lat: f32,
    /// Origin longitude, degrees.
    pub origin_lon: f32,
    /// Destination region centroid latitude, degrees.
    pub dest_lat: f32,
    /// Destination region centroid longitude, degrees.
    pub dest_lon: f32,
}

impl EtaFeatures {
    /// The features of shipping from `node` with `service` to `region` (the
    /// region the destination postal code resolves to), for an order
    /// released at `order_time` (unix seconds).
    ///
    /// The time is floored to its [`ETA_TIME_BUCKET_SECS`] bucket and the
    /// destination is the region centroid, so the features are a pure
    /// function of (node, service, region, bucket): an [`EtaKey`](super::EtaKey) caches
    /// them, or a prediction made from them, exactly.
    pub fn compute(
        network: &Network,
        node: NodeId,
        service: ServiceId,
        region: RegionId,
        order_time: i64,
    ) -> EtaFeatures {
        let n = network.node(node);
        let s = network.service(service);
        let dest = network.region(region).centroid;
        let km = distance_km(n.location, dest);
        let bucket = order_time.div_euclid(ETA_TIME_BUCKET_SECS) * ETA_TIME_BUCKET_SECS;
        let local = Utc
            .timestamp_opt(bucket, 0)
            .single()
            .unwrap_or_default()
            .with_timezone(&n.time_zone);
        let hour = local.hour() as f32 + local.minute() as f32 / 60.0;
        let cutoff = n.order_cutoff.hour() as f32 + n.order_cutoff.minute() as f32 / 60.0;
        EtaFeatures {
            distance_km: km as f32,
            zone: f32::from(network.zone_for_km(km).unwrap_or(9)),
            service_speed: service_speed(s.level),
            transit_days_nominal: s.transit_days as f32,
            origin_kind: origin_kind(n.kind),
            order_hour_local: hour,
            after_cutoff: f32::from(u8::from(hour >= cutoff)),
            hours_to_cutoff: cutoff - hour,
            weekday: local.weekday().num_days_from_monday() as f32,
            is_peak: f32::from(u8::from(is_peak(local.date_naive()))),
            origin_lat: n.location.lat as f32,
            origin_lon: n.location.lon as f32,
            dest_lat: dest.lat as f32,
            dest_lon: dest.lon as f32,
        }
    }

    /// The features as one model input row, in [`ETA_FEATURES`] order.
    pub fn to_row(&self) -> [f32; ETA_FEATURE_COUNT] {
        [
            self.distance_km,
            self.zone,
            self.service_speed,
            self.transit_days_nominal,
            self.origin_kind,
            self.order_hour_local,
            self.after_cutoff,
            self.hours_to_cutoff,
            self.weekday,
            self.is_peak,
            self.origin_lat,
            self.origin_lon,
            self.dest_lat,
            self.dest_lon,
        ]
    }
}
