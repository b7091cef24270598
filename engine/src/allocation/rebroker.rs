//! Re-brokering held orders together: live reservations and the orders
//! they hold stock for become one backlog ([`crate::allocation::backlog`]),
//! re-planned jointly against the stock and capacity they hold plus what
//! is free now; the joint plan comes back as moves of the holds, each with
//! its saving and reasons.
//!
//! What a re-plan reads: every order's problem is rebuilt at `now` (ship
//! dates, cutoffs and lateness as of now) from the live stock with the
//! backlog's own holds given back; each node's capacity is what is left
//! today plus the units the backlog holds there. A held unit counts as
//! free stock where the pool's free units cover it, else as protected (the
//! tier a hold took is not recorded).

use std::collections::{BTreeMap, HashMap};
use std::time::{Instant, SystemTime};

use super::allocate::{Allocator, units};
use super::backlog::{Backlog, BacklogError, BacklogOrder, Replan, StockPool, reoptimize};
use super::problem::{Objective, Plan, Problem, check, objective};
use super::request::OrderRequest;
use crate::network::{Network, NodeId, SkuId};
use crate::reservation::{Rehold, Reservation, ReservedUnits};

/// A held reservation with the order it holds stock for.
#[derive(Debug, Clone)]
pub struct HeldOrder {
    /// The reservation (held).
    pub reservation: Reservation,
    /// The order as its allocation decision received it.
    pub request: OrderRequest,
}

/// How a re-plan weighs change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RebrokerParams {
    /// Cost of moving one order's hold, minor units (>= 0).
    pub move_penalty: i64,
    /// At most this many orders move; `None`: no limit.
    pub max_moves: Option<u32>,
}

/// Why a move is worth making, in words a support agent can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MoveReasonCode {
    /// The order ships in fewer packages.
    FewerPackages,
    /// Units that were backordered now ship.
    FewerBackordered,
    /// Package, transport and handling cost less.
    LowerShippingCost,
    /// The expected lateness penalty drops.
    LowerLateRisk,
    /// Fewer protected units are used.
    LessProtectedStock,
    /// The order costs no less after the move (more, or the same), and
    /// the stock or capacity it gives up serves the other orders, which
    /// save at least as much.
    FreesStockForOthers,
}

/// One reason for a move, with the cost difference it is about (minor
/// units saved; negative for a cost the move adds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveReason {
    /// The code.
    pub code: MoveReasonCode,
    /// A sentence for a support agent.
    pub message: String,
    /// Minor units saved on the term the reason is about.
    pub saving: i64,
}

/// One held order re-planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    /// The reservation, which keeps its id.
    pub reservation_id: String,
    /// Its order.
    pub order_id: String,
    /// The allocation decision that made it.
    pub decision_id: String,
    /// What it held.
    pub before: Vec<ReservedUnits>,
    /// What it holds after the move.
    pub after: Vec<ReservedUnits>,
    /// The order's objective under the held plan, term by term.
    pub cost_before: Objective,
    /// The order's objective under the new plan.
    pub cost_after: Objective,
    /// Packages (nodes shipping) before and after.
    pub packages: (u32, u32),
    /// Why.
    pub reasons: Vec<MoveReason>,
}

impl Move {
    /// Minor units the order itself saves (negative when it pays for
    /// others' savings), before the move penalty.
    pub fn saving(&self) -> i64 {
        self.cost_before.total() - self.cost_after.total()
    }

    /// The reservation's new units as a [`Rehold`], planned on the units it
    /// held.
    pub fn rehold(&self) -> Rehold {
        Rehold {
            id: self.reservation_id.clone(),
            before: self.before.clone(),
            units: self.after.clone(),
        }
    }
}

/// A held order left out of the re-plan, and why. Its hold stays as it
/// is, and its units stay out of what the others may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The reservation.
    pub reservation_id: String,
    /// Why it was left out.
    pub reason: String,
}

