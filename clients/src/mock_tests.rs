//! End-to-end tests of the client helpers against an in-process mock
//! InventoryService (no allot server needed).

use std::io::Write;

use allot_proto::v1::inventory_service_server::{InventoryService, InventoryServiceServer};
use allot_proto::v1::{
    GetNodeStockRequest, GetSkuAvailabilityRequest, GetStockStatusRequest, NodeStock,
    ReplaceNodeStockRequest, ReplaceNodeStockResponse, SkuAvailability, StockDeltaBatch,
    StockDeltaSummary, StockStatus,
};
use tokio_stream::StreamExt;
use tonic::{Request, Response, Status, Streaming};

use crate::{AllotClient, ClientError, ServingStatus};

/// Answers with counts: `version` = messages received, `applied` = batches.
struct Mock;

#[tonic::async_trait]
impl InventoryService for Mock {
    async fn replace_node_stock(
        &self,
        request: Request<Streaming<ReplaceNodeStockRequest>>,
    ) -> Result<Response<ReplaceNodeStockResponse>, Status> {
        let mut stream = request.into_inner();
        let (mut node, mut messages, mut rows) = (String::new(), 0, 0);
        while let Some(msg) = stream.next().await {
            let msg = msg?;
            if messages == 0 {
                node = msg.node.clone();
            }
            assert!(msg.rows.len() <= crate::MAX_STOCK_ROWS_PER_MESSAGE);
            messages += 1;
            rows += msg.rows.len() as u64;
        }
        if node == "BAD" {
            return Err(Status::not_found("node BAD is not in the network"));
        }
        Ok(Response::new(ReplaceNodeStockResponse {
            node,
            version: messages,
            rows,
            updated_at: None,
        }))
    }

    async fn stream_stock_deltas(
        &self,
        request: Request<Streaming<StockDeltaBatch>>,
    ) -> Result<Response<StockDeltaSummary>, Status> {
        let mut stream = request.into_inner();
        let mut summary = StockDeltaSummary::default();
        while let Some(batch) = stream.next().await {
            summary.applied += 1;
            summary.received += batch?.deltas.len() as u64;
        }
        Ok(Response::new(summary))
    }

    async fn get_sku_availability(
        &self,
        _: Request<GetSkuAvailabilityRequest>,
    ) -> Result<Response<SkuAvailability>, Status> {
        Err(Status::unimplemented("mock"))
    }

    async fn get_node_stock(
        &self,
        _: Request<GetNodeStockRequest>,
    ) -> Result<Response<NodeStock>, Status> {
        Err(Status::unimplemented("mock"))
    }

    async fn get_stock_status(
        &self,
        _: Request<GetStockStatusRequest>,
    ) -> Result<Response<StockStatus>, Status> {
        Err(Status::unimplemented("mock"))
    }
}

/// Starts the mock with a health service on a free port.
async fn start() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter.set_serving::<InventoryServiceServer<Mock>>().await;
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(health)
            .add_service(InventoryServiceServer::new(Mock))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    format!("http://{addr}")
}

fn temp_csv_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("allot-client-{}-{name}", std::process::id()))
}

fn temp_csv(name: &str, text: &str) -> std::path::PathBuf {
    let path = temp_csv_path(name);
    std::fs::File::create(&path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    path
}

#[tokio::test]
async fn health_load_and_deltas_end_to_end() {
    let client = AllotClient::connect(&start().await).await.unwrap();
    assert_eq!(client.health("").await.unwrap(), ServingStatus::Serving);
    assert_eq!(
        client.health("allot.v1.InventoryService").await.unwrap(),
        ServingStatus::Serving
    );
    let err = client.health("nope").await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::NotFound);
    client
        .wait_until_serving(std::time::Duration::from_secs(1))
        .await
        .unwrap();

    let mut stock = String::from("node,sku,on_hand\n");
    for i in 0..12_001 {
        stock.push_str(&format!("DC-A,S{i},1\n"));
    }
    stock.push_str("DC-B,S1,2\n");
    let path = temp_csv("stock.csv", &stock);
    let loaded = client.load_stock_csv(&path).await.unwrap();
    let got: Vec<(&str, u64, u64)> = loaded
        .iter()
        .map(|r| (r.node.as_str(), r.version, r.rows))
        .collect();
    assert_eq!(got, vec![("DC-A", 3, 12_001), ("DC-B", 1, 1)]);

    let path = temp_csv("bad-node.csv", "node,sku,on_hand\nDC-A,S,1\nBAD,S,1\n");
    let err = client.load_stock_csv(&path).await.unwrap_err();
    assert!(
        matches!(&err, ClientError::NodeReplace { node, replaced: 1, total: 2, .. } if node == "BAD"),
        "{err}"
    );
    assert_eq!(err.code(), tonic::Code::NotFound);

    let mut deltas = String::from("node,sku,sequence,kind,quantity\n");
    for i in 1..=25 {
        deltas.push_str(&format!("DC-A,S1,{i},adjust,1\n"));
    }
    let path = temp_csv("deltas.csv", &deltas);
    let summary = client.stream_deltas_csv(&path, 10).await.unwrap();
    assert_eq!((summary.received, summary.applied), (25, 3));
    assert!(client.stream_deltas_csv(&path, 0).await.is_err());
    for name in ["stock.csv", "bad-node.csv", "deltas.csv"] {
        let _ = std::fs::remove_file(temp_csv_path(name));
    }
}
