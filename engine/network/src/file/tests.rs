use super::*;
use crate::{DEMO_SEED, GeoPoint, LaneMode, RegionId, WeekdaySet};

const EXAMPLE: &str = include_str!("example.toml");

fn load(text: &str) -> Result<Network, NetworkError> {
    Network::from_toml_str(text, "net.toml")
}

fn err(text: &str) -> String {
    load(text).unwrap_err().to_string()
}

#[test]
fn example_loads_with_defaults() {
    let net = load(EXAMPLE).unwrap();
    assert_eq!(net.node_count(), 2);
    let store = net.node(net.node_id("ST-NYC").unwrap());
    assert_eq!(store.name, "ST-NYC");
    assert_eq!(store.processing_days, 0);
    assert!(!store.accepts_returns);
    // Receiving a return costs what handling costs unless it is given.
    assert_eq!(
        store.returns.receiving_cost_minor,
        store.handling_cost_minor
    );
    assert_eq!(store.returns.refurbish_units_per_day, 0);
    let dc = net.node(net.node_id("DC-ABE").unwrap());
    assert_eq!(
        dc.returns,
        crate::ReturnHandling {
            receiving_cost_minor: 180,
            refurbish_units_per_day: 400,
            refurbish_cost_minor: 1400,
            liquidation_units_per_day: 2000,
            returns_to_vendor: true,
        }
    );
    let ground = net.service(net.service_id("NPX-GROUND").unwrap());
    assert_eq!(ground.pickup_days, WeekdaySet::WEEKDAYS);
    assert_eq!(ground.max_distance_km, None);
    assert_eq!(net.sku(net.sku_id("SKU-000002").unwrap()).resale_risk, 0.0);
    let hnl = net.region_id("US-968").unwrap();
    assert!(net.is_blocked(net.node_id("ST-NYC").unwrap(), hnl));
    assert!(!net.is_blocked(net.node_id("DC-ABE").unwrap(), hnl));
    assert_eq!(store.units_per_staff_hour, 60);
    assert_eq!(store.storage_units, None);
    let lane = &net.lanes()[0];
    assert_eq!(
        (lane.from, lane.to, lane.mode, lane.lead_days),
        (
            net.node_id("DC-ABE").unwrap(),
            net.node_id("ST-NYC").unwrap(),
            LaneMode::Truck,
            2
        )
    );
}

#[test]
fn longest_prefix_wins() {
    let text = EXAMPLE.replace(
        "[[skus]]\ncode = \"SKU-000001\"",
        "[[regions]]\ncode = \"US-10\"\npostal_prefix = \"10\"\narea = \"NY\"\nlat = 41.0\nlon = -74.0\n\
         time_zone = \"America/New_York\"\n\n[[skus]]\ncode = \"SKU-000001\"",
    );
    let net = load(&text).unwrap();
    let r100 = net.region_id("US-100").unwrap();
    let r10 = net.region_id("US-10").unwrap();
    assert_eq!(net.resolve_postal_code("10001"), Some(r100));
    assert_eq!(net.resolve_postal_code("10001-1234"), Some(r100));
    assert_eq!(net.resolve_postal_code("10501"), Some(r10));
    assert_eq!(net.resolve_postal_code("1"), None);
    assert_eq!(net.resolve_postal_code("99501"), None);
    assert_eq!(net.resolve_postal_code(""), None);
}

#[test]
fn lookups_zone_rate_nearest() {
    let net = load(EXAMPLE).unwrap();
    let abe = net.node_id("DC-ABE").unwrap();
    let nyc = net.region(net.region_id("US-100").unwrap()).centroid;
    assert_eq!(net.zone(abe, nyc), Some(2));
    assert_eq!(net.zone_for_km(241.0), Some(2));
    assert_eq!(net.zone_for_km(241.1), Some(8));
    assert_eq!(net.zone_for_km(30_000.0), None);
    let ground = net.service_id("NPX-GROUND").unwrap();
    assert_eq!(net.rate(ground, 8).unwrap().package_cost_minor, 1195);
    assert!(net.rate(ground, 5).is_none());
    assert_eq!(
        net.nearest_region(GeoPoint {
            lat: 21.3,
            lon: -157.9
        }),
        RegionId(1)
    );
}

