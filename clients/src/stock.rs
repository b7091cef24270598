//! Stock loading helpers over `InventoryService`.

use std::path::Path;

use allot_proto::v1::{ReplaceNodeStockResponse, StockDelta, StockDeltaSummary, StockRecord};

use crate::batch::{FeedPosition, MAX_STOCK_ROWS_PER_MESSAGE, batch_deltas, chunk_stock_rows};
use crate::client::AllotClient;
use crate::error::ClientError;
use crate::input::{NodeRows, parse_delta_csv, parse_stock_csv};

impl AllotClient {
    /// Replaces one node's whole snapshot with `rows`, streamed in messages
    /// of at most [`MAX_STOCK_ROWS_PER_MESSAGE`] rows.
    pub async fn replace_node_stock(
        &self,
        node: &str,
        position: FeedPosition,
        rows: Vec<StockRecord>,
    ) -> Result<ReplaceNodeStockResponse, ClientError> {
        let messages = chunk_stock_rows(node, position, rows, MAX_STOCK_ROWS_PER_MESSAGE);
        let response = self
            .inventory()
            .replace_node_stock(tokio_stream::iter(messages))
            .await?;
        Ok(response.into_inner())
    }

    /// Loads a bulk stock CSV (`node,sku,on_hand[,reserved][,protected]`):
    /// one `ReplaceNodeStock` per node, nodes in order of first appearance,
    /// as of no delta (`as_of_sequence` 0: refused for a node that has
    /// applied deltas). See [`AllotClient::load_stock_csv_as_of`].
    pub async fn load_stock_csv(
        &self,
        path: impl AsRef<Path>,
    ) -> Result<Vec<ReplaceNodeStockResponse>, ClientError> {
        self.load_stock_csv_as_of(path, FeedPosition::as_of(0))
            .await
    }

    /// Loads a bulk stock CSV at the given feed position for every node.
    /// The whole file is parsed first: a malformed file sends nothing. Each
    /// node is replaced atomically, but the file as a whole is not: when a
    /// node fails, [`ClientError::NodeReplace`] says how many nodes before it
    /// were already replaced.
    pub async fn load_stock_csv_as_of(
        &self,
        path: impl AsRef<Path>,
        position: FeedPosition,
    ) -> Result<Vec<ReplaceNodeStockResponse>, ClientError> {
        let groups = parse_stock_csv(path.as_ref())?;
        self.load_stock_groups(groups, position).await
    }

    /// Replaces the snapshot of every node in `groups`, in order, with
    /// `position`; one `ReplaceNodeStock` stream per node (e.g. the
    /// result of [`crate::input::parse_stock_csv`]). Stops at the first
    /// failing node with [`ClientError::NodeReplace`].
    pub async fn load_stock_groups(
        &self,
        groups: Vec<NodeRows>,
        position: FeedPosition,
    ) -> Result<Vec<ReplaceNodeStockResponse>, ClientError> {
        let total = groups.len();
        let mut responses = Vec::with_capacity(total);
        for group in groups {
            match self
                .replace_node_stock(&group.node, position, group.rows)
                .await
            {
                Ok(response) => responses.push(response),
                Err(ClientError::Status(source)) => {
                    return Err(ClientError::NodeReplace {
                        node: group.node,
                        replaced: responses.len(),
                        total,
                        source,
                    });
                }
                Err(other) => return Err(other),
            }
        }
        Ok(responses)
    }

    /// Sends `deltas` as one `StreamStockDeltas` call in batches of
    /// `batch_size` deltas. `batch_size` 0 is an error.
    pub async fn stream_deltas(
        &self,
        deltas: Vec<StockDelta>,
        batch_size: usize,
    ) -> Result<StockDeltaSummary, ClientError> {
        if batch_size == 0 {
            return Err(ClientError::InvalidArgument(
                "batch size must be at least 1".into(),
            ));
        }
        let batches = batch_deltas(deltas, batch_size);
        let response = self
            .inventory()
            .stream_stock_deltas(tokio_stream::iter(batches))
            .await?;
        Ok(response.into_inner())
    }

    /// Parses a stock delta CSV
    /// (`node,sku,sequence,kind,quantity[,protected]`) and sends it as one
    /// `StreamStockDeltas` call in batches of `batch_size` rows (see
    /// [`crate::DEFAULT_DELTA_BATCH_SIZE`]). The whole file is parsed first:
    /// a malformed file sends nothing. Row problems (unknown node, bad kind,
    /// ...) are reported in the summary by the server.
    pub async fn stream_deltas_csv(
        &self,
        path: impl AsRef<Path>,
        batch_size: usize,
    ) -> Result<StockDeltaSummary, ClientError> {
        if batch_size == 0 {
            return Err(ClientError::InvalidArgument(
                "batch size must be at least 1".into(),
            ));
        }
        let deltas = parse_delta_csv(path.as_ref())?;
        self.stream_deltas(deltas, batch_size).await
    }
}
