//! Fraud as it appears: campaigns that start, ramp up and stop, each with
//! its own devices, drop addresses and way of operating.

use std::collections::BTreeMap;

use allot_engine::network::{Network, RegionId, ServiceLevel};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::calendar::Calendar;
use super::catalog::Catalog;
use super::orders::{FraudKind, Line, Order, local_time, minute_of_day};
use super::population::{Customer, Population};
use super::sample::{Weighted, choose, lognormal, poisson};

/// Fraudsters' hours: flatter than shoppers', with a night bump.
const HOURS: [f64; 24] = [
    0.9, 0.9, 0.8, 0.8, 0.7, 0.6, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0,
    1.0, 1.0, 1.0, 1.0, 1.0,
];

/// Category appetite of fraudsters: what resells.
fn appetite(category: &str) -> f64 {
    match category {
        "gift_cards" => 10.0,
        "electronics" => 6.0,
        "jewelry" => 5.0,
        "footwear" => 1.5,
        "beauty" => 0.6,
        _ => 0.25,
    }
}

/// One campaign's shared infrastructure.
struct Campaign {
    kind: FraudKind,
    start: u32,
    days: u32,
    rate: f64,
    devices: Vec<u32>,
    drops: Vec<u32>,
}

/// Generates fraud campaigns over the calendar.
pub struct FraudCampaigns<'a> {
    /// The network.
    pub net: &'a Network,
    /// The calendar.
    pub cal: &'a Calendar,
    /// The catalogue.
    pub catalog: &'a Catalog,
}

impl FraudCampaigns<'_> {
    /// `count` campaigns; fraudsters favour the busy peak (hiding in volume).
    pub fn generate(&self, pop: &mut Population, count: u32, rng: &mut ChaCha8Rng) -> Vec<Order> {
        let days = self.cal.days;
        let when = Weighted::new((0..days).map(|d| Calendar::volume(self.cal.date(d)).powf(1.5)));
        let hours = Weighted::new(HOURS);
        let mut orders = Vec::new();
        for k in 0..count {
            let kind = choose(
                rng,
                &[
                    (FraudKind::StolenCard, 0.55),
                    (FraudKind::AccountTakeover, 0.25),
                    (FraudKind::Reshipper, 0.20),
                ],
            );
            // Drops cluster in one or two metros.
            let metros: Vec<RegionId> = (0..rng.random_range(1..=2))
                .map(|_| RegionId(pop.regions.pick(rng) as u32))
                .collect();
            let drops = (0..rng.random_range(2..=6))
                .map(|_| pop.new_address(self.net, metros[rng.random_range(0..metros.len())], rng))
                .collect();
            let campaign = Campaign {
                kind,
                start: when.pick(rng) as u32,
                days: rng.random_range(2..=9),
                rate: lognormal(rng, 12.0, 0.6),
                devices: (0..rng.random_range(1..=4))
                    .map(|_| pop.new_device())
                    .collect(),
                drops,
            };
            let first = orders.len();
            self.run(&campaign, pop, &hours, rng, &mut orders);
            for o in &mut orders[first..] {
                o.campaign = Some(k);
            }
        }
        orders
    }

    fn run(
        &self,
        c: &Campaign,
        pop: &mut Population,
        hours: &Weighted,
        rng: &mut ChaCha8Rng,
        out: &mut Vec<Order>,
    ) {
        for i in 0..c.days {
            let d = c.start + i;
            if d >= self.cal.days {
                break;
            }
            // Ramp up, then stop abruptly (blocked, or moved on).
            let shape = f64::from(i + 1) / f64::from(c.days);
            let n = poisson(rng, c.rate * (0.3 + shape));
            let (mut made, mut tries) = (0, 0);
            while made < n && tries < 5 * n {
                tries += 1;
                let tz = self
                    .net
                    .region(pop.addresses[c.drops[0] as usize].region)
                    .time_zone;
                let t = local_time(tz, self.cal.date(d), minute_of_day(hours, rng));
                made += self.account(c, pop, t, d, rng, out);
            }
        }
    }

    /// One fraudulent account's burst of orders from `t`; returns how many.
    fn account(
        &self,
        c: &Campaign,
        pop: &mut Population,
        t: i64,
        d: u32,
        rng: &mut ChaCha8Rng,
        out: &mut Vec<Order>,
    ) -> u32 {
        let device = if rng.random_bool(0.85) {
            c.devices[rng.random_range(0..c.devices.len())]
        } else {
            pop.new_device()
        };
        let (customer, card, bill, burst) = match c.kind {
            FraudKind::AccountTakeover => {
                let victim = rng.random_range(0..pop.legit);
                let v = &pop.customers[victim];
                if v.created > t - 60 * 86_400 {
                    return 0; // takeovers hit established accounts
                }
                let card = v.cards[0];
                let bill = v.home;
                (victim as u32, card, bill, rng.random_range(1..=2))
            }
            FraudKind::StolenCard | FraudKind::Reshipper | FraudKind::Friendly => {
                let sleeper = c.kind == FraudKind::Reshipper;
                let age = if sleeper {
                    rng.random_range(10 * 86_400..60 * 86_400)
                } else if rng.random_bool(0.7) {
                    rng.random_range(60..3_600)
                } else {
                    rng.random_range(3_600..2 * 86_400)
                };
                let victim_home = pop.random_address(self.net, rng);
                let bill = victim_home;
                let card = pop.new_card();
                pop.customers.push(Customer {
                    created: t - age,
                    home: victim_home,
                    alt: None,
                    devices: vec![device],
                    cards: vec![card],
                    activity: 0.0,
                    returns: 0.0,
                    express: 0.0,
                });
                let burst = if sleeper {
                    rng.random_range(1..=2)
                } else {
                    rng.random_range(1..=4)
                };
                ((pop.customers.len() - 1) as u32, card, bill, burst)
            }
        };
        let mut time = t;
        for _ in 0..burst {
            let ship = if c.kind == FraudKind::StolenCard && rng.random_bool(0.2) {
                // Shipped near the card owner, picked up at the door.
                let region = pop.addresses[pop.customers[customer as usize].home as usize].region;
                pop.new_address(self.net, region, rng)
            } else {
                c.drops[rng.random_range(0..c.drops.len())]
            };
            out.push(self.order(c.kind, customer, device, card, ship, bill, time, d, rng));
            time += rng.random_range(180..6 * 3_600);
        }
        burst
    }

    #[allow(clippy::too_many_arguments)]
    fn order(
        &self,
        kind: FraudKind,
        customer: u32,
        device: u32,
        card: u32,
        ship: u32,
        bill: u32,
        time: i64,
        d: u32,
        rng: &mut ChaCha8Rng,
    ) -> Order {
        let express = match kind {
            FraudKind::Reshipper => 0.2,
            FraudKind::AccountTakeover => 0.5,
            _ => 0.55,
        };
        let r = rng.random::<f64>();
        let service = if r < express * 0.5 {
            ServiceLevel::Overnight
        } else if r < express {
            ServiceLevel::TwoDay
        } else {
            ServiceLevel::Ground
        };
        let count = choose(rng, &[(1, 0.5), (2, 0.3), (3, 0.2)]);
        let lines = (0..count)
            .map(|_| {
                let category = if kind == FraudKind::Reshipper && rng.random_bool(0.5) {
                    self.catalog.legit_category(self.cal, d, rng)
                } else {
                    self.catalog.category_with(appetite, rng)
                };
                // Fraudsters lean to the pricier SKUs of a category.
                let sku = (0..3)
                    .map(|_| self.catalog.sku(category, rng))
                    .max_by_key(|&s| self.net.sku(s).unit_price_minor)
                    .unwrap_or_else(|| self.catalog.sku(category, rng));
                Line {
                    sku,
                    category,
                    qty: choose(rng, &[(1, 0.6), (2, 0.25), (3, 0.1), (5, 0.05)]),
                    unit_price_minor: Catalog::price(self.net, self.cal, sku, category, d),
                }
            })
            .collect();
        Order {
            guest: false,
            campaign: None,
            time,
            customer,
            device,
            card,
            ship,
            bill,
            service,
            lines,
            fraud: Some(kind),
        }
    }
}

