//! Protected stock priced from the demand forecast through a real server:
//! two stores hold a SKU only as protected stock, one in a region that
//! sells it briskly, one where it does not sell; each unit is priced at the
//! lost sale it is expected to cause at its store before replenishment,
//! the decision records the prices and says so, and replays identically;
//! a promise of the same cart prices and records them the same way.
//! Without forecast pricing the flat penalty applies.
#![allow(clippy::unwrap_used)] // a test may unwrap: a panic is its failure

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use allot_engine::network::{Network, NodeKind};
use allot_proto::v1 as pb;
use allot_proto::v1::allocation_service_client::AllocationServiceClient;
use allot_proto::v1::decision_service_client::DecisionServiceClient;
use allot_proto::v1::promise_service_client::PromiseServiceClient;
use chrono::{Days, Utc};
use common::orders::{line, order};
use common::{TestServer, test_config};

const SKU: &str = "SKU-000001";
/// Protected units each store holds (and all it holds).
const PROTECTED: u32 = 4;

/// Two stores in different regions: (busy store, its region), (quiet
/// store, its region).
fn stores(net: &Network) -> ((String, String), (String, String)) {
    let mut seen: Vec<(String, String)> = Vec::new();
    for node in net.nodes().iter().filter(|n| n.kind == NodeKind::Store) {
        let region = net.region(net.nearest_region(node.location)).code.clone();
        if seen.iter().all(|(_, r)| *r != region) {
            seen.push((node.code.clone(), region));
        }
        if seen.len() == 2 {
            break;
        }
    }
    (seen[0].clone(), seen[1].clone())
}

/// Stock: the SKU only at the two stores, all of it protected.
fn stock_file(dir: &Path, busy: &str, quiet: &str) -> PathBuf {
    let path = dir.join("stock.csv");
    let n = PROTECTED;
    std::fs::write(
        &path,
        format!(
            "node,sku,on_hand,reserved,protected\n{busy},{SKU},{n},0,{n}\n{quiet},{SKU},{n},0,{n}\n"
        ),
    )
    .unwrap();
    path
}

/// Sales: 30 a day in the busy store's region, none in the quiet one's, on
/// the 10 days before today (UTC).
fn history_file(dir: &Path, busy_region: &str, quiet_region: &str) -> PathBuf {
    let path = dir.join("sales.csv");
    let today = Utc::now().date_naive();
    let mut csv = String::from("sku,region,date,units\n");
    for back in 1..=10u64 {
        let day = today - Days::new(back);
        csv.push_str(&format!(
            "{SKU},{busy_region},{day},30\n{SKU},{quiet_region},{day},0\n"
        ));
    }
    std::fs::write(&path, csv).unwrap();
    path
}

