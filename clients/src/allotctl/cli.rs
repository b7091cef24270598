//! Command-line arguments of `allotctl` (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Output and exit code conventions, shown at the end of `--help`.
const AFTER_HELP: &str = "\
Output:
  Every command prints the proto3 JSON (canonical mapping: lowerCamelCase
  field names, enum value names, 64-bit integers as strings, RFC 3339
  timestamps, default values omitted) of the server's response to stdout.
  A command that returns one response prints one pretty-printed document.
  `stock load` and `stock node --all` return one response per node or page
  and print JSON Lines: one compact JSON document per line.
  `health` prints {\"status\":\"SERVING\"} (or NOT_SERVING, UNKNOWN, ...).
  `explain`, `watch` and `replay` print text for people; give `--json`
  for proto3 JSON (`watch --json`: JSON Lines).

Errors:
  Errors go to stderr as `allotctl: <GRPC_CODE>: <message>`.
  Exit codes: 0 success, 1 error (or `health` not SERVING), 2 usage error.";

/// Command-line client for the allot decision engine.
#[derive(Debug, Parser)]
#[command(name = "allotctl", version, after_help = AFTER_HELP)]
pub struct Cli {
    /// gRPC endpoint of the allot server (a missing scheme means http://).
    /// Several replicas: repeat the flag or separate endpoints with commas
    /// (ALLOTCTL_ENDPOINT too); calls are spread over the replicas that
    /// serve, and one that is down or draining gets none.
    #[arg(
        long = "endpoint",
        global = true,
        env = "ALLOTCTL_ENDPOINT",
        value_name = "ENDPOINT",
        value_delimiter = ',',
        default_value = "http://127.0.0.1:50051"
    )]
    pub endpoints: Vec<String>,

    /// TLS and token.
    #[command(flatten)]
    pub connection: super::server::ConnectArgs,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Checks grpc.health.v1; exits 0 only if the status is SERVING.
    Health(HealthArgs),
    /// Loads and reads stock (InventoryService).
    #[command(subcommand)]
    Stock(StockCommand),
    /// Describes the loaded network (AdminService.GetNetwork).
    Network {
        /// Include the SKU catalogue (can be large).
        #[arg(long)]
        include_skus: bool,
    },
    /// Allocate an order: which nodes ship which lines (prints the
    /// AllocateResponse).
    Allocate(AllocateArgs),
    /// Score an order for fraud (prints the RiskAssessment).
    Score(ScoreArgs),
    /// Report returned orders, which feed the customers' return rates in
    /// fraud scoring (RiskService.ReportReturns; prints the
    /// ReportReturnsResponse).
    Returns(ReturnsArgs),
    /// Quote a cart's delivery options: per service level the plan, ship
    /// date, delivery window, on-time probability and cost (prints the
    /// PromiseResponse).
    Promise(PromiseArgs),
    /// Read, confirm or release a reservation made by a committed allocation.
    #[command(subcommand)]
    Reservation(ReservationCommand),
    /// Re-plan held orders together: moves that save cost or packages
    /// now that stock or capacity changed (AllocationService.ReoptimizeBacklog);
    /// `--commit` applies them all at once.
    Reoptimize(super::reoptimize::ReoptimizeArgs),
    /// Price your own plan for an order (shadow mode) beside the optimal one.
    Evaluate {
        /// An EvaluatePlanRequest as proto3 JSON: {"order": {...}, "plan": [...]}.
        #[arg(long, value_name = "FILE.json")]
        request: PathBuf,
    },
    /// Explain a recorded decision for a person: what was decided, why, what
    /// the alternatives would have cost, what it was decided from
    /// (DecisionService.ExplainDecision; `--json` for the record itself).
    Explain(super::decisions::ExplainArgs),
    /// Follow decision and reservation events, one line each
    /// (DecisionService.WatchDecisions); resume with `--from` the last
    /// position printed.
    Watch(super::decisions::WatchArgs),
    /// Re-run a recorded decision against what it recorded and say whether
    /// the answer is identical (DecisionService.ReplayDecision).
    Replay(super::decisions::ReplayArgs),
    /// Load-test your own server (loopback): latency percentiles,
    /// throughput and status codes per RPC.
    Load(Box<super::load::LoadArgs>),
    /// Model versions: info, reload through the gates, rollback, shadows,
    /// drift (AdminService).
    #[command(subcommand)]
    Models(super::models::ModelsCommand),
    /// Forecast the units SKUs will sell per day in regions or nodes'
    /// regions, with the 10/50/90% quantiles (PlanningService.ForecastDemand).
    Forecast(super::forecast::ForecastArgs),
    /// Route a customer return: the node it ships to and each unit's
    /// disposition there, by expected recovery (ReturnsService.RouteReturn).
    Return(super::returns::ReturnArgs),
    /// Plans for the network's operations (PlanningService): `workload`,
    /// units and staff hours per node and day; `transfers`, stock moves
    /// between nodes.
    #[command(subcommand)]
    Plan(super::plan::PlanCommand),
}

