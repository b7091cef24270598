//! The legitimate order stream: who orders when, what, to where, how fast.

use allot_engine::network::{GeoPoint, Network, NodeId, ServiceLevel, SkuId, distance_km};
use chrono::{NaiveDate, NaiveTime, TimeZone};
use chrono_tz::Tz;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::calendar::Calendar;
use super::catalog::Catalog;
use super::population::Population;
use super::sample::{Weighted, choose, poisson};

/// How an order came to be fraudulent (hidden ground truth).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FraudKind {
    /// Stolen cards on freshly opened accounts, shipped to drops.
    StolenCard,
    /// A hijacked old account with a new device, shipped to a drop.
    AccountTakeover,
    /// Aged "sleeper" accounts shipping to shared reshipper addresses.
    Reshipper,
    /// A chargeback on an ordinary-looking order (label noise).
    Friendly,
}

/// One order line.
#[derive(Debug, Clone, Copy)]
pub struct Line {
    /// The SKU.
    pub sku: SkuId,
    /// Category index of the SKU.
    pub category: usize,
    /// Units.
    pub qty: u32,
    /// Selling price of one unit that day, minor units.
    pub unit_price_minor: i64,
}

/// One order of the world, with its hidden truth.
#[derive(Debug, Clone)]
pub struct Order {
    /// Placement time, unix seconds.
    pub time: i64,
    /// Index into [`Population::customers`].
    pub customer: u32,
    /// Device id.
    pub device: u32,
    /// Card id.
    pub card: u32,
    /// Shipping address, index into [`Population::addresses`].
    pub ship: u32,
    /// Billing address, index into [`Population::addresses`].
    pub bill: u32,
    /// Requested service level.
    pub service: ServiceLevel,
    /// Lines.
    pub lines: Vec<Line>,
    /// Ground truth: fraud and its kind.
    pub fraud: Option<FraudKind>,
    /// Guest checkout: placed without signing in, so the engine knows no
    /// account and no account age (exported as an empty `account_age_days`).
    pub guest: bool,
    /// Ground truth: the fraud campaign the order belongs to (index in
    /// generation order).
    pub campaign: Option<u32>,
}

/// Relative order rate by local hour.
const HOURS: [f64; 24] = [
    0.25, 0.15, 0.10, 0.08, 0.08, 0.12, 0.30, 0.55, 0.80, 1.00, 1.10, 1.20, 1.30, 1.25, 1.15, 1.10,
    1.10, 1.15, 1.30, 1.45, 1.50, 1.35, 1.00, 0.55,
];

/// The unix time of local `date` at `minute` minutes after midnight in `tz`.
pub fn local_time(tz: Tz, date: NaiveDate, minute: u32) -> i64 {
    let t = NaiveTime::from_num_seconds_from_midnight_opt(minute.min(1_439) * 60, 0)
        .unwrap_or_default();
    let naive = date.and_time(t);
    match tz.from_local_datetime(&naive).earliest() {
        Some(dt) => dt.timestamp(),
        // Inside a DST gap: an hour later exists.
        None => naive.and_utc().timestamp() + 3_600,
    }
}

/// A minute of the day drawn from an hourly profile.
pub fn minute_of_day(profile: &Weighted, rng: &mut ChaCha8Rng) -> u32 {
    profile.pick(rng) as u32 * 60 + rng.random_range(0..60)
}

/// Generates legitimate orders, including sign-up orders of new accounts.
pub struct LegitOrders<'a> {
    /// The network.
    pub net: &'a Network,
    /// The calendar.
    pub cal: &'a Calendar,
    /// The catalogue.
    pub catalog: &'a Catalog,
    /// Locations of nodes offering same-day delivery.
    pub same_day: Vec<GeoPoint>,
}

