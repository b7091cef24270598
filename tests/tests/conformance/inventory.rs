//! InventoryService: ReplaceNodeStock, StreamStockDeltas,
//! GetSkuAvailability, GetNodeStock, GetStockStatus.

use std::time::Duration;

use allot_proto::v1 as pb;
use allot_proto::v1::admin_service_client::AdminServiceClient;
use allot_proto::v1::allocation_service_client::AllocationServiceClient;
use allot_proto::v1::inventory_service_client::InventoryServiceClient;
use tonic::Code;
use tonic::transport::Channel;

use crate::common::orders::{committed, line, order};
use crate::common::{
    EXAMPLE_NETWORK, Saturated, TestServer, assert_field_error, network_config, test_config,
};

const NODE: &str = "DC-ATL";
const SKU1: &str = "SKU-000001";
const SKU2: &str = "SKU-000002";
const SKU3: &str = "SKU-000003";

type Client = InventoryServiceClient<Channel>;

async fn client(server: &TestServer) -> Client {
    InventoryServiceClient::new(server.channel().await)
}

/// A server on the demo network whose nodes all start empty.
async fn empty_server() -> TestServer {
    let mut config = test_config();
    config.stock.demo = false;
    let server = TestServer::start(config).await;
    server.wait_serving().await;
    server
}

fn record(sku: &str, on_hand: i64, reserved: i64, protected: i64) -> pb::StockRecord {
    pb::StockRecord {
        sku: sku.into(),
        on_hand,
        reserved,
        protected,
    }
}

fn message(node: &str, rows: Vec<pb::StockRecord>) -> pb::ReplaceNodeStockRequest {
    pb::ReplaceNodeStockRequest {
        node: node.into(),
        as_of_sequence: 0,
        rows,
        reset_feed: false,
    }
}

async fn replace_stream(
    client: &mut Client,
    messages: Vec<pb::ReplaceNodeStockRequest>,
) -> Result<pb::ReplaceNodeStockResponse, tonic::Status> {
    client
        .replace_node_stock(tokio_stream::iter(messages))
        .await
        .map(tonic::Response::into_inner)
}

async fn replace(
    client: &mut Client,
    node: &str,
    rows: Vec<pb::StockRecord>,
) -> Result<pb::ReplaceNodeStockResponse, tonic::Status> {
    replace_stream(client, vec![message(node, rows)]).await
}

