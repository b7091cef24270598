//! The deterministic demo network: a realistic US retailer with 8 DCs, 60
//! stores, 2 3PLs, 3 carriers, 7 services, 157 ZIP3 regions and 5,000 SKUs,
//! plus [`demo_stock`] for it. Same seed, same network, byte for byte.

mod catalog;
mod cities;
mod lanes;
mod rates;
mod stock;

use chrono::{Datelike, NaiveDate, NaiveTime, Weekday};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub use stock::{DemoStockRow, demo_stock};

use super::{
    GeoPoint, Network, NetworkParts, Node, NodeKind, Region, ReturnHandling, ServiceId, WeekdaySet,
};
use cities::Place;

/// The seed of the published demo network (`allot network export`).
pub const DEMO_SEED: u64 = 7;

/// Number of SKUs in the demo catalogue.
pub const DEMO_SKU_COUNT: usize = 5_000;

/// Units a demo store can hold (its back room and shelves).
const STORE_STORAGE_UNITS: u32 = 5_000;

/// A DC's return channels: it grades, refurbishes, liquidates and sends
/// defective units back to vendors. (Fixed values, not drawn, so the rest of
/// the demo network stays as it was.)
const DC_RETURNS: ReturnHandling = ReturnHandling {
    receiving_cost_minor: 180,
    refurbish_units_per_day: 400,
    refurbish_cost_minor: 1_400,
    liquidation_units_per_day: 2_000,
    returns_to_vendor: true,
};

/// The returns 3PL: a refurbishing specialist, cheaper per unit than a DC.
const REFURBISHER_RETURNS: ReturnHandling = ReturnHandling {
    receiving_cost_minor: 150,
    refurbish_units_per_day: 1_500,
    refurbish_cost_minor: 900,
    liquidation_units_per_day: 3_000,
    returns_to_vendor: true,
};

/// A store takes returns back onto its shelves; it neither refurbishes nor
/// liquidates.
const STORE_RETURNS: ReturnHandling = ReturnHandling {
    receiving_cost_minor: 250,
    refurbish_units_per_day: 0,
    refurbish_cost_minor: 0,
    liquidation_units_per_day: 0,
    returns_to_vendor: false,
};

/// DCs that can ship cold-chain SKUs.
const COLD_DCS: [&str; 4] = ["ATL", "DFW", "CHI", "ONT"];
/// DCs licensed for hazardous materials.
const HAZMAT_DCS: [&str; 4] = ["DFW", "CMH", "RNO", "MEM"];
/// DCs in metros the same-day courier serves.
const SAME_DAY_DCS: [&str; 3] = ["ATL", "CHI", "ONT"];

impl Network {
    /// The deterministic demo network for `seed` (use [`DEMO_SEED`] for the
    /// published one). Generation is cheap (a few milliseconds) and never
    /// depends on hash-map iteration order.
    pub fn demo(seed: u64) -> Network {
        Network::from_parts(demo_parts(seed), &format!("demo(seed={seed})"))
            .unwrap_or_else(|e| panic!("the demo network is valid: {e}"))
    }
}

