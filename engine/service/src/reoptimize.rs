//! Backlog re-optimisation: held reservations re-planned together
//! (`allot_engine::allocation::rebroker`), and with `commit` every move
//! applied to the reservations at once, durably, or none.
//!
//! Each held order is rebuilt from its allocation decision's record (the
//! request as received), so a re-plan covers the orders this server (or,
//! with a shared ledger, any replica) decided and still holds. The solve
//! runs on the solver pool by the call's deadline; it is never worse than
//! the held plans and reports its proven gap.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use allot_engine::allocation::backlog::{BacklogError, JointViolation};
use allot_engine::allocation::rebroker::{HeldOrder, RebrokerParams, Rebrokered, rebroker};
use allot_engine::allocation::request::OrderRequest;
use allot_engine::network::{Network, NodeId, SkuId};
use allot_engine::reservation::{Rehold, Reservation};

use crate::clock::Clock;
use crate::decisions::Decisions;
use crate::engine::Engine;
use crate::error::ServiceError;
use crate::id::DecisionId;
use crate::pool::SolverPool;
use crate::reservations::{ReservationChange, ReservationLedger};
use crate::sink::{DecisionSink, EventKind, reservation_event};
use crate::wire::Wire;

/// Most held orders one re-plan takes.
pub const MAX_ORDERS: usize = 5_000;

/// Longest time a re-plan may solve, whatever the caller asks (inside
/// the server's default request timeout of 30 s).
pub const MAX_BUDGET: Duration = Duration::from_secs(20);

/// Time a re-plan solves when the caller sets no budget.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(2);

/// Which held reservations to re-plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// These reservations (each must be held).
    Reservations(Vec<String>),
    /// The held reservations these allocation decisions made.
    Decisions(Vec<String>),
    /// Every held reservation with units at `node` (any node when `None`)
    /// of `sku` (any SKU when `None`).
    Held {
        /// Only holds with units at this node.
        node: Option<NodeId>,
        /// Only holds with units of this SKU.
        sku: Option<SkuId>,
    },
}

/// A re-plan as asked.
#[derive(Debug, Clone)]
pub struct ReoptimizeRequest {
    /// The orders.
    pub selection: Selection,
    /// Cost of moving one order, minor units (>= 0).
    pub move_penalty: i64,
    /// At most this many orders move; `None`: no limit.
    pub max_moves: Option<u32>,
    /// Apply the moves to the reservations (all or nothing).
    pub commit: bool,
    /// When the solve must end.
    pub deadline: Instant,
    /// Who asks (the token's name; empty with authentication off).
    pub caller: String,
}

/// A re-plan's answer.
#[derive(Debug, Clone)]
pub struct Reoptimized {
    /// The re-plan's id (named in the moved reservations' events).
    pub id: DecisionId,
    /// The joint plan and its moves.
    pub plan: Rebrokered,
    /// Whether the moves were applied to the reservations.
    pub committed: bool,
}

/// The backlog re-optimisation use case.
pub struct Reoptimizing<W: Wire> {
    engine: Arc<Engine>,
    ledger: Arc<dyn ReservationLedger>,
    decisions: Decisions,
    sink: Arc<dyn DecisionSink>,
    wire: Arc<W>,
    pool: SolverPool,
    clock: Arc<dyn Clock>,
}

impl<W: Wire> Reoptimizing<W> {
    /// Over the served engine, its reservations and decision records,
    /// solving on `pool`.
    pub fn new(
        engine: Arc<Engine>,
        ledger: Arc<dyn ReservationLedger>,
        decisions: Decisions,
        wire: Arc<W>,
        pool: SolverPool,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Reoptimizing {
            sink: engine.decisions.clone(),
            engine,
            ledger,
            decisions,
            wire,
            pool,
            clock,
        }
    }

