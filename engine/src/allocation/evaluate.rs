//! Shadow mode: price a caller's own plan under the same cost model, list
//! what it violates, and put the optimal plan's cost beside it.

use std::collections::HashMap;
use std::time::{Instant, SystemTime};

use super::allocate::Allocator;
use super::candidates::{round_div, service_refusal};
use super::error::AllocationError;
use super::outcome::{AllocationOutcome, Shipment};
use super::problem::{Objective, Plan, objective};
use super::request::OrderRequest;
use crate::network::{NodeId, ServiceId};

/// Units of one line the caller plans to ship from one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedUnits {
    /// The order line.
    pub line_id: String,
    /// The node (`None` when the caller named a node the network does not
    /// know; `node_code` keeps what was sent).
    pub node: Option<NodeId>,
    /// The node code as sent.
    pub node_code: String,
    /// Units.
    pub quantity: u32,
    /// The carrier service the caller chose (`None`: the node's cheapest
    /// service meeting the level, or a code the network does not know, kept
    /// in `service_code`).
    pub service: Option<ServiceId>,
    /// The service code as sent; `None` when the caller chose none.
    pub service_code: Option<String>,
}

/// What a caller's plan breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ViolationKind {
    /// More units than available at a node.
    Oversell,
    /// More units than a node's remaining capacity.
    Capacity,
    /// A node that the rules exclude for this order.
    IneligibleNode,
    /// Ship-complete asked for one node and no backorders.
    ShipComplete,
    /// More nodes than max_splits.
    MaxSplits,
    /// Units planned differ from units ordered (and backorders are not
    /// allowed, or more units are planned than ordered).
    QuantityMismatch,
    /// A node the network does not know.
    UnknownNode,
}

/// One violation of a caller's plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// What kind.
    pub kind: ViolationKind,
    /// The line, when it is about one.
    pub line_id: Option<String>,
    /// The node code, when it is about one.
    pub node: Option<String>,
    /// A sentence saying what is wrong.
    pub message: String,
}

/// The caller's plan priced and checked, beside the optimum.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// No violation.
    pub feasible: bool,
    /// The caller's plan under the cost model (units at ineligible or
    /// unknown nodes are priced as backordered).
    pub objective: Objective,
    /// The caller's shipments, priced.
    pub shipments: Vec<Shipment>,
    /// Everything it violates.
    pub violations: Vec<Violation>,
    /// The optimal allocation of the same order.
    pub optimal: AllocationOutcome,
}

