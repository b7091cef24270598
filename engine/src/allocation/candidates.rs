//! From an order, the network and the stock to the MILP's data
//! ([`Problem`]): eligibility rules, s* selection, costs in whole minor
//! units, stock tiers. docs/allocation.md is the contract.

use std::collections::HashSet;
use std::time::SystemTime;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use super::error::AllocationError;
use super::lateness::TransitRead;
use super::params::CostParams;
use super::problem::{Candidate, Problem, ProblemLine};
use super::request::OrderRequest;
use crate::network::{Network, Node, NodeId, ServiceId, SkuId, distance_km};
use crate::stock::order_view::OrderStockView;
use crate::stock::{NodeVersion, StockLevel, StockStore};

/// The problem for one order, with what was left out and why.
#[derive(Debug, Clone, PartialEq)]
pub struct BuiltProblem {
    /// The MILP data; candidates in ascending [`NodeId`] order.
    pub problem: Problem,
    /// Every node of the network that is not a candidate, with every rule it
    /// fails, in ascending [`NodeId`] order.
    pub excluded: Vec<Exclusion>,
    /// Nodes considered (every node of the network):
    /// `problem.candidates.len() + excluded.len()`.
    pub candidates_before: usize,
    /// Snapshot version and delta sequence of each candidate's stock when it
    /// was read.
    pub stock_versions: Vec<NodeVersion>,
    /// Candidates that hold stock of a line they may not ship (cold chain or
    /// hazmat), so that line's x is fixed to 0 there.
    pub restricted_lines: Vec<LineRestriction>,
    /// Every non-zero stock row the problem read: each distinct SKU of the
    /// order at every node of the network, ascending by node then SKU. A
    /// (node, SKU) absent here was read as zero. Enough to rebuild the same
    /// problem later (replay).
    pub stock_read: Vec<StockRow>,
    /// The remaining capacity of every node the problem was built with,
    /// indexed by [`NodeId`].
    pub capacity: Vec<u32>,
    /// The instant the problem was built for (cutoffs, the ETA bucket).
    pub decided_at: SystemTime,
    /// Where the lateness term comes from, P(late) per candidate and, with a
    /// transit model, each candidate's delivery window.
    pub transit: TransitRead,
}

/// One (node, SKU) stock level as a decision read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StockRow {
    /// The node.
    pub node: NodeId,
    /// The SKU.
    pub sku: SkuId,
    /// On hand, reserved and protected as read.
    pub level: StockLevel,
}

impl BuiltProblem {
    /// The level of `sku` at `node` as the problem read it (zero when absent).
    pub fn level_read(&self, node: NodeId, sku: SkuId) -> StockLevel {
        self.stock_read
            .binary_search_by(|r| (r.node, r.sku).cmp(&(node, sku)))
            .map_or_else(|_| StockLevel::default(), |i| self.stock_read[i].level)
    }
}

/// A node that is not a candidate for this order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exclusion {
    /// The node.
    pub node: NodeId,
    /// Every rule it fails, in the order of [`ExclusionReason`].
    pub reasons: Vec<ExclusionReason>,
}

/// A candidate that may not ship one line although it holds its SKU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineRestriction {
    /// Line index in the request.
    pub line: usize,
    /// The node.
    pub node: NodeId,
    /// [`ExclusionReason::ColdChain`] or [`ExclusionReason::Hazmat`].
    pub reason: ExclusionReason,
}

/// Why a node (or a node for one line) is left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ExclusionReason {
    /// The request's `excluded_nodes` lists it (EXCLUDED_BY_REQUEST).
    ExcludedByRequest,
    /// A cold-chain line it cannot handle, and no other line it has stock
    /// for (EXCLUDED_COLD_CHAIN).
    ColdChain,
    /// A hazmat line it cannot handle, and no other line it has stock for
    /// (EXCLUDED_HAZMAT).
    Hazmat,
    /// The destination region is in its blocked destinations
    /// (EXCLUDED_REGION).
    BlockedDestination,
    /// None of its services meets the service level within its maximum
    /// distance, or the destination is beyond the zoning.
    NoService,
    /// No remaining capacity today (CAPACITY_LIMITED).
    NoCapacity,
    /// No available unit of any line's SKU (EXCLUDED_NO_STOCK).
    NoStock,
}

