//! Input that must not bring the server down or hold it: bytes that are not
//! a message, a watcher that stops reading, a client stream that goes
//! silent. Each against a real server on 127.0.0.1:0.
#![allow(clippy::unwrap_used)] // a test may unwrap: a panic is its failure

mod common;

use std::time::Duration;

use allot_proto::v1 as pb;
use allot_proto::v1::decision_service_client::DecisionServiceClient;
use allot_proto::v1::inventory_service_client::InventoryServiceClient;
use allot_proto::v1::risk_service_client::RiskServiceClient;
use common::orders::{line, score_request};
use common::{TestServer, test_config};
use tonic::transport::Endpoint;

/// Field 1 as a number: `AllocateRequest.order_id` is a string, so these
/// bytes are not an AllocateRequest.
#[derive(Clone, PartialEq, prost::Message)]
struct NotAnOrder {
    #[prost(uint64, tag = "1")]
    order_id: u64,
}

#[tokio::test]
async fn bytes_that_are_not_the_request_message_are_invalid_argument() {
    let server = TestServer::serving().await;
    let mut grpc = tonic::client::Grpc::new(server.channel().await);
    grpc.ready().await.unwrap();
    let path = http::uri::PathAndQuery::from_static("/allot.v1.AllocationService/Allocate");
    let codec = tonic_prost::ProstCodec::<NotAnOrder, pb::AllocateResponse>::default();
    let status = grpc
        .unary(
            tonic::Request::new(NotAnOrder { order_id: 42 }),
            path,
            codec,
        )
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    assert!(
        status.message().contains("not a valid AllocateRequest"),
        "{status:?}"
    );
    // The server goes on answering.
    RiskServiceClient::new(server.channel().await)
        .score_order(score_request(
            "o-after-garbage",
            vec![line("1", "SKU-000001", 1)],
            "10001",
        ))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_watcher_that_stops_reading_gives_its_permit_back() {
    let mut config = test_config();
    config
        .grpc
        .rpc_concurrency
        .insert("DecisionService/WatchDecisions".to_string(), 1);
    config.grpc.stream_stall_timeout_ms = 200;
    let server = TestServer::start(config).await;
    server.wait_serving().await;
    let mut risk = RiskServiceClient::new(server.channel().await);
    for i in 0..60 {
        risk.score_order(score_request(
            &format!("o-stall-{i}"),
            vec![line("1", "SKU-000001", 1)],
            "10001",
        ))
        .await
        .unwrap();
    }
    // A client with a 1 KiB stream window that never reads: the server can
    // send a few events, then waits for it.
    let stalled_channel = Endpoint::from_shared(server.endpoint())
        .unwrap()
        .initial_stream_window_size(Some(1024))
        .connect()
        .await
        .unwrap();
    let watch = || pb::WatchDecisionsRequest {
        from_position: Some(0),
        kinds: Vec::new(),
    };
    let stalled = DecisionServiceClient::new(stalled_channel)
        .watch_decisions(watch())
        .await
        .unwrap();

    let mut decisions = DecisionServiceClient::new(server.channel().await);
    let mut second = None;
    for attempt in 0..600 {
        match decisions.watch_decisions(watch()).await {
            Ok(stream) => {
                second = Some(stream);
                break;
            }
            Err(status) if status.code() == tonic::Code::ResourceExhausted => {
                // Decisions keep coming while the stalled client ignores
                // them, so its backlog outgrows any window and buffer.
                risk.score_order(score_request(
                    &format!("o-stall-more-{attempt}"),
                    vec![line("1", "SKU-000001", 1)],
                    "10001",
                ))
                .await
                .unwrap();
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(status) => panic!("unexpected {status:?}"),
        }
    }
    let mut second = second
        .expect("the stalled watcher's permit came back: another watcher may start")
        .into_inner();
    let first = second.message().await.unwrap().unwrap();
    assert_eq!(first.position, 1, "the new watcher reads the feed");
    drop(stalled);
}

#[tokio::test]
async fn a_client_stream_that_goes_silent_is_ended_and_the_rpc_is_free_again() {
    let mut config = test_config();
    config.grpc.stream_idle_timeout_ms = 200;
    config
        .grpc
        .rpc_concurrency
        .insert("InventoryService/StreamStockDeltas".to_string(), 1);
    let server = TestServer::start(config).await;
    server.wait_serving().await;
    let mut inventory = InventoryServiceClient::new(server.channel().await);
    // A stream that sends one empty batch and then nothing, but stays open.
    let (tx, rx) = tokio::sync::mpsc::channel::<pb::StockDeltaBatch>(1);
    tx.send(pb::StockDeltaBatch { deltas: Vec::new() })
        .await
        .unwrap();
    let status = inventory
        .stream_stock_deltas(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::DeadlineExceeded, "{status:?}");
    assert!(
        status.message().contains("grpc.stream_idle_timeout_ms"),
        "{status:?}"
    );
    // Its permit is back: a stream that ends is applied.
    let done = inventory
        .stream_stock_deltas(tokio_stream::iter(vec![pb::StockDeltaBatch {
            deltas: Vec::new(),
        }]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(done.received, 0);
    drop(tx);
}
