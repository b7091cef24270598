//! Splitting rows into stream messages.

use allot_proto::v1::{ReplaceNodeStockRequest, StockDelta, StockDeltaBatch, StockRecord};

/// Most rows sent in one `ReplaceNodeStockRequest` message.
pub const MAX_STOCK_ROWS_PER_MESSAGE: usize = 5_000;

/// Default number of deltas per `StockDeltaBatch`.
pub const DEFAULT_DELTA_BATCH_SIZE: usize = 1_000;

/// Where a replacement snapshot stands in its node's delta feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FeedPosition {
    /// The last delta sequence the snapshot includes (0: none). The server
    /// refuses a snapshot older than the deltas it has applied.
    pub as_of_sequence: u64,
    /// The feed restarts its numbering: take the snapshot even when it is
    /// older than the deltas applied, and continue from `as_of_sequence`.
    pub reset_feed: bool,
}

impl FeedPosition {
    /// A snapshot that includes the deltas up to `sequence`.
    pub fn as_of(sequence: u64) -> FeedPosition {
        FeedPosition {
            as_of_sequence: sequence,
            reset_feed: false,
        }
    }
}

/// Splits one node's rows into `ReplaceNodeStock` messages of at most
/// `max_rows` rows (`0` is treated as 1). Every message names the node; the
/// first carries the feed position. No row gives one empty message, which
/// empties the node.
pub fn chunk_stock_rows(
    node: &str,
    position: FeedPosition,
    rows: Vec<StockRecord>,
    max_rows: usize,
) -> Vec<ReplaceNodeStockRequest> {
    let max_rows = max_rows.max(1);
    let mut messages = Vec::with_capacity(rows.len().div_ceil(max_rows).max(1));
    let mut rows = rows.into_iter().peekable();
    loop {
        let chunk: Vec<StockRecord> = rows.by_ref().take(max_rows).collect();
        let first = messages.is_empty();
        messages.push(ReplaceNodeStockRequest {
            node: node.to_string(),
            as_of_sequence: if first { position.as_of_sequence } else { 0 },
            rows: chunk,
            reset_feed: first && position.reset_feed,
        });
        if rows.peek().is_none() {
            return messages;
        }
    }
}

/// Splits deltas, in order, into batches of at most `batch_size` deltas
/// (`0` is treated as 1). No delta gives no batch.
pub fn batch_deltas(deltas: Vec<StockDelta>, batch_size: usize) -> Vec<StockDeltaBatch> {
    let batch_size = batch_size.max(1);
    let mut batches = Vec::with_capacity(deltas.len().div_ceil(batch_size));
    let mut deltas = deltas.into_iter().peekable();
    while deltas.peek().is_some() {
        batches.push(StockDeltaBatch {
            deltas: deltas.by_ref().take(batch_size).collect(),
        });
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(n: usize) -> Vec<StockRecord> {
        (0..n)
            .map(|i| StockRecord {
                sku: format!("S{i}"),
                on_hand: i as i64,
                ..Default::default()
            })
            .collect()
    }

    #[test]
    fn chunks_at_most_max_rows() {
        let msgs = chunk_stock_rows(
            "N",
            FeedPosition::as_of(7),
            rows(12_001),
            MAX_STOCK_ROWS_PER_MESSAGE,
        );
        let sizes: Vec<usize> = msgs.iter().map(|m| m.rows.len()).collect();
        assert_eq!(sizes, vec![5_000, 5_000, 2_001]);
        assert!(msgs.iter().all(|m| m.node == "N"));
        assert_eq!(msgs[0].as_of_sequence, 7);
        assert_eq!(msgs[0].rows[0].sku, "S0");
        assert_eq!(msgs[2].rows.last().unwrap().sku, "S12000");
    }

    #[test]
    fn exact_multiple_and_empty() {
        let sizes: Vec<usize> = chunk_stock_rows("N", FeedPosition::as_of(0), rows(10_000), 5_000)
            .iter()
            .map(|m| m.rows.len())
            .collect();
        assert_eq!(sizes, vec![5_000, 5_000]);
        let msgs = chunk_stock_rows("N", FeedPosition::as_of(3), Vec::new(), 5_000);
        assert_eq!(msgs.len(), 1);
        assert!(msgs[0].rows.is_empty());
        assert_eq!((msgs[0].node.as_str(), msgs[0].as_of_sequence), ("N", 3));
    }

    #[test]
    fn batches_deltas_in_order() {
        let deltas: Vec<StockDelta> = (1..=2_500)
            .map(|s| StockDelta {
                sequence: s,
                ..Default::default()
            })
            .collect();
        let batches = batch_deltas(deltas, DEFAULT_DELTA_BATCH_SIZE);
        let sizes: Vec<usize> = batches.iter().map(|b| b.deltas.len()).collect();
        assert_eq!(sizes, vec![1_000, 1_000, 500]);
        assert_eq!(batches[1].deltas[0].sequence, 1_001);
        assert!(batch_deltas(Vec::new(), 10).is_empty());
    }
}
