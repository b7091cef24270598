//! InventoryService: stock snapshots, deltas and availability.

use std::collections::{BTreeMap, HashSet};
use std::time::SystemTime;

use allot_engine::network::SkuId;
use allot_engine::stock::{DeltaOutcome, StockLevel};
use allot_proto::v1 as pb;
use allot_proto::v1::inventory_service_server::InventoryService;
use tonic::{Request, Response, Status, Streaming};

use crate::convert::stock as conv;
use crate::convert::time::timestamp;
use crate::error::{invalid, not_found, status};
use crate::state::Ready;

/// Most quarantined rows listed in one `StockDeltaSummary`.
const MAX_LISTED_QUARANTINED: usize = 1000;
/// Most recent quarantined rows listed by `GetStockStatus`.
const RECENT_QUARANTINED: usize = 100;
/// Default and largest page of `GetNodeStock`.
const DEFAULT_PAGE: usize = 1000;
const MAX_PAGE: usize = 10_000;

/// The InventoryService adapter.
pub struct InventoryApi {
    ready: Ready,
}

impl InventoryApi {
    /// An adapter over the engine published in `ready`.
    pub fn new(ready: Ready) -> Self {
        InventoryApi { ready }
    }
}

/// Runs CPU work that may exceed a few hundred microseconds off the async
/// workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Status> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Status::internal(format!("stock worker failed: {e}")))
}

