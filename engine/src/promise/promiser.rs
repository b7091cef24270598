//! [`Promiser`]: plans each service level through allocation's candidate
//! logic and solver, predicts the windows, and caches what repeats.
//!
//! - `key`: the cache key and the digest of the state a plan rests on.
//! - `plan`: planning every level and predicting its shipments.
//! - `options`: turning a plan into the options of one request.

mod key;
mod options;
mod plan;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use moka::sync::Cache;

use super::quote::{PromiseOutcome, PromiseRead};
use super::request::PromiseRequest;
use crate::allocation::error::AllocationError;
use crate::allocation::params::CostParams;
use crate::allocation::protection::ProtectionPricer;
use crate::network::SkuId;
use crate::reservation::ReservationBook;
use crate::transit::TransitPredictor;

pub use key::PROMISE_BUCKET_SECS;

use key::{PromiseKey, state_digest};
use options::finish;
use plan::{Planned, rows_of};

/// Size and lifetime of the promise cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PromiseCacheConfig {
    /// Carts (x destination x levels x bucket x stock) kept; 0 disables the
    /// cache.
    pub entries: u64,
    /// How long an entry lives at most.
    pub ttl: Duration,
}

impl Default for PromiseCacheConfig {
    /// 20,000 entries, 15 minutes.
    fn default() -> Self {
        PromiseCacheConfig {
            entries: 20_000,
            ttl: Duration::from_secs(PROMISE_BUCKET_SECS),
        }
    }
}

/// Cache counters since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PromiseStats {
    /// Promises answered from the cache.
    pub hits: u64,
    /// Promises planned afresh.
    pub misses: u64,
}

/// Quotes delivery promises against the live stock and reservation book.
pub struct Promiser {
    book: Arc<ReservationBook>,
    params: CostParams,
    transit: Option<Arc<dyn TransitPredictor>>,
    protection: Option<Arc<dyn ProtectionPricer>>,
    cache: Option<Cache<PromiseKey, Arc<Planned>>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl std::fmt::Debug for Promiser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Promiser")
            .field("transit", &self.transit.as_ref().map(|t| t.model().version))
            .field("stats", &self.stats())
            .finish()
    }
}

