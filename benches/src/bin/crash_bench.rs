//! crash-bench: the crash harness (`allot_tests::crash`, the same code as
//! the gate test `server/tests/crash.rs`) at benchmark scale: a release
//! `allot serve` killed with SIGKILL `--kills` times under `--clients`
//! concurrent clients committing, confirming, releasing and reading
//! reservations of `--skus` contested SKUs, restarted on the same data
//! directory each time, every invariant checked after every restart.
//!
//! Measures the recovery time of each restart (from spawning the process to
//! its SERVING health status) and counts what the clients saw acknowledged
//! and the invariant violations (which must be 0). Progress goes to standard
//! error, one line per kill; the last line of standard output is one JSON
//! object. Exits 1 when a violation was found (the data directory and
//! server logs are then kept and named).
//!
//! Needs a release build of the server:
//! `cargo build --release -p allot-server && cargo run --release -p allot-benches --bin crash-bench`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use allot_tests::crash::{CrashConfig, CrashReport, quantile, run};
use clap::Parser;
use serde_json::json;

/// Command line.
#[derive(Debug, Parser)]
#[command(
    name = "crash-bench",
    about = "Kill a real allot server with SIGKILL under load, restart it, check what clients saw acknowledged"
)]
struct Args {
    /// The `allot` binary; default `$ALLOT_BIN_DIR/allot`, else
    /// `target/release/allot` of this repository.
    #[arg(long)]
    allot_bin: Option<PathBuf>,
    /// Kills (and restarts).
    #[arg(long, default_value_t = 20)]
    kills: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Contested SKUs the orders are for.
    #[arg(long, default_value_t = 6)]
    skus: usize,
    /// Most units of one order line.
    #[arg(long, default_value_t = 8)]
    max_quantity: u32,
    /// Shortest client work before a kill, ms.
    #[arg(long, default_value_t = 500)]
    kill_after_min_ms: u64,
    /// Longest client work before a kill, ms.
    #[arg(long, default_value_t = 2000)]
    kill_after_max_ms: u64,
    /// Seed of the kill moments, the clients' choices and orders; default
    /// from the clock (printed).
    #[arg(long)]
    seed: Option<u64>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let bin = args.allot_bin.clone().unwrap_or_else(default_bin);
    let seed = args.seed.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    eprintln!("crash-bench: {} (seed {seed})", bin.display());
    let mut config = CrashConfig::new(bin, seed);
    config.kills = args.kills;
    config.clients = args.clients;
    config.skus = args.skus;
    config.max_quantity = args.max_quantity;
    config.kill_after = (
        Duration::from_millis(args.kill_after_min_ms),
        Duration::from_millis(args.kill_after_max_ms),
    );
    config.stop_at_first_violation = false;
    config.progress = true;
    let started = Instant::now();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("crash-bench: no runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let report = match runtime.block_on(run(&config)) {
        Ok(report) => report,
        Err(error) => {
            eprintln!("crash-bench: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    eprint!("{}", report.summary(5));
    println!("{}", result_line(&report, started.elapsed()));
    if report.violation_count() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `$ALLOT_BIN_DIR/allot`, else `target/release/allot` of this repository.
fn default_bin() -> PathBuf {
    match std::env::var_os("ALLOT_BIN_DIR") {
        Some(dir) => PathBuf::from(dir).join("allot"),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/allot"),
    }
}

/// The JSON result line.
fn result_line(report: &CrashReport, elapsed: Duration) -> serde_json::Value {
    let ms = |d: Duration| (d.as_secs_f64() * 1e4).round() / 10.0;
    let recoveries = report.recoveries();
    let checks: Vec<Duration> = report.rounds.iter().map(|r| r.check).collect();
    let totals = report.totals();
    let by_kind: serde_json::Map<String, serde_json::Value> = report
        .violations_by_kind()
        .into_iter()
        .map(|(kind, n)| (kind.name().to_string(), json!(n)))
        .collect();
    json!({
        "bench": "crash",
        "seed": report.seed,
        "kills": report.kills(),
        "clients": report.clients,
        "skus": report.skus,
        "acknowledged_ops": totals.acked(),
        "commits_acked": totals.commits_acked,
        "commits_reserved": totals.commits_reserved,
        "commits_refused": totals.commits_refused,
        "commits_shed": totals.commits_shed,
        "confirms_acked": totals.confirms_acked,
        "releases_acked": totals.releases_acked,
        "gets_acked": totals.gets_acked,
        "unknown_outcomes": totals.unknown,
        "settled_after_restart": report.rounds.iter().map(|r| r.resolved).sum::<usize>(),
        "violations": report.violation_count(),
        "violations_by_kind": by_kind,
        "first_start_ms": ms(report.first_start),
        "recovery_ms": {
            "p50": ms(quantile(&recoveries, 0.5)),
            "max": ms(quantile(&recoveries, 1.0)),
            "each": recoveries.iter().map(|&d| ms(d)).collect::<Vec<_>>(),
        },
        "check_ms": {
            "p50": ms(quantile(&checks, 0.5)),
            "max": ms(quantile(&checks, 1.0)),
        },
        "elapsed_s": (elapsed.as_secs_f64() * 10.0).round() / 10.0,
    })
}