    /// Re-plans the selected held orders jointly; with `commit`, moves
    /// their reservations (all or nothing) and answers once that is
    /// durable.
    pub async fn reoptimize(
        &self,
        request: ReoptimizeRequest,
    ) -> Result<Reoptimized, ServiceError> {
        if request.move_penalty < 0 {
            return Err(ServiceError::invalid(
                "move_penalty",
                format!("must be at least 0, got {}", request.move_penalty),
            ));
        }
        let selected = self.select(&request.selection).await?;
        if selected.len() > MAX_ORDERS {
            return Err(ServiceError::invalid(
                "selection",
                format!(
                    "{} held reservations match; at most {MAX_ORDERS} are re-planned at once: narrow the filter",
                    selected.len()
                ),
            ));
        }
        let orders = self.orders_of(&selected).await;
        let mut held = Vec::with_capacity(selected.len());
        let mut unreadable = Vec::new();
        for (reservation, order) in selected.into_iter().zip(orders) {
            match order {
                Ok(order) => held.push(HeldOrder {
                    reservation,
                    request: order,
                }),
                Err(reason) => unreadable.push((reservation.id, reason)),
            }
        }
        let id = DecisionId::mint();
        let now = self.clock.now();
        let allocator = self.engine.clone();
        let params = RebrokerParams {
            move_penalty: request.move_penalty,
            max_moves: request.max_moves,
        };
        let deadline = request.deadline;
        let mut plan = self
            .pool
            .run(deadline, move || {
                rebroker(&allocator.allocator, held, params, deadline, now)
            })
            .await?
            .map_err(|e| not_replannable(self.engine.allocator.book().stock().network(), &e))?;
        plan.skipped
            .extend(unreadable.into_iter().map(|(reservation_id, reason)| {
                allot_engine::allocation::rebroker::Skipped {
                    reservation_id,
                    reason,
                }
            }));
        metrics::counter!("allot_reoptimize_total", "commit" => if request.commit { "true" } else { "false" })
            .increment(1);
        let committed = request.commit && !plan.moves.is_empty();
        if committed {
            self.commit(&id, &plan, &request.caller).await?;
        }
        tracing::info!(
            replan = %id.as_str(),
            orders = plan.orders,
            moves = plan.moves.len(),
            saving = plan.saving(),
            gap = plan.replan.gap(),
            committed,
            "backlog re-planned"
        );
        Ok(Reoptimized {
            id,
            plan,
            committed,
        })
    }

    /// Applies every move to its reservation at once, durably, then logs
    /// each reservation's event.
    async fn commit(
        &self,
        id: &DecisionId,
        plan: &Rebrokered,
        caller: &str,
    ) -> Result<(), ServiceError> {
        let moves: Vec<Rehold> = plan.moves.iter().map(|m| m.rehold()).collect();
        let change = ReservationChange {
            now: self.clock.now(),
            caller: caller.to_string(),
            detail: format!(": by re-plan {}", id.as_str()),
        };
        let (moved, receipt) = self.ledger.replan(&moves, &change).await.map_err(|e| {
            ServiceError::new(
                e.code(),
                format!(
                    "the re-plan was not applied (nothing changed): {}; re-plan again on the current stock",
                    e
                ),
            )
        })?;
        receipt.durable().await?;
        metrics::counter!("allot_reservations_replanned_total").increment(moved.len() as u64);
        if !self.ledger.publishes_events() {
            for reservation in &moved {
                let mut event =
                    reservation_event(EventKind::ReservationReplanned, reservation, caller);
                event.summary.push_str(&change.detail);
                if let Err(error) = self.sink.event(event) {
                    tracing::warn!(reservation = %reservation.id, %error, "reservation event not logged");
                }
            }
        }
        Ok(())
    }

    /// The held reservations `selection` names.
    async fn select(&self, selection: &Selection) -> Result<Vec<Reservation>, ServiceError> {
        let held = self.ledger.held().await?;
        match selection {
            Selection::Reservations(ids) => {
                let mut seen = HashSet::new();
                let mut out = Vec::with_capacity(ids.len());
                for (i, id) in ids.iter().enumerate() {
                    let field = format!("reservations.ids[{i}]");
                    if id.is_empty() {
                        return Err(ServiceError::invalid(field, "empty"));
                    }
                    if !seen.insert(id) {
                        return Err(ServiceError::invalid(
                            field,
                            format!("{id:?} is listed twice"),
                        ));
                    }
                    match held.iter().find(|r| &r.id == id) {
                        Some(r) => out.push(r.clone()),
                        None => {
                            let r = self.ledger.get(id).await.map_err(|e| match e.code() {
                                crate::Code::NotFound => ServiceError::new(
                                    crate::Code::NotFound,
                                    format!(
                                        "{field}: no reservation {id:?} (unknown, or ended more than a day ago)"
                                    ),
                                ),
                                _ => e,
                            })?;
                            return Err(ServiceError::precondition(format!(
                                "{field}: reservation {id:?} is {} and cannot be re-planned",
                                r.state.name()
                            )));
                        }
                    }
                }
                Ok(out)
            }
            Selection::Decisions(ids) => {
                let mut out = Vec::new();
                for (i, id) in ids.iter().enumerate() {
                    let field = format!("decisions.ids[{i}]");
                    DecisionId::parse(id, &field)?;
                    let before = out.len();
                    out.extend(held.iter().filter(|r| &r.decision_id == id).cloned());
                    if out.len() == before {
                        return Err(ServiceError::new(
                            crate::Code::NotFound,
                            format!(
                                "{field}: decision {id:?} holds no stock (no held reservation made by it)"
                            ),
                        ));
                    }
                }
                out.sort_by(|a, b| a.id.cmp(&b.id));
                out.dedup_by(|a, b| a.id == b.id);
                Ok(out)
            }
            Selection::Held { node, sku } => Ok(held
                .into_iter()
                .filter(|r| {
                    r.units
                        .iter()
                        .any(|u| node.is_none_or(|n| u.node == n) && sku.is_none_or(|s| u.sku == s))
                })
                .collect()),
        }
    }