#[tonic::async_trait]
impl InventoryService for InventoryApi {
    async fn replace_node_stock(
        &self,
        request: Request<Streaming<pb::ReplaceNodeStockRequest>>,
    ) -> Result<Response<pb::ReplaceNodeStockResponse>, Status> {
        let engine = self.ready.engine()?.clone();
        let network = engine.network.clone();
        let mut stream = request.into_inner();
        let mut node = None;
        let mut as_of = 0;
        let mut rows: Vec<(SkuId, StockLevel)> = Vec::new();
        let mut seen: HashSet<SkuId> = HashSet::new();
        let mut index = 0usize;
        while let Some(message) = stream.message().await? {
            let pb::ReplaceNodeStockRequest {
                node: code,
                as_of_sequence,
                rows: records,
            } = message;
            let at = format!("messages[{index}]");
            match node {
                None => {
                    if code.is_empty() {
                        return Err(invalid(&format!("{at}.node"), "required"));
                    }
                    node = Some(
                        network
                            .node_id(&code)
                            .ok_or_else(|| not_found(&format!("{at}.node"), "node", &code))?,
                    );
                    as_of = as_of_sequence;
                }
                Some(id) if network.node(id).code != code => {
                    return Err(invalid(
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
                let (sku, level) = conv::stock_record(&network, record, &at)?;
                if !seen.insert(sku) {
                    return Err(invalid(
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
            invalid(
                "messages",
                "the stream held no message; the first must name the node",
            )
        })?;
        let stock = engine.stock.clone();
        let fresh = blocking(move || stock.replace_node(node, rows, as_of, SystemTime::now()))
            .await?
            .map_err(status)?;
        tracing::info!(node = %network.node(node).code, version = fresh.version, rows = fresh.rows, "node stock replaced");
        Ok(Response::new(pb::ReplaceNodeStockResponse {
            node: network.node(node).code.clone(),
            version: fresh.version,
            rows: fresh.rows as u64,
            updated_at: Some(timestamp(fresh.updated_at)),
        }))
    }

    async fn stream_stock_deltas(
        &self,
        request: Request<Streaming<pb::StockDeltaBatch>>,
    ) -> Result<Response<pb::StockDeltaSummary>, Status> {
        let engine = self.ready.engine()?.clone();
        let network = engine.network.clone();
        let mut stream = request.into_inner();
        let mut summary = pb::StockDeltaSummary::default();
        let mut nodes = BTreeMap::new();
        let mut next_index = 0u64;
        while let Some(pb::StockDeltaBatch { deltas }) = stream.message().await? {
            let rows: Vec<_> = deltas.into_iter().map(conv::delta_row).collect();
            let first = next_index;
            next_index += rows.len() as u64;
            let stock = engine.stock.clone();
            let outcome: DeltaOutcome =
                blocking(move || stock.apply_deltas(first, &rows, SystemTime::now())).await?;
            summary.received += outcome.received;
            summary.applied += outcome.applied;
            summary.duplicates += outcome.duplicates;
            summary.quarantined += outcome.quarantined.len() as u64;
            let room = MAX_LISTED_QUARANTINED.saturating_sub(summary.quarantined_rows.len());
            summary.quarantined_rows.extend(
                outcome
                    .quarantined
                    .into_iter()
                    .take(room)
                    .map(conv::quarantined),
            );
            summary
                .gaps
                .extend(outcome.gaps.iter().map(|g| conv::gap(&network, g)));
            for fresh in outcome.touched {
                nodes.insert(fresh.node, fresh);
            }
        }
        summary.nodes = nodes
            .values()
            .map(|f| conv::node_version(&network, f))
            .collect();
        tracing::info!(
            received = summary.received,
            applied = summary.applied,
            duplicates = summary.duplicates,
            quarantined = summary.quarantined,
            gaps = summary.gaps.len(),
            "stock delta stream applied"
        );
        Ok(Response::new(summary))
    }

    async fn get_sku_availability(
        &self,
        request: Request<pb::GetSkuAvailabilityRequest>,
    ) -> Result<Response<pb::SkuAvailability>, Status> {
        let engine = self.ready.engine()?;
        let network = &engine.network;
        let pb::GetSkuAvailabilityRequest {
            sku,
            nodes,
            include_zero,
        } = request.into_inner();
        if sku.is_empty() {
            return Err(invalid("sku", "required"));
        }
        let sku_id = network
            .sku_id(&sku)
            .ok_or_else(|| not_found("sku", "SKU", &sku))?;
        let mut filter = HashSet::new();
        for (i, code) in nodes.iter().enumerate() {
            let id = network
                .node_id(code)
                .ok_or_else(|| not_found(&format!("nodes[{i}]"), "node", code))?;
            filter.insert(id);
        }
        let mut levels: BTreeMap<_, _> = engine
            .stock
            .sku_levels(sku_id)
            .into_iter()
            .map(|(fresh, level)| (fresh.node, (fresh, level)))
            .collect();
        if include_zero {
            for node in network.node_ids() {
                levels
                    .entry(node)
                    .or_insert_with(|| (engine.stock.freshness(node), StockLevel::default()));
            }
        }
        let mut answer = pb::SkuAvailability {
            sku,
            ..Default::default()
        };
        for (node, (fresh, level)) in levels {
            if !filter.is_empty() && !filter.contains(&node) {
                continue;
            }
            if !include_zero && level == StockLevel::default() {
                continue;
            }
            answer.total_on_hand += level.on_hand;
            answer.total_available += level.available();
            answer
                .nodes
                .push(conv::node_availability(network, &fresh, level));
        }
        Ok(Response::new(answer))
    }

    async fn get_node_stock(
        &self,
        request: Request<pb::GetNodeStockRequest>,
    ) -> Result<Response<pb::NodeStock>, Status> {
        let engine = self.ready.engine()?.clone();
        let pb::GetNodeStockRequest {
            node,
            page_size,
            page_token,
        } = request.into_inner();
        if node.is_empty() {
            return Err(invalid("node", "required"));
        }
        let network = engine.network.clone();
        let node_id = network
            .node_id(&node)
            .ok_or_else(|| not_found("node", "node", &node))?;
        let page = match page_size as usize {
            0 => DEFAULT_PAGE,
            n if n > MAX_PAGE => {
                return Err(invalid("page_size", format!("at most {MAX_PAGE}, got {n}")));
            }
            n => n,
        };
        let after = if page_token.is_empty() {
            None
        } else {
            Some(
                page_token
                    .parse::<u32>()
                    .map_err(|_| invalid("page_token", "not a token returned by GetNodeStock"))?,
            )
        };
        let stock = engine.stock.clone();
        let (fresh, rows) = blocking(move || stock.node_levels(node_id)).await?;
        let start = after.map_or(0, |a| rows.partition_point(|(sku, _)| sku.0 <= a));
        let end = (start + page).min(rows.len());
        let next_page_token = if end < rows.len() {
            rows[end - 1].0.0.to_string()
        } else {
            String::new()
        };
        Ok(Response::new(pb::NodeStock {
            node,
            version: fresh.version,
            sequence: fresh.sequence,
            updated_at: Some(timestamp(fresh.updated_at)),
            rows: rows[start..end]
                .iter()
                .map(|(sku, level)| pb::SkuStock {
                    sku: network.sku(*sku).code.clone(),
                    on_hand: level.on_hand,
                    reserved: level.reserved,
                    protected: level.protected,
                    available: level.available(),
                })
                .collect(),
            next_page_token,
            total_rows: rows.len() as u64,
        }))
    }

    async fn get_stock_status(
        &self,
        request: Request<pb::GetStockStatusRequest>,
    ) -> Result<Response<pb::StockStatus>, Status> {
        let pb::GetStockStatusRequest {} = request.into_inner();
        let engine = self.ready.engine()?;
        let network = &engine.network;
        let by_reason: Vec<_> = engine
            .stock
            .quarantine_counts()
            .into_iter()
            .map(|(reason, count)| pb::QuarantineCount {
                reason: conv::quarantine_reason(reason) as i32,
                count,
            })
            .collect();
        Ok(Response::new(pb::StockStatus {
            nodes: engine
                .stock
                .all_freshness()
                .iter()
                .map(|f| conv::node_version(network, f))
                .collect(),
            quarantined_total: by_reason.iter().map(|c| c.count).sum(),
            by_reason,
            recent: engine
                .stock
                .recent_quarantined(RECENT_QUARANTINED)
                .into_iter()
                .map(conv::quarantined)
                .collect(),
        }))
    }
}
