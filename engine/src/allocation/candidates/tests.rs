//! Candidate building tests over the demo network and its stock; `setup`,
//! `order` and `popular` serve the lateness and promise tests too.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::*;
use crate::allocation::error::AllocationError;
use crate::allocation::params::CostParams;
use crate::allocation::request::{AllocationOptions, Destination, OrderLine, OrderRequest};
use crate::network::{
    DEMO_SEED, Network, NodeId, RegionId, ServiceLevel, SkuId, demo_stock, distance_km,
};
use crate::stock::{StockLevel, StockStore};

pub(crate) fn setup() -> (Arc<Network>, StockStore, Vec<u32>) {
    let network = Arc::new(Network::demo(DEMO_SEED));
    let store = StockStore::new(network.clone());
    let mut per_node: Vec<Vec<(SkuId, StockLevel)>> = vec![Vec::new(); network.node_count()];
    for r in demo_stock(&network, DEMO_SEED) {
        per_node[r.node.0 as usize].push((
            r.sku,
            StockLevel {
                on_hand: r.on_hand,
                reserved: r.reserved,
                protected: r.protected,
            },
        ));
    }
    for (n, rows) in per_node.into_iter().enumerate() {
        store
            .replace_node(NodeId(n as u32), rows, 0, SystemTime::UNIX_EPOCH)
            .unwrap();
    }
    let capacity = network
        .nodes()
        .iter()
        .map(|n| n.daily_capacity_units)
        .collect();
    (network, store, capacity)
}

pub(crate) fn order(
    network: &Network,
    skus: &[SkuId],
    region: RegionId,
    level: ServiceLevel,
) -> OrderRequest {
    OrderRequest {
        order_id: "o-1".into(),
        lines: skus
            .iter()
            .enumerate()
            .map(|(i, &sku)| OrderLine {
                line_id: format!("l{i}"),
                sku,
                quantity: 1 + i as u32,
                weight_grams: None,
            })
            .collect(),
        destination: Destination {
            point: network.region(region).centroid,
            region: Some(region),
        },
        service_level: level,
        promised_by: None,
        options: AllocationOptions {
            allow_backorder: true,
            ..AllocationOptions::default()
        },
    }
}

fn build(
    network: &Network,
    store: &StockStore,
    capacity: &[u32],
    request: &OrderRequest,
) -> BuiltProblem {
    let built = build_problem(
        network,
        store,
        capacity,
        request,
        &CostParams::default(),
        SystemTime::now(),
    )
    .unwrap();
    assert_eq!(
        built.candidates_before,
        built.problem.candidates.len() + built.excluded.len()
    );
    built
}

/// SKUs with stock at many nodes (the best sellers).
pub(crate) fn popular(
    network: &Network,
    store: &StockStore,
    pred: impl Fn(SkuId) -> bool,
) -> Vec<SkuId> {
    let mut skus: Vec<(usize, SkuId)> = (0..network.sku_count() as u32)
        .map(SkuId)
        .filter(|&s| pred(s))
        .map(|s| {
            (
                store
                    .sku_levels(s)
                    .iter()
                    .filter(|(_, l)| l.available() > 0)
                    .count(),
                s,
            )
        })
        .collect();
    skus.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    skus.into_iter().map(|(_, s)| s).take(3).collect()
}

#[test]
fn cold_chain_sku_never_at_a_non_cold_chain_node() {
    let (network, store, capacity) = setup();
    let cold = popular(&network, &store, |s| network.sku(s).cold_chain)[0];
    let dry = popular(&network, &store, |s| {
        !network.sku(s).cold_chain && !network.sku(s).hazmat
    })[0];
    let built = build(
        &network,
        &store,
        &capacity,
        &order(&network, &[cold, dry], RegionId(0), ServiceLevel::Ground),
    );
    let p = &built.problem;
    for (c, cand) in p.candidates.iter().enumerate() {
        if !network.node(cand.node).cold_chain {
            assert_eq!(p.free_stock[p.at(0, c)] + p.protected_stock[p.at(0, c)], 0);
        }
    }
    // Alone, the cold SKU excludes every non-cold-chain node that holds it.
    let built = build(
        &network,
        &store,
        &capacity,
        &order(&network, &[cold], RegionId(0), ServiceLevel::Ground),
    );
    assert!(
        built
            .problem
            .candidates
            .iter()
            .all(|c| network.node(c.node).cold_chain)
    );
    let holders = store
        .sku_levels(cold)
        .into_iter()
        .filter(|(f, l)| l.available() > 0 && !network.node(f.node).cold_chain);
    for (fresh, _) in holders {
        let e = built
            .excluded
            .iter()
            .find(|e| e.node == fresh.node)
            .unwrap();
        assert!(e.reasons.contains(&ExclusionReason::ColdChain), "{e:?}");
    }
}

#[test]
fn excluded_nodes_are_absent_with_their_reason() {
    let (network, store, capacity) = setup();
    let skus = popular(&network, &store, |s| {
        !network.sku(s).cold_chain && !network.sku(s).hazmat
    });
    let mut request = order(&network, &skus, RegionId(0), ServiceLevel::Ground);
    let before = build(&network, &store, &capacity, &request);
    let gone: Vec<NodeId> = before
        .problem
        .candidates
        .iter()
        .take(2)
        .map(|c| c.node)
        .collect();
    assert_eq!(gone.len(), 2);
    request.options.excluded_nodes = gone.clone();
    let after = build(&network, &store, &capacity, &request);
    for node in gone {
        assert!(after.problem.candidates.iter().all(|c| c.node != node));
        let e = after.excluded.iter().find(|e| e.node == node).unwrap();
        assert_eq!(e.reasons, vec![ExclusionReason::ExcludedByRequest]);
    }
    assert_eq!(
        after.problem.candidates.len(),
        before.problem.candidates.len() - 2
    );
}

