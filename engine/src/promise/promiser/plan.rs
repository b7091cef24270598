//! Planning: each service level's problem built over one read of the stock,
//! solved, and its shipments' transit predicted in one call.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use super::Promiser;
use crate::allocation::candidates::{BuiltProblem, StockRow, build_problem_on, stock_rows};
use crate::allocation::error::AllocationError;
use crate::allocation::explain::exclusion_reasons;
use crate::allocation::outcome::{Reason, ReasonCode};
use crate::allocation::pipeline::solve;
use crate::allocation::problem::objective;
use crate::allocation::protection::{self, PricedStock, ProtectionRead};
use crate::allocation::request::{AllocationOptions, OrderRequest};
use crate::allocation::solution::SolveStatus;
use crate::network::{Network, NodeId, ServiceId, ServiceLevel};
use crate::promise::quote::{ShipFrom, TransitSource};
use crate::promise::request::PromiseRequest;
use crate::stock::NodeVersion;
use crate::stock::order_view::OrderStockView;
use crate::transit::{Lane, TransitPredictor, TransitQuantiles};

/// One planned level.
#[derive(Debug, Clone)]
pub(super) struct PlannedLevel {
    /// The service level.
    pub(super) level: ServiceLevel,
    /// (node, service, quantiles) per used node, in node order.
    pub(super) shipments: Vec<(NodeId, ServiceId, Option<TransitQuantiles>)>,
    /// Units per line and node.
    pub(super) ship_from: Vec<ShipFrom>,
    /// Package, transport and handling cost, minor units.
    pub(super) cost: i64,
}

/// A level's plan, or why it cannot ship the whole cart.
#[derive(Debug, Clone)]
pub(super) enum LevelPlan {
    Planned(PlannedLevel),
    Unavailable(ServiceLevel, Vec<Reason>),
}

/// What is cached per key.
#[derive(Debug)]
pub(super) struct Planned {
    /// Per level asked for, in order.
    pub(super) levels: Vec<LevelPlan>,
    /// Where the windows come from.
    pub(super) transit: TransitSource,
    /// Name and version of the transit model that answered, if one did.
    pub(super) model: Option<crate::transit::ModelTag>,
    /// The protected stock priced from the demand forecast, over every
    /// level's plan.
    pub(super) protection: ProtectionRead,
    /// The decision that recorded the read this entry was planned on.
    pub(super) recorded_by: Arc<OnceLock<String>>,
}

impl Promiser {
    /// Plans every level and predicts its shipments' transit. The second
    /// value is false when the result must not be cached (a solve ran out of
    /// time, or the transit model failed).
    pub(super) fn plan(
        &self,
        network: &Network,
        view: &OrderStockView,
        request: &PromiseRequest,
        levels: &[ServiceLevel],
        capacity: &[u32],
        deadline: Instant,
    ) -> Result<(Planned, bool), AllocationError> {
        let now = request.order_time;
        let mut cacheable = true;
        let mut plans = Vec::with_capacity(levels.len());
        let mut priced: Vec<PricedStock> = Vec::new();
        for (i, &level) in levels.iter().enumerate() {
            let order = OrderRequest {
                order_id: String::new(),
                lines: request.lines.clone(),
                destination: request.destination,
                service_level: level,
                promised_by: None,
                options: AllocationOptions {
                    allow_backorder: false,
                    ..AllocationOptions::default()
                },
            };
            let mut built = build_problem_on(network, view, capacity, &order, &self.params, now)?;
            if let Some(pricer) = &self.protection {
                protection::price(&mut built, pricer.as_ref(), self.params.protect_penalty);
                priced.extend(built.protection.priced.iter().copied());
            }
            let share =
                deadline.saturating_duration_since(Instant::now()) / (levels.len() - i) as u32;
            if built.problem.candidates.is_empty() {
                plans.push(LevelPlan::Unavailable(
                    level,
                    unavailable_reasons(network, &built),
                ));
                continue;
            }
            let solution = solve(&built.problem, Instant::now() + share);
            cacheable &= solution.status != SolveStatus::TimeLimit;
            let problem = &built.problem;
            match solution.plan {
                Some(plan) if plan.backordered.iter().all(|&b| b == 0) => {
                    let o = objective(problem, &plan);
                    let used = plan.used(problem);
                    let ship_from = (0..problem.lines.len())
                        .flat_map(|l| {
                            let plan = &plan;
                            used.iter().map(move |&n| (l, n)).filter_map(move |(l, n)| {
                                let quantity = plan.shipped(problem, l, n);
                                (quantity > 0).then(|| ShipFrom {
                                    node: problem.candidates[n].node,
                                    line: l,
                                    sku: problem.lines[l].sku,
                                    quantity,
                                })
                            })
                        })
                        .collect();
                    plans.push(LevelPlan::Planned(PlannedLevel {
                        level,
                        shipments: used
                            .iter()
                            .map(|&n| {
                                let c = &problem.candidates[n];
                                (c.node, c.service, None)
                            })
                            .collect(),
                        ship_from,
                        cost: o.package + o.transport + o.handling,
                    }));
                }
                _ => plans.push(LevelPlan::Unavailable(
                    level,
                    unavailable_reasons(network, &built),
                )),
            }
        }
        let (transit, model) = self.predict(network, request, &mut plans);
        // Every level read the same levels: the same (node, SKU) prices.
        priced.sort_by_key(|p| (p.node, p.sku));
        priced.dedup_by_key(|p| (p.node, p.sku));
        cacheable &= !matches!(transit, TransitSource::NominalAfterModelError(_));
        Ok((
            Planned {
                levels: plans,
                transit,
                model,
                protection: ProtectionRead { priced },
                recorded_by: Arc::default(),
            },
            cacheable,
        ))
    }

