//! Writing the network file: every field explicit, so that loading the text
//! gives back the same network.

use chrono::Weekday;

use super::{
    CarrierEntry, DAY_NAMES, KindName, LaneEntry, LevelName, ModeName, NetworkFile, NetworkSection,
    NodeEntry, RateEntry, RegionEntry, ServiceEntry, SkuEntry, ZoneEntry,
};
use crate::{LaneMode, Network, NodeKind, ServiceLevel, WeekdaySet};

fn day_names(set: WeekdaySet) -> Vec<String> {
    let days = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ];
    days.iter()
        .zip(DAY_NAMES)
        .filter(|(d, _)| set.contains(**d))
        .map(|(_, n)| n.to_string())
        .collect()
}

/// Shortest decimal that reads back as the same `f32`.
fn f32_to_f64(x: f32) -> f64 {
    format!("{x}").parse().unwrap_or(f64::from(x))
}

impl Network {
    /// Writes the network in the file format [`Network::load`] reads, every
    /// field explicit, so that loading the text gives back the same network.
    pub fn to_toml_string(&self) -> String {
        let file = NetworkFile {
            network: NetworkSection {
                name: self.name.clone(),
                currency: self.currency.clone(),
                country: self.country.clone(),
            },
            zones: self
                .zones
                .iter()
                .map(|z| ZoneEntry {
                    max_km: z.max_km,
                    zone: z.zone,
                })
                .collect(),
            carriers: self
                .carriers
                .iter()
                .map(|c| CarrierEntry {
                    code: c.code.clone(),
                    name: Some(c.name.clone()),
                })
                .collect(),
            services: self
                .services
                .iter()
                .map(|s| ServiceEntry {
                    code: s.code.clone(),
                    carrier: self.carriers[s.carrier].code.clone(),
                    name: Some(s.name.clone()),
                    level: match s.level {
                        ServiceLevel::SameDay => LevelName::SameDay,
                        ServiceLevel::Overnight => LevelName::Overnight,
                        ServiceLevel::TwoDay => LevelName::TwoDay,
                        ServiceLevel::Ground => LevelName::Ground,
                    },
                    transit_days: s.transit_days,
                    pickup_days: day_names(s.pickup_days),
                    max_distance_km: s.max_distance_km,
                    rates: s
                        .rates
                        .iter()
                        .map(|r| RateEntry {
                            zone: r.zone,
                            package_cost_minor: r.package_cost_minor,
                            per_kg_cost_minor: r.per_kg_cost_minor,
                        })
                        .collect(),
                })
                .collect(),
            nodes: self
                .nodes
                .iter()
                .map(|n| NodeEntry {
                    code: n.code.clone(),
                    name: Some(n.name.clone()),
                    kind: match n.kind {
                        NodeKind::DistributionCenter => KindName::Dc,
                        NodeKind::Store => KindName::Store,
                        NodeKind::ThirdPartyLogistics => KindName::ThirdParty,
                    },
                    lat: n.location.lat,
                    lon: n.location.lon,
                    time_zone: n.time_zone.name().to_string(),
                    daily_capacity_units: n.daily_capacity_units,
                    units_per_staff_hour: n.units_per_staff_hour,
                    order_cutoff: n.order_cutoff.format("%H:%M").to_string(),
                    processing_days: n.processing_days,
                    open_days: day_names(n.open_days),
                    holidays: n
                        .holidays
                        .iter()
                        .map(|d| d.format("%Y-%m-%d").to_string())
                        .collect(),
                    handling_cost_minor: n.handling_cost_minor,
                    replenishment_days: n.replenishment_days,
                    storage_units: n.storage_units,
                    cold_chain: n.cold_chain,
                    hazmat: n.hazmat,
                    accepts_returns: n.accepts_returns,
                    return_receiving_cost_minor: (n.returns.receiving_cost_minor
                        != n.handling_cost_minor)
                        .then_some(n.returns.receiving_cost_minor),
                    refurbish_units_per_day: n.returns.refurbish_units_per_day,
                    refurbish_cost_minor: n.returns.refurbish_cost_minor,
                    liquidation_units_per_day: n.returns.liquidation_units_per_day,
                    returns_to_vendor: n.returns.returns_to_vendor,
                    blocked_destinations: n.blocked_destinations.clone(),
                    services: n
                        .services
                        .iter()
                        .map(|s| self.service(*s).code.clone())
                        .collect(),
                })
                .collect(),
            regions: self
                .regions
                .iter()
                .map(|r| RegionEntry {
                    code: r.code.clone(),
                    postal_prefix: r.postal_prefix.clone(),
                    name: Some(r.name.clone()),
                    area: r.area.clone(),
                    lat: r.centroid.lat,
                    lon: r.centroid.lon,
                    time_zone: r.time_zone.name().to_string(),
                })
                .collect(),
            skus: self
                .skus
                .iter()
                .map(|s| SkuEntry {
                    code: s.code.clone(),
                    category: s.category.clone(),
                    weight_grams: s.weight_grams,
                    cold_chain: s.cold_chain,
                    hazmat: s.hazmat,
                    resale_risk: f32_to_f64(s.resale_risk),
                    unit_price_minor: s.unit_price_minor,
                })
                .collect(),
            lanes: self
                .lanes
                .iter()
                .map(|l| LaneEntry {
                    from: self.node(l.from).code.clone(),
                    to: self.node(l.to).code.clone(),
                    mode: match l.mode {
                        LaneMode::Truck => ModeName::Truck,
                        LaneMode::Parcel => ModeName::Parcel,
                    },
                    lead_days: l.lead_days,
                    unit_cost_minor: l.unit_cost_minor,
                    fixed_cost_minor: l.fixed_cost_minor,
                    capacity_units: l.capacity_units,
                })
                .collect(),
        };
        let header = "# allot network file; format: docs/network.md\n\n";
        let body =
            toml::to_string(&file).unwrap_or_else(|e| panic!("network serialises to TOML: {e}"));
        format!("{header}{body}")
    }
}