/// Nominal probability of late delivery when the nominal arrival is at
/// least one day before the promised date, per mille.
pub const P_LATE_EARLY_PERMILLE: i64 = 20;
/// ... when it arrives on the promised date, per mille.
pub const P_LATE_ON_DAY_PERMILLE: i64 = 350;
/// ... when it arrives after the promised date (or the node never ships),
/// per mille.
pub const P_LATE_AFTER_PERMILLE: i64 = 950;

/// Builds the problem for `request` (see docs/allocation.md).
///
/// `remaining_capacity[node]` is the units each node can still ship today; a
/// node beyond the slice's end has none. Stock is read with one read lock per
/// node. A SKU on several lines shares its stock: earlier lines take their
/// tiers first, so the problem can never oversell.
pub fn build_problem(
    network: &Network,
    stock: &StockStore,
    remaining_capacity: &[u32],
    request: &OrderRequest,
    params: &CostParams,
    now: SystemTime,
) -> Result<BuiltProblem, AllocationError> {
    validate(network, request)?;
    let skus: Vec<_> = request.lines.iter().map(|l| l.sku).collect();
    Ok(build_validated(
        network,
        &stock.order_view(&skus),
        remaining_capacity,
        request,
        params,
        now,
    ))
}

/// The non-zero levels of a view, each distinct SKU once, ascending by node
/// then SKU: what a decision built on the view read (see
/// [`BuiltProblem::stock_read`]).
pub fn stock_rows(view: &OrderStockView) -> Vec<StockRow> {
    let skus = view.skus();
    let mut distinct: Vec<(SkuId, usize)> = skus.iter().enumerate().map(|(k, &s)| (s, k)).collect();
    distinct.sort();
    distinct.dedup_by_key(|d| d.0);
    let mut rows = Vec::new();
    for node in 0..view.node_count() {
        let node = NodeId(node as u32);
        for &(sku, k) in &distinct {
            let level = view.level(node, k);
            if !level.is_zero() {
                rows.push(StockRow { node, sku, level });
            }
        }
    }
    rows
}

/// As [`build_problem`], over levels already read: `view` must hold the
/// request's line SKUs in line order (`stock.order_view` of them). Several
/// problems built from one view (a promise's service levels) rest on one
/// read of the stock.
pub fn build_problem_on(
    network: &Network,
    view: &OrderStockView,
    remaining_capacity: &[u32],
    request: &OrderRequest,
    params: &CostParams,
    now: SystemTime,
) -> Result<BuiltProblem, AllocationError> {
    validate(network, request)?;
    debug_assert!(
        view.skus().iter().eq(request.lines.iter().map(|l| &l.sku)),
        "a view of the request's lines"
    );
    Ok(build_validated(
        network,
        view,
        remaining_capacity,
        request,
        params,
        now,
    ))
}

/// The body of [`build_problem`] and [`build_problem_on`], for a request
/// already validated.
fn build_validated(
    network: &Network,
    view: &OrderStockView,
    remaining_capacity: &[u32],
    request: &OrderRequest,
    params: &CostParams,
    now: SystemTime,
) -> BuiltProblem {
    let lines: Vec<ProblemLine> = request
        .lines
        .iter()
        .map(|l| ProblemLine {
            sku: l.sku,
            quantity: l.quantity,
            unit_weight_grams: l.weight_grams.unwrap_or(network.sku(l.sku).weight_grams),
        })
        .collect();
    let order_grams: i64 = lines
        .iter()
        .map(|l| i64::from(l.quantity) * i64::from(l.unit_weight_grams))
        .sum();
    let excluded_by_request: HashSet<NodeId> =
        request.options.excluded_nodes.iter().copied().collect();
    let promise = request
        .promised_by
        .map(|p| promise_date(network, request, p));

    let mut built = Built {
        stock_read: stock_rows(view),
        ..Built::default()
    };
    for node_id in network.node_ids() {
        let node = network.node(node_id);
        let mut reasons = Vec::new();
        if excluded_by_request.contains(&node_id) {
            reasons.push(ExclusionReason::ExcludedByRequest);
        }
        if request
            .destination
            .region
            .is_some_and(|r| network.is_blocked(node_id, r))
        {
            reasons.push(ExclusionReason::BlockedDestination);
        }
        let service = best_service(network, node_id, request, order_grams);
        if service.is_none() {
            reasons.push(ExclusionReason::NoService);
        }
        let capacity = remaining_capacity
            .get(node_id.0 as usize)
            .copied()
            .unwrap_or(0);
        if capacity == 0 {
            reasons.push(ExclusionReason::NoCapacity);
        }
        let tiers = stock_tiers(network, node, &lines, |k| view.level(node_id, k));
        if tiers
            .iter()
            .all(|t| t.free + t.protected == 0 && t.restricted.is_none())
        {
            reasons.push(ExclusionReason::NoStock);
        } else if tiers.iter().all(|t| t.free + t.protected == 0) {
            let mut r: Vec<_> = tiers.iter().filter_map(|t| t.restricted).collect();
            r.sort();
            r.dedup();
            reasons.extend(r);
        }
        reasons.sort();
        let Some((service, zone)) = service.filter(|_| reasons.is_empty()) else {
            built.excluded.push(Exclusion {
                node: node_id,
                reasons,
            });
            continue;
        };
        let rate = network
            .rate(service, zone)
            .copied()
            .unwrap_or_else(|| unreachable!("best_service checked the rate"));
        let p_late = promise.map_or(0, |d| p_late_permille(network, node, service, now, d));
        built.p_late.push(p_late as f64 / 1000.0);
        built.candidates.push(Candidate {
            node: node_id,
            service,
            zone,
            package_cost: rate.package_cost_minor,
            handling_per_unit: node.handling_cost_minor,
            lateness_per_unit: round_div(params.late_penalty * p_late, 1000),
            capacity,
        });
        built.stock_versions.push(view.node_version(node_id));
        for (l, t) in tiers.iter().enumerate() {
            if let Some(reason) = t.restricted {
                built.restricted_lines.push(LineRestriction {
                    line: l,
                    node: node_id,
                    reason,
                });
            }
        }
        built.tiers.push(tiers);
        built.per_kg.push(rate.per_kg_cost_minor);
    }
    let transit = TransitRead::nominal(promise.is_some(), std::mem::take(&mut built.p_late));
    let mut out = built.finish(network, lines, request, params);
    out.capacity = remaining_capacity.to_vec();
    out.capacity.resize(network.node_count(), 0);
    out.decided_at = now;
    out.transit = transit;
    out
}

