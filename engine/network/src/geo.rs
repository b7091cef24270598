//! Geography: great-circle distances, carrier zones, postal-code resolution
//! and destination blocking.

use std::collections::HashMap;

use super::{GeoPoint, Network, NodeId, Region, RegionId, ServiceId, ZoneRate};

/// Mean earth radius, km (IUGG).
const EARTH_RADIUS_KM: f64 = 6371.0088;

/// Great-circle (haversine) distance between two points, km.
pub fn distance_km(a: GeoPoint, b: GeoPoint) -> f64 {
    let (lat1, lat2) = (a.lat.to_radians(), b.lat.to_radians());
    let dlat = lat2 - lat1;
    let dlon = (b.lon - a.lon).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

/// Postal prefixes by length, for longest-prefix matching.
#[derive(Debug, Clone, Default)]
pub(super) struct PostalIndex {
    /// Distinct prefix lengths, longest first.
    lengths: Vec<usize>,
    /// Upper-cased prefix to region.
    by_prefix: HashMap<String, RegionId>,
}

impl PostalIndex {
    pub(super) fn build(regions: &[Region]) -> PostalIndex {
        let mut by_prefix = HashMap::with_capacity(regions.len());
        let mut lengths = Vec::new();
        for (i, r) in regions.iter().enumerate() {
            by_prefix.insert(r.postal_prefix.to_ascii_uppercase(), RegionId(i as u32));
            if !lengths.contains(&r.postal_prefix.len()) {
                lengths.push(r.postal_prefix.len());
            }
        }
        lengths.sort_unstable_by(|a, b| b.cmp(a));
        PostalIndex { lengths, by_prefix }
    }

    fn resolve(&self, postal: &str) -> Option<RegionId> {
        // Normalise only when needed: "k1a 0b1" -> "K1A0B1", "10001-1234" -> "100011234".
        let normal: std::borrow::Cow<'_, str> = if postal
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        {
            postal.into()
        } else {
            postal
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .map(|c| c.to_ascii_uppercase())
                .collect::<String>()
                .into()
        };
        self.lengths
            .iter()
            .filter(|&&len| len <= normal.len())
            .find_map(|&len| self.by_prefix.get(&normal[..len]).copied())
    }
}

impl Network {
    /// The region whose postal prefix is the longest prefix of `postal`.
    ///
    /// Matching ignores case and any character that is not an ASCII letter or
    /// digit (spaces, hyphens), so `"10001-1234"` and `"k1a 0b1"` work.
    pub fn resolve_postal_code(&self, postal: &str) -> Option<RegionId> {
        self.postal_index.resolve(postal)
    }

    /// The region whose centroid is closest to `p`.
    ///
    /// Every network with carrier services has at least one region; on a
    /// network without regions (only possible without services) this panics.
    pub fn nearest_region(&self, p: GeoPoint) -> RegionId {
        assert!(
            !self.regions.is_empty(),
            "nearest_region on a network without regions"
        );
        let mut best = (RegionId(0), f64::INFINITY);
        for (i, r) in self.regions.iter().enumerate() {
            let d = distance_km(p, r.centroid);
            if d < best.1 {
                best = (RegionId(i as u32), d);
            }
        }
        best.0
    }

    /// The carrier zone for a great-circle distance: the first band whose
    /// `max_km` is at least `km`; `None` beyond the last band.
    pub fn zone_for_km(&self, km: f64) -> Option<u8> {
        self.zones.iter().find(|b| km <= b.max_km).map(|b| b.zone)
    }

    /// The carrier zone from `node` to the point `to`.
    pub fn zone(&self, node: NodeId, to: GeoPoint) -> Option<u8> {
        self.zone_for_km(distance_km(self.node(node).location, to))
    }

    /// The rate of `service` in `zone`, if the zone is part of the zoning.
    pub fn rate(&self, service: ServiceId, zone: u8) -> Option<&ZoneRate> {
        self.service(service).rates.iter().find(|r| r.zone == zone)
    }

    /// Whether `node` may not ship to `region` (the region's code or its area
    /// is in the node's `blocked_destinations`).
    pub fn is_blocked(&self, node: NodeId, region: RegionId) -> bool {
        self.blocked[node.0 as usize].binary_search(&region).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn haversine_known_distances() {
        let nyc = GeoPoint {
            lat: 40.7128,
            lon: -74.0060,
        };
        let la = GeoPoint {
            lat: 34.0522,
            lon: -118.2437,
        };
        let d = distance_km(nyc, la);
        assert!((d - 3936.0).abs() < 15.0, "{d}");
        assert_eq!(distance_km(nyc, nyc), 0.0);
    }
}
