//! Service choice: s*, the carrier service a candidate node ships the order
//! with.

use crate::allocation::request::OrderRequest;
use crate::network::{Network, NodeId, ServiceId, distance_km};

/// s*: the cheapest service of the node that meets the level within its
/// maximum distance and has a rate for the zone; cost = package + per-kg x
/// order weight; ties by service code.
pub(super) fn best_service(
    network: &Network,
    node_id: NodeId,
    request: &OrderRequest,
    order_grams: i64,
) -> Option<(ServiceId, u8)> {
    let node = network.node(node_id);
    let km = distance_km(node.location, request.destination.point);
    let zone = network.zone_for_km(km)?;
    node.services
        .iter()
        .filter_map(|&id| {
            let s = network.service(id);
            let reaches = s.max_distance_km.is_none_or(|max| km <= max);
            let rate = network
                .rate(id, zone)
                .filter(|_| reaches && s.level <= request.service_level)?;
            // Compared in thousandths of a minor unit: exact.
            let cost = rate.package_cost_minor * 1000 + rate.per_kg_cost_minor * order_grams;
            Some((cost, s.code.as_str(), id))
        })
        .min()
        .map(|(_, _, id)| (id, zone))
}

/// Why a caller's chosen service cannot carry an order from a node.
pub fn service_refusal(
    network: &Network,
    node_id: NodeId,
    service: ServiceId,
    request: &OrderRequest,
) -> Option<String> {
    let node = network.node(node_id);
    let s = network.service(service);
    let km = distance_km(node.location, request.destination.point);
    if !node.services.contains(&service) {
        return Some(format!("{} does not ship with {}", node.code, s.code));
    }
    if s.level > request.service_level {
        return Some(format!(
            "{} is slower than the order's service level",
            s.code
        ));
    }
    if s.max_distance_km.is_some_and(|max| km > max) {
        return Some(format!(
            "{} does not reach the destination from {} ({km:.0} km)",
            s.code, node.code
        ));
    }
    let has_rate = network
        .zone_for_km(km)
        .and_then(|zone| network.rate(service, zone))
        .is_some();
    (!has_rate).then(|| format!("{} has no rate to the destination's zone", s.code))
}
