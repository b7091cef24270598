//! The promise cache's key: what a cached plan depends on (cart,
//! destination, levels, time bucket, and a digest of the stock and
//! capacity it was planned on).

use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::network::{ServiceLevel, SkuId};
use crate::promise::request::PromiseRequest;
use crate::stock::StockStore;

/// Cached plans are per 15-minute bucket of the order time (the transit
/// model's features are).
pub const PROMISE_BUCKET_SECS: u64 = 900;

/// What a cached promise depends on. Line ids are not part of it: plans
/// are kept by line index and the ids come from each request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct PromiseKey {
    /// (SKU, quantity, unit weight override) per line.
    lines: Vec<(SkuId, u32, Option<u32>)>,
    /// Destination point, exact bits.
    point: (u64, u64),
    region: Option<u32>,
    /// The service levels asked for, in answer order.
    pub(super) levels: Vec<ServiceLevel>,
    bucket: u64,
    /// Digest of the change counters of the cart's SKUs and of every
    /// node's remaining capacity ([`state_digest`]).
    stock: u64,
}

impl PromiseKey {
    /// The key of `request` over the state whose digest is `stock`
    /// ([`state_digest`]).
    pub(super) fn new(request: &PromiseRequest, stock: u64) -> PromiseKey {
        PromiseKey {
            lines: request
                .lines
                .iter()
                .map(|l| (l.sku, l.quantity, l.weight_grams))
                .collect(),
            point: (
                request.destination.point.lat.to_bits(),
                request.destination.point.lon.to_bits(),
            ),
            region: request.destination.region.map(|r| r.0),
            levels: request.levels(),
            bucket: unix_secs(request.order_time) / PROMISE_BUCKET_SECS,
            stock,
        }
    }
}

/// Unix seconds of `t` (0 before 1970).
fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Digest of what a plan for `skus` depends on: the change counter of each
/// SKU (any change to its level at any node, holds included, moves it) and
/// every node's remaining capacity. Three atomic loads for a 3-line cart
/// instead of a read of every node.
pub(super) fn state_digest(stock: &StockStore, skus: &[SkuId], capacity: &[u32]) -> u64 {
    let mut h = DefaultHasher::new();
    for &sku in skus {
        (sku, stock.sku_generation(sku)).hash(&mut h);
    }
    capacity.hash(&mut h);
    h.finish()
}