    /// The orders `reservations` hold stock for, in order, from their
    /// decisions' records (each record read once, all of them in one
    /// blocking read of the decision log); for each whose record cannot be
    /// read, why not.
    async fn orders_of(&self, reservations: &[Reservation]) -> Vec<Result<OrderRequest, String>> {
        let mut wanted: Vec<DecisionId> = Vec::new();
        let mut index: HashMap<&str, usize> = HashMap::new();
        let mut at = Vec::with_capacity(reservations.len());
        for reservation in reservations {
            let decision = reservation.decision_id.as_str();
            at.push(match index.get(decision) {
                Some(&i) => Ok(i),
                None => DecisionId::parse(decision, "decision_id")
                    .map(|id| {
                        index.insert(decision, wanted.len());
                        wanted.push(id);
                        wanted.len() - 1
                    })
                    .map_err(|e| e.to_string()),
            });
        }
        let records = self.decisions.read_many(&wanted).await;
        at.into_iter()
            .map(|i| {
                let record = match records.get(i?) {
                    Some(Ok(record)) => record,
                    Some(Err(e)) => return Err(format!("its decision record cannot be read: {e}")),
                    None => return Err("its decision record was not read".to_string()),
                };
                self.wire
                    .allocated_order(record)
                    .map_err(|e| format!("its decision record holds no order to re-plan: {e}"))
            })
            .collect()
    }
}

/// Why the held orders cannot be re-planned, in words an operator acts on
/// (FAILED_PRECONDITION). Held plans that take more of a stock pool than
/// it holds mean the stock feed reports fewer units on hand there than
/// allot holds: the message names the node and SKU and says to resync
/// the feed or narrow the selection.
fn not_replannable(network: &Network, error: &BacklogError) -> ServiceError {
    match error {
        BacklogError::CurrentJoint(violation @ JointViolation::Stock { sku, node, .. }) => {
            let node = network
                .nodes()
                .get(node.0 as usize)
                .map_or_else(|| format!("node #{}", node.0), |n| n.code.clone());
            let sku = network
                .skus()
                .get(sku.0 as usize)
                .map_or_else(|| format!("SKU #{}", sku.0), |s| s.code.clone());
            ServiceError::precondition(format!(
                "the held orders cannot be re-planned: the stock feed reports fewer units of {sku} on hand at {node} than allot holds there ({violation}); resync the stock feed for {node}, or narrow the selection to leave out the holds of {sku} at {node}"
            ))
        }
        _ => ServiceError::precondition(format!("the held orders cannot be re-planned: {error}")),
    }
}

#[cfg(test)]
mod tests {
    use allot_engine::network::DEMO_SEED;

    use super::*;
    use crate::error::Code;

    #[test]
    fn held_plans_over_the_stock_say_the_feed_is_short_and_what_to_do() {
        let network = Network::demo(DEMO_SEED);
        let node = network.node_id("DC-ATL").unwrap();
        let sku = SkuId(0);
        let error = BacklogError::CurrentJoint(JointViolation::Stock {
            sku,
            node,
            tier: "protected",
            planned: 5,
            pool: 3,
        });
        let refused = not_replannable(&network, &error);
        assert_eq!(refused.code(), Code::FailedPrecondition);
        let message = refused.to_string();
        for part in [
            network.node(node).code.as_str(),
            network.sku(sku).code.as_str(),
            "fewer units",
            "5 protected units planned, the pool holds 3",
            "resync the stock feed",
            "narrow the selection",
        ] {
            assert!(message.contains(part), "{part:?} in {message}");
        }
        let other = not_replannable(&network, &BacklogError::MovePenalty(-1));
        assert_eq!(other.code(), Code::FailedPrecondition);
        assert!(other.to_string().contains("move_penalty"), "{other}");
    }
}