/// Arguments of `health`.
#[derive(Debug, Args)]
pub struct HealthArgs {
    /// Health service name; empty means the server as a whole.
    #[arg(long, value_name = "NAME", default_value = "")]
    pub service: String,
    /// Poll until SERVING for at most this many seconds (fractions allowed);
    /// the server may still be starting.
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub wait: Option<f64>,
}

/// The `stock` subcommands.
#[derive(Debug, Subcommand)]
pub enum StockCommand {
    /// Replaces node snapshots from a bulk stock CSV (ReplaceNodeStock).
    ///
    /// Header `node,sku,on_hand[,reserved][,protected]` in any column order;
    /// empty reserved/protected mean 0. One ReplaceNodeStock stream per node,
    /// nodes in file order, at most 5000 rows per message. The whole file is
    /// checked first: a malformed file sends nothing. Prints JSON Lines, one
    /// ReplaceNodeStockResponse per node.
    Load {
        /// The CSV file.
        #[arg(value_name = "FILE.csv")]
        file: PathBuf,
        /// Delta sequence the snapshots reflect (0: none). A node that has
        /// applied later deltas refuses the snapshot.
        #[arg(long, value_name = "N", default_value_t = 0)]
        as_of_sequence: u64,
        /// Each node's feed restarts its numbering at --as-of-sequence: take
        /// the snapshot even when it is older than the deltas applied.
        #[arg(long)]
        reset_feed: bool,
    },
    /// Streams stock deltas from a CSV (StreamStockDeltas).
    ///
    /// Header `node,sku,sequence,kind,quantity[,protected]` in any column
    /// order; kind `adjust` or `set` (any case; anything else is sent as
    /// DELTA_KIND_UNSPECIFIED and quarantined by the server); empty protected
    /// leaves protected unchanged. The whole file is checked first: a
    /// malformed file sends nothing. Prints the StockDeltaSummary;
    /// quarantined rows are reported there and do not fail the command.
    Deltas {
        /// The CSV file.
        #[arg(value_name = "FILE.csv")]
        file: PathBuf,
        /// Deltas per StockDeltaBatch message.
        #[arg(
            long,
            value_name = "N",
            default_value_t = allot_client::DEFAULT_DELTA_BATCH_SIZE as u64,
            value_parser = clap::value_parser!(u64).range(1..)
        )]
        batch_size: u64,
    },
    /// Availability of one SKU across nodes (GetSkuAvailability).
    Availability {
        /// SKU code.
        sku: String,
        /// Only these nodes (repeatable); default all nodes.
        #[arg(long = "node", value_name = "CODE")]
        nodes: Vec<String>,
        /// Also list nodes with no stock.
        #[arg(long)]
        include_zero: bool,
    },
    /// Stock rows of one node (GetNodeStock).
    Node {
        /// Node code.
        code: String,
        /// Rows per page (server default 1000, at most 10000).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10_000))]
        page_size: Option<u32>,
        /// Follow next_page_token through every page; prints JSON Lines, one
        /// NodeStock page per line.
        #[arg(long)]
        all: bool,
    },
    /// Snapshot versions, sequences and quarantine counters (GetStockStatus).
    Status,
}

/// Parses a non-negative, finite number of seconds.
/// Which order to allocate.
#[derive(Debug, Args)]
#[group(required = true, multiple = false, id = "source")]
pub struct OrderSource {
    /// An AllocateRequest as proto3 JSON.
    #[arg(long, value_name = "FILE.json")]
    pub order: Option<PathBuf>,
    /// A valid random order for the served network, reproducible from SEED.
    #[arg(long, value_name = "SEED")]
    pub random_order: Option<u64>,
}

/// `allocate` arguments.
#[derive(Debug, Args)]
pub struct AllocateArgs {
    #[command(flatten)]
    pub source: OrderSource,
    /// Lines of the random order.
    #[arg(long, value_name = "N", default_value_t = 3, requires = "random_order")]
    pub lines: usize,
    /// Reserve the plan's stock under this idempotency key.
    #[arg(long, value_name = "KEY")]
    pub commit: Option<String>,
    /// Attach a synthetic buyer (the one `score --random-order` uses for the
    /// same seed; buyer 0 with --order), so the order is scored for fraud in
    /// the same call.
    #[arg(long)]
    pub context: bool,
    /// Promise delivery this many days from now (`promised_by`), so the ETA
    /// model prices the risk of being late.
    #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(0..=365))]
    pub promise_days: Option<u32>,
    /// Print the request that is sent (proto3 JSON) to stderr.
    #[arg(long)]
    pub show_request: bool,
    /// gRPC deadline of the call, milliseconds (the solve's time budget).
    #[arg(long, value_name = "MS")]
    pub timeout_ms: Option<u64>,
}

