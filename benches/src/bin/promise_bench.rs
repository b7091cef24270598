//! promise-bench: delivery promises for repeated carts on the demo network,
//! through the engine's promise path as the server runs it (the same
//! [`Promiser`](allot_engine::promise::Promiser) construction, the ETA
//! predictor prefilled for the current and next 15-minute bucket with its
//! refresher thread running, the promise cache at its default size).
//!
//! `--carts` distinct random carts of `--lines` lines; `--iters` requests
//! drawn uniformly from them (so a cart repeats, as carts do across page
//! views), each quoting every service level at the current time. The first
//! request of each cart plans it (a cache miss); the rest are hits while the
//! stock does not change. Timed: `Promiser::promise` from the domain
//! request to the options (no gRPC, no decision record).
//!
//! The last line is one JSON object with `p50_us`, `p99_us` and
//! `cache_hit_rate`.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use allot_benches::promise::PromiseWorld;
use allot_benches::score::{Summary, r2};
use allot_models::scoring::OrtRuntime;
use clap::Parser;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;

/// Command line.
#[derive(Debug, Parser)]
#[command(
    name = "promise-bench",
    about = "Benchmark delivery promises for repeated carts on the demo network"
)]
struct Args {
    /// Timed requests.
    #[arg(long, default_value_t = 20_000)]
    iters: usize,
    /// Distinct carts the requests are drawn from.
    #[arg(long, default_value_t = 200)]
    carts: usize,
    /// Lines per cart.
    #[arg(long, default_value_t = 3)]
    lines: usize,
    /// Seed of the carts and of the request order.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Time budget of each promise (the server's default is 50 ms).
    #[arg(long, default_value_t = 50)]
    budget_ms: u64,
    /// Repository root (models/ is read from here).
    #[arg(long, default_value = ".")]
    root: PathBuf,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let root = if args.root.join("models/eta.onnx").is_file() {
        args.root.clone()
    } else {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
    };
    let t = Instant::now();
    OrtRuntime::init(None)?;
    let world = PromiseWorld::new(&root.join("models"))?;
    let lanes = world.eta.as_ref().map_or(0, |e| e.lanes().len());
    println!(
        "promise-bench: demo network ({} nodes, {} regions), ETA model {}, {lanes} lanes prefilled for 2 buckets; ready in {:.0} ms",
        world.network.node_count(),
        world.network.regions().len(),
        if world.eta.is_some() {
            "loaded"
        } else {
            "absent (nominal transit)"
        },
        t.elapsed().as_secs_f64() * 1e3
    );
    let carts: Vec<u64> = (0..args.carts as u64)
        .map(|k| args.seed.wrapping_mul(1_000_003).wrapping_add(k))
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let budget = Duration::from_millis(args.budget_ms);
    let mut all = Vec::with_capacity(args.iters);
    let mut hits = Vec::with_capacity(args.iters);
    let mut misses = Vec::new();
    let mut options = 0usize;
    let mut empty = 0usize;
    for _ in 0..args.iters {
        let seed = carts[rng.random_range(0..carts.len())];
        let request = world.cart(seed, args.lines, SystemTime::now());
        let t = Instant::now();
        let outcome = world.promiser.promise(&request, t + budget)?;
        let ns = t.elapsed().as_nanos() as u64;
        all.push(ns);
        if outcome.from_cache {
            hits.push(ns);
        } else {
            misses.push(ns);
        }
        options += outcome.options.len();
        empty += usize::from(outcome.options.is_empty());
        black_box(outcome);
    }
    let stats = world.promiser.stats();
    let hit_rate = hits.len() as f64 / all.len().max(1) as f64;
    let total = Summary::of(&mut all);
    let hit = Summary::of(&mut hits);
    let miss = Summary::of(&mut misses);
    let eta = world.eta.as_ref().map(|e| e.stats());
    println!("{}", total.line("promise, repeated carts"));
    println!("{}", hit.line("  from the promise cache"));
    println!("{}", miss.line("  planned (cache miss)"));
    println!(
        "{} requests over {} carts of {} lines: cache hit rate {:.2}% (engine counters: {} hits, {} misses); {:.2} options per promise, {} with none",
        args.iters,
        args.carts,
        args.lines,
        100.0 * hit_rate,
        stats.hits,
        stats.misses,
        options as f64 / args.iters.max(1) as f64,
        empty
    );
    if let Some(s) = eta {
        println!(
            "eta predictor: {} lane hits, {} misses, {} model runs (prefill included)",
            s.hits, s.misses, s.runs
        );
    }
    let out = json!({
        "iters": args.iters,
        "carts": args.carts,
        "lines": args.lines,
        "p50_us": r2(total.p50_us),
        "p90_us": r2(total.p90_us),
        "p99_us": r2(total.p99_us),
        "p999_us": r2(total.p999_us),
        "hit_p50_us": r2(hit.p50_us),
        "hit_p99_us": r2(hit.p99_us),
        "miss_p50_us": r2(miss.p50_us),
        "miss_p99_us": r2(miss.p99_us),
        "cache_hit_rate": (hit_rate * 1e4).round() / 1e4,
        "options_per_promise": r2(options as f64 / args.iters.max(1) as f64),
        "eta_model": world.eta.is_some(),
    });
    println!("{out}");
    drop(world.refresher);
    Ok(())
}