/// A backlog re-planned.
#[derive(Debug, Clone)]
pub struct Rebrokered {
    /// The orders that move, by reservation id.
    pub moves: Vec<Move>,
    /// Orders left out.
    pub skipped: Vec<Skipped>,
    /// Orders re-planned together.
    pub orders: usize,
    /// Packages of those orders before and after.
    pub packages: (u64, u64),
    /// The joint answer: objectives, bound, status, time.
    pub replan: Replan,
}

impl Rebrokered {
    /// Minor units saved in all: the held plans' joint objective minus the
    /// new one (move penalties included).
    pub fn saving(&self) -> i64 {
        self.replan.current_objective - self.replan.objective
    }
}

/// Re-plans `held` jointly by `deadline`, as of `now`. Orders whose hold
/// no longer matches a plan of their order (lines, nodes or stock rules
/// changed since) are skipped with the reason. Blocking.
pub fn rebroker(
    allocator: &Allocator,
    held: Vec<HeldOrder>,
    params: RebrokerParams,
    deadline: Instant,
    now: SystemTime,
) -> Result<Rebrokered, BacklogError> {
    let started = Instant::now();
    let stock = allocator.book().stock();
    let network = stock.network();
    let mut skipped = Vec::new();
    let mut kept = Vec::new();
    for order in held {
        match units_fit_lines(&order) {
            Ok(()) => kept.push(order),
            Err(reason) => skipped.push(Skipped {
                reservation_id: order.reservation.id.clone(),
                reason,
            }),
        }
    }
    let remaining = allocator.book().remaining_capacity(now);
    let capacity_with = |per_node: &[u32]| -> Vec<u32> {
        remaining
            .iter()
            .zip(per_node)
            .map(|(r, h)| r.saturating_add(*h))
            .collect()
    };
    // Each order's problem, on the stock with every candidate hold given
    // back.
    let (pairs, per_node) = held_units(network, &kept);
    let capacity = capacity_with(&per_node);
    let mut built = Vec::new();
    for order in kept {
        let skus: Vec<SkuId> = order.request.lines.iter().map(|l| l.sku).collect();
        let mut view = stock.order_view(&skus);
        for (&(node, sku), &units) in &pairs {
            if skus.contains(&sku) {
                view.release(node, sku, units);
            }
        }
        match allocator.problem_on(&view, &capacity, &order.request, now) {
            Ok(b) => match held_shipments(network, &order, &b.problem) {
                Ok(shipped) => built.push((order, b.problem, shipped)),
                Err(reason) => skipped.push(Skipped {
                    reservation_id: order.reservation.id.clone(),
                    reason,
                }),
            },
            Err(e) => skipped.push(Skipped {
                reservation_id: order.reservation.id.clone(),
                reason: format!("the order cannot be planned now: {e}"),
            }),
        }
    }
    // The pools: live stock with the re-planned orders' holds given back.
    let (pairs, per_node) = held_units(network, built.iter().map(|(o, _, _)| o));
    let capacity = capacity_with(&per_node);
    let mut pools: HashMap<(SkuId, NodeId), StockPool> = HashMap::new();
    for (_, problem, _) in &built {
        for line in &problem.lines {
            for c in &problem.candidates {
                pools.entry((line.sku, c.node)).or_insert_with(|| {
                    let mut level = stock.level(c.node, line.sku);
                    let back = pairs.get(&(c.node, line.sku)).copied().unwrap_or(0);
                    level.reserved = (level.reserved - back).max(0);
                    let available = level.available().max(0);
                    StockPool {
                        free: clamp((available - level.protected).max(0)),
                        protected: clamp(level.protected.clamp(0, available)),
                    }
                });
            }
        }
    }
    // The held plans, each unit free while the pool's free units last.
    let mut free_left: HashMap<(SkuId, NodeId), u32> =
        pools.iter().map(|(k, p)| (*k, p.free)).collect();
    let mut backlog_orders = Vec::with_capacity(built.len());
    for (_, problem, shipped) in &built {
        let mut plan = Plan::all_backordered(problem);
        for (&(l, n), &q) in shipped {
            let i = problem.at(l, n);
            let left = free_left
                .entry((problem.lines[l].sku, problem.candidates[n].node))
                .or_insert(0);
            let free = q.min(*left);
            *left -= free;
            plan.free[i] += free;
            plan.protected[i] += q - free;
            plan.backordered[l] -= q;
        }
        backlog_orders.push(BacklogOrder {
            problem: problem.clone(),
            current: plan,
        });
    }
    let backlog = Backlog {
        orders: backlog_orders,
        stock: pools,
        capacity: network.node_ids().zip(capacity).collect(),
        move_penalty: params.move_penalty,
        max_moves: params.max_moves,
    };
    let mut replan = reoptimize(&backlog, deadline)?;
    replan.elapsed = started.elapsed();
    let mut moves = Vec::new();
    let mut packages = (0u64, 0u64);
    for (o, ((order, problem, _), b)) in built.iter().zip(&backlog.orders).enumerate() {
        let before = b.current.used(problem).len() as u32;
        let after = replan.plans[o].used(problem).len() as u32;
        packages.0 += u64::from(before);
        packages.1 += u64::from(after);
        if !replan.moved[o] {
            continue;
        }
        let cost_before = objective(problem, &b.current);
        let cost_after = objective(problem, &replan.plans[o]);
        moves.push(Move {
            reservation_id: order.reservation.id.clone(),
            order_id: order.reservation.order_id.clone(),
            decision_id: order.reservation.decision_id.clone(),
            before: order.reservation.units.clone(),
            after: units(&order.request, problem, &replan.plans[o]),
            cost_before,
            cost_after,
            packages: (before, after),
            reasons: move_reasons(&cost_before, &cost_after, (before, after)),
        });
    }
    Ok(Rebrokered {
        moves,
        skipped,
        orders: built.len(),
        packages,
        replan,
    })
}