async fn replace_as_of(
    client: &mut Client,
    node: &str,
    as_of_sequence: u64,
    reset_feed: bool,
    rows: Vec<pb::StockRecord>,
) -> Result<pb::ReplaceNodeStockResponse, tonic::Status> {
    let mut first = message(node, rows);
    first.as_of_sequence = as_of_sequence;
    first.reset_feed = reset_feed;
    replace_stream(client, vec![first]).await
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

fn adjust(sku: &str, sequence: u64, quantity: i64) -> pb::StockDelta {
    delta(NODE, sku, sequence, pb::DeltaKind::Adjust, quantity)
}

fn set(sku: &str, sequence: u64, quantity: i64) -> pb::StockDelta {
    delta(NODE, sku, sequence, pb::DeltaKind::Set, quantity)
}

async fn stream(
    client: &mut Client,
    batches: Vec<Vec<pb::StockDelta>>,
) -> Result<pb::StockDeltaSummary, tonic::Status> {
    let batches = batches
        .into_iter()
        .map(|deltas| pb::StockDeltaBatch { deltas });
    client
        .stream_stock_deltas(tokio_stream::iter(batches))
        .await
        .map(tonic::Response::into_inner)
}

async fn node_page(
    client: &mut Client,
    node: &str,
    page_size: u32,
    page_token: &str,
) -> Result<pb::NodeStock, tonic::Status> {
    client
        .get_node_stock(pb::GetNodeStockRequest {
            node: node.into(),
            page_size,
            page_token: page_token.into(),
        })
        .await
        .map(tonic::Response::into_inner)
}

async fn node_stock(client: &mut Client, node: &str) -> pb::NodeStock {
    node_page(client, node, 10_000, "").await.unwrap()
}

/// `sku` at `node`, listed even when zero.
async fn level(client: &mut Client, sku: &str, node: &str) -> pb::NodeAvailability {
    let mut answer = client
        .get_sku_availability(pb::GetSkuAvailabilityRequest {
            sku: sku.into(),
            nodes: vec![node.into()],
            include_zero: true,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.nodes.len(), 1, "{answer:?}");
    answer.nodes.remove(0)
}

async fn status(client: &mut Client) -> pb::StockStatus {
    client
        .get_stock_status(pb::GetStockStatusRequest {})
        .await
        .unwrap()
        .into_inner()
}

async fn network(server: &TestServer) -> pb::NetworkDescription {
    AdminServiceClient::new(server.channel().await)
        .get_network(pb::GetNetworkRequest {
            include_skus: false,
        })
        .await
        .unwrap()
        .into_inner()
}

/// One node code of each kind: a DC, a store, a 3PL.
async fn one_node_of_each_kind(server: &TestServer) -> Vec<String> {
    let network = network(server).await;
    [
        pb::NodeKind::Store,
        pb::NodeKind::DistributionCenter,
        pb::NodeKind::ThirdPartyLogistics,
    ]
    .iter()
    .map(|kind| {
        network
            .nodes
            .iter()
            .find(|n| n.kind == *kind as i32)
            .unwrap_or_else(|| panic!("no {kind:?} node"))
            .code
            .clone()
    })
    .collect()
}

/// The example network with SKUs whose codes are not in file order.
fn unsorted_skus_network() -> String {
    let mut toml = EXAMPLE_NETWORK.to_string();
    for code in ["SKU-Z", "SKU-M", "SKU-A"] {
        toml.push_str(&format!(
            "\n[[skus]]\ncode = \"{code}\"\ncategory = \"apparel\"\nweight_grams = 200\nunit_price_minor = 1000\n"
        ));
    }
    toml
}

// --- ReplaceNodeStock -------------------------------------------------------

#[tokio::test]
async fn replace_node_stock_replaces_the_whole_snapshot_and_skus_left_out_end_with_zero_stock() {
    let server = empty_server().await;
    let mut client = client(&server).await;
    replace(
        &mut client,
        NODE,
        vec![record(SKU1, 10, 0, 0), record(SKU2, 7, 1, 2)],
    )
    .await
    .unwrap();

    let answer = replace(&mut client, NODE, vec![record(SKU1, 4, 0, 0)])
        .await
        .unwrap();
    assert_eq!(answer.node, NODE);
    assert_eq!(answer.rows, 1);
    assert!(answer.updated_at.is_some());
    let left_out = level(&mut client, SKU2, NODE).await;
    assert_eq!(
        (
            left_out.on_hand,
            left_out.reserved,
            left_out.protected,
            left_out.available
        ),
        (0, 0, 0, 0)
    );
    assert_eq!(level(&mut client, SKU1, NODE).await.on_hand, 4);
    let stock = node_stock(&mut client, NODE).await;
    assert_eq!(stock.total_rows, 1);
    assert_eq!(stock.version, answer.version);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn replace_node_stock_version_is_greater_than_any_previous_version() {
    let server = TestServer::serving().await;
    let mut client = client(&server).await;
    let mut last = node_stock(&mut client, NODE).await.version;
    for on_hand in [5, 5, 6] {
        let answer = replace(&mut client, NODE, vec![record(SKU1, on_hand, 0, 0)])
            .await
            .unwrap();
        assert!(answer.version > last, "{} after {last}", answer.version);
        last = answer.version;
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn replace_node_stock_keeps_live_reservations_counting_against_availability() {
    let server = empty_server().await;
    let mut client = client(&server).await;
    replace(&mut client, NODE, vec![record(SKU1, 10, 0, 0)])
        .await
        .unwrap();
    let answer = AllocationServiceClient::new(server.channel().await)
        .allocate(committed(
            order("o-held", vec![line("a", SKU1, 3)], "30301"),
            "key-held",
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(answer.reservation.is_some(), "{answer:?}");
    assert_eq!(level(&mut client, SKU1, NODE).await.reserved, 3);

    replace(&mut client, NODE, vec![record(SKU1, 8, 1, 0)])
        .await
        .unwrap();
    let after = level(&mut client, SKU1, NODE).await;
    assert_eq!(
        (after.on_hand, after.reserved, after.available),
        (8, 1 + 3, 8 - 4),
        "the hold of 3 still counts"
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn replace_node_stock_rows_split_over_messages_are_one_snapshot() {
    let server = empty_server().await;
    let mut client = client(&server).await;
    let before = node_stock(&mut client, NODE).await.version;
    let answer = replace_stream(
        &mut client,
        vec![
            message(NODE, vec![record(SKU1, 1, 0, 0)]),
            message(NODE, vec![]),
            message(NODE, vec![record(SKU2, 2, 0, 0), record(SKU3, 3, 0, 0)]),
        ],
    )
    .await
    .unwrap();
    assert_eq!(answer.rows, 3);
    let stock = node_stock(&mut client, NODE).await;
    let rows: Vec<_> = stock
        .rows
        .iter()
        .map(|r| (r.sku.as_str(), r.on_hand))
        .collect();
    assert_eq!(rows, [(SKU1, 1), (SKU2, 2), (SKU3, 3)]);
    assert!(stock.version > before);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn replace_node_stock_an_invalid_row_in_a_later_message_applies_nothing() {
    let server = TestServer::serving().await;
    let mut client = client(&server).await;
    let before = node_stock(&mut client, NODE).await;
    let status = replace_stream(
        &mut client,
        vec![
            message(NODE, vec![record(SKU1, 1, 0, 0), record(SKU2, 1, 0, 0)]),
            message(NODE, vec![record(SKU3, -1, 0, 0)]),
        ],
    )
    .await
    .unwrap_err();
    assert_field_error(
        &status,
        Code::InvalidArgument,
        "messages[1].rows[0].on_hand",
    );
    let after = node_stock(&mut client, NODE).await;
    assert_eq!(
        (after.version, after.total_rows, after.rows),
        (before.version, before.total_rows, before.rows)
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn replace_node_stock_empty_node_on_the_first_message_is_invalid_argument_naming_it() {
    let server = TestServer::serving().await;
    let status = replace(&mut client(&server).await, "", vec![record(SKU1, 1, 0, 0)])
        .await
        .unwrap_err();
    assert_field_error(&status, Code::InvalidArgument, "messages[0].node");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn replace_node_stock_node_differing_between_messages_is_invalid_argument_naming_the_message()
{
    let server = TestServer::serving().await;
    let mut client = client(&server).await;
    let before = node_stock(&mut client, NODE).await.version;
    let status = replace_stream(
        &mut client,
        vec![
            message(NODE, vec![record(SKU1, 1, 0, 0)]),
            message(NODE, vec![]),
            message("DC-DFW", vec![record(SKU2, 1, 0, 0)]),
        ],
    )
    .await
    .unwrap_err();
    assert_field_error(&status, Code::InvalidArgument, "messages[2].node");
    assert!(status.message().contains(NODE), "{status:?}");
    assert_eq!(node_stock(&mut client, NODE).await.version, before);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn replace_node_stock_unknown_sku_is_invalid_argument_naming_message_row_and_field() {
    let server = TestServer::serving().await;
    let status = replace_stream(
        &mut client(&server).await,
        vec![
            message(NODE, vec![record(SKU1, 1, 0, 0)]),
            message(
                NODE,
                vec![record(SKU2, 1, 0, 0), record("NO-SUCH-SKU", 1, 0, 0)],
            ),
        ],
    )
    .await
    .unwrap_err();
    assert_field_error(&status, Code::InvalidArgument, "messages[1].rows[1].sku");
    assert!(status.message().contains("NO-SUCH-SKU"), "{status:?}");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn replace_node_stock_a_negative_quantity_is_invalid_argument_naming_the_field() {
    let server = TestServer::serving().await;
    let mut client = client(&server).await;
    for (row, field) in [
        (record(SKU1, -1, 0, 0), "on_hand"),
        (record(SKU1, 1, -1, 0), "reserved"),
        (record(SKU1, 1, 0, -1), "protected"),
    ] {
        let status = replace(&mut client, NODE, vec![record(SKU2, 1, 0, 0), row])
            .await
            .unwrap_err();
        assert_field_error(
            &status,
            Code::InvalidArgument,
            &format!("messages[0].rows[1].{field}"),
        );
        assert!(status.message().contains("-1"), "{status:?}");
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn replace_node_stock_a_duplicate_sku_is_invalid_argument_naming_the_second_row() {
    let server = TestServer::serving().await;
    let mut client = client(&server).await;
    let status = replace(
        &mut client,
        NODE,
        vec![record(SKU1, 1, 0, 0), record(SKU1, 2, 0, 0)],
    )
    .await
    .unwrap_err();
    assert_field_error(&status, Code::InvalidArgument, "messages[0].rows[1].sku");
    // Once in the whole replacement: also across messages.
    let status = replace_stream(
        &mut client,
        vec![
            message(NODE, vec![record(SKU1, 1, 0, 0)]),
            message(NODE, vec![record(SKU1, 2, 0, 0)]),
        ],
    )
    .await
    .unwrap_err();
    assert_field_error(&status, Code::InvalidArgument, "messages[1].rows[0].sku");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn replace_node_stock_a_stream_with_no_message_is_invalid_argument() {
    let server = TestServer::serving().await;
    let status = replace_stream(&mut client(&server).await, vec![])
        .await
        .unwrap_err();
    assert_field_error(&status, Code::InvalidArgument, "messages");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn replace_node_stock_unknown_node_is_not_found_naming_the_node() {
    let server = TestServer::serving().await;
    let status = replace(&mut client(&server).await, "NO-SUCH-NODE", vec![])
        .await
        .unwrap_err();
    assert_field_error(&status, Code::NotFound, "messages[0].node");
    assert!(status.message().contains("NO-SUCH-NODE"), "{status:?}");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn replace_node_stock_messages_holding_no_row_empty_the_node() {
    let server = TestServer::serving().await;
    let mut client = client(&server).await;
    assert!(
        node_stock(&mut client, NODE).await.total_rows > 0,
        "demo stock"
    );
    let answer = replace_stream(
        &mut client,
        vec![message(NODE, vec![]), message(NODE, vec![])],
    )
    .await
    .unwrap();
    assert_eq!(answer.rows, 0);
    let stock = node_stock(&mut client, NODE).await;
    assert_eq!((stock.total_rows, stock.rows.len()), (0, 0));
    server.stop().await.unwrap();
}

#[tokio::test]
async fn replace_node_stock_reserved_above_on_hand_leaves_zero_available() {
    let server = empty_server().await;
    let mut client = client(&server).await;
    replace(&mut client, NODE, vec![record(SKU1, 3, 5, 1)])
        .await
        .unwrap();
    let level = level(&mut client, SKU1, NODE).await;
    assert_eq!(
        (
            level.on_hand,
            level.reserved,
            level.protected,
            level.available
        ),
        (3, 5, 1, 0)
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn replace_node_stock_as_of_sequence_becomes_the_node_sequence_and_older_deltas_are_duplicates()
 {
    let server = empty_server().await;
    let mut client = client(&server).await;
    replace_as_of(&mut client, NODE, 40, false, vec![record(SKU1, 10, 0, 0)])
        .await
        .unwrap();
    assert_eq!(node_stock(&mut client, NODE).await.sequence, 40);
    let summary = stream(
        &mut client,
        vec![vec![adjust(SKU1, 40, 5), adjust(SKU1, 41, 1)]],
    )
    .await
    .unwrap();
    assert_eq!((summary.duplicates, summary.applied), (1, 1));
    assert_eq!(level(&mut client, SKU1, NODE).await.on_hand, 11);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn replace_node_stock_as_of_zero_lets_the_next_delta_have_any_sequence() {
    let server = empty_server().await;
    let mut client = client(&server).await;
    replace(&mut client, NODE, vec![record(SKU1, 10, 0, 0)])
        .await
        .unwrap();
    let summary = stream(&mut client, vec![vec![adjust(SKU1, 1, 1)]])
        .await
        .unwrap();
    assert_eq!((summary.applied, summary.duplicates), (1, 0));
    assert!(summary.gaps.is_empty(), "{:?}", summary.gaps);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn replace_node_stock_older_than_applied_deltas_is_failed_precondition_naming_both() {
    let server = empty_server().await;
    let mut client = client(&server).await;
    replace_as_of(&mut client, NODE, 10, false, vec![record(SKU1, 10, 0, 0)])
        .await
        .unwrap();
    stream(&mut client, vec![vec![adjust(SKU1, 17, -4)]])
        .await
        .unwrap();
    let before = node_stock(&mut client, NODE).await;

    let status = replace_as_of(&mut client, NODE, 12, false, vec![record(SKU1, 99, 0, 0)])
        .await
        .unwrap_err();
    assert_field_error(&status, Code::FailedPrecondition, "as_of_sequence");
    assert!(
        status.message().contains("12") && status.message().contains("17"),
        "{status:?}"
    );
    let after = node_stock(&mut client, NODE).await;
    assert_eq!((after.version, after.rows), (before.version, before.rows));
    server.stop().await.unwrap();
}

#[tokio::test]
async fn replace_node_stock_reset_feed_takes_a_snapshot_below_the_node_sequence() {
    let server = empty_server().await;
    let mut client = client(&server).await;
    replace_as_of(&mut client, NODE, 50, false, vec![record(SKU1, 10, 0, 0)])
        .await
        .unwrap();
    replace_as_of(&mut client, NODE, 3, true, vec![record(SKU1, 20, 0, 0)])
        .await
        .unwrap();
    let stock = node_stock(&mut client, NODE).await;
    assert_eq!((stock.sequence, stock.rows[0].on_hand), (3, 20));
    let summary = stream(&mut client, vec![vec![adjust(SKU1, 4, 1)]])
        .await
        .unwrap();
    assert_eq!(summary.applied, 1, "the feed continues from 3");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn replace_node_stock_reads_as_of_sequence_and_reset_feed_from_the_first_message_only() {
    let server = empty_server().await;
    let mut client = client(&server).await;
    replace_as_of(&mut client, NODE, 50, false, vec![record(SKU1, 10, 0, 0)])
        .await
        .unwrap();
    let mut first = message(NODE, vec![record(SKU1, 1, 0, 0)]);
    first.as_of_sequence = 60;
    let mut second = message(NODE, vec![]);
    second.as_of_sequence = 5;
    second.reset_feed = true;
    replace_stream(&mut client, vec![first, second])
        .await
        .unwrap();
    assert_eq!(node_stock(&mut client, NODE).await.sequence, 60);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn replace_node_stock_an_oversized_message_is_out_of_range_and_applies_nothing() {
    let mut config = test_config();
    config.grpc.max_message_bytes = 16 * 1024;
    let server = TestServer::start(config).await;
    server.wait_serving().await;
    let mut client = client(&server).await;
    let before = node_stock(&mut client, NODE).await;
    let rows: Vec<_> = (1..=2000)
        .map(|i| record(&format!("SKU-{i:06}"), 1, 0, 0))
        .collect();
    let status = replace_stream(
        &mut client,
        vec![
            message(NODE, vec![record(SKU1, 1, 0, 0)]),
            message(NODE, rows),
        ],
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
    let after = node_stock(&mut client, NODE).await;
    assert_eq!(
        (after.version, after.total_rows),
        (before.version, before.total_rows)
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn replace_node_stock_a_deadline_passing_before_the_stream_ends_applies_nothing() {
    // The server bounds every call (its deadline, when the caller's is
    // longer or absent). Without a caller deadline the client waits for the
    // server's answer, so the answer is the server's own: the call ended
    // there, and the end of the stream sent afterwards changes nothing.
    let mut config = test_config();
    config.grpc.request_timeout_ms = 300;
    let server = TestServer::start(config).await;
    server.wait_serving().await;
    let mut client = client(&server).await;
    let before = node_stock(&mut client, NODE).await;
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tx.send(message(NODE, vec![record(SKU1, 1, 0, 0)]))
        .await
        .unwrap();
    // The stream stays open (tx is alive) until the deadline passes.
    let status = client
        .replace_node_stock(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    drop(tx);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let after = node_stock(&mut client, NODE).await;
    assert_eq!(
        (after.version, after.total_rows),
        (before.version, before.total_rows)
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn replace_node_stock_a_stream_broken_off_by_the_client_applies_nothing() {
    let server = TestServer::serving().await;
    let mut reader = client(&server).await;
    let before = node_stock(&mut reader, NODE).await;
    // The client cannot encode the second message: it resets the stream
    // after the first has gone out, as a cancelled call does.
    let mut writer = client(&server).await.max_encoding_message_size(256);
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let call = tokio::spawn(async move {
        writer
            .replace_node_stock(tokio_stream::wrappers::ReceiverStream::new(rx))
            .await
    });
    tx.send(message(NODE, vec![record(SKU1, 1, 0, 0)]))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let rows: Vec<_> = (2..=100)
        .map(|i| record(&format!("SKU-{i:06}"), 1, 0, 0))
        .collect();
    let _ = tx.send(message(NODE, rows)).await;
    drop(tx);
    call.await.unwrap().unwrap_err();
    // Whatever the server makes of the broken stream, it takes nothing.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let after = node_stock(&mut reader, NODE).await;
    assert_eq!(
        (after.version, after.total_rows),
        (before.version, before.total_rows)
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn replace_node_stock_when_overloaded_is_resource_exhausted() {
    let saturated = Saturated::start().await;
    let status = saturated
        .refused(|channel| async move {
            replace(&mut Client::new(channel), NODE, vec![record(SKU1, 1, 0, 0)]).await
        })
        .await;
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    saturated.stop().await;
}

// --- StreamStockDeltas ------------------------------------------------------

#[tokio::test]
async fn stream_stock_deltas_applies_adjust_and_set_in_order() {
    let server = empty_server().await;
    let mut client = client(&server).await;
    replace(&mut client, NODE, vec![record(SKU1, 10, 0, 0)])
        .await
        .unwrap();
    // In order: 10 - 3 = 7, set 2, + 5 = 7. Any other order gives another
    // number.
    let summary = stream(
        &mut client,
        vec![
            vec![adjust(SKU1, 1, -3), set(SKU1, 2, 2)],
            vec![adjust(SKU1, 3, 5)],
        ],
    )
    .await
    .unwrap();
    assert_eq!(summary.applied, 3);
    assert_eq!(level(&mut client, SKU1, NODE).await.on_hand, 7);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn stream_stock_deltas_protected_is_set_when_present_and_kept_when_absent() {
    let server = empty_server().await;
    let mut client = client(&server).await;
    replace(&mut client, NODE, vec![record(SKU1, 10, 0, 4)])
        .await
        .unwrap();
    stream(&mut client, vec![vec![adjust(SKU1, 1, 1)]])
        .await
        .unwrap();
    assert_eq!(level(&mut client, SKU1, NODE).await.protected, 4);
    let mut with_protected = adjust(SKU1, 2, 0);
    with_protected.protected = Some(2);
    stream(&mut client, vec![vec![with_protected]])
        .await
        .unwrap();
    let after = level(&mut client, SKU1, NODE).await;
    assert_eq!((after.on_hand, after.protected), (11, 2));
    server.stop().await.unwrap();
}

#[tokio::test]
async fn stream_stock_deltas_a_replayed_feed_is_skipped_as_duplicates_and_counted() {
    let server = empty_server().await;
    let mut client = client(&server).await;
    replace(&mut client, NODE, vec![record(SKU1, 10, 0, 0)])
        .await
        .unwrap();
    let feed = vec![vec![adjust(SKU1, 1, -3), adjust(SKU1, 2, 1)]];
    stream(&mut client, feed.clone()).await.unwrap();
    let version = node_stock(&mut client, NODE).await.version;

    let again = stream(&mut client, feed).await.unwrap();
    assert_eq!(
        (
            again.received,
            again.applied,
            again.duplicates,
            again.quarantined
        ),
        (2, 0, 2, 0)
    );
    assert_eq!(level(&mut client, SKU1, NODE).await.on_hand, 8);
    assert_eq!(node_stock(&mut client, NODE).await.version, version);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn stream_stock_deltas_a_jump_is_applied_and_reported_as_a_gap_and_the_missing_are_duplicates_later()
 {
    let server = empty_server().await;
    let mut client = client(&server).await;
    replace_as_of(&mut client, NODE, 5, false, vec![record(SKU1, 10, 0, 0)])
        .await
        .unwrap();
    let summary = stream(
        &mut client,
        vec![vec![adjust(SKU1, 6, 1), adjust(SKU1, 9, 1)]],
    )
    .await
    .unwrap();
    assert_eq!(summary.applied, 2);
    let gaps: Vec<_> = summary
        .gaps
        .iter()
        .map(|g| (g.node.as_str(), g.expected, g.received))
        .collect();
    assert_eq!(gaps, [(NODE, 7, 9)]);
    let late = stream(
        &mut client,
        vec![vec![adjust(SKU1, 7, 100), adjust(SKU1, 8, 100)]],
    )
    .await
    .unwrap();
    assert_eq!((late.applied, late.duplicates), (0, 2));
    assert_eq!(level(&mut client, SKU1, NODE).await.on_hand, 12);
    server.stop().await.unwrap();
}

/// Streams one `bad` row and returns its quarantine record.
async fn quarantined(client: &mut Client, bad: pb::StockDelta) -> pb::QuarantinedDelta {
    let summary = stream(client, vec![vec![bad]]).await.unwrap();
    assert_eq!(
        (summary.received, summary.applied, summary.quarantined),
        (1, 0, 1),
        "{summary:?}"
    );
    assert_eq!(summary.quarantined_rows.len(), 1);
    summary.quarantined_rows[0].clone()
}

#[tokio::test]
async fn stream_stock_deltas_an_unknown_node_is_quarantined_as_unknown_node() {
    let server = empty_server().await;
    let mut client = client(&server).await;
    let row = quarantined(
        &mut client,
        delta("NO-SUCH-NODE", SKU1, 3, pb::DeltaKind::Adjust, 1),
    )
    .await;
    assert_eq!(row.reason, pb::QuarantineReason::UnknownNode as i32);
    assert_eq!(
        (row.index, row.node.as_str(), row.sku.as_str(), row.sequence),
        (0, "NO-SUCH-NODE", SKU1, 3),
        "as sent"
    );
    assert!(!row.message.is_empty());
    server.stop().await.unwrap();
}

#[tokio::test]
async fn stream_stock_deltas_an_unknown_sku_is_quarantined_and_still_consumes_its_sequence() {
    let server = empty_server().await;
    let mut client = client(&server).await;
    replace(&mut client, NODE, vec![record(SKU1, 10, 0, 0)])
        .await
        .unwrap();
    let row = quarantined(&mut client, adjust("NO-SUCH-SKU", 1, 1)).await;
    assert_eq!(row.reason, pb::QuarantineReason::UnknownSku as i32);
    assert_eq!(node_stock(&mut client, NODE).await.sequence, 1);
    // A correction must come under a new sequence: the old one is used.
    let summary = stream(
        &mut client,
        vec![vec![adjust(SKU1, 1, 5), adjust(SKU1, 2, 1)]],
    )
    .await
    .unwrap();
    assert_eq!((summary.duplicates, summary.applied), (1, 1));
    assert_eq!(level(&mut client, SKU1, NODE).await.on_hand, 11);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn stream_stock_deltas_a_negative_set_is_quarantined_as_negative_quantity() {
    let server = empty_server().await;
    let mut client = client(&server).await;
    replace(&mut client, NODE, vec![record(SKU1, 10, 0, 0)])
        .await
        .unwrap();
    let row = quarantined(&mut client, set(SKU1, 1, -1)).await;
    assert_eq!(row.reason, pb::QuarantineReason::NegativeQuantity as i32);
    assert_eq!(level(&mut client, SKU1, NODE).await.on_hand, 10);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn stream_stock_deltas_an_adjust_below_zero_is_quarantined_as_negative_quantity() {
    let server = empty_server().await;
    let mut client = client(&server).await;
    replace(&mut client, NODE, vec![record(SKU1, 3, 0, 0)])
        .await
        .unwrap();
    let row = quarantined(&mut client, adjust(SKU1, 1, -5)).await;
    assert_eq!(row.reason, pb::QuarantineReason::NegativeQuantity as i32);
    assert_eq!(level(&mut client, SKU1, NODE).await.on_hand, 3);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn stream_stock_deltas_an_unspecified_or_unknown_kind_is_quarantined_as_invalid_kind() {
    let server = empty_server().await;
    let mut client = client(&server).await;
    replace(&mut client, NODE, vec![record(SKU1, 3, 0, 0)])
        .await
        .unwrap();
    let row = quarantined(
        &mut client,
        delta(NODE, SKU1, 1, pb::DeltaKind::Unspecified, 1),
    )
    .await;
    assert_eq!(row.reason, pb::QuarantineReason::InvalidKind as i32);
    let mut unknown = adjust(SKU1, 2, 1);
    unknown.kind = 42;
    let row = quarantined(&mut client, unknown).await;
    assert_eq!(row.reason, pb::QuarantineReason::InvalidKind as i32);
    assert_eq!(level(&mut client, SKU1, NODE).await.on_hand, 3);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn stream_stock_deltas_a_negative_protected_is_quarantined_as_negative_protected() {
    let server = empty_server().await;
    let mut client = client(&server).await;
    replace(&mut client, NODE, vec![record(SKU1, 3, 0, 1)])
        .await
        .unwrap();
    let mut bad = adjust(SKU1, 1, 1);
    bad.protected = Some(-1);
    let row = quarantined(&mut client, bad).await;
    assert_eq!(row.reason, pb::QuarantineReason::NegativeProtected as i32);
    let after = level(&mut client, SKU1, NODE).await;
    assert_eq!((after.on_hand, after.protected), (3, 1), "never applied");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn stream_stock_deltas_quarantined_rows_do_not_stop_the_stream_and_index_counts_rows_across_batches()
 {
    let server = empty_server().await;
    let mut client = client(&server).await;
    replace(&mut client, NODE, vec![record(SKU1, 10, 0, 0)])
        .await
        .unwrap();
    let summary = stream(
        &mut client,
        vec![
            vec![adjust(SKU1, 1, 1), adjust("NO-SUCH-SKU", 2, 1)],
            vec![],
            vec![adjust(SKU1, 3, 1), set(SKU1, 4, -2), adjust(SKU1, 5, 1)],
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        (summary.received, summary.applied, summary.quarantined),
        (5, 3, 2)
    );
    let indexes: Vec<_> = summary.quarantined_rows.iter().map(|q| q.index).collect();
    assert_eq!(indexes, [1, 3], "0-based over the whole stream, in order");
    assert_eq!(level(&mut client, SKU1, NODE).await.on_hand, 13);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn stream_stock_deltas_received_is_applied_plus_duplicates_plus_quarantined() {
    let server = empty_server().await;
    let mut client = client(&server).await;
    replace_as_of(&mut client, NODE, 3, false, vec![record(SKU1, 10, 0, 0)])
        .await
        .unwrap();
    let summary = stream(
        &mut client,
        vec![vec![
            adjust(SKU1, 2, 1),
            adjust(SKU1, 4, 1),
            adjust(SKU1, 4, 1),
            adjust("NO-SUCH-SKU", 5, 1),
            delta("NOPE", SKU1, 1, pb::DeltaKind::Set, 1),
            adjust(SKU1, 6, 1),
        ]],
    )
    .await
    .unwrap();
    assert_eq!(
        (
            summary.received,
            summary.applied,
            summary.duplicates,
            summary.quarantined
        ),
        (6, 2, 2, 2)
    );
    assert_eq!(
        summary.received,
        summary.applied + summary.duplicates + summary.quarantined
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn stream_stock_deltas_lists_the_first_1000_quarantined_rows_and_counts_the_rest() {
    let server = empty_server().await;
    let mut client = client(&server).await;
    let rows: Vec<_> = (1..=1005).map(|i| adjust("NO-SUCH-SKU", i, 1)).collect();
    let summary = stream(&mut client, vec![rows]).await.unwrap();
    assert_eq!(summary.quarantined, 1005);
    assert_eq!(summary.quarantined_rows.len(), 1000);
    assert!(
        summary
            .quarantined_rows
            .iter()
            .enumerate()
            .all(|(i, q)| q.index == i as u64),
        "the first 1000, in stream order"
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn stream_stock_deltas_an_empty_batch_is_accepted_and_does_nothing() {
    let server = TestServer::serving().await;
    let mut client = client(&server).await;
    let before = status(&mut client).await;
    let summary = stream(&mut client, vec![vec![], vec![]]).await.unwrap();
    assert_eq!(summary, pb::StockDeltaSummary::default());
    let after = status(&mut client).await;
    assert_eq!(before.nodes, after.nodes);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn stream_stock_deltas_every_applied_change_raises_the_node_version() {
    let server = empty_server().await;
    let mut client = client(&server).await;
    let replaced = replace(&mut client, NODE, vec![record(SKU1, 10, 0, 0)])
        .await
        .unwrap();
    let summary = stream(&mut client, vec![vec![adjust(SKU1, 1, 1)]])
        .await
        .unwrap();
    let after_one = summary.nodes[0].version;
    assert!(after_one > replaced.version);
    let summary = stream(&mut client, vec![vec![adjust(SKU1, 2, 1)]])
        .await
        .unwrap();
    assert!(summary.nodes[0].version > after_one);
    assert_eq!(
        node_stock(&mut client, NODE).await.version,
        summary.nodes[0].version
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn stream_stock_deltas_summary_lists_every_touched_node_ordered_by_code() {
    let server = empty_server().await;
    let nodes = one_node_of_each_kind(&server).await;
    let mut client = client(&server).await;
    let deltas: Vec<_> = nodes
        .iter()
        .map(|node| delta(node, SKU1, 1, pb::DeltaKind::Set, 4))
        .collect();
    let summary = stream(&mut client, vec![deltas]).await.unwrap();
    let listed: Vec<_> = summary.nodes.iter().map(|n| n.node.clone()).collect();
    let mut expected = nodes.clone();
    expected.sort();
    assert_eq!(listed, expected);
    for node in &summary.nodes {
        assert_eq!((node.sequence, node.rows), (1, 1), "{node:?}");
        assert!(node.version > 0 && node.updated_at.is_some(), "{node:?}");
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn stream_stock_deltas_applies_each_batch_atomically_per_node() {
    let server = empty_server().await;
    let mut client = client(&server).await;
    replace(
        &mut client,
        NODE,
        vec![record(SKU1, 500, 0, 0), record(SKU2, 0, 0, 0)],
    )
    .await
    .unwrap();
    // Each batch moves one unit from SKU1 to SKU2: a reader sees 500 in
    // all, or half a batch.
    let batches: Vec<_> = (0..500u64)
        .map(|i| vec![adjust(SKU1, 2 * i + 1, -1), adjust(SKU2, 2 * i + 2, 1)])
        .collect();
    let mut reader = self::client(&server).await;
    let (done_tx, mut done) = tokio::sync::watch::channel(false);
    let reading = tokio::spawn(async move {
        let mut reads = 0;
        while !*done.borrow_and_update() {
            let stock = node_stock(&mut reader, NODE).await;
            let total: i64 = stock.rows.iter().map(|r| r.on_hand).sum();
            assert_eq!(total, 500, "half a batch seen: {:?}", stock.rows);
            reads += 1;
        }
        reads
    });
    let summary = stream(&mut client, batches).await.unwrap();
    done_tx.send(true).unwrap();
    assert!(reading.await.unwrap() > 0);
    assert_eq!(summary.applied, 1000);
    assert_eq!(level(&mut client, SKU2, NODE).await.on_hand, 500);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn stream_stock_deltas_an_oversized_batch_is_out_of_range_and_earlier_batches_stay_applied() {
    let mut config = test_config();
    config.grpc.max_message_bytes = 16 * 1024;
    config.stock.demo = false;
    let server = TestServer::start(config).await;
    server.wait_serving().await;
    let mut client = client(&server).await;
    replace(&mut client, NODE, vec![record(SKU1, 10, 0, 0)])
        .await
        .unwrap();
    let huge: Vec<_> = (0..2000).map(|i| adjust(SKU1, 10 + i, 0)).collect();
    let status = stream(&mut client, vec![vec![adjust(SKU1, 1, 5)], huge])
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
    assert_eq!(level(&mut client, SKU1, NODE).await.on_hand, 15);
    assert_eq!(node_stock(&mut client, NODE).await.sequence, 1);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn stream_stock_deltas_a_deadline_passing_ends_the_stream_and_received_batches_stay_applied()
{
    let server = empty_server().await;
    let mut client = client(&server).await;
    let replaced = replace(&mut client, NODE, vec![record(SKU1, 10, 0, 0)])
        .await
        .unwrap();
    let mut writer = self::client(&server).await;
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let call = tokio::spawn(async move {
        let mut request = tonic::Request::new(tokio_stream::wrappers::ReceiverStream::new(rx));
        request.set_timeout(Duration::from_secs(2));
        writer.stream_stock_deltas(request).await
    });
    tx.send(pb::StockDeltaBatch {
        deltas: vec![adjust(SKU1, 1, 5)],
    })
    .await
    .unwrap();
    // The first batch is applied while the stream is still open ...
    while node_stock(&mut client, NODE).await.version == replaced.version {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // ... and stays applied when the deadline ends the stream.
    call.await.unwrap().unwrap_err();
    drop(tx);
    assert_eq!(level(&mut client, SKU1, NODE).await.on_hand, 15);
    assert_eq!(status_of(&mut client, NODE).await.sequence, 1);
    server.stop().await.unwrap();
}

async fn status_of(client: &mut Client, node: &str) -> pb::NodeStockVersion {
    status(client)
        .await
        .nodes
        .into_iter()
        .find(|n| n.node == node)
        .unwrap()
}

#[tokio::test]
async fn stream_stock_deltas_when_overloaded_is_resource_exhausted() {
    let saturated = Saturated::start().await;
    let status = saturated
        .refused(|channel| async move {
            stream(&mut Client::new(channel), vec![vec![adjust(SKU1, 1, 1)]]).await
        })
        .await;
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    saturated.stop().await;
}

// --- GetSkuAvailability -----------------------------------------------------

#[tokio::test]
async fn get_sku_availability_empty_sku_is_invalid_argument_naming_sku() {
    let server = TestServer::serving().await;
    let status = client(&server)
        .await
        .get_sku_availability(pb::GetSkuAvailabilityRequest::default())
        .await
        .unwrap_err();
    assert_field_error(&status, Code::InvalidArgument, "sku");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_sku_availability_unknown_sku_is_not_found_naming_it() {
    let server = TestServer::serving().await;
    let status = client(&server)
        .await
        .get_sku_availability(pb::GetSkuAvailabilityRequest {
            sku: "NO-SUCH-SKU".into(),
            nodes: vec![],
            include_zero: false,
        })
        .await
        .unwrap_err();
    assert_field_error(&status, Code::NotFound, "sku");
    assert!(status.message().contains("NO-SUCH-SKU"), "{status:?}");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_sku_availability_unknown_node_is_not_found_naming_it() {
    let server = TestServer::serving().await;
    let status = client(&server)
        .await
        .get_sku_availability(pb::GetSkuAvailabilityRequest {
            sku: SKU1.into(),
            nodes: vec![NODE.into(), "NO-SUCH-NODE".into()],
            include_zero: false,
        })
        .await
        .unwrap_err();
    assert_field_error(&status, Code::NotFound, "nodes[1]");
    assert!(status.message().contains("NO-SUCH-NODE"), "{status:?}");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_sku_availability_omits_nodes_without_stock_by_default() {
    let server = empty_server().await;
    let mut client = client(&server).await;
    replace(&mut client, NODE, vec![record(SKU1, 5, 0, 0)])
        .await
        .unwrap();
    replace(&mut client, "DC-DFW", vec![record(SKU1, 0, 0, 0)])
        .await
        .unwrap();
    let answer = client
        .get_sku_availability(pb::GetSkuAvailabilityRequest {
            sku: SKU1.into(),
            nodes: vec![],
            include_zero: false,
        })
        .await
        .unwrap()
        .into_inner();
    let nodes: Vec<_> = answer.nodes.iter().map(|n| n.node.as_str()).collect();
    assert_eq!(nodes, [NODE]);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_sku_availability_include_zero_lists_every_requested_node() {
    let server = empty_server().await;
    let mut client = client(&server).await;
    replace(&mut client, NODE, vec![record(SKU1, 5, 0, 0)])
        .await
        .unwrap();
    let answer = client
        .get_sku_availability(pb::GetSkuAvailabilityRequest {
            sku: SKU1.into(),
            nodes: vec!["DC-DFW".into(), NODE.into()],
            include_zero: true,
        })
        .await
        .unwrap()
        .into_inner();
    let nodes: Vec<_> = answer
        .nodes
        .iter()
        .map(|n| (n.node.as_str(), n.on_hand))
        .collect();
    assert_eq!(nodes, [(NODE, 5), ("DC-DFW", 0)]);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_sku_availability_no_nodes_means_every_node_of_the_network_ordered_by_code() {
    let server = empty_server().await;
    let network = network(&server).await;
    let answer = client(&server)
        .await
        .get_sku_availability(pb::GetSkuAvailabilityRequest {
            sku: SKU1.into(),
            nodes: vec![],
            include_zero: true,
        })
        .await
        .unwrap()
        .into_inner();
    let listed: Vec<_> = answer.nodes.iter().map(|n| n.node.clone()).collect();
    let mut every: Vec<_> = network.nodes.iter().map(|n| n.code.clone()).collect();
    every.sort();
    assert_eq!(listed, every);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_sku_availability_nodes_are_ordered_by_code() {
    let server = TestServer::serving().await;
    let nodes = one_node_of_each_kind(&server).await;
    let answer = client(&server)
        .await
        .get_sku_availability(pb::GetSkuAvailabilityRequest {
            sku: SKU1.into(),
            nodes: nodes.clone(),
            include_zero: true,
        })
        .await
        .unwrap()
        .into_inner();
    let listed: Vec<_> = answer.nodes.iter().map(|n| n.node.clone()).collect();
    let mut expected = nodes;
    expected.sort();
    assert_eq!(listed, expected);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_sku_availability_totals_sum_the_listed_nodes() {
    let server = empty_server().await;
    let mut client = client(&server).await;
    replace(&mut client, NODE, vec![record(SKU1, 5, 7, 0)])
        .await
        .unwrap();
    replace(&mut client, "DC-DFW", vec![record(SKU1, 4, 1, 2)])
        .await
        .unwrap();
    replace(&mut client, "DC-RNO", vec![record(SKU1, 100, 0, 0)])
        .await
        .unwrap();
    let answer = client
        .get_sku_availability(pb::GetSkuAvailabilityRequest {
            sku: SKU1.into(),
            nodes: vec![NODE.into(), "DC-DFW".into()],
            include_zero: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.sku, SKU1);
    assert_eq!(answer.total_on_hand, 5 + 4);
    assert_eq!(answer.total_available, 3, "max(0, 5 - 7) + max(0, 4 - 1)");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_sku_availability_reserved_counts_live_reservations_and_available_includes_protected() {
    let server = empty_server().await;
    let mut client = client(&server).await;
    replace(&mut client, NODE, vec![record(SKU1, 10, 2, 3)])
        .await
        .unwrap();
    AllocationServiceClient::new(server.channel().await)
        .allocate(committed(
            order("o-reserve", vec![line("a", SKU1, 4)], "30301"),
            "key-reserve",
        ))
        .await
        .unwrap();
    let level = level(&mut client, SKU1, NODE).await;
    assert_eq!(
        (
            level.on_hand,
            level.reserved,
            level.protected,
            level.available
        ),
        (10, 2 + 4, 3, 10 - 6)
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_sku_availability_reports_the_node_kind_and_snapshot_version() {
    let server = TestServer::serving().await;
    let network = network(&server).await;
    let mut client = client(&server).await;
    let replaced = replace(&mut client, NODE, vec![record(SKU1, 5, 0, 0)])
        .await
        .unwrap();
    let answer = client
        .get_sku_availability(pb::GetSkuAvailabilityRequest {
            sku: SKU1.into(),
            nodes: vec![],
            include_zero: true,
        })
        .await
        .unwrap()
        .into_inner();
    for node in &answer.nodes {
        let info = network.nodes.iter().find(|n| n.code == node.node).unwrap();
        assert_ne!(node.kind, pb::NodeKind::Unspecified as i32);
        assert_eq!(node.kind, info.kind, "{}", node.node);
    }
    let atl = answer.nodes.iter().find(|n| n.node == NODE).unwrap();
    assert_eq!(atl.snapshot_version, replaced.version);
    assert_eq!(atl.updated_at, replaced.updated_at);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_sku_availability_updated_at_is_absent_for_a_node_that_never_received_stock() {
    let server = empty_server().await;
    let mut client = client(&server).await;
    let never = level(&mut client, SKU1, NODE).await;
    assert_eq!(never.snapshot_version, 0);
    assert_eq!(never.updated_at, None);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_sku_availability_when_overloaded_is_resource_exhausted() {
    let saturated = Saturated::start().await;
    let status = saturated
        .refused(|channel| async move {
            Client::new(channel)
                .get_sku_availability(pb::GetSkuAvailabilityRequest {
                    sku: SKU1.into(),
                    nodes: vec![],
                    include_zero: false,
                })
                .await
        })
        .await;
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    saturated.stop().await;
}

// --- GetNodeStock -----------------------------------------------------------

#[tokio::test]
async fn get_node_stock_empty_node_is_invalid_argument_naming_node() {
    let server = TestServer::serving().await;
    let status = node_page(&mut client(&server).await, "", 0, "")
        .await
        .unwrap_err();
    assert_field_error(&status, Code::InvalidArgument, "node");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_node_stock_page_size_above_10000_is_invalid_argument_naming_page_size() {
    let server = TestServer::serving().await;
    let mut client = client(&server).await;
    let status = node_page(&mut client, NODE, 10_001, "").await.unwrap_err();
    assert_field_error(&status, Code::InvalidArgument, "page_size");
    assert!(status.message().contains("10000"), "{status:?}");
    node_page(&mut client, NODE, 10_000, "").await.unwrap();
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_node_stock_a_malformed_page_token_is_invalid_argument_naming_page_token() {
    let server = TestServer::serving().await;
    let status = node_page(&mut client(&server).await, NODE, 0, "garbage")
        .await
        .unwrap_err();
    assert_field_error(&status, Code::InvalidArgument, "page_token");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_node_stock_unknown_node_is_not_found_naming_the_node() {
    let server = TestServer::serving().await;
    let status = node_page(&mut client(&server).await, "NO-SUCH-NODE", 0, "")
        .await
        .unwrap_err();
    assert_field_error(&status, Code::NotFound, "node");
    assert!(status.message().contains("NO-SUCH-NODE"), "{status:?}");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_node_stock_page_size_0_means_1000() {
    let server = TestServer::serving().await;
    let mut client = client(&server).await;
    let rows: Vec<_> = (1..=1500)
        .map(|i| record(&format!("SKU-{i:06}"), 1, 0, 0))
        .collect();
    replace(&mut client, NODE, rows).await.unwrap();
    let page = node_page(&mut client, NODE, 0, "").await.unwrap();
    assert_eq!((page.rows.len(), page.total_rows), (1000, 1500));
    assert!(!page.next_page_token.is_empty());
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_node_stock_pages_cover_every_row_once_and_the_last_has_no_token() {
    let server = TestServer::serving().await;
    let mut client = client(&server).await;
    let expected: Vec<_> = node_stock(&mut client, NODE)
        .await
        .rows
        .into_iter()
        .map(|r| r.sku)
        .collect();
    assert!(expected.len() > 7, "demo stock");
    let mut token = String::new();
    let mut seen = Vec::new();
    loop {
        let page = node_page(&mut client, NODE, 7, &token).await.unwrap();
        assert!(page.rows.len() <= 7);
        assert_eq!(page.total_rows as usize, expected.len());
        seen.extend(page.rows.into_iter().map(|r| r.sku));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen, expected);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_node_stock_rows_are_ordered_by_sku_code() {
    let server = TestServer::start(network_config(&unsorted_skus_network())).await;
    server.wait_serving().await;
    let mut client = client(&server).await;
    replace(
        &mut client,
        "DC-ABE",
        ["SKU-Z", "SKU-000002", "SKU-M", "SKU-A", "SKU-000001"]
            .iter()
            .map(|sku| record(sku, 1, 0, 0))
            .collect(),
    )
    .await
    .unwrap();
    let all: Vec<_> = node_stock(&mut client, "DC-ABE")
        .await
        .rows
        .into_iter()
        .map(|r| r.sku)
        .collect();
    assert_eq!(all, ["SKU-000001", "SKU-000002", "SKU-A", "SKU-M", "SKU-Z"]);
    // Paged, too.
    let mut token = String::new();
    let mut paged = Vec::new();
    loop {
        let page = node_page(&mut client, "DC-ABE", 2, &token).await.unwrap();
        paged.extend(page.rows.into_iter().map(|r| r.sku));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(paged, all);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_node_stock_a_snapshot_change_while_paging_continues_after_the_last_sku_code_returned()
{
    let server = TestServer::start(network_config(&unsorted_skus_network())).await;
    server.wait_serving().await;
    let mut client = client(&server).await;
    let first_snapshot = ["SKU-000001", "SKU-A", "SKU-M", "SKU-Z"];
    replace(
        &mut client,
        "DC-ABE",
        first_snapshot
            .iter()
            .map(|sku| record(sku, 1, 0, 0))
            .collect(),
    )
    .await
    .unwrap();
    let first = node_page(&mut client, "DC-ABE", 2, "").await.unwrap();
    let codes: Vec<_> = first.rows.iter().map(|r| r.sku.as_str()).collect();
    assert_eq!(codes, ["SKU-000001", "SKU-A"]);

    let second_snapshot = ["SKU-000002", "SKU-M", "SKU-Z"];
    replace(
        &mut client,
        "DC-ABE",
        second_snapshot
            .iter()
            .map(|sku| record(sku, 2, 0, 0))
            .collect(),
    )
    .await
    .unwrap();
    let next = node_page(&mut client, "DC-ABE", 2, &first.next_page_token)
        .await
        .unwrap();
    let codes: Vec<_> = next.rows.iter().map(|r| r.sku.as_str()).collect();
    assert_eq!(
        codes,
        ["SKU-M", "SKU-Z"],
        "after SKU-A, from the new snapshot"
    );
    assert!(next.rows.iter().all(|r| r.on_hand == 2));
    assert!(next.version > first.version, "the version tells");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_node_stock_reports_the_node_version_sequence_and_rows() {
    let server = empty_server().await;
    let mut client = client(&server).await;
    let replaced = replace_as_of(
        &mut client,
        NODE,
        12,
        false,
        vec![record(SKU1, 10, 2, 1), record(SKU2, 1, 3, 0)],
    )
    .await
    .unwrap();
    let stock = node_stock(&mut client, NODE).await;
    assert_eq!(stock.node, NODE);
    assert_eq!(
        (stock.version, stock.sequence, stock.total_rows),
        (replaced.version, 12, 2)
    );
    assert_eq!(stock.updated_at, replaced.updated_at);
    let rows: Vec<_> = stock
        .rows
        .iter()
        .map(|r| {
            (
                r.sku.as_str(),
                r.on_hand,
                r.reserved,
                r.protected,
                r.available,
            )
        })
        .collect();
    assert_eq!(rows, [(SKU1, 10, 2, 1, 8), (SKU2, 1, 3, 0, 0)]);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_node_stock_updated_at_is_absent_when_the_node_never_received_stock() {
    let server = empty_server().await;
    let stock = node_stock(&mut client(&server).await, NODE).await;
    assert_eq!((stock.version, stock.sequence, stock.total_rows), (0, 0, 0));
    assert_eq!(stock.updated_at, None);
    assert!(stock.next_page_token.is_empty());
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_node_stock_when_overloaded_is_resource_exhausted() {
    let saturated = Saturated::start().await;
    let status = saturated
        .refused(|channel| async move { node_page(&mut Client::new(channel), NODE, 0, "").await })
        .await;
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    saturated.stop().await;
}

// --- GetStockStatus ---------------------------------------------------------

#[tokio::test]
async fn get_stock_status_lists_every_node_ordered_by_code() {
    let server = TestServer::serving().await;
    let network = network(&server).await;
    let status = status(&mut client(&server).await).await;
    let listed: Vec<_> = status.nodes.iter().map(|n| n.node.clone()).collect();
    let mut every: Vec<_> = network.nodes.iter().map(|n| n.code.clone()).collect();
    every.sort();
    assert_eq!(listed, every);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_stock_status_a_node_that_never_received_stock_has_version_0_and_no_updated_at() {
    let server = empty_server().await;
    let status = status(&mut client(&server).await).await;
    assert!(!status.nodes.is_empty());
    for node in &status.nodes {
        assert_eq!(
            (node.version, node.sequence, node.rows, node.updated_at),
            (0, 0, 0, None),
            "{}",
            node.node
        );
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_stock_status_sequence_is_the_last_delta_seen_to_resume_the_feed() {
    let server = empty_server().await;
    let mut client = client(&server).await;
    replace(&mut client, NODE, vec![record(SKU1, 10, 0, 0)])
        .await
        .unwrap();
    // The last row of the feed is quarantined: it counts as seen.
    stream(
        &mut client,
        vec![vec![
            adjust(SKU1, 1, 1),
            adjust(SKU1, 2, 1),
            adjust("NO-SUCH-SKU", 3, 1),
        ]],
    )
    .await
    .unwrap();
    let node = status_of(&mut client, NODE).await;
    assert_eq!((node.sequence, node.rows), (3, 1));
    assert!(node.version > 0 && node.updated_at.is_some());
    // Resuming after it applies the next delta, not a duplicate.
    let resumed = stream(&mut client, vec![vec![adjust(SKU1, node.sequence + 1, 1)]])
        .await
        .unwrap();
    assert_eq!((resumed.applied, resumed.duplicates), (1, 0));
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_stock_status_counts_quarantined_rows_by_reason_and_omits_reasons_with_none() {
    let server = empty_server().await;
    let mut client = client(&server).await;
    replace(&mut client, NODE, vec![record(SKU1, 10, 0, 0)])
        .await
        .unwrap();
    let fresh = status(&mut client).await;
    assert_eq!(fresh.quarantined_total, 0);
    assert!(fresh.by_reason.is_empty(), "{:?}", fresh.by_reason);
    stream(
        &mut client,
        vec![vec![
            adjust("NO-SUCH-SKU", 1, 1),
            adjust("NO-SUCH-SKU", 2, 1),
            set(SKU1, 3, -1),
        ]],
    )
    .await
    .unwrap();
    let after = status(&mut client).await;
    assert_eq!(after.quarantined_total, 3);
    let mut counts: Vec<_> = after
        .by_reason
        .iter()
        .map(|c| (c.reason, c.count))
        .collect();
    counts.sort();
    assert_eq!(
        counts,
        [
            (pb::QuarantineReason::UnknownSku as i32, 2),
            (pb::QuarantineReason::NegativeQuantity as i32, 1),
        ]
    );
    assert!(
        after
            .by_reason
            .iter()
            .all(|c| c.reason != pb::QuarantineReason::Unspecified as i32)
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_stock_status_recent_holds_the_last_100_quarantined_rows_oldest_first() {
    let server = empty_server().await;
    let mut client = client(&server).await;
    let rows: Vec<_> = (1..=150).map(|i| adjust("NO-SUCH-SKU", i, 1)).collect();
    stream(&mut client, vec![rows]).await.unwrap();
    let status = status(&mut client).await;
    assert_eq!(status.quarantined_total, 150);
    let indexes: Vec<_> = status.recent.iter().map(|q| q.index).collect();
    assert_eq!(indexes, (50..150).collect::<Vec<_>>());
    assert!(
        status
            .recent
            .iter()
            .all(|q| q.reason == pb::QuarantineReason::UnknownSku as i32)
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_stock_status_when_overloaded_is_resource_exhausted() {
    let saturated = Saturated::start().await;
    let status = saturated
        .refused(|channel| async move {
            Client::new(channel)
                .get_stock_status(pb::GetStockStatusRequest {})
                .await
        })
        .await;
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    saturated.stop().await;
}
