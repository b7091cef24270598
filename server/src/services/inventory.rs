//! InventoryService: stock snapshots, deltas and availability.

use std::collections::BTreeMap;

use allot_proto::v1 as pb;
use allot_proto::v1::inventory_service_server::InventoryService;
use tonic::{Request, Response, Status, Streaming};

use crate::convert::stock as conv;
use crate::error::reply;
use crate::serve::Ready;

/// Most quarantined rows listed in one `StockDeltaSummary`.
const MAX_LISTED_QUARANTINED: usize = 1000;

/// The InventoryService adapter.
pub(crate) struct InventoryApi {
    ready: Ready,
}

impl InventoryApi {
    /// An adapter over the services published in `ready`.
    pub(crate) fn new(ready: Ready) -> Self {
        InventoryApi { ready }
    }
}

#[tonic::async_trait]
impl InventoryService for InventoryApi {
    async fn replace_node_stock(
        &self,
        request: Request<Streaming<pb::ReplaceNodeStockRequest>>,
    ) -> Result<Response<pb::ReplaceNodeStockResponse>, Status> {
        reply(
            async {
                let services = self.ready.get()?;
                let network = services.network();
                let new = conv::replacement(network, request.into_inner()).await?;
                let fresh = (services.stock)
                    .replace_node(new.node, new.rows, new.as_of_sequence)
                    .await?;
                Ok(conv::replaced(network, &fresh))
            }
            .await,
        )
    }

    async fn stream_stock_deltas(
        &self,
        request: Request<Streaming<pb::StockDeltaBatch>>,
    ) -> Result<Response<pb::StockDeltaSummary>, Status> {
        reply(
            async {
                let services = self.ready.get()?;
                let network = services.network();
                let mut stream = request.into_inner();
                let mut summary = pb::StockDeltaSummary::default();
                let mut nodes = BTreeMap::new();
                let mut next_index = 0u64;
                while let Some(pb::StockDeltaBatch { deltas }) =
                    stream.message().await.map_err(conv::stream_error)?
                {
                    let rows: Vec<_> = deltas.into_iter().map(conv::delta_row).collect();
                    let first = next_index;
                    next_index += rows.len() as u64;
                    let outcome = services.stock.apply_deltas(first, rows).await?;
                    let room =
                        MAX_LISTED_QUARANTINED.saturating_sub(summary.quarantined_rows.len());
                    conv::add_to_summary(network, &mut summary, outcome, room, &mut nodes);
                }
                summary.nodes = nodes
                    .values()
                    .map(|f| conv::node_version(network, f))
                    .collect();
                tracing::info!(
                    received = summary.received,
                    applied = summary.applied,
                    duplicates = summary.duplicates,
                    quarantined = summary.quarantined,
                    gaps = summary.gaps.len(),
                    "stock delta stream applied"
                );
                Ok(summary)
            }
            .await,
        )
    }

    async fn get_sku_availability(
        &self,
        request: Request<pb::GetSkuAvailabilityRequest>,
    ) -> Result<Response<pb::SkuAvailability>, Status> {
        let pb::GetSkuAvailabilityRequest {
            sku,
            nodes,
            include_zero,
        } = request.into_inner();
        reply(self.ready.get().and_then(|services| {
            let network = services.network();
            let (sku_id, filter) = conv::availability_query(network, &sku, &nodes)?;
            let found = services.stock.availability(sku_id, &filter, include_zero);
            Ok(conv::availability(network, sku, &found))
        }))
    }

    async fn get_node_stock(
        &self,
        request: Request<pb::GetNodeStockRequest>,
    ) -> Result<Response<pb::NodeStock>, Status> {
        let pb::GetNodeStockRequest {
            node,
            page_size,
            page_token,
        } = request.into_inner();
        reply(
            async {
                let services = self.ready.get()?;
                let network = services.network();
                let (node_id, after) = conv::node_page_query(network, &node, &page_token)?;
                let page = (services.stock)
                    .node_page(node_id, page_size as usize, after)
                    .await?;
                Ok(conv::node_stock(network, node, &page))
            }
            .await,
        )
    }

    async fn get_stock_status(
        &self,
        request: Request<pb::GetStockStatusRequest>,
    ) -> Result<Response<pb::StockStatus>, Status> {
        let pb::GetStockStatusRequest {} = request.into_inner();
        reply(
            self.ready
                .get()
                .map(|services| conv::stock_status(services.network(), &services.stock.health())),
        )
    }
}
