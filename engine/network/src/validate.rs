//! Semantic validation of [`NetworkParts`]: references resolve, numbers are in
//! range, rate tables cover the zoning. Every error names the entity by code.

use std::collections::HashSet;

use super::{GeoPoint, NetworkError, NetworkParts};

type Result = std::result::Result<(), NetworkError>;

/// Checks every rule of `docs/network.md` that the type system does not.
pub(super) fn validate(parts: &NetworkParts, source: &str) -> Result {
    let fail = |path: String, problem: String| Err(NetworkError::invalid(source, path, problem));
    if parts.name.trim().is_empty() {
        return fail(
            "network.name".into(),
            "empty name; give the network a name".into(),
        );
    }
    if parts.currency.len() != 3 || !parts.currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return fail(
            "network.currency".into(),
            format!(
                "{:?} is not an ISO 4217 code; use three upper-case letters such as \"USD\"",
                parts.currency
            ),
        );
    }
    if parts.country.len() != 2 || !parts.country.bytes().all(|b| b.is_ascii_uppercase()) {
        return fail(
            "network.country".into(),
            format!(
                "{:?} is not an ISO 3166-1 alpha-2 code; use two upper-case letters such as \"US\"",
                parts.country
            ),
        );
    }
    zones(parts, source)?;
    services(parts, source)?;
    regions(parts, source)?;
    nodes(parts, source)?;
    lanes(parts, source)?;
    skus(parts, source)
}

fn zones(parts: &NetworkParts, source: &str) -> Result {
    // A network without services cannot ship (a stock-only test fixture);
    // everything else needs a zoning and destinations.
    if parts.zones.is_empty() && !parts.services.is_empty() {
        return Err(NetworkError::invalid(
            source,
            "zones",
            "no zones; add at least one [[zones]] band",
        ));
    }
    let mut prev: Option<(f64, u8)> = None;
    for (i, band) in parts.zones.iter().enumerate() {
        let at = format!("zones[{}]", band.zone);
        if !band.max_km.is_finite() || band.max_km <= 0.0 {
            return Err(NetworkError::invalid(
                source,
                at + ".max_km",
                format!("{} km is not a positive distance", band.max_km),
            ));
        }
        if let Some((km, zone)) = prev {
            if band.max_km <= km {
                return Err(NetworkError::invalid(
                    source,
                    at + ".max_km",
                    format!(
                        "band #{i} ends at {} km, not beyond the previous band's {km} km; list bands in ascending max_km",
                        band.max_km
                    ),
                ));
            }
            if band.zone <= zone {
                return Err(NetworkError::invalid(
                    source,
                    at + ".zone",
                    format!(
                        "zone {} does not ascend after zone {zone}; farther bands need higher zone numbers",
                        band.zone
                    ),
                ));
            }
        }
        prev = Some((band.max_km, band.zone));
    }
    Ok(())
}

