//! The typed client round-trips stock through a real server: bulk CSV load,
//! delta CSV stream, availability query.
#![allow(clippy::unwrap_used)] // a test may unwrap: a panic is its failure

mod common;

use std::time::Duration;

use allot_client::AllotClient;
use allot_client::proto as pb;
use common::{TestServer, test_config};

#[tokio::test]
async fn csv_load_then_deltas_then_availability() {
    let mut config = test_config();
    config.stock.demo = false;
    let server = TestServer::start(config).await;
    let client = AllotClient::connect(&server.endpoint()).await.unwrap();
    client
        .wait_until_serving(Duration::from_secs(60))
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let stock = dir.path().join("stock.csv");
    std::fs::write(
        &stock,
        "node,sku,on_hand,reserved,protected\n\
         DC-ATL,SKU-000010,40,5,0\n\
         ST-NYC,SKU-000010,3,0,2\n\
         DC-ATL,SKU-000011,7,,\n",
    )
    .unwrap();
    let replaced = client.load_stock_csv(&stock).await.unwrap();
    let nodes: Vec<_> = replaced.iter().map(|r| (r.node.as_str(), r.rows)).collect();
    assert_eq!(nodes, [("DC-ATL", 2), ("ST-NYC", 1)]);

    let deltas = dir.path().join("deltas.csv");
    std::fs::write(
        &deltas,
        "node,sku,sequence,kind,quantity,protected\n\
         DC-ATL,SKU-000010,1,adjust,-10,\n\
         DC-ATL,SKU-000010,1,adjust,-10,\n\
         ST-NYC,SKU-000010,1,set,9,1\n\
         ST-NYC,NOPE,2,set,1,\n",
    )
    .unwrap();
    let summary = client.stream_deltas_csv(&deltas, 2).await.unwrap();
    assert_eq!(
        (
            summary.received,
            summary.applied,
            summary.duplicates,
            summary.quarantined
        ),
        (4, 2, 1, 1)
    );

    let answer = client
        .inventory()
        .get_sku_availability(pb::GetSkuAvailabilityRequest {
            sku: "SKU-000010".into(),
            nodes: vec![],
            include_zero: false,
        })
        .await
        .unwrap()
        .into_inner();
    let levels: Vec<_> = answer
        .nodes
        .iter()
        .map(|n| {
            (
                n.node.as_str(),
                n.on_hand,
                n.reserved,
                n.protected,
                n.available,
            )
        })
        .collect();
    assert_eq!(levels, [("DC-ATL", 30, 5, 0, 25), ("ST-NYC", 9, 0, 1, 9)]);
    assert_eq!(answer.total_available, 34);

    // A malformed CSV is refused by the client before anything is sent.
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "node,sku,on_hand\nDC-ATL,SKU-000010,lots\n").unwrap();
    let error = client.load_stock_csv(&bad).await.unwrap_err().to_string();
    assert!(error.contains("bad.csv:2"), "{error}");
    server.stop().await.unwrap();
}
