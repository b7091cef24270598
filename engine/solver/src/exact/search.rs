//! Depth-first branch and bound over node sets, after settling every set of
//! at most two nodes by enumeration (see [`Search::run`]).
//!
//! A search node fixes some candidates in (must ship) and some out. Its bound
//! is the Lagrangian function over sets of at least three nodes, maximised by
//! a few deflected subgradient steps from the
//! parent's multipliers (many at the root), each child starting from a
//! fresh step size. A free candidate whose forced
//! inclusion alone lifts the bound to the incumbent is fixed out for the
//! whole subtree (reduced-cost fixing). The subproblem's node set is
//! assigned exactly as a primal heuristic. Branching takes the free node the
//! subproblem likes most: "in" first, then "out".
//!
//! Costs are whole minor units, so a subtree is pruned once its bound
//! exceeds `incumbent - 1`: it cannot hold a strictly better plan.

use std::collections::HashMap;
use std::time::Instant;

use super::assign::Assigner;
use super::bound::{FREE, IN, Lagrange, OUT, initial_lambda};
use super::reduce::Model;

/// Slack on float bounds before pruning (bounds are sums of f64 products).
const EPS: f64 = 1e-4;
/// Subgradient steps at the root and at other search nodes.
const ROOT_ITERS: usize = 80;
const NODE_ITERS: usize = 15;
/// Step size factor each child starts from (the root starts from 1). A
/// factor handed down from the parent has been halved on every stall, so
/// deep in the tree the steps were too short to move the multipliers to
/// the child's own optimum; a fresh, larger start prunes sooner (a fifth
/// to a half of the search nodes on random orders of 10 to 50 lines).
const CHILD_THETA: f64 = 2.0;
/// Share of the previous step direction carried into the next.
const DEFLECTION: f64 = 0.3;
/// The branch and bound covers node sets of at least this many nodes
/// (smaller sets are settled by enumeration first).
const MIN_SEARCHED: usize = 3;
/// "No cost" marker of the enumeration bounds (a line no node of a pair can
/// serve) and the cap on every floor: any finite value is a valid bound on
/// an impossible plan, a capped floor is still a lower bound, and sums of
/// thousands of capped floors stay exact (below 2^53).
const NO_FLOOR: f64 = (1u64 << 40) as f64;

/// One open search node.
#[derive(Debug, Clone)]
struct BbNode {
    status: Vec<u8>,
    active: Vec<usize>,
    lambda: Vec<f64>,
    theta: f64,
    parent_lb: f64,
}

/// The search state: incumbent, bound machinery, statistics.
#[derive(Debug)]
pub(crate) struct Search<'a> {
    m: &'a Model,
    deadline: Instant,
    /// Incumbent objective (`i64::MAX` while none).
    pub ub: i64,
    /// Node set of the incumbent when the search found it.
    pub best_set: Option<Vec<usize>>,
    /// Assignment buffers.
    pub assigner: Assigner,
    lag: Lagrange,
    seen: HashMap<Vec<usize>, Option<i64>>,
    /// Search nodes processed.
    pub nodes: u64,
    /// Whether the deadline cut the search short.
    pub timed_out: bool,
    /// Proven lower bound when the search was cut short.
    pub open_lb: f64,
}

