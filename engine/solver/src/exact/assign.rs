//! The optimal assignment of units for a fixed node set: a transportation
//! problem. Per line, the cheapest stock in the set is filled first (optimal
//! when no node's capacity binds); when capacity binds, a min-cost flow
//! started from those units (successive shortest paths from the nodes over
//! capacity) solves it exactly.

use super::reduce::Model;
use crate::problem::{Plan, Problem};

/// One stock arc of a line: unit cost, set position, tier, units.
#[derive(Debug, Clone, Copy)]
struct Arc {
    cost: i64,
    pos: u32,
    tier: u8,
    units: u32,
}

/// A residual-graph edge of the min-cost flow.
#[derive(Debug, Clone, Copy)]
struct Edge {
    to: usize,
    cap: i64,
    cost: i64,
    next: usize,
}

/// Reusable buffers for assignments; holds the last assignment's units.
#[derive(Debug, Default)]
pub(crate) struct Assigner {
    arcs: Vec<Arc>,
    /// Units per (set position, line) from the cheap tier.
    pub ship1: Vec<u32>,
    /// Units per (set position, line) from the dear tier.
    pub ship2: Vec<u32>,
    /// Backordered units per line.
    pub back: Vec<u32>,
    load: Vec<u32>,
    edges: Vec<Edge>,
    head: Vec<usize>,
    dist: Vec<i64>,
    prev: Vec<usize>,
    queued: Vec<bool>,
    queue: std::collections::VecDeque<usize>,
    /// Units over capacity per flow vertex.
    excess: Vec<i64>,
    /// The stock edges of each (line, set position), cheap tier then dear
    /// tier (`NIL` when the tier holds nothing).
    stock_edges: Vec<usize>,
    /// Assignments computed (for statistics).
    pub evaluations: u64,
}

const NIL: usize = usize::MAX;

impl Assigner {
    /// The least total cost (objective of the plan, with fixed costs of the
    /// nodes that actually ship) of shipping from exactly the nodes of `set`
    /// (model indices) or a subset of it; `None` when the set cannot cover
    /// the order and backorders are not allowed. The units stay in `self`.
    pub fn solve(&mut self, m: &Model, set: &[usize]) -> Option<i64> {
        self.solve_below(m, set, i64::MAX)
    }

    /// As [`Assigner::solve`], but gives up (`None`) without the min-cost
    /// flow when capacity binds and no plan shipping from every node of
    /// `set` can cost less than `limit`: the fixed costs of the whole set
    /// plus the cheapest-first units (capacity ignored) already reach it.
    /// Plans from a strict subset are left to that subset's own
    /// evaluation.
    pub fn solve_below(&mut self, m: &Model, set: &[usize], limit: i64) -> Option<i64> {
        self.evaluations += 1;
        let l = m.l;
        let s = set.len();
        self.ship1.clear();
        self.ship1.resize(s * l, 0);
        self.ship2.clear();
        self.ship2.resize(s * l, 0);
        self.back.clear();
        self.back.resize(l, 0);
        self.load.clear();
        self.load.resize(s, 0);
        for line in 0..l {
            self.arcs.clear();
            for (pos, &n) in set.iter().enumerate() {
                let i = m.at(n, line);
                if m.cap1[i] > 0 {
                    self.arcs.push(Arc {
                        cost: m.cost1[i],
                        pos: pos as u32,
                        tier: 0,
                        units: m.cap1[i],
                    });
                }
                if m.cap2[i] > 0 {
                    self.arcs.push(Arc {
                        cost: m.cost2[i],
                        pos: pos as u32,
                        tier: 1,
                        units: m.cap2[i],
                    });
                }
            }
            insertion_sort(&mut self.arcs);
            let mut rest = m.qty[line];
            for a in &self.arcs {
                if rest == 0 || m.backorder.is_some_and(|bp| a.cost >= bp) {
                    break;
                }
                let take = rest.min(a.units);
                let j = a.pos as usize * l + line;
                if a.tier == 0 {
                    self.ship1[j] += take;
                } else {
                    self.ship2[j] += take;
                }
                self.load[a.pos as usize] += take;
                rest -= take;
            }
            if rest > 0 {
                m.backorder?;
                self.back[line] = rest;
            }
        }
        let binds = set
            .iter()
            .enumerate()
            .any(|(pos, &n)| self.load[pos] > m.cap[n]);
        if binds && limit != i64::MAX && self.floor(m, set) >= limit {
            return None;
        }
        if binds && !self.flow(m, set) {
            return None;
        }
        Some(self.cost(m, set))
    }