#[derive(Default)]
struct Built {
    candidates: Vec<Candidate>,
    excluded: Vec<Exclusion>,
    stock_versions: Vec<NodeVersion>,
    restricted_lines: Vec<LineRestriction>,
    /// Per candidate, per line.
    tiers: Vec<Vec<Tier>>,
    per_kg: Vec<i64>,
    stock_read: Vec<StockRow>,
    /// Nominal P(late) per candidate (0 without a promise).
    p_late: Vec<f64>,
}

impl Built {
    fn finish(
        self,
        network: &Network,
        lines: Vec<ProblemLine>,
        request: &OrderRequest,
        params: &CostParams,
    ) -> BuiltProblem {
        let n = self.candidates.len();
        let mut transport = vec![0; lines.len() * n];
        let mut free = vec![0; lines.len() * n];
        let mut protected = vec![0; lines.len() * n];
        for (l, line) in lines.iter().enumerate() {
            for c in 0..n {
                let i = l * n + c;
                transport[i] = round_div(self.per_kg[c] * i64::from(line.unit_weight_grams), 1000);
                free[i] = self.tiers[c][l].free;
                protected[i] = self.tiers[c][l].protected;
            }
        }
        let ship_complete = request.options.ship_complete;
        BuiltProblem {
            problem: Problem {
                lines,
                candidates: self.candidates,
                transport_per_unit: transport,
                free_stock: free,
                protected_stock: protected,
                protect_penalty: params.protect_penalty,
                split_penalty: params.split_penalty,
                backorder_penalty: params.backorder_penalty,
                allow_backorder: request.options.allow_backorder && !ship_complete,
                max_nodes: if ship_complete {
                    Some(1)
                } else {
                    request.options.max_splits
                },
            },
            excluded: self.excluded,
            candidates_before: network.node_count(),
            stock_versions: self.stock_versions,
            restricted_lines: self.restricted_lines,
            stock_read: self.stock_read,
            capacity: Vec::new(),
            decided_at: SystemTime::UNIX_EPOCH,
            transit: TransitRead::default(),
        }
    }
}

/// One line's usable stock at one node.
#[derive(Debug, Clone, Copy, Default)]
struct Tier {
    free: u32,
    protected: u32,
    /// Set when the node holds the SKU but may not ship it.
    restricted: Option<ExclusionReason>,
}

