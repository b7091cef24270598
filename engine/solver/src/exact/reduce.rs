//! The solver's internal model: the candidates that can matter, node-major
//! arrays, and safe (optimality-preserving) reduction of the candidate set.
//!
//! Reductions, each keeping at least one optimal plan reachable:
//! - a candidate with no stock for any line, or no capacity, never ships;
//! - per (line, node) the two stock tiers are capped so that together they
//!   never exceed the line quantity (the dearer tier is the one cut);
//! - capacity is capped at what the node could ship at all;
//! - dominance: node `a` replaces node `b` when `a` holds the full quantity of
//!   every line `b` stocks in its cheaper tier, `a`'s capacity never binds,
//!   and `a` is no dearer in fixed cost and in every such line's unit cost
//!   (moving all of `b`'s units to `a` never costs more and never adds a
//!   node). Equal nodes keep the lower index.

use crate::problem::Problem;

use super::TierPrices;

/// The allocation problem as the exact solver sees it.
#[derive(Debug, Clone)]
pub(crate) struct Model {
    /// Number of lines.
    pub l: usize,
    /// Quantity per line.
    pub qty: Vec<u32>,
    /// Kept node -> candidate index in the problem.
    pub orig: Vec<usize>,
    /// Fixed cost of using a node: package cost + split penalty.
    pub fixed: Vec<i64>,
    /// Effective capacity per node.
    pub cap: Vec<u32>,
    /// Unit cost of the cheap tier, node-major `n * l + line`.
    pub cost1: Vec<i64>,
    /// Units in the cheap tier.
    pub cap1: Vec<u32>,
    /// Unit cost of the dear tier.
    pub cost2: Vec<i64>,
    /// Units in the dear tier.
    pub cap2: Vec<u32>,
    /// Whether the cheap tier is the free one (protect penalty >= 0).
    pub free_first: bool,
    /// Backorder penalty per unit, when backorders are allowed.
    pub backorder: Option<i64>,
    /// Split penalty (added to `fixed`; subtracted once when any node ships).
    pub split: i64,
    /// At most this many nodes may ship.
    pub k: usize,
    /// The (node, line) pairs the Lagrangian bound can ever take a unit
    /// from, node by node: `pairs[pair_start[n]..pair_start[n + 1]]` are
    /// node `n`'s. A pair is left out when it holds nothing, or when both
    /// its tiers cost at least the backorder penalty (the bound keeps every
    /// multiplier at or below it, so such a unit never has a negative
    /// reduced cost). Sparse stock and dear lanes leave many pairs out.
    pub pairs: Vec<Pair>,
    /// Offsets of each node's pairs in `pairs`; `n() + 1` entries.
    pub pair_start: Vec<usize>,
    /// Whether the node's capacity can never bind (it could ship all it
    /// holds of the order).
    pub roomy: Vec<bool>,
}

/// One (node, line) pair as the Lagrangian bound reads it: both tiers'
/// unit costs and units as floats (a tier the bound can never use has no
/// units).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pair {
    /// The line.
    pub line: u32,
    /// Unit cost of the cheap tier.
    pub cost1: f64,
    /// Units of the cheap tier.
    pub units1: f64,
    /// Unit cost of the dear tier.
    pub cost2: f64,
    /// Units of the dear tier.
    pub units2: f64,
}

impl Model {
    /// Number of kept nodes.
    pub fn n(&self) -> usize {
        self.orig.len()
    }

    /// Index of (node, line) in the node-major arrays.
    #[inline]
    pub fn at(&self, node: usize, line: usize) -> usize {
        node * self.l + line
    }

    /// Builds the model; `dominance` turns the dominance reduction on.
    pub fn build(problem: &Problem, dominance: bool) -> Model {
        Model::build_priced(problem, None, dominance)
    }

    /// Builds the model with `prices` added to each (line, candidate)
    /// pair's unit cost by tier. The prices must keep the free tier no
    /// dearer than the protected one when the protect penalty is >= 0 (and
    /// the reverse when it is negative): the tier cut relies on it.
    pub fn build_priced(problem: &Problem, prices: Option<&TierPrices>, dominance: bool) -> Model {
        let l = problem.lines.len();
        let free_first = problem.protect_penalty.iter().all(|&pp| pp >= 0);
        let qty: Vec<u32> = problem.lines.iter().map(|x| x.quantity).collect();
        let mut m = Model {
            l,
            qty,
            orig: Vec::new(),
            fixed: Vec::new(),
            cap: Vec::new(),
            cost1: Vec::new(),
            cap1: Vec::new(),
            cost2: Vec::new(),
            cap2: Vec::new(),
            free_first,
            backorder: problem.allow_backorder.then_some(problem.backorder_penalty),
            split: problem.split_penalty,
            k: 0,
            pairs: Vec::new(),
            pair_start: Vec::new(),
            roomy: Vec::new(),
        };
        for (n, cand) in problem.candidates.iter().enumerate() {
            let mut reach: u64 = 0;
            let mut c1 = Vec::with_capacity(l);
            let mut u1 = Vec::with_capacity(l);
            let mut c2 = Vec::with_capacity(l);
            let mut u2 = Vec::with_capacity(l);
            for line in 0..l {
                let i = problem.at(line, n);
                let q = m.qty[line];
                let c = problem.unit_cost(line, n);
                let (f, p) = (
                    problem.free_stock[i].min(q),
                    problem.protected_stock[i].min(q),
                );
                let pp = problem.protect_penalty[i];
                let (cf, cp) = match prices {
                    Some(x) => (c + x.free[i], c + pp + x.protected[i]),
                    None => (c, c + pp),
                };
                debug_assert!(if free_first { cf <= cp } else { cp <= cf });
                let (a, ca, b, cb) = if free_first {
                    (f, cf, p, cp)
                } else {
                    (p, cp, f, cf)
                };
                let b = b.min(q - a);
                reach += u64::from(a + b);
                c1.push(ca);
                u1.push(a);
                c2.push(cb);
                u2.push(b);
            }
            let cap = u64::from(cand.capacity).min(reach) as u32;
            if cap == 0 {
                continue;
            }
            m.orig.push(n);
            m.fixed.push(cand.package_cost + problem.split_penalty);
            m.cap.push(cap);
            m.cost1.extend(c1);
            m.cap1.extend(u1);
            m.cost2.extend(c2);
            m.cap2.extend(u2);
        }
        if dominance && l <= 64 {
            m = m.without_dominated(problem);
        }
        m.k = problem
            .max_nodes
            .map_or(usize::MAX, |k| k as usize)
            .min(m.n());
        m.index_pairs();
        m.roomy = (0..m.n())
            .map(|n| u64::from(m.cap[n]) >= m.reach(n))
            .collect();
        m
    }

