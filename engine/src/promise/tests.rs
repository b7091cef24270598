//! Promises on the demo network and stock.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::*;
use crate::allocation::allocate::Allocator;
use crate::allocation::candidates::tests::{popular, setup};
use crate::allocation::error::AllocationError;
use crate::allocation::outcome::ReasonCode;
use crate::allocation::params::CostParams;
use crate::allocation::request::{Destination, OrderLine, OrderRequest};
use crate::network::{Network, NodeId, RegionId, ServiceLevel, SkuId};
use crate::reservation::{ReservationBook, ReservedUnits};
use crate::stock::StockStore;
use crate::transit::{Lane, TransitError, TransitPredictor, TransitQuantiles};

/// Quantiles from the service's nominal days; P(within d) a step at q90.
struct FixedTransit {
    network: Arc<Network>,
    calls: std::sync::atomic::AtomicUsize,
}

impl TransitPredictor for FixedTransit {
    fn model(&self) -> crate::transit::ModelTag {
        crate::transit::ModelTag {
            name: "fixed".into(),
            version: "fixed-1".into(),
            sha256: String::new(),
        }
    }
    fn predict(
        &self,
        lanes: &[Lane],
        _released: SystemTime,
    ) -> Result<Vec<TransitQuantiles>, TransitError> {
        self.calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(lanes
            .iter()
            .map(|l| {
                let d = f64::from(self.network.service(l.service).transit_days);
                TransitQuantiles::sorted([d + 0.2, d + 0.8, d + 1.6])
            })
            .collect())
    }
    fn p_delivered_within(&self, q: &TransitQuantiles, days: f64) -> f64 {
        if days >= q.q90 { 0.95 } else { 0.5 }
    }
}

struct Fixture {
    network: Arc<Network>,
    book: Arc<ReservationBook>,
    promiser: Promiser,
    transit: Arc<FixedTransit>,
}

fn fixture(with_transit: bool) -> Fixture {
    let (network, store, _) = setup();
    let book = Arc::new(ReservationBook::new(Arc::new(store)));
    let transit = Arc::new(FixedTransit {
        network: network.clone(),
        calls: Default::default(),
    });
    let promiser = Promiser::new(
        book.clone(),
        CostParams::default(),
        with_transit.then(|| transit.clone() as Arc<dyn TransitPredictor>),
        PromiseCacheConfig::default(),
    );
    Fixture {
        network,
        book,
        promiser,
        transit,
    }
}

fn dry(network: &Network, store: &StockStore) -> Vec<SkuId> {
    popular(network, store, |s| {
        !network.sku(s).cold_chain && !network.sku(s).hazmat
    })
}

/// A Wednesday, 2026-11-18 15:00 UTC.
fn wednesday() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_795_014_000)
}

fn cart(network: &Network, skus: &[SkuId], region: RegionId) -> PromiseRequest {
    PromiseRequest {
        lines: skus
            .iter()
            .enumerate()
            .map(|(i, &sku)| OrderLine {
                line_id: format!("l{i}"),
                sku,
                quantity: 1 + i as u32,
                weight_grams: None,
            })
            .collect(),
        destination: Destination {
            point: network.region(region).centroid,
            region: Some(region),
        },
        order_time: wednesday(),
        explain_unavailable: true,
        service_levels: Vec::new(),
    }
}

/// Allocates `request`'s cart at `option`'s level and checks that it ships
/// the same units from the same nodes as the option.
fn allocated_as_promised(
    allocator: &Allocator,
    request: &PromiseRequest,
    option: &DeliveryOption,
) -> crate::allocation::outcome::AllocationOutcome {
    let order = OrderRequest {
        order_id: "o".into(),
        lines: request.lines.clone(),
        destination: request.destination,
        service_level: option.service_level,
        promised_by: None,
        options: Default::default(),
    };
    let a = allocator
        .allocate(&order, None, soon(), request.order_time)
        .unwrap();
    let mut planned: Vec<(usize, NodeId, u32)> = a
        .lines
        .iter()
        .enumerate()
        .flat_map(|(l, line)| {
            line.assignments
                .iter()
                .map(move |x| (l, x.node, x.quantity))
        })
        .collect();
    planned.sort();
    let mut promised: Vec<(usize, NodeId, u32)> = option
        .ship_from
        .iter()
        .map(|s| (s.line, s.node, s.quantity))
        .collect();
    promised.sort();
    assert_eq!(promised, planned, "{:?}", option.service_level);
    a
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(5)
}

