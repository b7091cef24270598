//! Health, reflection, startup failures and graceful shutdown of a real server.
#![allow(clippy::unwrap_used)] // a test may unwrap: a panic is its failure

mod common;

use std::time::Duration;

use allot_proto::v1 as pb;
use allot_proto::v1::inventory_service_client::InventoryServiceClient;
use common::{TestServer, test_config};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_reflection::pb::{v1, v1alpha};

#[tokio::test]
async fn health_turns_serving_once_loaded_for_every_service() {
    let server = TestServer::start(test_config()).await;
    server.wait_serving().await;
    for service in [
        "allot.v1.InventoryService",
        "allot.v1.AdminService",
        "allot.v1.AllocationService",
    ] {
        assert_eq!(
            server.health(service).await,
            ServingStatus::Serving,
            "{service}"
        );
    }
    server.stop().await.unwrap();
}

/// Every public service, as reflection must list it.
const PUBLIC_SERVICES: [&str; 8] = [
    "allot.v1.InventoryService",
    "allot.v1.AllocationService",
    "allot.v1.PromiseService",
    "allot.v1.RiskService",
    "allot.v1.ReturnsService",
    "allot.v1.DecisionService",
    "allot.v1.AdminService",
    "grpc.health.v1.Health",
];

fn assert_lists_every_public_service(names: &[String]) {
    for expected in PUBLIC_SERVICES {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }
}

/// The services a reflection API of version `$v` (v1 or v1alpha: the same
/// messages in two packages) lists on `server`.
macro_rules! listed_services {
    ($v:ident, $server:expr) => {{
        use $v::server_reflection_request::MessageRequest;
        use $v::server_reflection_response::MessageResponse;
        let mut client =
            $v::server_reflection_client::ServerReflectionClient::new($server.channel().await);
        let request = $v::ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut responses = client
            .server_reflection_info(tokio_stream::iter(vec![request]))
            .await
            .unwrap()
            .into_inner();
        let response = responses.message().await.unwrap().unwrap();
        let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
            panic!("unexpected reflection answer: {response:?}");
        };
        list.service.into_iter().map(|s| s.name).collect::<Vec<_>>()
    }};
}

#[tokio::test]
async fn reflection_lists_every_public_service() {
    let server = TestServer::serving().await;
    assert_lists_every_public_service(&listed_services!(v1, server));
    server.stop().await.unwrap();
}

#[tokio::test]
async fn reflection_v1alpha_lists_every_public_service_for_older_clients() {
    let server = TestServer::serving().await;
    assert_lists_every_public_service(&listed_services!(v1alpha, server));
    server.stop().await.unwrap();
}

#[tokio::test]
async fn an_invalid_network_file_fails_startup_with_the_file_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("network.toml");
    std::fs::write(&path, "[network]\nname = \"broken\"\ncurrency = \n").unwrap();
    let mut config = test_config();
    config.network.file = Some(path.clone());
    let server = TestServer::start(config).await;
    let error = server.join().await.unwrap_err().to_string();
    assert!(error.contains("network.toml"), "{error}");
}

#[tokio::test]
async fn a_return_share_out_of_range_fails_startup_with_the_key_named() {
    let mut config = test_config();
    config.returns.refurbished_permille = 1_200;
    let server = TestServer::start(config).await;
    let error = server.join().await.unwrap_err().to_string();
    assert!(error.contains("returns.refurbished_permille"), "{error}");
}

#[tokio::test]
async fn shutdown_reports_not_serving_and_drains_an_open_stream() {
    let mut server = TestServer::serving().await;
    let mut client = InventoryServiceClient::new(server.channel().await);
    let (tx, rx) = tokio::sync::mpsc::channel::<pb::StockDeltaBatch>(4);
    let call = tokio::spawn(async move {
        client
            .stream_stock_deltas(tokio_stream::wrappers::ReceiverStream::new(rx))
            .await
    });
    let delta = |sequence| pb::StockDelta {
        node: "DC-ATL".into(),
        sku: "SKU-000001".into(),
        sequence,
        kind: pb::DeltaKind::Adjust as i32,
        quantity: 1,
        protected: None,
    };
    tx.send(pb::StockDeltaBatch {
        deltas: vec![delta(1)],
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    // Shutdown starts while the stream is open: a health watcher sees
    // NOT_SERVING, and the open stream still completes.
    let mut health = tonic_health::pb::health_client::HealthClient::new(server.channel().await);
    let mut watch = health
        .watch(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let first = watch.message().await.unwrap().unwrap();
    assert_eq!(first.status, ServingStatus::Serving as i32);
    server.signal_shutdown();
    let next = watch.message().await.unwrap().unwrap();
    assert_eq!(next.status, ServingStatus::NotServing as i32);
    drop(watch);
    tx.send(pb::StockDeltaBatch {
        deltas: vec![delta(2)],
    })
    .await
    .unwrap();
    drop(tx);
    let summary = call
        .await
        .unwrap()
        .expect("in-flight stream is drained, not cut")
        .into_inner();
    assert_eq!(summary.received, 2);
    assert_eq!(summary.applied, 2);
    server.stop().await.unwrap();
}
