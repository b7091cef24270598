//! explorer-bench: how fast the decision explorer's pages answer.
//!
//! Starts the release `allot` binary on loopback (demo network and stock,
//! the explorer on a free port), records `--decisions` Allocate decisions
//! with a buyer (so each is scored for fraud too), waits until the
//! explorer's index holds them all, then times `--requests` sequential
//! requests of each page over HTTP/1.0 (a new connection each, as a
//! browser's first visit), beside the gRPC reads the pages are built on, in
//! the same run: ExplainDecision for a decision page, ReplayDecision for a
//! replay, GetSkuAvailability for the stock page. Ends with one JSON line.
//!
//! `cargo build --release -p allot-server && cargo run --release -p allot-benches --bin explorer-bench`

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use allot_client::AllotClient;
use allot_client::proto as pb;
use allot_client::random::random_order;
use allot_tests::crash::quantile;
use allot_tests::crash::server::{Launch, free_port};
use allot_tests::http;
use clap::Parser;

#[derive(Parser)]
#[command(name = "explorer-bench", about = "Decision explorer page latency")]
struct Args {
    /// The `allot` binary.
    #[arg(long, default_value = "target/release/allot")]
    bin: PathBuf,
    /// Decisions recorded before measuring.
    #[arg(long, default_value_t = 20_000)]
    decisions: usize,
    /// Allocate calls in flight while recording.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Requests timed per page.
    #[arg(long, default_value_t = 300)]
    requests: usize,
}

/// p50 and p99 latency, microseconds.
type Quantiles = (f64, f64);

/// One page's row: its name, its latency, and the gRPC read it is built on
/// with that read's latency.
type Row<'a> = (&'a str, Quantiles, Option<(&'a str, Quantiles)>);

/// p50 and p99 of `n` sequential runs of `call`, in microseconds.
async fn time<F, Fut>(n: usize, mut call: F) -> anyhow::Result<Quantiles>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let mut took = Vec::with_capacity(n);
    for i in 0..n {
        let started = Instant::now();
        call(i).await?;
        took.push(started.elapsed());
    }
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    Ok((us(quantile(&took, 0.5)), us(quantile(&took, 0.99))))
}

