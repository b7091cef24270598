//! The network file: a TOML schema (serde, unknown fields rejected), its
//! conversion to [`NetworkParts`](crate::NetworkParts), and the writer for
//! the same format. The format is documented field by field in
//! `docs/network.md`.
//!
//! - `read`: file entries to parts, naming the offending field.
//! - `write`: [`Network::to_toml_string`].

mod read;
mod write;

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Network, NetworkError};
use read::Converter;

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
    #[serde(default)]
    lanes: Vec<LaneEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct NetworkSection {
    name: String,
    #[serde(default = "default_currency")]
    currency: String,
    #[serde(default = "default_country")]
    country: String,
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
    #[serde(default = "default_units_per_staff_hour")]
    units_per_staff_hour: u32,
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    return_receiving_cost_minor: Option<i64>,
    #[serde(default, skip_serializing_if = "is_zero")]
    refurbish_units_per_day: u32,
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    refurbish_cost_minor: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    liquidation_units_per_day: u32,
    #[serde(default, skip_serializing_if = "is_false")]
    returns_to_vendor: bool,
    #[serde(default = "default_replenishment_days")]
    replenishment_days: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    storage_units: Option<u32>,
    #[serde(default)]
    blocked_destinations: Vec<String>,
    services: Vec<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ModeName {
    Truck,
    Parcel,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LaneEntry {
    from: String,
    to: String,
    mode: ModeName,
    lead_days: u32,
    unit_cost_minor: i64,
    #[serde(default)]
    fixed_cost_minor: i64,
    capacity_units: u32,
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
fn default_country() -> String {
    "US".into()
}
fn default_pickup_days() -> Vec<String> {
    ["mon", "tue", "wed", "thu", "fri"]
        .map(String::from)
        .to_vec()
}
fn default_open_days() -> Vec<String> {
    default_pickup_days()
}
/// Replenishment cycle when the file gives none: weekly.
pub(crate) const DEFAULT_REPLENISHMENT_DAYS: u32 = 7;

fn default_replenishment_days() -> u32 {
    DEFAULT_REPLENISHMENT_DAYS
}
/// Productivity when the file gives none: units per staff hour.
pub(crate) const DEFAULT_UNITS_PER_STAFF_HOUR: u32 = 60;

fn default_units_per_staff_hour() -> u32 {
    DEFAULT_UNITS_PER_STAFF_HOUR
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
}

#[cfg(test)]
mod tests;

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn is_zero_i64(n: &i64) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}