#[test]
fn options_ship_the_whole_cart_fastest_first_and_match_allocation() {
    let f = fixture(true);
    let skus = dry(&f.network, f.book.stock());
    let request = cart(&f.network, &skus, RegionId(0));
    let out = f.promiser.promise(&request, soon()).unwrap();
    assert!(!out.options.is_empty());
    assert_eq!(
        out.options.len() + out.unavailable.len(),
        4,
        "every level is an option or unavailable"
    );
    let levels: Vec<_> = out.options.iter().map(|o| o.service_level).collect();
    let mut sorted = levels.clone();
    sorted.sort();
    assert_eq!(levels, sorted, "fastest first");
    let allocator = Allocator::new(f.book.clone(), CostParams::default());
    for o in &out.options {
        for (l, line) in request.lines.iter().enumerate() {
            let shipped: u32 = o
                .ship_from
                .iter()
                .filter(|s| s.line == l)
                .map(|s| s.quantity)
                .sum();
            assert_eq!(
                shipped, line.quantity,
                "whole cart at {:?}",
                o.service_level
            );
        }
        assert!(o.earliest_delivery <= o.latest_delivery);
        assert!(o.earliest_delivery_date <= o.latest_delivery_date);
        assert!((0.0..=1.0).contains(&o.on_time_probability));
        assert!(o.ship_by <= wednesday() + Duration::from_secs(2 * 86_400));
        // The same cart allocated at the same level: same plan, same
        // shipping cost (allocation adds its penalties on top).
        let a = allocated_as_promised(&allocator, &request, o);
        let cost = a.objective.package + a.objective.transport + a.objective.handling;
        assert_eq!(o.cost_minor, cost);
    }
}

#[test]
fn a_repeated_cart_comes_from_cache_and_a_stock_change_invalidates_it() {
    let f = fixture(true);
    let skus = dry(&f.network, f.book.stock());
    let mut request = cart(&f.network, &skus, RegionId(1));
    assert!(
        f.promiser.promise_if_cached(&request).unwrap().is_none(),
        "a miss plans nothing without a deadline"
    );
    assert_eq!(f.promiser.stats().misses, 0);
    let first = f.promiser.promise(&request, soon()).unwrap();
    assert!(!first.from_cache);
    let calls = f.transit.calls.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(calls, 1, "one predictor call for every level's shipments");
    // The rows recorded are the ones the plans were built on.
    let built = crate::allocation::candidates::build_problem(
        &f.network,
        f.book.stock(),
        &f.book.remaining_capacity(request.order_time),
        &OrderRequest {
            order_id: "o".into(),
            lines: request.lines.clone(),
            destination: request.destination,
            service_level: ServiceLevel::Ground,
            promised_by: None,
            options: Default::default(),
        },
        &CostParams::default(),
        request.order_time,
    )
    .unwrap();
    assert!(!first.read.stock_read.is_empty());
    assert_eq!(first.read.stock_read, built.stock_read);
    // A version for every node read, taken in the same read.
    let mut read_nodes: Vec<_> = first.read.stock_read.iter().map(|r| r.node).collect();
    read_nodes.dedup();
    let versioned: Vec<_> = first.read.stock_versions.iter().map(|v| v.node).collect();
    assert_eq!(versioned, read_nodes);
    for v in &first.read.stock_versions {
        let fresh = f.book.stock().freshness(v.node);
        assert_eq!((v.version, v.sequence), (fresh.version, fresh.sequence));
    }
    // Other line ids, a minute later: the same plans, from cache.
    request.lines[0].line_id = "other".into();
    request.order_time += Duration::from_secs(60);
    let second = f.promiser.promise(&request, soon()).unwrap();
    assert!(second.from_cache);
    assert!(second.options.iter().all(|o| o.from_cache));
    assert_eq!(f.promiser.stats().hits, 1);
    let inline = f.promiser.promise_if_cached(&request).unwrap().unwrap();
    assert_eq!(inline.options, second.options);
    for (a, b) in first.options.iter().zip(&second.options) {
        assert_eq!(a.ship_from, b.ship_from);
        assert_eq!(a.cost_minor, b.cost_minor);
        assert_eq!(
            b.latest_delivery,
            a.latest_delivery + Duration::from_secs(60),
            "windows follow the order time"
        );
    }
    // Hold one unit of the first line's SKU where the first option ships it.
    let o = &first.options[0];
    let at = o.ship_from.iter().find(|s| s.line == 0).unwrap();
    f.book
        .hold(
            "other-order",
            "d-1",
            vec![ReservedUnits {
                line_id: "x".into(),
                node: at.node,
                sku: at.sku,
                quantity: 1,
            }],
            Duration::from_secs(600),
            request.order_time,
        )
        .unwrap();
    assert!(f.promiser.promise_if_cached(&request).unwrap().is_none());
    let third = f.promiser.promise(&request, soon()).unwrap();
    assert!(!third.from_cache, "a hold on the cart's stock invalidates");
    assert_ne!(third.read.stock_digest, first.read.stock_digest);
}