/// `GET path`, failing unless it answers 200.
async fn page(web: SocketAddr, path: &str) -> anyhow::Result<()> {
    let reply = http::get(web, path, &[]).await?;
    anyhow::ensure!(reply.status == 200, "GET {path}: {}", reply.status);
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let data = tempfile::tempdir()?;
    let port = free_port()?;
    let web: SocketAddr = format!("127.0.0.1:{port}").parse()?;
    let launch = Launch {
        bin: args.bin.clone(),
        data_dir: data.path().join("decisions"),
        log_dir: data.path().to_path_buf(),
        env: vec![
            ("ALLOT__EXPLORER__ENABLED".into(), "true".into()),
            ("ALLOT__EXPLORER__LISTEN".into(), web.to_string()),
        ],
    };
    let mut server = launch.spawn(0)?;
    server.wait_serving(Duration::from_secs(120)).await?;
    let client = AllotClient::connect(server.endpoint()).await?;
    let network = client
        .admin()
        .get_network(pb::GetNetworkRequest { include_skus: true })
        .await?
        .into_inner();

    // Record the decisions, `concurrency` at a time.
    let started = Instant::now();
    let mut ids: Vec<String> = Vec::with_capacity(args.decisions);
    let mut next = 0usize;
    while next < args.decisions {
        let batch = (next..(next + args.concurrency).min(args.decisions)).map(|i| {
            let mut allocation = client.allocation();
            let mut order = random_order(&network, i as u64, 3);
            order.context = Some(pb::OrderContext {
                customer_id: format!("bench-customer-{}", i % 500),
                email: format!("buyer{}@example.com", i % 500),
                ..Default::default()
            });
            async move { allocation.allocate(order).await }
        });
        for answer in futures::future::join_all(batch).await {
            ids.push(answer?.into_inner().decision_id);
        }
        next += args.concurrency;
    }
    let recording = started.elapsed();
    // The index follows the feed a moment behind.
    let wanted = format!("Searches cover the {} most recent", args.decisions);
    let mut indexed = false;
    for _ in 0..600 {
        if http::get(web, "/", &[]).await?.body.contains(&wanted) {
            indexed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::ensure!(
        indexed,
        "the explorer never indexed {} decisions",
        args.decisions
    );

    let n = args.requests;
    let pick = |i: usize| ids[(i * 7919) % ids.len()].clone();
    let node = network
        .nodes
        .first()
        .map(|n| n.code.clone())
        .unwrap_or_default();
    let mut rows: Vec<Row<'_>> = Vec::new();
    rows.push((
        "front page (live feed)",
        time(n, |_| page(web, "/")).await?,
        None,
    ));
    rows.push((
        "search by order id",
        time(n, |i| {
            let order = format!("/?order=random-{}", (i * 7919) % args.decisions);
            async move { page(web, &order).await }
        })
        .await?,
        None,
    ));
    rows.push((
        "search by node and disposition",
        time(n, |_| {
            let path = format!("/?node={node}&disposition=ALLOCATED");
            async move { page(web, &path).await }
        })
        .await?,
        None,
    ));
    rows.push((
        "search by customer id (hashed)",
        time(n, |i| {
            let path = format!("/?customer=bench-customer-{}", i % 500);
            async move { page(web, &path).await }
        })
        .await?,
        None,
    ));
    let explain = time(n, |i| {
        let id = pick(i);
        let client = client.clone();
        async move {
            client.explain(&id).await?;
            Ok(())
        }
    })
    .await?;
    rows.push((
        "one decision",
        time(n, |i| {
            let path = format!("/decisions/{}", pick(i));
            async move { page(web, &path).await }
        })
        .await?,
        Some(("ExplainDecision", explain)),
    ));
    let replays = n.min(100);
    let replay = time(replays, |i| {
        let id = pick(i);
        let client = client.clone();
        async move {
            client.replay(&id).await?;
            Ok(())
        }
    })
    .await?;
    rows.push((
        "replay",
        time(replays, |i| {
            let path = format!("/decisions/{}/replay", pick(i));
            async move {
                let reply = http::post_form(web, &path, "", &[]).await?;
                anyhow::ensure!(reply.status == 200 && reply.body.contains("Identical"));
                Ok(())
            }
        })
        .await?,
        Some(("ReplayDecision", replay)),
    ));
    let availability = time(n, |i| {
        let mut inventory = client.inventory();
        let sku = network.skus[i % network.skus.len()].code.clone();
        async move {
            inventory
                .get_sku_availability(pb::GetSkuAvailabilityRequest {
                    sku,
                    nodes: Vec::new(),
                    include_zero: false,
                })
                .await?;
            Ok(())
        }
    })
    .await?;
    rows.push((
        "stock of a SKU",
        time(n, |i| {
            let path = format!("/stock?sku={}", network.skus[i % network.skus.len()].code);
            async move { page(web, &path).await }
        })
        .await?,
        Some(("GetSkuAvailability", availability)),
    ));
    rows.push(("models", time(n, |_| page(web, "/models")).await?, None));

    println!(
        "explorer-bench: {} decisions recorded in {:.1} s, {} requests per page (replay: {replays})",
        args.decisions,
        recording.as_secs_f64(),
        n
    );
    println!("| page | p50 | p99 | gRPC read it is built on | p50 | p99 | page / gRPC, p50 |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    let mut json = serde_json::Map::new();
    for (name, (p50, p99), base) in &rows {
        match base {
            Some((rpc, (b50, b99))) => println!(
                "| {name} | {:.2} ms | {:.2} ms | {rpc} | {:.2} ms | {:.2} ms | {:.2} |",
                p50 / 1e3,
                p99 / 1e3,
                b50 / 1e3,
                b99 / 1e3,
                p50 / b50
            ),
            None => println!(
                "| {name} | {:.2} ms | {:.2} ms | | | | |",
                p50 / 1e3,
                p99 / 1e3
            ),
        }
        json.insert(
            (*name).to_string(),
            serde_json::json!({"p50_us": p50, "p99_us": p99}),
        );
    }
    json.insert("decisions".into(), args.decisions.into());
    println!("{}", serde_json::Value::Object(json));
    drop(server);
    Ok(())
}