impl LegitOrders<'_> {
    /// Nodes offering a same-day service, as points.
    pub fn same_day_points(net: &Network) -> Vec<GeoPoint> {
        net.node_ids()
            .filter(|&n| {
                net.node(n)
                    .services
                    .iter()
                    .any(|&s| net.service(s).level == ServiceLevel::SameDay)
            })
            .map(|n: NodeId| net.node(n).location)
            .collect()
    }

    /// All legitimate orders over the calendar, `daily` on an ordinary day.
    pub fn generate(&self, pop: &mut Population, daily: f64, rng: &mut ChaCha8Rng) -> Vec<Order> {
        let hours = Weighted::new(HOURS);
        let activity = Weighted::new(pop.customers[..pop.legit].iter().map(|c| c.activity));
        let mut orders = Vec::new();
        let end = self.cal.midnight(self.cal.days);
        for d in 0..self.cal.days {
            let date = self.cal.date(d);
            let n = poisson(rng, daily * Calendar::volume(date));
            for _ in 0..n {
                let Some(c) = (0..20)
                    .map(|_| activity.pick(rng))
                    .find(|&c| pop.customers[c].created < self.cal.midnight(d))
                else {
                    continue;
                };
                let tz = self
                    .net
                    .region(pop.addresses[pop.customers[c].home as usize].region)
                    .time_zone;
                let time = local_time(tz, date, minute_of_day(&hours, rng));
                orders.push(self.order(pop, c, time, d, rng));
            }
        }
        // New accounts often buy right after signing up.
        for c in 0..pop.legit {
            let created = pop.customers[c].created;
            if created >= self.cal.midnight(0) && created < end - 3_600 && rng.random_bool(0.5) {
                let time = created + rng.random_range(120..2_400);
                let d = self.cal.day_of(time).clamp(0, i64::from(self.cal.days) - 1) as u32;
                orders.push(self.order(pop, c, time, d, rng));
            }
        }
        orders
    }

    fn order(
        &self,
        pop: &mut Population,
        c: usize,
        time: i64,
        d: u32,
        rng: &mut ChaCha8Rng,
    ) -> Order {
        let cust = &pop.customers[c];
        let home = cust.home;
        let bill = home;
        let device = cust.devices[rng.random_range(0..cust.devices.len())];
        let card = cust.cards[rng.random_range(0..cust.cards.len())];
        let express = cust.express;
        let r = rng.random::<f64>();
        let ship = if r < 0.84 {
            home
        } else if r < 0.93 {
            cust.alt.unwrap_or(home)
        } else {
            // A gift to someone elsewhere.
            pop.random_address(self.net, rng)
        };
        let to = pop.addresses[ship as usize].point;
        let near_same_day = self.same_day.iter().any(|&p| distance_km(p, to) < 55.0);
        let r = rng.random::<f64>();
        let service = if near_same_day && r < express * 0.15 {
            ServiceLevel::SameDay
        } else if r < express * 0.3 {
            ServiceLevel::Overnight
        } else if r < express {
            ServiceLevel::TwoDay
        } else {
            ServiceLevel::Ground
        };
        let count = choose(
            rng,
            &[(1, 0.56), (2, 0.25), (3, 0.11), (4, 0.05), (5, 0.03)],
        );
        let lines = (0..count)
            .map(|_| {
                let category = self.catalog.legit_category(self.cal, d, rng);
                let sku = self.catalog.sku(category, rng);
                Line {
                    sku,
                    category,
                    qty: choose(rng, &[(1, 0.86), (2, 0.1), (3, 0.03), (4, 0.01)]),
                    unit_price_minor: Catalog::price(self.net, self.cal, sku, category, d),
                }
            })
            .collect::<Vec<_>>();
        let amount: i64 = lines
            .iter()
            .map(|l| l.unit_price_minor * i64::from(l.qty))
            .sum();
        // Chargebacks on ordinary orders: a little label noise, more on big baskets.
        let friendly = if amount > 30_000 { 0.004 } else { 0.0012 };
        Order {
            guest: false,
            campaign: None,
            time,
            customer: c as u32,
            device,
            card,
            ship,
            bill,
            service,
            lines,
            fraud: rng.random_bool(friendly).then_some(FraudKind::Friendly),
        }
    }
}
