//! Fixtures for the stock benchmarks: a synthetic network and stock CSV.

use std::io::Write;
use std::sync::Arc;

use allot_engine::network::{GeoPoint, Network, NetworkParts, Node, NodeKind, Sku, WeekdaySet};
use allot_engine::stock::StockLevel;
use chrono::NaiveTime;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A network of `nodes` nodes (`N0000`..) and `skus` SKUs (`SKU-000000`..),
/// with no carriers or regions (stock does not need them).
pub fn network(nodes: usize, skus: usize) -> Arc<Network> {
    let parts = NetworkParts {
        name: format!("stock-bench-{nodes}x{skus}"),
        currency: "USD".to_string(),
        country: "US".to_string(),
        nodes: (0..nodes).map(node).collect(),
        skus: (0..skus).map(sku).collect(),
        ..NetworkParts::default()
    };
    Arc::new(Network::from_parts(parts, "stock-bench").expect("valid bench network"))
}

fn node(i: usize) -> Node {
    Node {
        code: format!("N{i:04}"),
        name: format!("Node {i}"),
        kind: if i.is_multiple_of(10) {
            NodeKind::DistributionCenter
        } else {
            NodeKind::Store
        },
        location: GeoPoint {
            lat: 30.0 + (i % 20) as f64,
            lon: -120.0 + (i / 20) as f64,
        },
        time_zone: chrono_tz::America::Chicago,
        daily_capacity_units: 5_000,
        units_per_staff_hour: 60,
        order_cutoff: NaiveTime::from_hms_opt(15, 0, 0).expect("valid time"),
        processing_days: 0,
        open_days: WeekdaySet::ALL,
        holidays: Vec::new(),
        handling_cost_minor: 150,
        cold_chain: i.is_multiple_of(7),
        hazmat: i.is_multiple_of(11),
        accepts_returns: true,
        returns: Default::default(),
        replenishment_days: 7,
        storage_units: None,
        blocked_destinations: Vec::new(),
        services: Vec::new(),
    }
}

fn sku(i: usize) -> Sku {
    Sku {
        code: format!("SKU-{i:06}"),
        category: "general".to_string(),
        weight_grams: 250 + (i % 40) as u32 * 50,
        cold_chain: false,
        hazmat: false,
        resale_risk: 0.2,
        unit_price_minor: 999 + (i % 100) as i64 * 100,
    }
}

/// A deterministic stock level.
pub fn level(rng: &mut ChaCha8Rng) -> StockLevel {
    let on_hand = rng.random_range(0..500);
    StockLevel {
        on_hand,
        reserved: rng.random_range(0..=on_hand / 4),
        protected: rng.random_range(0..10),
    }
}

/// Writes a stock CSV with one row per (node, SKU) of `network`, node-major;
/// returns the number of rows.
pub fn write_csv(network: &Network, out: impl Write, seed: u64) -> std::io::Result<u64> {
    let mut out = std::io::BufWriter::with_capacity(1 << 20, out);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    writeln!(out, "node,sku,on_hand,reserved,protected")?;
    let mut rows = 0;
    for node in network.nodes() {
        for sku in network.skus() {
            let l = level(&mut rng);
            writeln!(
                out,
                "{},{},{},{},{}",
                node.code, sku.code, l.on_hand, l.reserved, l.protected
            )?;
            rows += 1;
        }
    }
    out.flush()?;
    Ok(rows)
}
