//! The allocation MILP's data, a plan (a point of its feasible set), and the
//! objective recomputed from a plan. This is the contract every solver
//! (exact branch and bound, HiGHS, greedy) works against; see
//! docs/allocation.md for the model these fields instantiate.
//!
//! Every amount is a whole number of minor currency units (cents), so
//! objectives compare exactly and a solver may prune on `bound >= incumbent`.

use allot_network::{NodeId, ServiceId, SkuId};

/// One order line as the solver sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProblemLine {
    /// SKU of the line.
    pub sku: SkuId,
    /// Units ordered, >= 1.
    pub quantity: u32,
    /// Weight of one unit, grams.
    pub unit_weight_grams: u32,
}

/// One candidate node, with the carrier service chosen for it (s*).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The node.
    pub node: NodeId,
    /// The cheapest service from this node to the destination that meets the
    /// requested service level.
    pub service: ServiceId,
    /// Carrier zone of the destination from this node.
    pub zone: u8,
    /// Package cost of one shipment from this node (pkg_cost[n, s*]).
    pub package_cost: i64,
    /// Handling cost per unit picked at this node.
    pub handling_per_unit: i64,
    /// Expected lateness penalty per unit shipped from this node
    /// (late_penalty x P(late | n, s*, d)), rounded to whole minor units.
    pub lateness_per_unit: i64,
    /// Units this node can still ship today (remaining capacity).
    pub capacity: u32,
}

/// The data of one allocation MILP (docs/allocation.md).
///
/// Per-(line, candidate) arrays are row-major: index `l * candidates.len() + n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Order lines, in request order.
    pub lines: Vec<ProblemLine>,
    /// Candidate nodes after eligibility rules (and any safe reduction).
    pub candidates: Vec<Candidate>,
    /// Transport cost per unit of line l from candidate n:
    /// round(per_kg_cost[n, s*, zone] x unit weight / 1000).
    pub transport_per_unit: Vec<i64>,
    /// Units of line l's SKU at candidate n that may ship without penalty:
    /// max(0, available - protected), capped at the line quantity.
    pub free_stock: Vec<u32>,
    /// Units of line l's SKU at candidate n that are protected but may ship
    /// at `protect_penalty` per unit: min(protected, available), capped at
    /// the line quantity.
    pub protected_stock: Vec<u32>,
    /// Penalty per protected unit used, per (line, candidate): the expected
    /// cost of the stockout the unit causes at the node (or a flat price).
    /// All of one sign (all >= 0, or all <= 0): the solvers order the two
    /// stock tiers by it.
    pub protect_penalty: Vec<i64>,
    /// Penalty per node beyond the first (split_penalty x (sum y - 1)).
    pub split_penalty: i64,
    /// Penalty per backordered unit.
    pub backorder_penalty: i64,
    /// Whether units may be backordered (b > 0). Ship-complete forbids it.
    pub allow_backorder: bool,
    /// At most this many nodes may ship (ship-complete: 1; max_splits).
    pub max_nodes: Option<u32>,
}

impl Problem {
    /// Number of candidates.
    pub fn n(&self) -> usize {
        self.candidates.len()
    }

    /// Index of (line, candidate) in the per-pair arrays.
    pub fn at(&self, line: usize, candidate: usize) -> usize {
        line * self.candidates.len() + candidate
    }

    /// Full per-unit cost of line l from candidate n, without protection:
    /// transport + handling + lateness.
    pub fn unit_cost(&self, line: usize, candidate: usize) -> i64 {
        let c = &self.candidates[candidate];
        self.transport_per_unit[self.at(line, candidate)]
            + c.handling_per_unit
            + c.lateness_per_unit
    }
}

/// A plan: how many units of each line each candidate ships, from free and
/// from protected stock, and how many are backordered.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Plan {
    /// Units from free stock, per (line, candidate).
    pub free: Vec<u32>,
    /// Units from protected stock, per (line, candidate).
    pub protected: Vec<u32>,
    /// Units backordered, per line.
    pub backordered: Vec<u32>,
}

impl Plan {
    /// The empty plan: everything backordered.
    pub fn all_backordered(problem: &Problem) -> Plan {
        let pairs = problem.lines.len() * problem.n();
        Plan {
            free: vec![0; pairs],
            protected: vec![0; pairs],
            backordered: problem.lines.iter().map(|l| l.quantity).collect(),
        }
    }

    /// Units candidate n ships for line l (free + protected).
    pub fn shipped(&self, problem: &Problem, line: usize, candidate: usize) -> u32 {
        let i = problem.at(line, candidate);
        self.free[i] + self.protected[i]
    }

    /// Units candidate n ships in all.
    pub fn node_units(&self, problem: &Problem, candidate: usize) -> u32 {
        (0..problem.lines.len())
            .map(|l| self.shipped(problem, l, candidate))
            .sum()
    }

    /// Candidates that ship at least one unit (`y[n] = 1`), ascending.
    pub fn used(&self, problem: &Problem) -> Vec<usize> {
        (0..problem.n())
            .filter(|&n| self.node_units(problem, n) > 0)
            .collect()
    }
}

