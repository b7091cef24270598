//! The Lagrangian lower bound of a backlog: the coupling constraints (each
//! stock pool's free and protected units, each node's capacity, the move
//! limit) are priced into the orders' problems with multipliers >= 0, so
//! the orders separate; each order's priced problem is solved exactly (its
//! current plan, or its best plan plus the move penalty and the move
//! price, whichever is cheaper), and the sum minus the prices of the pools
//! bounds the joint optimum from below for any prices. A subgradient
//! method (Polyak steps towards the best joint plan's objective) searches
//! for the prices with the highest bound.
//!
//! The priced problems are the orders' problems with every cost multiplied
//! by [`SCALE`] and prices in 1/[`SCALE`] minor units: costs stay integral
//! (the exact search's pruning stays exact) while the prices can move in
//! fine steps. Any such prices give a valid bound; divided by [`SCALE`] and
//! rounded up (plans cost whole minor units), it bounds the joint optimum.

use std::time::Instant;

use super::pools::{Pools, Usage};
use super::{Backlog, TARGET_GAP};
use crate::exact::{PricedSolution, TierPrices, solve_exact_priced};
use crate::problem::{Plan, Problem};

/// Costs are multiplied by this in the priced problems.
pub(super) const SCALE: i64 = 64;

/// Subgradient iterations at most.
const MAX_ITERATIONS: u32 = 200;

/// After the first three evaluations, the primal heuristic runs on every
/// this many (it costs about two evaluations).
const PRIMAL_EVERY: u32 = 5;

/// Iterations without a better bound before the step shrinks.
const PATIENCE: u32 = 5;

/// The multipliers and the best bound found.
pub(super) struct Lagrange<'a> {
    pools: &'a Pools,
    /// Price of a free unit per stock pool.
    free: Vec<i64>,
    /// Price of a protected unit per stock pool.
    protected: Vec<i64>,
    /// Price of a unit of capacity per node.
    capacity: Vec<i64>,
    /// Price of a move (when moves are limited).
    moves: i64,
    /// Per stock pool: the lowest protect penalty among the orders that
    /// draw from it, `None` when one of them has a negative penalty (its
    /// tiers are then never priced).
    protect_floor: Vec<Option<i64>>,
    /// Each order's last priced solve: the prices and what they gave. An
    /// order whose prices did not change is not solved again.
    last: Vec<Option<(TierPrices, PricedSolution)>>,
    /// The orders' relaxed problems, costs times [`SCALE`].
    scaled: Vec<Problem>,
    /// The best bound so far, times [`SCALE`].
    best: i64,
}

/// One evaluation of the Lagrangian function.
struct Evaluation {
    value: i64,
    usage: Usage,
    moves: i64,
    /// Orders whose priced plan moves, largest priced saving first.
    moving: Vec<Mover>,
}

/// An order whose priced plan moves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Mover {
    /// What the move saves at the prices, the move penalty paid.
    pub saving: i64,
    /// The order.
    pub order: usize,
    /// Its priced plan.
    pub plan: Plan,
}

