//! Personal data out of recorded requests: each personal field is replaced by
//! `sha256:` and the hex SHA-256 of its value, so equal values still match
//! while the value itself is not stored.
//!
//! Hashed: destination (and billing) `address_line1`, `address_line2` and
//! `city`; the order context's `email`, `ip`, `device_id` and
//! `card_fingerprint`. Kept: postal codes and coordinates (they decide the
//! region, so replay needs them), country codes, `customer_id` (the OMS's own
//! pseudonymous id) and everything about the lines.
//!
//! Every message that can hold personal data is destructured exhaustively:
//! a new field fails to compile here until it is declared personal (hashed)
//! or not (kept).

use allot_proto::v1 as pb;
use allot_service::hash::sha256_hex;

/// The redacted form of one personal value; empty values stay empty, and
/// so do values already redacted (`sha256:` and 64 lower-case hex digits).
/// Anything else is hashed, even when it starts with `sha256:`: a caller's
/// `sha256:ann@example.com` is not a hash.
fn hashed(value: &mut String) {
    if !value.is_empty() && !is_redacted(value) {
        *value = format!("sha256:{}", sha256_hex(value.as_bytes()));
    }
}

fn is_redacted(value: &str) -> bool {
    value.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

fn redact_destination(destination: &mut Option<pb::Destination>) {
    let Some(pb::Destination {
        location: _,
        country_code: _,
        address_line1,
        address_line2,
        city,
    }) = destination
    else {
        return;
    };
    for field in [address_line1, address_line2, city].into_iter().flatten() {
        hashed(field);
    }
}

fn redact_context(context: &mut Option<pb::OrderContext>) {
    let Some(pb::OrderContext {
        customer_id: _,
        account_created_at: _,
        email,
        device_id,
        card_fingerprint,
        billing,
        ip,
        placed_at: _,
    }) = context
    else {
        return;
    };
    hashed(email);
    hashed(ip);
    hashed(device_id);
    hashed(card_fingerprint);
    redact_destination(billing);
}

/// Order lines hold no personal data; destructured so that a new field is
/// looked at.
fn lines_are_not_personal(lines: &[pb::OrderLine]) {
    for pb::OrderLine {
        line_id: _,
        sku: _,
        quantity: _,
        unit_price_minor: _,
        weight_grams: _,
    } in lines
    {}
}

/// Hashes the personal data of an Allocate request in place.
pub(crate) fn redact_allocate(request: &mut pb::AllocateRequest) {
    let pb::AllocateRequest {
        order_id: _,
        lines,
        destination,
        service_level: _,
        promised_by: _,
        options: _,
        context,
    } = request;
    lines_are_not_personal(lines);
    redact_destination(destination);
    redact_context(context);
}

/// Hashes the personal data of a promise request in place.
pub(crate) fn redact_promise(request: &mut pb::PromiseRequest) {
    let pb::PromiseRequest {
        lines,
        destination,
        order_time: _,
        explain_unavailable: _,
        service_levels: _,
    } = request;
    lines_are_not_personal(lines);
    redact_destination(destination);
}

/// Hashes the personal data of a ScoreOrder request in place.
pub(crate) fn redact_score(request: &mut pb::ScoreOrderRequest) {
    let pb::ScoreOrderRequest {
        order_id: _,
        lines,
        destination,
        context,
        order_amount_minor: _,
        currency: _,
        service_level: _,
    } = request;
    lines_are_not_personal(lines);
    redact_destination(destination);
    redact_context(context);
}

/// Hashes the personal data of an EvaluatePlan request's order in place.
pub(crate) fn redact_evaluate(request: &mut pb::EvaluatePlanRequest) {
    let pb::EvaluatePlanRequest { order, plan: _ } = request;
    if let Some(order) = order {
        redact_allocate(order);
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_fields_are_hashed_and_decision_fields_kept() {
        let mut request = pb::ScoreOrderRequest {
            order_id: "o-1".into(),
            destination: Some(pb::Destination {
                location: Some(pb::destination::Location::PostalCode("10001".into())),
                address_line1: Some("1 Main St".into()),
                address_line2: None,
                city: Some("Springfield".into()),
                ..Default::default()
            }),
            context: Some(pb::OrderContext {
                customer_id: "c-9".into(),
                email: "ann@example.com".into(),
                ip: "203.0.113.7".into(),
                device_id: String::new(),
                card_fingerprint: "fp".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        redact_score(&mut request);
        let bytes = prost::Message::encode_to_vec(&request);
        for clear in ["1 Main St", "Springfield", "ann@example.com", "203.0.113.7"] {
            assert!(
                !bytes.windows(clear.len()).any(|w| w == clear.as_bytes()),
                "{clear} left in clear"
            );
        }
        let context = request.context.as_ref().unwrap();
        assert_eq!(
            context.email,
            format!("sha256:{}", sha256_hex(b"ann@example.com"))
        );
        assert_eq!(context.device_id, "");
        assert_eq!(context.customer_id, "c-9");
        let destination = request.destination.as_ref().unwrap();
        assert_eq!(
            destination.location,
            Some(pb::destination::Location::PostalCode("10001".into()))
        );
        assert_eq!(destination.address_line2, None);
        let once = request.clone();
        redact_score(&mut request);
        assert_eq!(request, once, "redaction is idempotent");
    }
}
