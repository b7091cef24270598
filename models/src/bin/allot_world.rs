//! `allot-world`: generates the synthetic retail world and writes its
//! training tables.
//!
//! ```text
//! cargo run --release -p allot-models --bin allot-world -- --seed 7 --out models/data
//! ```

use std::path::PathBuf;
use std::time::Instant;

use allot_models::export::write_world;
use allot_models::world::{World, WorldConfig};
use clap::Parser;

/// Generate the synthetic world and write fraud.csv, eta.csv, demand.csv,
/// returns.csv and world.json.
#[derive(Debug, Parser)]
#[command(name = "allot-world", version)]
struct Args {
    /// World seed (same seed, same files byte for byte).
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Output directory (created if missing).
    #[arg(long, default_value = "models/data")]
    out: PathBuf,
    /// Generate the small test world instead of the full one.
    #[arg(long)]
    small: bool,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let started = Instant::now();
    let config = if args.small {
        WorldConfig::small(args.seed)
    } else {
        WorldConfig::new(args.seed)
    };
    let world = World::generate(config);
    let generated = started.elapsed();
    match write_world(&world, &args.out) {
        Ok(s) => {
            let c = |k: &str| s.counts.get(k).copied().unwrap_or(0);
            println!(
                "allot-world: seed {} -> {}: {} orders ({:.2}% fraud), {} eta rows, {} demand rows, {} returns; generated in {:.1}s, total {:.1}s",
                s.seed,
                args.out.display(),
                c("orders"),
                100.0 * s.fraud_rate,
                c("eta_rows"),
                c("demand_rows"),
                c("returns"),
                generated.as_secs_f64(),
                started.elapsed().as_secs_f64()
            );
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("allot-world: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
