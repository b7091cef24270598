//! replica-lag-bench: how long a stock change written on one replica takes
//! to show on the others (docs/scale-out.md), against replicas already
//! running over one shared ledger (benches/e2e/scale-out.sh starts them).
//!
//! Each sample sends one `StreamStockDeltas` call with one row (`SET` of
//! one (node, SKU) to a value no earlier sample used) to the first
//! endpoint, and once that call is acknowledged (the ledger transaction
//! committed) polls `GetSkuAvailability` of that node and SKU on every
//! other endpoint, back to back, until each shows the new on-hand. The lag
//! of a replica is the time from the acknowledgement to the answer of its
//! first poll that shows the value (so it includes one poll's round trip,
//! reported as `poll_rtt_*`). "Every replica" is the largest lag of a
//! sample: when the change had reached them all.
//!
//! Stops after `--samples` samples or `--max-seconds`, whichever comes
//! first; a replica that does not show a change within `--timeout-ms` is
//! counted in `timeouts` and the sample left out of the percentiles.
//! Progress goes to standard error; the last line of standard output is
//! one JSON object (times in microseconds).
//!
//! `cargo build --release -p allot-benches && target/release/replica-lag-bench --endpoints http://127.0.0.1:50061,http://127.0.0.1:50062,http://127.0.0.1:50063`

use std::process::ExitCode;
use std::time::{Duration, Instant};

use allot_client::AllotClient;
use allot_client::proto::{
    DeltaKind, GetNetworkRequest, GetSkuAvailabilityRequest, GetStockStatusRequest, StockDelta,
};
use clap::Parser;
use serde_json::json;

/// Command line.
#[derive(Debug, Parser)]
#[command(
    name = "replica-lag-bench",
    about = "Write a one-row stock change on one replica, poll the others until they show it"
)]
struct Args {
    /// The replicas, comma-separated: the first takes the writes, the
    /// others are polled (at least two).
    #[arg(long, value_delimiter = ',', required = true)]
    endpoints: Vec<String>,
    /// Samples to take.
    #[arg(long, default_value_t = 300)]
    samples: usize,
    /// Stop taking samples after this long, s.
    #[arg(long, default_value_t = 60)]
    max_seconds: u64,
    /// Longest wait for a replica to show a change, ms.
    #[arg(long, default_value_t = 5000)]
    timeout_ms: u64,
    /// Pause between samples, ms.
    #[arg(long, default_value_t = 5)]
    pause_ms: u64,
    /// Add a random pause of up to this long, ms (so that samples do not
    /// lock onto the phase of a periodic poll).
    #[arg(long, default_value_t = 0)]
    pause_jitter_ms: u64,
    /// Node written; default the network's first node.
    #[arg(long)]
    node: Option<String>,
    /// SKU written; default the network's first SKU.
    #[arg(long)]
    sku: Option<String>,
}

/// What one replica's polls of one sample saw.
struct Seen {
    /// Time from the write's acknowledgement to the first poll showing it.
    lag: Option<Duration>,
    polls: u64,
    polling: Duration,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("replica-lag-bench: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    if args.endpoints.len() < 2 {
        return Err("give at least two endpoints: a writer and a replica to poll".into());
    }
    let mut clients = Vec::new();
    for endpoint in &args.endpoints {
        clients.push(AllotClient::connect(endpoint).await?);
    }
    let writer = &clients[0];
    let network = writer
        .admin()
        .get_network(GetNetworkRequest { include_skus: true })
        .await?
        .into_inner();
    let node = match &args.node {
        Some(node) => node.clone(),
        None => network
            .nodes
            .first()
            .ok_or("the network has no node")?
            .code
            .clone(),
    };
    let sku = match &args.sku {
        Some(sku) => sku.clone(),
        None => network
            .skus
            .first()
            .ok_or("the network has no SKU")?
            .code
            .clone(),
    };
    let status = writer
        .inventory()
        .get_stock_status(GetStockStatusRequest {})
        .await?
        .into_inner();
    let mut sequence = status
        .nodes
        .iter()
        .find(|n| n.node == node)
        .ok_or_else(|| format!("node {node} is not in the stock status"))?
        .sequence;
    let start_on_hand = on_hand(writer, &node, &sku).await?;
    // Values no earlier sample (or run) used: far above the current level.
    let base = start_on_hand.max(0) + 1_000_000;
    eprintln!(
        "replica-lag-bench: {} at {node}, writer {}, polling {}",
        sku,
        args.endpoints[0],
        args.endpoints[1..].join(", ")
    );

