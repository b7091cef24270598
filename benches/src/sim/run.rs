//! One arm over one world's window, day by day, through the engine as the
//! server runs it (in process: the allocator over the stock and its
//! reservation book, the ETA model, the served demand model, the sales
//! history Allocate feeds).
//!
//! Each morning (the day's start, [`super::orders::DAY_START_HOUR`] UTC):
//! the supply policy restocks the nodes due and lands the transfers due
//! ([`super::supply`]); with forecast-priced protection, the protection
//! prices are refreshed from the forecast (the server does it every
//! `demand.protection_refresh_s`, an hour by default; daily here); with
//! transfers, the day's plan is made and sent ([`super::transfers`]).
//! Then each order of the day, in time order, is allocated at its own
//! time and committed (reserved, then confirmed at once: its units ship,
//! the stock depletes), and counted in the sales history on its
//! destination's local day, as Allocate does.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use allot_engine::allocation::allocate::Commit;
use allot_engine::allocation::outcome::AllocationOutcome;
use allot_engine::network::{NodeId, SkuId};
use allot_engine::stock::StockLevel;
use allot_service::config::{ServiceConfig, StateStore};
use allot_service::demand::sales::record_order;
use allot_service::demand::{lag_days, node_region, series_of};
use allot_service::engine::Engine;
use allot_training::world::World;
use chrono::NaiveDate;

pub use super::transfers::TransferSolver;

use super::SimError;
use super::kpi::{ArmResult, Tally};
use super::orders::{SimOrder, Window};
use super::supply::Supply;
use super::transfers::{best_sellers, plan_and_send};
use super::truth::deliver;

/// Which planning levers an arm pulls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arm {
    /// Its name in the report.
    pub name: String,
    /// Protected units priced from the forecast (else the flat penalty).
    pub protection: bool,
    /// A transfer plan every morning.
    pub transfers: bool,
}

impl Arm {
    /// `off` (flat penalty, no transfers), `protect` (forecast-priced
    /// protection only), `transfer` (transfers only) or `on` (both).
    pub fn parse(name: &str) -> Option<Arm> {
        let (protection, transfers) = match name {
            "off" => (false, false),
            "protect" => (true, false),
            "transfer" => (false, true),
            "on" => (true, true),
            _ => return None,
        };
        Some(Arm {
            name: name.to_string(),
            protection,
            transfers,
        })
    }
}

/// How the simulation runs (the same for every arm).
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The models directory (demand.onnx, eta.onnx, fraud.onnx).
    pub models_dir: std::path::PathBuf,
    /// SKUs in each transfer plan (the best sellers of the last 7 days).
    pub transfer_skus: usize,
    /// Days of demand a transfer plan covers.
    pub horizon_days: usize,
    /// How transfer plans are solved.
    pub solver: TransferSolver,
    /// Time budget of one allocation.
    pub allocation_budget: Duration,
}

/// One forecast made in the morning, checked the next morning.
struct PendingCheck {
    day: NaiveDate,
    series: Vec<(SkuId, allot_engine::network::RegionId)>,
    means: Vec<f64>,
    /// The 7-day moving average of each series (the baseline).
    naive: Vec<f64>,
}

