//! `allot`: the allot decision engine server.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use allot_engine::network::{DEMO_SEED, Network, demo_stock};
use allot_server::Config;
use clap::{Args, Parser, Subcommand};
use figment::Figment;
use figment::providers::Serialized;

/// mimalloc instead of the system allocator: a gRPC call allocates and
/// frees many small buffers (HTTP/2 frames, headers, protobuf messages) on
/// two threads, where glibc malloc spent a tenth of the time
/// (benches/RESULTS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// allot: a gRPC decision engine for order management.
#[derive(Parser)]
#[command(name = "allot", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve gRPC (and Prometheus metrics, and the decision explorer). With
    /// no flags: the demo network and demo stock on 127.0.0.1:50051, metrics
    /// on 127.0.0.1:9464, the explorer on http://127.0.0.1:8089.
    Serve(Box<ServeArgs>),
    /// Work with network files.
    #[command(subcommand)]
    Network(NetworkCommand),
    /// Work with stock files.
    #[command(subcommand)]
    Stock(StockCommand),
    /// Personal data as allot keeps it (docs/security.md).
    #[command(subcommand)]
    Privacy(PrivacyCommand),
}

#[derive(Subcommand)]
enum PrivacyCommand {
    /// Print the keyed hash allot records for a value (`hmac:<key id>:<hex>`),
    /// to look for it in decision records; uses the configured privacy key.
    Hash {
        /// The value (an e-mail, IP, device id, card fingerprint, customer id
        /// or address line), exactly as the caller sent it.
        value: String,
        /// TOML configuration file of the server whose key to use.
        #[arg(long, env = "ALLOT_CONFIG")]
        config: Option<PathBuf>,
        /// Directory of the decision log (`decisions.dir`), where the
        /// generated key is.
        #[arg(long)]
        decisions_dir: Option<PathBuf>,
    },
}

#[derive(Args)]
struct ServeArgs {
    /// TOML configuration file (see docs/operations.md); `ALLOT__SECTION__KEY`
    /// environment variables and these flags override it.
    #[arg(long, env = "ALLOT_CONFIG")]
    config: Option<PathBuf>,
    /// gRPC listen address.
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Prometheus listen address.
    #[arg(long)]
    metrics_listen: Option<SocketAddr>,
    /// Do not serve Prometheus metrics.
    #[arg(long)]
    no_metrics: bool,
    /// Decision explorer (web pages) listen address (`explorer.listen`).
    #[arg(long)]
    explorer_listen: Option<SocketAddr>,
    /// Do not serve the decision explorer (`explorer.enabled`).
    #[arg(long)]
    no_explorer: bool,
    /// Network file (docs/network.md) instead of the demo network.
    #[arg(long)]
    network: Option<PathBuf>,
    /// Stock CSV (docs/stock.md) loaded at startup.
    #[arg(long)]
    stock: Option<PathBuf>,
    /// Start with empty stock instead of the demo stock.
    #[arg(long)]
    no_demo_stock: bool,
    /// Directory of the decision log (`decisions.dir`).
    #[arg(long)]
    decisions_dir: Option<PathBuf>,
    /// PEM certificate chain: serve gRPC over TLS (`grpc.tls.cert_file`).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of `--tls-cert` (`grpc.tls.key_file`).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// PEM certificate authorities: require client certificates issued by
    /// them, mutual TLS (`grpc.tls.client_ca_file`).
    #[arg(long)]
    tls_client_ca: Option<PathBuf>,
    /// Serve gRPC in plaintext even on an address other than loopback
    /// (`grpc.allow_plaintext`).
    #[arg(long)]
    allow_plaintext: bool,
    /// Serve Prometheus metrics (always plaintext) even on an address other
    /// than loopback (`metrics.allow_plaintext`).
    #[arg(long)]
    metrics_allow_plaintext: bool,
    /// Share a reservation ledger in PostgreSQL with other replicas
    /// (`state.ledger`, `postgres://user@host:port/db`; docs/scale-out.md).
    #[arg(long)]
    ledger: Option<String>,
    /// The replicas' event bus on NATS JetStream (`state.bus`,
    /// `nats://host:port`); with `--ledger`.
    #[arg(long, requires = "ledger")]
    bus: Option<String>,
}

