//! Personal data out of recorded requests: each personal field is replaced
//! by its keyed hash, `hmac:<key id>:<hex>` (allot_service::privacy), so
//! equal values still match while the value itself is not stored, and
//! cannot be found again by hashing guesses without the key.
//!
//! Hashed: destination (and billing) `address_line1`, `address_line2` and
//! `city`; the order context's `customer_id`, `email`, `ip`, `device_id`
//! and `card_fingerprint`. Kept: postal codes and coordinates (they decide
//! the region, so replay needs them), country codes and everything about
//! the lines. No value is trusted because of its form: one that already
//! looks like a hash is hashed like any other.
//!
//! Every message that can hold personal data is destructured exhaustively:
//! a new field fails to compile here until it is declared personal (hashed)
//! or not (kept).

use allot_proto::v1 as pb;
use allot_service::privacy::Pseudonymizer;

fn redact_destination(destination: &mut Option<pb::Destination>, keys: &Pseudonymizer) {
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
        *field = keys.pseudonym(field);
    }
}

fn redact_context(context: &mut Option<pb::OrderContext>, keys: &Pseudonymizer) {
    let Some(pb::OrderContext {
        customer_id,
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
    for field in [customer_id, email, ip, device_id, card_fingerprint] {
        *field = keys.pseudonym(field);
    }
    redact_destination(billing, keys);
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
pub(crate) fn redact_allocate(request: &mut pb::AllocateRequest, keys: &Pseudonymizer) {
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
    redact_destination(destination, keys);
    redact_context(context, keys);
}

/// Hashes the personal data of a promise request in place.
pub(crate) fn redact_promise(request: &mut pb::PromiseRequest, keys: &Pseudonymizer) {
    let pb::PromiseRequest {
        lines,
        destination,
        order_time: _,
        explain_unavailable: _,
        service_levels: _,
    } = request;
    lines_are_not_personal(lines);
    redact_destination(destination, keys);
}

/// Hashes the personal data of a ScoreOrder request in place.
pub(crate) fn redact_score(request: &mut pb::ScoreOrderRequest, keys: &Pseudonymizer) {
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
    redact_destination(destination, keys);
    redact_context(context, keys);
}

/// Hashes the personal data of a ReportReturns request in place: the
/// customer ids and e-mail addresses (order ids are not personal data).
pub(crate) fn redact_returns(request: &mut pb::ReportReturnsRequest, keys: &Pseudonymizer) {
    let pb::ReportReturnsRequest { returns } = request;
    for pb::ReturnedOrder {
        order_id: _,
        customer_id,
        email,
        returned_at: _,
    } in returns
    {
        for field in [customer_id, email] {
            *field = keys.pseudonym(field);
        }
    }
}

/// Hashes the personal data of an EvaluatePlan request's order in place.
/// A RouteReturn request with its origin's address hashed (the postal code
/// or coordinates stay: they choose the node).
pub(crate) fn redact_route_return(request: &mut pb::RouteReturnRequest, keys: &Pseudonymizer) {
    redact_destination(&mut request.origin, keys);
}

pub(crate) fn redact_evaluate(request: &mut pb::EvaluatePlanRequest, keys: &Pseudonymizer) {
    let pb::EvaluatePlanRequest { order, plan: _ } = request;
    if let Some(order) = order {
        redact_allocate(order, keys);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_fields_are_hashed_and_decision_fields_kept() {
        let keys = Pseudonymizer::new(&[3u8; 32], "k1").unwrap();
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
                email: "sha256:ann@example.com".into(),
                ip: "203.0.113.7".into(),
                device_id: String::new(),
                card_fingerprint: "fp".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        redact_score(&mut request, &keys);
        let bytes = prost::Message::encode_to_vec(&request);
        for clear in [
            "1 Main St",
            "Springfield",
            "ann@example.com",
            "203.0.113.7",
            "c-9",
        ] {
            assert!(
                !bytes.windows(clear.len()).any(|w| w == clear.as_bytes()),
                "{clear} left in clear"
            );
        }
        let context = request.context.as_ref().unwrap();
        assert_eq!(context.email, keys.pseudonym("sha256:ann@example.com"));
        assert!(context.customer_id.starts_with("hmac:k1:"), "{context:?}");
        assert_eq!(context.device_id, "");
        let destination = request.destination.as_ref().unwrap();
        assert_eq!(
            destination.location,
            Some(pb::destination::Location::PostalCode("10001".into()))
        );
        assert_eq!(destination.address_line2, None);
        assert_eq!(request.order_id, "o-1");
    }
}
