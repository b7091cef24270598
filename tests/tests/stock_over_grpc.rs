//! Stock over gRPC against a real server: replacement, availability, deltas
//! with duplicates, gaps and bad rows, and the limits that protect state.
#![allow(clippy::unwrap_used)] // a test may unwrap: a panic is its failure

mod common;

use allot_proto::v1 as pb;
use allot_proto::v1::inventory_service_client::InventoryServiceClient;
use common::{TestServer, test_config};
use tonic::Code;
use tonic::transport::Channel;

const NODE: &str = "DC-ATL";

fn record(sku: &str, on_hand: i64, reserved: i64, protected: i64) -> pb::StockRecord {
    pb::StockRecord {
        sku: sku.into(),
        on_hand,
        reserved,
        protected,
    }
}

fn delta(
    node: &str,
    sku: &str,
    sequence: u64,
    kind: pb::DeltaKind,
    quantity: i64,
) -> pb::StockDelta {
    pb::StockDelta {
        node: node.into(),
        sku: sku.into(),
        sequence,
        kind: kind as i32,
        quantity,
        protected: None,
    }
}

async fn replace(
    client: &mut InventoryServiceClient<Channel>,
    node: &str,
    as_of_sequence: u64,
    rows: Vec<pb::StockRecord>,
) -> Result<pb::ReplaceNodeStockResponse, tonic::Status> {
    let message = pb::ReplaceNodeStockRequest {
        node: node.into(),
        as_of_sequence,
        rows,
        reset_feed: false,
    };
    client
        .replace_node_stock(tokio_stream::iter(vec![message]))
        .await
        .map(|r| r.into_inner())
}

