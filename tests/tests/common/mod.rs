//! A real allot server on 127.0.0.1:0 for integration tests.

#![allow(dead_code)]

pub mod http;
pub mod orders;
pub mod sales;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use allot_server::Config;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// A running server and the means to stop it.
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    handle: JoinHandle<Result<(), allot_server::ServeError>>,
    /// The configuration it serves (for [`TestServer::restart`]).
    config: Config,
    /// A decision log directory this server made and removes when dropped.
    owned_dir: Option<PathBuf>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(dir) = self.owned_dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Prefix of the decision log directories [`test_config`] makes.
const DATA_DIR_PREFIX: &str = "allot-test-decisions-";

/// A fresh, empty decision log directory under the system temp dir.
pub fn fresh_data_dir() -> PathBuf {
    tempfile::Builder::new()
        .prefix(DATA_DIR_PREFIX)
        .tempdir()
        .unwrap()
        .keep()
}

/// The default test configuration: the demo network and stock, no metrics
/// endpoint (it is process-global), short grace.
pub fn test_config() -> Config {
    let mut config = Config::default();
    config.metrics.enabled = false;
    config.explorer.enabled = false;
    config.grpc.shutdown_grace_ms = 5_000;
    config.decisions.dir = fresh_data_dir();
    config
}

impl TestServer {
    /// Binds 127.0.0.1:0 and serves `config` there.
    pub async fn start(config: Config) -> TestServer {
        TestServer::start_serving(config, None).await
    }

    /// [`TestServer::start`] with the decision explorer on another
    /// 127.0.0.1:0, whose address is returned too.
    pub async fn start_with_explorer(config: Config) -> (TestServer, SocketAddr) {
        let explorer = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let at = explorer.local_addr().unwrap();
        (TestServer::start_serving(config, Some(explorer)).await, at)
    }

