//! A cache for ETA work that repeats: the features of a shipment depend only
//! on (node, service, destination region, 15-minute bucket), so the features,
//! or the model's quantiles computed from them, can be reused across the
//! candidate nodes of many orders.

use std::time::Duration;

use allot_engine::network::{Network, NodeId, RegionId, ServiceId};
use moka::sync::Cache;

use super::eta::{ETA_TIME_BUCKET_SECS, EtaFeatures};

/// What [`EtaFeatures::compute`] depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EtaKey {
    /// Origin node.
    pub node: NodeId,
    /// Carrier service.
    pub service: ServiceId,
    /// Destination region.
    pub region: RegionId,
    /// Unix time divided by [`ETA_TIME_BUCKET_SECS`].
    pub bucket: i64,
}

impl EtaKey {
    /// The key of a shipment released at `order_time` (unix seconds).
    pub fn new(node: NodeId, service: ServiceId, region: RegionId, order_time: i64) -> EtaKey {
        EtaKey {
            node,
            service,
            region,
            bucket: order_time.div_euclid(ETA_TIME_BUCKET_SECS),
        }
    }

    /// The features of this key (exactly those of any order time in the
    /// bucket).
    pub fn features(&self, network: &Network) -> EtaFeatures {
        EtaFeatures::compute(
            network,
            self.node,
            self.service,
            self.region,
            self.bucket * ETA_TIME_BUCKET_SECS,
        )
    }
}

/// A bounded, thread-safe cache from [`EtaKey`] to `V` (features, or the
/// predicted quantiles). Entries live at most `ttl` (a bucket is 15 minutes;
/// an hour by default) and at most `max_entries` are kept (moka TinyLFU).
pub struct EtaCache<V> {
    cache: Cache<EtaKey, V>,
}

impl<V> std::fmt::Debug for EtaCache<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtaCache")
            .field("entries", &self.cache.entry_count())
            .finish()
    }
}

impl<V: Clone + Send + Sync + 'static> EtaCache<V> {
    /// A cache of at most `max_entries`, each kept at most `ttl`.
    pub fn new(max_entries: u64, ttl: Duration) -> EtaCache<V> {
        EtaCache {
            cache: Cache::builder()
                .max_capacity(max_entries)
                .time_to_live(ttl)
                .build(),
        }
    }

    /// The cached value of `key`, computing and storing it on a miss.
    pub fn get_or_insert_with(&self, key: EtaKey, compute: impl FnOnce() -> V) -> V {
        self.cache.get_with(key, compute)
    }

    /// Entries held (approximate).
    pub fn entry_count(&self) -> u64 {
        self.cache.entry_count()
    }
}

impl<V: Clone + Send + Sync + 'static> Default for EtaCache<V> {
    /// 100,000 entries, one hour.
    fn default() -> Self {
        EtaCache::new(100_000, Duration::from_secs(3_600))
    }
}

#[cfg(test)]
mod tests {
    use allot_engine::network::DEMO_SEED;

    use super::*;

    #[test]
    fn features_are_constant_within_a_bucket_and_cached() {
        let net = Network::demo(DEMO_SEED);
        let (node, region) = (NodeId(0), RegionId(3));
        let service = net.node(node).services[0];
        let t = 1_790_000_000 / 900 * 900;
        let a = EtaFeatures::compute(&net, node, service, region, t);
        let b = EtaFeatures::compute(&net, node, service, region, t + 899);
        assert_eq!(a, b);
        assert_ne!(
            a,
            EtaFeatures::compute(&net, node, service, region, t + 900)
        );
        let cache: EtaCache<EtaFeatures> = EtaCache::default();
        let key = EtaKey::new(node, service, region, t + 17);
        assert_eq!(key.features(&net), a);
        let mut computed = 0;
        for _ in 0..3 {
            let f = cache.get_or_insert_with(key, || {
                computed += 1;
                key.features(&net)
            });
            assert_eq!(f, a);
        }
        assert_eq!(computed, 1);
    }
}