#[derive(Subcommand)]
enum NetworkCommand {
    /// Write the demo network as a network file.
    Export {
        /// Demo seed.
        #[arg(long, default_value_t = DEMO_SEED)]
        seed: u64,
        /// Output file (`-` for standard output).
        #[arg(long, default_value = "-")]
        out: PathBuf,
    },
    /// Load and validate a network file; print a summary or the first error.
    Check {
        /// The network file.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum StockCommand {
    /// Write the demo stock of the demo network as a stock CSV.
    ExportDemo {
        /// Demo seed.
        #[arg(long, default_value_t = DEMO_SEED)]
        seed: u64,
        /// Output file (`-` for standard output).
        #[arg(long, default_value = "-")]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(*args),
        Command::Privacy(PrivacyCommand::Hash {
            value,
            config,
            decisions_dir,
        }) => privacy_hash(&value, config.as_deref(), decisions_dir),
        Command::Network(NetworkCommand::Export { seed, out }) => {
            write_out(&out, Network::demo(seed).to_toml_string().as_bytes())
        }
        Command::Network(NetworkCommand::Check { file }) => Network::load(&file)
            .map(|n| {
                println!(
                    "{}: ok: network {:?}, {} nodes, {} SKUs, {} services, {} regions",
                    file.display(),
                    n.name(),
                    n.node_count(),
                    n.sku_count(),
                    n.services().len(),
                    n.regions().len()
                );
            })
            .map_err(anyhow::Error::from),
        Command::Stock(StockCommand::ExportDemo { seed, out }) => {
            let network = Network::demo(seed);
            let mut csv = String::from("node,sku,on_hand,reserved,protected\n");
            for row in demo_stock(&network, seed) {
                csv.push_str(&format!(
                    "{},{},{},{},{}\n",
                    network.node(row.node).code,
                    network.sku(row.sku).code,
                    row.on_hand,
                    row.reserved,
                    row.protected
                ));
            }
            write_out(&out, csv.as_bytes())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("allot: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn write_out(out: &PathBuf, bytes: &[u8]) -> anyhow::Result<()> {
    if out.as_os_str() == "-" {
        std::io::stdout().write_all(bytes)?;
    } else {
        std::fs::write(out, bytes)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", out.display()))?;
    }
    Ok(())
}

/// Prints `value` as the server configured by `config` records it.
fn privacy_hash(
    value: &str,
    config: Option<&std::path::Path>,
    decisions_dir: Option<PathBuf>,
) -> anyhow::Result<()> {
    let mut overrides = Figment::new();
    if let Some(dir) = decisions_dir {
        overrides = overrides.merge(Serialized::default("decisions.dir", dir));
    }
    let config = Config::load(config, overrides)?;
    let generated = config
        .decisions
        .dir
        .join(allot_service::privacy::GENERATED_KEY_FILE);
    if config.privacy.key_file.is_none() && !generated.exists() {
        anyhow::bail!(
            "no privacy key: {} does not exist and privacy.key_file is not set (the server creates the key at its first start)",
            generated.display()
        );
    }
    let keys = allot_service::privacy::Pseudonymizer::load(&config.privacy, &config.decisions.dir)?;
    println!("{}", keys.pseudonym(value));
    Ok(())
}

/// Files and directories the server creates are its owner's alone (mode
/// 0600 and 0700): the decision log, the state journal and the privacy key
/// hold what only allot and its operators may read.
fn restrict_new_files() {
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    restrict_new_files();
    let mut overrides = Figment::new();
    if let Some(listen) = args.listen {
        overrides = overrides.merge(Serialized::default("grpc.listen", listen));
    }
    if let Some(listen) = args.metrics_listen {
        overrides = overrides.merge(Serialized::default("metrics.listen", listen));
    }
    if args.no_metrics {
        overrides = overrides.merge(Serialized::default("metrics.enabled", false));
    }
    if let Some(listen) = args.explorer_listen {
        overrides = overrides.merge(Serialized::default("explorer.listen", listen));
    }
    if args.no_explorer {
        overrides = overrides.merge(Serialized::default("explorer.enabled", false));
    }
    if let Some(network) = args.network {
        overrides = overrides.merge(Serialized::default("network.file", network));
    }
    if let Some(stock) = args.stock {
        overrides = overrides.merge(Serialized::default("stock.file", stock));
    }
    if args.no_demo_stock {
        overrides = overrides.merge(Serialized::default("stock.demo", false));
    }
    if let Some(dir) = args.decisions_dir {
        overrides = overrides.merge(Serialized::default("decisions.dir", dir));
    }
    if let Some(cert) = args.tls_cert {
        overrides = overrides.merge(Serialized::default("grpc.tls.cert_file", cert));
    }
    if let Some(key) = args.tls_key {
        overrides = overrides.merge(Serialized::default("grpc.tls.key_file", key));
    }
    if let Some(ca) = args.tls_client_ca {
        overrides = overrides.merge(Serialized::default("grpc.tls.client_ca_file", ca));
    }
    if args.allow_plaintext {
        overrides = overrides.merge(Serialized::default("grpc.allow_plaintext", true));
    }
    if args.metrics_allow_plaintext {
        overrides = overrides.merge(Serialized::default("metrics.allow_plaintext", true));
    }
    if let Some(ledger) = args.ledger {
        overrides = overrides.merge(Serialized::default("state.ledger", ledger));
    }
    if let Some(bus) = args.bus {
        overrides = overrides.merge(Serialized::default("state.bus", bus));
    }
    let config = Config::load(args.config.as_deref(), overrides)?;
    allot_server::telemetry::init_logging(&config.log);
    // The transport is checked before anything listens: `serve` checks
    // again, on the bound listener.
    if allot_server::tls::server_tls(&config.grpc.tls)?.is_none() {
        allot_server::plaintext::check_grpc(config.grpc.listen, config.grpc.allow_plaintext)?;
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        if config.metrics.enabled {
            let https = allot_server::tls::https_config(&config.grpc.tls)?;
            let scheme = if https.is_some() { "https" } else { "http" };
            allot_server::telemetry::install_metrics(&config.metrics, https)?;
            tracing::info!(addr = %config.metrics.listen, scheme, "prometheus metrics at /metrics");
        }
        let listener = tokio::net::TcpListener::bind(config.grpc.listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.grpc.listen))?;
        let tls = config.grpc.tls.enabled();
        tracing::info!(addr = %listener.local_addr()?, tls, "allot listening for gRPC");
        allot_server::serve(config, listener, shutdown_signal()).await?;
        Ok(())
    })
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