/// The decision record of `id`, once written.
async fn record(server: &TestServer, id: &str) -> pb::DecisionRecord {
    let mut client = DecisionServiceClient::new(server.channel().await);
    for _ in 0..200 {
        if let Ok(r) = client
            .explain_decision(pb::ExplainDecisionRequest {
                decision_id: id.into(),
            })
            .await
        {
            return r.into_inner();
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("decision {id} was never recorded");
}

async fn server(price_protection: bool) -> (TestServer, (String, String), (String, String)) {
    let net = Network::demo(test_config().network.demo_seed);
    let (busy, quiet) = stores(&net);
    let mut config = test_config();
    config.stock.file = Some(stock_file(&config.decisions.dir, &busy.0, &quiet.0));
    config.demand.history_file = Some(history_file(&config.decisions.dir, &busy.1, &quiet.1));
    config.demand.price_protection = price_protection;
    let server = TestServer::start(config).await;
    server.wait_serving().await;
    (server, busy, quiet)
}

#[tokio::test]
async fn protected_units_cost_the_sale_they_are_expected_to_lose_at_their_store() {
    let (server, busy, quiet) = server(true).await;
    let answer = AllocationServiceClient::new(server.channel().await)
        .allocate(order("protect-1", vec![line("a", SKU, 2)], "10001"))
        .await
        .unwrap()
        .into_inner();
    let decided = record(&server, &answer.decision_id).await;

    // Both stores' rows carry the forecast's price; the busy store's own
    // demand is far likelier to need its protected units.
    let priced = |node: &str| {
        decided
            .stock_read
            .iter()
            .find(|r| r.node == node && r.sku == SKU)
            .and_then(|r| r.protection)
            .unwrap_or_else(|| panic!("no forecast price recorded for {node}"))
    };
    let (b, q) = (priced(&busy.0), priced(&quiet.0));
    assert!(
        b.expected_demand > q.expected_demand + 5.0,
        "{b:?} vs {q:?}"
    );
    assert!(b.stockout_probability > 0.9, "{b:?}");
    assert!(
        q.stockout_probability < b.stockout_probability,
        "{q:?} vs {b:?}"
    );
    assert!(b.per_unit_minor > q.per_unit_minor, "{b:?} vs {q:?}");
    assert!(b.lead_days >= 1 && q.lead_days >= 1);

    // The plan pays the recorded price of the store it uses, and says why.
    let first_line = &answer.lines[0];
    let mut paid = 0;
    for a in &first_line.assignments {
        let price = priced(&a.node);
        assert_eq!(
            a.protected_quantity, a.quantity,
            "only protected stock exists"
        );
        paid += price.per_unit_minor * i64::from(a.quantity);
        let reason = first_line
            .reasons
            .iter()
            .find(|r| r.code == pb::ReasonCode::ProtectedStockUsed as i32 && r.node == a.node)
            .unwrap();
        assert_eq!(
            reason.cost_delta_minor,
            price.per_unit_minor * i64::from(a.quantity)
        );
        assert!(
            reason.message.contains("expected lost sale"),
            "{}",
            reason.message
        );
    }
    assert!(paid > 0 || q.per_unit_minor == 0);
    let objective = answer.objective.unwrap();
    assert_eq!(objective.protection_penalty_minor, paid);

    // The replay prices from the record: identical.
    let replay = DecisionServiceClient::new(server.channel().await)
        .replay_decision(pb::ReplayDecisionRequest {
            decision_id: answer.decision_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(replay.identical, "{:?}", replay.differences);

    // A promise of the same cart prices protected units the same way: its
    // record carries the forecast's prices, its ground option ships from
    // where the allocation did, and it replays identically.
    let request = order("protect-1", vec![line("a", SKU, 2)], "10001");
    let promise = PromiseServiceClient::new(server.channel().await)
        .get_delivery_promise(pb::PromiseRequest {
            lines: request.lines.clone(),
            destination: request.destination.clone(),
            service_levels: vec![pb::ServiceLevel::Ground as i32],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let promised = record(&server, &promise.decision_id).await;
    for node in [&busy.0, &quiet.0] {
        let row = promised
            .stock_read
            .iter()
            .find(|r| r.node == *node && r.sku == SKU)
            .and_then(|r| r.protection)
            .unwrap_or_else(|| panic!("no forecast price recorded for {node} by the promise"));
        assert_eq!(row.stockout_probability, priced(node).stockout_probability);
    }
    let mut from: Vec<&str> = promise.options[0]
        .ship_from
        .iter()
        .map(|s| s.node.as_str())
        .collect();
    from.sort();
    let mut allocated: Vec<&str> = first_line
        .assignments
        .iter()
        .map(|a| a.node.as_str())
        .collect();
    allocated.sort();
    assert_eq!(from, allocated);
    let replay = DecisionServiceClient::new(server.channel().await)
        .replay_decision(pb::ReplayDecisionRequest {
            decision_id: promise.decision_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(replay.identical, "{:?}", replay.differences);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn without_forecast_pricing_the_flat_penalty_applies() {
    let (server, _, _) = server(false).await;
    let answer = AllocationServiceClient::new(server.channel().await)
        .allocate(order("protect-2", vec![line("a", SKU, 2)], "10001"))
        .await
        .unwrap()
        .into_inner();
    let record = record(&server, &answer.decision_id).await;
    assert!(record.stock_read.iter().all(|r| r.protection.is_none()));
    let flat = test_config().allocation.costs.protect_penalty;
    let shipped: u32 = answer.lines[0].assignments.iter().map(|a| a.quantity).sum();
    assert_eq!(shipped, 2);
    assert_eq!(
        answer.objective.unwrap().protection_penalty_minor,
        flat * i64::from(shipped)
    );
    let reason = answer.lines[0]
        .reasons
        .iter()
        .find(|r| r.code == pb::ReasonCode::ProtectedStockUsed as i32)
        .unwrap();
    assert!(reason.message.contains("flat"), "{}", reason.message);
    server.stop().await.unwrap();
}
