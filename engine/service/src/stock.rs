//! Stock: node snapshots replaced whole, streamed deltas, and the reads an
//! OMS and an operator make (availability of a SKU, a node's rows, the
//! quarantine).

use std::collections::{BTreeMap, HashSet};

use futures::{Stream, StreamExt};
use std::sync::Arc;
use std::time::SystemTime;

use allot_engine::network::{NodeId, SkuId};
use allot_engine::stock::{
    DeltaOutcome, DeltaRow, NodeFreshness, QuarantineReason, QuarantinedRow, SequenceGap,
    StockLevel, StockStore,
};

use crate::clock::Clock;
use crate::error::ServiceError;
use crate::state::Receipt;

/// Default and largest page of a node's rows.
pub const DEFAULT_PAGE: usize = 1000;
/// Largest page of a node's rows.
pub const MAX_PAGE: usize = 10_000;
/// Most recent quarantined rows a status lists.
const RECENT_QUARANTINED: usize = 100;
/// Most quarantined rows listed in one delta stream's summary.
pub const MAX_LISTED_QUARANTINED: usize = 1000;

/// Where stock writes go. Each change comes with the [`Receipt`] to await
/// before acknowledging it.
pub trait StockJournal: Send + Sync {
    /// Replaces a node's whole snapshot, as of the caller's sequence:
    /// refused when older than the deltas applied, unless the feed resets.
    fn replace_node(
        &self,
        node: NodeId,
        rows: Vec<(SkuId, StockLevel)>,
        as_of_sequence: u64,
        reset_feed: bool,
        at: SystemTime,
    ) -> Result<(NodeFreshness, Receipt), ServiceError>;
    /// Applies a batch of deltas whose first row is the stream's
    /// `first_index`-th.
    fn apply_deltas(
        &self,
        first_index: u64,
        rows: &[DeltaRow],
        at: SystemTime,
    ) -> Result<(DeltaOutcome, Receipt), ServiceError>;
}

/// The store alone: state in memory only.
impl StockJournal for StockStore {
    fn replace_node(
        &self,
        node: NodeId,
        rows: Vec<(SkuId, StockLevel)>,
        as_of_sequence: u64,
        reset_feed: bool,
        at: SystemTime,
    ) -> Result<(NodeFreshness, Receipt), ServiceError> {
        self.replace_or_reset(node, rows, as_of_sequence, reset_feed, at)
            .map(|fresh| (fresh, Receipt::done()))
            .map_err(ServiceError::domain)
    }

    fn apply_deltas(
        &self,
        first_index: u64,
        rows: &[DeltaRow],
        at: SystemTime,
    ) -> Result<(DeltaOutcome, Receipt), ServiceError> {
        Ok((
            StockStore::apply_deltas(self, first_index, rows, at),
            Receipt::done(),
        ))
    }
}

/// What a whole delta stream did.
#[derive(Debug, Clone, Default)]
pub struct DeltaSummary {
    /// Rows received.
    pub received: u64,
    /// Rows applied.
    pub applied: u64,
    /// Rows skipped as already applied.
    pub duplicates: u64,
    /// Rows refused.
    pub quarantined: u64,
    /// The first [`MAX_LISTED_QUARANTINED`] refused rows.
    pub quarantined_rows: Vec<QuarantinedRow>,
    /// Sequence gaps, in arrival order.
    pub gaps: Vec<SequenceGap>,
    /// Freshness of every node the stream changed, by node.
    pub nodes: Vec<NodeFreshness>,
}

/// A SKU's stock per node.
#[derive(Debug, Clone, Default)]
pub struct Availability {
    /// Per node (ascending node id): its freshness and the SKU's level.
    pub nodes: Vec<(NodeFreshness, StockLevel)>,
    /// On hand over those nodes.
    pub total_on_hand: i64,
    /// Available over those nodes.
    pub total_available: i64,
}

