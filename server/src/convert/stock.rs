//! Stock messages to and from engine types.

use std::collections::HashSet;

use allot_engine::network::{Network, NodeId, SkuId};
use allot_engine::stock::{
    DeltaKind, DeltaRow, NodeFreshness, QuarantineReason, QuarantinedRow, SequenceGap, StockLevel,
};
use allot_proto::v1 as pb;
use allot_service::stock::{Availability, DeltaSummary, NodePage, StockHealth};
use allot_service::{Code, ServiceError};

use super::time::timestamp;

/// A streamed delta as an engine row. Validation (unknown node or SKU,
/// negative quantities, unspecified kind) is the engine's: such rows are
/// quarantined, not refused.
pub(crate) fn delta_row(delta: pb::StockDelta) -> DeltaRow {
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
pub(crate) fn quarantine_reason(reason: QuarantineReason) -> pb::QuarantineReason {
    match reason {
        QuarantineReason::UnknownNode => pb::QuarantineReason::UnknownNode,
        QuarantineReason::UnknownSku => pb::QuarantineReason::UnknownSku,
        QuarantineReason::NegativeQuantity => pb::QuarantineReason::NegativeQuantity,
        QuarantineReason::InvalidKind => pb::QuarantineReason::InvalidKind,
        QuarantineReason::NegativeProtected => pb::QuarantineReason::NegativeProtected,
    }
}

/// A quarantined row as proto.
pub(crate) fn quarantined(row: QuarantinedRow) -> pb::QuarantinedDelta {
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
pub(crate) fn gap(network: &Network, gap: &SequenceGap) -> pb::SequenceGap {
    pb::SequenceGap {
        node: network.node(gap.node).code.clone(),
        expected: gap.expected,
        received: gap.received,
    }
}

/// When a node's snapshot last changed; absent when it never did (the
/// engine's `UNIX_EPOCH`).
fn updated_at(f: &NodeFreshness) -> Option<prost_types::Timestamp> {
    (f.updated_at != std::time::UNIX_EPOCH).then(|| timestamp(f.updated_at))
}

/// Sorts node answers by node code, as the contract orders them (node ids
/// follow the network file, not the codes).
fn by_node_code<T>(items: &mut [T], code: impl Fn(&T) -> &str) {
    items.sort_by(|a, b| code(a).cmp(code(b)));
}

/// A node's snapshot version and freshness as proto.
pub(crate) fn node_version(network: &Network, f: &NodeFreshness) -> pb::NodeStockVersion {
    pb::NodeStockVersion {
        node: network.node(f.node).code.clone(),
        version: f.version,
        sequence: f.sequence,
        updated_at: updated_at(f),
        rows: f.rows as u64,
    }
}

/// One SKU's level at one node as proto.
pub(crate) fn node_availability(
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
        updated_at: updated_at(f),
    }
}

/// A stock record of a replacement, with its SKU code resolved. `at` names
/// the record in the request stream for error messages.
pub(crate) fn stock_record(
    network: &Network,
    record: pb::StockRecord,
    at: &str,
) -> Result<(SkuId, StockLevel), ServiceError> {
    let pb::StockRecord {
        sku,
        on_hand,
        reserved,
        protected,
    } = record;
    let id = network
        .sku_id(&sku)
        .ok_or_else(|| super::invalid(&format!("{at}.sku"), format!("unknown SKU {sku:?}")))?;
    for (field, value) in [
        ("on_hand", on_hand),
        ("reserved", reserved),
        ("protected", protected),
    ] {
        if value < 0 {
            return Err(super::invalid(
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

/// A node's replacement snapshot read from its request stream: the node
/// named by the first message (every message must name it), the caller's
/// sequence, and every row, each SKU once.
pub(crate) struct Replacement {
    /// The node replaced.
    pub(crate) node: NodeId,
    /// The delta sequence the snapshot is as of.
    pub(crate) as_of_sequence: u64,
    /// The node's feed restarts its numbering.
    pub(crate) reset_feed: bool,
    /// The new rows.
    pub(crate) rows: Vec<(SkuId, StockLevel)>,
}

/// Reads and validates a ReplaceNodeStock stream (the request's
/// `tonic::Streaming`, or any stream of its messages); errors name the
/// message and row (`messages[i].rows[j].sku`).
pub(crate) async fn replacement(
    network: &Network,
    mut stream: impl futures::Stream<Item = Result<pb::ReplaceNodeStockRequest, tonic::Status>> + Unpin,
) -> Result<Replacement, ServiceError> {
    use futures::StreamExt;
    let mut node = None;
    let mut as_of = 0;
    let mut reset = false;
    let mut rows: Vec<(SkuId, StockLevel)> = Vec::new();
    let mut seen: HashSet<SkuId> = HashSet::new();
    let mut index = 0usize;
    while let Some(message) = stream.next().await.transpose().map_err(stream_error)? {
        let pb::ReplaceNodeStockRequest {
            node: code,
            as_of_sequence,
            rows: records,
            reset_feed,
        } = message;
        let at = format!("messages[{index}]");
        match node {
            None => {
                if code.is_empty() {
                    return Err(super::invalid(
                        &format!("{at}.node"),
                        "required on the first message: the code of a node of the network, e.g. DC-ATL",
                    ));
                }
                node = Some(
                    network
                        .node_id(&code)
                        .ok_or_else(|| super::not_found(&format!("{at}.node"), "node", &code))?,
                );
                as_of = as_of_sequence;
                reset = reset_feed;
            }
            Some(id) if network.node(id).code != code => {
                return Err(super::invalid(
                    &format!("{at}.node"),
                    format!(
                        "every message must name the same node ({:?}), got {code:?}",
                        network.node(id).code
                    ),
                ));
            }
            Some(_) => {}
        }
        for (row, record) in records.into_iter().enumerate() {
            let at = format!("{at}.rows[{row}]");
            let (sku, level) = stock_record(network, record, &at)?;
            if !seen.insert(sku) {
                return Err(super::invalid(
                    &format!("{at}.sku"),
                    format!(
                        "SKU {:?} appears twice in the replacement",
                        network.sku(sku).code
                    ),
                ));
            }
            rows.push((sku, level));
        }
        index += 1;
    }
    let node = node.ok_or_else(|| {
        super::invalid(
            "messages",
            "the stream held no message; the first must name the node",
        )
    })?;
    Ok(Replacement {
        node,
        as_of_sequence: as_of,
        reset_feed: reset,
        rows,
    })
}

/// A broken request stream (the client went away or sent garbage).
pub(crate) fn stream_error(status: tonic::Status) -> ServiceError {
    ServiceError::new(
        match status.code() {
            tonic::Code::InvalidArgument => Code::InvalidArgument,
            tonic::Code::OutOfRange => Code::OutOfRange,
            tonic::Code::ResourceExhausted => Code::ResourceExhausted,
            tonic::Code::DeadlineExceeded => Code::DeadlineExceeded,
            tonic::Code::Cancelled | tonic::Code::Unavailable => Code::Unavailable,
            _ => Code::Internal,
        },
        status.message(),
    )
}

/// The answer of a node replacement.
pub(crate) fn replaced(network: &Network, fresh: &NodeFreshness) -> pb::ReplaceNodeStockResponse {
    pb::ReplaceNodeStockResponse {
        node: network.node(fresh.node).code.clone(),
        version: fresh.version,
        rows: fresh.rows as u64,
        updated_at: Some(timestamp(fresh.updated_at)),
    }
}

/// The summary of a whole delta stream.
pub(crate) fn delta_summary(network: &Network, done: DeltaSummary) -> pb::StockDeltaSummary {
    let mut nodes: Vec<_> = done
        .nodes
        .iter()
        .map(|f| node_version(network, f))
        .collect();
    by_node_code(&mut nodes, |n| &n.node);
    pb::StockDeltaSummary {
        received: done.received,
        applied: done.applied,
        duplicates: done.duplicates,
        quarantined: done.quarantined,
        quarantined_rows: done.quarantined_rows.into_iter().map(quarantined).collect(),
        gaps: done.gaps.iter().map(|g| gap(network, g)).collect(),
        nodes,
    }
}

/// A delta stream's batches (the request's `tonic::Streaming`, or any
/// stream of its messages) as engine rows.
pub(crate) fn delta_batches(
    stream: impl futures::Stream<Item = Result<pb::StockDeltaBatch, tonic::Status>> + Unpin,
) -> impl futures::Stream<Item = Result<Vec<DeltaRow>, ServiceError>> + Unpin {
    use futures::StreamExt;
    stream.map(|batch| {
        batch
            .map(|pb::StockDeltaBatch { deltas }| deltas.into_iter().map(delta_row).collect())
            .map_err(stream_error)
    })
}

/// The SKU and node filter of an availability query.
pub(crate) fn availability_query(
    network: &Network,
    sku: &str,
    nodes: &[String],
) -> Result<(SkuId, HashSet<NodeId>), ServiceError> {
    if sku.is_empty() {
        return Err(super::invalid(
            "sku",
            "required: the code of a SKU of the network, e.g. SKU-000001",
        ));
    }
    let sku_id = network
        .sku_id(sku)
        .ok_or_else(|| super::not_found("sku", "SKU", sku))?;
    let mut filter = HashSet::new();
    for (i, code) in nodes.iter().enumerate() {
        let id = network
            .node_id(code)
            .ok_or_else(|| super::not_found(&format!("nodes[{i}]"), "node", code))?;
        filter.insert(id);
    }
    Ok((sku_id, filter))
}

/// The answer of an availability query.
pub(crate) fn availability(
    network: &Network,
    sku: String,
    found: &Availability,
) -> pb::SkuAvailability {
    let mut nodes: Vec<_> = found
        .nodes
        .iter()
        .map(|(fresh, level)| node_availability(network, fresh, *level))
        .collect();
    by_node_code(&mut nodes, |n| &n.node);
    pb::SkuAvailability {
        sku,
        total_on_hand: found.total_on_hand,
        total_available: found.total_available,
        nodes,
    }
}

/// The node and the position after which a page of its rows starts.
pub(crate) fn node_page_query(
    network: &Network,
    node: &str,
    page_token: &str,
) -> Result<(NodeId, Option<u32>), ServiceError> {
    if node.is_empty() {
        return Err(super::invalid(
            "node",
            "required: the code of a node of the network, e.g. DC-ATL",
        ));
    }
    let node_id = network
        .node_id(node)
        .ok_or_else(|| super::not_found("node", "node", node))?;
    let after = if page_token.is_empty() {
        None
    } else {
        Some(page_token.parse::<u32>().map_err(|_| {
                super::invalid(
                    "page_token",
                    format!(
                        "{page_token:?} is not a token returned by GetNodeStock; send a page's next_page_token, or empty for the first page"
                    ),
                )
            })?)
    };
    Ok((node_id, after))
}

/// One page of a node's rows.
pub(crate) fn node_stock(network: &Network, node: String, page: &NodePage) -> pb::NodeStock {
    let fresh = &page.freshness;
    pb::NodeStock {
        node,
        version: fresh.version,
        sequence: fresh.sequence,
        updated_at: updated_at(fresh),
        rows: page
            .rows
            .iter()
            .map(|(sku, level)| pb::SkuStock {
                sku: network.sku(*sku).code.clone(),
                on_hand: level.on_hand,
                reserved: level.reserved,
                protected: level.protected,
                available: level.available(),
            })
            .collect(),
        next_page_token: page.next.map(|t| t.to_string()).unwrap_or_default(),
        total_rows: page.total_rows as u64,
    }
}

/// Every node's freshness and the quarantine.
pub(crate) fn stock_status(network: &Network, health: &StockHealth) -> pb::StockStatus {
    let by_reason: Vec<_> = health
        .by_reason
        .iter()
        .filter(|(_, count)| *count > 0)
        .map(|(reason, count)| pb::QuarantineCount {
            reason: quarantine_reason(*reason) as i32,
            count: *count,
        })
        .collect();
    let mut nodes: Vec<_> = health
        .nodes
        .iter()
        .map(|f| node_version(network, f))
        .collect();
    by_node_code(&mut nodes, |n| &n.node);
    pb::StockStatus {
        nodes,
        quarantined_total: by_reason.iter().map(|c| c.count).sum(),
        by_reason,
        recent: health.recent.iter().cloned().map(quarantined).collect(),
    }
}
