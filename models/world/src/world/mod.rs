//! The synthetic retail world over the demo network, deterministic from a
//! seed: customers and their accounts, devices, cards and addresses; the
//! order stream with seasonality, promotions and the peak; fraud campaigns;
//! carrier transit; returns; and demand by SKU x region x day.
//!
//! Ground truth (fraud labels, actual delivery) is known; the exported
//! feature columns come only from [`allot_models::features`], computed by
//! replaying the order stream in time order through a
//! [`allot_models::features::FeatureStore`]. See `models/world/README.md`
//! for the dynamics.
//!
//! Every random choice comes from a [`ChaCha8Rng`] seeded from the world
//! seed (one stream per component), and nothing iterates a hash map, so the
//! same seed gives the same world byte for byte.

mod calendar;
mod catalog;
mod demand;
mod fraud;
mod orders;
mod population;
mod replay;
mod returns;
mod sample;
mod transit;

pub use calendar::{Calendar, Split, black_friday};
pub use catalog::Catalog;
pub use demand::DemandRow;
pub use orders::{FraudKind, Line, Order};
pub use population::{Address, Customer, Population};
pub use replay::{EtaRow, FraudRow};
pub use returns::{Condition, Return, ReturnReason};
pub use transit::{Carriers, Disruption, Shipment};

use allot_engine::network::{DEMO_SEED, Network};
use chrono::NaiveDate;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The size and shape of a world.
#[derive(Debug, Clone, PartialEq)]
pub struct WorldConfig {
    /// The world seed.
    pub seed: u64,
    /// First day (UTC).
    pub start: NaiveDate,
    /// Number of days.
    pub days: u32,
    /// Legitimate customer accounts.
    pub customers: usize,
    /// Legitimate orders on an ordinary day (before seasonality).
    pub daily_orders: f64,
    /// Fraud campaigns per 100 days.
    pub campaigns_per_100_days: f64,
    /// Regional disruptions per 100 days.
    pub disruptions_per_100_days: f64,
    /// SKUs in the demand panel.
    pub demand_skus: usize,
    /// Regions in the demand panel.
    pub demand_regions: usize,
}

impl WorldConfig {
    /// The full-size world: 120 days from 2026-09-15 (through the peak to
    /// mid-January), about 200k orders.
    pub fn new(seed: u64) -> WorldConfig {
        WorldConfig {
            seed,
            start: NaiveDate::from_ymd_opt(2026, 9, 15).unwrap_or_default(),
            days: 120,
            customers: 60_000,
            daily_orders: 1_300.0,
            campaigns_per_100_days: 42.0,
            disruptions_per_100_days: 5.0,
            demand_skus: 150,
            demand_regions: 16,
        }
    }

    /// A small world for tests: 30 days from 2026-11-10, a tenth of the
    /// volume.
    pub fn small(seed: u64) -> WorldConfig {
        WorldConfig {
            start: NaiveDate::from_ymd_opt(2026, 11, 10).unwrap_or_default(),
            days: 30,
            customers: 8_000,
            daily_orders: 200.0,
            campaigns_per_100_days: 12.0,
            demand_skus: 20,
            demand_regions: 4,
            ..WorldConfig::new(seed)
        }
    }
}

/// A generated world.
#[derive(Debug, Clone)]
pub struct World {
    /// How it was made.
    pub config: WorldConfig,
    /// The demo network it runs over.
    pub network: Network,
    /// Its calendar.
    pub calendar: Calendar,
    /// Its people and places.
    pub population: Population,
    /// The carriers' behaviour (with the disruptions).
    pub carriers: Carriers,
    /// All orders, in time order.
    pub orders: Vec<Order>,
    /// All parcels, in order of their orders.
    pub shipments: Vec<Shipment>,
    /// All returns, in time order.
    pub returns: Vec<Return>,
    /// The demand panel.
    pub demand: Vec<DemandRow>,
}

