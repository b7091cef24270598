//! The sales history the demand forecast reads: every Allocate counts its
//! order (once per order id) on the destination region's local day; at
//! start the decision log's last days are counted again, then the
//! configured history file replaces the days it lists.

use std::io::BufRead;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use allot_engine::allocation::request::Destination;
use allot_engine::network::{Network, RegionId, SkuId};
use chrono::{NaiveDate, TimeZone};

use crate::engine::Engine;
use crate::error::ServiceError;
use crate::fraud::order_key;
use crate::wire::Wire;

/// Days of the decision log counted again at start: the 7 days the lags
/// read, and today.
pub const REFILL_DAYS: u64 = 8;

/// The local date in `region` at `at`.
pub fn local_date(network: &Network, region: RegionId, at: SystemTime) -> NaiveDate {
    let secs = at
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    network
        .region(region)
        .time_zone
        .timestamp_opt(secs, 0)
        .single()
        .map_or(NaiveDate::MIN, |t| t.date_naive())
}

/// Counts order `order_id` to `destination`, decided at `at` with `lines`
/// (SKU, units), in the engine's sales history, once per order id, on the
/// local day of the destination's region (else the region nearest its
/// point). Returns whether it counted.
pub fn record_order(
    engine: &Engine,
    order_id: &str,
    destination: &Destination,
    lines: impl IntoIterator<Item = (SkuId, u32)>,
    at: SystemTime,
) -> bool {
    let region = destination
        .region
        .unwrap_or_else(|| engine.network.nearest_region(destination.point));
    let day = local_date(&engine.network, region, at);
    let counted =
        engine
            .sales
            .record_order(order_key(order_id, &engine.privacy), day, region, lines);
    if counted {
        metrics::counter!("allot_demand_orders_counted_total").increment(1);
    }
    counted
}

/// What rebuilding the history did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rebuilt {
    /// Orders counted from the decision log.
    pub orders: u64,
    /// Days imported from the history file.
    pub imported_days: u64,
}

/// Rebuilds the engine's sales history: the Allocate decisions of the last
/// [`REFILL_DAYS`] days in the decision log, then `history_file` (which
/// replaces the days it lists). Call it once at start, before the services
/// answer; it runs on the blocking pool.
pub async fn rebuild<W: Wire>(
    engine: Arc<Engine>,
    wire: Arc<W>,
    history_file: Option<std::path::PathBuf>,
) -> Result<Rebuilt, ServiceError> {
    tokio::task::spawn_blocking(move || {
        let now = SystemTime::now();
        let since = now
            .checked_sub(Duration::from_secs(REFILL_DAYS * 86_400))
            .unwrap_or(UNIX_EPOCH);
        let mut rebuilt = Rebuilt::default();
        let mut first: Option<SystemTime> = None;
        engine.decisions.records_since(since, &mut |key, record| {
            // Only Allocate records name an order; others are skipped.
            if let Ok(order) = wire.allocated_order(record) {
                let at = UNIX_EPOCH + Duration::from_millis((key >> 80) as u64);
                first = Some(first.map_or(at, |f| f.min(at)));
                let lines = order.lines.iter().map(|l| (l.sku, l.quantity));
                if record_order(&engine, &order.order_id, &order.destination, lines, at) {
                    rebuilt.orders += 1;
                }
            }
        })?;
        // Allot has observed every order since it first recorded one in
        // the window (or since now, with none): earlier days stay unknown.
        let observed = first.unwrap_or(now);
        for region in 0..engine.network.regions().len() {
            let day = local_date(&engine.network, RegionId(region as u32), observed);
            engine.sales.observe_from(day);
        }
        if let Some(path) = history_file {
            rebuilt.imported_days = import(&engine, &path)?;
        }
        tracing::info!(
            orders = rebuilt.orders,
            imported_days = rebuilt.imported_days,
            "demand sales history rebuilt"
        );
        Ok(rebuilt)
    })
    .await
    .map_err(|e| ServiceError::internal(format!("sales history rebuild failed: {e}")))?
}

/// Reads a daily sales CSV (`sku,region,date,units`) into the history;
/// returns the rows read. An unknown code, a bad date or count is an error
/// naming the line.
pub fn import(engine: &Engine, path: &Path) -> Result<u64, ServiceError> {
    let file = std::fs::File::open(path).map_err(|e| {
        ServiceError::invalid(
            "demand.history_file",
            format!("cannot open {}: {e}", path.display()),
        )
    })?;
    let bad = |line: usize, problem: String| {
        ServiceError::invalid(
            "demand.history_file",
            format!("{} line {line}: {problem}", path.display()),
        )
    };
    let network = &engine.network;
    let mut rows = 0;
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let number = i + 1;
        let line = line.map_err(|e| bad(number, e.to_string()))?;
        let line = line.trim();
        if line.is_empty() || (i == 0 && line.starts_with("sku")) {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let [sku, region, date, units] = fields[..] else {
            return Err(bad(
                number,
                format!("{} fields, expected sku,region,date,units", fields.len()),
            ));
        };
        let sku = network
            .sku_id(sku)
            .ok_or_else(|| bad(number, format!("unknown SKU {sku:?}")))?;
        let region = network
            .region_id(region)
            .ok_or_else(|| bad(number, format!("unknown region {region:?}")))?;
        let date = NaiveDate::parse_from_str(date, "%Y-%m-%d")
            .map_err(|e| bad(number, format!("date {date:?}: {e}")))?;
        let units: u32 = units
            .parse()
            .map_err(|e| bad(number, format!("units {units:?}: {e}")))?;
        engine.sales.import_day(sku, region, date, units);
        rows += 1;
    }
    Ok(rows)
}