impl<'a> Search<'a> {
    /// A search over `m`, stopping at `deadline`.
    pub fn new(m: &'a Model, deadline: Instant) -> Search<'a> {
        Search {
            m,
            deadline,
            ub: i64::MAX,
            best_set: None,
            assigner: Assigner::default(),
            lag: Lagrange::new(m),
            seen: HashMap::new(),
            nodes: 0,
            timed_out: false,
            open_lb: f64::INFINITY,
        }
    }

    /// Evaluates a node set (sorted model indices) and keeps it if better.
    /// Returns its cost (`None`: it cannot cover the order, or capacity
    /// binds and no plan shipping from all of it can beat the incumbent,
    /// see [`Assigner::solve_below`]); results are cached, so asking twice
    /// is cheap (the incumbent only falls, so a set that cannot beat it
    /// never will).
    pub fn try_set(&mut self, set: &[usize]) -> Option<i64> {
        if set.len() > self.m.k {
            return None;
        }
        if let Some(&known) = self.seen.get(set) {
            return known;
        }
        let cost = self.assigner.solve_below(self.m, set, self.ub);
        self.seen.insert(set.to_vec(), cost);
        let cost = cost?;
        if cost < self.ub {
            self.ub = cost;
            self.best_set = Some(set.to_vec());
        }
        Some(cost)
    }

    fn prunes(&self, lb: f64) -> bool {
        lb == f64::INFINITY || (self.ub != i64::MAX && lb > self.ub as f64 - 1.0 + EPS)
    }

    /// Runs the search to completion or the deadline: every set of at most
    /// two nodes is settled first (singles outright, pairs by enumeration
    /// under a cheap bound), so the branch and bound only has to cover sets
    /// of three or more nodes, whose Lagrangian bound carries at least three
    /// fixed costs and is far tighter.
    pub fn run(&mut self) {
        let m = self.m;
        let n = m.n();
        for node in 0..n {
            self.try_set(&[node]);
        }
        // All backordered (or, with no lines, the empty plan).
        self.try_set(&[]);
        if m.k <= 1 {
            return;
        }
        let mut root = BbNode {
            status: vec![FREE; n],
            active: (0..n).collect(),
            lambda: initial_lambda(m),
            theta: 1.0,
            parent_lb: f64::NEG_INFINITY,
        };
        // Root bound over all non-empty sets: fixes out hopeless nodes.
        self.nodes += 1;
        let lb = self.optimise(&mut root, ROOT_ITERS, 1);
        self.open_lb = lb;
        if self.prunes(lb) {
            return;
        }
        self.try_lagrangian_set(&root);
        if self.ub != i64::MAX {
            self.fix_out(&mut root);
        }
        let floor = self.line_floor(&root.active);
        if !self.pairs(&root.active, &floor) {
            return;
        }
        if m.k <= 2 {
            return;
        }

        root.parent_lb = lb;
        let mut stack = vec![root];
        while let Some(node) = stack.pop() {
            if Instant::now() >= self.deadline {
                self.timed_out = true;
                self.open_lb = stack
                    .iter()
                    .map(|b| b.parent_lb)
                    .fold(node.parent_lb, f64::min);
                return;
            }
            let is_root = self.nodes == 1;
            self.nodes += 1;
            self.process(node, is_root, &mut stack);
        }
    }

    /// The root bound alone (no incumbent, all non-empty sets).
    pub fn root_bound(&mut self) -> f64 {
        let mut root = BbNode {
            status: vec![FREE; self.m.n()],
            active: (0..self.m.n()).collect(),
            lambda: initial_lambda(self.m),
            theta: 1.0,
            parent_lb: f64::NEG_INFINITY,
        };
        self.optimise(&mut root, ROOT_ITERS, 1)
    }

    /// Per (node, line) of `pool`: the least cost of the line's full
    /// quantity if that node's cheapest unit (or a backorder) served it all;
    /// `NO_FLOOR` when the node holds none and backorders are not allowed.
    /// Floats, so the pair loop vectorises; the values are whole numbers far
    /// below 2^53, so the sums are exact.
    fn line_floor(&self, pool: &[usize]) -> Vec<f64> {
        let m = self.m;
        let mut floor = vec![NO_FLOOR; m.n() * m.l];
        for &n in pool {
            for line in 0..m.l {
                let i = m.at(n, line);
                let c = if m.cap1[i] > 0 {
                    Some(m.cost1[i])
                } else if m.cap2[i] > 0 {
                    Some(m.cost2[i])
                } else {
                    None
                };
                let unit = match (c, m.backorder) {
                    (Some(c), Some(bp)) => Some(c.min(bp)),
                    (None, Some(bp)) => Some(bp),
                    (c, None) => c,
                };
                floor[i] = unit.map_or(NO_FLOOR, |u| {
                    (u as f64 * f64::from(m.qty[line])).min(NO_FLOOR)
                });
            }
        }
        floor
    }

    /// Settles every pair of nodes in `pool`: a pair whose cheap bound
    /// (fixed costs + each line at the cheaper node's unit cost) cannot beat
    /// the incumbent is skipped, the rest are assigned exactly. A node whose
    /// every pair is skipped (its bound with the cheapest other node and
    /// each line at the pool's cheapest unit) is skipped outright. False
    /// when the deadline struck.
    fn pairs(&mut self, pool: &[usize], floor: &[f64]) -> bool {
        let m = self.m;
        let l = m.l;
        let beats = |ub: i64, lb: f64| ub == i64::MAX || lb < ub as f64;
        let mut least = vec![NO_FLOOR; l];
        for &n in pool {
            for (lo, &f) in least.iter_mut().zip(&floor[n * l..(n + 1) * l]) {
                *lo = f.min(*lo);
            }
        }
        let cheapest = pool.iter().map(|&n| m.fixed[n]).min().unwrap_or(0);
        let pool: Vec<usize> = pool
            .iter()
            .copied()
            .filter(|&a| {
                let rest = (m.fixed[a] + cheapest - m.split) as f64;
                beats(
                    self.ub,
                    rest + floor_sum(&floor[a * l..(a + 1) * l], &least),
                )
            })
            .collect();
        let mut count = 0u32;
        for (ia, &a) in pool.iter().enumerate() {
            for &b in &pool[ia + 1..] {
                count += 1;
                if count.is_multiple_of(64) && Instant::now() >= self.deadline {
                    self.timed_out = true;
                    return false;
                }
                let fixed = (m.fixed[a] + m.fixed[b] - m.split) as f64;
                let (ra, rb) = (&floor[a * l..(a + 1) * l], &floor[b * l..(b + 1) * l]);
                if beats(self.ub, fixed + floor_sum(ra, rb)) {
                    self.try_set(&[a, b]);
                }
            }
        }
        true
    }

    /// Assigns the node set the Lagrangian subproblem chose.
    fn try_lagrangian_set(&mut self, node: &BbNode) {
        let mut set: Vec<usize> = if self.lag.empty {
            Vec::new()
        } else {
            node.active
                .iter()
                .copied()
                .filter(|&n| node.status[n] == IN)
                .chain(self.lag.selected.iter().copied())
                .collect()
        };
        set.sort_unstable();
        self.try_set(&set);
    }

    /// Maximises the bound from the node's multipliers; leaves `self.lag`
    /// evaluated at the best multipliers found (and `node.lambda` = them).
    fn optimise(&mut self, node: &mut BbNode, iters: usize, lo: usize) -> f64 {
        let m = self.m;
        let mut best = f64::NEG_INFINITY;
        let mut best_lambda = node.lambda.clone();
        let mut last_is_best = false;
        let mut stall = 0;
        let mut dir = vec![0.0; m.l];
        for _ in 0..iters {
            self.lag
                .eval(m, &node.lambda, &node.status, &node.active, lo, true);
            let lb = self.lag.lb;
            if lb > best + 1e-9 {
                best = lb;
                best_lambda.copy_from_slice(&node.lambda);
                last_is_best = true;
                stall = 0;
            } else {
                last_is_best = false;
                stall += 1;
                if stall >= 3 {
                    node.theta *= 0.5;
                    stall = 0;
                }
            }
            if self.prunes(best) {
                break;
            }
            if self.lag.g.iter().all(|g| g.abs() < 1e-9) {
                break;
            }
            // Deflected direction: half of the previous one carried over,
            // which damps the zig-zag of plain subgradient steps.
            for (d, g) in dir.iter_mut().zip(&self.lag.g) {
                *d = g + DEFLECTION * *d;
            }
            let norm: f64 = dir.iter().map(|d| d * d).sum();
            if norm < 1e-12 {
                break;
            }
            let target = if self.ub == i64::MAX {
                lb + lb.abs() * 0.1 + 100.0
            } else {
                self.ub as f64
            };
            let step = node.theta * (target - lb).max(1e-3) / norm;
            // Above the backorder penalty a multiplier only lowers the
            // bound (the line is backordered anyway), so the step is
            // projected back to it; the bound's pair list relies on this.
            let cap = m.backorder.map_or(f64::INFINITY, |bp| bp as f64);
            for (lam, d) in node.lambda.iter_mut().zip(&dir) {
                *lam = (*lam + step * d).min(cap);
            }
        }
        node.lambda.copy_from_slice(&best_lambda);
        if !last_is_best {
            self.lag
                .eval(m, &node.lambda, &node.status, &node.active, lo, false);
        }
        best
    }

    fn process(&mut self, mut node: BbNode, is_root: bool, stack: &mut Vec<BbNode>) {
        let m = self.m;
        if m.backorder.is_none() && !self.coverable(&node) {
            return;
        }
        let iters = if is_root { ROOT_ITERS } else { NODE_ITERS };
        let lb = self.optimise(&mut node, iters, MIN_SEARCHED);
        if self.prunes(lb) {
            return;
        }
        self.try_lagrangian_set(&node);
        if self.prunes(lb) {
            return;
        }
        if self.ub != i64::MAX {
            self.fix_out(&mut node);
        }
        let n_in = node
            .active
            .iter()
            .filter(|&&n| node.status[n] == IN)
            .count();
        if n_in >= m.k {
            return;
        }
        let branch = self
            .lag
            .selected
            .iter()
            .copied()
            .find(|&n| node.status[n] == FREE)
            .or_else(|| {
                node.active
                    .iter()
                    .copied()
                    .filter(|&n| node.status[n] == FREE)
                    .min_by(|&a, &b| {
                        self.lag.value[a]
                            .total_cmp(&self.lag.value[b])
                            .then(a.cmp(&b))
                    })
            });
        let Some(b) = branch else {
            return;
        };
        let mut out = BbNode {
            status: node.status.clone(),
            active: node.active.iter().copied().filter(|&n| n != b).collect(),
            lambda: node.lambda.clone(),
            theta: CHILD_THETA,
            parent_lb: lb,
        };
        out.status[b] = OUT;
        node.status[b] = IN;
        node.parent_lb = lb;
        node.theta = CHILD_THETA;
        stack.push(out);
        stack.push(node);
    }

    /// Reduced-cost fixing: drops free nodes whose inclusion alone lifts the
    /// bound past the incumbent.
    fn fix_out(&mut self, node: &mut BbNode) {
        let mut kept = Vec::with_capacity(node.active.len());
        for &n in &node.active {
            if node.status[n] == FREE && self.prunes(self.lag.bound_if_in(n)) {
                node.status[n] = OUT;
            } else {
                kept.push(n);
            }
        }
        node.active = kept;
    }

    /// Without backorders: whether the forced-in nodes plus the best free
    /// ones could still cover every line.
    fn coverable(&self, node: &BbNode) -> bool {
        let m = self.m;
        let n_in = node
            .active
            .iter()
            .filter(|&&n| node.status[n] == IN)
            .count();
        let slots = m.k.saturating_sub(n_in);
        let mut free_units = Vec::new();
        for line in 0..m.l {
            let mut have = 0u64;
            free_units.clear();
            for &n in &node.active {
                let i = m.at(n, line);
                let u = u64::from((m.cap1[i] + m.cap2[i]).min(m.cap[n]));
                if node.status[n] == IN {
                    have += u;
                } else if u > 0 {
                    free_units.push(u);
                }
            }
            if free_units.len() > slots {
                free_units.sort_unstable_by(|a, b| b.cmp(a));
                free_units.truncate(slots);
            }
            have += free_units.iter().sum::<u64>();
            if have < u64::from(m.qty[line]) {
                return false;
            }
        }
        true
    }
}

/// Sum over lines of the lesser of two nodes' floors, in four independent
/// accumulators so the loop vectorises (the floors are whole numbers, so
/// the order of the additions does not change the sum).
fn floor_sum(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let (a4, a_rest) = a.as_chunks::<4>();
    let (b4, b_rest) = b.as_chunks::<4>();
    for (x, y) in a4.iter().zip(b4) {
        for j in 0..4 {
            acc[j] += x[j].min(y[j]);
        }
    }
    let tail: f64 = a_rest.iter().zip(b_rest).map(|(x, y)| x.min(*y)).sum();
    acc.iter().sum::<f64>() + tail
}