/// Which order to score.
#[derive(Debug, Args)]
#[group(required = true, multiple = false, id = "score_source")]
pub struct ScoreSource {
    /// A ScoreOrderRequest as proto3 JSON.
    #[arg(long, value_name = "FILE.json")]
    pub order: Option<PathBuf>,
    /// A valid random order for the served network, reproducible from SEED,
    /// from a customer, device and card derived from the seed.
    #[arg(long, value_name = "SEED")]
    pub random_order: Option<u64>,
}

/// `score` arguments.
#[derive(Debug, Args)]
pub struct ScoreArgs {
    #[command(flatten)]
    pub source: ScoreSource,
    /// Lines of the random order.
    #[arg(long, value_name = "N", default_value_t = 3, requires = "random_order")]
    pub lines: usize,
}

/// Which returned orders to report.
#[derive(Debug, Args)]
#[group(required = true, multiple = false, id = "returns_source")]
pub struct ReturnsSource {
    /// A ReportReturnsRequest as proto3 JSON:
    /// {"returns": [{"orderId": "...", "customerId": "...", "returnedAt": "..."}]}.
    #[arg(long, value_name = "FILE.json")]
    pub request: Option<PathBuf>,
    /// One returned order: its order id, as ScoreOrder or Allocate received it.
    #[arg(long, value_name = "ORDER_ID")]
    pub order: Option<String>,
}

/// `returns` arguments.
#[derive(Debug, Args)]
pub struct ReturnsArgs {
    #[command(flatten)]
    pub source: ReturnsSource,
    /// The order's customer id, as ScoreOrder's `context.customer_id` named
    /// them.
    #[arg(
        long,
        value_name = "ID",
        requires = "order",
        conflicts_with = "request"
    )]
    pub customer: Option<String>,
    /// A guest's e-mail address, as `context.email` gave it (without
    /// `--customer`).
    #[arg(
        long,
        value_name = "ADDRESS",
        requires = "order",
        conflicts_with = "request"
    )]
    pub email: Option<String>,
    /// When the return was received, RFC 3339 (e.g. 2026-12-01T10:00:00Z);
    /// absent: when it is reported.
    #[arg(
        long,
        value_name = "TIME",
        requires = "order",
        conflicts_with = "request",
        value_parser = parse_timestamp
    )]
    pub returned_at: Option<prost_types::Timestamp>,
}

fn parse_timestamp(text: &str) -> Result<prost_types::Timestamp, String> {
    text.parse::<prost_types::Timestamp>()
        .map_err(|e| format!("not an RFC 3339 time such as 2026-12-01T10:00:00Z: {e}"))
}

/// Which cart to quote.
#[derive(Debug, Args)]
#[group(required = true, multiple = false, id = "cart_source")]
pub struct CartSource {
    /// A PromiseRequest as proto3 JSON.
    #[arg(long, value_name = "FILE.json")]
    pub cart: Option<PathBuf>,
    /// A valid random cart for the served network, reproducible from SEED
    /// (the cart of `allocate --random-order SEED`).
    #[arg(long, value_name = "SEED")]
    pub random_cart: Option<u64>,
}

/// `promise` arguments.
#[derive(Debug, Args)]
pub struct PromiseArgs {
    #[command(flatten)]
    pub source: CartSource,
    /// Lines of the random cart.
    #[arg(long, value_name = "N", default_value_t = 3, requires = "random_cart")]
    pub lines: usize,
    /// Print the request that is sent (proto3 JSON) to stderr.
    #[arg(long)]
    pub show_request: bool,
}

/// `reservation` subcommands.
#[derive(Debug, Subcommand)]
pub enum ReservationCommand {
    /// The units shipped: end the hold and take them off on-hand.
    Confirm {
        /// The reservation id (`rsv_...`).
        id: String,
    },
    /// Read a reservation in its current state (held, confirmed, released,
    /// expired).
    Get {
        /// The reservation id (`rsv_...`).
        id: String,
    },
    /// End the hold without shipping.
    Release {
        /// The reservation id (`rsv_...`).
        id: String,
        /// A note kept in the log.
        #[arg(long, default_value = "")]
        note: String,
    },
}

