//! The rebalancing plan's MILP: which units to move between nodes, on which
//! lanes, so that transfer costs plus the expected cost of the shortfalls
//! left at every node are least.
//!
//! The data knows only dense indexes; building it from the network, the
//! stock and the demand forecast is the service layer's job. Each item (a
//! SKU) has, at each node that holds or needs it, a [`Position`]: the units
//! there, the units that may leave, and the value of the k-th unit held
//! (the expected shortfall cost it avoids: the shortfall cost of a unit
//! times the probability that demand reaches k, non-increasing in k). The
//! expected shortfall cost of holding `q` units is then the sum of the
//! values of the units from `q + 1` on, a convex staircase in `q`.
//!
//! - [`evaluate`]: a plan's cost and feasibility, computed from the plan.
//! - [`greedy`]: a greedy plan, the MILP's first incumbent.
//! - [`milp`]: the MILP in HiGHS.
//! - [`mod@reference`]: the same optimum from another formulation (tests and
//!   benchmarks).

pub mod evaluate;
pub mod greedy;
pub mod milp;
pub mod reference;

#[cfg(test)]
mod tests;

pub use evaluate::{PlanCost, check, cost};
pub use milp::{TransferSolution, solve_transfers};

/// A lane between two nodes, as the MILP sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct TransferLane {
    /// Node the units leave.
    pub from: usize,
    /// Node they arrive at.
    pub to: usize,
    /// Cost per unit moved.
    pub unit_cost: i64,
    /// Cost per dispatch (a truck), whatever it carries.
    pub fixed_cost: i64,
    /// Most units one dispatch carries (> 0).
    pub capacity: u32,
}

/// One item at one node.
#[derive(Debug, Clone, PartialEq)]
pub struct Position {
    /// The node.
    pub node: usize,
    /// Units there now that count against its demand.
    pub stock: u32,
    /// Units of `stock` that may leave (free, not reserved or protected).
    pub movable: u32,
    /// `value[k - 1]`: the expected shortfall cost the k-th unit held
    /// avoids; non-increasing and >= 0; units past the end avoid nothing.
    pub value: Vec<f64>,
}

impl Position {
    /// Expected shortfall cost of holding `q` units: the values of the
    /// units from `q + 1` on.
    pub fn shortfall_cost(&self, q: u32) -> f64 {
        self.value.iter().skip(q as usize).sum()
    }
}

/// One item (a SKU) at the nodes that hold or need it.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// At most one position per node.
    pub positions: Vec<Position>,
}

impl Item {
    /// The position at `node`, if any.
    pub fn at(&self, node: usize) -> Option<&Position> {
        self.positions.iter().find(|p| p.node == node)
    }
}

/// The whole rebalancing problem.
#[derive(Debug, Clone, PartialEq)]
pub struct TransferProblem {
    /// Number of nodes; nodes are `0..nodes`.
    pub nodes: usize,
    /// Per node, the most units it may gain net (arrivals less departures);
    /// `None`: unlimited.
    pub room: Vec<Option<u32>>,
    /// The lanes.
    pub lanes: Vec<TransferLane>,
    /// The items.
    pub items: Vec<Item>,
}

/// Units of one item moved on one lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flow {
    /// Index into [`TransferProblem::lanes`].
    pub lane: usize,
    /// Index into [`TransferProblem::items`].
    pub item: usize,
    /// Units moved (> 0).
    pub units: u32,
}

/// A plan: the flows and the dispatches per lane.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransferPlan {
    /// Flows, by lane then item.
    pub flows: Vec<Flow>,
    /// Dispatches per lane (same length as the problem's lanes).
    pub dispatches: Vec<u32>,
}

impl TransferPlan {
    /// The plan that moves nothing.
    pub fn none(problem: &TransferProblem) -> TransferPlan {
        TransferPlan {
            flows: Vec::new(),
            dispatches: vec![0; problem.lanes.len()],
        }
    }
}