/// The parts of the demo network for `seed`, before validation; handy for
/// tests that tweak one entity.
pub fn demo_parts(seed: u64) -> NetworkParts {
    let services = rates::services();
    let sid = |code: &str| {
        ServiceId(
            services
                .iter()
                .position(|s| s.code == code)
                .unwrap_or_else(|| panic!("demo service {code}")) as u32,
        )
    };
    let national = [
        "NPX-GROUND",
        "NPX-2DAY",
        "NPX-OVERNIGHT",
        "CCL-GROUND",
        "CCL-2DAY",
        "CCL-OVERNIGHT",
    ]
    .map(sid);
    let store_services = ["NPX-GROUND", "NPX-2DAY", "NPX-OVERNIGHT", "DASH-SAMEDAY"]
        .map(sid)
        .to_vec();
    let tpl_services = ["CCL-GROUND", "CCL-2DAY", "CCL-OVERNIGHT", "NPX-GROUND"]
        .map(sid)
        .to_vec();
    let same_day = sid("DASH-SAMEDAY");

    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6e65_7477_6f72_6b00);
    let federal = federal_holidays(&[2026, 2027]);
    let store_holidays: Vec<NaiveDate> = federal
        .iter()
        .copied()
        .filter(|d| {
            (d.month() == 11 && d.weekday() == Weekday::Thu) || (d.month() == 12 && d.day() == 25)
        })
        .collect();
    let mon_sat = WeekdaySet::WEEKDAYS.with(Weekday::Sat);

    let mut nodes = Vec::with_capacity(70);
    for dc in &cities::DCS {
        let mut services = national.to_vec();
        if SAME_DAY_DCS.contains(&dc.key) {
            services.push(same_day);
        }
        nodes.push(Node {
            code: format!("DC-{}", dc.key),
            name: format!("{} DC", dc.city),
            kind: NodeKind::DistributionCenter,
            location: GeoPoint {
                lat: dc.lat,
                lon: dc.lon,
            },
            time_zone: dc.tz,
            daily_capacity_units: rng.random_range(40..=120u32) * 500,
            units_per_staff_hour: 120,
            order_cutoff: half_hour(&mut rng, 18 * 60, 20 * 60),
            processing_days: 0,
            open_days: mon_sat,
            holidays: federal.clone(),
            handling_cost_minor: rng.random_range(45..=80),
            cold_chain: COLD_DCS.contains(&dc.key),
            hazmat: HAZMAT_DCS.contains(&dc.key),
            accepts_returns: true,
            returns: DC_RETURNS,
            replenishment_days: 7,
            storage_units: None,
            blocked_destinations: Vec::new(),
            services,
        });
    }
    for (i, t) in cities::TPLS.iter().enumerate() {
        nodes.push(Node {
            code: format!("3PL-{}", t.key),
            name: format!("{} 3PL", t.city),
            kind: NodeKind::ThirdPartyLogistics,
            location: GeoPoint {
                lat: t.lat,
                lon: t.lon,
            },
            time_zone: t.tz,
            daily_capacity_units: rng.random_range(16..=30u32) * 500,
            units_per_staff_hour: 90,
            order_cutoff: half_hour(&mut rng, 16 * 60, 17 * 60),
            processing_days: 1,
            open_days: WeekdaySet::WEEKDAYS,
            holidays: federal.clone(),
            handling_cost_minor: rng.random_range(95..=130),
            cold_chain: i == 1,
            hazmat: i == 0,
            accepts_returns: i == 1,
            returns: if i == 1 {
                REFURBISHER_RETURNS
            } else {
                ReturnHandling::default()
            },
            replenishment_days: 10,
            storage_units: None,
            blocked_destinations: Vec::new(),
            services: tpl_services.clone(),
        });
    }
    for s in &cities::STORES {
        let remote = matches!(s.state, "AK" | "HI");
        let blocks_remote = !remote && rng.random_bool(0.5);
        nodes.push(Node {
            code: format!("ST-{}", s.key),
            name: format!("{} store", s.city),
            kind: NodeKind::Store,
            location: GeoPoint {
                lat: s.lat,
                lon: s.lon,
            },
            time_zone: s.tz,
            daily_capacity_units: rng.random_range(15..=60u32) * 10,
            units_per_staff_hour: 35,
            order_cutoff: half_hour(&mut rng, 15 * 60, 17 * 60),
            processing_days: 0,
            open_days: WeekdaySet::ALL,
            holidays: store_holidays.clone(),
            handling_cost_minor: rng.random_range(150..=300),
            cold_chain: rng.random_bool(0.08),
            hazmat: false,
            accepts_returns: true,
            returns: STORE_RETURNS,
            replenishment_days: 3,
            storage_units: Some(STORE_STORAGE_UNITS),
            blocked_destinations: if blocks_remote {
                vec!["AK".into(), "HI".into()]
            } else {
                Vec::new()
            },
            services: store_services.clone(),
        });
    }

    let lanes = lanes::lanes(&nodes);
    NetworkParts {
        name: "allot demo (US)".into(),
        currency: "USD".into(),
        country: "US".into(),
        nodes,
        skus: catalog::skus(seed, DEMO_SKU_COUNT),
        carriers: rates::carriers(),
        services,
        zones: rates::zones(),
        regions: cities::ZIP3.iter().map(region).collect(),
        lanes,
    }
}

fn region(z: &Place) -> Region {
    Region {
        code: format!("US-{}", z.key),
        postal_prefix: z.key.to_string(),
        name: format!("{}, {}", z.city, z.state),
        area: z.state.to_string(),
        centroid: GeoPoint {
            lat: z.lat,
            lon: z.lon,
        },
        time_zone: z.tz,
    }
}

/// A time on a half-hour boundary in `from..=to` minutes after midnight.
fn half_hour(rng: &mut ChaCha8Rng, from: u32, to: u32) -> NaiveTime {
    let m = from + 30 * rng.random_range(0..=(to - from) / 30);
    NaiveTime::from_hms_opt(m / 60, m % 60, 0).unwrap_or(NaiveTime::MIN)
}

/// The `n`-th (1-based) `day` of `month`, or the last one when `n == 0`.
fn nth_weekday(year: i32, month: u32, day: Weekday, n: u32) -> NaiveDate {
    if n == 0 {
        let next = if month == 12 {
            (year + 1, 1)
        } else {
            (year, month + 1)
        };
        let mut d = NaiveDate::from_ymd_opt(next.0, next.1, 1)
            .unwrap_or_default()
            .pred_opt()
            .unwrap_or_default();
        while d.weekday() != day {
            d = d.pred_opt().unwrap_or_default();
        }
        d
    } else {
        NaiveDate::from_weekday_of_month_opt(year, month, day, n as u8).unwrap_or_default()
    }
}

/// US federal holidays on which parcel networks do not ship: New Year,
/// Memorial Day, Independence Day, Labor Day, Thanksgiving, Christmas.
fn federal_holidays(years: &[i32]) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    for &y in years {
        let fixed = |m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default();
        out.extend([
            fixed(1, 1),
            nth_weekday(y, 5, Weekday::Mon, 0),
            fixed(7, 4),
            nth_weekday(y, 9, Weekday::Mon, 1),
            nth_weekday(y, 11, Weekday::Thu, 4),
            fixed(12, 25),
        ]);
    }
    out
}

#[cfg(test)]
mod tests;
