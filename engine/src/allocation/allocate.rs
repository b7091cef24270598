//! [`Allocator`]: one allocation request end to end — candidates, solve,
//! explanation, and (on commit) the reservation, re-solving when stock moved
//! between the solve and the hold.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::candidates::{BuiltProblem, build_problem};
use super::error::AllocationError;
use super::explain::{alternatives, exclusion_reasons, line_reasons, runners_up};
use super::outcome::{AllocationOutcome, Assignment, LineOutcome, Shipment, SolverStats};
use super::params::CostParams;
use super::pipeline::solve;
use super::problem::{Plan, Problem, objective};
use super::request::OrderRequest;
use super::solution::Solution;
use crate::reservation::{ReservationBook, ReservedUnits};
use crate::stock::StockError;

/// How many times a commit re-solves when stock moved under it.
const COMMIT_ATTEMPTS: usize = 4;

/// Share of the budget kept for explanations (alternatives, runners-up).
const EXPLAIN_SHARE: f64 = 0.25;

/// Whether and how to reserve the plan's units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// How long the reservation holds the units.
    pub ttl: Duration,
    /// The decision id recorded on the reservation.
    pub decision_id: String,
}

/// Allocates orders against the live stock and reservation book.
pub struct Allocator {
    book: Arc<ReservationBook>,
    params: CostParams,
}

impl Allocator {
    /// An allocator over `book` (and its stock) with the cost parameters.
    pub fn new(book: Arc<ReservationBook>, params: CostParams) -> Allocator {
        Allocator { book, params }
    }

    /// The reservation book.
    pub fn book(&self) -> &Arc<ReservationBook> {
        &self.book
    }

    /// The cost parameters.
    pub fn params(&self) -> &CostParams {
        &self.params
    }

    /// Builds the MILP for `request` on the current stock and capacity.
    pub fn problem(
        &self,
        request: &OrderRequest,
        now: SystemTime,
    ) -> Result<BuiltProblem, AllocationError> {
        let stock = self.book.stock();
        let capacity = self.book.remaining_capacity(now);
        build_problem(
            stock.network(),
            stock,
            &capacity,
            request,
            &self.params,
            now,
        )
    }

