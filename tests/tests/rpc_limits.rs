//! Per-RPC concurrency limits: one RPC at its limit is refused with
//! RESOURCE_EXHAUSTED while the others still pass, a server stream holds its
//! permit for as long as it runs, and the permit comes back when it ends.
#![allow(clippy::unwrap_used)] // a test may unwrap: a panic is its failure

mod common;

use allot_proto::v1 as pb;
use allot_proto::v1::decision_service_client::DecisionServiceClient;
use allot_proto::v1::inventory_service_client::InventoryServiceClient;
use common::{TestServer, test_config};

#[tokio::test]
async fn a_stream_holds_its_rpc_permit_until_it_ends_and_other_rpcs_still_pass() {
    let mut config = test_config();
    config
        .grpc
        .rpc_concurrency
        .insert("DecisionService/WatchDecisions".to_string(), 1);
    let server = TestServer::start(config).await;
    server.wait_serving().await;
    let mut decisions = DecisionServiceClient::new(server.channel().await);
    let watch = || pb::WatchDecisionsRequest {
        from_position: None,
        kinds: Vec::new(),
    };

    let first = decisions.watch_decisions(watch()).await.unwrap();
    let refused = decisions.watch_decisions(watch()).await.unwrap_err();
    assert_eq!(
        refused.code(),
        tonic::Code::ResourceExhausted,
        "{refused:?}"
    );
    assert!(
        refused.message().contains("grpc.rpc_concurrency"),
        "{refused:?}"
    );

    let mut inventory = InventoryServiceClient::new(server.channel().await);
    inventory
        .get_stock_status(pb::GetStockStatusRequest::default())
        .await
        .expect("another RPC is not limited by the watch limit");

    drop(first);
    let mut reopened = None;
    for _ in 0..200 {
        match decisions.watch_decisions(watch()).await {
            Ok(stream) => {
                reopened = Some(stream);
                break;
            }
            Err(status) if status.code() == tonic::Code::ResourceExhausted => {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            Err(status) => panic!("unexpected {status:?}"),
        }
    }
    assert!(
        reopened.is_some(),
        "the permit of a cancelled stream must come back"
    );
    drop(reopened);
    server.stop().await.unwrap();
}