/// Runs `arm` over `window` of `world`.
pub fn run_arm(
    world: &World,
    window: &Window,
    config: &SimConfig,
    arm: &Arm,
) -> Result<ArmResult, SimError> {
    let started = Instant::now();
    let dir = tempfile::tempdir().map_err(|e| SimError::Window(format!("temp dir: {e}")))?;
    let mut service = ServiceConfig::default();
    service.models.dir = Some(config.models_dir.clone());
    service.models.eta_refresh = false;
    service.decisions.dir = dir.path().join("decisions");
    service.state.store = StateStore::Memory;
    service.demand.price_protection = arm.protection;
    let engine = Engine::load(&service)?;
    let result = run_on(&engine, world, window, config, arm);
    engine.decisions.close();
    let tally = result?;
    Ok(ArmResult {
        arm: arm.name.clone(),
        seed: world.config.seed,
        tally,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn at(secs: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap_or(0))
}

fn run_on(
    engine: &Engine,
    world: &World,
    window: &Window,
    config: &SimConfig,
    arm: &Arm,
) -> Result<Tally, SimError> {
    let same_network = engine.network.node_count() == world.network.node_count()
        && engine
            .network
            .node_ids()
            .all(|n| engine.network.node(n).code == world.network.node(n).code);
    if !same_network {
        return Err(SimError::Window(
            "the engine's network is not the world's demo network".into(),
        ));
    }
    let model = engine
        .demand
        .clone()
        .ok_or_else(|| SimError::NoDemandModel(config.models_dir.display().to_string()))?;
    // Sales are known from the first full warm-up day.
    let first = world.calendar.date(window.first_day);
    let known = first
        .checked_sub_days(chrono::Days::new(7))
        .unwrap_or(first);
    engine.sales.observe_from(known);
    for o in &window.warmup {
        count_sale(engine, o);
    }
    let mut supply = Supply::new(&engine.stock);
    // SKUs some node could sell at the start.
    let mut stocked = vec![false; engine.network.sku_count()];
    for node in engine.network.node_ids() {
        for (sku, level) in engine.stock.node_levels(node).1 {
            stocked[sku.0 as usize] |= level.available() > 0;
        }
    }
    let mut tally = Tally::default();
    let mut pending: Option<PendingCheck> = None;
    for (d, orders) in window.days.iter().enumerate() {
        let now = at(window.day_start(d));
        let today = world.calendar.date(window.first_day + d as u32);
        supply.morning(&engine.stock, d, now)?;
        if let Some(check) = pending.take() {
            settle_check(engine, &check, &mut tally);
        }
        let skus = best_sellers(engine, today, config.transfer_skus);
        pending = Some(forecast_check(engine, &model, &skus, today)?);
        if arm.protection
            && let Some(protection) = &engine.protection
        {
            protection.refresh(&engine.stock, &engine.sales, now)?;
        }
        if arm.transfers {
            let planned = plan_and_send(
                engine,
                &model,
                &mut supply,
                skus,
                config.horizon_days,
                config.solver,
                d,
                now,
            )?;
            tally.plans += 1;
            tally.plans_proven += u64::from(planned.proven);
            tally.units_transferred += planned.units;
            tally.dispatches += planned.dispatches;
            tally.transfer += planned.cost;
        }
        engine.allocator.book().expire_due(now);
        for o in orders {
            allocate(engine, world, o, config, &stocked, &mut tally)?;
        }
    }
    tally.restocked_units = supply.restocked_units;
    Ok(tally)
}

/// Counts `o` in the sales history, as Allocate does.
fn count_sale(engine: &Engine, o: &SimOrder) {
    let r = &o.request;
    record_order(
        engine,
        &r.order_id,
        &r.destination,
        r.lines.iter().map(|l| (l.sku, l.quantity)),
        at(o.time),
    );
}

/// Allocates and commits `o`, checks the stock moved by what shipped, and
/// counts it.
fn allocate(
    engine: &Engine,
    world: &World,
    o: &SimOrder,
    config: &SimConfig,
    stocked: &[bool],
    tally: &mut Tally,
) -> Result<(), SimError> {
    let now = at(o.time);
    let r = &o.request;
    let before: Vec<Vec<StockLevel>> = r
        .lines
        .iter()
        .map(|l| {
            engine
                .network
                .node_ids()
                .map(|n| engine.stock.level(n, l.sku))
                .collect()
        })
        .collect();
    let commit = Commit {
        ttl: Duration::from_secs(3_600),
        decision_id: r.order_id.clone(),
    };
    let outcome = engine
        .allocator
        .allocate(
            r,
            Some(commit),
            Instant::now() + config.allocation_budget,
            now,
        )
        .map_err(|source| SimError::Allocate {
            order: r.order_id.clone(),
            source,
        })?;
    if let Some(reservation) = &outcome.reservation {
        engine
            .allocator
            .book()
            .confirm(&reservation.id, now)
            .map_err(|source| SimError::Confirm {
                order: r.order_id.clone(),
                source,
            })?;
    }
    check_stock(engine, o, &outcome, &before)?;
    count_sale(engine, o);
    count(world, o, &outcome, stocked, tally);
    Ok(())
}

/// Every (node, SKU) the order shipped from had the units available
/// before, and its on-hand units dropped by exactly those units.
fn check_stock(
    engine: &Engine,
    o: &SimOrder,
    outcome: &AllocationOutcome,
    before: &[Vec<StockLevel>],
) -> Result<(), SimError> {
    let mut shipped: std::collections::BTreeMap<(NodeId, SkuId, usize), i64> =
        std::collections::BTreeMap::new();
    for line in &outcome.lines {
        let Some(l) = o
            .request
            .lines
            .iter()
            .position(|x| x.line_id == line.line_id)
        else {
            return Err(SimError::Invariant(format!(
                "order {}: unknown line {}",
                o.request.order_id, line.line_id
            )));
        };
        // Lines of one SKU share its stock: keyed by the first such line.
        let first = o
            .request
            .lines
            .iter()
            .position(|x| x.sku == o.request.lines[l].sku)
            .unwrap_or(l);
        for a in &line.assignments {
            *shipped.entry((a.node, line.sku, first)).or_default() += i64::from(a.quantity);
        }
    }
    for (&(node, sku, l), &units) in &shipped {
        let was = before[l][node.0 as usize];
        let now = engine.stock.level(node, sku);
        if units > was.available() || now.on_hand != was.on_hand - units || now.on_hand < 0 {
            return Err(SimError::Invariant(format!(
                "order {} shipped {units} units of SKU #{} from {}: before {was:?}, after {now:?}",
                o.request.order_id,
                sku.0,
                engine.network.node(node).code
            )));
        }
    }
    Ok(())
}

/// Adds `outcome` to the tally, with the world's deliveries.
fn count(
    world: &World,
    o: &SimOrder,
    outcome: &AllocationOutcome,
    stocked: &[bool],
    tally: &mut Tally,
) {
    tally.orders += 1;
    let mut short = false;
    for line in &outcome.lines {
        tally.lines += 1;
        tally.units += u64::from(line.quantity);
        tally.units_short += u64::from(line.backordered);
        if line.backordered > 0 {
            tally.lines_short += 1;
            tally.lines_short_unstocked += u64::from(!stocked[line.sku.0 as usize]);
            short = true;
        }
        tally.protected_units += line
            .assignments
            .iter()
            .map(|a| u64::from(a.protected))
            .sum::<u64>();
    }
    tally.orders_short += u64::from(short);
    let objective = &outcome.objective;
    tally.shipping += objective.package + objective.transport + objective.handling;
    tally.split += objective.split;
    tally.protection += objective.protection;
    tally.backorder += objective.backorder;
    if outcome.shipments.is_empty() {
        return;
    }
    tally.orders_shipped += 1;
    tally.packages += outcome.shipments.len() as u64;
    tally.orders_split += u64::from(outcome.shipments.len() > 1);
    let mut on_time = true;
    for s in &outcome.shipments {
        let truth = deliver(world, o.index, o.time, o.address, s.node, s.service);
        on_time &= truth.on_time;
        if let Some(w) = &s.window {
            tally.parcels_windowed += 1;
            tally.parcels_in_window += u64::from(at(truth.delivered) <= w.latest);
        }
    }
    tally.orders_on_time += u64::from(on_time);
}

/// The demand model's forecast of `today` for `skus` in every region a
/// node serves (the series the transfer plan reads), from the lags.
fn forecast_check(
    engine: &Engine,
    model: &allot_models::demand::DemandForecaster,
    skus: &[SkuId],
    today: NaiveDate,
) -> Result<PendingCheck, SimError> {
    let net = &engine.network;
    let mut regions: Vec<_> = net.node_ids().map(|n| node_region(net, n)).collect();
    regions.sort();
    regions.dedup();
    let lags = lag_days(today);
    let mut keys = Vec::new();
    let mut series = Vec::new();
    let mut naive = Vec::new();
    for &sku in skus {
        for &region in &regions {
            let units = engine.sales.units(sku, region, &lags);
            naive.push(units.iter().map(|u| f64::from(u.unwrap_or(0))).sum::<f64>() / 7.0);
            series.push(series_of(net, sku, &units, Vec::new()));
            keys.push((sku, region));
        }
    }
    let means = if series.is_empty() {
        Vec::new()
    } else {
        model
            .means(&series, today, 1)?
            .into_iter()
            .map(|m| m.first().copied().unwrap_or(0.0))
            .collect()
    };
    Ok(PendingCheck {
        day: today,
        series: keys,
        means,
        naive,
    })
}

/// Adds the units sold on the checked day against their forecast.
fn settle_check(engine: &Engine, check: &PendingCheck, tally: &mut Tally) {
    for ((&(sku, region), &mean), &naive) in check.series.iter().zip(&check.means).zip(&check.naive)
    {
        let sold = f64::from(engine.sales.units(sku, region, &[check.day])[0].unwrap_or(0));
        tally.forecast_series_days += 1;
        tally.forecast_units += mean;
        tally.naive_units += naive;
        tally.sold_units += sold as u64;
        tally.forecast_abs_error += (mean - sold).abs();
        tally.naive_abs_error += (naive - sold).abs();
    }
}
