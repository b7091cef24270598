//! Orders, commits and stock rows the integration tests send.

use allot_proto::v1 as pb;
use allot_proto::v1::inventory_service_client::InventoryServiceClient;
use tonic::transport::Channel;

/// An order line.
pub fn line(id: &str, sku: &str, quantity: u32) -> pb::OrderLine {
    pb::OrderLine {
        line_id: id.into(),
        sku: sku.into(),
        quantity,
        unit_price_minor: None,
        weight_grams: None,
    }
}

/// A ground order to `postal` (US) that may backorder.
pub fn order(id: &str, lines: Vec<pb::OrderLine>, postal: &str) -> pb::AllocateRequest {
    pb::AllocateRequest {
        order_id: id.into(),
        lines,
        destination: Some(pb::Destination {
            location: Some(pb::destination::Location::PostalCode(postal.into())),
            country_code: "US".into(),
            ..Default::default()
        }),
        service_level: pb::ServiceLevel::Ground as i32,
        promised_by: None,
        options: Some(pb::AllocationOptions {
            allow_backorder: true,
            ..Default::default()
        }),
        context: None,
    }
}

/// `request`, committing under idempotency key `key`.
pub fn committed(mut request: pb::AllocateRequest, key: &str) -> pb::AllocateRequest {
    let options = request.options.get_or_insert_with(Default::default);
    options.commit = true;
    options.idempotency_key = key.into();
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
