//! proto3 JSON for `allot.v1` messages, via prost-reflect.
//!
//! The generated types do not implement `prost::Name`, so every function
//! takes the message name: either fully qualified (`allot.v1.NodeStock`) or
//! short (`NodeStock`, which means `allot.v1.NodeStock`).

use std::sync::LazyLock;

use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, SerializeOptions};

use crate::error::ClientError;

/// Package of the allot messages; short names are looked up in it.
pub const PACKAGE: &str = "allot.v1";

/// The descriptor pool of `allot.v1`, decoded once.
static POOL: LazyLock<Result<DescriptorPool, String>> = LazyLock::new(|| {
    DescriptorPool::decode(allot_proto::FILE_DESCRIPTOR_SET).map_err(|e| e.to_string())
});

/// The descriptor pool of `allot.v1` (with the well-known types it imports).
pub fn descriptor_pool() -> Result<&'static DescriptorPool, ClientError> {
    POOL.as_ref()
        .map_err(|e| ClientError::Json(format!("invalid allot.v1 descriptor set: {e}")))
}

/// The descriptor of message `name` (`allot.v1.X` or `X`).
pub fn message_descriptor(name: &str) -> Result<MessageDescriptor, ClientError> {
    let full = if name.contains('.') {
        name.to_string()
    } else {
        format!("{PACKAGE}.{name}")
    };
    descriptor_pool()?
        .get_message_by_name(&full)
        .ok_or_else(|| ClientError::Json(format!("unknown message `{full}`")))
}

/// `msg` as a dynamic message of type `name`.
fn to_dynamic<M: prost::Message>(msg: &M, name: &str) -> Result<DynamicMessage, ClientError> {
    let desc = message_descriptor(name)?;
    DynamicMessage::decode(desc, msg.encode_to_vec().as_slice())
        .map_err(|e| ClientError::Json(format!("{name} does not match its descriptor: {e}")))
}

/// Serializes `msg`, of message type `name`, with `serializer`, using the
/// canonical proto3 JSON options.
fn serialize<M, W, F>(
    msg: &M,
    name: &str,
    serializer: &mut serde_json::Serializer<W, F>,
) -> Result<(), ClientError>
where
    M: prost::Message,
    W: std::io::Write,
    F: serde_json::ser::Formatter,
{
    to_dynamic(msg, name)?
        .serialize_with_options(serializer, &SerializeOptions::new())
        .map_err(|e| ClientError::Json(e.to_string()))
}

/// `msg` (of message type `name`) as pretty-printed canonical proto3 JSON:
/// lowerCamelCase field names, enum value names, 64-bit integers as strings,
/// Timestamps in RFC 3339, default values omitted.
pub fn to_json<M: prost::Message>(msg: &M, name: &str) -> Result<String, ClientError> {
    let mut out = Vec::new();
    serialize(msg, name, &mut serde_json::Serializer::pretty(&mut out))?;
    String::from_utf8(out).map_err(|e| ClientError::Json(e.to_string()))
}

/// Like [`to_json`] but on one line (for JSON Lines output).
pub fn to_json_line<M: prost::Message>(msg: &M, name: &str) -> Result<String, ClientError> {
    let mut out = Vec::new();
    serialize(msg, name, &mut serde_json::Serializer::new(&mut out))?;
    String::from_utf8(out).map_err(|e| ClientError::Json(e.to_string()))
}

/// Parses proto3 JSON `text` as message type `name` (`allot.v1.X` or `X`)
/// into `M`. Unknown fields are an error.
pub fn from_json<M: prost::Message + Default>(text: &str, name: &str) -> Result<M, ClientError> {
    let desc = message_descriptor(name)?;
    let mut de = serde_json::Deserializer::from_str(text);
    let dynamic = DynamicMessage::deserialize(desc, &mut de)
        .and_then(|m| de.end().map(|()| m))
        .map_err(|e| ClientError::Json(format!("{name}: {e}")))?;
    dynamic
        .transcode_to::<M>()
        .map_err(|e| ClientError::Json(format!("{name} does not match its descriptor: {e}")))
}

#[cfg(test)]
mod tests {
    use allot_proto::v1::{
        NodeStockVersion, QuarantineReason, QuarantinedDelta, SequenceGap, StockDelta,
        StockDeltaSummary,
    };

    use super::*;

    fn summary() -> StockDeltaSummary {
        StockDeltaSummary {
            received: 3,
            applied: 1,
            duplicates: 0,
            quarantined: 2,
            quarantined_rows: vec![QuarantinedDelta {
                index: 2,
                node: "DC-ATL".into(),
                sku: "SKU-9".into(),
                sequence: 12,
                reason: QuarantineReason::InvalidKind as i32,
                message: "kind unspecified".into(),
            }],
            gaps: vec![SequenceGap {
                node: "DC-ATL".into(),
                expected: 4,
                received: 9,
            }],
            nodes: vec![NodeStockVersion {
                node: "DC-ATL".into(),
                version: 5,
                sequence: 12,
                updated_at: Some(prost_types::Timestamp {
                    seconds: 1_750_000_000,
                    nanos: 0,
                }),
                rows: 40,
            }],
        }
    }

    #[test]
    fn summary_round_trips_with_canonical_names() {
        let msg = summary();
        let text = to_json(&msg, "allot.v1.StockDeltaSummary").unwrap();
        for needle in [
            "\"quarantinedRows\"",
            "\"updatedAt\": \"2025-06-15T15:06:40Z\"",
            "\"QUARANTINE_REASON_INVALID_KIND\"",
            "\"received\": \"3\"",
        ] {
            assert!(text.contains(needle), "{needle} missing in {text}");
        }
        assert!(!text.contains("quarantined_rows"), "{text}");
        assert!(
            !text.contains("\"duplicates\""),
            "defaults are omitted: {text}"
        );
        let back: StockDeltaSummary = from_json(&text, "StockDeltaSummary").unwrap();
        assert_eq!(back, msg);
    }

    #[test]
    fn json_line_is_one_line() {
        let line = to_json_line(&summary(), "StockDeltaSummary").unwrap();
        assert!(!line.contains('\n'));
        let back: StockDeltaSummary = from_json(&line, "allot.v1.StockDeltaSummary").unwrap();
        assert_eq!(back, summary());
    }

    #[test]
    fn optional_and_enum_fields_in_requests() {
        let text = r#"{"node":"N","sku":"S","sequence":"4","kind":"DELTA_KIND_SET","quantity":"-2","protected":0}"#;
        let delta: StockDelta = from_json(text, "StockDelta").unwrap();
        assert_eq!(delta.protected, Some(0));
        assert_eq!(delta.kind(), allot_proto::v1::DeltaKind::Set);
        assert!(
            to_json(&delta, "StockDelta")
                .unwrap()
                .contains("\"protected\": \"0\"")
        );
    }

    #[test]
    fn errors_are_reported() {
        assert!(to_json(&summary(), "NoSuchMessage").is_err());
        assert!(from_json::<StockDeltaSummary>("{\"bogus\":1}", "StockDeltaSummary").is_err());
        assert!(from_json::<StockDeltaSummary>("{} trailing", "StockDeltaSummary").is_err());
    }
}
