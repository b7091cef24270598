//! What an arm counts while it runs ([`Tally`]) and the KPIs it reports
//! ([`Kpis`]).
//!
//! Costs are the allocation's own terms, in cents, as each decision's
//! objective states them: shipping (package + transport + handling), the
//! split penalty, the protection penalty (priced by the arm: flat, or from
//! the forecast) and the backorder penalty per unit not shipped; plus the
//! transfer plan's unit and dispatch costs. The expected lateness term is
//! not counted (the on-time rate measures lateness against the truth).

/// Sums over an arm's run.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Tally {
    /// Orders allocated.
    pub orders: u64,
    /// Order lines.
    pub lines: u64,
    /// Units ordered.
    pub units: u64,
    /// Orders with at least one unit backordered.
    pub orders_short: u64,
    /// Lines with at least one unit backordered.
    pub lines_short: u64,
    /// Units backordered.
    pub units_short: u64,
    /// Lines short of a SKU no node held at the start (no transfer or
    /// protection can fill them).
    pub lines_short_unstocked: u64,
    /// Orders that shipped something.
    pub orders_shipped: u64,
    /// Orders shipped in more than one package.
    pub orders_split: u64,
    /// Packages.
    pub packages: u64,
    /// Shipped orders all of whose parcels arrived on time (world truth).
    pub orders_on_time: u64,
    /// Parcels with a predicted window.
    pub parcels_windowed: u64,
    /// Of those, parcels that arrived by the window's end.
    pub parcels_in_window: u64,
    /// Shipping cost: package + transport + handling, cents.
    pub shipping: i64,
    /// Split penalty, cents.
    pub split: i64,
    /// Protection penalty as the arm priced it, cents.
    pub protection: i64,
    /// Backorder penalty, cents.
    pub backorder: i64,
    /// Transfer cost (units and dispatches), cents.
    pub transfer: i64,
    /// Protected units shipped.
    pub protected_units: u64,
    /// Units transferred.
    pub units_transferred: u64,
    /// Lane dispatches (trucks and parcels) of the transfer plans.
    pub dispatches: u64,
    /// Transfer plans HiGHS proved optimal (with the MILP solver).
    pub plans_proven: u64,
    /// Transfer plans made.
    pub plans: u64,
    /// Units restocked by the supply policy.
    pub restocked_units: u64,
    /// Series-days the forecast was checked on.
    pub forecast_series_days: u64,
    /// Forecast units (the demand model's day-ahead means) over the
    /// checked series and days.
    pub forecast_units: f64,
    /// Units sold in those series and days.
    pub sold_units: u64,
    /// Sum of |forecast - sold| over those series and days.
    pub forecast_abs_error: f64,
    /// The 7-day moving average's units over the same series and days.
    pub naive_units: f64,
    /// Sum of |7-day moving average - sold| over them.
    pub naive_abs_error: f64,
}

/// The KPIs of one arm on one world.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Kpis {
    /// Shipping + split + protection + backorder + transfer, per order,
    /// dollars.
    pub cost_per_order: f64,
    /// Shipping + transfer (cash), per order, dollars.
    pub cash_per_order: f64,
    /// Share of orders with a unit backordered.
    pub stockout_rate: f64,
    /// Share of lines with a unit backordered.
    pub line_stockout_rate: f64,
    /// Share of shipped orders in more than one package.
    pub split_rate: f64,
    /// Share of shipped orders delivered on time (world truth).
    pub on_time_rate: f64,
    /// Share of parcels delivered by the end of their predicted window.
    pub in_window_rate: f64,
    /// Units transferred.
    pub units_transferred: f64,
    /// Protected units shipped.
    pub protected_units: f64,
}

fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

impl Tally {
    /// The KPIs of these sums.
    pub fn kpis(&self) -> Kpis {
        let orders = self.orders.max(1) as f64;
        let cost = self.shipping + self.split + self.protection + self.backorder + self.transfer;
        Kpis {
            cost_per_order: cost as f64 / orders / 100.0,
            cash_per_order: (self.shipping + self.transfer) as f64 / orders / 100.0,
            stockout_rate: share(self.orders_short, self.orders),
            line_stockout_rate: share(self.lines_short, self.lines),
            split_rate: share(self.orders_split, self.orders_shipped),
            on_time_rate: share(self.orders_on_time, self.orders_shipped),
            in_window_rate: share(self.parcels_in_window, self.parcels_windowed),
            units_transferred: self.units_transferred as f64,
            protected_units: self.protected_units as f64,
        }
    }
}

/// One arm's run on one world.
#[derive(Debug, Clone)]
pub struct ArmResult {
    /// The arm's name.
    pub arm: String,
    /// The world seed.
    pub seed: u64,
    /// The sums.
    pub tally: Tally,
    /// Wall time of the run, seconds.
    pub seconds: f64,
}
