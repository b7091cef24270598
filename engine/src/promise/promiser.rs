//! [`Promiser`]: plans each service level through allocation's candidate
//! logic and solver, predicts the windows, and caches what repeats.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono::NaiveDate;
use chrono_tz::Tz;
use moka::sync::Cache;

use super::quote::{
    DeliveryOption, PromiseOutcome, PromiseRead, ShipFrom, ShipmentQuote, TransitSource,
    UnavailableOption,
};
use super::request::PromiseRequest;
use crate::allocation::candidates::{BuiltProblem, StockRow, build_problem_on, stock_rows};
use crate::allocation::error::AllocationError;
use crate::allocation::explain::exclusion_reasons;
use crate::allocation::lateness::{P_LATE_EARLY_PERMILLE, P_LATE_ON_DAY_PERMILLE, destination_tz};
use crate::allocation::outcome::{Reason, ReasonCode};
use crate::allocation::params::CostParams;
use crate::allocation::pipeline::solve;
use crate::allocation::problem::objective;
use crate::allocation::request::{AllocationOptions, OrderRequest};
use crate::allocation::solution::SolveStatus;
use crate::calendar;
use crate::network::{Network, NodeId, ServiceId, ServiceLevel, SkuId};
use crate::reservation::ReservationBook;
use crate::stock::order_view::OrderStockView;
use crate::stock::{NodeVersion, StockStore};
use crate::transit::{Lane, TransitPredictor, TransitQuantiles};

/// Cached plans are per 15-minute bucket of the order time (the transit
/// model's features are).
pub const PROMISE_BUCKET_SECS: u64 = 900;

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

/// What a cached promise depends on. Line ids are not part of it: plans
/// are kept by line index and the ids come from each request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PromiseKey {
    /// (SKU, quantity, unit weight override) per line.
    lines: Vec<(SkuId, u32, Option<u32>)>,
    /// Destination point, exact bits.
    point: (u64, u64),
    region: Option<u32>,
    levels: Vec<ServiceLevel>,
    bucket: u64,
    /// Digest of the change counters of the cart's SKUs and of every
    /// node's remaining capacity ([`state_digest`]).
    stock: u64,
}

/// One planned level.
#[derive(Debug, Clone)]
struct PlannedLevel {
    level: ServiceLevel,
    /// (node, service, quantiles) per used node, in node order.
    shipments: Vec<(NodeId, ServiceId, Option<TransitQuantiles>)>,
    ship_from: Vec<ShipFrom>,
    cost: i64,
}

#[derive(Debug, Clone)]
enum LevelPlan {
    Planned(PlannedLevel),
    Unavailable(ServiceLevel, Vec<Reason>),
}

/// What is cached per key.
#[derive(Debug)]
struct Planned {
    levels: Vec<LevelPlan>,
    transit: TransitSource,
    model: Option<(String, String)>,
    /// The decision that recorded the read this entry was planned on.
    recorded_by: Arc<OnceLock<String>>,
}