/// Independent random stream `k` of the world seed.
fn stream(seed: u64, k: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed ^ k.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

/// Share of orders placed as guests (no account), by kind. Stolen-card
/// fraudsters skip the account more often; takeovers and reshippers need
/// theirs.
fn guest_share(fraud: Option<FraudKind>) -> f64 {
    match fraud {
        None | Some(FraudKind::Friendly) => 0.07,
        Some(FraudKind::StolenCard) => 0.3,
        Some(FraudKind::AccountTakeover | FraudKind::Reshipper) => 0.0,
    }
}

/// Marks guest checkouts (their own random stream, so the rest of the world
/// does not move).
fn guests(orders: &mut [Order], rng: &mut ChaCha8Rng) {
    for o in orders {
        o.guest = rng.random_bool(guest_share(o.fraud));
    }
}

impl World {
    /// Generates the world for `config` over `Network::demo(DEMO_SEED)`.
    pub fn generate(config: WorldConfig) -> World {
        let net = Network::demo(DEMO_SEED);
        let seed = config.seed;
        let calendar = Calendar::new(config.start, config.days, &mut stream(seed, 1));
        let catalog = Catalog::new(&net, &mut stream(seed, 2));
        let mut population = Population::new(
            &net,
            config.customers,
            calendar.midnight(0),
            config.days,
            &mut stream(seed, 3),
        );
        let legit = orders::LegitOrders {
            net: &net,
            cal: &calendar,
            catalog: &catalog,
            same_day: orders::LegitOrders::same_day_points(&net),
        };
        let mut all = legit.generate(&mut population, config.daily_orders, &mut stream(seed, 4));
        let campaigns =
            (config.campaigns_per_100_days * f64::from(config.days) / 100.0).round() as u32;
        let fraud = fraud::FraudCampaigns {
            net: &net,
            cal: &calendar,
            catalog: &catalog,
        };
        all.extend(fraud.generate(&mut population, campaigns, &mut stream(seed, 5)));
        let end = calendar.midnight(config.days);
        let start = calendar.midnight(0);
        all.retain(|o| o.time >= start && o.time < end);
        // Stable sort: ties keep generation order, which is deterministic.
        all.sort_by_key(|o| o.time);
        guests(&mut all, &mut stream(seed, 9));
        fraud::pool_stolen_cards(&mut all, &mut population, &mut stream(seed, 10));

        let disruptions =
            (config.disruptions_per_100_days * f64::from(config.days) / 100.0).round() as u32;
        let carriers = Carriers::new(
            &net,
            &calendar,
            &population.regions,
            disruptions,
            &mut stream(seed, 6),
        );
        let mut rng = stream(seed, 7);
        let mut shipments = Vec::with_capacity(all.len() + all.len() / 10);
        let mut returns = Vec::new();
        for (i, o) in all.iter_mut().enumerate() {
            let addr = &population.addresses[o.ship as usize];
            let (dest, region) = (addr.point, addr.region);
            let first = carriers
                .fulfil(&net, o.service, dest, region, None, &mut rng)
                .or_else(|| {
                    o.service = allot_engine::network::ServiceLevel::Ground;
                    carriers.fulfil(&net, o.service, dest, region, None, &mut rng)
                });
            let Some((node, service)) = first else {
                continue;
            };
            let mut parcels = vec![(node, service)];
            if o.lines.len() >= 2
                && rng.random_bool(0.12)
                && let Some(second) =
                    carriers.fulfil(&net, o.service, dest, region, Some(node), &mut rng)
            {
                parcels.push(second);
            }
            let mut last = o.time;
            let mut late = false;
            for (node, service) in parcels {
                let delivered = carriers.deliver(&net, node, service, addr, o.time, &mut rng);
                let nominal = f64::from(net.service(service).transit_days) + 1.5;
                late |= (delivered - o.time) as f64 / 86_400.0 > nominal + 1.0;
                last = last.max(delivered);
                shipments.push(Shipment {
                    order: i as u32,
                    node,
                    service,
                    dest,
                    region,
                    released: o.time,
                    delivered,
                });
            }
            if o.fraud.is_none() {
                let propensity = population.customers[o.customer as usize].returns;
                returns.extend(returns::returns_of(
                    i as u32, o.time, last, late, &o.lines, propensity, &mut rng,
                ));
            }
        }
        returns.retain(|r| r.time < end);
        returns.sort_by_key(|r| (r.time, r.order));

        let demand = demand::demand_rows(
            &net,
            &calendar,
            &catalog,
            &population,
            config.demand_skus,
            config.demand_regions,
            &mut stream(seed, 8),
        );
        World {
            config,
            network: net,
            calendar,
            population,
            carriers,
            orders: all,
            shipments,
            returns,
            demand,
        }
    }

    /// Share of orders that are fraud.
    pub fn fraud_rate(&self) -> f64 {
        let fraud = self.orders.iter().filter(|o| o.fraud.is_some()).count();
        fraud as f64 / self.orders.len().max(1) as f64
    }
}