    /// A lower bound on every plan that ships from each node of `set`:
    /// the units held in `self` (cheapest first, capacity ignored) priced
    /// as if every node of the set shipped.
    fn floor(&self, m: &Model, set: &[usize]) -> i64 {
        let l = m.l;
        let mut total = -m.split;
        for (pos, &n) in set.iter().enumerate() {
            total += m.fixed[n];
            for line in 0..l {
                let (j, i) = (pos * l + line, m.at(n, line));
                total +=
                    m.cost1[i] * i64::from(self.ship1[j]) + m.cost2[i] * i64::from(self.ship2[j]);
            }
        }
        if let Some(bp) = m.backorder {
            total += bp * self.back.iter().map(|&b| i64::from(b)).sum::<i64>();
        }
        total
    }

    /// The objective of the units held in `self` for `set`.
    fn cost(&self, m: &Model, set: &[usize]) -> i64 {
        let l = m.l;
        let mut total = 0i64;
        let mut used = false;
        for (pos, &n) in set.iter().enumerate() {
            let mut units = 0u32;
            for line in 0..l {
                let (j, i) = (pos * l + line, m.at(n, line));
                units += self.ship1[j] + self.ship2[j];
                total +=
                    m.cost1[i] * i64::from(self.ship1[j]) + m.cost2[i] * i64::from(self.ship2[j]);
            }
            if units > 0 {
                used = true;
                total += m.fixed[n];
            }
        }
        if used {
            total -= m.split;
        }
        if let Some(bp) = m.backorder {
            total += bp * self.back.iter().map(|&b| i64::from(b)).sum::<i64>();
        }
        total
    }

    fn add_edge(&mut self, from: usize, to: usize, cap: i64, cost: i64) {
        let e = self.edges.len();
        self.edges.push(Edge {
            to,
            cap,
            cost,
            next: self.head[from],
        });
        self.head[from] = e;
        self.edges.push(Edge {
            to: from,
            cap: 0,
            cost: -cost,
            next: self.head[to],
        });
        self.head[to] = e + 1;
    }

    /// Min-cost flow over lines -> (node, tier) -> node capacity -> sink,
    /// with backorder edges line -> sink. False when demand cannot be met.
    ///
    /// It starts from the per-line cheapest-first units held in `self`
    /// (optimal while no capacity binds), with each node's capacity edge
    /// carrying at most its capacity: no residual cycle is negative (each
    /// line took its arcs cheapest first), so only the units over capacity
    /// need rerouting, by shortest paths from the overloaded nodes to the
    /// sink. Few augmentations instead of one per path of the whole
    /// demand.
    fn flow(&mut self, m: &Model, set: &[usize]) -> bool {
        let l = m.l;
        let s = set.len();
        // Vertex 0 (the source) has no edges: every line's demand is
        // already placed, and rerouting never changes it.
        let sink = l + s + 1;
        let nodes = l + s + 2;
        self.edges.clear();
        self.head.clear();
        self.head.resize(nodes, NIL);
        self.stock_edges.clear();
        for line in 0..l {
            for (pos, &n) in set.iter().enumerate() {
                let i = m.at(n, line);
                let j = pos * l + line;
                for (units, cost, shipped) in [
                    (m.cap1[i], m.cost1[i], self.ship1[j]),
                    (m.cap2[i], m.cost2[i], self.ship2[j]),
                ] {
                    if units == 0 {
                        self.stock_edges.push(NIL);
                        continue;
                    }
                    self.stock_edges.push(self.edges.len());
                    self.add_edge(1 + line, 1 + l + pos, i64::from(units), cost);
                    self.carry(self.edges.len() - 2, i64::from(shipped));
                }
            }
            if let Some(bp) = m.backorder {
                self.add_edge(1 + line, sink, i64::from(m.qty[line]), bp);
                self.carry(self.edges.len() - 2, i64::from(self.back[line]));
            }
        }
        // Units over each node's capacity: the excess to reroute.
        self.excess.clear();
        self.excess.resize(nodes, 0);
        for (pos, &n) in set.iter().enumerate() {
            let load = i64::from(self.load[pos]);
            let cap = i64::from(m.cap[n]);
            self.add_edge(1 + l + pos, sink, cap, 0);
            self.carry(self.edges.len() - 2, load.min(cap));
            self.excess[1 + l + pos] = (load - cap).max(0);
        }
        while self.excess.iter().any(|&x| x > 0) {
            let Some(from) = self.shortest_path_from_excess(sink, nodes) else {
                return false;
            };
            let mut push = self.excess[from];
            let mut v = sink;
            while v != from {
                let e = self.prev[v];
                push = push.min(self.edges[e].cap);
                v = self.edges[e ^ 1].to;
            }
            let mut v = sink;
            while v != from {
                let e = self.prev[v];
                self.carry(e, push);
                v = self.edges[e ^ 1].to;
            }
            self.excess[from] -= push;
        }
        for line in 0..l {
            for pos in 0..s {
                let e = &self.stock_edges[2 * (line * s + pos)..][..2];
                let carried = |e: usize| {
                    if e == NIL {
                        0
                    } else {
                        self.edges[e ^ 1].cap as u32
                    }
                };
                let j = pos * l + line;
                self.ship1[j] = carried(e[0]);
                self.ship2[j] = carried(e[1]);
            }
            self.back[line] = 0;
        }
        if m.backorder.is_some() {
            for line in 0..l {
                let shipped: u32 = (0..s)
                    .map(|pos| self.ship1[pos * l + line] + self.ship2[pos * l + line])
                    .sum();
                self.back[line] = m.qty[line] - shipped;
            }
        }
        true
    }