/// One page of a node's rows.
#[derive(Debug, Clone)]
pub struct NodePage {
    /// The node's freshness.
    pub freshness: NodeFreshness,
    /// The rows of this page, ordered by SKU code.
    pub rows: Vec<(SkuId, StockLevel)>,
    /// The token of the next page (the position in SKU code order of the
    /// last row of this one); `None` on the last.
    pub next: Option<u32>,
    /// Rows of the node in all.
    pub total_rows: usize,
}

/// What an operator sees of stock health.
#[derive(Debug, Clone)]
pub struct StockHealth {
    /// Every node's freshness.
    pub nodes: Vec<NodeFreshness>,
    /// Quarantined rows per reason.
    pub by_reason: Vec<(QuarantineReason, u64)>,
    /// The most recent quarantined rows.
    pub recent: Vec<QuarantinedRow>,
}

/// The stock use cases.
pub struct Stock {
    store: Arc<StockStore>,
    journal: Arc<dyn StockJournal>,
    clock: Arc<dyn Clock>,
    /// Per SKU id, its position in the network's SKUs ordered by code: the
    /// order of a node's rows, and what a page token holds.
    code_rank: Arc<Vec<u32>>,
}

impl Stock {
    /// Reads from `store`; writes go through `journal`.
    pub fn new(
        store: Arc<StockStore>,
        journal: Arc<dyn StockJournal>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let network = store.network();
        let mut by_code: Vec<SkuId> = (0..network.sku_count() as u32).map(SkuId).collect();
        by_code.sort_by(|a, b| network.sku(*a).code.cmp(&network.sku(*b).code));
        let mut code_rank = vec![0; by_code.len()];
        for (rank, sku) in by_code.into_iter().enumerate() {
            code_rank[sku.0 as usize] = rank as u32;
        }
        Stock {
            store,
            journal,
            clock,
            code_rank: Arc::new(code_rank),
        }
    }

    /// Replaces a node's snapshot (off the async workers); see
    /// [`StockJournal::replace_node`]. The change is logged with `caller`
    /// (the token's name; empty with authentication off).
    pub async fn replace_node(
        &self,
        node: NodeId,
        rows: Vec<(SkuId, StockLevel)>,
        as_of_sequence: u64,
        reset_feed: bool,
        caller: &str,
    ) -> Result<NodeFreshness, ServiceError> {
        let journal = self.journal.clone();
        let at = self.clock.now();
        let replace = move || journal.replace_node(node, rows, as_of_sequence, reset_feed, at);
        let (fresh, receipt) = blocking(replace).await??;
        receipt.durable().await?;
        tracing::info!(node = %self.store.network().node(node).code, version = fresh.version, rows = fresh.rows, caller, "node stock replaced");
        Ok(fresh)
    }

    /// Applies one batch of a delta stream (off the async workers).
    pub async fn apply_deltas(
        &self,
        first_index: u64,
        rows: Vec<DeltaRow>,
    ) -> Result<DeltaOutcome, ServiceError> {
        let journal = self.journal.clone();
        let at = self.clock.now();
        let (outcome, receipt) =
            blocking(move || journal.apply_deltas(first_index, &rows, at)).await??;
        receipt.durable().await?;
        Ok(outcome)
    }

    /// Applies a stream of delta batches in order, each off the async
    /// workers; a broken stream ends the call with its error (the batches
    /// before it stay applied, as acknowledged per row by their sequence).
    pub async fn apply_stream(
        &self,
        mut batches: impl Stream<Item = Result<Vec<DeltaRow>, ServiceError>> + Unpin,
        caller: &str,
    ) -> Result<DeltaSummary, ServiceError> {
        let mut summary = DeltaSummary::default();
        let mut nodes = BTreeMap::new();
        let mut next_index = 0u64;
        while let Some(rows) = batches.next().await {
            let rows = rows?;
            let first = next_index;
            next_index += rows.len() as u64;
            let outcome = self.apply_deltas(first, rows).await?;
            summary.received += outcome.received;
            summary.applied += outcome.applied;
            summary.duplicates += outcome.duplicates;
            summary.quarantined += outcome.quarantined.len() as u64;
            let room = MAX_LISTED_QUARANTINED.saturating_sub(summary.quarantined_rows.len());
            summary
                .quarantined_rows
                .extend(outcome.quarantined.into_iter().take(room));
            summary.gaps.extend(outcome.gaps);
            for fresh in outcome.touched {
                nodes.insert(fresh.node, fresh);
            }
        }
        summary.nodes = nodes.into_values().collect();
        tracing::info!(
            caller,
            received = summary.received,
            applied = summary.applied,
            duplicates = summary.duplicates,
            quarantined = summary.quarantined,
            gaps = summary.gaps.len(),
            "stock delta stream applied"
        );
        Ok(summary)
    }

