//! A client of several replicas against in-process health servers: calls
//! land on every replica, and a replica that crashes, is down from the
//! start or drains leaves the rotation without failing the calls after it.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::sync::oneshot;
use tonic_health::ServingStatus as Reported;
use tonic_health::server::HealthReporter;

use crate::{AllotClient, ClientError, ReplicaState, ReplicaStatus};

/// A health server on its own runtime and thread; stopping it drops the
/// runtime, closing every connection as a crashed process would.
struct Replica {
    addr: SocketAddr,
    /// Its health; the overall status and its name start SERVING.
    reporter: HealthReporter,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Replica {
    /// Starts a replica whose health knows the service `name` (so a check
    /// of `name` tells which replica answered: others say NOT_FOUND).
    fn start(name: &'static str) -> Replica {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                let (reporter, health) = tonic_health::server::health_reporter();
                reporter.set_service_status(name, Reported::Serving).await;
                tokio::spawn(
                    tonic::transport::Server::builder()
                        .add_service(health)
                        .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(
                            listener,
                        )),
                );
                ready_tx.send((addr, reporter)).unwrap();
                let _ = stopped.await;
            });
            drop(runtime);
        });
        let (addr, reporter) = ready_rx.recv().unwrap();
        Replica {
            addr,
            reporter,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Kills it: every connection closes at once.
    async fn crash(mut self) {
        let _ = self.stop.take().unwrap().send(());
        let thread = self.thread.take().unwrap();
        tokio::task::spawn_blocking(move || thread.join().unwrap())
            .await
            .unwrap();
    }
}

/// An endpoint where nothing listens.
fn nothing_listens() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", listener.local_addr().unwrap())
}

/// Waits (at most 30 s, then panics) until the replicas satisfy `done`.
async fn wait_until(client: &AllotClient, what: &str, done: impl Fn(&[ReplicaStatus]) -> bool) {
    for _ in 0..1500 {
        if done(&client.replicas()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{what}: never reached: {:?}", client.replicas());
}

/// Of `calls` health checks of `name` through `client`, how many the
/// replica knowing `name` answered (the others answer NOT_FOUND; any other
/// error fails the test).
async fn answered_by(client: &AllotClient, name: &str, calls: usize) -> usize {
    let mut count = 0;
    for _ in 0..calls {
        match client.health(name).await {
            Ok(_) => count += 1,
            Err(e) if e.code() == tonic::Code::NotFound => {}
            Err(e) => panic!("a call failed: {e}"),
        }
    }
    count
}

#[tokio::test]
async fn calls_land_on_every_replica_and_skip_one_that_crashed() {
    let a = Replica::start("replica-a");
    let b = Replica::start("replica-b");
    let client = AllotClient::connect_many(&[a.endpoint(), b.endpoint()])
        .await
        .unwrap();
    wait_until(&client, "both serving", |all| {
        all.iter()
            .all(|r| r.state == ReplicaState::Serving && r.in_rotation)
    })
    .await;
    // A random pick per call: 60 calls all on one replica would take odds
    // of 2^-59.
    let on_a = answered_by(&client, "replica-a", 60).await;
    assert!(0 < on_a && on_a < 60, "{on_a} of 60 calls on a");

    a.crash().await;
    wait_until(&client, "a out of rotation", |all| !all[0].in_rotation).await;
    assert!(matches!(
        client.replicas()[0].state,
        ReplicaState::Down { .. }
    ));
    assert_eq!(answered_by(&client, "replica-b", 40).await, 40);
    b.crash().await;
}

#[tokio::test]
async fn a_replica_down_from_the_start_fails_no_call() {
    let b = Replica::start("replica-b");
    let dead = nothing_listens();
    let client = AllotClient::connect_many(&[dead.as_str(), &b.endpoint()])
        .await
        .unwrap();
    // connect_many returns once a replica serves and the rotation follows.
    let replicas = client.replicas();
    assert!(!replicas[0].in_rotation, "{replicas:?}");
    assert_eq!(replicas[1].state, ReplicaState::Serving);
    assert_eq!(answered_by(&client, "replica-b", 40).await, 40);
    assert_eq!(client.endpoint(), format!("{dead}, {}", b.endpoint()));
    b.crash().await;
}

#[tokio::test]
async fn a_draining_replica_leaves_the_rotation_and_comes_back() {
    let a = Replica::start("replica-a");
    let b = Replica::start("replica-b");
    let client = AllotClient::connect_many(&[a.endpoint(), b.endpoint()])
        .await
        .unwrap();
    a.reporter
        .set_service_status("", Reported::NotServing)
        .await;
    wait_until(&client, "a draining", |all| {
        all[0].state == ReplicaState::NotServing && !all[0].in_rotation
    })
    .await;
    assert_eq!(answered_by(&client, "replica-b", 40).await, 40);

    a.reporter.set_service_status("", Reported::Serving).await;
    wait_until(&client, "a back", |all| all[0].in_rotation).await;
    a.crash().await;
    b.crash().await;
}

#[tokio::test]
async fn no_replica_reachable_names_each() {
    let (x, y) = (nothing_listens(), nothing_listens());
    let err = AllotClient::connect_many(&[&x, &y, &x]).await.unwrap_err();
    assert!(matches!(err, ClientError::NoReplica { ref endpoints, .. } if endpoints.len() == 2));
    assert_eq!(err.code(), tonic::Code::Unavailable);
    let text = err.to_string();
    assert!(
        text.contains(&format!("{x}: ")) && text.contains(&format!("{y}: ")),
        "{text}"
    );
    let none: [&str; 0] = [];
    let err = AllotClient::connect_many(&none).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
}