    /// Sends `units` along edge `e` (its residual capacity drops, its
    /// reverse's rises).
    fn carry(&mut self, e: usize, units: i64) {
        self.edges[e].cap -= units;
        self.edges[e ^ 1].cap += units;
    }

    /// Shortest paths (SPFA: residual costs may be negative) from every
    /// vertex with excess at once; the excess vertex the path to the sink
    /// starts from, `None` when the sink cannot be reached.
    fn shortest_path_from_excess(&mut self, sink: usize, nodes: usize) -> Option<usize> {
        self.dist.clear();
        self.dist.resize(nodes, i64::MAX);
        self.prev.clear();
        self.prev.resize(nodes, NIL);
        self.queued.clear();
        self.queued.resize(nodes, false);
        self.queue.clear();
        for v in 0..nodes {
            if self.excess[v] > 0 {
                self.dist[v] = 0;
                self.queue.push_back(v);
                self.queued[v] = true;
            }
        }
        while let Some(u) = self.queue.pop_front() {
            self.queued[u] = false;
            let mut e = self.head[u];
            while e != NIL {
                let edge = self.edges[e];
                if edge.cap > 0 && self.dist[u] + edge.cost < self.dist[edge.to] {
                    self.dist[edge.to] = self.dist[u] + edge.cost;
                    self.prev[edge.to] = e;
                    if !self.queued[edge.to] {
                        self.queued[edge.to] = true;
                        self.queue.push_back(edge.to);
                    }
                }
                e = edge.next;
            }
        }
        if self.dist[sink] == i64::MAX {
            return None;
        }
        let mut v = sink;
        while self.prev[v] != NIL {
            v = self.edges[self.prev[v] ^ 1].to;
        }
        Some(v)
    }

    /// The plan of the last assignment (which must be for `set`).
    pub fn plan(&self, m: &Model, problem: &Problem, set: &[usize]) -> Plan {
        let mut plan = Plan::all_backordered(problem);
        for (pos, &n) in set.iter().enumerate() {
            for line in 0..m.l {
                let j = pos * m.l + line;
                let i = problem.at(line, m.orig[n]);
                let (free, protected) = if m.free_first {
                    (self.ship1[j], self.ship2[j])
                } else {
                    (self.ship2[j], self.ship1[j])
                };
                plan.free[i] = free;
                plan.protected[i] = protected;
            }
        }
        plan.backordered.clone_from(&self.back);
        plan
    }
}

/// Sorts arcs by (cost, position, tier); the lists are tiny.
fn insertion_sort(arcs: &mut [Arc]) {
    let key = |a: &Arc| (a.cost, a.pos, a.tier);
    for i in 1..arcs.len() {
        let mut j = i;
        while j > 0 && key(&arcs[j - 1]) > key(&arcs[j]) {
            arcs.swap(j - 1, j);
            j -= 1;
        }
    }
}
