//! The stock and capacity a backlog's orders share, indexed densely, and
//! what a set of plans uses of them.

use std::collections::HashMap;

use allot_network::{NodeId, SkuId};

use super::{Backlog, BacklogOrder, StockPool};
use crate::problem::{Plan, Problem, Violation, check};

/// Why a set of plans is not a joint plan of a backlog.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JointViolation {
    /// Not one plan per order.
    #[error("{plans} plans for {orders} orders")]
    Count {
        /// Plans given.
        plans: usize,
        /// Orders in the backlog.
        orders: usize,
    },
    /// An order's plan breaks its own problem (or ships from a pair
    /// without a pool).
    #[error("order {order}: {violation}")]
    Order {
        /// The order's index.
        order: usize,
        /// What it breaks.
        violation: Violation,
    },
    /// More units of a stock tier than the pool holds.
    #[error("sku {} at node {}: {planned} {tier} units planned, the pool holds {pool}", sku.0, node.0)]
    Stock {
        /// The SKU.
        sku: SkuId,
        /// The node.
        node: NodeId,
        /// `free` or `protected`.
        tier: &'static str,
        /// Units the plans take.
        planned: u64,
        /// Units in the pool.
        pool: u32,
    },
    /// More units than a node's capacity.
    #[error("node {}: {planned} units planned, capacity {pool}", node.0)]
    Capacity {
        /// The node.
        node: NodeId,
        /// Units the plans ship from it.
        planned: u64,
        /// Its capacity.
        pool: u32,
    },
}

/// Checks that `plans` (one per order) form a joint plan of `backlog`: each
/// a plan of its order's problem with the pools' caps, together within
/// every pool.
pub fn check_joint(backlog: &Backlog, plans: &[Plan]) -> Result<(), JointViolation> {
    Pools::index(backlog).check(backlog, plans)
}

/// The pools in dense order, and where each order's pairs and candidates
/// draw from.
#[derive(Debug, Clone)]
pub(super) struct Pools {
    /// Stock pools, by resource index.
    pub stock: Vec<StockPool>,
    stock_keys: Vec<(SkuId, NodeId)>,
    /// Node capacities, by resource index.
    pub capacity: Vec<u32>,
    node_keys: Vec<NodeId>,
    /// Per order, per (line, candidate) pair: its stock resource, `None`
    /// when the pair may not ship.
    pub pair: Vec<Vec<Option<usize>>>,
    /// Per order, per candidate: its capacity resource.
    pub node: Vec<Vec<Option<usize>>>,
}

/// Units the plans take from each pool.
#[derive(Debug, Clone)]
pub(super) struct Usage {
    /// Free units per stock resource.
    pub free: Vec<i64>,
    /// Protected units per stock resource.
    pub protected: Vec<i64>,
    /// Units per capacity resource.
    pub units: Vec<i64>,
}

impl Pools {
    /// Indexes `backlog`'s pools (in key order, so the same backlog gives
    /// the same indices).
    pub fn index(backlog: &Backlog) -> Pools {
        let mut stock_keys: Vec<(SkuId, NodeId)> = backlog.stock.keys().copied().collect();
        stock_keys.sort();
        let mut node_keys: Vec<NodeId> = backlog.capacity.keys().copied().collect();
        node_keys.sort();
        let stock_at: HashMap<(SkuId, NodeId), usize> = stock_keys
            .iter()
            .enumerate()
            .map(|(i, k)| (*k, i))
            .collect();
        let node_at: HashMap<NodeId, usize> =
            node_keys.iter().enumerate().map(|(i, k)| (*k, i)).collect();
        let mut pair = Vec::with_capacity(backlog.orders.len());
        let mut node = Vec::with_capacity(backlog.orders.len());
        for order in &backlog.orders {
            let p = &order.problem;
            let mut pairs = vec![None; p.lines.len() * p.n()];
            for (l, line) in p.lines.iter().enumerate() {
                for (n, c) in p.candidates.iter().enumerate() {
                    let i = p.at(l, n);
                    if p.free_stock.get(i).copied().unwrap_or(0)
                        + p.protected_stock.get(i).copied().unwrap_or(0)
                        > 0
                    {
                        pairs[i] = stock_at.get(&(line.sku, c.node)).copied();
                    }
                }
            }
            pair.push(pairs);
            node.push(
                p.candidates
                    .iter()
                    .map(|c| node_at.get(&c.node).copied())
                    .collect(),
            );
        }
        Pools {
            stock: stock_keys.iter().map(|k| backlog.stock[k]).collect(),
            stock_keys,
            capacity: node_keys.iter().map(|k| backlog.capacity[k]).collect(),
            node_keys,
            pair,
            node,
        }
    }

    /// Order `o`'s problem with every pool to itself: each allowed pair
    /// capped by its pool (and the line quantity), each candidate by its
    /// node's capacity. A relaxation of the order's share of the joint
    /// problem.
    pub fn relaxed(&self, backlog: &Backlog, o: usize) -> Problem {
        let mut p = backlog.orders[o].problem.clone();
        for (l, line) in backlog.orders[o].problem.lines.iter().enumerate() {
            for n in 0..p.n() {
                let i = p.at(l, n);
                let (f, pr) = self.pair[o][i]
                    .map_or((0, 0), |r| (self.stock[r].free, self.stock[r].protected));
                p.free_stock[i] = f.min(line.quantity);
                p.protected_stock[i] = pr.min(line.quantity);
            }
        }
        for (n, c) in p.candidates.iter_mut().enumerate() {
            c.capacity = self.node[o][n].map_or(0, |k| self.capacity[k]);
        }
        p
    }

