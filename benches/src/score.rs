//! Fixtures for `score-bench`: realistic order events and shipments from the
//! synthetic world, the candidate-node batches for ETA, timing loops and
//! percentiles.

use std::hint::black_box;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use allot_engine::network::{Network, NodeId, RegionId, ServiceId, ServiceLevel, distance_km};
use allot_models::features::{
    ETA_FEATURE_COUNT, EtaCache, EtaFeatures, EtaKey, FRAUD_FEATURE_COUNT, FRAUD_FEATURES,
    FeatureStore, OrderEvent,
};
use allot_models::scoring::{EtaModel, FraudModel, ScoringError};
use allot_training::world::{World, WorldConfig};

/// One shipment the engine predicts a transit time for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ShipmentRef {
    /// Origin node.
    pub node: NodeId,
    /// Carrier service.
    pub service: ServiceId,
    /// Destination region.
    pub region: RegionId,
}

/// One order as the engine sees it, with the shipments its fulfilment uses.
#[derive(Debug, Clone)]
pub struct OrderCase {
    /// The engine's view of the order (features are computed from it).
    pub event: OrderEvent,
    /// The order's parcels (one, or two for a split order).
    pub shipments: Vec<ShipmentRef>,
    /// Customers whose earlier orders came back since the previous order
    /// (observed before this order is scored, as the world's replay does).
    pub returns_before: Vec<u64>,
}

impl OrderCase {
    /// The ETA cache key of shipment `s` of this order.
    pub fn eta_key(&self, s: &ShipmentRef) -> EtaKey {
        EtaKey::new(s.node, s.service, s.region, self.event.time)
    }
}

/// The world's order stream, in time order, with each order's shipments.
#[derive(Debug)]
pub struct OrderStream {
    /// The demo network the world runs over.
    pub network: Network,
    /// Orders that shipped, in time order.
    pub orders: Vec<OrderCase>,
    /// Orders per simulated day, on average.
    pub orders_per_day: f64,
}

impl OrderStream {
    /// Generates the world for `config` and turns it into engine-side order
    /// events (orders that could not ship are skipped).
    pub fn generate(config: WorldConfig) -> OrderStream {
        let days = f64::from(config.days);
        let world = World::generate(config);
        let mut shipments: Vec<Vec<ShipmentRef>> = vec![Vec::new(); world.orders.len()];
        for s in &world.shipments {
            shipments[s.order as usize].push(ShipmentRef {
                node: s.node,
                service: s.service,
                region: s.region,
            });
        }
        let mut returned = vec![false; world.orders.len()];
        let mut next_return = 0;
        let mut orders = Vec::with_capacity(world.orders.len());
        for (o, ships) in world.orders.iter().zip(shipments) {
            let mut returns_before = Vec::new();
            while let Some(r) = world.returns.get(next_return).filter(|r| r.time <= o.time) {
                if !std::mem::replace(&mut returned[r.order as usize], true) {
                    returns_before.push(u64::from(world.orders[r.order as usize].customer));
                }
                next_return += 1;
            }
            if ships.is_empty() {
                continue;
            }
            orders.push(OrderCase {
                event: world.order_event(o),
                shipments: ships,
                returns_before,
            });
        }
        OrderStream {
            orders_per_day: orders.len() as f64 / days,
            network: world.network,
            orders,
        }
    }

    /// ETA features of every shipment of `orders`.
    pub fn eta_rows(&self, orders: &[OrderCase]) -> Vec<[f32; ETA_FEATURE_COUNT]> {
        orders
            .iter()
            .flat_map(|o| {
                o.shipments
                    .iter()
                    .map(move |s| o.eta_key(s).features(&self.network).to_row())
            })
            .collect()
    }

    /// The ETA rows of `n` candidate nodes for `order`: for every node, the
    /// service of the order's level if the node offers it (else its
    /// cheapest-level service), nearest nodes first, to the order's first
    /// shipment's region.
    pub fn candidate_rows(&self, order: &OrderCase, n: usize) -> Vec<[f32; ETA_FEATURE_COUNT]> {
        let net = &self.network;
        let region = order.shipments[0].region;
        let dest = net.region(region).centroid;
        let mut cands: Vec<(f64, NodeId, ServiceId)> = Vec::new();
        for id in net.node_ids() {
            let node = net.node(id);
            let level_of = |s: &ServiceId| net.service(*s).level;
            let service = node
                .services
                .iter()
                .find(|s| level_of(s) == order.event.service)
                .or_else(|| {
                    node.services
                        .iter()
                        .find(|s| level_of(s) == ServiceLevel::Ground)
                })
                .or(node.services.first());
            if let Some(&service) = service {
                cands.push((distance_km(node.location, dest), id, service));
            }
        }
        cands.sort_by(|a, b| a.0.total_cmp(&b.0));
        cands
            .iter()
            .cycle()
            .take(n)
            .map(|&(_, node, service)| {
                EtaFeatures::compute(net, node, service, region, order.event.time).to_row()
            })
            .collect()
    }
}

