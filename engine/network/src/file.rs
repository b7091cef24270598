//! The network file: a TOML schema (serde, unknown fields rejected), its
//! conversion to [`NetworkParts`], and the writer for the same format.
//! The format is documented field by field in `docs/network.md`.

use std::collections::HashMap;
use std::path::Path;

use chrono::{NaiveDate, NaiveTime, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::{
    Carrier, CarrierService, GeoPoint, Network, NetworkError, NetworkParts, Node, NodeKind, Region,
    ServiceId, ServiceLevel, Sku, WeekdaySet, ZoneBand, ZoneRate,
};

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct NetworkFile {
    network: NetworkSection,
    #[serde(default)]
    zones: Vec<ZoneEntry>,
    #[serde(default)]
    carriers: Vec<CarrierEntry>,
    #[serde(default)]
    services: Vec<ServiceEntry>,
    #[serde(default)]
    nodes: Vec<NodeEntry>,
    #[serde(default)]
    regions: Vec<RegionEntry>,
    #[serde(default)]
    skus: Vec<SkuEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct NetworkSection {
    name: String,
    #[serde(default = "default_currency")]
    currency: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ZoneEntry {
    max_km: f64,
    zone: u8,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CarrierEntry {
    code: String,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceEntry {
    code: String,
    carrier: String,
    #[serde(default)]
    name: Option<String>,
    level: LevelName,
    transit_days: u32,
    #[serde(default = "default_pickup_days")]
    pickup_days: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_distance_km: Option<f64>,
    rates: Vec<RateEntry>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum LevelName {
    SameDay,
    Overnight,
    TwoDay,
    Ground,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RateEntry {
    zone: u8,
    package_cost_minor: i64,
    #[serde(default)]
    per_kg_cost_minor: i64,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
enum KindName {
    #[serde(rename = "dc")]
    Dc,
    #[serde(rename = "store")]
    Store,
    #[serde(rename = "3pl")]
    ThirdParty,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct NodeEntry {
    code: String,
    #[serde(default)]
    name: Option<String>,
    kind: KindName,
    lat: f64,
    lon: f64,
    time_zone: String,
    daily_capacity_units: u32,
    #[serde(default = "default_cutoff")]
    order_cutoff: String,
    #[serde(default)]
    processing_days: u32,
    #[serde(default = "default_open_days")]
    open_days: Vec<String>,
    #[serde(default)]
    holidays: Vec<String>,
    #[serde(default)]
    handling_cost_minor: i64,
    #[serde(default)]
    cold_chain: bool,
    #[serde(default)]
    hazmat: bool,
    #[serde(default)]
    accepts_returns: bool,
    #[serde(default)]
    blocked_destinations: Vec<String>,
    services: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegionEntry {
    code: String,
    postal_prefix: String,
    #[serde(default)]
    name: Option<String>,
    area: String,
    lat: f64,
    lon: f64,
    time_zone: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SkuEntry {
    code: String,
    #[serde(default = "default_category")]
    category: String,
    weight_grams: u32,
    #[serde(default)]
    cold_chain: bool,
    #[serde(default)]
    hazmat: bool,
    #[serde(default)]
    resale_risk: f64,
    unit_price_minor: i64,
}

fn default_currency() -> String {
    "USD".into()
}
fn default_pickup_days() -> Vec<String> {
    ["mon", "tue", "wed", "thu", "fri"]
        .map(String::from)
        .to_vec()
}
fn default_open_days() -> Vec<String> {
    default_pickup_days()
}
fn default_cutoff() -> String {
    "17:00".into()
}
fn default_category() -> String {
    "general".into()
}

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// 1-based line and column of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Converts file entries to parts, naming the offending field on error.
struct Converter<'a> {
    source: &'a str,
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

    fn convert(&self, file: NetworkFile) -> Result<NetworkParts, NetworkError> {
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
        let regions = file
            .regions
            .iter()
            .map(|r| self.region(r))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(NetworkParts {
            name: file.network.name,
            currency: file.network.currency,
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
            order_cutoff,
            processing_days: n.processing_days,
            open_days: self.days(&n.open_days, || at("open_days"))?,
            holidays,
            handling_cost_minor: n.handling_cost_minor,
            cold_chain: n.cold_chain,
            hazmat: n.hazmat,
            accepts_returns: n.accepts_returns,
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
    /// Reads and validates a network file (the TOML format of
    /// `docs/network.md`). Errors name the file and the line:column (syntax,
    /// types, unknown fields) or the field path (semantic rules).
    pub fn load(path: &Path) -> Result<Network, NetworkError> {
        let text = std::fs::read_to_string(path).map_err(|source| NetworkError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Network::from_toml_str(&text, &path.display().to_string())
    }

    /// Parses and validates network TOML; `source` names it in errors.
    pub fn from_toml_str(text: &str, source: &str) -> Result<Network, NetworkError> {
        let file: NetworkFile = toml::from_str(text).map_err(|e| {
            let at = match e.span() {
                Some(span) => {
                    let (line, col) = line_col(text, span.start);
                    format!("{source}:{line}:{col}")
                }
                None => source.to_string(),
            };
            NetworkError::Invalid {
                at,
                problem: e.message().trim().to_string(),
            }
        })?;
        let parts = Converter { source }.convert(file)?;
        Network::from_parts(parts, source)
    }

    /// Writes the network in the file format [`Network::load`] reads, every
    /// field explicit, so that loading the text gives back the same network.
    pub fn to_toml_string(&self) -> String {
        let file = NetworkFile {
            network: NetworkSection {
                name: self.name.clone(),
                currency: self.currency.clone(),
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
                    order_cutoff: n.order_cutoff.format("%H:%M").to_string(),
                    processing_days: n.processing_days,
                    open_days: day_names(n.open_days),
                    holidays: n
                        .holidays
                        .iter()
                        .map(|d| d.format("%Y-%m-%d").to_string())
                        .collect(),
                    handling_cost_minor: n.handling_cost_minor,
                    cold_chain: n.cold_chain,
                    hazmat: n.hazmat,
                    accepts_returns: n.accepts_returns,
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
        };
        let header = "# allot network file; format: docs/network.md\n\n";
        let body =
            toml::to_string(&file).unwrap_or_else(|e| panic!("network serialises to TOML: {e}"));
        format!("{header}{body}")
    }
}

#[cfg(test)]
mod tests;