#[test]
fn syntax_error_names_file_and_line() {
    let text = EXAMPLE.replacen("name = \"example\"", "name = \"example", 1);
    let e = err(&text);
    assert!(e.starts_with("net.toml:3:"), "{e}");
}

#[test]
fn unknown_field_names_line() {
    let text = EXAMPLE.replacen("hazmat = true", "hazmatt = true", 1);
    let e = err(&text);
    assert!(e.starts_with("net.toml:53:1"), "{e}");
    assert!(e.contains("hazmatt"), "{e}");
}

#[test]
fn type_error_names_line() {
    let text = EXAMPLE.replacen(
        "daily_capacity_units = 300",
        "daily_capacity_units = \"lots\"",
        1,
    );
    let e = err(&text);
    assert!(e.starts_with("net.toml:68:"), "{e}");
}

#[test]
fn unknown_service_in_node() {
    let text = EXAMPLE.replacen(
        "services = [\"NPX-GROUND\", \"DASH-SAMEDAY\"]",
        "services = [\"NPX-AIR\"]",
        1,
    );
    let e = err(&text);
    assert!(e.contains("net.toml: nodes[ST-NYC].services"), "{e}");
    assert!(e.contains("\"NPX-AIR\"") && e.contains("NPX-GROUND"), "{e}");
}

#[test]
fn bad_time_zone() {
    let text = EXAMPLE.replacen(
        "time_zone = \"America/New_York\"",
        "time_zone = \"America/Atlantis\"",
        1,
    );
    let e = err(&text);
    assert!(
        e.contains("nodes[DC-ABE].time_zone") && e.contains("IANA"),
        "{e}"
    );
}

#[test]
fn missing_rate_for_zone() {
    let text = EXAMPLE.replacen(
        "  { zone = 8, package_cost_minor = 1195, per_kg_cost_minor = 148 },\n",
        "",
        1,
    );
    let e = err(&text);
    assert!(
        e.contains("services[NPX-GROUND].rates") && e.contains("zone 8"),
        "{e}"
    );
}

#[test]
fn semantic_rules() {
    let cases = [
        (
            "refurbish_cost_minor = 1400",
            "refurbish_cost_minor = -1",
            "nodes[DC-ABE].refurbish_cost_minor",
        ),
        (
            "handling_cost_minor = 220",
            "handling_cost_minor = 220\nliquidation_units_per_day = 5",
            "nodes[ST-NYC].liquidation_units_per_day",
        ),
        ("lat = 40.608", "lat = 140.608", "nodes[DC-ABE].lat"),
        (
            "daily_capacity_units = 300",
            "daily_capacity_units = 0",
            "nodes[ST-NYC].daily_capacity_units",
        ),
        (
            "resale_risk = 0.2",
            "resale_risk = 1.2",
            "skus[SKU-000001].resale_risk",
        ),
        (
            "weight_grams = 350",
            "weight_grams = 0",
            "skus[SKU-000001].weight_grams",
        ),
        (
            "postal_prefix = \"968\"",
            "postal_prefix = \"100\"",
            "regions[US-968].postal_prefix",
        ),
        (
            "postal_prefix = \"968\"",
            "postal_prefix = \"96-8\"",
            "regions[US-968].postal_prefix",
        ),
        (
            "blocked_destinations = [\"HI\"]",
            "blocked_destinations = [\"XX\"]",
            "nodes[ST-NYC].blocked_destinations",
        ),
        (
            "open_days = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\", \"sat\"]",
            "open_days = []",
            "nodes[DC-ABE].open_days",
        ),
        (
            "open_days = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\", \"sat\"]",
            "open_days = [\"funday\"]",
            "nodes[DC-ABE].open_days",
        ),
        (
            "order_cutoff = \"19:00\"",
            "order_cutoff = \"7pm\"",
            "nodes[DC-ABE].order_cutoff",
        ),
        (
            "holidays = [\"2026-11-26\", \"2026-12-25\"]",
            "holidays = [\"2026-13-01\"]",
            "nodes[DC-ABE].holidays",
        ),
        ("max_km = 20040.0", "max_km = 200.0", "zones[8].max_km"),
        (
            "carrier = \"NPX\"\nlevel = \"ground\"",
            "carrier = \"UPS\"\nlevel = \"ground\"",
            "services[NPX-GROUND].carrier",
        ),
        (
            "code = \"ST-NYC\"",
            "code = \"DC-ABE\"",
            "nodes[DC-ABE].code",
        ),
        ("to = \"ST-NYC\"", "to = \"ST-BOS\"", "lanes[#0].to"),
        (
            "to = \"ST-NYC\"",
            "to = \"DC-ABE\"",
            "lanes[DC-ABE->DC-ABE].to",
        ),
        (
            "capacity_units = 2000",
            "capacity_units = 0",
            "lanes[DC-ABE->ST-NYC].capacity_units",
        ),
        (
            "lead_days = 2",
            "lead_days = 61",
            "lanes[DC-ABE->ST-NYC].lead_days",
        ),
        (
            "fixed_cost_minor = 25000",
            "fixed_cost_minor = -1",
            "lanes[DC-ABE->ST-NYC].fixed_cost_minor",
        ),
    ];
    for (from, to, path) in cases {
        assert!(EXAMPLE.contains(from), "{from}");
        let e = err(&EXAMPLE.replacen(from, to, 1));
        assert!(e.contains(&format!("net.toml: {path}")), "{to}: {e}");
    }
}

