//! `allotctl load`: arguments and runner of the load generator.

use std::time::Duration;

use allot_client::load::{
    LoadConfig, Mix, Pacing, RpcKind, Stop, first_request_body_from, parse_duration, run_load_many,
};
use anyhow::bail;
use clap::Args;

use super::output::write_line;
use super::server::Server;

/// What `allotctl load --help` adds after the options.
pub const LOAD_AFTER_HELP: &str = "\
For load testing your own allot server, normally on loopback: it sends only
to --endpoint, as fast as asked. Do not point it at servers you do not run.
Several --endpoint (or ENDPOINT,ENDPOINT): the calls are spread over the
replicas that serve; the report says how many targets there were and how
many served at the end.

Examples:
  allotctl load --rpc health --concurrency 32 --duration 10s
  allotctl load --rpc allocate --lines 5 --rate 2000 --duration 30s --json
  allotctl load --rpc mix --mix allocate=6,promise=3,score=1 --concurrency 64
  allotctl load --rpc allocate-commit --requests 10000 --concurrency 8
  allotctl load --rpc allocate --write-body /tmp/allocate.bin   (for h2load)
  allotctl --endpoint 10.0.0.5:50051,10.0.0.6:50051 --tls-ca ca.pem load --rpc promise

Closed loop (--concurrency N, the default with N=16): N senders, each sending
its next request when the previous answered; latency from the send.
Open loop (--rate R): requests at their scheduled times whatever the answers;
latency from the intended send time (coordinated omission corrected); at most
--max-in-flight outstanding, the rest counted as client_dropped.

allocate and allocate-commit send the one call an OMS makes: each order
carries its buyer (fraud-scored, like score) and a delivery date promised 5
days after the run starts (lateness priced by the ETA model); --plain
sends neither.
allocate-commit reserves stock under a fresh idempotency key per request;
one request in 20 replays an earlier key and is reported as
allocate-commit-retry. Requests come from a pool of random orders of the
served network generated before the run (order k from seed SEED+k).

Output: progress on stderr every second (--quiet: none); at the end a table
on stdout, and with --json one JSON object as the last stdout line: rpc,
mode, concurrency|rate, duration_s, targets (and targets_serving with
several), connections, ok, errors {CODE: n}, rps, p50_us, p90_us, p99_us,
p999_us, max_us, ok_latency, client_dropped, and by_rpc when several RPCs
are sent. Latencies in microseconds over every answer (ok_latency: OK
answers only); rps = answers per measured second.";

/// Arguments of `load`.
#[derive(Debug, Args)]
#[command(after_help = LOAD_AFTER_HELP)]
pub struct LoadArgs {
    /// What to send: health (the empty-RPC baseline), allocate,
    /// allocate-commit, promise, score, or mix (see --mix).
    #[arg(long, value_name = "RPC", default_value = "allocate", value_parser = parse_rpc)]
    pub rpc: String,
    /// With --rpc mix: weights per RPC.
    #[arg(
        long,
        value_name = "RPC=W,...",
        default_value = "allocate=6,promise=3,score=1"
    )]
    pub mix: Mix,
    /// Lines per random order.
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub lines: u16,
    /// Seed of the random orders.
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub seed: u64,
    /// Closed loop: this many requests outstanding at all times.
    #[arg(long, value_name = "N", conflicts_with = "rate", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub concurrency: Option<u32>,
    /// Open loop: requests per second, whatever the answers.
    #[arg(long, value_name = "R", value_parser = parse_rate)]
    pub rate: Option<f64>,
    /// Open loop: most requests outstanding; beyond it they are dropped by
    /// the client (client_dropped).
    #[arg(long, value_name = "N", default_value_t = 4096, requires = "rate", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_in_flight: u32,
    /// How long to send, after the warmup (e.g. 500ms, 10s, 2m).
    #[arg(long, value_name = "TIME", value_parser = parse_duration, conflicts_with = "requests")]
    pub duration: Option<Duration>,
    /// Send this many requests, after the warmup, instead of --duration.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub requests: Option<u64>,
    /// Sent first and left out of the results.
    #[arg(long, value_name = "TIME", default_value = "1s", value_parser = parse_duration)]
    pub warmup: Duration,
    /// HTTP/2 connections (to each target), used round robin.
    #[arg(long, value_name = "C", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub connections: u16,
    /// gRPC deadline of each request, milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout_ms: u64,
    /// Distinct random orders generated before the run.
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub pool: u32,
    /// Allocate without a buyer or a promised date (no fraud scoring, no
    /// lateness term): the allocation alone, for comparison with the one
    /// call.
    #[arg(long)]
    pub plain: bool,
    /// Print the results as one JSON object on the last stdout line, after
    /// the table.
    #[arg(long)]
    pub json: bool,
    /// No progress line.
    #[arg(long)]
    pub quiet: bool,
    /// Send nothing: write the first request of the run as a gRPC body
    /// (5-byte frame header + protobuf) to FILE and print the path to POST
    /// it to, for an independent HTTP/2 load tool such as h2load.
    #[arg(long, value_name = "FILE")]
    pub write_body: Option<std::path::PathBuf>,
}

