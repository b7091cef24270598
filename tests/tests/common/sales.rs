//! Sales-history files for the planning tests: what a SKU sold per day in a
//! region on the days before that region's today.

use std::path::{Path, PathBuf};

use allot_engine::network::Network;
use chrono::{Days, Utc};

use super::test_config;

/// The demo network the test server serves.
pub fn network() -> Network {
    Network::demo(test_config().network.demo_seed)
}

/// The code of the region ZIP code `postal` belongs to.
pub fn postal_region(postal: &str) -> String {
    let net = network();
    let id = net.resolve_postal_code(postal).unwrap();
    net.region(id).code.clone()
}

/// Writes `dir/sales.csv`: each `(sku, region, units)` row sold `units` a
/// day on each of the `days` days before its region's today, and nothing
/// else sold anywhere.
pub fn history_file(dir: &Path, days: u64, rows: &[(&str, &str, u32)]) -> PathBuf {
    let net = network();
    let mut csv = String::from("sku,region,date,units\n");
    for back in 1..=days {
        for &(sku, region, units) in rows {
            let zone = net.region(net.region_id(region).unwrap()).time_zone;
            let day = Utc::now().with_timezone(&zone).date_naive() - Days::new(back);
            csv.push_str(&format!("{sku},{region},{day},{units}\n"));
        }
    }
    let path = dir.join("sales.csv");
    std::fs::write(&path, csv).unwrap();
    path
}