/// The objective of a plan, term by term, in minor currency units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Objective {
    /// sum over used nodes of the package cost.
    pub package: i64,
    /// sum of transport cost per unit x units.
    pub transport: i64,
    /// sum of handling cost per unit x units.
    pub handling: i64,
    /// sum of expected lateness penalty per unit x units.
    pub lateness: i64,
    /// split_penalty x (nodes used - 1), zero when at most one node is used.
    pub split: i64,
    /// protect_penalty x protected units used.
    pub protection: i64,
    /// backorder_penalty x backordered units.
    pub backorder: i64,
}

impl Objective {
    /// The sum of every term.
    pub fn total(&self) -> i64 {
        self.package
            + self.transport
            + self.handling
            + self.lateness
            + self.split
            + self.protection
            + self.backorder
    }
}

/// Why a plan is not a feasible point of its problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    /// Arrays have the wrong length for the problem.
    #[error("plan does not match the problem's dimensions")]
    Shape,
    /// free + protected + backordered differs from the ordered quantity.
    #[error("line {line}: {assigned} units assigned, {ordered} ordered")]
    QuantityMismatch {
        /// Line index.
        line: usize,
        /// Units in the plan.
        assigned: u32,
        /// Units ordered.
        ordered: u32,
    },
    /// More units than the stock allows at a node.
    #[error("line {line} at candidate {candidate}: {planned} units planned, {allowed} allowed")]
    Oversell {
        /// Line index.
        line: usize,
        /// Candidate index.
        candidate: usize,
        /// Units in the plan (free or protected tier).
        planned: u32,
        /// Units the stock allows in that tier.
        allowed: u32,
    },
    /// A node ships more than its remaining capacity.
    #[error("candidate {candidate}: {planned} units planned, capacity {capacity}")]
    Capacity {
        /// Candidate index.
        candidate: usize,
        /// Units planned at the node.
        planned: u32,
        /// Remaining capacity.
        capacity: u32,
    },
    /// Backorders where the problem forbids them.
    #[error("line {line}: {units} units backordered but backorders are not allowed")]
    Backorder {
        /// Line index.
        line: usize,
        /// Units backordered.
        units: u32,
    },
    /// More nodes than ship-complete / max_splits allow.
    #[error("{used} nodes used, at most {allowed} allowed")]
    TooManyNodes {
        /// Nodes used.
        used: u32,
        /// Nodes allowed.
        allowed: u32,
    },
}

/// Checks every constraint of the model; the first violation found.
pub fn check(problem: &Problem, plan: &Plan) -> Result<(), Violation> {
    let pairs = problem.lines.len() * problem.n();
    if plan.free.len() != pairs
        || plan.protected.len() != pairs
        || plan.backordered.len() != problem.lines.len()
    {
        return Err(Violation::Shape);
    }
    for (l, line) in problem.lines.iter().enumerate() {
        let assigned: u32 = (0..problem.n())
            .map(|n| plan.shipped(problem, l, n))
            .sum::<u32>()
            + plan.backordered[l];
        if assigned != line.quantity {
            return Err(Violation::QuantityMismatch {
                line: l,
                assigned,
                ordered: line.quantity,
            });
        }
        if plan.backordered[l] > 0 && !problem.allow_backorder {
            return Err(Violation::Backorder {
                line: l,
                units: plan.backordered[l],
            });
        }
        for n in 0..problem.n() {
            let i = problem.at(l, n);
            for (planned, allowed) in [
                (plan.free[i], problem.free_stock[i]),
                (plan.protected[i], problem.protected_stock[i]),
            ] {
                if planned > allowed {
                    return Err(Violation::Oversell {
                        line: l,
                        candidate: n,
                        planned,
                        allowed,
                    });
                }
            }
        }
    }
    for n in 0..problem.n() {
        let planned = plan.node_units(problem, n);
        if planned > problem.candidates[n].capacity {
            return Err(Violation::Capacity {
                candidate: n,
                planned,
                capacity: problem.candidates[n].capacity,
            });
        }
    }
    if let Some(allowed) = problem.max_nodes {
        let used = plan.used(problem).len() as u32;
        if used > allowed {
            return Err(Violation::TooManyNodes { used, allowed });
        }
    }
    Ok(())
}

/// The objective of a plan under the documented cost model, recomputed from
/// the plan alone (no solver state).
pub fn objective(problem: &Problem, plan: &Plan) -> Objective {
    let mut o = Objective::default();
    let used = plan.used(problem);
    for &n in &used {
        o.package += problem.candidates[n].package_cost;
    }
    o.split = problem.split_penalty * (used.len() as i64 - 1).max(0);
    for l in 0..problem.lines.len() {
        for n in 0..problem.n() {
            let i = problem.at(l, n);
            let units = i64::from(plan.free[i] + plan.protected[i]);
            let c = &problem.candidates[n];
            o.transport += problem.transport_per_unit[i] * units;
            o.handling += c.handling_per_unit * units;
            o.lateness += c.lateness_per_unit * units;
            o.protection += problem.protect_penalty[i] * i64::from(plan.protected[i]);
        }
        o.backorder += problem.backorder_penalty * i64::from(plan.backordered[l]);
    }
    o
}