#[test]
fn blocked_region_excludes_the_node() {
    let (network, store, capacity) = setup();
    let (node, region) = network
        .node_ids()
        .find_map(|n| {
            let r = (0..network.regions().len() as u32)
                .map(RegionId)
                .find(|&r| network.is_blocked(n, r))?;
            Some((n, r))
        })
        .expect("the demo blocks some regions");
    let skus = popular(&network, &store, |s| {
        !network.sku(s).cold_chain && !network.sku(s).hazmat
    });
    let built = build(
        &network,
        &store,
        &capacity,
        &order(&network, &skus, region, ServiceLevel::Ground),
    );
    assert!(built.problem.candidates.iter().all(|c| c.node != node));
    let e = built.excluded.iter().find(|e| e.node == node).unwrap();
    assert!(
        e.reasons.contains(&ExclusionReason::BlockedDestination),
        "{e:?}"
    );
}

#[test]
fn same_day_only_within_distance() {
    let (network, store, capacity) = setup();
    let skus = popular(&network, &store, |s| {
        !network.sku(s).cold_chain && !network.sku(s).hazmat
    });
    let mut seen = 0;
    for r in 0..network.regions().len() as u32 {
        let request = order(&network, &skus, RegionId(r), ServiceLevel::SameDay);
        let built = build(&network, &store, &capacity, &request);
        for c in &built.problem.candidates {
            let s = network.service(c.service);
            assert_eq!(s.level, ServiceLevel::SameDay);
            let km = distance_km(network.node(c.node).location, request.destination.point);
            assert!(s.max_distance_km.is_none_or(|m| km <= m), "{km} km");
            seen += 1;
        }
        let far = built
            .excluded
            .iter()
            .filter(|e| e.reasons.contains(&ExclusionReason::NoService))
            .count();
        assert!(far > 0);
    }
    assert!(seen > 0, "some region has a same-day candidate");
}

#[test]
fn invalid_requests_name_the_field() {
    let (network, store, capacity) = setup();
    let mut request = order(
        &network,
        &[SkuId(0), SkuId(1)],
        RegionId(0),
        ServiceLevel::Ground,
    );
    request.lines[1].quantity = 0;
    let err = build_problem(
        &network,
        &store,
        &capacity,
        &request,
        &CostParams::default(),
        SystemTime::now(),
    )
    .unwrap_err();
    assert!(
        matches!(&err, AllocationError::InvalidArgument { field, .. } if field == "lines[1].quantity"),
        "{err}"
    );
    request.lines[1].quantity = 1;
    request.lines[1].line_id = "l0".into();
    let err = build_problem(
        &network,
        &store,
        &capacity,
        &request,
        &CostParams::default(),
        SystemTime::now(),
    )
    .unwrap_err();
    assert!(
        matches!(&err, AllocationError::InvalidArgument { field, .. } if field == "lines[1].line_id"),
        "{err}"
    );
    request.lines.clear();
    let err = build_problem(
        &network,
        &store,
        &capacity,
        &request,
        &CostParams::default(),
        SystemTime::now(),
    )
    .unwrap_err();
    assert!(
        matches!(&err, AllocationError::InvalidArgument { field, .. } if field == "lines"),
        "{err}"
    );
}

#[test]
fn repeated_sku_shares_its_stock_and_ship_complete_overlays() {
    let (network, store, capacity) = setup();
    let sku = popular(&network, &store, |s| {
        !network.sku(s).cold_chain && !network.sku(s).hazmat
    })[0];
    let mut request = order(&network, &[sku, sku], RegionId(0), ServiceLevel::Ground);
    request.lines[0].quantity = 1_000;
    request.options.ship_complete = true;
    let built = build(&network, &store, &capacity, &request);
    let p = &built.problem;
    assert_eq!(p.max_nodes, Some(1));
    assert!(!p.allow_backorder);
    for (c, cand) in p.candidates.iter().enumerate() {
        let available = store.level(cand.node, sku).available() as u32;
        let total: u32 = (0..2)
            .map(|l| p.free_stock[p.at(l, c)] + p.protected_stock[p.at(l, c)])
            .sum();
        assert!(total <= available);
    }
}

#[test]
fn lateness_follows_the_nominal_curve() {
    let (network, store, capacity) = setup();
    let skus = popular(&network, &store, |s| {
        !network.sku(s).cold_chain && !network.sku(s).hazmat
    });
    let mut request = order(&network, &skus, RegionId(0), ServiceLevel::Ground);
    let now = SystemTime::now();
    request.promised_by = Some(now + Duration::from_secs(60 * 86_400));
    let early = build_problem(
        &network,
        &store,
        &capacity,
        &request,
        &CostParams::default(),
        now,
    )
    .unwrap();
    assert!(
        early
            .problem
            .candidates
            .iter()
            .all(|c| c.lateness_per_unit == 30)
    );
    request.promised_by = Some(now - Duration::from_secs(86_400));
    let late = build_problem(
        &network,
        &store,
        &capacity,
        &request,
        &CostParams::default(),
        now,
    )
    .unwrap();
    assert!(
        late.problem
            .candidates
            .iter()
            .all(|c| c.lateness_per_unit == 1_425)
    );
}