impl<'a> Lagrange<'a> {
    /// Zero prices (their bound: every order alone at its best).
    pub fn new(backlog: &Backlog, pools: &'a Pools, relaxed: &[Problem]) -> Lagrange<'a> {
        let mut floor: Vec<Option<i64>> = vec![Some(i64::MAX); pools.stock.len()];
        for (o, problem) in relaxed.iter().enumerate() {
            for (i, r) in pools.pair[o].iter().enumerate() {
                let Some(r) = *r else { continue };
                let pp = problem.protect_penalty[i];
                floor[r] = match floor[r] {
                    // In the priced problems' units, like the prices.
                    Some(f) if pp >= 0 => Some(f.min(pp.saturating_mul(SCALE))),
                    _ => None,
                };
            }
        }
        Lagrange {
            pools,
            free: vec![0; pools.stock.len()],
            protected: vec![0; pools.stock.len()],
            capacity: vec![0; pools.capacity.len()],
            moves: 0,
            protect_floor: floor,
            last: vec![None; backlog.orders.len()],
            scaled: relaxed.iter().map(scaled).collect(),
            best: i64::MIN / 4,
        }
    }

    /// The orders whose best plan with every pool to itself beats keeping
    /// the current one by more than the move penalty, largest saving first:
    /// the movers of an evaluation at zero prices, which the first step of
    /// [`Lagrange::tighten`] finds again in its cache. No other order can gain from a move on its own:
    /// what the others leave is never more than every pool. Empty when the
    /// deadline strikes first.
    pub fn movers_alone(&mut self, backlog: &Backlog, deadline: Instant) -> Vec<usize> {
        self.evaluate(backlog, deadline)
            .map(|e| e.moving.iter().map(|m| m.order).collect())
            .unwrap_or_default()
    }

    /// The best bound found, in minor units.
    pub fn bound(&self) -> i64 {
        if self.best <= i64::MIN / 4 {
            return i64::MIN / 4;
        }
        self.best.div_euclid(SCALE) + i64::from(self.best.rem_euclid(SCALE) != 0)
    }

    /// Runs subgradient steps until the bound meets `upper` (the best
    /// joint objective) within [`TARGET_GAP`], the steps vanish, or the
    /// deadline; the number of evaluations.
    ///
    /// After each evaluation, `primal` gets the orders whose priced plan
    /// moves (largest priced saving first) when they changed, and
    /// returns the best joint objective known, which the steps aim at.
    pub fn tighten(
        &mut self,
        backlog: &Backlog,
        upper: i64,
        deadline: Instant,
        mut primal: impl FnMut(&[Mover]) -> i64,
    ) -> u32 {
        let mut upper = upper.saturating_mul(SCALE);
        let mut theta = 1.0f64;
        let mut stalled = 0;
        let mut iterations = 0;
        let mut last_moving: Vec<Mover> = Vec::new();
        while iterations < MAX_ITERATIONS {
            let Some(e) = self.evaluate(backlog, deadline) else {
                break;
            };
            iterations += 1;
            if e.moving != last_moving && (iterations <= 3 || iterations % PRIMAL_EVERY == 0) {
                upper = upper.min(primal(&e.moving).saturating_mul(SCALE));
                last_moving = e.moving.clone();
            }
            if e.value > self.best {
                self.best = e.value;
                stalled = 0;
            } else {
                stalled += 1;
                if stalled >= PATIENCE {
                    theta /= 2.0;
                    stalled = 0;
                }
            }
            let gap = upper - self.best;
            if gap < SCALE || (gap as f64) <= TARGET_GAP * upper.abs().max(1) as f64 || theta < 1e-3
            {
                break;
            }
            let (gf, gp, gc, gm) = self.subgradient(backlog, &e);
            // Only the components a step can move: a price at 0 whose
            // constraint has slack stays at 0.
            let live = |price: i64, g: i64| {
                if price > 0 || g > 0 {
                    (g * g) as f64
                } else {
                    0.0
                }
            };
            let norm: f64 = (0..gf.len())
                .map(|r| live(self.free[r], gf[r]) + live(self.protected[r], gp[r]))
                .sum::<f64>()
                + (0..gc.len())
                    .map(|k| live(self.capacity[k], gc[k]))
                    .sum::<f64>()
                + if backlog.max_moves.is_some() {
                    live(self.moves, gm)
                } else {
                    0.0
                };
            if norm == 0.0 {
                // Every priced plan fits its pools and every priced pool is
                // full: the bound is the optimum of the relaxation.
                break;
            }
            let step = theta * (upper - e.value).max(1) as f64 / norm;
            let moved = |price: &mut i64, g: i64| {
                *price = (*price + (step * g as f64).round() as i64).max(0);
            };
            for (r, g) in gf.iter().enumerate() {
                moved(&mut self.free[r], *g);
                moved(&mut self.protected[r], gp[r]);
                match self.protect_floor[r] {
                    // The free tier may never become dearer than the protected one.
                    Some(floor) => {
                        self.free[r] = self.free[r].min(floor.saturating_add(self.protected[r]))
                    }
                    None => {
                        self.free[r] = 0;
                        self.protected[r] = 0;
                    }
                }
            }
            for (k, g) in gc.iter().enumerate() {
                moved(&mut self.capacity[k], *g);
            }
            if backlog.max_moves.is_some() {
                moved(&mut self.moves, gm);
            }
        }
        iterations
    }

    /// Usage minus capacity of every coupling constraint under `e`'s plans.
    fn subgradient(
        &self,
        backlog: &Backlog,
        e: &Evaluation,
    ) -> (Vec<i64>, Vec<i64>, Vec<i64>, i64) {
        let pools = self.pools;
        let gf = (0..pools.stock.len())
            .map(|r| e.usage.free[r] - i64::from(pools.stock[r].free))
            .collect();
        let gp = (0..pools.stock.len())
            .map(|r| e.usage.protected[r] - i64::from(pools.stock[r].protected))
            .collect();
        let gc = (0..pools.capacity.len())
            .map(|k| e.usage.units[k] - i64::from(pools.capacity[k]))
            .collect();
        let gm = backlog
            .max_moves
            .map_or(0, |limit| e.moves - i64::from(limit));
        (gf, gp, gc, gm)
    }

    /// The prices order `o`'s pairs pay.
    fn prices(&self, o: usize, problem: &Problem) -> TierPrices {
        let mut prices = TierPrices::zero(problem);
        for l in 0..problem.lines.len() {
            for n in 0..problem.n() {
                let i = problem.at(l, n);
                let node = self.pools.node[o][n].map_or(0, |k| self.capacity[k]);
                let (f, p) =
                    self.pools.pair[o][i].map_or((0, 0), |r| (self.free[r], self.protected[r]));
                prices.free[i] = f + node;
                prices.protected[i] = p + node;
            }
        }
        prices
    }

    /// The Lagrangian function at the current prices; `None` when the
    /// deadline strikes first.
    fn evaluate(&mut self, backlog: &Backlog, deadline: Instant) -> Option<Evaluation> {
        let pools = self.pools;
        let mut usage = Usage::zero(pools);
        let mut value: i64 = 0;
        let mut moves = 0i64;
        let mut moving = Vec::new();
        let move_cost = backlog.move_penalty * SCALE + self.moves;
        let scaled = std::mem::take(&mut self.scaled);
        for (o, problem) in scaled.iter().enumerate() {
            if Instant::now() >= deadline {
                self.scaled = scaled;
                return None;
            }
            let current = &backlog.orders[o].current;
            let prices = self.prices(o, problem);
            let keep = prices.cost(problem, current);
            let best = match self.last[o].take() {
                Some((was, best)) if was == prices => best,
                last => {
                    let start = last
                        .as_ref()
                        .and_then(|(_, b)| b.plan.as_ref())
                        .unwrap_or(current);
                    solve_exact_priced(problem, &prices, deadline, Some(start))
                }
            };
            let (sub, plan) = match &best.plan {
                Some(plan) if plan != current && best.cost + move_cost < keep => {
                    (best.lower_bound + move_cost, plan)
                }
                // Proven: no other plan is cheaper than keeping this one.
                Some(plan) if plan == current && best.proven => (keep, current),
                _ => (
                    keep.min(best.lower_bound.saturating_add(move_cost)),
                    current,
                ),
            };
            value += sub;
            if plan != current {
                moves += 1;
                moving.push(Mover {
                    saving: keep - best.cost - move_cost,
                    order: o,
                    plan: plan.clone(),
                });
            }
            usage.add(pools, o, problem, plan);
            self.last[o] = Some((prices, best));
        }
        self.scaled = scaled;
        for (r, pool) in pools.stock.iter().enumerate() {
            value -=
                self.free[r] * i64::from(pool.free) + self.protected[r] * i64::from(pool.protected);
        }
        for (k, &cap) in pools.capacity.iter().enumerate() {
            value -= self.capacity[k] * i64::from(cap);
        }
        if let Some(limit) = backlog.max_moves {
            value -= self.moves * i64::from(limit);
        }
        moving.sort_by_key(|m| (std::cmp::Reverse(m.saving), m.order));
        Some(Evaluation {
            value,
            usage,
            moves,
            moving,
        })
    }
}

/// `problem` with every cost multiplied by [`SCALE`].
fn scaled(problem: &Problem) -> Problem {
    let mut p = problem.clone();
    for c in &mut p.candidates {
        c.package_cost *= SCALE;
        c.handling_per_unit *= SCALE;
        c.lateness_per_unit *= SCALE;
    }
    for t in &mut p.transport_per_unit {
        *t *= SCALE;
    }
    for pp in &mut p.protect_penalty {
        *pp *= SCALE;
    }
    p.split_penalty *= SCALE;
    p.backorder_penalty *= SCALE;
    p
}
