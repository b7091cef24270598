//! Allocation benchmark fixtures: problems shaped like the demo network's
//! orders, and the adversarial random family.
//!
//! A demo problem: a random destination region, lines drawn from SKUs the
//! demo stock holds, candidates = the nodes holding at least one line (not
//! blocked to the region and with a service reaching its zone), the
//! `nodes` nearest of them. Each candidate ships with its cheapest service
//! (package + per-kg rate for the order's weight), transport per unit is the
//! service's per-kg rate times the unit weight, lateness grows with the zone,
//! remaining capacity is a random share of the daily capacity. The demo
//! network has 70 nodes, so `nodes` above that gives every eligible node.

use std::collections::BTreeMap;

use allot_engine::allocation::problem::{Candidate, Problem, ProblemLine};
use allot_engine::network::{
    DEMO_SEED, Network, NodeId, ServiceId, SkuId, demo_stock, distance_km,
};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Penalties as in the engine's defaults (cents).
const SPLIT_PENALTY: i64 = 250;
const BACKORDER_PENALTY: i64 = 4_000;
const PROTECT_PENALTY: i64 = 600;

/// The demo network with its stock, indexed for problem building.
#[derive(Debug)]
pub struct DemoWorld {
    /// The demo network.
    pub network: Network,
    /// (node, sku) -> (units free to ship, units protected).
    stock: BTreeMap<(u32, u32), (u32, u32)>,
    /// SKUs with stock somewhere.
    stocked_skus: Vec<u32>,
}

impl DemoWorld {
    /// Builds the demo world for [`DEMO_SEED`].
    pub fn new() -> DemoWorld {
        let network = Network::demo(DEMO_SEED);
        let mut stock = BTreeMap::new();
        for row in demo_stock(&network, DEMO_SEED) {
            let available = (row.on_hand - row.reserved).max(0);
            let protected = row.protected.clamp(0, available);
            let free = available - protected;
            if available > 0 {
                stock.insert((row.node.0, row.sku.0), (free as u32, protected as u32));
            }
        }
        let mut stocked_skus: Vec<u32> = stock.keys().map(|&(_, s)| s).collect();
        stocked_skus.sort_unstable();
        stocked_skus.dedup();
        DemoWorld {
            network,
            stock,
            stocked_skus,
        }
    }

    /// One demo-shaped problem with `lines` lines over at most `nodes`
    /// candidates, from `seed`.
    pub fn problem(&self, seed: u64, lines: usize, nodes: usize) -> Problem {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let net = &self.network;
        let region = rng.random_range(0..net.regions().len());
        let dest = net.regions()[region].centroid;
        let skus: Vec<u32> = self
            .stocked_skus
            .choose_multiple(&mut rng, lines)
            .copied()
            .collect();
        let order_lines: Vec<ProblemLine> = skus
            .iter()
            .map(|&s| ProblemLine {
                sku: SkuId(s),
                quantity: if rng.random_bool(0.7) {
                    1
                } else {
                    rng.random_range(2..=4)
                },
                unit_weight_grams: net.sku(SkuId(s)).weight_grams,
            })
            .collect();
        let order_kg: f64 = order_lines
            .iter()
            .map(|l| f64::from(l.quantity * l.unit_weight_grams) / 1000.0)
            .sum();
        // Eligible nodes, nearest first.
        let mut eligible: Vec<(f64, u32, ServiceId, u8, i64, i64)> = Vec::new();
        for id in net.node_ids() {
            if net.is_blocked(id, allot_engine::network::RegionId(region as u32)) {
                continue;
            }
            if !skus.iter().any(|&s| self.stock.contains_key(&(id.0, s))) {
                continue;
            }
            let node = net.node(id);
            let km = distance_km(node.location, dest);
            let Some(zone) = net.zone_for_km(km) else {
                continue;
            };
            let best = node
                .services
                .iter()
                .filter(|&&s| net.service(s).max_distance_km.is_none_or(|d| km <= d))
                .filter_map(|&s| {
                    net.rate(s, zone)
                        .map(|r| (s, r.package_cost_minor, r.per_kg_cost_minor))
                })
                .min_by_key(|&(s, pkg, per_kg)| {
                    (pkg + (per_kg as f64 * order_kg).round() as i64, s.0)
                });
            if let Some((s, pkg, per_kg)) = best {
                eligible.push((km, id.0, s, zone, pkg, per_kg));
            }
        }
        eligible.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        eligible.truncate(nodes);
        let candidates: Vec<Candidate> = eligible
            .iter()
            .map(|&(_, id, s, zone, pkg, _)| {
                let node = net.node(NodeId(id));
                Candidate {
                    node: NodeId(id),
                    service: s,
                    zone,
                    package_cost: pkg,
                    handling_per_unit: node.handling_cost_minor,
                    lateness_per_unit: i64::from(zone) * rng.random_range(5..25),
                    capacity: (f64::from(node.daily_capacity_units) * rng.random_range(0.0..1.0))
                        as u32,
                }
            })
            .collect();
        let n = candidates.len();
        let mut transport = vec![0; lines * n];
        let mut free = vec![0; lines * n];
        let mut protected = vec![0; lines * n];
        for (l, line) in order_lines.iter().enumerate() {
            for (c, e) in eligible.iter().enumerate() {
                let i = l * n + c;
                transport[i] =
                    (e.5 as f64 * f64::from(line.unit_weight_grams) / 1000.0).round() as i64;
                if let Some(&(f, p)) = self.stock.get(&(e.1, line.sku.0)) {
                    free[i] = f.min(line.quantity);
                    protected[i] = p.min(line.quantity);
                }
            }
        }
        let ship_complete = rng.random_bool(0.1);
        Problem {
            lines: order_lines,
            candidates,
            transport_per_unit: transport,
            free_stock: free,
            protected_stock: protected,
            protect_penalty: vec![PROTECT_PENALTY; lines * n],
            split_penalty: SPLIT_PENALTY,
            backorder_penalty: BACKORDER_PENALTY,
            allow_backorder: !ship_complete,
            max_nodes: ship_complete.then_some(1),
        }
    }
}

impl DemoWorld {
    /// Every (SKU, node) pool of the demo stock: units free to ship and
    /// protected.
    pub fn pools(&self) -> impl Iterator<Item = (SkuId, NodeId, u32, u32)> + '_ {
        self.stock
            .iter()
            .map(|(&(node, sku), &(free, protected))| (SkuId(sku), NodeId(node), free, protected))
    }
}

impl Default for DemoWorld {
    fn default() -> Self {
        DemoWorld::new()
    }
}

/// The adversarial random family: the engine's seeded test generator.
pub fn random_problem(seed: u64, lines: usize, nodes: usize) -> Problem {
    allot_engine::allocation::testgen::random_problem(seed, lines, nodes)
}