    async fn start_serving(
        config: Config,
        explorer: Option<tokio::net::TcpListener>,
    ) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let owned_dir = config
            .decisions
            .dir
            .file_name()
            .and_then(|name| name.to_str())
            .is_some_and(|name| name.starts_with(DATA_DIR_PREFIX))
            .then(|| config.decisions.dir.clone());
        let handle = tokio::spawn(allot_server::serve_with_explorer(
            config.clone(),
            listener,
            explorer,
            async move {
                let _ = stopped.await;
            },
        ));
        TestServer {
            addr,
            stop: Some(stop),
            handle,
            config,
            owned_dir,
        }
    }

    /// Stops this server (waiting for `serve` to return, so its decision log
    /// is flushed and closed) and starts a new one on a new port with the
    /// same configuration and data directory; waits until it is SERVING.
    pub async fn restart(self) -> TestServer {
        self.restart_with(|_| {}).await
    }

    /// [`TestServer::restart`] with `change` applied to the configuration
    /// (the data directory is kept).
    pub async fn restart_with(self, change: impl FnOnce(&mut Config)) -> TestServer {
        self.restart_changed_after(change, Duration::ZERO).await
    }

    /// [`TestServer::restart`], staying down for `down` in between.
    pub async fn restart_after(self, down: Duration) -> TestServer {
        self.restart_changed_after(|_| {}, down).await
    }

    async fn restart_changed_after(
        mut self,
        change: impl FnOnce(&mut Config),
        down: Duration,
    ) -> TestServer {
        let owned_dir = self.owned_dir.take();
        let mut config = self.config.clone();
        change(&mut config);
        self.stop().await.unwrap();
        tokio::time::sleep(down).await;
        let mut server = TestServer::start(config).await;
        server.owned_dir = owned_dir;
        server.wait_serving_or_stopped().await;
        server
    }

    /// [`TestServer::wait_serving`], failing with the server's own error
    /// if it stops instead (a failed start, e.g. its data still held).
    pub async fn wait_serving_or_stopped(&mut self) {
        for _ in 0..1200 {
            if self.handle.is_finished() {
                let stopped = (&mut self.handle).await;
                panic!("the server stopped instead of serving: {stopped:?}");
            }
            if self.health_if_up("").await == Some(ServingStatus::Serving) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("server never reported SERVING");
    }

    /// The health of `service`, or `None` when the server cannot be
    /// reached.
    async fn health_if_up(&self, service: &str) -> Option<ServingStatus> {
        let channel = Channel::from_shared(self.endpoint())
            .unwrap()
            .connect()
            .await
            .ok()?;
        let response = HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .ok()?
            .into_inner();
        ServingStatus::try_from(response.status).ok()
    }

    /// The configuration it serves.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Starts the default test server and waits until it reports SERVING.
    pub async fn serving() -> TestServer {
        let mut server = TestServer::start(test_config()).await;
        server.wait_serving_or_stopped().await;
        server
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A fresh channel to the server.
    pub async fn channel(&self) -> Channel {
        Channel::from_shared(self.endpoint())
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    /// The overall health status ("" service).
    pub async fn health(&self, service: &str) -> ServingStatus {
        let mut client = HealthClient::new(self.channel().await);
        let response = client
            .check(HealthCheckRequest {
                service: service.to_string(),
            })
            .await
            .unwrap()
            .into_inner();
        ServingStatus::try_from(response.status).unwrap()
    }

    /// Polls health until SERVING (at most 60 s, then panics).
    pub async fn wait_serving(&self) {
        for _ in 0..1200 {
            if self.health("").await == ServingStatus::Serving {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("server never reported SERVING");
    }

    /// Signals shutdown without waiting.
    pub fn signal_shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Signals shutdown and waits for `serve` to return.
    pub async fn stop(mut self) -> Result<(), allot_server::ServeError> {
        self.signal_shutdown();
        (&mut self.handle).await.unwrap()
    }

    /// Waits for `serve` to return on its own (e.g. after a load failure).
    pub async fn join(mut self) -> Result<(), allot_server::ServeError> {
        (&mut self.handle).await.unwrap()
    }
}

/// Asserts the project's error shape: `code`, and a message that starts
/// with the field path `field`, then `: `, then what is wrong and what is
/// allowed (e.g. `lines[0].quantity: must be 1 to 1000000, got 0`).
#[track_caller]
pub fn assert_field_error(status: &tonic::Status, code: tonic::Code, field: &str) {
    assert_eq!(status.code(), code, "{field}: {status:?}");
    let message = status.message();
    let rest = message
        .strip_prefix(field)
        .and_then(|rest| rest.strip_prefix(": "));
    assert!(
        rest.is_some_and(|rest| rest.split_whitespace().count() >= 2),
        "expected `{field}: <what is wrong and what is allowed>`, got {message:?}"
    );
}

/// A server that admits one request at a time (health exempt), with an
/// open StreamStockDeltas call holding that permit until dropped.
pub struct Saturated {
    /// The server.
    pub server: TestServer,
    hold: Option<tokio::sync::mpsc::Sender<allot_proto::v1::StockDeltaBatch>>,
    held: Option<JoinHandle<()>>,
}

impl Saturated {
    /// Starts the server and opens the call that holds its only permit.
    pub async fn start() -> Saturated {
        let mut config = test_config();
        config.grpc.max_concurrent_requests = 1;
        let server = TestServer::start(config).await;
        server.wait_serving().await;
        let mut holder = allot_proto::v1::inventory_service_client::InventoryServiceClient::new(
            server.channel().await,
        );
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        let held = tokio::spawn(async move {
            let _ = holder
                .stream_stock_deltas(tokio_stream::wrappers::ReceiverStream::new(rx))
                .await;
        });
        Saturated {
            server,
            hold: Some(tx),
            held: Some(held),
        }
    }

    /// The status `call` (given a fresh channel to the server) ends with
    /// once the held call has reached the server: it is retried until it
    /// fails; panics if it never does.
    pub async fn refused<T, F, Fut>(&self, call: F) -> tonic::Status
    where
        F: Fn(Channel) -> Fut,
        Fut: std::future::Future<Output = Result<T, tonic::Status>>,
    {
        let channel = self.server.channel().await;
        for _ in 0..500 {
            match call(channel.clone()).await {
                Err(status) => return status,
                // The holder's call may not have reached the server yet.
                Ok(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
        panic!("the call was never refused while the only permit was held");
    }

    /// Ends the held call and stops the server.
    pub async fn stop(mut self) {
        drop(self.hold.take());
        if let Some(held) = self.held.take() {
            held.await.unwrap();
        }
        self.server.stop().await.unwrap();
    }
}

/// The example network of `docs/network.md` (one DC, one store, two
/// regions; its two carrier services are listed out of code order) with
/// `extra` TOML appended, e.g. more `[[skus]]`.
pub const EXAMPLE_NETWORK: &str = include_str!("../../../engine/network/src/file/example.toml");

/// [`test_config`] serving the network file `toml` (written into the
/// server's own data directory, removed with it).
pub fn network_config(toml: &str) -> Config {
    let mut config = test_config();
    let path = config.decisions.dir.join("network.toml");
    std::fs::write(&path, toml).unwrap();
    config.network.file = Some(path);
    config
}