/// Quotes delivery promises against the live stock and reservation book.
pub struct Promiser {
    book: Arc<ReservationBook>,
    params: CostParams,
    transit: Option<Arc<dyn TransitPredictor>>,
    cache: Option<Cache<PromiseKey, Arc<Planned>>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl std::fmt::Debug for Promiser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Promiser")
            .field("transit", &self.transit.as_ref().map(|t| t.model_version()))
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
        let key = PromiseKey {
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
            bucket: unix_secs(now) / PROMISE_BUCKET_SECS,
            stock: digest,
        };
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
                recorded_by: planned.recorded_by.clone(),
            },
        )))
    }

    /// Plans every level and predicts its shipments' transit. The second
    /// value is false when the result must not be cached (a solve ran out of
    /// time, or the transit model failed).
    fn plan(
        &self,
        network: &Network,
        view: &OrderStockView,
        request: &PromiseRequest,
        levels: &[ServiceLevel],
        capacity: &[u32],
        deadline: Instant,
    ) -> Result<(Planned, bool), AllocationError> {
        let now = request.order_time;
        let mut cacheable = true;
        let mut plans = Vec::with_capacity(levels.len());
        for (i, &level) in levels.iter().enumerate() {
            let order = OrderRequest {
                order_id: String::new(),
                lines: request.lines.clone(),
                destination: request.destination,
                service_level: level,
                promised_by: None,
                options: AllocationOptions {
                    allow_backorder: false,
                    ..AllocationOptions::default()
                },
            };
            let built = build_problem_on(network, view, capacity, &order, &self.params, now)?;
            let share =
                deadline.saturating_duration_since(Instant::now()) / (levels.len() - i) as u32;
            if built.problem.candidates.is_empty() {
                plans.push(LevelPlan::Unavailable(
                    level,
                    unavailable_reasons(network, &built),
                ));
                continue;
            }
            let solution = solve(&built.problem, Instant::now() + share);
            cacheable &= solution.status != SolveStatus::TimeLimit;
            let problem = &built.problem;
            match solution.plan {
                Some(plan) if plan.backordered.iter().all(|&b| b == 0) => {
                    let o = objective(problem, &plan);
                    let used = plan.used(problem);
                    let ship_from = (0..problem.lines.len())
                        .flat_map(|l| {
                            let plan = &plan;
                            used.iter().map(move |&n| (l, n)).filter_map(move |(l, n)| {
                                let quantity = plan.shipped(problem, l, n);
                                (quantity > 0).then(|| ShipFrom {
                                    node: problem.candidates[n].node,
                                    line: l,
                                    sku: problem.lines[l].sku,
                                    quantity,
                                })
                            })
                        })
                        .collect();
                    plans.push(LevelPlan::Planned(PlannedLevel {
                        level,
                        shipments: used
                            .iter()
                            .map(|&n| {
                                let c = &problem.candidates[n];
                                (c.node, c.service, None)
                            })
                            .collect(),
                        ship_from,
                        cost: o.package + o.transport + o.handling,
                    }));
                }
                _ => plans.push(LevelPlan::Unavailable(
                    level,
                    unavailable_reasons(network, &built),
                )),
            }
        }
        let (transit, model) = self.predict(network, request, &mut plans);
        cacheable &= !matches!(transit, TransitSource::NominalAfterModelError(_));
        Ok((
            Planned {
                levels: plans,
                transit,
                model,
                recorded_by: Arc::default(),
            },
            cacheable,
        ))
    }

    /// Fills every planned shipment's quantiles in one predictor call.
    fn predict(
        &self,
        network: &Network,
        request: &PromiseRequest,
        plans: &mut [LevelPlan],
    ) -> (TransitSource, Option<(String, String)>) {
        let Some(predictor) = &self.transit else {
            return (TransitSource::Nominal, None);
        };
        let model = Some((
            predictor.model_name().to_string(),
            predictor.model_version().to_string(),
        ));
        let region = request
            .destination
            .region
            .unwrap_or_else(|| network.nearest_region(request.destination.point));
        let lanes: Vec<Lane> = plans
            .iter()
            .filter_map(|p| match p {
                LevelPlan::Planned(p) => Some(p),
                LevelPlan::Unavailable(..) => None,
            })
            .flat_map(|p| p.shipments.iter())
            .map(|&(node, service, _)| Lane {
                node,
                service,
                region,
            })
            .collect();
        if lanes.is_empty() {
            return (TransitSource::Model, model);
        }
        let quantiles = match predictor.predict(&lanes, request.order_time) {
            Ok(q) if q.len() == lanes.len() => q,
            Ok(q) => {
                return (
                    TransitSource::NominalAfterModelError(format!(
                        "{} predictions for {} lanes",
                        q.len(),
                        lanes.len()
                    )),
                    None,
                );
            }
            Err(e) => return (TransitSource::NominalAfterModelError(e.to_string()), None),
        };
        let mut next = quantiles.into_iter();
        for p in plans.iter_mut() {
            if let LevelPlan::Planned(p) = p {
                for s in &mut p.shipments {
                    s.2 = next.next();
                }
            }
        }
        (TransitSource::Model, model)
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
fn state_digest(stock: &StockStore, skus: &[SkuId], capacity: &[u32]) -> u64 {
    let mut h = DefaultHasher::new();
    for &sku in skus {
        (sku, stock.sku_generation(sku)).hash(&mut h);
    }
    capacity.hash(&mut h);
    h.finish()
}

/// The non-zero levels of the view's SKUs at every node (what the plans
/// are built on, for the decision record), and the snapshot version of
/// every node with a row, from the same read.
fn rows_of(view: &OrderStockView) -> (Vec<StockRow>, Vec<NodeVersion>) {
    let rows = stock_rows(view);
    let mut versions: Vec<NodeVersion> = rows.iter().map(|r| view.node_version(r.node)).collect();
    versions.dedup();
    (rows, versions)
}

/// Why a level cannot ship the whole cart: the exclusions of the nodes that
/// hold the cart's SKUs, each reason once.
fn unavailable_reasons(network: &Network, built: &BuiltProblem) -> Vec<Reason> {
    let mut out: Vec<Reason> = Vec::new();
    for l in 0..built.problem.lines.len() {
        for r in exclusion_reasons(network, built, l) {
            if !out
                .iter()
                .any(|o| o.code == r.code && o.message == r.message)
            {
                out.push(r);
            }
        }
    }
    if out.is_empty() {
        out.push(Reason {
            code: ReasonCode::ExcludedNoStock,
            message:
                "the eligible nodes together cannot ship the whole cart today (stock or capacity)"
                    .into(),
            node: None,
            cost_delta: 0,
        });
    }
    out
}

/// Turns the plans into options for this request's order time: ship dates,
/// cutoffs, windows and probabilities are computed per request (cheap), so
/// a cached plan answers exactly as a fresh one would.
fn finish(
    network: &Network,
    request: &PromiseRequest,
    planned: &Planned,
    predictor: Option<&dyn TransitPredictor>,
    from_cache: bool,
    read: PromiseRead,
) -> PromiseOutcome {
    let now = request.order_time;
    let tz = destination_tz(network, &request.destination);
    let predictor = predictor.filter(|_| planned.transit == TransitSource::Model);
    let mut options = Vec::new();
    let mut unavailable = Vec::new();
    for plan in &planned.levels {
        match plan {
            LevelPlan::Planned(p) => match option(network, tz, now, p, predictor, from_cache) {
                Ok(o) => options.push(o),
                Err(reason) => unavailable.push(UnavailableOption {
                    service_level: p.level,
                    reasons: vec![reason],
                }),
            },
            // The reasons are copied only for a caller who asked for them.
            LevelPlan::Unavailable(level, reasons) if request.explain_unavailable => unavailable
                .push(UnavailableOption {
                    service_level: *level,
                    reasons: reasons.clone(),
                }),
            LevelPlan::Unavailable(..) => {}
        }
    }
    if !request.explain_unavailable {
        unavailable.clear();
    }
    PromiseOutcome {
        options,
        unavailable,
        model: planned.model.clone(),
        transit: planned.transit.clone(),
        from_cache,
        read,
    }
}

/// One option, or why its shipments cannot leave (a node that never ships).
fn option(
    network: &Network,
    tz: Tz,
    now: SystemTime,
    plan: &PlannedLevel,
    predictor: Option<&dyn TransitPredictor>,
    from_cache: bool,
) -> Result<DeliveryOption, Reason> {
    let mut shipments = Vec::with_capacity(plan.shipments.len());
    let mut arrivals: Vec<Option<NaiveDate>> = Vec::with_capacity(plan.shipments.len());
    for &(node_id, service_id, q) in &plan.shipments {
        let node = network.node(node_id);
        let service = network.service(service_id);
        let closed = || Reason {
            code: ReasonCode::ExcludedClosed,
            message: format!(
                "node {} does not ship with {} within {} days",
                node.code,
                service.code,
                calendar::MAX_SCAN_DAYS
            ),
            node: Some(node_id),
            cost_delta: 0,
        };
        let ship_date = calendar::ship_date(node, service.pickup_days, now).ok_or_else(closed)?;
        let ship_by = calendar::cutoff_instant(node, now).unwrap_or(now);
        let (earliest, latest, arrival) = match q.filter(|_| predictor.is_some()) {
            Some(q) => (
                calendar::after_days(now, q.q10),
                calendar::after_days(now, q.q90),
                None,
            ),
            None => {
                let day =
                    calendar::nominal_arrival(node, service.pickup_days, service.transit_days, now)
                        .ok_or_else(closed)?;
                let start = calendar::start_of_day(tz, day).unwrap_or(now);
                let end = calendar::end_of_day(tz, day).unwrap_or(now);
                (start, end - Duration::from_secs(1), Some(day))
            }
        };
        arrivals.push(arrival);
        shipments.push(ShipmentQuote {
            node: node_id,
            service: service_id,
            ship_date,
            ship_by,
            quantiles: q.filter(|_| predictor.is_some()),
            earliest,
            latest,
        });
    }
    let slowest = shipments
        .iter()
        .max_by_key(|s| (s.latest, std::cmp::Reverse(s.node)))
        .ok_or_else(|| Reason {
            code: ReasonCode::ExcludedNoStock,
            message: "the plan ships nothing".into(),
            node: None,
            cost_delta: 0,
        })?;
    let earliest = shipments.iter().map(|s| s.earliest).max().unwrap_or(now);
    let latest = slowest.latest;
    let latest_date = calendar::local_date(tz, latest);
    let by = calendar::end_of_day(tz, latest_date).unwrap_or(latest);
    let days = calendar::days_between(now, by).max(0.0);
    let on_time: f64 = shipments
        .iter()
        .zip(&arrivals)
        .map(|(s, arrival)| match (predictor, s.quantiles, arrival) {
            (Some(p), Some(q), _) => {
                let v = p.p_delivered_within(&q, days);
                if v.is_finite() {
                    v.clamp(0.0, 1.0)
                } else {
                    0.0
                }
            }
            (_, _, Some(day)) if *day < latest_date => 1.0 - P_LATE_EARLY_PERMILLE as f64 / 1000.0,
            _ => 1.0 - P_LATE_ON_DAY_PERMILLE as f64 / 1000.0,
        })
        .product();
    Ok(DeliveryOption {
        service_level: plan.level,
        service: slowest.service,
        ship_from: plan.ship_from.clone(),
        ship_by: shipments.iter().map(|s| s.ship_by).min().unwrap_or(now),
        ship_date_local: shipments
            .iter()
            .map(|s| s.ship_date)
            .max()
            .unwrap_or_else(|| calendar::local_date(tz, now)),
        earliest_delivery_date: calendar::local_date(tz, earliest),
        latest_delivery_date: latest_date,
        earliest_delivery: earliest,
        latest_delivery: latest,
        on_time_probability: on_time,
        cost_minor: plan.cost,
        from_cache,
        shipments,
    })
}
