//! InventoryService: stock snapshots, deltas and availability.

use allot_proto::v1 as pb;
use allot_proto::v1::inventory_service_server::InventoryService;
use std::time::Duration;

use tonic::{Request, Response, Status, Streaming};

use crate::auth::caller_of;
use crate::convert::stock as conv;
use crate::error::reply;
use crate::serve::Ready;
use crate::streams::idle_limited;

/// The InventoryService adapter.
pub(crate) struct InventoryApi {
    ready: Ready,
    idle_timeout: Duration,
}

impl InventoryApi {
    /// An adapter over the services published in `ready`; a client stream
    /// silent for `idle_timeout` is ended (crate::streams).
    pub(crate) fn new(ready: Ready, idle_timeout: Duration) -> Self {
        InventoryApi {
            ready,
            idle_timeout,
        }
    }
}

#[tonic::async_trait]
impl InventoryService for InventoryApi {
    async fn replace_node_stock(
        &self,
        request: Request<Streaming<pb::ReplaceNodeStockRequest>>,
    ) -> Result<Response<pb::ReplaceNodeStockResponse>, Status> {
        let caller = caller_of(&request);
        reply(
            async {
                let services = self.ready.get()?;
                let network = services.network();
                let messages = idle_limited(
                    request.into_inner(),
                    self.idle_timeout,
                    "InventoryService/ReplaceNodeStock",
                );
                let new = conv::replacement(network, messages).await?;
                let fresh = (services.stock)
                    .replace_node(
                        new.node,
                        new.rows,
                        new.as_of_sequence,
                        new.reset_feed,
                        &caller,
                    )
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
        let caller = caller_of(&request);
        reply(
            async {
                let services = self.ready.get()?;
                let batches = conv::delta_batches(idle_limited(
                    request.into_inner(),
                    self.idle_timeout,
                    "InventoryService/StreamStockDeltas",
                ));
                let done = services.stock.apply_stream(batches, &caller).await?;
                Ok(conv::delta_summary(services.network(), done))
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