impl LoadArgs {
    /// The run these arguments ask for.
    pub fn config(&self) -> anyhow::Result<LoadConfig> {
        let is_mix = self.rpc == "mix";
        let mix = if is_mix {
            self.mix.clone()
        } else {
            Mix::single(self.rpc.parse::<RpcKind>().map_err(anyhow::Error::msg)?)
        };
        let mut config = LoadConfig::new(mix);
        config.is_mix = is_mix;
        config.lines = usize::from(self.lines);
        config.seed = self.seed;
        config.pool_size = self.pool as usize;
        config.plain_allocate = self.plain;
        config.pacing = match (self.rate, self.concurrency) {
            (Some(rate), _) => Pacing::Open {
                rate,
                max_in_flight: self.max_in_flight as usize,
            },
            (None, concurrency) => Pacing::Closed {
                concurrency: concurrency.unwrap_or(16) as usize,
            },
        };
        config.stop = match (self.requests, self.duration) {
            (Some(n), _) => Stop::Requests(n),
            (None, Some(d)) if d.is_zero() => bail!("--duration must be more than 0"),
            (None, Some(d)) => Stop::Duration(d),
            (None, None) => Stop::Duration(Duration::from_secs(10)),
        };
        config.warmup = self.warmup;
        config.connections = usize::from(self.connections);
        config.timeout = Duration::from_millis(self.timeout_ms);
        Ok(config)
    }
}

/// Runs `load` against `server` (its replicas, with several endpoints):
/// the table on stdout, and with `--json` the JSON object as the last line.
pub async fn load(server: &Server, args: LoadArgs) -> anyhow::Result<()> {
    let config = args.config()?;
    if let Some(file) = &args.write_body {
        let (path, body) = first_request_body_from(&server.connect().await?, &config).await?;
        std::fs::write(file, body)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", file.display()))?;
        write_line(path)?;
        return Ok(());
    }
    let report = run_load_many(&server.endpoints, &server.options, &config, !args.quiet).await?;
    write_line(report.table().trim_end())?;
    if args.json {
        write_line(&report.to_json().to_string())?;
    }
    Ok(())
}

/// `--rpc`: a kind or `mix`.
fn parse_rpc(text: &str) -> Result<String, String> {
    if text == "mix" {
        return Ok(text.to_string());
    }
    text.parse::<RpcKind>()
        .map(|kind| kind.name().to_string())
        .map_err(|e| format!("{e}, or mix"))
}

/// `--rate`: a positive, finite number of requests per second.
fn parse_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(r) if r > 0.0 && r <= 10_000_000.0 => Ok(r),
        Ok(_) => Err(String::from("must be more than 0 (and at most 10 million)")),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::allotctl::cli::{Cli, Command};

    fn parse(args: &[&str]) -> Result<LoadConfig, String> {
        let argv = ["allotctl", "load"].iter().chain(args);
        let cli = Cli::try_parse_from(argv).map_err(|e| e.to_string())?;
        let Command::Load(load) = cli.command else {
            panic!("not load");
        };
        load.config().map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_are_a_closed_loop_of_allocations() {
        let config = parse(&[]).unwrap();
        assert_eq!(config.rpc_label(), "allocate");
        assert_eq!(config.pacing, Pacing::Closed { concurrency: 16 });
        assert_eq!(config.stop, Stop::Duration(Duration::from_secs(10)));
        assert_eq!((config.lines, config.connections), (5, 2));
        assert_eq!(config.timeout, Duration::from_millis(1000));
    }

    #[test]
    fn open_loop_mix_by_requests() {
        let config = parse(&[
            "--rpc",
            "mix",
            "--mix",
            "health=1,score=3",
            "--rate",
            "500",
            "--requests",
            "99",
            "--warmup",
            "0s",
        ])
        .unwrap();
        assert_eq!(config.rpc_label(), "mix");
        assert_eq!(config.mix.to_string(), "health=1,score=3");
        assert_eq!(
            config.pacing,
            Pacing::Open {
                rate: 500.0,
                max_in_flight: 4096
            }
        );
        assert_eq!(config.stop, Stop::Requests(99));
        assert_eq!(config.warmup, Duration::ZERO);
    }

    #[test]
    fn rejects_contradictions() {
        assert!(parse(&["--rate", "10", "--concurrency", "3"]).is_err());
        assert!(parse(&["--duration", "1s", "--requests", "3"]).is_err());
        assert!(parse(&["--max-in-flight", "3"]).is_err());
        assert!(parse(&["--rate", "0"]).is_err());
        assert!(parse(&["--rpc", "bogus"]).is_err());
        assert!(parse(&["--duration", "0s"]).is_err());
        assert!(parse(&["--duration", "5x"]).is_err());
    }
}