impl Allocator {
    /// Evaluates `planned` for `request` (never reserves anything).
    pub fn evaluate(
        &self,
        request: &OrderRequest,
        planned: &[PlannedUnits],
        deadline: Instant,
        now: SystemTime,
    ) -> Result<Evaluation, AllocationError> {
        let network = self.book().stock().network().clone();
        let built = self.problem(request, now)?;
        let problem = &built.problem;
        let lines: HashMap<&str, usize> = request
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| (l.line_id.as_str(), i))
            .collect();
        let column: HashMap<NodeId, usize> = problem
            .candidates
            .iter()
            .enumerate()
            .map(|(i, c)| (c.node, i))
            .collect();
        let mut plan = Plan::all_backordered(problem);
        let mut violations = Vec::new();
        // The service each candidate ships the caller's plan with, when the
        // caller chose one.
        let mut services: HashMap<usize, ServiceId> = HashMap::new();
        let mut planned_per_line = vec![0u32; problem.lines.len()];
        for p in planned {
            // A line id not in the order is a violation of the plan, as the
            // contract says, not an error.
            let Some(&l) = lines.get(p.line_id.as_str()) else {
                violations.push(Violation {
                    kind: ViolationKind::QuantityMismatch,
                    line_id: Some(p.line_id.clone()),
                    node: Some(p.node_code.clone()),
                    message: format!("the order has no line {:?}", p.line_id),
                });
                continue;
            };
            planned_per_line[l] += p.quantity;
            let Some(node) = p.node else {
                violations.push(Violation {
                    kind: ViolationKind::UnknownNode,
                    line_id: Some(p.line_id.clone()),
                    node: Some(p.node_code.clone()),
                    message: format!("node {:?} is not in the network", p.node_code),
                });
                continue;
            };
            let Some(&n) = column.get(&node) else {
                violations.push(Violation {
                    kind: ViolationKind::IneligibleNode,
                    line_id: Some(p.line_id.clone()),
                    node: Some(p.node_code.clone()),
                    message: format!(
                        "{} is not eligible to ship this order (see excluded)",
                        p.node_code
                    ),
                });
                continue;
            };
            if let Some(code) = &p.service_code {
                let refusal = match p.service {
                    None => Some((
                        ViolationKind::UnknownNode,
                        format!("service {code:?} is not in the network"),
                    )),
                    Some(service) => service_refusal(&network, node, service, request)
                        .map(|why| (ViolationKind::IneligibleNode, why))
                        .or_else(|| match services.insert(n, service) {
                            Some(other) if other != service => Some((
                                ViolationKind::IneligibleNode,
                                format!(
                                    "{} ships an order with one service; the plan names {} and {code}",
                                    p.node_code,
                                    network.service(other).code
                                ),
                            )),
                            _ => None,
                        }),
                };
                if let Some((kind, message)) = refusal {
                    violations.push(Violation {
                        kind,
                        line_id: Some(p.line_id.clone()),
                        node: Some(p.node_code.clone()),
                        message,
                    });
                    continue;
                }
            }
            let at = problem.at(l, n);
            // Free stock first, then protected; anything beyond is oversold.
            let free_room = problem.free_stock[at].saturating_sub(plan.free[at]);
            let to_free = p.quantity.min(free_room);
            let protected_room = problem.protected_stock[at].saturating_sub(plan.protected[at]);
            let to_protected = (p.quantity - to_free).min(protected_room);
            let over = p.quantity - to_free - to_protected;
            plan.free[at] += to_free + over;
            plan.protected[at] += to_protected;
            if over > 0 {
                violations.push(Violation {
                    kind: ViolationKind::Oversell,
                    line_id: Some(p.line_id.clone()),
                    node: Some(p.node_code.clone()),
                    message: format!(
                        "{over} more units than {} can ship of this SKU",
                        p.node_code
                    ),
                });
            }
        }
        for (l, line) in problem.lines.iter().enumerate() {
            let shipped: u32 = (0..problem.n()).map(|n| plan.shipped(problem, l, n)).sum();
            let line_id = &request.lines[l].line_id;
            if planned_per_line[l] > line.quantity {
                violations.push(Violation {
                    kind: ViolationKind::QuantityMismatch,
                    line_id: Some(line_id.clone()),
                    node: None,
                    message: format!(
                        "{} units planned, {} ordered",
                        planned_per_line[l], line.quantity
                    ),
                });
            }
            plan.backordered[l] = line.quantity.saturating_sub(shipped);
            if plan.backordered[l] > 0 && !problem.allow_backorder {
                let kind = if request.options.ship_complete {
                    ViolationKind::ShipComplete
                } else {
                    ViolationKind::QuantityMismatch
                };
                violations.push(Violation {
                    kind,
                    line_id: Some(line_id.clone()),
                    node: None,
                    message: format!(
                        "{} of {} units are not planned and backorders are not allowed",
                        plan.backordered[l], line.quantity
                    ),
                });
            }
        }
        for n in 0..problem.n() {
            let units = plan.node_units(problem, n);
            let c = &problem.candidates[n];
            if units > c.capacity {
                violations.push(Violation {
                    kind: ViolationKind::Capacity,
                    line_id: None,
                    node: Some(network.node(c.node).code.clone()),
                    message: format!(
                        "{units} units planned, {} of capacity left today",
                        c.capacity
                    ),
                });
            }
        }
        let used = plan.used(problem).len() as u32;
        if let Some(max) = problem.max_nodes
            && used > max
        {
            let kind = if request.options.ship_complete {
                ViolationKind::ShipComplete
            } else {
                ViolationKind::MaxSplits
            };
            violations.push(Violation {
                kind,
                line_id: None,
                node: None,
                message: format!("{used} shipping nodes, at most {max} allowed"),
            });
        }
        // Ordered by line id then node, order-level violations (no line)
        // first, as the contract says.
        violations.sort_by(|a, b| (&a.line_id, &a.node).cmp(&(&b.line_id, &b.node)));
        let priced_problem = with_services(&network, problem, &services);
        let priced = objective(&priced_problem, &plan);
        let shipments = super::allocate::shipments(&priced_problem, &plan);
        let optimal = self.allocate(request, None, deadline, now)?;
        Ok(Evaluation {
            feasible: violations.is_empty(),
            objective: priced,
            shipments,
            violations,
            optimal,
        })
    }
}

/// `problem` with the package and transport costs of the services the
/// caller chose in place of each node's cheapest one. The lateness penalty
/// stays the node's, as predicted for its cheapest service meeting the
/// level.
fn with_services(
    network: &crate::network::Network,
    problem: &super::problem::Problem,
    services: &HashMap<usize, ServiceId>,
) -> super::problem::Problem {
    let mut priced = problem.clone();
    for (&n, &service) in services {
        let candidate = &mut priced.candidates[n];
        if candidate.service == service {
            continue;
        }
        // `service_refusal` checked the rate for this zone.
        let Some(rate) = network.rate(service, candidate.zone) else {
            continue;
        };
        candidate.service = service;
        candidate.package_cost = rate.package_cost_minor;
        for l in 0..priced.lines.len() {
            let at = priced.at(l, n);
            priced.transport_per_unit[at] = round_div(
                rate.per_kg_cost_minor * i64::from(priced.lines[l].unit_weight_grams),
                1000,
            );
        }
    }
    priced
}
