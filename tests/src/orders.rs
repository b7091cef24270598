//! Orders the integration and gate tests send: lines, a ground order that
//! may backorder, and the same order committed under an idempotency key.

use allot_client::proto as pb;

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
