//! The people and places of the world: addresses near region centroids,
//! customer accounts with their devices, cards and addresses.

use allot_engine::network::{GeoPoint, Network, RegionId};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::sample::{Weighted, lognormal, normal};

/// A shipping or billing address.
#[derive(Debug, Clone)]
pub struct Address {
    /// Where it is.
    pub point: GeoPoint,
    /// The demo region whose postal prefix it carries.
    pub region: RegionId,
    /// Five-digit ZIP code starting with the region's prefix.
    pub postal: String,
}

/// A customer account (legitimate, or opened / taken over by fraudsters).
#[derive(Debug, Clone)]
pub struct Customer {
    /// Account creation, unix seconds.
    pub created: i64,
    /// Home (and card billing) address, index into [`Population::addresses`].
    pub home: u32,
    /// A second address (work, family) used sometimes.
    pub alt: Option<u32>,
    /// Devices the customer shops from.
    pub devices: Vec<u32>,
    /// Cards on file.
    pub cards: Vec<u32>,
    /// Relative ordering rate.
    pub activity: f64,
    /// Relative propensity to return things (mean about 1).
    pub returns: f64,
    /// Probability of choosing an express service.
    pub express: f64,
}

/// Everyone and every place in the world.
#[derive(Debug, Clone)]
pub struct Population {
    /// All addresses.
    pub addresses: Vec<Address>,
    /// All accounts; the first `legit` are the legitimate customers.
    pub customers: Vec<Customer>,
    /// Number of legitimate customers.
    pub legit: usize,
    /// Devices handed out so far.
    pub devices: u32,
    /// Cards handed out so far.
    pub cards: u32,
    /// Region weights (population), for sampling.
    pub(crate) regions: Weighted,
    region_weights: Vec<f64>,
}

impl Population {
    /// `count` legitimate customers, accounts opened before `start` (85%)
    /// or during the `days` after it (15%).
    pub fn new(
        net: &Network,
        count: usize,
        start: i64,
        days: u32,
        rng: &mut ChaCha8Rng,
    ) -> Population {
        let region_weights: Vec<f64> = net
            .regions()
            .iter()
            .map(|_| lognormal(rng, 1.0, 0.9))
            .collect();
        let regions = Weighted::new(region_weights.iter().copied());
        let mut pop = Population {
            addresses: Vec::with_capacity(count * 2),
            customers: Vec::with_capacity(count + count / 10),
            legit: count,
            devices: 0,
            cards: 0,
            regions,
            region_weights,
        };
        let window = i64::from(days) * 86_400;
        for _ in 0..count {
            let created = if rng.random_bool(0.85) {
                start - rng.random_range(30 * 86_400..1_500 * 86_400)
            } else {
                start + rng.random_range(0..window)
            };
            let home = if !pop.customers.is_empty() && rng.random_bool(0.06) {
                // A household: shares a home with an earlier customer.
                let other = rng.random_range(0..pop.customers.len());
                pop.customers[other].home
            } else {
                let region = RegionId(pop.regions.pick(rng) as u32);
                pop.new_address(net, region, rng)
            };
            let alt = rng.random_bool(0.3).then(|| {
                let region = if rng.random_bool(0.7) {
                    pop.addresses[home as usize].region
                } else {
                    RegionId(pop.regions.pick(rng) as u32)
                };
                pop.new_address(net, region, rng)
            });
            let mut devices: Vec<u32> = (0..rng.random_range(1..=3))
                .map(|_| pop.new_device())
                .collect();
            if !pop.customers.is_empty() && rng.random_bool(0.04) {
                // A shared family or office computer.
                let other = rng.random_range(0..pop.customers.len());
                devices.push(pop.customers[other].devices[0]);
            }
            let cards = (0..rng.random_range(1..=2))
                .map(|_| pop.new_card())
                .collect();
            pop.customers.push(Customer {
                created,
                home,
                alt,
                devices,
                cards,
                activity: lognormal(rng, 1.0, 1.0),
                returns: lognormal(rng, 0.8, 0.7).min(4.0),
                express: (0.08 + 0.25 * rng.random::<f64>().powi(3)).min(0.6),
            });
        }
        pop
    }

    /// A new address near the centroid of `region` (log-normal-ish spread
    /// of about 15 km), returning its index.
    pub fn new_address(&mut self, net: &Network, region: RegionId, rng: &mut ChaCha8Rng) -> u32 {
        let r = net.region(region);
        let sigma = 12.0;
        let (dx, dy) = (normal(rng) * sigma, normal(rng) * sigma);
        let lat = r.centroid.lat + dy / 111.0;
        let lon = r.centroid.lon + dx / (111.0 * lat.to_radians().cos().max(0.2));
        self.addresses.push(Address {
            point: GeoPoint { lat, lon },
            region,
            postal: format!("{}{:02}", r.postal_prefix, rng.random_range(0..100)),
        });
        (self.addresses.len() - 1) as u32
    }

    /// A new address in a population-weighted region.
    pub fn random_address(&mut self, net: &Network, rng: &mut ChaCha8Rng) -> u32 {
        let region = RegionId(self.regions.pick(rng) as u32);
        self.new_address(net, region, rng)
    }

    /// The population weight of region `r`.
    pub fn region_weight(&self, r: usize) -> f64 {
        self.region_weights[r]
    }

    /// A new device id.
    pub fn new_device(&mut self) -> u32 {
        self.devices += 1;
        self.devices
    }

    /// A new card id.
    pub fn new_card(&mut self) -> u32 {
        self.cards += 1;
        self.cards
    }
}
