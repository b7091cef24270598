//! [`Allocator`]: one allocation request end to end — candidates, solve,
//! explanation, and (on commit) the reservation, re-solving when stock moved
//! between the solve and the hold.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::candidates::{BuiltProblem, build_problem, build_problem_on};
use super::error::AllocationError;
use super::explain::{
    ExplainBudget, alternatives, exclusion_reasons, line_reasons, runners_up, unfulfillable_reasons,
};
use super::lateness::{MATERIAL_P_LATE, predict};
use super::outcome::{
    AllocationOutcome, Assignment, DecisionRead, LineOutcome, ReasonCode, Shipment, SolverStats,
};
use super::params::CostParams;
use super::pipeline::solve;
use super::problem::{Plan, Problem, objective};
use super::protection::{self, ProtectionPricer};
use super::request::OrderRequest;
use super::solution::Solution;
use chrono::{TimeZone, Utc};

use crate::calendar::ship_date;
use crate::network::{Network, SkuId};
use crate::reservation::{ReservationBook, ReservedUnits};
use crate::stock::StockError;
use crate::stock::order_view::OrderStockView;
use crate::transit::{Lane, TransitPredictor};

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
    transit: Option<Arc<dyn TransitPredictor>>,
    protection: Option<Arc<dyn ProtectionPricer>>,
}

impl Allocator {
    /// An allocator over `book` (and its stock) with the cost parameters,
    /// pricing lateness with the nominal curve.
    pub fn new(book: Arc<ReservationBook>, params: CostParams) -> Allocator {
        Allocator {
            book,
            params,
            transit: None,
            protection: None,
        }
    }

    /// The same allocator pricing protected units with `pricer` (when
    /// `Some`) instead of the flat penalty.
    pub fn with_protection(mut self, pricer: Option<Arc<dyn ProtectionPricer>>) -> Allocator {
        self.protection = pricer;
        self
    }

    /// The same allocator pricing lateness and drawing delivery windows with
    /// `transit` (when `Some`).
    pub fn with_transit(mut self, transit: Option<Arc<dyn TransitPredictor>>) -> Allocator {
        self.transit = transit;
        self
    }

    /// The transit model, if any.
    pub fn transit(&self) -> Option<&Arc<dyn TransitPredictor>> {
        self.transit.as_ref()
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
        let capacity = self.book.remaining_capacity(now);
        self.problem_with(request, &capacity, now)
    }

    /// Builds the MILP for `request` on the current stock and the given
    /// remaining capacities (indexed by node id); lateness from the transit
    /// model when there is one (one prediction call for every candidate).
    fn problem_with(
        &self,
        request: &OrderRequest,
        capacity: &[u32],
        now: SystemTime,
    ) -> Result<BuiltProblem, AllocationError> {
        let stock = self.book.stock();
        let built = build_problem(stock.network(), stock, capacity, request, &self.params, now)?;
        Ok(self.priced(request, built, now))
    }

    /// Builds the MILP for `request` on `view` (the levels of its lines'
    /// SKUs, as a re-plan reads them) and the given remaining capacities,
    /// lateness as in [`Allocator::problem`].
    pub fn problem_on(
        &self,
        view: &OrderStockView,
        capacity: &[u32],
        request: &OrderRequest,
        now: SystemTime,
    ) -> Result<BuiltProblem, AllocationError> {
        let network = self.book.stock().network();
        let built = build_problem_on(network, view, capacity, request, &self.params, now)?;
        Ok(self.priced(request, built, now))
    }

    /// `built` with its lateness term from the transit model, when there
    /// is one (one prediction call for every candidate), and its protected
    /// units priced by the protection pricer, when there is one.
    fn priced(
        &self,
        request: &OrderRequest,
        mut built: BuiltProblem,
        now: SystemTime,
    ) -> BuiltProblem {
        if let Some(transit) = &self.transit {
            predict(
                self.book.stock().network(),
                request,
                &mut built.problem,
                &mut built.transit,
                transit.as_ref(),
                self.params.late_penalty,
                now,
            );
        }
        if let Some(pricer) = &self.protection {
            protection::price(&mut built, pricer.as_ref(), self.params.protect_penalty);
        }
        built
    }