fn parse_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if (0.0..1e9).contains(&s) => Ok(s),
        Ok(_) => Err(String::from("must be a non-negative number of seconds")),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn allocate_takes_a_buyer_and_a_promise() {
        let cli = Cli::try_parse_from([
            "allotctl",
            "allocate",
            "--random-order",
            "4",
            "--context",
            "--promise-days",
            "3",
        ])
        .unwrap();
        let Command::Allocate(args) = cli.command else {
            panic!("not allocate");
        };
        assert!(args.context);
        assert_eq!(args.promise_days, Some(3));
        assert!(
            Cli::try_parse_from([
                "allotctl",
                "allocate",
                "--random-order",
                "4",
                "--promise-days",
                "-1"
            ])
            .is_err()
        );
    }

    #[test]
    fn returns_take_one_order_or_a_request_file() {
        let cli = Cli::try_parse_from([
            "allotctl",
            "returns",
            "--order",
            "O-1",
            "--customer",
            "C-9",
            "--returned-at",
            "2026-12-01T10:00:00Z",
        ])
        .unwrap();
        let Command::Returns(args) = cli.command else {
            panic!("not returns");
        };
        let request = super::super::commands::returns_request(args).unwrap();
        assert_eq!(request.returns.len(), 1);
        let r = &request.returns[0];
        assert_eq!(
            (r.order_id.as_str(), r.customer_id.as_str()),
            ("O-1", "C-9")
        );
        assert_eq!(
            r.returned_at.as_ref().map(|t| t.seconds),
            Some(1_796_119_200)
        );
        for wrong in [
            // Neither source, or both.
            vec!["allotctl", "returns"],
            vec![
                "allotctl",
                "returns",
                "--order",
                "O-1",
                "--request",
                "r.json",
            ],
            // Flags of one order without the order.
            vec![
                "allotctl",
                "returns",
                "--request",
                "r.json",
                "--customer",
                "C",
            ],
            vec![
                "allotctl",
                "returns",
                "--order",
                "O-1",
                "--returned-at",
                "yesterday",
            ],
        ] {
            assert!(Cli::try_parse_from(&wrong).is_err(), "{wrong:?}");
        }
    }

    #[test]
    fn parses_nested_commands() {
        let cli = Cli::try_parse_from([
            "allotctl",
            "stock",
            "availability",
            "SKU-1",
            "--node",
            "A",
            "--node",
            "B",
            "--endpoint",
            "http://h:1",
        ])
        .unwrap();
        assert_eq!(cli.endpoints, ["http://h:1"]);
        let Command::Stock(StockCommand::Availability {
            sku,
            nodes,
            include_zero,
        }) = cli.command
        else {
            panic!("wrong command");
        };
        assert_eq!(
            (sku.as_str(), nodes, include_zero),
            ("SKU-1", vec!["A".into(), "B".into()], false)
        );
        assert!(
            Cli::try_parse_from(["allotctl", "stock", "deltas", "f.csv", "--batch-size", "0"])
                .is_err()
        );
        assert!(Cli::try_parse_from(["allotctl", "health", "--wait", "-1"]).is_err());
    }

    #[test]
    fn connection_flags_are_global_and_a_certificate_needs_its_key() {
        let cli = Cli::try_parse_from([
            "allotctl",
            "load",
            "--rpc",
            "promise",
            "--tls-ca",
            "ca.pem",
            "--tls-cert",
            "client.pem",
            "--tls-key",
            "client.key",
            "--tls-domain",
            "allot.internal",
            "--token",
            "s3cret",
        ])
        .unwrap();
        let server = super::super::server::Server::new(&cli.endpoints, &cli.connection);
        let tls = &server.options.tls;
        assert_eq!(tls.ca_file.as_deref(), Some(std::path::Path::new("ca.pem")));
        assert_eq!(tls.domain.as_deref(), Some("allot.internal"));
        assert!(tls.cert_file.is_some() && tls.key_file.is_some());
        assert_eq!(server.options.token.as_deref(), Some("s3cret"));
        assert!(Cli::try_parse_from(["allotctl", "health", "--tls-cert", "client.pem"]).is_err());
    }

    #[test]
    fn several_endpoints_repeated_or_comma_separated() {
        let cli = Cli::try_parse_from([
            "allotctl",
            "--endpoint",
            "http://a:1,http://b:1",
            "--endpoint",
            "c:1",
            "health",
        ])
        .unwrap();
        assert_eq!(cli.endpoints, ["http://a:1", "http://b:1", "c:1"]);
        let cli = Cli::try_parse_from([
            "allotctl",
            "health",
            "--endpoint",
            "a:1",
            "--endpoint",
            "b:1",
        ])
        .unwrap();
        assert_eq!(cli.endpoints, ["a:1", "b:1"]);
        let cli = Cli::try_parse_from(["allotctl", "health"]).unwrap();
        assert_eq!(cli.endpoints, ["http://127.0.0.1:50051"]);
        let server = super::super::server::Server::new(
            &["a:1".into(), "b:1".into(), "a:1".into()],
            &cli.connection,
        );
        assert_eq!(server.endpoints, ["a:1", "b:1"]);
    }
}
