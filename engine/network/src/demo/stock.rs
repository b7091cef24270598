//! Deterministic demo stock for a network: which node holds which SKU, and
//! how many units are on hand, reserved and protected.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::{Network, Node, NodeId, NodeKind, Sku, SkuId};

/// One stock position of the demo stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoStockRow {
    /// The node holding the stock.
    pub node: NodeId,
    /// The SKU.
    pub sku: SkuId,
    /// Units physically on hand (>= 0).
    pub on_hand: i64,
    /// Units already promised to open orders (0..=on_hand).
    pub reserved: i64,
    /// Units kept back for walk-in customers (0..=on_hand - reserved).
    pub protected: i64,
}

/// Categories each 3PL carries, by node code; other 3PLs carry everything.
const TPL_CATEGORIES: [(&str, &[&str]); 2] = [
    (
        "3PL-SLC",
        &["home", "garden", "sports", "automotive", "toys"],
    ),
    (
        "3PL-SDF",
        &[
            "apparel",
            "footwear",
            "beauty",
            "health",
            "grocery",
            "electronics",
        ],
    ),
];

/// Whether `node` may hold `sku` at all (cold chain and hazmat capability).
fn eligible(node: &Node, sku: &Sku) -> bool {
    (!sku.cold_chain || node.cold_chain) && (!sku.hazmat || node.hazmat)
}

/// A log-normal integer around `median`.
fn units(rng: &mut ChaCha8Rng, median: f64, sigma: f64) -> i64 {
    let u1 = 1.0 - rng.random::<f64>();
    let u2 = rng.random::<f64>();
    let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
    (median * (sigma * z).exp()).round() as i64
}

/// Deterministic demo stock for `network`, sorted by (node, sku).
///
/// DCs carry about 90% of the SKUs they may hold with tens to hundreds of
/// units; stores about 15%, favouring popular SKUs, with a few units and a
/// couple protected on some rows; 3PLs a subset of categories. Cold-chain and
/// hazmat SKUs sit only at capable nodes. `reserved` is mostly 0.
pub fn demo_stock(network: &Network, seed: u64) -> Vec<DemoStockRow> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7374_6f63_6b00_0000);
    // Popularity rank of each SKU (0 = best seller), a seeded permutation.
    let mut order: Vec<u32> = (0..network.sku_count() as u32).collect();
    order.shuffle(&mut rng);
    let mut rank = vec![0u32; order.len()];
    for (r, &s) in order.iter().enumerate() {
        rank[s as usize] = r as u32;
    }
    let scale = (network.sku_count().max(1) as f64) / 5_000.0;

    let mut rows = Vec::new();
    for node_id in network.node_ids() {
        let node = network.node(node_id);
        let categories = TPL_CATEGORIES
            .iter()
            .find(|(code, _)| *code == node.code)
            .map(|(_, c)| *c);
        for (i, sku) in network.skus().iter().enumerate() {
            if !eligible(node, sku) {
                continue;
            }
            let popularity = (-(rank[i] as f64) / (1_200.0 * scale)).exp();
            let (carry, on_hand, protected) = match node.kind {
                NodeKind::DistributionCenter => {
                    let carry = rng.random_bool(0.9);
                    let on_hand = if rng.random_bool(0.03) {
                        0
                    } else {
                        units(&mut rng, 60.0 * (1.0 + 2.0 * popularity), 0.7)
                    };
                    (carry, on_hand, 0)
                }
                NodeKind::ThirdPartyLogistics => {
                    let wanted = categories.is_none_or(|c| c.contains(&sku.category.as_str()));
                    let carry = wanted && rng.random_bool(0.7);
                    (carry, units(&mut rng, 45.0 * (1.0 + popularity), 0.8), 0)
                }
                NodeKind::Store => {
                    let carry = rng.random_bool((0.6 * popularity).min(1.0));
                    if !carry {
                        continue;
                    }
                    let on_hand = units(&mut rng, 3.0 + 5.0 * popularity, 0.6).max(1);
                    let protected = if on_hand >= 3 && rng.random_bool(0.3) {
                        rng.random_range(1..=2)
                    } else {
                        0
                    };
                    (carry, on_hand, protected)
                }
            };
            if !carry {
                continue;
            }
            let on_hand = on_hand.clamp(0, 2_000);
            let reserved = if on_hand > 0 && rng.random_bool(0.08) {
                rng.random_range(1..=on_hand.min(3))
            } else {
                0
            };
            let protected = protected.min(on_hand - reserved);
            rows.push(DemoStockRow {
                node: node_id,
                sku: SkuId(i as u32),
                on_hand,
                reserved,
                protected,
            });
        }
    }
    // Already in (node, sku) order by construction; keep the contract explicit.
    debug_assert!(
        rows.windows(2)
            .all(|w| (w[0].node, w[0].sku) < (w[1].node, w[1].sku))
    );
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DEMO_SEED;

    #[test]
    fn demo_stock_respects_eligibility_and_is_sane() {
        let net = Network::demo(DEMO_SEED);
        let rows = demo_stock(&net, DEMO_SEED);
        assert!(!rows.is_empty());
        for r in &rows {
            let (node, sku) = (net.node(r.node), net.sku(r.sku));
            assert!(
                !sku.cold_chain || node.cold_chain,
                "{} at {}",
                sku.code,
                node.code
            );
            assert!(!sku.hazmat || node.hazmat, "{} at {}", sku.code, node.code);
            assert!(
                r.on_hand >= 0 && r.reserved >= 0 && r.protected >= 0,
                "{r:?}"
            );
            assert!(r.reserved + r.protected <= r.on_hand, "{r:?}");
        }
        assert!(
            rows.windows(2)
                .all(|w| (w[0].node, w[0].sku) < (w[1].node, w[1].sku))
        );
        // Coverage per kind is in the documented ranges.
        let share = |code: &str| {
            let id = net.node_id(code).unwrap();
            rows.iter().filter(|r| r.node == id).count() as f64 / net.sku_count() as f64
        };
        assert!(
            (0.80..=0.95).contains(&share("DC-ATL")),
            "{}",
            share("DC-ATL")
        );
        assert!(
            (0.08..=0.22).contains(&share("ST-NYC")),
            "{}",
            share("ST-NYC")
        );
        let slc = net.node_id("3PL-SLC").unwrap();
        assert!(
            rows.iter()
                .filter(|r| r.node == slc)
                .all(|r| net.sku(r.sku).category != "apparel")
        );
        assert!(rows.iter().any(|r| r.protected > 0));
    }

    #[test]
    fn demo_stock_is_deterministic() {
        let net = Network::demo(DEMO_SEED);
        assert_eq!(demo_stock(&net, 1), demo_stock(&net, 1));
        assert_ne!(demo_stock(&net, 1), demo_stock(&net, 2));
    }
}