impl Promiser {
    /// A promiser over `book` (and its stock) with allocation's cost
    /// parameters, windows from `transit` (nominal when `None`).
    pub fn new(
        book: Arc<ReservationBook>,
        params: CostParams,
        transit: Option<Arc<dyn TransitPredictor>>,
        cache: PromiseCacheConfig,
    ) -> Promiser {
        Promiser {
            book,
            params,
            transit,
            protection: None,
            cache: (cache.entries > 0).then(|| {
                // LRU: a new bucket's carts must displace old buckets'.
                Cache::builder()
                    .eviction_policy(moka::policy::EvictionPolicy::lru())
                    .max_capacity(cache.entries)
                    .time_to_live(cache.ttl)
                    .build()
            }),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The same promiser pricing protected units with `pricer` (when
    /// `Some`) instead of the flat penalty, as allocation prices them.
    pub fn with_protection(mut self, pricer: Option<Arc<dyn ProtectionPricer>>) -> Promiser {
        self.protection = pricer;
        self
    }

    /// Cache counters since start.
    pub fn stats(&self) -> PromiseStats {
        PromiseStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }

    /// The transit model, if any.
    pub fn transit(&self) -> Option<&Arc<dyn TransitPredictor>> {
        self.transit.as_ref()
    }

    /// Quotes `request` by `deadline` (each level's solve gets its share of
    /// the time left). Blocking: run it on a blocking pool. Read-only.
    pub fn promise(
        &self,
        request: &PromiseRequest,
        deadline: Instant,
    ) -> Result<PromiseOutcome, AllocationError> {
        request.validate(self.book.stock().network())?;
        let capacity = self.book.remaining_capacity(request.order_time);
        self.quote(request, capacity, deadline)
    }

    /// [`Promiser::promise`] with the given remaining capacity per node
    /// (indexed by node id) instead of the book's: a recorded promise
    /// re-run over what it read (replay).
    pub fn promise_with_capacity(
        &self,
        request: &PromiseRequest,
        capacity: Vec<u32>,
        deadline: Instant,
    ) -> Result<PromiseOutcome, AllocationError> {
        request.validate(self.book.stock().network())?;
        self.quote(request, capacity, deadline)
    }

    /// Forgets every cached promise (after the transit model changed: a
    /// cached answer names the model that planned it).
    pub fn clear_cache(&self) {
        if let Some(cache) = &self.cache {
            cache.invalidate_all();
        }
    }

    /// The quote of `request` if the promise cache holds its plans (same
    /// cart, destination, levels, time bucket and stock), else `None`
    /// without planning anything. Tens of microseconds: cheap enough to try
    /// on an async worker before sending a miss to the blocking pool.
    pub fn promise_if_cached(
        &self,
        request: &PromiseRequest,
    ) -> Result<Option<PromiseOutcome>, AllocationError> {
        if self.cache.is_none() {
            return Ok(None);
        }
        request.validate(self.book.stock().network())?;
        let capacity = self.book.remaining_capacity(request.order_time);
        self.quote_with(request, capacity, None)
    }

    fn quote(
        &self,
        request: &PromiseRequest,
        capacity: Vec<u32>,
        deadline: Instant,
    ) -> Result<PromiseOutcome, AllocationError> {
        match self.quote_with(request, capacity, Some(deadline))? {
            Some(outcome) => Ok(outcome),
            None => unreachable!("a quote with a deadline always plans"),
        }
    }

    /// Quotes from the cache, or plans by `deadline`; without a deadline a
    /// cache miss answers `None`.
    fn quote_with(
        &self,
        request: &PromiseRequest,
        capacity: Vec<u32>,
        deadline: Option<Instant>,
    ) -> Result<Option<PromiseOutcome>, AllocationError> {
        let stock = self.book.stock();
        let network = stock.network();
        let now = request.order_time;
        let skus: Vec<SkuId> = request.lines.iter().map(|l| l.sku).collect();
        // Before any level is read (see `StockStore::sku_generation`).
        let digest = state_digest(stock, &skus, &capacity);
        let key = PromiseKey::new(request, digest);
        let mut fresh_rows = None;
        let cached = self.cache.as_ref().and_then(|c| c.get(&key));
        let from_cache = cached.is_some();
        let planned = match cached {
            Some(p) => {
                self.hits.fetch_add(1, Ordering::Relaxed);
                p
            }
            None => {
                let Some(deadline) = deadline else {
                    return Ok(None);
                };
                self.misses.fetch_add(1, Ordering::Relaxed);
                // One read of the stock for every level's plan and the rows
                // recorded.
                let view = stock.order_view(&skus);
                let (planned, cacheable) =
                    self.plan(network, &view, request, &key.levels, &capacity, deadline)?;
                fresh_rows = Some(rows_of(&view));
                let planned = Arc::new(planned);
                if let Some(cache) = &self.cache
                    && cacheable
                {
                    cache.insert(key, planned.clone());
                }
                planned
            }
        };
        // A quote from an entry whose first quote is recorded does not need
        // the rows: its record refers to that one.
        let (stock_read, stock_versions) = match fresh_rows {
            Some(rows) => rows,
            None if planned.recorded_by.get().is_some() => Default::default(),
            None => rows_of(&stock.order_view(&skus)),
        };
        // The prices the plans were made with go with the rows.
        let protection = if stock_read.is_empty() {
            Default::default()
        } else {
            planned.protection.clone()
        };
        Ok(Some(finish(
            network,
            request,
            &planned,
            self.transit.as_deref(),
            from_cache,
            PromiseRead {
                stock_read,
                stock_versions,
                capacity,
                decided_at: now,
                stock_digest: digest,
                protection,
                recorded_by: planned.recorded_by.clone(),
            },
        )))
    }
}
