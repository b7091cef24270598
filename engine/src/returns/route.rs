//! The exact routing of one return: every node that accepts returns and
//! has a label from the origin is valued (its units' best dispositions,
//! `value`), the best net recovery wins if it beats writing the return off
//! (0: nothing ships), and the next best is the runner-up. Enumerating the
//! nodes with an exact per-node assignment is exact for the whole choice.

use allot_network::{Network, ServiceId, distance_km};

use super::value::unit_values;
use super::{
    Disposition, NodeOffer, NodeRoute, ReturnEconomics, ReturnReason, ReturnReasonCode,
    ReturnRequest, ReturnRoute,
};

/// Dollars and cents of `minor` units, for reason sentences.
fn money(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    format!("{sign}${}.{:02}", minor.abs() / 100, minor.abs() % 100)
}

/// The cheapest return label from the origin to `offer`'s node: the
/// service picking up there with a rate for the zone (and within its
/// reach), and its cost for `grams`.
fn label(
    network: &Network,
    request: &ReturnRequest,
    offer: &NodeOffer,
    grams: i64,
) -> Option<(ServiceId, i64)> {
    let node = network.node(offer.node);
    let km = distance_km(node.location, request.origin.point);
    let zone = network.zone_for_km(km)?;
    node.services
        .iter()
        .filter(|&&s| {
            network
                .service(s)
                .max_distance_km
                .is_none_or(|most| km <= most)
        })
        .filter_map(|&s| {
            let rate = network.rate(s, zone)?;
            let cost = rate.package_cost_minor + (rate.per_kg_cost_minor * grams + 999) / 1000;
            Some((s, cost))
        })
        .min_by_key(|&(s, cost)| (cost, s))
}

/// The return sent to `offer`'s node, `None` when no label reaches it.
fn node_route(
    network: &Network,
    request: &ReturnRequest,
    economics: &ReturnEconomics,
    offer: &NodeOffer,
    capacity_limited: bool,
) -> Option<NodeRoute> {
    let node = network.node(offer.node);
    if !node.accepts_returns {
        return None;
    }
    let grams = i64::from(network.sku(request.sku).weight_grams) * i64::from(request.quantity);
    let (service, label_cost_minor) = label(network, request, offer, grams)?;
    let mut unlimited;
    let offer = if capacity_limited {
        offer
    } else {
        unlimited = offer.clone();
        unlimited.refurbish_left = request.quantity;
        unlimited.liquidation_left = request.quantity;
        &unlimited
    };
    Some(NodeRoute {
        node: offer.node,
        service,
        label_cost_minor,
        receiving_cost_minor: node.returns.receiving_cost_minor * i64::from(request.quantity),
        units: unit_values(
            request.cause,
            request.condition,
            request.quantity,
            request.unit_price_minor,
            economics,
            &node.returns,
            offer,
        ),
    })
}

/// Routes `request` among `offers` (the nodes that accept returns, with
/// what they offer today): the route with the highest net recovery, or a
/// write-off when none nets more than 0; ties go to the cheaper label, then
/// the lower node id.
pub fn route(
    network: &Network,
    request: &ReturnRequest,
    economics: &ReturnEconomics,
    offers: &[NodeOffer],
) -> ReturnRoute {
    let mut routes: Vec<(NodeRoute, &NodeOffer)> = offers
        .iter()
        .filter_map(|o| node_route(network, request, economics, o, true).map(|r| (r, o)))
        .collect();
    routes.sort_by_key(|(r, _)| (std::cmp::Reverse(r.net_minor()), r.label_cost_minor, r.node));
    let candidates = routes.len();
    let mut ranked = routes.into_iter();
    let best = ranked.next();
    let next = ranked.next();
    let code = |n: allot_network::NodeId| network.node(n).code.clone();
    let mut reasons = Vec::new();
    let Some((best, best_offer)) = best else {
        reasons.push(ReturnReason {
            code: ReturnReasonCode::NoReturnNode,
            message: "no node that accepts returns has a return label from the origin: the item is written off where it is".into(),
            node: None,
            value_delta: 0,
        });
        return ReturnRoute {
            chosen: None,
            runner_up: None,
            candidates,
            reasons,
        };
    };
    if best.net_minor() <= 0 {
        reasons.push(ReturnReason {
            code: ReturnReasonCode::WriteOff,
            message: format!(
                "not worth shipping back: the best node, {}, would recover {} against a {} label and {} receiving (net {}); the customer keeps the item",
                code(best.node),
                money(best.recovery_minor()),
                money(best.label_cost_minor),
                money(best.receiving_cost_minor),
                money(best.net_minor())
            ),
            node: Some(best.node),
            value_delta: -best.net_minor(),
        });
        return ReturnRoute {
            chosen: None,
            runner_up: Some(best),
            candidates,
            reasons,
        };
    }
    for units in &best.units {
        let n = units.units;
        let at = code(best.node);
        let (code, message) = match units.disposition {
            Disposition::Restock => (
                ReturnReasonCode::Restock,
                format!(
                    "{n} unit(s) restocked at {at}, where its demand before the horizon reaches the first of them with probability {:.2}: expected recovery {}",
                    best_offer.sell_probability.first().copied().unwrap_or(0.0),
                    money(units.recovery_minor)
                ),
            ),
            Disposition::Refurbish => (
                ReturnReasonCode::Refurbish,
                format!(
                    "{n} unit(s) refurbished at {at}: {} after refurbishing",
                    money(units.recovery_minor)
                ),
            ),
            Disposition::Liquidate => (
                ReturnReasonCode::Liquidate,
                format!(
                    "{n} unit(s) liquidated at {at}: worth more sold in bulk ({}) than in any other channel",
                    money(units.recovery_minor)
                ),
            ),
            Disposition::ReturnToVendor => (
                ReturnReasonCode::ReturnToVendor,
                format!(
                    "{n} defective unit(s) returned to the vendor from {at} for a credit of {}",
                    money(units.recovery_minor)
                ),
            ),
            Disposition::WriteOff => (
                ReturnReasonCode::WriteOff,
                format!("{n} unit(s) scrapped at {at}: no channel recovers anything for them"),
            ),
        };
        reasons.push(ReturnReason {
            code,
            message,
            node: Some(best.node),
            value_delta: units.recovery_minor,
        });
    }
    if let Some(free) = node_route(network, request, economics, best_offer, false) {
        let lost = free.recovery_minor() - best.recovery_minor();
        if lost > 0 {
            reasons.push(ReturnReason {
                code: ReturnReasonCode::ChannelFull,
                message: format!(
                    "{}'s refurbishing or liquidation capacity for today is used up ({} refurbish, {} liquidation units left): {} less recovered than with room",
                    code(best.node),
                    best_offer.refurbish_left,
                    best_offer.liquidation_left,
                    money(lost)
                ),
                node: Some(best.node),
                value_delta: lost,
            });
        }
    }
    let runner_up = next.map(|(r, _)| r);
    if let Some(r) = &runner_up {
        reasons.push(ReturnReason {
            code: ReturnReasonCode::RunnerUp,
            message: format!(
                "next best: {} ({}), net {}: {} less (label {}, recovery {})",
                code(r.node),
                r.main_disposition().as_str(),
                money(r.net_minor()),
                money(best.net_minor() - r.net_minor()),
                money(r.label_cost_minor),
                money(r.recovery_minor())
            ),
            node: Some(r.node),
            value_delta: best.net_minor() - r.net_minor(),
        });
    }
    ReturnRoute {
        chosen: Some(best),
        runner_up,
        candidates,
        reasons,
    }
}