/// Units `orders` hold, per (node, SKU) and per node (indexed by
/// [`NodeId`]).
fn held_units<'a>(
    network: &Network,
    orders: impl IntoIterator<Item = &'a HeldOrder>,
) -> (BTreeMap<(NodeId, SkuId), i64>, Vec<u32>) {
    let mut per_pair: BTreeMap<(NodeId, SkuId), i64> = BTreeMap::new();
    let mut per_node = vec![0u32; network.node_count()];
    for u in orders.into_iter().flat_map(|o| &o.reservation.units) {
        *per_pair.entry((u.node, u.sku)).or_insert(0) += i64::from(u.quantity);
        if let Some(n) = per_node.get_mut(u.node.0 as usize) {
            *n = n.saturating_add(u.quantity);
        }
    }
    (per_pair, per_node)
}

fn clamp(units: i64) -> u32 {
    u32::try_from(units.max(0)).unwrap_or(u32::MAX)
}

/// Whether the hold's units name lines of its order with their SKUs and
/// at most the ordered quantity of each.
fn units_fit_lines(order: &HeldOrder) -> Result<(), String> {
    let mut per_line: HashMap<&str, u32> = HashMap::new();
    for u in &order.reservation.units {
        let Some(line) = order.request.lines.iter().find(|l| l.line_id == u.line_id) else {
            return Err(format!(
                "the hold names line {:?}, which the order does not have",
                u.line_id
            ));
        };
        if line.sku != u.sku {
            return Err(format!(
                "the hold's line {:?} holds another SKU than the order's",
                u.line_id
            ));
        }
        let total = per_line.entry(&line.line_id).or_insert(0);
        *total += u.quantity;
        if *total > line.quantity {
            return Err(format!(
                "the hold keeps {} units of line {:?}, which orders {}",
                total, u.line_id, line.quantity
            ));
        }
    }
    Ok(())
}

