//! From an order, the network and the stock to the MILP's data
//! ([`Problem`]): eligibility rules, s* selection, costs in whole minor
//! units, stock tiers. docs/allocation.md is the contract.
//!
//! - `eligibility`: which nodes may ship the order, and why the others may
//!   not ([`ExclusionReason`]).
//! - `service`: s*, the carrier service a candidate ships with.
//! - `tiers`: free and protected units per line at a node.
//!
//! The nominal lateness curve lives in [`super::lateness`]; its constants
//! are re-exported here under their old paths.

mod eligibility;
mod service;
mod tiers;

#[cfg(test)]
pub(crate) mod tests;

use std::time::SystemTime;

use super::error::AllocationError;
use super::lateness::{TransitRead, p_late_permille, promise_date};
use super::params::CostParams;
use super::problem::{Candidate, Problem, ProblemLine};
use super::protection::ProtectionRead;
use super::request::OrderRequest;
use crate::network::{Network, NodeId, SkuId};
use crate::stock::order_view::OrderStockView;
use crate::stock::{NodeVersion, StockLevel, StockStore};

pub use super::lateness::{P_LATE_AFTER_PERMILLE, P_LATE_EARLY_PERMILLE, P_LATE_ON_DAY_PERMILLE};
pub use eligibility::{Exclusion, ExclusionReason, LineRestriction};
pub use service::service_refusal;

use eligibility::{NodeAssessment, OrderRules};
use tiers::Tier;

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
    /// The protected stock priced from the demand forecast (the rest at
    /// the flat penalty).
    pub protection: ProtectionRead,
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
    let rules = OrderRules::new(request, &lines);
    let promise = request
        .promised_by
        .map(|p| promise_date(network, request, p));

    let mut built = Built {
        stock_read: stock_rows(view),
        ..Built::default()
    };
    for node_id in network.node_ids() {
        let node = network.node(node_id);
        let capacity = remaining_capacity
            .get(node_id.0 as usize)
            .copied()
            .unwrap_or(0);
        let NodeAssessment {
            reasons,
            service,
            tiers,
        } = rules.assess(network, node_id, capacity, |k| view.level(node_id, k));
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
                protect_penalty: vec![params.protect_penalty; free.len()],
                free_stock: free,
                protected_stock: protected,
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
            protection: ProtectionRead::default(),
        }
    }
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