#[test]
fn nominal_windows_without_a_transit_model() {
    let f = fixture(false);
    let skus = dry(&f.network, f.book.stock());
    let out = f
        .promiser
        .promise(&cart(&f.network, &skus, RegionId(2)), soon())
        .unwrap();
    assert_eq!(out.transit, TransitSource::Nominal);
    assert!(out.model.is_none());
    for o in &out.options {
        assert!(o.shipments.iter().all(|s| s.quantiles.is_none()));
        assert!(o.on_time_probability > 0.0 && o.on_time_probability < 1.0);
        assert!(o.ship_date_local <= o.latest_delivery_date);
    }
}

#[test]
fn unavailable_levels_say_why_and_errors_name_the_field() {
    let f = fixture(true);
    // A SKU nobody stocks.
    let none = (0..f.network.sku_count() as u32).map(SkuId).find(|&s| {
        f.book
            .stock()
            .sku_levels(s)
            .iter()
            .all(|(_, l)| l.available() == 0)
    });
    if let Some(sku) = none {
        let out = f
            .promiser
            .promise(&cart(&f.network, &[sku], RegionId(0)), soon())
            .unwrap();
        assert!(out.options.is_empty());
        assert_eq!(out.unavailable.len(), 4);
        for u in &out.unavailable {
            assert!(
                u.reasons
                    .iter()
                    .any(|r| r.code == ReasonCode::ExcludedNoStock),
                "{u:?}"
            );
        }
    }
    let skus = dry(&f.network, f.book.stock());
    let mut request = cart(&f.network, &skus, RegionId(0));
    request.explain_unavailable = false;
    request.service_levels = vec![ServiceLevel::Ground, ServiceLevel::Ground];
    let out = f.promiser.promise(&request, soon()).unwrap();
    assert_eq!(out.options.len(), 1);
    assert!(out.unavailable.is_empty());
    request.lines[1].quantity = 0;
    let err = f.promiser.promise(&request, soon()).unwrap_err();
    assert!(
        matches!(&err, AllocationError::InvalidArgument { field, .. } if field == "lines[1].quantity"),
        "{err}"
    );
    request.lines[1].quantity = 1;
    request.lines[1].sku = SkuId(u32::MAX);
    let err = f.promiser.promise(&request, soon()).unwrap_err();
    assert!(
        matches!(&err, AllocationError::NotFound { field, .. } if field == "lines[1].sku"),
        "{err}"
    );
    request.lines.clear();
    assert!(matches!(
        f.promiser.promise(&request, soon()),
        Err(AllocationError::InvalidArgument { .. })
    ));
}

/// Prices every protected unit at `per_unit`.
struct Flat(i64);

impl crate::allocation::protection::ProtectionPricer for Flat {
    fn price(
        &self,
        _: SkuId,
        _: NodeId,
        _: u32,
    ) -> Option<crate::allocation::protection::ProtectionPrice> {
        Some(crate::allocation::protection::ProtectionPrice {
            per_unit: self.0,
            stockout_probability: 0.5,
            expected_demand: 2.0,
            lead_days: 3,
        })
    }
}

#[test]
fn protected_stock_is_priced_as_allocation_prices_it_and_the_prices_are_read() {
    use crate::allocation::protection::ProtectionPricer;
    for per_unit in [0, 5_000_000] {
        let f = fixture(false);
        let pricer = Arc::new(Flat(per_unit)) as Arc<dyn ProtectionPricer>;
        let promiser = Promiser::new(
            f.book.clone(),
            CostParams::default(),
            None,
            PromiseCacheConfig::default(),
        )
        .with_protection(Some(pricer.clone()));
        let allocator = Allocator::new(f.book.clone(), CostParams::default())
            .with_protection(Some(pricer.clone()));
        let skus = dry(&f.network, f.book.stock());
        let request = cart(&f.network, &skus, RegionId(0));
        let out = promiser.promise(&request, soon()).unwrap();
        assert!(
            !out.read.protection.priced.is_empty(),
            "the cart's SKUs are protected somewhere among the candidates"
        );
        assert!(
            out.read
                .protection
                .priced
                .iter()
                .all(|p| p.price.per_unit == per_unit)
        );
        for o in &out.options {
            let a = allocated_as_promised(&allocator, &request, o);
            if per_unit > 0 {
                let taken: u32 = a
                    .lines
                    .iter()
                    .flat_map(|l| &l.assignments)
                    .map(|x| x.protected)
                    .sum();
                assert_eq!(taken, 0, "protected stock this dear is left alone");
            }
        }
    }
}
