//! The answer to an allocation request, in domain terms: what ships from
//! where, at what cost, why, and how sure the solver is.

use std::time::Duration;

use std::time::SystemTime;

use super::candidates::{Exclusion, StockRow};
use super::lateness::{DeliveryWindow, TransitRead};
use super::problem::Objective;
use super::protection::ProtectionRead;
use super::solution::{Method, SolveStatus};
use crate::network::{NodeId, ServiceId, SkuId};
use crate::reservation::Reservation;

/// Why something was decided, in words a support agent can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReasonCode {
    /// The cheapest feasible way under the cost model.
    LowestCost,
    /// No other candidate had stock for the line.
    OnlyNodeWithStock,
    /// The line is split because no single used node had enough stock.
    SplitForStock,
    /// The order ships from several nodes although one could ship it all,
    /// because splitting is cheaper.
    SplitForCost,
    /// A node's remaining daily capacity limited what it ships.
    CapacityLimited,
    /// Protected (held-back) stock was used, at its penalty.
    ProtectedStockUsed,
    /// A node was excluded: it cannot ship cold-chain items.
    ExcludedColdChain,
    /// A node was excluded: it cannot ship hazardous materials.
    ExcludedHazmat,
    /// A node was excluded: it may not ship to the destination.
    ExcludedRegion,
    /// A node was excluded by the request.
    ExcludedByRequest,
    /// A node was excluded: no service meets the level, or it has no
    /// capacity left today.
    ExcludedClosed,
    /// A node was excluded: it holds none of the order's SKUs.
    ExcludedNoStock,
    /// Units are backordered.
    Backordered,
    /// The time budget ran out: the best plan found is returned.
    DeadlineFallback,
    /// The order ships complete from one node, as requested.
    ShipComplete,
    /// The max-splits limit bound the plan.
    MaxSplitsLimited,
    /// The chosen service risks missing the promised date.
    LateRisk,
    /// The eligible nodes hold fewer units of the line than ordered and
    /// backorders are not allowed.
    InsufficientStock,
}

/// One reason with its human sentence and, where it applies, the node and
/// a cost difference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    /// The code.
    pub code: ReasonCode,
    /// A sentence for a support agent.
    pub message: String,
    /// The node the reason is about, if any.
    pub node: Option<NodeId>,
    /// A cost difference in minor units (0 when not applicable).
    pub cost_delta: i64,
}

/// Units of one line shipped by one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// The node.
    pub node: NodeId,
    /// The carrier service it ships with.
    pub service: ServiceId,
    /// Units shipped (including protected ones).
    pub quantity: u32,
    /// Of which from protected stock.
    pub protected: u32,
}

/// One order line's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineOutcome {
    /// The caller's line id.
    pub line_id: String,
    /// The SKU.
    pub sku: SkuId,
    /// Units ordered.
    pub quantity: u32,
    /// Where the units ship from, by node.
    pub assignments: Vec<Assignment>,
    /// Units backordered.
    pub backordered: u32,
    /// Why.
    pub reasons: Vec<Reason>,
}

/// One shipment: everything one node ships for the order.
#[derive(Debug, Clone, PartialEq)]
pub struct Shipment {
    /// The node.
    pub node: NodeId,
    /// The carrier service.
    pub service: ServiceId,
    /// Units in it.
    pub units: u32,
    /// Its weight, grams.
    pub weight_grams: u64,
    /// Package cost.
    pub package_cost: i64,
    /// Transport (per-kg) cost.
    pub transport_cost: i64,
    /// Handling cost.
    pub handling_cost: i64,
    /// Expected lateness penalty.
    pub lateness_penalty: i64,
    /// Protection penalty of protected units in it.
    pub protection_penalty: i64,
    /// Predicted delivery window; `None` without a transit model.
    pub window: Option<DeliveryWindow>,
    /// The order cutoff on the node's ship date (the latest instant the
    /// node hands the parcel to the carrier); `None` when it never ships
    /// within the calendar's horizon.
    pub ship_by: Option<SystemTime>,
}

impl Shipment {
    /// Every cost of the shipment.
    pub fn total(&self) -> i64 {
        self.package_cost
            + self.transport_cost
            + self.handling_cost
            + self.lateness_penalty
            + self.protection_penalty
    }
}

/// How the plan was found and how sure the solver is.
#[derive(Debug, Clone, PartialEq)]
pub struct SolverStats {
    /// How the solve ended.
    pub status: SolveStatus,
    /// Who produced the plan.
    pub method: Method,
    /// Relative gap between the plan and the proven lower bound.
    pub gap: f64,
    /// Proven lower bound on the optimum.
    pub lower_bound: i64,
    /// Time spent in the solver(s), including model building.
    pub solve_time: Duration,
    /// Nodes in the network considered.
    pub candidates_before: u32,
    /// Candidates left after eligibility rules.
    pub candidates_after: u32,
    /// Branch-and-bound nodes explored.
    pub nodes_explored: u64,
}

/// For a node the plan uses: the cost of the best plan without it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeAlternative {
    /// The used node.
    pub node: NodeId,
    /// Objective of the best plan without it; `None` when no plan exists
    /// without it (or the time budget did not allow finding one).
    pub cost_without: Option<i64>,
}

/// An unused candidate and why it lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunnerUp {
    /// The candidate.
    pub node: NodeId,
    /// The binding reason it was not chosen.
    pub reason: Reason,
    /// Objective of the best plan that uses it, minus the chosen objective.
    pub cost_difference: i64,
}

/// The whole answer.
#[derive(Debug, Clone)]
pub struct AllocationOutcome {
    /// The caller's order id.
    pub order_id: String,
    /// Per line, in request order.
    pub lines: Vec<LineOutcome>,
    /// Per shipping node, ascending by node.
    pub shipments: Vec<Shipment>,
    /// The objective, term by term.
    pub objective: Objective,
    /// The solve.
    pub solver: SolverStats,
    /// For each used node, the best plan without it.
    pub alternatives: Vec<NodeAlternative>,
    /// The best few unused candidates and why they lost.
    pub runners_up: Vec<RunnerUp>,
    /// Nodes removed by rules, with reasons.
    pub excluded: Vec<Exclusion>,
    /// Stock snapshot versions the decision read, per node.
    pub stock_versions: Vec<crate::stock::NodeVersion>,
    /// The reservation, when the request committed.
    pub reservation: Option<Reservation>,
    /// True when no plan exists under the rules (for example ship-complete
    /// with no node holding every line and backorders not allowed).
    pub unfulfillable: bool,
    /// What the decision read, enough to re-run it (replay).
    pub read: DecisionRead,
}

/// What an allocation read besides the request: the stock, the capacities,
/// the time, and the transit predictions.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionRead {
    /// Every non-zero stock row of the order's SKUs, by node then SKU.
    pub stock_read: Vec<StockRow>,
    /// Remaining capacity per node, indexed by [`NodeId`].
    pub capacity: Vec<u32>,
    /// The instant the decision was evaluated at.
    pub decided_at: SystemTime,
    /// The candidates, in the order of `transit.p_late` and
    /// `transit.windows`.
    pub candidates: Vec<NodeId>,
    /// The lateness term's source, P(late) and windows per candidate.
    pub transit: TransitRead,
    /// The protected stock priced from the demand forecast.
    pub protection: ProtectionRead,
}
