//! The typed client round-trips stock through a real server: bulk CSV load,
//! delta CSV stream, availability query; and a client of two real replicas
//! spreads its calls over both and keeps succeeding when one stops.
#![allow(clippy::unwrap_used)] // a test may unwrap: a panic is its failure

mod common;

use std::path::Path;
use std::time::Duration;

use allot_client::proto as pb;
use allot_client::{AllotClient, ClientError, ReplicaState, ReplicaStatus};
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

/// Replaces DC-ATL's stock on `server` with `on_hand` units of SKU-000010:
/// a mark telling which replica answered a query.
async fn mark(server: &TestServer, on_hand: u64, dir: &Path) {
    let path = dir.join(format!("mark-{on_hand}.csv"));
    std::fs::write(
        &path,
        format!("node,sku,on_hand\nDC-ATL,SKU-000010,{on_hand}\n"),
    )
    .unwrap();
    let client = AllotClient::connect(&server.endpoint()).await.unwrap();
    client.load_stock_csv(&path).await.unwrap();
}

/// The mark of the replica that answers an availability query through
/// `client`.
async fn answering_mark(client: &AllotClient) -> Result<i64, ClientError> {
    let answer = client
        .inventory()
        .get_sku_availability(pb::GetSkuAvailabilityRequest {
            sku: "SKU-000010".into(),
            nodes: vec!["DC-ATL".into()],
            include_zero: true,
        })
        .await?
        .into_inner();
    Ok(answer.nodes[0].on_hand)
}

/// Waits (at most 60 s, then panics) until the replicas satisfy `done`.
async fn wait_for_replicas(client: &AllotClient, done: impl Fn(&[ReplicaStatus]) -> bool) {
    for _ in 0..3000 {
        if done(&client.replicas()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("replicas never got there: {:?}", client.replicas());
}

#[tokio::test]
async fn calls_spread_over_two_replicas_and_go_on_when_one_stops() {
    let (a, b) = (TestServer::serving().await, TestServer::serving().await);
    let dir = tempfile::tempdir().unwrap();
    mark(&a, 1, dir.path()).await;
    mark(&b, 2, dir.path()).await;
    let client = AllotClient::connect_many(&[a.endpoint(), b.endpoint()])
        .await
        .unwrap();
    wait_for_replicas(&client, |all| {
        all.iter()
            .all(|r| r.state == ReplicaState::Serving && r.in_rotation)
    })
    .await;

    // Each call picks a replica at random: 60 calls all on one would take
    // odds of 2^-59.
    let mut marks = Vec::new();
    for _ in 0..60 {
        marks.push(answering_mark(&client).await.unwrap());
    }
    let on_a = marks.iter().filter(|&&m| m == 1).count();
    let on_b = marks.iter().filter(|&&m| m == 2).count();
    assert_eq!(on_a + on_b, 60, "{marks:?}");
    assert!(on_a > 0 && on_b > 0, "{on_a} calls on a, {on_b} on b");

    // a stops (NOT_SERVING, drain): it leaves the rotation, and every call
    // after that is answered by b.
    a.stop().await.unwrap();
    wait_for_replicas(&client, |all| !all[0].in_rotation).await;
    for _ in 0..30 {
        assert_eq!(answering_mark(&client).await.unwrap(), 2);
    }
    b.stop().await.unwrap();
}