    /// Order `o`'s problem with what `others` (the usage of every other
    /// order) leave: lines of one SKU take the remaining units in line
    /// order, so the order alone can never overdraw a pool.
    pub fn residual(&self, backlog: &Backlog, o: usize, others: &Usage) -> Problem {
        let mut p = backlog.orders[o].problem.clone();
        let mut left_free: HashMap<usize, i64> = HashMap::new();
        let mut left_prot: HashMap<usize, i64> = HashMap::new();
        for (l, line) in backlog.orders[o].problem.lines.iter().enumerate() {
            for n in 0..p.n() {
                let i = p.at(l, n);
                let (f, pr) = match self.pair[o][i] {
                    Some(r) => {
                        let lf = left_free
                            .entry(r)
                            .or_insert(i64::from(self.stock[r].free) - others.free[r]);
                        let lp = left_prot
                            .entry(r)
                            .or_insert(i64::from(self.stock[r].protected) - others.protected[r]);
                        let f = (*lf).clamp(0, i64::from(line.quantity));
                        *lf -= f;
                        let pr = (*lp).clamp(0, i64::from(line.quantity));
                        *lp -= pr;
                        (f as u32, pr as u32)
                    }
                    None => (0, 0),
                };
                p.free_stock[i] = f;
                p.protected_stock[i] = pr;
            }
        }
        for (n, c) in p.candidates.iter_mut().enumerate() {
            c.capacity = self.node[o][n].map_or(0, |k| {
                (i64::from(self.capacity[k]) - others.units[k]).max(0) as u32
            });
        }
        p
    }

    /// Whether `order`'s problem has arrays of its own dimensions (plans
    /// are checked against it in [`Pools::check`]).
    pub fn check_shape(order: &BacklogOrder) -> Result<(), String> {
        let p = &order.problem;
        let pairs = p.lines.len() * p.n();
        if p.transport_per_unit.len() != pairs
            || p.free_stock.len() != pairs
            || p.protected_stock.len() != pairs
        {
            return Err("the problem's arrays do not match its lines and candidates".into());
        }
        Ok(())
    }

    /// Checks `plans` against every order's relaxed problem and every pool.
    pub fn check(&self, backlog: &Backlog, plans: &[Plan]) -> Result<(), JointViolation> {
        if plans.len() != backlog.orders.len() {
            return Err(JointViolation::Count {
                plans: plans.len(),
                orders: backlog.orders.len(),
            });
        }
        let mut usage = Usage::zero(self);
        for (o, plan) in plans.iter().enumerate() {
            check(&self.relaxed(backlog, o), plan).map_err(|violation| JointViolation::Order {
                order: o,
                violation,
            })?;
            usage.add(self, o, &backlog.orders[o].problem, plan);
        }
        for (r, pool) in self.stock.iter().enumerate() {
            let (sku, node) = self.stock_keys[r];
            for (tier, planned, held) in [
                ("free", usage.free[r], pool.free),
                ("protected", usage.protected[r], pool.protected),
            ] {
                if planned > i64::from(held) {
                    return Err(JointViolation::Stock {
                        sku,
                        node,
                        tier,
                        planned: planned as u64,
                        pool: held,
                    });
                }
            }
        }
        for (k, &cap) in self.capacity.iter().enumerate() {
            if usage.units[k] > i64::from(cap) {
                return Err(JointViolation::Capacity {
                    node: self.node_keys[k],
                    planned: usage.units[k] as u64,
                    pool: cap,
                });
            }
        }
        Ok(())
    }
}

impl Usage {
    /// Nothing used.
    pub fn zero(pools: &Pools) -> Usage {
        Usage {
            free: vec![0; pools.stock.len()],
            protected: vec![0; pools.stock.len()],
            units: vec![0; pools.capacity.len()],
        }
    }

    /// Adds order `o`'s `plan` (a plan of `problem`, its problem).
    pub fn add(&mut self, pools: &Pools, o: usize, problem: &Problem, plan: &Plan) {
        self.apply(pools, o, problem, plan, 1);
    }

    /// Takes order `o`'s `plan` away.
    pub fn remove(&mut self, pools: &Pools, o: usize, problem: &Problem, plan: &Plan) {
        self.apply(pools, o, problem, plan, -1);
    }

    fn apply(&mut self, pools: &Pools, o: usize, problem: &Problem, plan: &Plan, sign: i64) {
        for l in 0..problem.lines.len() {
            for n in 0..problem.n() {
                let i = problem.at(l, n);
                let (f, p) = (i64::from(plan.free[i]), i64::from(plan.protected[i]));
                if f + p == 0 {
                    continue;
                }
                if let Some(r) = pools.pair[o][i] {
                    self.free[r] += sign * f;
                    self.protected[r] += sign * p;
                }
                if let Some(k) = pools.node[o][n] {
                    self.units[k] += sign * (f + p);
                }
            }
        }
    }
}