    let timeout = Duration::from_millis(args.timeout_ms);
    let deadline = Instant::now() + Duration::from_secs(args.max_seconds);
    let followers = clients.len() - 1;
    let mut per_replica: Vec<Vec<u64>> = vec![Vec::new(); followers];
    let mut every: Vec<u64> = Vec::new();
    let mut acks: Vec<u64> = Vec::new();
    let mut timeouts = 0u64;
    let mut polls = 0u64;
    let mut polling = Duration::ZERO;
    let mut taken = 0usize;
    // xorshift64, seeded from the clock: only spreads the pauses.
    let mut jitter = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64)
        | 1;
    while taken < args.samples && Instant::now() < deadline {
        sequence += 1;
        let value = base + taken as i64;
        let sent = Instant::now();
        let summary = writer
            .stream_deltas(
                vec![StockDelta {
                    node: node.clone(),
                    sku: sku.clone(),
                    sequence,
                    kind: DeltaKind::Set as i32,
                    quantity: value,
                    protected: None,
                }],
                1,
            )
            .await?;
        let acked = Instant::now();
        if summary.applied != 1 {
            return Err(
                format!("the delta was not applied (sequence {sequence}): {summary:?}").into(),
            );
        }
        acks.push(micros(acked - sent));
        let seen = futures::future::join_all(
            clients[1..]
                .iter()
                .map(|c| poll_until(c, &node, &sku, value, acked, timeout)),
        )
        .await;
        let mut worst = Some(Duration::ZERO);
        for (i, s) in seen.into_iter().enumerate() {
            let s = s?;
            polls += s.polls;
            polling += s.polling;
            match s.lag {
                Some(lag) => {
                    per_replica[i].push(micros(lag));
                    worst = worst.map(|w| w.max(lag));
                }
                None => {
                    timeouts += 1;
                    worst = None;
                }
            }
        }
        if let Some(worst) = worst {
            every.push(micros(worst));
        }
        taken += 1;
        if taken.is_multiple_of(50) {
            eprintln!(
                "replica-lag-bench: {taken} samples, every replica p50 {} us",
                quantile(&every, 0.5)
            );
        }
        let mut pause = args.pause_ms;
        if args.pause_jitter_ms > 0 {
            jitter ^= jitter << 13;
            jitter ^= jitter >> 7;
            jitter ^= jitter << 17;
            pause += jitter % (args.pause_jitter_ms + 1);
        }
        if pause > 0 {
            tokio::time::sleep(Duration::from_millis(pause)).await;
        }
    }

    let all: Vec<u64> = per_replica.iter().flatten().copied().collect();
    let replicas: Vec<_> = per_replica
        .iter()
        .zip(&args.endpoints[1..])
        .map(|(lags, endpoint)| {
            json!({
                "endpoint": endpoint,
                "shown": lags.len(),
                "p50_us": quantile(lags, 0.5),
                "p99_us": quantile(lags, 0.99),
                "max_us": quantile(lags, 1.0),
            })
        })
        .collect();
    let report = json!({
        "bench": "replica-lag",
        "node": node,
        "sku": sku,
        "writer": args.endpoints[0],
        "samples": taken,
        "timeouts": timeouts,
        "timeout_ms": args.timeout_ms,
        "pause_ms": args.pause_ms,
        "pause_jitter_ms": args.pause_jitter_ms,
        "every_replica_p50_us": quantile(&every, 0.5),
        "every_replica_p90_us": quantile(&every, 0.9),
        "every_replica_p99_us": quantile(&every, 0.99),
        "every_replica_max_us": quantile(&every, 1.0),
        "one_replica_p50_us": quantile(&all, 0.5),
        "one_replica_p99_us": quantile(&all, 0.99),
        "write_ack_p50_us": quantile(&acks, 0.5),
        "write_ack_p99_us": quantile(&acks, 0.99),
        "polls": polls,
        "poll_rtt_mean_us": micros(polling).checked_div(polls).unwrap_or(0),
        "replicas": replicas,
    });
    println!("{report}");
    Ok(())
}

/// Polls `client` for the on-hand of `sku` at `node` until it is `value`
/// or `timeout` after `since` passed.
async fn poll_until(
    client: &AllotClient,
    node: &str,
    sku: &str,
    value: i64,
    since: Instant,
    timeout: Duration,
) -> Result<Seen, Box<dyn std::error::Error>> {
    let mut inventory = client.inventory();
    let mut polls = 0;
    let started = Instant::now();
    loop {
        let answer = inventory
            .get_sku_availability(GetSkuAvailabilityRequest {
                sku: sku.to_string(),
                nodes: vec![node.to_string()],
                include_zero: true,
            })
            .await?
            .into_inner();
        polls += 1;
        let now = Instant::now();
        if answer
            .nodes
            .iter()
            .any(|n| n.node == node && n.on_hand == value)
        {
            return Ok(Seen {
                lag: Some(now - since),
                polls,
                polling: now - started,
            });
        }
        if now - since > timeout {
            return Ok(Seen {
                lag: None,
                polls,
                polling: now - started,
            });
        }
    }
}

/// The on-hand of `sku` at `node` on `client`.
async fn on_hand(
    client: &AllotClient,
    node: &str,
    sku: &str,
) -> Result<i64, Box<dyn std::error::Error>> {
    let answer = client
        .inventory()
        .get_sku_availability(GetSkuAvailabilityRequest {
            sku: sku.to_string(),
            nodes: vec![node.to_string()],
            include_zero: true,
        })
        .await?
        .into_inner();
    Ok(answer
        .nodes
        .iter()
        .find(|n| n.node == node)
        .map_or(0, |n| n.on_hand))
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// The `q` quantile (nearest rank) of `values`; 0 when empty.
fn quantile(values: &[u64], q: f64) -> u64 {
    if values.is_empty() {
        return 0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}
