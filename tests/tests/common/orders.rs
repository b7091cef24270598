//! Orders, commits and stock rows the integration tests send.

use allot_proto::v1 as pb;
use allot_proto::v1::inventory_service_client::InventoryServiceClient;
use tonic::transport::Channel;

// Each test binary uses some of these.
#[allow(unused_imports)]
pub use allot_tests::orders::{committed, line, order};

/// A committed two-line order `id` to New York (10001) from buyer
/// `customer` (so Allocate scores it for fraud too), under key `key-{id}`.
pub fn buyer_order(id: &str, customer: &str) -> pb::AllocateRequest {
    let mut request = committed(
        order(
            id,
            vec![line("1", "SKU-000001", 1), line("2", "SKU-000002", 2)],
            "10001",
        ),
        &format!("key-{id}"),
    );
    request.context = Some(pb::OrderContext {
        customer_id: customer.into(),
        email: format!("{customer}@example.com"),
        card_fingerprint: format!("card-{customer}"),
        device_id: format!("device-{customer}"),
        ..Default::default()
    });
    request
}

/// Replaces `node`'s stock with `rows` (SKU, on hand).
pub async fn stock_rows(
    inventory: &mut InventoryServiceClient<Channel>,
    node: &str,
    rows: Vec<(&str, i64)>,
) {
    let message = pb::ReplaceNodeStockRequest {
        node: node.into(),
        as_of_sequence: 0,
        rows: rows
            .into_iter()
            .map(|(sku, on_hand)| pb::StockRecord {
                sku: sku.into(),
                on_hand,
                reserved: 0,
                protected: 0,
            })
            .collect(),
        reset_feed: false,
    };
    inventory
        .replace_node_stock(tokio_stream::iter(vec![message]))
        .await
        .unwrap();
}

/// `sku`'s availability at `node`.
pub async fn level(
    inventory: &mut InventoryServiceClient<Channel>,
    sku: &str,
    node: &str,
) -> pb::NodeAvailability {
    inventory
        .get_sku_availability(pb::GetSkuAvailabilityRequest {
            sku: sku.into(),
            nodes: vec![node.into()],
            include_zero: true,
        })
        .await
        .unwrap()
        .into_inner()
        .nodes
        .remove(0)
}

/// A quote of `lines` to `postal` (US) at `order_time`, every level, with
/// unavailable levels explained.
pub fn promise(
    lines: Vec<pb::OrderLine>,
    postal: &str,
    order_time: prost_types::Timestamp,
) -> pb::PromiseRequest {
    pb::PromiseRequest {
        lines,
        destination: Some(pb::Destination {
            location: Some(pb::destination::Location::PostalCode(postal.into())),
            country_code: "US".into(),
            ..Default::default()
        }),
        order_time: Some(order_time),
        explain_unavailable: true,
        service_levels: Vec::new(),
    }
}

/// A guest order `id` of `lines` to `postal` (US) to score for fraud.
pub fn score_request(id: &str, lines: Vec<pb::OrderLine>, postal: &str) -> pb::ScoreOrderRequest {
    pb::ScoreOrderRequest {
        order_id: id.into(),
        lines,
        destination: Some(pb::Destination {
            location: Some(pb::destination::Location::PostalCode(postal.into())),
            country_code: "US".into(),
            ..Default::default()
        }),
        context: None,
        order_amount_minor: 0,
        currency: String::new(),
        service_level: pb::ServiceLevel::Ground as i32,
    }
}

/// A server on the demo network whose only stock is `rows` (node, [(SKU,
/// on hand)]), with a 2 s default budget, and clients for allocation and
/// inventory.
pub async fn stocked_server(
    rows: Vec<(&str, Vec<(&str, i64)>)>,
) -> (
    super::TestServer,
    allot_proto::v1::allocation_service_client::AllocationServiceClient<Channel>,
    InventoryServiceClient<Channel>,
) {
    let mut config = super::test_config();
    config.stock.demo = false;
    config.allocation.default_budget_ms = 2_000;
    let server = super::TestServer::start(config).await;
    server.wait_serving().await;
    let allocation = allot_proto::v1::allocation_service_client::AllocationServiceClient::new(
        server.channel().await,
    );
    let mut inventory = InventoryServiceClient::new(server.channel().await);
    for (node, stock) in rows {
        stock_rows(&mut inventory, node, stock).await;
    }
    (server, allocation, inventory)
}

/// A return of `quantity` sealed units of `sku` bought for $200 each,
/// sent back from New York for size or fit (order `o-1`).
pub fn return_request(id: &str, sku: &str, quantity: u32) -> pb::RouteReturnRequest {
    pb::RouteReturnRequest {
        return_id: id.into(),
        order_id: "o-1".into(),
        sku: sku.into(),
        quantity,
        reason: pb::ReturnReason::SizeFit as i32,
        condition: pb::ItemCondition::NewSealed as i32,
        origin: Some(pb::Destination {
            location: Some(pb::destination::Location::PostalCode("10001".into())),
            ..Default::default()
        }),
        unit_price_minor: Some(20_000),
    }
}
