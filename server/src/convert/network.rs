//! Network entities as protobuf descriptions.

use allot_engine::network::{LaneMode, Network, NodeKind};
use allot_proto::v1 as pb;

/// Engine node kind to proto.
pub(crate) fn node_kind(kind: NodeKind) -> pb::NodeKind {
    match kind {
        NodeKind::DistributionCenter => pb::NodeKind::DistributionCenter,
        NodeKind::Store => pb::NodeKind::Store,
        NodeKind::ThirdPartyLogistics => pb::NodeKind::ThirdPartyLogistics,
    }
}

fn point(p: allot_engine::network::GeoPoint) -> pb::GeoPoint {
    pb::GeoPoint {
        lat: p.lat,
        lon: p.lon,
    }
}

/// The whole network as the `GetNetwork` answer; SKUs only when asked.
/// Every list is ordered by code, as the contract says (the network file's
/// order need not be).
pub(crate) fn describe(network: &Network, include_skus: bool) -> pb::NetworkDescription {
    let mut nodes: Vec<_> = network
        .nodes()
        .iter()
        .map(|n| pb::NodeInfo {
            code: n.code.clone(),
            name: n.name.clone(),
            kind: node_kind(n.kind) as i32,
            location: Some(point(n.location)),
            time_zone: n.time_zone.name().to_string(),
            daily_capacity_units: n.daily_capacity_units,
            cold_chain: n.cold_chain,
            hazmat: n.hazmat,
            accepts_returns: n.accepts_returns,
            replenishment_days: n.replenishment_days,
            units_per_staff_hour: n.units_per_staff_hour,
            storage_units: n.storage_units,
            services: n
                .services
                .iter()
                .map(|s| network.service(*s).code.clone())
                .collect(),
            order_cutoff_local: n.order_cutoff.format("%H:%M").to_string(),
            processing_days: n.processing_days,
            handling_cost_minor: n.handling_cost_minor,
            blocked_destinations: n.blocked_destinations.clone(),
        })
        .collect();
    nodes.sort_by(|a, b| a.code.cmp(&b.code));
    let mut services: Vec<_> = network
        .services()
        .iter()
        .map(|s| pb::CarrierServiceInfo {
            code: s.code.clone(),
            carrier: network.carriers()[s.carrier].code.clone(),
            name: s.name.clone(),
            level: super::level::to_proto(s.level) as i32,
            transit_days: s.transit_days,
            max_distance_km: s.max_distance_km,
        })
        .collect();
    services.sort_by(|a, b| a.code.cmp(&b.code));
    let mut regions: Vec<_> = network
        .regions()
        .iter()
        .map(|r| pb::RegionInfo {
            code: r.code.clone(),
            postal_prefix: r.postal_prefix.clone(),
            name: r.name.clone(),
            area: r.area.clone(),
            centroid: Some(point(r.centroid)),
            time_zone: r.time_zone.name().to_string(),
        })
        .collect();
    regions.sort_by(|a, b| a.code.cmp(&b.code));
    let mut skus: Vec<_> = if include_skus {
        network
            .skus()
            .iter()
            .map(|s| pb::SkuInfo {
                code: s.code.clone(),
                category: s.category.clone(),
                weight_grams: s.weight_grams,
                cold_chain: s.cold_chain,
                hazmat: s.hazmat,
                resale_risk: f64::from(s.resale_risk),
                unit_price_minor: s.unit_price_minor,
            })
            .collect()
    } else {
        Vec::new()
    };
    skus.sort_by(|a, b| a.code.cmp(&b.code));
    let mut lanes: Vec<_> = network
        .lanes()
        .iter()
        .map(|l| pb::LaneInfo {
            from: network.node(l.from).code.clone(),
            to: network.node(l.to).code.clone(),
            mode: lane_mode(l.mode).to_string(),
            lead_days: l.lead_days,
            unit_cost_minor: l.unit_cost_minor,
            fixed_cost_minor: l.fixed_cost_minor,
            capacity_units: l.capacity_units,
        })
        .collect();
    lanes.sort_by(|a, b| (&a.from, &a.to, &a.mode).cmp(&(&b.from, &b.to, &b.mode)));
    pb::NetworkDescription {
        name: network.name().to_string(),
        currency: network.currency().to_string(),
        country: network.country().to_string(),
        nodes,
        services,
        regions,
        skus,
        sku_count: network.sku_count() as u32,
        lanes,
    }
}

/// A lane mode's name, as the network file spells it.
pub(crate) fn lane_mode(mode: LaneMode) -> &'static str {
    match mode {
        LaneMode::Truck => "truck",
        LaneMode::Parcel => "parcel",
    }
}
