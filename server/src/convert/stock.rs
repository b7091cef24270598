//! Stock messages to and from engine types.

use allot_engine::network::Network;
use allot_engine::stock::{
    DeltaKind, DeltaRow, NodeFreshness, QuarantineReason, QuarantinedRow, SequenceGap, StockLevel,
};
use allot_proto::v1 as pb;

use super::time::timestamp;

/// A streamed delta as an engine row. Validation (unknown node or SKU,
/// negative quantities, unspecified kind) is the engine's: such rows are
/// quarantined, not refused.
pub fn delta_row(delta: pb::StockDelta) -> DeltaRow {
    let pb::StockDelta {
        node,
        sku,
        sequence,
        kind,
        quantity,
        protected,
    } = delta;
    let kind = match pb::DeltaKind::try_from(kind) {
        Ok(pb::DeltaKind::Adjust) => Some(DeltaKind::Adjust),
        Ok(pb::DeltaKind::Set) => Some(DeltaKind::Set),
        Ok(pb::DeltaKind::Unspecified) | Err(_) => None,
    };
    DeltaRow {
        node,
        sku,
        sequence,
        kind,
        quantity,
        protected,
    }
}

/// An engine quarantine reason as proto.
pub fn quarantine_reason(reason: QuarantineReason) -> pb::QuarantineReason {
    match reason {
        QuarantineReason::UnknownNode => pb::QuarantineReason::UnknownNode,
        QuarantineReason::UnknownSku => pb::QuarantineReason::UnknownSku,
        QuarantineReason::NegativeQuantity => pb::QuarantineReason::NegativeQuantity,
        QuarantineReason::InvalidKind => pb::QuarantineReason::InvalidKind,
        QuarantineReason::NegativeProtected => pb::QuarantineReason::NegativeProtected,
    }
}

/// A quarantined row as proto.
pub fn quarantined(row: QuarantinedRow) -> pb::QuarantinedDelta {
    pb::QuarantinedDelta {
        index: row.index,
        node: row.node,
        sku: row.sku,
        sequence: row.sequence,
        reason: quarantine_reason(row.reason) as i32,
        message: row.message,
    }
}

/// A sequence gap as proto.
pub fn gap(network: &Network, gap: &SequenceGap) -> pb::SequenceGap {
    pb::SequenceGap {
        node: network.node(gap.node).code.clone(),
        expected: gap.expected,
        received: gap.received,
    }
}

/// A node's snapshot version and freshness as proto.
pub fn node_version(network: &Network, f: &NodeFreshness) -> pb::NodeStockVersion {
    pb::NodeStockVersion {
        node: network.node(f.node).code.clone(),
        version: f.version,
        sequence: f.sequence,
        updated_at: Some(timestamp(f.updated_at)),
        rows: f.rows as u64,
    }
}

/// One SKU's level at one node as proto.
pub fn node_availability(
    network: &Network,
    f: &NodeFreshness,
    level: StockLevel,
) -> pb::NodeAvailability {
    pb::NodeAvailability {
        node: network.node(f.node).code.clone(),
        kind: super::network::node_kind(network.node(f.node).kind) as i32,
        on_hand: level.on_hand,
        reserved: level.reserved,
        protected: level.protected,
        available: level.available(),
        snapshot_version: f.version,
        updated_at: Some(timestamp(f.updated_at)),
    }
}

/// A stock record of a replacement, with its SKU code resolved. `at` names
/// the record in the request stream for error messages.
pub fn stock_record(
    network: &Network,
    record: pb::StockRecord,
    at: &str,
) -> Result<(allot_engine::network::SkuId, StockLevel), tonic::Status> {
    let pb::StockRecord {
        sku,
        on_hand,
        reserved,
        protected,
    } = record;
    let id = network.sku_id(&sku).ok_or_else(|| {
        crate::error::invalid(&format!("{at}.sku"), format!("unknown SKU {sku:?}"))
    })?;
    for (field, value) in [
        ("on_hand", on_hand),
        ("reserved", reserved),
        ("protected", protected),
    ] {
        if value < 0 {
            return Err(crate::error::invalid(
                &format!("{at}.{field}"),
                format!("must be >= 0, got {value}"),
            ));
        }
    }
    Ok((
        id,
        StockLevel {
            on_hand,
            reserved,
            protected,
        },
    ))
}