#[test]
fn load_reads_a_file_and_reports_missing_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("net.toml");
    std::fs::write(&path, EXAMPLE).unwrap();
    assert_eq!(Network::load(&path).unwrap().node_count(), 2);
    let e = Network::load(&dir.path().join("missing.toml"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing.toml"), "{e}");
}

#[test]
fn demo_round_trips_through_toml() {
    let demo = Network::demo(DEMO_SEED);
    let text = demo.to_toml_string();
    let back = Network::from_toml_str(&text, "demo.toml").unwrap();
    assert_eq!(back.node_count(), demo.node_count());
    assert_eq!(back.sku_count(), demo.sku_count());
    assert_eq!(back.services().len(), demo.services().len());
    assert_eq!(back.regions().len(), demo.regions().len());
    assert_eq!(back.zones(), demo.zones());
    for code in ["DC-ATL", "ST-HNL", "3PL-SDF"] {
        let (a, b) = (
            demo.node(demo.node_id(code).unwrap()),
            back.node(back.node_id(code).unwrap()),
        );
        assert_eq!(
            (
                &a.name,
                a.kind,
                a.location,
                a.time_zone,
                a.order_cutoff,
                a.open_days,
                &a.holidays
            ),
            (
                &b.name,
                b.kind,
                b.location,
                b.time_zone,
                b.order_cutoff,
                b.open_days,
                &b.holidays
            )
        );
        assert_eq!(
            (a.cold_chain, a.hazmat, &a.services, &a.blocked_destinations),
            (b.cold_chain, b.hazmat, &b.services, &b.blocked_destinations)
        );
        assert_eq!(
            (a.accepts_returns, a.returns),
            (b.accepts_returns, b.returns)
        );
    }
    for i in [0usize, 1234, 4999] {
        let (a, b) = (&demo.skus()[i], &back.skus()[i]);
        assert_eq!(
            (
                &a.code,
                &a.category,
                a.weight_grams,
                a.resale_risk,
                a.unit_price_minor
            ),
            (
                &b.code,
                &b.category,
                b.weight_grams,
                b.resale_risk,
                b.unit_price_minor
            )
        );
    }
    for (a, b) in demo.services().iter().zip(back.services()) {
        assert_eq!(
            (&a.code, a.carrier, a.level, &a.rates, a.max_distance_km),
            (&b.code, b.carrier, b.level, &b.rates, b.max_distance_km)
        );
    }
    // Writing the reloaded network gives the same text: nothing was lost.
    assert_eq!(back.to_toml_string(), text);
}

#[test]
fn a_network_with_services_needs_zones_and_regions() {
    let mut parts = crate::demo::demo_parts(DEMO_SEED);
    parts.zones.clear();
    let e = Network::from_parts(parts, "t").unwrap_err().to_string();
    assert!(e.starts_with("t: zones"), "{e}");
    let mut parts = crate::demo::demo_parts(DEMO_SEED);
    parts.regions.clear();
    for n in &mut parts.nodes {
        n.blocked_destinations.clear();
    }
    let e = Network::from_parts(parts, "t").unwrap_err().to_string();
    assert!(e.starts_with("t: regions"), "{e}");
}
