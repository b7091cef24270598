//! The decision explorer in a real browser: Debian's headless Chromium,
//! driven through its chromedriver (WebDriver), against a real server. The
//! test opens the explorer, finds a decision it made, opens it, checks that
//! the plan, the reasons and the map are shown, presses replay and reads
//! "identical", watches a new decision arrive in the live feed, checks that
//! every form field has a label, and saves screenshots as artifacts (in
//! `target/tmp/explorer/`).
//!
//! Needs `chromium` and `chromedriver` (scripts/bootstrap installs Debian's
//! chromium and chromium-driver); `CHROMIUM` and `CHROMEDRIVER` override
//! their paths.
#![allow(clippy::unwrap_used)] // a test may unwrap: a panic is its failure

mod common;

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use allot_proto::v1 as pb;
use allot_proto::v1::allocation_service_client::AllocationServiceClient;
use common::orders::buyer_order;
use common::{TestServer, test_config};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;

/// A chromedriver process on a free loopback port, killed when dropped.
struct Driver {
    child: Child,
    port: u16,
    profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn path_of(variable: &str, default: &str) -> PathBuf {
    std::env::var_os(variable).map_or_else(|| PathBuf::from(default), PathBuf::from)
}

async fn start_driver() -> Driver {
    let port = free_port();
    let binary = path_of("CHROMEDRIVER", "/usr/bin/chromedriver");
    let child = Command::new(&binary)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start {} ({e}): scripts/bootstrap installs Debian's chromium-driver",
                binary.display()
            )
        });
    let driver = Driver {
        child,
        port,
        profile: tempfile::tempdir().unwrap(),
    };
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return driver;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("chromedriver never listened on {port}");
}

/// A headless Chromium session, without any network access of its own.
async fn browser(driver: &Driver) -> Client {
    let chromium = path_of("CHROMIUM", "/usr/bin/chromium");
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium,
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--window-size=1300,1800",
                format!("--user-data-dir={}", driver.profile.path().display()),
            ],
        }),
    );
    ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .unwrap()
}

/// Where the screenshots go.
fn artifacts() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("explorer");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn screenshot(client: &Client, name: &str) -> PathBuf {
    let png = client.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    let path = artifacts().join(name);
    std::fs::write(&path, png).unwrap();
    eprintln!("screenshot: {}", path.display());
    path
}

async fn wait_for(client: &Client, css: &str) -> fantoccini::elements::Element {
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css} never appeared: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_support_agent_finds_opens_and_replays_a_decision() {
    let (server, web): (TestServer, SocketAddr) =
        TestServer::start_with_explorer(test_config()).await;
    server.wait_serving().await;
    let mut allocation = AllocationServiceClient::new(server.channel().await);
    let answer = allocation
        .allocate(buyer_order("browser-1", "browser-customer"))
        .await
        .unwrap()
        .into_inner();
    let node = answer.lines[0].assignments[0].node.clone();
    let reason = pb::ReasonCode::try_from(answer.lines[0].reasons[0].code)
        .unwrap()
        .as_str_name()
        .trim_start_matches("REASON_CODE_")
        .to_string();

    let driver = start_driver().await;
    let client = browser(&driver).await;
    let base = format!("http://{web}");

    // Search by order id, as an agent with the order in hand would.
    client.goto(&format!("{base}/")).await.unwrap();
    let unlabelled = client
        .execute(
            "return [...document.querySelectorAll('input:not([type=hidden]), select')]\
             .filter(e => e.labels.length === 0).map(e => e.name);",
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(unlabelled, serde_json::json!([]), "fields without a label");
    client
        .find(Locator::Css("input[name=order]"))
        .await
        .unwrap()
        .send_keys("browser-1")
        .await
        .unwrap();
    client
        .find(Locator::Css("form.search button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(
        &client,
        &format!("#results a[href='/decisions/{}']", answer.decision_id),
    )
    .await
    .click()
    .await
    .unwrap();

    // The decision: its plan, reasons and map.
    let plan = wait_for(&client, "#plan").await.text().await.unwrap();
    assert!(plan.contains(&node), "the plan lacks {node}: {plan}");
    assert!(plan.contains("SKU-000001"), "{plan}");
    let reasons = client
        .find(Locator::Css("#reasons"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        reasons.contains(&reason),
        "reasons lack {reason}: {reasons}"
    );
    client
        .find(Locator::Css(&format!(
            "svg.map circle.used[data-node='{node}']"
        )))
        .await
        .unwrap();
    client
        .find(Locator::Css("svg.map path.destination"))
        .await
        .unwrap();
    screenshot(&client, "decision.png").await;

    // Replay: the same answer again.
    client
        .find(Locator::Id("replay"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let replayed = wait_for(&client, "#replay-result")
        .await
        .text()
        .await
        .unwrap();
    assert!(replayed.starts_with("Identical"), "{replayed}");
    screenshot(&client, "replayed.png").await;

    // The live feed shows a decision made while the page is open.
    client.goto(&format!("{base}/")).await.unwrap();
    wait_for(&client, "#feed").await;
    let later = allocation
        .allocate(buyer_order("browser-2", "browser-customer"))
        .await
        .unwrap()
        .into_inner();
    wait_for(
        &client,
        &format!("#feed a[href='/decisions/{}']", later.decision_id),
    )
    .await;
    screenshot(&client, "feed.png").await;

    client.close().await.unwrap();
    drop(driver);
    server.stop().await.unwrap();
}