/// Units the hold ships per (line, candidate) of `problem`; an error when a
/// held node is no longer a candidate of the order or the held plan breaks
/// one of its rules.
fn held_shipments(
    network: &Network,
    order: &HeldOrder,
    problem: &Problem,
) -> Result<BTreeMap<(usize, usize), u32>, String> {
    let mut shipped = BTreeMap::new();
    for u in &order.reservation.units {
        let l = order
            .request
            .lines
            .iter()
            .position(|line| line.line_id == u.line_id)
            .ok_or("a held line is not in the order")?;
        let n = problem
            .candidates
            .iter()
            .position(|c| c.node == u.node)
            .ok_or_else(|| {
                format!(
                    "the held node {} is no longer a candidate for the order (its rules, stock or the network changed)",
                    network.node(u.node).code
                )
            })?;
        *shipped.entry((l, n)).or_insert(0) += u.quantity;
    }
    // The plan, all free, checked against the order's own rules (split
    // limits, ship-complete); stock and capacity are checked jointly.
    let mut plan = Plan::all_backordered(problem);
    let mut relaxed = problem.clone();
    for (&(l, n), &q) in &shipped {
        let i = problem.at(l, n);
        plan.free[i] = q;
        plan.backordered[l] -= q;
        relaxed.free_stock[i] = relaxed.free_stock[i].max(q);
    }
    for c in &mut relaxed.candidates {
        c.capacity = u32::MAX;
    }
    check(&relaxed, &plan)
        .map_err(|v| format!("the held plan breaks the order's rules now: {v}"))?;
    Ok(shipped)
}

/// Why a move is worth making: each term it improves, or what it gives
/// up for the others.
fn move_reasons(before: &Objective, after: &Objective, packages: (u32, u32)) -> Vec<MoveReason> {
    let mut reasons = Vec::new();
    let mut reason = |code, message: String, saving| {
        reasons.push(MoveReason {
            code,
            message,
            saving,
        })
    };
    if packages.1 < packages.0 {
        reason(
            MoveReasonCode::FewerPackages,
            format!("ships in {} packages instead of {}", packages.1, packages.0),
            before.package + before.split - after.package - after.split,
        );
    }
    if after.backorder < before.backorder {
        reason(
            MoveReasonCode::FewerBackordered,
            "units that were backordered now ship".into(),
            before.backorder - after.backorder,
        );
    }
    let shipping = |o: &Objective| o.package + o.transport + o.handling;
    if shipping(after) < shipping(before) {
        reason(
            MoveReasonCode::LowerShippingCost,
            format!(
                "package, transport and handling cost {} less",
                shipping(before) - shipping(after)
            ),
            shipping(before) - shipping(after),
        );
    }
    if after.lateness < before.lateness {
        reason(
            MoveReasonCode::LowerLateRisk,
            "the expected lateness penalty drops".into(),
            before.lateness - after.lateness,
        );
    }
    if after.protection < before.protection {
        reason(
            MoveReasonCode::LessProtectedStock,
            "fewer protected units are used".into(),
            before.protection - after.protection,
        );
    }
    if after.total() > before.total() {
        reason(
            MoveReasonCode::FreesStockForOthers,
            format!(
                "costs this order {} more, and frees stock or capacity that saves the other orders more",
                after.total() - before.total()
            ),
            before.total() - after.total(),
        );
    }
    if reasons.is_empty() {
        // As cheap as before in every term that improves nothing: the
        // joint plan moved it to make room (with no move penalty, an
        // equally cheap plan may also just be the one the solver found).
        reasons.push(MoveReason {
            code: MoveReasonCode::FreesStockForOthers,
            message:
                "costs this order the same, and its old stock or capacity serves the joint plan"
                    .into(),
            saving: before.total() - after.total(),
        });
    }
    reasons
}