fn services(parts: &NetworkParts, source: &str) -> Result {
    for s in &parts.services {
        let at = |field: &str| format!("services[{}].{field}", s.code);
        if s.carrier >= parts.carriers.len() {
            return Err(NetworkError::invalid(
                source,
                at("carrier"),
                format!(
                    "carrier index {} does not exist; the network has {} carriers",
                    s.carrier,
                    parts.carriers.len()
                ),
            ));
        }
        if s.pickup_days.is_empty() {
            return Err(NetworkError::invalid(
                source,
                at("pickup_days"),
                "no pickup day; list at least one of mon..sun",
            ));
        }
        if let Some(km) = s.max_distance_km
            && (!km.is_finite() || km <= 0.0)
        {
            return Err(NetworkError::invalid(
                source,
                at("max_distance_km"),
                format!("{km} is not a positive distance in km; omit it for unlimited"),
            ));
        }
        if s.transit_days > 30 {
            return Err(NetworkError::invalid(
                source,
                at("transit_days"),
                format!("{} days is implausible; use 0..=30", s.transit_days),
            ));
        }
        for band in &parts.zones {
            let n = s.rates.iter().filter(|r| r.zone == band.zone).count();
            if n != 1 {
                let what = if n == 0 {
                    "no rate"
                } else {
                    "more than one rate"
                };
                return Err(NetworkError::invalid(
                    source,
                    at("rates"),
                    format!(
                        "{what} for zone {}; every service needs exactly one rate per zone of the zoning",
                        band.zone
                    ),
                ));
            }
        }
        for r in &s.rates {
            if !parts.zones.iter().any(|b| b.zone == r.zone) {
                return Err(NetworkError::invalid(
                    source,
                    at("rates"),
                    format!("rate for zone {} which is not in [[zones]]", r.zone),
                ));
            }
            if r.package_cost_minor < 0 || r.per_kg_cost_minor < 0 {
                return Err(NetworkError::invalid(
                    source,
                    at("rates"),
                    format!(
                        "negative cost in the rate for zone {}; costs are >= 0",
                        r.zone
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn point(p: GeoPoint, source: &str, at: impl Fn(&str) -> String) -> Result {
    if !(p.lat.is_finite() && (-90.0..=90.0).contains(&p.lat)) {
        return Err(NetworkError::invalid(
            source,
            at("lat"),
            format!("latitude {} is outside -90..=90 degrees", p.lat),
        ));
    }
    if !(p.lon.is_finite() && (-180.0..=180.0).contains(&p.lon)) {
        return Err(NetworkError::invalid(
            source,
            at("lon"),
            format!("longitude {} is outside -180..=180 degrees", p.lon),
        ));
    }
    Ok(())
}

fn regions(parts: &NetworkParts, source: &str) -> Result {
    if parts.regions.is_empty() && !parts.services.is_empty() {
        return Err(NetworkError::invalid(
            source,
            "regions",
            "no regions; add at least one [[regions]] entry",
        ));
    }
    let mut prefixes = HashSet::with_capacity(parts.regions.len());
    for r in &parts.regions {
        let at = |field: &str| format!("regions[{}].{field}", r.code);
        let prefix = &r.postal_prefix;
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(NetworkError::invalid(
                source,
                at("postal_prefix"),
                format!(
                    "{prefix:?} is not a postal prefix; use one or more ASCII letters or digits"
                ),
            ));
        }
        if !prefixes.insert(prefix.to_ascii_uppercase()) {
            return Err(NetworkError::invalid(
                source,
                at("postal_prefix"),
                format!("prefix {prefix:?} is used by another region; prefixes must be unique"),
            ));
        }
        if r.area.trim().is_empty() {
            return Err(NetworkError::invalid(
                source,
                at("area"),
                "empty area; give the state or province, e.g. \"NY\"",
            ));
        }
        point(r.centroid, source, at)?;
    }
    Ok(())
}

fn nodes(parts: &NetworkParts, source: &str) -> Result {
    for n in &parts.nodes {
        let at = |field: &str| format!("nodes[{}].{field}", n.code);
        point(n.location, source, at)?;
        if n.daily_capacity_units == 0 {
            return Err(NetworkError::invalid(
                source,
                at("daily_capacity_units"),
                "capacity 0; a node must ship at least 1 unit per day",
            ));
        }
        if n.open_days.is_empty() {
            return Err(NetworkError::invalid(
                source,
                at("open_days"),
                "no open day; list at least one of mon..sun",
            ));
        }
        if n.processing_days > 30 {
            return Err(NetworkError::invalid(
                source,
                at("processing_days"),
                format!("{} days is implausible; use 0..=30", n.processing_days),
            ));
        }
        if !(1..=90).contains(&n.replenishment_days) {
            return Err(NetworkError::invalid(
                source,
                at("replenishment_days"),
                format!("{} days: use 1..=90", n.replenishment_days),
            ));
        }
        if n.units_per_staff_hour == 0 {
            return Err(NetworkError::invalid(
                source,
                at("units_per_staff_hour"),
                "0 units per staff hour; give the units one staff hour picks and ships (> 0)",
            ));
        }
        if n.storage_units == Some(0) {
            return Err(NetworkError::invalid(
                source,
                at("storage_units"),
                "0 units of storage; leave it out for unlimited storage",
            ));
        }
        if n.handling_cost_minor < 0 {
            return Err(NetworkError::invalid(
                source,
                at("handling_cost_minor"),
                "negative handling cost; costs are >= 0",
            ));
        }
        returns(n, source, &at)?;
        for (i, s) in n.services.iter().enumerate() {
            if s.0 as usize >= parts.services.len() {
                return Err(NetworkError::invalid(
                    source,
                    at("services"),
                    format!(
                        "service id {} does not exist; the network has {} services",
                        s.0,
                        parts.services.len()
                    ),
                ));
            }
            if n.services[..i].contains(s) {
                let code = &parts.services[s.0 as usize].code;
                return Err(NetworkError::invalid(
                    source,
                    at("services"),
                    format!("service {code:?} is listed twice"),
                ));
            }
        }
        for b in &n.blocked_destinations {
            if !parts.regions.iter().any(|r| r.code == *b || r.area == *b) {
                return Err(NetworkError::invalid(
                    source,
                    at("blocked_destinations"),
                    format!(
                        "{b:?} is neither a region code (e.g. \"{}\") nor a region area (e.g. \"{}\")",
                        parts.regions[0].code, parts.regions[0].area
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// A node's return channels: costs >= 0, and none without
/// `accepts_returns`.
fn returns(n: &crate::Node, source: &str, at: &impl Fn(&str) -> String) -> Result {
    let r = &n.returns;
    for (field, cost) in [
        ("return_receiving_cost_minor", r.receiving_cost_minor),
        ("refurbish_cost_minor", r.refurbish_cost_minor),
    ] {
        if cost < 0 {
            return Err(NetworkError::invalid(
                source,
                at(field),
                "negative cost; costs are >= 0",
            ));
        }
    }
    if !n.accepts_returns {
        for (field, set) in [
            ("refurbish_units_per_day", r.refurbish_units_per_day > 0),
            ("liquidation_units_per_day", r.liquidation_units_per_day > 0),
            ("returns_to_vendor", r.returns_to_vendor),
        ] {
            if set {
                return Err(NetworkError::invalid(
                    source,
                    at(field),
                    "a return channel on a node that does not accept returns; set accepts_returns = true or leave it out",
                ));
            }
        }
    }
    Ok(())
}

/// Most days a lane may take: longer than any forecast horizon.
const MAX_LANE_LEAD_DAYS: u32 = 60;

fn lanes(parts: &NetworkParts, source: &str) -> Result {
    let mut seen = HashSet::new();
    for (i, l) in parts.lanes.iter().enumerate() {
        let code = |id: super::NodeId| parts.nodes.get(id.0 as usize).map(|n| n.code.as_str());
        let (Some(from), Some(to)) = (code(l.from), code(l.to)) else {
            return Err(NetworkError::invalid(
                source,
                format!("lanes[#{i}]"),
                format!(
                    "node id out of range; the network has {} nodes",
                    parts.nodes.len()
                ),
            ));
        };
        let at = |field: &str| format!("lanes[{from}->{to}].{field}");
        if l.from == l.to {
            return Err(NetworkError::invalid(
                source,
                at("to"),
                "a lane must join two different nodes",
            ));
        }
        if !seen.insert((l.from, l.to, l.mode)) {
            return Err(NetworkError::invalid(
                source,
                at("mode"),
                "duplicate lane: one lane per (from, to, mode)",
            ));
        }
        if l.lead_days > MAX_LANE_LEAD_DAYS {
            return Err(NetworkError::invalid(
                source,
                at("lead_days"),
                format!("{} days: use 0..={MAX_LANE_LEAD_DAYS}", l.lead_days),
            ));
        }
        if l.unit_cost_minor < 0 {
            return Err(NetworkError::invalid(
                source,
                at("unit_cost_minor"),
                "negative cost; costs are >= 0",
            ));
        }
        if l.fixed_cost_minor < 0 {
            return Err(NetworkError::invalid(
                source,
                at("fixed_cost_minor"),
                "negative cost; costs are >= 0",
            ));
        }
        if l.capacity_units == 0 {
            return Err(NetworkError::invalid(
                source,
                at("capacity_units"),
                "0 units; give the most units one transfer carries (> 0)",
            ));
        }
    }
    Ok(())
}

fn skus(parts: &NetworkParts, source: &str) -> Result {
    for s in &parts.skus {
        let at = |field: &str| format!("skus[{}].{field}", s.code);
        if s.weight_grams == 0 {
            return Err(NetworkError::invalid(
                source,
                at("weight_grams"),
                "weight 0; give the shipping weight of one unit in grams (> 0)",
            ));
        }
        if !(s.resale_risk.is_finite() && (0.0..=1.0).contains(&s.resale_risk)) {
            return Err(NetworkError::invalid(
                source,
                at("resale_risk"),
                format!("{} is outside 0.0..=1.0", s.resale_risk),
            ));
        }
        if s.unit_price_minor < 0 {
            return Err(NetworkError::invalid(
                source,
                at("unit_price_minor"),
                "negative price; prices are >= 0 minor units",
            ));
        }
        if s.category.trim().is_empty() {
            return Err(NetworkError::invalid(
                source,
                at("category"),
                "empty category",
            ));
        }
    }
    Ok(())
}