/// Free and protected units per line at one node; a SKU repeated on several
/// lines shares its pools (earlier lines first).
fn stock_tiers(
    network: &Network,
    node: &Node,
    lines: &[ProblemLine],
    level: impl Fn(usize) -> crate::stock::StockLevel,
) -> Vec<Tier> {
    let mut used: Vec<(crate::network::SkuId, i64, i64)> = Vec::new();
    lines
        .iter()
        .enumerate()
        .map(|(k, line)| {
            let s = level(k);
            let available = s.available();
            let prot_pool = s.protected.max(0).min(available);
            let free_pool = available - prot_pool;
            let (taken_free, taken_prot) = used
                .iter()
                .find(|u| u.0 == line.sku)
                .map_or((0, 0), |u| (u.1, u.2));
            let sku = network.sku(line.sku);
            let restricted = if sku.cold_chain && !node.cold_chain {
                Some(ExclusionReason::ColdChain)
            } else if sku.hazmat && !node.hazmat {
                Some(ExclusionReason::Hazmat)
            } else {
                None
            };
            if available == 0 {
                return Tier::default();
            }
            if restricted.is_some() {
                return Tier {
                    restricted,
                    ..Tier::default()
                };
            }
            let q = i64::from(line.quantity);
            let free = q.min((free_pool - taken_free).max(0));
            let protected = (q - free).min((prot_pool - taken_prot).max(0));
            match used.iter_mut().find(|u| u.0 == line.sku) {
                Some(u) => {
                    u.1 += free;
                    u.2 += protected;
                }
                None => used.push((line.sku, free, protected)),
            }
            Tier {
                free: free as u32,
                protected: protected as u32,
                restricted: None,
            }
        })
        .collect()
}

/// s*: the cheapest service of the node that meets the level within its
/// maximum distance and has a rate for the zone; cost = package + per-kg x
/// order weight; ties by service code.
fn best_service(
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

/// `num / den` rounded half up (toward +infinity at exactly .5).
pub(crate) fn round_div(num: i64, den: i64) -> i64 {
    (num + den / 2).div_euclid(den)
}

fn validate(network: &Network, request: &OrderRequest) -> Result<(), AllocationError> {
    super::request::validate_lines(network, &request.lines, "an order")?;
    for (i, node) in request.options.excluded_nodes.iter().enumerate() {
        if node.0 as usize >= network.node_count() {
            return Err(AllocationError::NotFound {
                field: format!("options.excluded_nodes[{i}]"),
                what: format!("node #{}", node.0),
            });
        }
    }
    if request.options.max_splits == Some(0) {
        return Err(AllocationError::invalid(
            "options.max_splits",
            "must be at least 1 when set",
        ));
    }
    if let Some(r) = request.destination.region
        && r.0 as usize >= network.regions().len()
    {
        return Err(AllocationError::NotFound {
            field: "destination.region".into(),
            what: format!("region #{}", r.0),
        });
    }
    Ok(())
}

// ---- the nominal lateness curve -------------------------------------------

/// The promised date in the destination's time zone (the region's, else the
/// nearest region's, else UTC).
pub(crate) fn promise_date(
    network: &Network,
    request: &OrderRequest,
    promised_by: SystemTime,
) -> NaiveDate {
    DateTime::<Utc>::from(promised_by)
        .with_timezone(&destination_tz(network, request))
        .date_naive()
}

/// The destination's time zone: its region's, else the nearest region's,
/// else UTC.
pub(crate) fn destination_tz(network: &Network, request: &OrderRequest) -> Tz {
    let region = request.destination.region.or_else(|| {
        (!network.regions().is_empty()).then(|| network.nearest_region(request.destination.point))
    });
    region.map_or(Tz::UTC, |r| network.region(r).time_zone)
}

/// P(late) per mille from nominal transit days (docs/allocation.md).
pub(crate) fn p_late_permille(
    network: &Network,
    node: &Node,
    service: ServiceId,
    now: SystemTime,
    promise: NaiveDate,
) -> i64 {
    let s = network.service(service);
    let Some(arrival) = nominal_arrival(node, s.pickup_days, s.transit_days, now) else {
        return P_LATE_AFTER_PERMILLE;
    };
    if arrival < promise {
        P_LATE_EARLY_PERMILLE
    } else if arrival == promise {
        P_LATE_ON_DAY_PERMILLE
    } else {
        P_LATE_AFTER_PERMILLE
    }
}

/// Nominal delivery date (the shared ship-date calendar,
/// [`crate::calendar::nominal_arrival`]).
pub(crate) use crate::calendar::nominal_arrival;

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::allocation::request::{AllocationOptions, Destination, OrderLine};
    use crate::network::{DEMO_SEED, RegionId, ServiceLevel, SkuId, demo_stock};
    use crate::stock::StockLevel;

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
}
