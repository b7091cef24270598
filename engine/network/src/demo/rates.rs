//! The demo carriers, their services and rate tables, and the zoning.
//!
//! Zones follow US parcel-carrier practice: zone 2 up to 150 miles from the
//! origin, then 300, 600, 1000, 1400, 1800 miles, and zone 8 beyond.

use chrono::Weekday;

use crate::{Carrier, CarrierService, ServiceLevel, WeekdaySet, ZoneBand, ZoneRate};

/// (upper bound km, zone): 150, 300, 600, 1000, 1400, 1800 miles, then anywhere.
const BANDS: [(f64, u8); 7] = [
    (241.0, 2),
    (483.0, 3),
    (966.0, 4),
    (1_609.0, 5),
    (2_253.0, 6),
    (2_897.0, 7),
    (20_040.0, 8),
];

/// Ground list price per package, cents, zones 2..=8.
const GROUND_PACKAGE: [i64; 7] = [650, 705, 760, 835, 905, 990, 1_195];
/// Ground price per kg, cents, zones 2..=8.
const GROUND_PER_KG: [i64; 7] = [55, 65, 78, 92, 108, 126, 148];

pub(super) fn zones() -> Vec<ZoneBand> {
    BANDS
        .iter()
        .map(|&(max_km, zone)| ZoneBand { max_km, zone })
        .collect()
}

pub(super) fn carriers() -> Vec<Carrier> {
    vec![
        Carrier {
            code: "NPX".into(),
            name: "Northstar Parcel Express".into(),
        },
        Carrier {
            code: "CCL".into(),
            name: "Coastline Couriers & Logistics".into(),
        },
        Carrier {
            code: "DASH".into(),
            name: "Dash Local Same-Day".into(),
        },
    ]
}

/// A rate table from ground prices scaled by `(package, per_kg)` multipliers
/// in per mille, with `tilt` per mille added per zone beyond 2 (a carrier
/// cheaper far away has a negative tilt).
fn table(package: i64, per_kg: i64, tilt: i64) -> Vec<ZoneRate> {
    (0..7)
        .map(|i| {
            let adjust = 1_000 + tilt * (i as i64 - 3);
            ZoneRate {
                zone: BANDS[i].1,
                package_cost_minor: round5(GROUND_PACKAGE[i] * package * adjust / 1_000_000),
                per_kg_cost_minor: GROUND_PER_KG[i] * per_kg * adjust / 1_000_000,
            }
        })
        .collect()
}

fn round5(cents: i64) -> i64 {
    (cents + 2) / 5 * 5
}

#[allow(clippy::too_many_arguments)]
fn service(
    code: &str,
    carrier: usize,
    name: &str,
    level: ServiceLevel,
    transit_days: u32,
    pickup_days: WeekdaySet,
    max_distance_km: Option<f64>,
    rates: Vec<ZoneRate>,
) -> CarrierService {
    CarrierService {
        code: code.into(),
        carrier,
        name: name.into(),
        level,
        transit_days,
        pickup_days,
        max_distance_km,
        rates,
    }
}

pub(super) fn services() -> Vec<CarrierService> {
    use ServiceLevel::*;
    let mon_fri = WeekdaySet::WEEKDAYS;
    let mon_sat = mon_fri.with(Weekday::Sat);
    let same_day: Vec<ZoneRate> = BANDS
        .iter()
        .enumerate()
        .map(|(i, &(_, zone))| ZoneRate {
            zone,
            package_cost_minor: 1_190 + 450 * i as i64,
            per_kg_cost_minor: 40,
        })
        .collect();
    vec![
        service(
            "NPX-GROUND",
            0,
            "Northstar Ground",
            Ground,
            4,
            mon_fri,
            None,
            table(1_000, 1_000, 0),
        ),
        service(
            "NPX-2DAY",
            0,
            "Northstar 2nd Day Air",
            TwoDay,
            2,
            mon_fri,
            None,
            table(2_200, 2_000, 15),
        ),
        service(
            "NPX-OVERNIGHT",
            0,
            "Northstar Next Day Air",
            Overnight,
            1,
            mon_fri,
            None,
            table(4_200, 3_500, 20),
        ),
        service(
            "CCL-GROUND",
            1,
            "Coastline Home Ground",
            Ground,
            4,
            mon_sat,
            None,
            table(1_020, 960, -25),
        ),
        service(
            "CCL-2DAY",
            1,
            "Coastline 2Day",
            TwoDay,
            2,
            mon_fri,
            None,
            table(2_150, 2_100, 10),
        ),
        service(
            "CCL-OVERNIGHT",
            1,
            "Coastline Priority Overnight",
            Overnight,
            1,
            mon_fri,
            None,
            table(4_350, 3_300, 15),
        ),
        service(
            "DASH-SAMEDAY",
            2,
            "Dash Same-Day",
            SameDay,
            0,
            WeekdaySet::ALL,
            Some(60.0),
            same_day,
        ),
    ]
}