async fn node_stock(client: &mut InventoryServiceClient<Channel>, node: &str) -> pb::NodeStock {
    client
        .get_node_stock(pb::GetNodeStockRequest {
            node: node.into(),
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
}

async fn availability(
    client: &mut InventoryServiceClient<Channel>,
    sku: &str,
    node: &str,
) -> Option<pb::NodeAvailability> {
    client
        .get_sku_availability(pb::GetSkuAvailabilityRequest {
            sku: sku.into(),
            nodes: vec![node.into()],
            include_zero: false,
        })
        .await
        .unwrap()
        .into_inner()
        .nodes
        .into_iter()
        .next()
}

#[tokio::test]
async fn replacement_then_availability_and_paging() {
    let server = TestServer::serving().await;
    let mut client = InventoryServiceClient::new(server.channel().await);
    let before = node_stock(&mut client, NODE).await;

    let rows = vec![
        record("SKU-000001", 10, 2, 1),
        record("SKU-000002", 5, 0, 0),
        record("SKU-000003", 0, 0, 0),
    ];
    let answer = replace(&mut client, NODE, 40, rows).await.unwrap();
    assert_eq!(answer.rows, 3);
    assert!(answer.version > before.version);

    let level = availability(&mut client, "SKU-000001", NODE).await.unwrap();
    assert_eq!(
        (
            level.on_hand,
            level.reserved,
            level.protected,
            level.available
        ),
        (10, 2, 1, 8)
    );
    assert_eq!(level.snapshot_version, answer.version);

    // Paging through the node one row at a time sees every row exactly once.
    let mut token = String::new();
    let mut seen = Vec::new();
    loop {
        let page = client
            .get_node_stock(pb::GetNodeStockRequest {
                node: NODE.into(),
                page_size: 1,
                page_token: token.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(page.sequence, 40);
        seen.extend(page.rows.into_iter().map(|r| r.sku));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen, ["SKU-000001", "SKU-000002", "SKU-000003"]);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn an_invalid_replacement_names_the_field_and_changes_nothing() {
    let server = TestServer::serving().await;
    let mut client = InventoryServiceClient::new(server.channel().await);
    let before = node_stock(&mut client, NODE).await;

    let unknown = replace(
        &mut client,
        NODE,
        1,
        vec![
            record("SKU-000001", 1, 0, 0),
            record("NO-SUCH-SKU", 1, 0, 0),
        ],
    )
    .await
    .unwrap_err();
    assert_eq!(unknown.code(), Code::InvalidArgument);
    assert!(
        unknown.message().contains("rows[1].sku"),
        "{}",
        unknown.message()
    );

    let negative = replace(&mut client, NODE, 1, vec![record("SKU-000001", -4, 0, 0)])
        .await
        .unwrap_err();
    assert_eq!(negative.code(), Code::InvalidArgument);
    assert!(
        negative.message().contains("on_hand"),
        "{}",
        negative.message()
    );

    let duplicate = replace(
        &mut client,
        NODE,
        1,
        vec![record("SKU-000001", 1, 0, 0), record("SKU-000001", 2, 0, 0)],
    )
    .await
    .unwrap_err();
    assert_eq!(duplicate.code(), Code::InvalidArgument);

    let unknown_node = replace(&mut client, "NO-SUCH-NODE", 1, vec![])
        .await
        .unwrap_err();
    assert_eq!(unknown_node.code(), Code::NotFound);

    let after = node_stock(&mut client, NODE).await;
    assert_eq!(after.version, before.version);
    assert_eq!(after.total_rows, before.total_rows);
    assert_eq!(after.rows, before.rows);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn deltas_with_duplicates_gaps_and_bad_rows() {
    let server = TestServer::serving().await;
    let mut client = InventoryServiceClient::new(server.channel().await);
    replace(&mut client, NODE, 10, vec![record("SKU-000001", 10, 0, 0)])
        .await
        .unwrap();

    use pb::DeltaKind::{Adjust, Set, Unspecified};
    let batches = vec![
        pb::StockDeltaBatch {
            deltas: vec![
                delta(NODE, "SKU-000001", 11, Adjust, -3), // applied: 7
                delta(NODE, "SKU-000001", 11, Adjust, -3), // duplicate
                delta(NODE, "SKU-000001", 5, Set, 1000),   // duplicate (older than the snapshot)
                delta(NODE, "NO-SUCH-SKU", 12, Set, 4),    // quarantined: unknown SKU
            ],
        },
        pb::StockDeltaBatch {
            deltas: vec![
                delta("NO-SUCH-NODE", "SKU-000001", 1, Set, 4), // quarantined: unknown node
                delta(NODE, "SKU-000001", 13, Adjust, -50),     // quarantined: would go negative
                delta(NODE, "SKU-000001", 14, Unspecified, 1),  // quarantined: no kind
                delta(NODE, "SKU-000001", 20, Adjust, 2),       // applied with a gap: 9
            ],
        },
    ];
    let summary = client
        .stream_stock_deltas(tokio_stream::iter(batches))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(summary.received, 8);
    assert_eq!(summary.applied, 2);
    assert_eq!(summary.duplicates, 2);
    assert_eq!(summary.quarantined, 4);
    let reasons: Vec<_> = summary
        .quarantined_rows
        .iter()
        .map(|q| (q.index, q.reason))
        .collect();
    assert_eq!(
        reasons,
        [
            (3, pb::QuarantineReason::UnknownSku as i32),
            (4, pb::QuarantineReason::UnknownNode as i32),
            (5, pb::QuarantineReason::NegativeQuantity as i32),
            (6, pb::QuarantineReason::InvalidKind as i32),
        ]
    );
    assert_eq!(summary.gaps.len(), 1);
    assert_eq!(
        (summary.gaps[0].expected, summary.gaps[0].received),
        (15, 20)
    );
    assert_eq!(summary.nodes.len(), 1);
    assert_eq!(summary.nodes[0].sequence, 20);

    let level = availability(&mut client, "SKU-000001", NODE).await.unwrap();
    assert_eq!(level.on_hand, 9, "only the applied rows changed stock");

    let status = client
        .get_stock_status(pb::GetStockStatusRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.quarantined_total, 4);
    assert_eq!(status.recent.len(), 4);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn lookups_of_unknown_entities_are_not_found_with_the_field() {
    let server = TestServer::serving().await;
    let mut client = InventoryServiceClient::new(server.channel().await);
    let status = client
        .get_sku_availability(pb::GetSkuAvailabilityRequest {
            sku: "NO-SUCH-SKU".into(),
            nodes: vec![],
            include_zero: false,
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert!(status.message().starts_with("sku:"), "{}", status.message());

    let status = client
        .get_sku_availability(pb::GetSkuAvailabilityRequest {
            sku: "SKU-000001".into(),
            nodes: vec![NODE.into(), "NOPE".into()],
            include_zero: false,
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert!(
        status.message().starts_with("nodes[1]:"),
        "{}",
        status.message()
    );

    let status = client
        .get_node_stock(pb::GetNodeStockRequest {
            node: NODE.into(),
            page_size: 0,
            page_token: "garbage".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().starts_with("page_token:"),
        "{}",
        status.message()
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn an_oversized_message_is_refused_and_changes_nothing() {
    let mut config = test_config();
    config.grpc.max_message_bytes = 16 * 1024;
    let server = TestServer::start(config).await;
    server.wait_serving().await;
    let mut client = InventoryServiceClient::new(server.channel().await);
    let before = node_stock(&mut client, NODE).await;
    let rows: Vec<_> = (1..=2000)
        .map(|i| record(&format!("SKU-{i:06}"), 1, 0, 0))
        .collect();
    let status = replace(&mut client, NODE, 1, rows).await.unwrap_err();
    assert!(
        matches!(status.code(), Code::OutOfRange | Code::ResourceExhausted),
        "{status:?}"
    );
    let after = node_stock(&mut client, NODE).await;
    assert_eq!(
        (after.version, after.total_rows),
        (before.version, before.total_rows)
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn requests_beyond_the_concurrency_limit_are_shed_at_once() {
    let mut config = test_config();
    config.grpc.max_concurrent_requests = 1;
    let server = TestServer::start(config).await;
    server.wait_serving().await;
    let mut holder = InventoryServiceClient::new(server.channel().await);
    // An open client stream holds the only permit until it completes.
    let (tx, rx) = tokio::sync::mpsc::channel::<pb::StockDeltaBatch>(1);
    let held = tokio::spawn(async move {
        holder
            .stream_stock_deltas(tokio_stream::wrappers::ReceiverStream::new(rx))
            .await
    });
    let mut client = InventoryServiceClient::new(server.channel().await);
    let mut shed = None;
    for _ in 0..200 {
        match client.get_stock_status(pb::GetStockStatusRequest {}).await {
            Err(status) => {
                shed = Some(status);
                break;
            }
            // The holder's stream may not have reached the server yet.
            Ok(_) => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
        }
    }
    let shed = shed.expect("a second request was never shed");
    assert_eq!(shed.code(), Code::ResourceExhausted);
    // Health stays answerable under overload.
    assert_eq!(
        server.health("").await,
        tonic_health::pb::health_check_response::ServingStatus::Serving
    );
    drop(tx);
    held.await.unwrap().unwrap();
    client
        .get_stock_status(pb::GetStockStatusRequest {})
        .await
        .unwrap();
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_snapshot_older_than_applied_deltas_is_refused_unless_the_feed_resets() {
    let server = TestServer::serving().await;
    let mut client = InventoryServiceClient::new(server.channel().await);
    replace(&mut client, NODE, 10, vec![record("SKU-000001", 10, 0, 0)])
        .await
        .unwrap();
    let deltas = pb::StockDeltaBatch {
        deltas: vec![delta(NODE, "SKU-000001", 12, pb::DeltaKind::Adjust, -4)],
    };
    let summary = client
        .stream_stock_deltas(tokio_stream::iter(vec![deltas]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(summary.applied, 1);

    // As of delta 10, the snapshot would roll delta 12 back: refused,
    // naming both, and nothing changes.
    let stale = replace(&mut client, NODE, 10, vec![record("SKU-000001", 10, 0, 0)])
        .await
        .unwrap_err();
    assert_eq!(stale.code(), tonic::Code::FailedPrecondition, "{stale:?}");
    assert!(
        stale.message().starts_with("as_of_sequence: ")
            && stale.message().contains("10")
            && stale.message().contains("12"),
        "{stale:?}"
    );
    let level = availability(&mut client, "SKU-000001", NODE).await.unwrap();
    assert_eq!(level.on_hand, 6);
    assert_eq!(node_stock(&mut client, NODE).await.sequence, 12);

    // As of delta 12 it is taken.
    let taken = replace(&mut client, NODE, 12, vec![record("SKU-000001", 20, 0, 0)])
        .await
        .unwrap();
    assert_eq!(taken.node, NODE);
    assert_eq!(
        availability(&mut client, "SKU-000001", NODE)
            .await
            .unwrap()
            .on_hand,
        20
    );

    // A feed that restarts its numbering says so, and continues from 0.
    let reset = pb::ReplaceNodeStockRequest {
        node: NODE.into(),
        as_of_sequence: 0,
        rows: vec![record("SKU-000001", 5, 0, 0)],
        reset_feed: true,
    };
    client
        .replace_node_stock(tokio_stream::iter(vec![reset]))
        .await
        .unwrap();
    assert_eq!(node_stock(&mut client, NODE).await.sequence, 0);
    let again = pb::StockDeltaBatch {
        deltas: vec![delta(NODE, "SKU-000001", 1, pb::DeltaKind::Adjust, 1)],
    };
    let summary = client
        .stream_stock_deltas(tokio_stream::iter(vec![again]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((summary.applied, summary.duplicates), (1, 0));
    assert_eq!(
        availability(&mut client, "SKU-000001", NODE)
            .await
            .unwrap()
            .on_hand,
        6
    );
    server.stop().await.unwrap();
}
