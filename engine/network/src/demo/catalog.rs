//! The demo SKU catalogue: categories with log-normal weights and prices,
//! cold-chain and hazmat shares, and resale-risk ranges.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::Sku;

/// One merchandise category of the demo catalogue.
pub(super) struct Category {
    /// Category name, as in [`Sku::category`].
    pub name: &'static str,
    /// Share of the catalogue, per mille (the table sums to 1000).
    pub share: u32,
    /// Median shipping weight, grams, and log-normal sigma.
    pub weight: (f64, f64),
    /// Median price, dollars, and log-normal sigma.
    pub price: (f64, f64),
    /// Probability that a SKU needs the cold chain.
    pub cold_chain: f64,
    /// Probability that a SKU is hazardous material.
    pub hazmat: f64,
    /// Resale risk range.
    pub risk: (f32, f32),
}

const fn c(
    name: &'static str,
    share: u32,
    weight: (f64, f64),
    price: (f64, f64),
    cold_chain: f64,
    hazmat: f64,
    risk: (f32, f32),
) -> Category {
    Category {
        name,
        share,
        weight,
        price,
        cold_chain,
        hazmat,
        risk,
    }
}

/// The demo categories.
pub(super) const CATEGORIES: [Category; 13] = [
    c(
        "apparel",
        180,
        (350.0, 0.5),
        (35.0, 0.6),
        0.0,
        0.0,
        (0.15, 0.35),
    ),
    c(
        "footwear",
        80,
        (1_100.0, 0.3),
        (85.0, 0.5),
        0.0,
        0.0,
        (0.30, 0.55),
    ),
    c(
        "electronics",
        100,
        (900.0, 1.0),
        (180.0, 1.0),
        0.0,
        0.04,
        (0.60, 0.95),
    ),
    c(
        "home",
        140,
        (2_200.0, 0.9),
        (45.0, 0.8),
        0.0,
        0.0,
        (0.05, 0.20),
    ),
    c(
        "beauty",
        90,
        (250.0, 0.6),
        (22.0, 0.6),
        0.0,
        0.08,
        (0.20, 0.45),
    ),
    c(
        "grocery",
        90,
        (800.0, 0.7),
        (8.0, 0.6),
        0.30,
        0.0,
        (0.02, 0.10),
    ),
    c(
        "toys",
        80,
        (700.0, 0.8),
        (28.0, 0.7),
        0.0,
        0.03,
        (0.10, 0.30),
    ),
    c(
        "sports",
        70,
        (1_500.0, 0.9),
        (55.0, 0.8),
        0.0,
        0.02,
        (0.15, 0.35),
    ),
    c(
        "garden",
        50,
        (4_000.0, 0.8),
        (35.0, 0.8),
        0.0,
        0.25,
        (0.05, 0.15),
    ),
    c(
        "automotive",
        50,
        (2_000.0, 1.0),
        (40.0, 0.9),
        0.0,
        0.30,
        (0.10, 0.25),
    ),
    c(
        "jewelry",
        30,
        (80.0, 0.5),
        (250.0, 1.0),
        0.0,
        0.0,
        (0.75, 0.95),
    ),
    c(
        "health",
        30,
        (200.0, 0.6),
        (15.0, 0.6),
        0.10,
        0.02,
        (0.10, 0.30),
    ),
    c(
        "gift_cards",
        10,
        (30.0, 0.0),
        (50.0, 0.0),
        0.0,
        0.0,
        (0.90, 1.00),
    ),
];

/// A standard normal draw (Box-Muller).
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1 = 1.0 - rng.random::<f64>();
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn category(rng: &mut ChaCha8Rng) -> &'static Category {
    let mut pick = rng.random_range(0..1_000u32);
    for cat in &CATEGORIES {
        if pick < cat.share {
            return cat;
        }
        pick -= cat.share;
    }
    &CATEGORIES[0]
}

/// `count` SKUs `SKU-000001`.. for `seed`.
pub(super) fn skus(seed: u64, count: usize) -> Vec<Sku> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x736b_7573_0000_0000);
    (1..=count)
        .map(|i| {
            let cat = category(&mut rng);
            let grams = cat.weight.0 * (cat.weight.1 * normal(&mut rng)).exp();
            let weight_grams = ((grams / 5.0).round() * 5.0).clamp(20.0, 30_000.0) as u32;
            let unit_price_minor = if cat.name == "gift_cards" {
                [2_500, 5_000, 10_000, 20_000][rng.random_range(0..4)]
            } else {
                let dollars =
                    (cat.price.0 * (cat.price.1 * normal(&mut rng)).exp()).clamp(1.0, 5_000.0);
                dollars.round() as i64 * 100 - 1
            };
            let risk = cat.risk.0 + (cat.risk.1 - cat.risk.0) * rng.random::<f32>();
            let cold_chain = rng.random_bool(cat.cold_chain);
            let hazmat = rng.random_bool(cat.hazmat);
            Sku {
                code: format!("SKU-{i:06}"),
                category: cat.name.to_string(),
                weight_grams,
                cold_chain,
                hazmat,
                resale_risk: (risk * 100.0).round() / 100.0,
                unit_price_minor,
            }
        })
        .collect()
}
