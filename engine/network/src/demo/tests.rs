use std::collections::HashSet;

use super::*;
use crate::{NodeKind, ServiceLevel, distance_km};

#[test]
fn demo_is_deterministic() {
    let a = Network::demo(DEMO_SEED).to_toml_string();
    assert_eq!(a, Network::demo(DEMO_SEED).to_toml_string());
    assert_ne!(a, Network::demo(DEMO_SEED + 1).to_toml_string());
}

#[test]
fn demo_counts_and_levels() {
    let net = Network::demo(DEMO_SEED);
    let count = |k: NodeKind| net.nodes().iter().filter(|n| n.kind == k).count();
    assert_eq!(count(NodeKind::DistributionCenter), 8);
    assert_eq!(count(NodeKind::Store), 60);
    assert_eq!(count(NodeKind::ThirdPartyLogistics), 2);
    assert_eq!(net.sku_count(), 5_000);
    assert_eq!(net.skus()[0].code, "SKU-000001");
    let levels: HashSet<ServiceLevel> = net.services().iter().map(|s| s.level).collect();
    assert_eq!(levels.len(), 4);
    assert!(net.regions().len() >= 120);
    let cats: HashSet<&str> = net.skus().iter().map(|s| s.category.as_str()).collect();
    assert!(cats.len() >= 12, "{cats:?}");
    assert!(net.skus().iter().any(|s| s.cold_chain) && net.skus().iter().any(|s| s.hazmat));
    assert!(
        net.nodes()
            .iter()
            .any(|n| n.blocked_destinations.iter().any(|b| b == "AK"))
    );
    for n in net.nodes() {
        match n.kind {
            NodeKind::Store => {
                assert!(
                    (150..=600).contains(&n.daily_capacity_units)
                        && !n.hazmat
                        && n.open_days == WeekdaySet::ALL
                );
                assert!((150..=300).contains(&n.handling_cost_minor));
            }
            NodeKind::DistributionCenter => {
                assert!(
                    (20_000..=60_000).contains(&n.daily_capacity_units) && n.holidays.len() == 12
                );
                assert!((45..=80).contains(&n.handling_cost_minor));
            }
            NodeKind::ThirdPartyLogistics => {}
        }
    }
}

#[test]
fn every_region_resolves_by_its_prefix_and_regions_are_consistent() {
    let net = Network::demo(DEMO_SEED);
    for (i, r) in net.regions().iter().enumerate() {
        let zip = format!("{}42", r.postal_prefix);
        assert_eq!(
            net.resolve_postal_code(&zip),
            Some(crate::RegionId(i as u32)),
            "{}",
            r.code
        );
        assert_eq!(
            net.nearest_region(r.centroid).0 as usize,
            net.region_id(&r.code).unwrap().0 as usize
        );
    }
    // Each store lies in (or next to) a region of its own state.
    for n in net.nodes() {
        let r = net.region(net.nearest_region(n.location));
        assert!(
            distance_km(n.location, r.centroid) < 120.0,
            "{} -> {}",
            n.code,
            r.code
        );
    }
}

#[test]
fn demo_zones_look_like_parcel_zones() {
    let net = Network::demo(DEMO_SEED);
    let node = |c: &str| net.node_id(c).unwrap();
    let at = |prefix: &str| {
        net.region(net.resolve_postal_code(prefix).unwrap())
            .centroid
    };
    assert_eq!(net.zone(node("DC-ABE"), at("100")), Some(2));
    assert_eq!(net.zone(node("DC-ONT"), at("100")), Some(8));
    assert_eq!(net.zone(node("DC-ATL"), at("606")), Some(4));
    // Overnight costs several times ground; rates rise with zone.
    let ground = net.service_id("NPX-GROUND").unwrap();
    let air = net.service_id("NPX-OVERNIGHT").unwrap();
    for z in 2..=8 {
        assert!(
            net.rate(air, z).unwrap().package_cost_minor
                > 3 * net.rate(ground, z).unwrap().package_cost_minor
        );
    }
    for s in net.services() {
        assert!(
            s.rates
                .windows(2)
                .all(|w| w[0].package_cost_minor < w[1].package_cost_minor),
            "{}",
            s.code
        );
    }
}

#[test]
fn federal_holidays_are_right() {
    let h = federal_holidays(&[2026, 2027]);
    let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
    for want in [
        d(2026, 5, 25),
        d(2026, 9, 7),
        d(2026, 11, 26),
        d(2027, 5, 31),
        d(2027, 9, 6),
        d(2027, 11, 25),
    ] {
        assert!(h.contains(&want), "{want}");
    }
}

#[test]
fn generation_is_fast_enough() {
    // The budget (< 50 ms) is for release builds; debug gets 20x slack.
    let t = std::time::Instant::now();
    let net = Network::demo(DEMO_SEED);
    let network_ms = t.elapsed().as_millis();
    let _ = demo_stock(&net, DEMO_SEED);
    let limit = if cfg!(debug_assertions) { 1_000 } else { 50 };
    assert!(network_ms < limit, "network {network_ms} ms");
    assert!(
        t.elapsed().as_millis() < 3 * limit,
        "network + stock {:?}",
        t.elapsed()
    );
}
