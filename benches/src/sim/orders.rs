//! The orders a simulation replays: the world's orders placed in the
//! window's days, as allocation requests, and those of the [`WARMUP_DAYS`]
//! days before it (counted as sales, not allocated, so that the forecast's
//! 7-day lags are known from the first day).
//!
//! A simulated day starts at [`DAY_START_HOUR`] UTC, when every US time
//! zone is on the new local date. Fraud orders (all kinds but friendly
//! fraud, which looks ordinary) are left out: allot's fraud check would
//! hold or reject most of them, and this simulator is about stock.

use allot_engine::allocation::request::{AllocationOptions, Destination, OrderLine, OrderRequest};
use allot_training::world::{FraudKind, World};

use super::SimError;

/// Hour (UTC) a simulated day starts.
pub const DAY_START_HOUR: i64 = 10;
/// Days before the window whose orders are counted as sales only (the
/// first is partly before the morning the history is known from).
pub const WARMUP_DAYS: u32 = 8;

/// One order to replay.
#[derive(Debug, Clone)]
pub struct SimOrder {
    /// Index in the world's orders.
    pub index: u32,
    /// Placement time, unix seconds.
    pub time: i64,
    /// The shipping address, index into the world's addresses.
    pub address: u32,
    /// The request allot is asked.
    pub request: OrderRequest,
}

/// The orders of a window.
#[derive(Debug, Clone)]
pub struct Window {
    /// First day of the window (index into the world's calendar).
    pub first_day: u32,
    /// Unix time the window starts (the first day's start).
    pub start: i64,
    /// Orders of the warm-up days, in time order.
    pub warmup: Vec<SimOrder>,
    /// Orders of each day of the window, in time order.
    pub days: Vec<Vec<SimOrder>>,
    /// Orders left out by `max_orders_per_day` (window and warm-up).
    pub sampled_out: usize,
}

impl Window {
    /// Unix time of day `d`'s start (day 0 is the window's first).
    pub fn day_start(&self, d: usize) -> i64 {
        self.start + d as i64 * 86_400
    }

    /// Orders replayed.
    pub fn orders(&self) -> usize {
        self.days.iter().map(Vec::len).sum()
    }
}

/// The last `days` days of `world` (the held-out end of its calendar; its
/// very last day is left out, as it has no next morning), at most `max_per_day` orders a day (evenly spaced through
/// the day when there are more), and the warm-up days before them.
pub fn window(world: &World, days: u32, max_per_day: Option<usize>) -> Result<Window, SimError> {
    let total = world.config.days;
    // The last day has no following morning in the world: it is dropped.
    if days + WARMUP_DAYS + 1 > total {
        return Err(SimError::Window(format!(
            "{days} days and {WARMUP_DAYS} warm-up days do not fit the world's {total} days"
        )));
    }
    let first_day = total - 1 - days;
    let start = world.calendar.midnight(first_day) + DAY_START_HOUR * 3_600;
    let warmup_start = start - i64::from(WARMUP_DAYS) * 86_400;
    let end = start + i64::from(days) * 86_400;
    let mut warmup: Vec<Vec<SimOrder>> = vec![Vec::new(); WARMUP_DAYS as usize];
    let mut by_day: Vec<Vec<SimOrder>> = vec![Vec::new(); days as usize];
    for (i, o) in world.orders.iter().enumerate() {
        if o.time < warmup_start || o.time >= end {
            continue;
        }
        if matches!(
            o.fraud,
            Some(FraudKind::StolenCard | FraudKind::AccountTakeover | FraudKind::Reshipper)
        ) {
            continue;
        }
        let order = sim_order(world, i as u32);
        let day = ((o.time - warmup_start) / 86_400) as usize;
        match day.checked_sub(WARMUP_DAYS as usize) {
            None => warmup[day].push(order),
            Some(d) => by_day[d].push(order),
        }
    }
    let mut sampled_out = 0;
    if let Some(max) = max_per_day {
        // The warm-up days too, so that the lags read the volume the
        // window replays.
        for day in warmup.iter_mut().chain(by_day.iter_mut()) {
            let n = day.len();
            if n > max {
                sampled_out += n - max;
                // Evenly spaced: order i is kept when floor(i * max / n)
                // moves on.
                let kept: Vec<SimOrder> = day
                    .drain(..)
                    .enumerate()
                    .filter(|(i, _)| i * max / n != (i + 1) * max / n)
                    .map(|(_, o)| o)
                    .collect();
                *day = kept;
            }
        }
    }
    let window = Window {
        first_day,
        start,
        warmup: warmup.into_iter().flatten().collect(),
        days: by_day,
        sampled_out,
    };
    Ok(window)
}

/// The allocation request of the world's order `index`: every line
/// (quantities as ordered), to the shipping address's point and region,
/// at the order's service level, backorders allowed.
fn sim_order(world: &World, index: u32) -> SimOrder {
    let o = &world.orders[index as usize];
    let address = &world.population.addresses[o.ship as usize];
    let lines = o
        .lines
        .iter()
        .enumerate()
        .map(|(l, line)| OrderLine {
            line_id: format!("{l}"),
            sku: line.sku,
            quantity: line.qty,
            weight_grams: None,
        })
        .collect();
    SimOrder {
        index,
        time: o.time,
        address: o.ship,
        request: OrderRequest {
            order_id: format!("w{}-{index}", world.config.seed),
            lines,
            destination: Destination {
                point: address.point,
                region: Some(address.region),
            },
            service_level: o.service,
            promised_by: None,
            options: AllocationOptions {
                allow_backorder: true,
                ..AllocationOptions::default()
            },
        },
    }
}
