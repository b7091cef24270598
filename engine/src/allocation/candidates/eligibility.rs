//! Eligibility rules: which nodes may ship an order, and for each node that
//! may not, every rule it fails (docs/allocation.md).

use std::collections::HashSet;

use super::service::best_service;
use super::tiers::{Tier, stock_tiers};
use crate::allocation::problem::ProblemLine;
use crate::allocation::request::OrderRequest;
use crate::network::{Network, NodeId, ServiceId};
use crate::stock::StockLevel;

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

/// The order-wide inputs of the node rules.
pub(super) struct OrderRules<'a> {
    request: &'a OrderRequest,
    lines: &'a [ProblemLine],
    /// Total weight of the order, grams (for s*).
    order_grams: i64,
    excluded_by_request: HashSet<NodeId>,
}

/// What the rules say about one node.
pub(super) struct NodeAssessment {
    /// Every rule the node fails, in the order of [`ExclusionReason`];
    /// empty for a candidate.
    pub(super) reasons: Vec<ExclusionReason>,
    /// s* and the destination's zone, when the node has a service.
    pub(super) service: Option<(ServiceId, u8)>,
    /// The node's usable stock per line.
    pub(super) tiers: Vec<Tier>,
}

impl<'a> OrderRules<'a> {
    /// The rules for `request`, whose lines are `lines`.
    pub(super) fn new(request: &'a OrderRequest, lines: &'a [ProblemLine]) -> Self {
        let order_grams: i64 = lines
            .iter()
            .map(|l| i64::from(l.quantity) * i64::from(l.unit_weight_grams))
            .sum();
        let excluded_by_request: HashSet<NodeId> =
            request.options.excluded_nodes.iter().copied().collect();
        OrderRules {
            request,
            lines,
            order_grams,
            excluded_by_request,
        }
    }

    /// Checks `node_id` against every rule, with `capacity` units left
    /// today and `level(k)` the stock of line `k`'s SKU there.
    pub(super) fn assess(
        &self,
        network: &Network,
        node_id: NodeId,
        capacity: u32,
        level: impl Fn(usize) -> StockLevel,
    ) -> NodeAssessment {
        let request = self.request;
        let node = network.node(node_id);
        let mut reasons = Vec::new();
        if self.excluded_by_request.contains(&node_id) {
            reasons.push(ExclusionReason::ExcludedByRequest);
        }
        if request
            .destination
            .region
            .is_some_and(|r| network.is_blocked(node_id, r))
        {
            reasons.push(ExclusionReason::BlockedDestination);
        }
        let service = best_service(network, node_id, request, self.order_grams);
        if service.is_none() {
            reasons.push(ExclusionReason::NoService);
        }
        if capacity == 0 {
            reasons.push(ExclusionReason::NoCapacity);
        }
        let tiers = stock_tiers(network, node, self.lines, level);
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
        NodeAssessment {
            reasons,
            service,
            tiers,
        }
    }
}