    /// Decides `request` by `deadline`; with `commit`, reserves the plan's
    /// units atomically, re-solving if stock changed since the solve (never
    /// overselling). Blocking: run it on a blocking pool.
    pub fn allocate(
        &self,
        request: &OrderRequest,
        commit: Option<Commit>,
        deadline: Instant,
        now: SystemTime,
    ) -> Result<AllocationOutcome, AllocationError> {
        let started = Instant::now();
        let solve_deadline = started
            + deadline
                .saturating_duration_since(started)
                .mul_f64(1.0 - EXPLAIN_SHARE);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let built = self.problem(request, now)?;
            let solution = solve(&built.problem, solve_deadline.max(Instant::now()));
            let reservation = match (&commit, &solution.plan) {
                (Some(commit), Some(plan)) if !plan.used(&built.problem).is_empty() => {
                    match self.book.hold(
                        &request.order_id,
                        &commit.decision_id,
                        units(request, &built.problem, plan),
                        commit.ttl,
                        now,
                    ) {
                        Ok(reservation) => Some(reservation),
                        Err(
                            crate::reservation::ReservationError::Stock(StockError::Insufficient {
                                ..
                            })
                            | crate::reservation::ReservationError::Capacity { .. },
                        ) if attempt < COMMIT_ATTEMPTS => {
                            tracing::debug!(order = %request.order_id, attempt, "stock or capacity moved during the solve: re-solving");
                            continue;
                        }
                        Err(error) => return Err(AllocationError::Conflict(error.to_string())),
                    }
                }
                _ => None,
            };
            let mut outcome = self.outcome(request, built, solution, deadline, started);
            outcome.reservation = reservation;
            return Ok(outcome);
        }
    }

    /// Assembles the answer: lines, shipments, stats, explanations.
    fn outcome(
        &self,
        request: &OrderRequest,
        built: BuiltProblem,
        solution: Solution,
        deadline: Instant,
        started: Instant,
    ) -> AllocationOutcome {
        let network = self.book.stock().network();
        let problem = &built.problem;
        let stats = SolverStats {
            status: solution.status,
            method: solution.method,
            gap: solution.gap(),
            lower_bound: solution.lower_bound,
            solve_time: started.elapsed(),
            candidates_before: built.candidates_before as u32,
            candidates_after: problem.n() as u32,
            nodes_explored: solution.nodes_explored,
        };
        let Some(plan) = solution.plan.as_ref() else {
            return AllocationOutcome {
                order_id: request.order_id.clone(),
                lines: request
                    .lines
                    .iter()
                    .enumerate()
                    .map(|(i, l)| LineOutcome {
                        line_id: l.line_id.clone(),
                        sku: l.sku,
                        quantity: l.quantity,
                        assignments: Vec::new(),
                        backordered: 0,
                        reasons: exclusion_reasons(self.book.stock(), &built, i),
                    })
                    .collect(),
                shipments: Vec::new(),
                objective: Default::default(),
                solver: stats,
                alternatives: Vec::new(),
                runners_up: Vec::new(),
                excluded: built.excluded,
                stock_versions: built.stock_versions,
                reservation: None,
                unfulfillable: true,
            };
        };
        let lines = request
            .lines
            .iter()
            .enumerate()
            .map(|(l, line)| LineOutcome {
                line_id: line.line_id.clone(),
                sku: line.sku,
                quantity: line.quantity,
                assignments: (0..problem.n())
                    .filter(|&n| plan.shipped(problem, l, n) > 0)
                    .map(|n| Assignment {
                        node: problem.candidates[n].node,
                        service: problem.candidates[n].service,
                        quantity: plan.shipped(problem, l, n),
                        protected: plan.protected[problem.at(l, n)],
                    })
                    .collect(),
                backordered: plan.backordered[l],
                reasons: {
                    let mut reasons = line_reasons(network, problem, plan, l, solution.status);
                    reasons.extend(exclusion_reasons(self.book.stock(), &built, l));
                    reasons
                },
            })
            .collect();
        let explain_deadline = deadline.max(Instant::now());
        let chosen = solution.objective.total();
        AllocationOutcome {
            order_id: request.order_id.clone(),
            lines,
            shipments: shipments(problem, plan),
            objective: objective(problem, plan),
            solver: stats,
            alternatives: alternatives(problem, plan, explain_deadline),
            runners_up: runners_up(network, problem, plan, chosen, explain_deadline),
            excluded: built.excluded,
            stock_versions: built.stock_versions,
            reservation: None,
            unfulfillable: false,
        }
    }
}

/// The plan's units as reservation units.
fn units(request: &OrderRequest, problem: &Problem, plan: &Plan) -> Vec<ReservedUnits> {
    let mut out = Vec::new();
    for (l, line) in problem.lines.iter().enumerate() {
        for n in 0..problem.n() {
            let quantity = plan.shipped(problem, l, n);
            if quantity > 0 {
                out.push(ReservedUnits {
                    line_id: request.lines[l].line_id.clone(),
                    node: problem.candidates[n].node,
                    sku: line.sku,
                    quantity,
                });
            }
        }
    }
    out
}

/// One shipment per used candidate with its cost breakdown.
pub(crate) fn shipments(problem: &Problem, plan: &Plan) -> Vec<Shipment> {
    plan.used(problem)
        .into_iter()
        .map(|n| {
            let c = &problem.candidates[n];
            let mut s = Shipment {
                node: c.node,
                service: c.service,
                units: 0,
                weight_grams: 0,
                package_cost: c.package_cost,
                transport_cost: 0,
                handling_cost: 0,
                lateness_penalty: 0,
                protection_penalty: 0,
            };
            for (l, line) in problem.lines.iter().enumerate() {
                let i = problem.at(l, n);
                let units = plan.free[i] + plan.protected[i];
                s.units += units;
                s.weight_grams += u64::from(units) * u64::from(line.unit_weight_grams);
                s.transport_cost += problem.transport_per_unit[i] * i64::from(units);
                s.handling_cost += c.handling_per_unit * i64::from(units);
                s.lateness_penalty += c.lateness_per_unit * i64::from(units);
                s.protection_penalty += problem.protect_penalty * i64::from(plan.protected[i]);
            }
            s
        })
        .collect()
}