/// What scoring one order produced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OrderScore {
    /// The fraud features, in model input order.
    pub features: [f32; FRAUD_FEATURE_COUNT],
    /// P(fraud).
    pub fraud: f32,
    /// The latest q50 transit (days) over the order's shipments.
    pub eta_q50_days: f32,
}

/// One order's scoring as the engine does it: fraud features from the
/// feature store, the fraud score, and each shipment's ETA quantiles through
/// the ETA cache (a miss computes the features and runs the model once).
#[derive(Debug)]
pub struct OrderScorer<'a> {
    /// Rolling per-entity aggregates.
    pub store: &'a FeatureStore,
    /// The fraud classifier.
    pub fraud: &'a FraudModel,
    /// The ETA quantile model.
    pub eta: &'a EtaModel,
    /// Quantiles per (node, service, region, 15-minute bucket).
    pub cache: &'a EtaCache<[f32; 3]>,
    /// The network the shipments run over.
    pub network: &'a Network,
    /// ETA model runs so far (cache misses).
    pub eta_runs: usize,
    /// ETA cache lookups so far.
    pub eta_lookups: usize,
}

impl OrderScorer<'_> {
    /// Scores one order (does not observe it in the store).
    pub fn score(&mut self, case: &OrderCase) -> Result<OrderScore, ScoringError> {
        let features = self.store.fraud_features(&case.event).to_row();
        let fraud = self.fraud.score(&features)?;
        let mut latest = 0f32;
        for s in &case.shipments {
            let key = case.eta_key(s);
            let mut failed = None;
            let (eta, network, runs) = (self.eta, self.network, &mut self.eta_runs);
            let q = self.cache.get_or_insert_with(key, || {
                *runs += 1;
                eta.quantiles(&key.features(network).to_row())
                    .unwrap_or_else(|e| {
                        failed = Some(e);
                        [f32::NAN; 3]
                    })
            });
            if let Some(e) = failed {
                return Err(e);
            }
            self.eta_lookups += 1;
            latest = latest.max(q[1]);
        }
        Ok(OrderScore {
            features,
            fraud,
            eta_q50_days: latest,
        })
    }
}

/// Writes fraud feature rows as CSV with a header of the feature names (the
/// rows the Python baseline times).
pub fn write_rows(path: &Path, rows: &[[f32; FRAUD_FEATURE_COUNT]]) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(out, "{}", FRAUD_FEATURES.join(","))?;
    for row in rows {
        let cells: Vec<String> = row.iter().map(|v| format!("{v:?}")).collect();
        writeln!(out, "{}", cells.join(","))?;
    }
    out.flush()
}

/// Runs `f(i)` for `warmup` untimed calls, then `iters` timed calls, and
/// returns the per-call latencies in nanoseconds.
pub fn time_calls<T>(warmup: usize, iters: usize, mut f: impl FnMut(usize) -> T) -> Vec<u64> {
    for i in 0..warmup {
        black_box(f(i));
    }
    let mut samples = Vec::with_capacity(iters);
    for i in 0..iters {
        let t = Instant::now();
        black_box(f(i));
        samples.push(t.elapsed().as_nanos() as u64);
    }
    samples
}

/// Percentiles of a set of latency samples (nanoseconds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Samples.
    pub n: usize,
    /// Median, microseconds.
    pub p50_us: f64,
    /// 90th percentile, microseconds.
    pub p90_us: f64,
    /// 99th percentile, microseconds.
    pub p99_us: f64,
    /// 99.9th percentile, microseconds.
    pub p999_us: f64,
    /// Mean, microseconds.
    pub mean_us: f64,
}

impl Summary {
    /// Sorts `samples` and reads nearest-rank percentiles off them.
    pub fn of(samples: &mut [u64]) -> Summary {
        samples.sort_unstable();
        let n = samples.len();
        let at = |q: f64| {
            if n == 0 {
                return 0.0;
            }
            let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
            samples[rank - 1] as f64 / 1e3
        };
        Summary {
            n,
            p50_us: at(0.50),
            p90_us: at(0.90),
            p99_us: at(0.99),
            p999_us: at(0.999),
            mean_us: samples.iter().sum::<u64>() as f64 / n.max(1) as f64 / 1e3,
        }
    }

    /// One human-readable line.
    pub fn line(&self, name: &str) -> String {
        format!(
            "{name:<34} n={:<7} p50 {:>8.2} us  p90 {:>8.2} us  p99 {:>8.2} us  p99.9 {:>8.2} us  mean {:>8.2} us",
            self.n, self.p50_us, self.p90_us, self.p99_us, self.p999_us, self.mean_us
        )
    }
}

/// Rounds to two decimals for the JSON line.
pub fn r2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut s: Vec<u64> = (1..=100).map(|v| v * 1_000).collect();
        let m = Summary::of(&mut s);
        assert_eq!(m.p50_us, 50.0);
        assert_eq!(m.p99_us, 99.0);
        assert_eq!(m.p999_us, 100.0);
    }
}
