//! stock-bench: loads a 1,000,000-row stock CSV (200 nodes x 5,000 SKUs) and
//! measures load time, peak resident memory and availability lookup latency.
//! The last line of output is one JSON object.

use std::fs::File;
use std::hint::black_box;
use std::time::{Instant, SystemTime};

use allot_benches::stock::{network, write_csv};
use allot_engine::network::{NodeId, SkuId};
use allot_engine::stock::StockStore;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const NODES: usize = 200;
const SKUS: usize = 5_000;
const LOOKUPS: usize = 100_000;

/// A `kB` field of /proc/self/status, in MB.
fn status_mb(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// The `q` quantile of sorted nanosecond samples.
fn quantile(sorted: &[u64], q: f64) -> u64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let network = network(NODES, SKUS);
    let file = tempfile::NamedTempFile::new()?;
    let rows = write_csv(&network, file.as_file(), 42)?;
    let bytes = file.as_file().metadata()?.len();
    println!(
        "wrote {rows} rows ({:.1} MB) to {}",
        bytes as f64 / 1e6,
        file.path().display()
    );

    let store = StockStore::new(network.clone());
    let rss_before = status_mb("VmRSS");
    let start = Instant::now();
    let summary = store.load_csv(
        File::open(file.path())?,
        "stock-bench.csv",
        SystemTime::now(),
    )?;
    let load = start.elapsed();
    let rss_after = status_mb("VmRSS");
    let peak = status_mb("VmHWM");
    println!(
        "load_csv: {} rows, {} nodes in {:.1} ms; rss before {rss_before:.1} MB, after {rss_after:.1} MB, peak {peak:.1} MB",
        summary.rows,
        summary.nodes.len(),
        load.as_secs_f64() * 1e3
    );

    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut samples = Vec::with_capacity(LOOKUPS);
    let mut found = 0usize;
    for _ in 0..LOOKUPS {
        let sku = SkuId(rng.random_range(0..SKUS as u32));
        let t = Instant::now();
        let levels = black_box(store.sku_levels(sku));
        samples.push(t.elapsed().as_nanos() as u64);
        found += levels.len();
    }
    samples.sort_unstable();
    let (sl50, sl99) = (quantile(&samples, 0.5), quantile(&samples, 0.99));
    println!(
        "sku_levels over {NODES} nodes: p50 {:.2} us, p99 {:.2} us ({found} rows seen)",
        sl50 as f64 / 1e3,
        sl99 as f64 / 1e3
    );

    samples.clear();
    let mut total = 0i64;
    for _ in 0..LOOKUPS {
        let node = NodeId(rng.random_range(0..NODES as u32));
        let sku = SkuId(rng.random_range(0..SKUS as u32));
        let t = Instant::now();
        let level = black_box(store.level(node, sku));
        samples.push(t.elapsed().as_nanos() as u64);
        total += level.available();
    }
    samples.sort_unstable();
    let (l50, l99) = (quantile(&samples, 0.5), quantile(&samples, 0.99));
    println!(
        "level: p50 {l50} ns, p99 {l99} ns (checksum {total}; includes ~20 ns of timer overhead)"
    );

    // Built by hand to keep the documented key order.
    let json = format!(
        "{{\"rows\":{},\"load_ms\":{},\"peak_rss_mb\":{},\"rss_before_mb\":{},\"sku_levels_p50_us\":{},\"sku_levels_p99_us\":{},\"level_p50_ns\":{l50},\"level_p99_ns\":{l99}}}",
        summary.rows,
        round(load.as_secs_f64() * 1e3, 1),
        round(peak, 1),
        round(rss_before, 1),
        round(sl50 as f64 / 1e3, 2),
        round(sl99 as f64 / 1e3, 2),
    );
    debug_assert!(serde_json::from_str::<serde_json::Value>(&json).is_ok());
    println!("{json}");
    Ok(())
}