    /// Fills `pairs` and `pair_start` (see their docs).
    fn index_pairs(&mut self) {
        let below_backorder = |c: i64| self.backorder.is_none_or(|bp| c < bp);
        let mut pairs = Vec::new();
        let mut start = Vec::with_capacity(self.n() + 1);
        for n in 0..self.n() {
            start.push(pairs.len());
            for line in 0..self.l {
                let i = self.at(n, line);
                let take1 = self.cap1[i] > 0 && below_backorder(self.cost1[i]);
                let take2 = self.cap2[i] > 0 && below_backorder(self.cost2[i]);
                if !take1 && !take2 {
                    continue;
                }
                pairs.push(Pair {
                    line: line as u32,
                    cost1: self.cost1[i] as f64,
                    units1: if take1 { f64::from(self.cap1[i]) } else { 0.0 },
                    cost2: self.cost2[i] as f64,
                    units2: if take2 { f64::from(self.cap2[i]) } else { 0.0 },
                });
            }
        }
        start.push(pairs.len());
        self.pairs = pairs;
        self.pair_start = start;
    }

    /// Node `n`'s pairs (see `pairs`).
    #[inline]
    pub fn pairs_of(&self, n: usize) -> &[Pair] {
        &self.pairs[self.pair_start[n]..self.pair_start[n + 1]]
    }

    /// The total units node `n` could ship, ignoring capacity.
    fn reach(&self, n: usize) -> u64 {
        (0..self.l)
            .map(|line| u64::from(self.cap1[self.at(n, line)] + self.cap2[self.at(n, line)]))
            .sum()
    }

    /// Drops every node another kept node dominates.
    fn without_dominated(self, problem: &Problem) -> Model {
        let n = self.n();
        // full[a]: lines a holds in full in its cheap tier; stocked[b]: lines b holds at all.
        let mut full = vec![0u64; n];
        let mut stocked = vec![0u64; n];
        let mut roomy = vec![false; n];
        for a in 0..n {
            for line in 0..self.l {
                let i = self.at(a, line);
                if self.cap1[i] >= self.qty[line] {
                    full[a] |= 1 << line;
                }
                if self.cap1[i] + self.cap2[i] > 0 {
                    stocked[a] |= 1 << line;
                }
            }
            roomy[a] = u64::from(problem.candidates[self.orig[a]].capacity) >= self.reach(a);
        }
        let dominators: Vec<usize> = (0..n).filter(|&a| roomy[a] && full[a] != 0).collect();
        let mut keep = vec![true; n];
        for b in 0..n {
            for &a in &dominators {
                if a == b || !keep[a] || stocked[b] & !full[a] != 0 || self.fixed[a] > self.fixed[b]
                {
                    continue;
                }
                let mut no_dearer = true;
                for line in 0..self.l {
                    if stocked[b] & (1 << line) == 0 {
                        continue;
                    }
                    let (ia, ib) = (self.at(a, line), self.at(b, line));
                    // b's cheapest unit of this line, whichever tier it is in.
                    let b_cheapest = if self.cap1[ib] > 0 {
                        self.cost1[ib]
                    } else {
                        self.cost2[ib]
                    };
                    if self.cost1[ia] > b_cheapest {
                        no_dearer = false;
                        break;
                    }
                }
                // Dominance is transitive, and a dominator must itself still
                // be kept, so of two equal nodes exactly one stays.
                if no_dearer {
                    keep[b] = false;
                    break;
                }
            }
        }
        self.retain(&keep)
    }

    /// Keeps the nodes marked in `keep`.
    fn retain(self, keep: &[bool]) -> Model {
        let l = self.l;
        let mut m = Model {
            orig: Vec::new(),
            fixed: Vec::new(),
            cap: Vec::new(),
            cost1: Vec::new(),
            cap1: Vec::new(),
            cost2: Vec::new(),
            cap2: Vec::new(),
            ..self.clone()
        };
        for (n, _) in keep.iter().enumerate().filter(|(_, k)| **k) {
            m.orig.push(self.orig[n]);
            m.fixed.push(self.fixed[n]);
            m.cap.push(self.cap[n]);
            let r = n * l..(n + 1) * l;
            m.cost1.extend_from_slice(&self.cost1[r.clone()]);
            m.cap1.extend_from_slice(&self.cap1[r.clone()]);
            m.cost2.extend_from_slice(&self.cost2[r.clone()]);
            m.cap2.extend_from_slice(&self.cap2[r]);
        }
        m
    }
}
