//! Reading the network file: its entries converted to [`NetworkParts`],
//! every error naming the offending field.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveTime, Weekday};
use chrono_tz::Tz;

use super::{
    CarrierEntry, KindName, LaneEntry, LevelName, ModeName, NetworkFile, NodeEntry, RegionEntry,
    ServiceEntry,
};
use crate::build::index;
use crate::{
    Carrier, CarrierService, GeoPoint, Lane, LaneMode, NetworkError, NetworkParts, Node, NodeId,
    NodeKind, Region, ReturnHandling, ServiceId, ServiceLevel, Sku, WeekdaySet, ZoneBand, ZoneRate,
};

/// Converts file entries to parts, naming the offending field on error.
pub(super) struct Converter<'a> {
    /// Names the file in errors.
    pub(super) source: &'a str,
}

impl Converter<'_> {
    fn err(&self, path: String, problem: String) -> NetworkError {
        NetworkError::invalid(self.source, path, problem)
    }

    fn tz(&self, name: &str, at: impl Fn() -> String) -> Result<Tz, NetworkError> {
        name.parse::<Tz>().map_err(|_| {
            self.err(at(), format!("{name:?} is not an IANA time zone; use a tz database name such as \"America/New_York\""))
        })
    }

    fn days(&self, names: &[String], at: impl Fn() -> String) -> Result<WeekdaySet, NetworkError> {
        let mut set = WeekdaySet::EMPTY;
        for name in names {
            let day: Weekday = name.parse().map_err(|_| {
                self.err(
                    at(),
                    format!("{name:?} is not a weekday; use mon, tue, wed, thu, fri, sat or sun"),
                )
            })?;
            set = set.with(day);
        }
        Ok(set)
    }

    /// The parts the file describes, or the first field that is wrong.
    pub(super) fn convert(&self, file: NetworkFile) -> Result<NetworkParts, NetworkError> {
        let mut carrier_index: HashMap<&str, usize> = HashMap::new();
        for (i, c) in file.carriers.iter().enumerate() {
            carrier_index.entry(c.code.as_str()).or_insert(i);
        }
        let mut service_index: HashMap<&str, ServiceId> = HashMap::new();
        for (i, s) in file.services.iter().enumerate() {
            service_index
                .entry(s.code.as_str())
                .or_insert(ServiceId(i as u32));
        }
        let services = file
            .services
            .iter()
            .map(|s| self.service(s, &carrier_index, &file.carriers))
            .collect::<Result<Vec<_>, _>>()?;
        let nodes = file
            .nodes
            .iter()
            .map(|n| self.node(n, &service_index, &file.services))
            .collect::<Result<Vec<_>, _>>()?;
        // Node codes checked (empty, repeated) before lanes refer to them.
        let node_index = index(&file.nodes, |n| &n.code, NodeId, "nodes", self.source)?;
        let lanes = file
            .lanes
            .iter()
            .enumerate()
            .map(|(i, l)| self.lane(i, l, &node_index))
            .collect::<Result<Vec<_>, _>>()?;
        let regions = file
            .regions
            .iter()
            .map(|r| self.region(r))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(NetworkParts {
            name: file.network.name,
            currency: file.network.currency,
            country: file.network.country,
            nodes,
            skus: file
                .skus
                .into_iter()
                .map(|s| Sku {
                    code: s.code,
                    category: s.category,
                    weight_grams: s.weight_grams,
                    cold_chain: s.cold_chain,
                    hazmat: s.hazmat,
                    resale_risk: s.resale_risk as f32,
                    unit_price_minor: s.unit_price_minor,
                })
                .collect(),
            carriers: file
                .carriers
                .into_iter()
                .map(|c| Carrier {
                    name: c.name.unwrap_or_else(|| c.code.clone()),
                    code: c.code,
                })
                .collect(),
            services,
            zones: file
                .zones
                .iter()
                .map(|z| ZoneBand {
                    max_km: z.max_km,
                    zone: z.zone,
                })
                .collect(),
            regions,
            lanes,
        })
    }

    fn lane(
        &self,
        i: usize,
        l: &LaneEntry,
        nodes: &HashMap<String, NodeId>,
    ) -> Result<Lane, NetworkError> {
        let node = |code: &str, field: &str| {
            nodes.get(code).copied().ok_or_else(|| {
                self.err(
                    format!("lanes[#{i}].{field}"),
                    format!("unknown node {code:?}; a lane joins two nodes of `nodes`"),
                )
            })
        };
        Ok(Lane {
            from: node(&l.from, "from")?,
            to: node(&l.to, "to")?,
            mode: match l.mode {
                ModeName::Truck => LaneMode::Truck,
                ModeName::Parcel => LaneMode::Parcel,
            },
            lead_days: l.lead_days,
            unit_cost_minor: l.unit_cost_minor,
            fixed_cost_minor: l.fixed_cost_minor,
            capacity_units: l.capacity_units,
        })
    }

    fn service(
        &self,
        s: &ServiceEntry,
        carriers: &HashMap<&str, usize>,
        all: &[CarrierEntry],
    ) -> Result<CarrierService, NetworkError> {
        let at = |f: &str| format!("services[{}].{f}", s.code);
        let carrier = *carriers.get(s.carrier.as_str()).ok_or_else(|| {
            let known: Vec<&str> = all.iter().map(|c| c.code.as_str()).collect();
            self.err(
                at("carrier"),
                format!(
                    "unknown carrier {:?}; known carriers: {}",
                    s.carrier,
                    known.join(", ")
                ),
            )
        })?;
        Ok(CarrierService {
            code: s.code.clone(),
            carrier,
            name: s.name.clone().unwrap_or_else(|| s.code.clone()),
            level: match s.level {
                LevelName::SameDay => ServiceLevel::SameDay,
                LevelName::Overnight => ServiceLevel::Overnight,
                LevelName::TwoDay => ServiceLevel::TwoDay,
                LevelName::Ground => ServiceLevel::Ground,
            },
            transit_days: s.transit_days,
            pickup_days: self.days(&s.pickup_days, || at("pickup_days"))?,
            max_distance_km: s.max_distance_km,
            rates: s
                .rates
                .iter()
                .map(|r| ZoneRate {
                    zone: r.zone,
                    package_cost_minor: r.package_cost_minor,
                    per_kg_cost_minor: r.per_kg_cost_minor,
                })
                .collect(),
        })
    }

    fn node(
        &self,
        n: &NodeEntry,
        services: &HashMap<&str, ServiceId>,
        all: &[ServiceEntry],
    ) -> Result<Node, NetworkError> {
        let at = |f: &str| format!("nodes[{}].{f}", n.code);
        let order_cutoff = NaiveTime::parse_from_str(&n.order_cutoff, "%H:%M").map_err(|_| {
            self.err(
                at("order_cutoff"),
                format!(
                    "{:?} is not a local time; use 24-hour \"HH:MM\" such as \"17:30\"",
                    n.order_cutoff
                ),
            )
        })?;
        let holidays = n
            .holidays
            .iter()
            .map(|d| {
                NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
                    self.err(
                        at("holidays"),
                        format!("{d:?} is not a date; use \"YYYY-MM-DD\""),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let node_services = n
            .services
            .iter()
            .map(|code| {
                services.get(code.as_str()).copied().ok_or_else(|| {
                    let known: Vec<&str> = all.iter().map(|s| s.code.as_str()).collect();
                    self.err(
                        at("services"),
                        format!(
                            "unknown service {code:?}; known services: {}",
                            known.join(", ")
                        ),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Node {
            code: n.code.clone(),
            name: n.name.clone().unwrap_or_else(|| n.code.clone()),
            kind: match n.kind {
                KindName::Dc => NodeKind::DistributionCenter,
                KindName::Store => NodeKind::Store,
                KindName::ThirdParty => NodeKind::ThirdPartyLogistics,
            },
            location: GeoPoint {
                lat: n.lat,
                lon: n.lon,
            },
            time_zone: self.tz(&n.time_zone, || at("time_zone"))?,
            daily_capacity_units: n.daily_capacity_units,
            units_per_staff_hour: n.units_per_staff_hour,
            order_cutoff,
            processing_days: n.processing_days,
            open_days: self.days(&n.open_days, || at("open_days"))?,
            holidays,
            handling_cost_minor: n.handling_cost_minor,
            cold_chain: n.cold_chain,
            hazmat: n.hazmat,
            accepts_returns: n.accepts_returns,
            returns: ReturnHandling {
                receiving_cost_minor: n
                    .return_receiving_cost_minor
                    .unwrap_or(n.handling_cost_minor),
                refurbish_units_per_day: n.refurbish_units_per_day,
                refurbish_cost_minor: n.refurbish_cost_minor,
                liquidation_units_per_day: n.liquidation_units_per_day,
                returns_to_vendor: n.returns_to_vendor,
            },
            replenishment_days: n.replenishment_days,
            storage_units: n.storage_units,
            blocked_destinations: n.blocked_destinations.clone(),
            services: node_services,
        })
    }

    fn region(&self, r: &RegionEntry) -> Result<Region, NetworkError> {
        Ok(Region {
            code: r.code.clone(),
            postal_prefix: r.postal_prefix.clone(),
            name: r.name.clone().unwrap_or_else(|| r.code.clone()),
            area: r.area.clone(),
            centroid: GeoPoint {
                lat: r.lat,
                lon: r.lon,
            },
            time_zone: self.tz(&r.time_zone, || format!("regions[{}].time_zone", r.code))?,
        })
    }
}
