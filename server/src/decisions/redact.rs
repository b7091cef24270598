//! Personal data out of recorded requests: each personal field is replaced by
//! `sha256:` and the hex SHA-256 of its value, so equal values still match
//! while the value itself is not stored.
//!
//! Hashed: destination (and billing) `address_line1`, `address_line2` and
//! `city`; the order context's `email`, `ip`, `device_id` and
//! `card_fingerprint`. Kept: postal codes and coordinates (they decide the
//! region, so replay needs them), country codes, `customer_id` (the OMS's own
//! pseudonymous id) and everything about the lines.

use allot_proto::v1 as pb;

use super::hash::sha256_hex;

/// The redacted form of one personal value; empty values stay empty.
fn hashed(value: &mut String) {
    if !value.is_empty() && !value.starts_with("sha256:") {
        *value = format!("sha256:{}", sha256_hex(value.as_bytes()));
    }
}

fn redact_destination(destination: &mut Option<pb::Destination>) {
    if let Some(d) = destination {
        for field in [&mut d.address_line1, &mut d.address_line2, &mut d.city]
            .into_iter()
            .flatten()
        {
            hashed(field);
        }
    }
}

fn redact_context(context: &mut Option<pb::OrderContext>) {
    if let Some(c) = context {
        hashed(&mut c.email);
        hashed(&mut c.ip);
        hashed(&mut c.device_id);
        hashed(&mut c.card_fingerprint);
        redact_destination(&mut c.billing);
    }
}

/// Hashes the personal data of an Allocate request in place.
pub fn redact_allocate(request: &mut pb::AllocateRequest) {
    redact_destination(&mut request.destination);
    redact_context(&mut request.context);
}

/// Hashes the personal data of a promise request in place.
pub fn redact_promise(request: &mut pb::PromiseRequest) {
    redact_destination(&mut request.destination);
}

/// Hashes the personal data of a ScoreOrder request in place.
pub fn redact_score(request: &mut pb::ScoreOrderRequest) {
    redact_destination(&mut request.destination);
    redact_context(&mut request.context);
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