    /// A SKU's stock at the nodes of `filter` (every node when empty), with
    /// the nodes that hold none when `include_zero`.
    pub fn availability(
        &self,
        sku: SkuId,
        filter: &HashSet<NodeId>,
        include_zero: bool,
    ) -> Availability {
        let mut levels: BTreeMap<_, _> = self
            .store
            .sku_levels(sku)
            .into_iter()
            .map(|(fresh, level)| (fresh.node, (fresh, level)))
            .collect();
        if include_zero {
            for node in self.store.network().node_ids() {
                levels
                    .entry(node)
                    .or_insert_with(|| (self.store.freshness(node), StockLevel::default()));
            }
        }
        let mut answer = Availability::default();
        for (node, (fresh, level)) in levels {
            if !filter.is_empty() && !filter.contains(&node) {
                continue;
            }
            if !include_zero && level == StockLevel::default() {
                continue;
            }
            answer.total_on_hand += level.on_hand;
            answer.total_available += level.available();
            answer.nodes.push((fresh, level));
        }
        answer
    }

    /// A page of `page` rows of a node, ordered by SKU code, after the SKU
    /// whose position in code order is `after` (a previous page's
    /// [`NodePage::next`]; the SKU need not be held any more), off the async
    /// workers. `page` 0 means [`DEFAULT_PAGE`]; more than [`MAX_PAGE`] is
    /// refused naming `page_size`.
    pub async fn node_page(
        &self,
        node: NodeId,
        page: usize,
        after: Option<u32>,
    ) -> Result<NodePage, ServiceError> {
        let page = match page {
            0 => DEFAULT_PAGE,
            n if n > MAX_PAGE => {
                return Err(ServiceError::invalid(
                    "page_size",
                    format!("at most {MAX_PAGE}, got {n}"),
                ));
            }
            n => n,
        };
        let store = self.store.clone();
        let code_rank = self.code_rank.clone();
        let (freshness, rows) = blocking(move || {
            let (freshness, mut rows) = store.node_levels(node);
            rows.sort_by_key(|(sku, _)| rank(&code_rank, *sku));
            (freshness, rows)
        })
        .await?;
        let rank = |sku: SkuId| rank(&self.code_rank, sku);
        let start = after.map_or(0, |a| rows.partition_point(|(sku, _)| rank(*sku) <= a));
        let end = (start + page).min(rows.len());
        let next = (end < rows.len()).then(|| rank(rows[end - 1].0));
        Ok(NodePage {
            freshness,
            total_rows: rows.len(),
            rows: rows[start..end].to_vec(),
            next,
        })
    }

    /// Every node's freshness and the quarantine.
    pub fn health(&self) -> StockHealth {
        StockHealth {
            nodes: self.store.all_freshness(),
            by_reason: self.store.quarantine_counts(),
            recent: self.store.recent_quarantined(RECENT_QUARANTINED),
        }
    }
}

/// The position of `sku` in the network's SKUs ordered by code.
fn rank(code_rank: &[u32], sku: SkuId) -> u32 {
    code_rank.get(sku.0 as usize).copied().unwrap_or(u32::MAX)
}

/// Runs CPU work that may exceed a few hundred microseconds off the async
/// workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ServiceError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ServiceError::internal(format!("stock worker failed: {e}")))
}