    /// Fills every planned shipment's quantiles in one predictor call.
    fn predict(
        &self,
        network: &Network,
        request: &PromiseRequest,
        plans: &mut [LevelPlan],
    ) -> (TransitSource, Option<crate::transit::ModelTag>) {
        let Some(transit) = &self.transit else {
            return (TransitSource::Nominal, None);
        };
        let pinned = transit.pinned();
        let predictor: &dyn TransitPredictor = pinned.as_deref().unwrap_or(transit.as_ref());
        let model = Some(predictor.model());
        let region = request.destination.lane_region(network);
        let lanes: Vec<Lane> = plans
            .iter()
            .filter_map(|p| match p {
                LevelPlan::Planned(p) => Some(p),
                LevelPlan::Unavailable(..) => None,
            })
            .flat_map(|p| p.shipments.iter())
            .map(|&(node, service, _)| Lane {
                node,
                service,
                region,
            })
            .collect();
        if lanes.is_empty() {
            return (TransitSource::Model, model);
        }
        let quantiles = match predictor.predict(&lanes, request.order_time) {
            Ok(q) if q.len() == lanes.len() => q,
            Ok(q) => {
                return (
                    TransitSource::NominalAfterModelError(format!(
                        "{} predictions for {} lanes",
                        q.len(),
                        lanes.len()
                    )),
                    None,
                );
            }
            Err(e) => return (TransitSource::NominalAfterModelError(e.to_string()), None),
        };
        let mut next = quantiles.into_iter();
        for p in plans.iter_mut() {
            if let LevelPlan::Planned(p) = p {
                for s in &mut p.shipments {
                    s.2 = next.next();
                }
            }
        }
        (TransitSource::Model, model)
    }
}

/// The non-zero levels of the view's SKUs at every node (what the plans
/// are built on, for the decision record), and the snapshot version of
/// every node with a row, from the same read.
pub(super) fn rows_of(view: &OrderStockView) -> (Vec<StockRow>, Vec<NodeVersion>) {
    let rows = stock_rows(view);
    let mut versions: Vec<NodeVersion> = rows.iter().map(|r| view.node_version(r.node)).collect();
    versions.dedup();
    (rows, versions)
}

/// Why a level cannot ship the whole cart: the exclusions of the nodes that
/// hold the cart's SKUs, each reason once.
fn unavailable_reasons(network: &Network, built: &BuiltProblem) -> Vec<Reason> {
    let mut out: Vec<Reason> = Vec::new();
    for l in 0..built.problem.lines.len() {
        for r in exclusion_reasons(network, built, l) {
            if !out
                .iter()
                .any(|o| o.code == r.code && o.message == r.message)
            {
                out.push(r);
            }
        }
    }
    if out.is_empty() {
        out.push(Reason {
            code: ReasonCode::ExcludedNoStock,
            message:
                "the eligible nodes together cannot ship the whole cart today (stock or capacity)"
                    .into(),
            node: None,
            cost_delta: 0,
        });
    }
    out
}