/// Share of a stolen-card campaign's accounts that pay with one of the
/// campaign's few "good" cards (the rest get a fresh card each).
const POOLED_CARD_SHARE: f64 = 0.7;
/// Share of a takeover campaign's hijacked accounts that pay with one of the
/// campaign's stolen cards instead of the victim's own (an established
/// account with a card that is busy everywhere).
const POOLED_TAKEOVER_SHARE: f64 = 0.5;
/// Share of pooled-card accounts that order from a fresh device (emulators,
/// wiped phones): card velocity without device velocity.
const POOLED_FRESH_DEVICE_SHARE: f64 = 0.4;

/// The card a pooled account pays with, and the fresh device it orders
/// from when it took one.
type Pooled = (u32, Option<u32>);

/// Card testing and cash-out: a stolen-card or takeover campaign that finds
/// a card that works uses it for many of its accounts, so one card places many orders
/// in a day (`card_orders_24h` up to ~10), often from devices the campaign
/// has not used before. Runs after generation with its own random stream,
/// so order times, baskets and shipments do not move; only the card (and
/// sometimes the device) of pooled accounts changes.
pub fn pool_stolen_cards(orders: &mut [Order], pop: &mut Population, rng: &mut ChaCha8Rng) {
    // Each campaign's pool, and the (card, fresh device) of each pooled
    // account; decided at the account's first order, in time order.
    let mut pools: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    let mut accounts: BTreeMap<(u32, u32), Option<Pooled>> = BTreeMap::new();
    for o in orders.iter_mut() {
        let (Some(kind @ (FraudKind::StolenCard | FraudKind::AccountTakeover)), Some(c)) =
            (o.fraud, o.campaign)
        else {
            continue;
        };
        let share = if kind == FraudKind::StolenCard {
            POOLED_CARD_SHARE
        } else {
            POOLED_TAKEOVER_SHARE
        };
        let choice = *accounts.entry((c, o.customer)).or_insert_with(|| {
            if !rng.random_bool(share) {
                return None;
            }
            let cards = pools.entry(c).or_insert_with(|| {
                let n = rng.random_range(1..=3);
                (0..n).map(|_| pop.new_card()).collect()
            });
            let card = cards[rng.random_range(0..cards.len())];
            let device = rng
                .random_bool(POOLED_FRESH_DEVICE_SHARE)
                .then(|| pop.new_device());
            Some((card, device))
        });
        if let Some((card, device)) = choice {
            o.card = card;
            o.device = device.unwrap_or(o.device);
            if kind == FraudKind::StolenCard {
                // the fraudster's own account: its card and device
                let customer = &mut pop.customers[o.customer as usize];
                customer.cards = vec![card];
                customer.devices = vec![o.device];
            }
        }
    }
}