    /// Decides `request` as of `now` against the current stock and the
    /// given remaining capacities, without reserving: a recorded decision
    /// re-run over the stock it read (replay). Blocking.
    pub fn decide_with_capacity(
        &self,
        request: &OrderRequest,
        capacity: &[u32],
        deadline: Instant,
        now: SystemTime,
    ) -> Result<AllocationOutcome, AllocationError> {
        let started = Instant::now();
        let built = self.problem_with(request, capacity, now)?;
        let solution = solve(&built.problem, solve_deadline(started, deadline));
        Ok(self.outcome(request, built, solution, deadline, started))
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
        let solve_deadline = solve_deadline(started, deadline);
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
        let read = DecisionRead {
            stock_read: built.stock_read.clone(),
            capacity: built.capacity.clone(),
            decided_at: built.decided_at,
            candidates: problem.candidates.iter().map(|c| c.node).collect(),
            transit: built.transit.clone(),
            protection: built.protection.clone(),
        };
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
        let line_ids: Vec<&str> = request.lines.iter().map(|l| l.line_id.as_str()).collect();
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
                        reasons: {
                            let mut reasons = unfulfillable_reasons(network, problem, &line_ids, i);
                            reasons.extend(exclusion_reasons(network, &built, i));
                            reasons
                        },
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
                read,
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
                    material_late_risk(&mut reasons, &read);
                    forecast_protection(&mut reasons, &read, problem.lines[l].sku);
                    reasons.extend(exclusion_reasons(network, &built, l));
                    reasons
                },
            })
            .collect();
        // A solve of this order took `solution.elapsed`; an explaining solve
        // (the order without one node, or from one node) is expected to take
        // about as long, and does not start unless it can end by the deadline.
        let explain = ExplainBudget::new(deadline.max(Instant::now()), solution.elapsed);
        let chosen = solution.objective.total();
        AllocationOutcome {
            order_id: request.order_id.clone(),
            lines,
            shipments: {
                let mut shipments = shipments(problem, plan);
                for s in &mut shipments {
                    s.ship_by = ship_by(network, s, read.decided_at);
                    s.window = read
                        .candidates
                        .iter()
                        .position(|&n| n == s.node)
                        .and_then(|c| read.transit.windows.get(c).copied());
                }
                self.observe_shipped(network, request, &shipments, &read);
                shipments
            },
            objective: objective(problem, plan),
            solver: stats,
            alternatives: alternatives(problem, plan, explain),
            runners_up: runners_up(network, problem, plan, chosen, explain),
            excluded: built.excluded,
            stock_versions: built.stock_versions,
            reservation: None,
            unfulfillable: false,
            read,
        }
    }
}

impl Allocator {
    /// Shows the transit model the lanes the plan ships on (its drift
    /// window), when the model priced them.
    fn observe_shipped(
        &self,
        network: &Network,
        request: &OrderRequest,
        shipments: &[Shipment],
        read: &DecisionRead,
    ) {
        let (Some(transit), Some(_)) = (&self.transit, &read.transit.model) else {
            return;
        };
        let region = request.destination.lane_region(network);
        let lanes: Vec<Lane> = shipments
            .iter()
            .map(|s| Lane {
                node: s.node,
                service: s.service,
                region,
            })
            .collect();
        transit.observe_shipped(&lanes, read.decided_at);
    }
}

/// The order cutoff, node-local, on the day `shipment` leaves its node when
/// the order is released at `now`.
fn ship_by(network: &Network, shipment: &Shipment, now: SystemTime) -> Option<SystemTime> {
    let node = network.node(shipment.node);
    let day = ship_date(node, network.service(shipment.service).pickup_days, now)?;
    let local = node
        .time_zone
        .from_local_datetime(&day.and_time(node.order_cutoff));
    let at = local.latest().or_else(|| local.earliest())?;
    Some(SystemTime::from(at.with_timezone(&Utc)))
}

/// The solve's share of the time to `deadline` (the rest explains).
fn solve_deadline(started: Instant, deadline: Instant) -> Instant {
    started
        + deadline
            .saturating_duration_since(started)
            .mul_f64(1.0 - EXPLAIN_SHARE)
}

/// Keeps LATE_RISK only for nodes whose P(late) is material
/// ([`MATERIAL_P_LATE`]), and says how likely late they are.
fn material_late_risk(reasons: &mut Vec<super::outcome::Reason>, read: &DecisionRead) {
    reasons.retain_mut(|r| {
        if r.code != ReasonCode::LateRisk {
            return true;
        }
        let p = r
            .node
            .and_then(|node| read.candidates.iter().position(|&c| c == node))
            .and_then(|c| read.transit.p_late.get(c).copied())
            .unwrap_or(0.0);
        if p < MATERIAL_P_LATE {
            return false;
        }
        r.message = format!("{} (P(late) {p:.2})", r.message);
        true
    });
}

/// Says, on each use of protected stock priced from the demand forecast,
/// what the price rests on.
fn forecast_protection(reasons: &mut [super::outcome::Reason], read: &DecisionRead, sku: SkuId) {
    for r in reasons.iter_mut() {
        if r.code != ReasonCode::ProtectedStockUsed {
            continue;
        }
        let Some(price) = r.node.and_then(|node| read.protection.price(node, sku)) else {
            r.message = format!("{} (flat protection penalty)", r.message);
            continue;
        };
        r.message = format!(
            "{}: {} per unit, the expected lost sale there: its own demand before replenishment in {} days (expected {:.1} units) needs all its protected units with probability {:.2}",
            r.message,
            price.per_unit,
            price.lead_days,
            price.expected_demand,
            price.stockout_probability
        );
    }
}

/// The plan's units as reservation units.
pub(crate) fn units(request: &OrderRequest, problem: &Problem, plan: &Plan) -> Vec<ReservedUnits> {
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
                window: None,
                ship_by: None,
            };
            for (l, line) in problem.lines.iter().enumerate() {
                let i = problem.at(l, n);
                let units = plan.free[i] + plan.protected[i];
                s.units += units;
                s.weight_grams += u64::from(units) * u64::from(line.unit_weight_grams);
                s.transport_cost += problem.transport_per_unit[i] * i64::from(units);
                s.handling_cost += c.handling_per_unit * i64::from(units);
                s.lateness_penalty += c.lateness_per_unit * i64::from(units);
                s.protection_penalty += problem.protect_penalty[i] * i64::from(plan.protected[i]);
            }
            s
        })
        .collect()
}
