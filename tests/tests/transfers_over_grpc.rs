//! Transfer plans through a real server: PlanTransfers over the shipped
//! demand model and the demo network's lanes and stock, with a sales
//! history that makes one store's region busy. Every transfer is checked
//! against the stock it takes, the lane it uses and the storage it fills;
//! every bad field named.
#![allow(clippy::unwrap_used)] // a test may unwrap: a panic is its failure

mod common;

use std::collections::HashMap;

use allot_engine::network::{DemoStockRow, NodeId, demo_stock};
use allot_proto::v1 as pb;
use allot_proto::v1::admin_service_client::AdminServiceClient;
use allot_proto::v1::planning_service_client::PlanningServiceClient;
use common::sales::{history_file, network};
use common::{TestServer, assert_field_error, test_config};
use tonic::Code;

const STORE: &str = "ST-NYC";
const DC: &str = "DC-ABE";

fn stock() -> Vec<DemoStockRow> {
    let net = network();
    demo_stock(&net, test_config().network.demo_seed)
}

/// A SKU the DC holds plenty of, free to move, and the store does not
/// hold at all (so the store's region can only be served by a transfer).
fn busy_sku() -> String {
    let net = network();
    let (dc, store) = (net.node_id(DC).unwrap(), net.node_id(STORE).unwrap());
    let rows = stock();
    let at = |node: NodeId, sku| rows.iter().find(|r| r.node == node && r.sku == sku);
    let sku = rows
        .iter()
        .filter(|r| r.node == dc && r.on_hand - r.reserved - r.protected >= 200)
        .map(|r| r.sku)
        .find(|&sku| at(store, sku).is_none())
        .unwrap();
    net.sku(sku).code.clone()
}

/// The region whose demand the store serves: the nearest to it.
fn store_region() -> String {
    let net = network();
    let node = net.node(net.node_id(STORE).unwrap());
    net.region(net.nearest_region(node.location)).code.clone()
}

async fn plan(
    server: &TestServer,
    request: pb::PlanTransfersRequest,
) -> Result<pb::TransferPlan, tonic::Status> {
    PlanningServiceClient::new(server.channel().await)
        .plan_transfers(request)
        .await
        .map(|r| r.into_inner())
}

/// Checks every transfer of `answer` against the network's lanes and the
/// demo stock: lanes exist and are fast enough, dispatches carry the units,
/// costs add up, no node sends more of a SKU than it may, no store fills
/// past its storage, the plan's totals add up.
fn check_plan(answer: &pb::TransferPlan, lanes: &[pb::LaneInfo], horizon: u32) {
    let net = network();
    let rows = stock();
    let mut sent: HashMap<(String, String), i64> = HashMap::new();
    let mut gained: HashMap<String, i64> = HashMap::new();
    let mut cost = 0;
    for t in &answer.transfers {
        let lane = lanes
            .iter()
            .find(|l| l.from == t.from && l.to == t.to && l.mode == t.mode)
            .unwrap_or_else(|| panic!("no lane {} -> {} by {}", t.from, t.to, t.mode));
        assert!(lane.lead_days < horizon, "{lane:?}");
        assert_eq!(t.lead_days, lane.lead_days);
        let units: u32 = t.lines.iter().map(|l| l.units).sum();
        assert_eq!(units, t.units);
        assert!(t.units > 0);
        assert!(
            t.units <= lane.capacity_units * t.dispatches,
            "{} units in {} dispatches of {}",
            t.units,
            t.dispatches,
            lane.capacity_units
        );
        assert_eq!(
            t.cost_minor,
            lane.unit_cost_minor * i64::from(t.units)
                + lane.fixed_cost_minor * i64::from(t.dispatches)
        );
        cost += t.cost_minor;
        for l in &t.lines {
            *sent.entry((t.from.clone(), l.sku.clone())).or_default() += i64::from(l.units);
            *gained.entry(t.to.clone()).or_default() += i64::from(l.units);
            *gained.entry(t.from.clone()).or_default() -= i64::from(l.units);
            assert_eq!(l.reason_code, "SHORTFALL_COVERED");
            assert!(
                l.message.contains(&t.to) && l.message.contains(&t.from),
                "{}",
                l.message
            );
            assert!(l.short_after <= l.short_before + 1e-9, "{l:?}");
            assert_eq!(
                l.value_minor,
                net.sku(net.sku_id(&l.sku).unwrap()).unit_price_minor * i64::from(l.units)
            );
        }
    }
    for ((node, sku), units) in &sent {
        let (n, s) = (net.node_id(node).unwrap(), net.sku_id(sku).unwrap());
        let free = rows
            .iter()
            .find(|r| r.node == n && r.sku == s)
            .map_or(0, |r| r.on_hand - r.reserved - r.protected);
        assert!(*units <= free, "{node} sends {units} of {sku}, {free} free");
    }
    for (node, gain) in &gained {
        let n = net.node_id(node).unwrap();
        if let Some(storage) = net.node(n).storage_units {
            let held: i64 = rows.iter().filter(|r| r.node == n).map(|r| r.on_hand).sum();
            assert!(
                held + gain <= i64::from(storage).max(held),
                "{node} holds {held} + {gain}, storage {storage}"
            );
        }
    }
    assert_eq!(answer.transfer_cost_minor, cost);
    assert_eq!(
        answer.saving_minor,
        (answer.shortfall_cost_before_minor - answer.shortfall_cost_after_minor - cost).max(0)
    );
}

#[tokio::test]
async fn a_busy_store_gets_stock_from_a_dc_and_every_transfer_fits_its_lane() {
    let sku = busy_sku();
    let mut config = test_config();
    config.demand.history_file = Some(history_file(
        &config.decisions.dir,
        9,
        &[(&sku, &store_region(), 40)],
    ));
    let server = TestServer::start(config).await;
    server.wait_serving().await;
    let lanes = AdminServiceClient::new(server.channel().await)
        .get_network(pb::GetNetworkRequest {
            include_skus: false,
        })
        .await
        .unwrap()
        .into_inner()
        .lanes;
    assert!(!lanes.is_empty());

    let answer = plan(
        &server,
        pb::PlanTransfersRequest {
            skus: vec![sku.clone()],
            nodes: Vec::new(),
            horizon_days: 14,
        },
    )
    .await
    .unwrap();
    assert_eq!(answer.status, pb::TransferPlanStatus::Optimal as i32);
    assert!(
        answer.model_version.starts_with("demand-"),
        "{}",
        answer.model_version
    );
    assert_eq!(answer.horizon_days, 14);
    check_plan(&answer, &lanes, 14);
    // The store, which holds none of a SKU its region buys 40 a day of,
    // receives some, and its expected shortfall falls.
    let to_store: Vec<&pb::TransferLine> = answer
        .transfers
        .iter()
        .filter(|t| t.to == STORE)
        .flat_map(|t| &t.lines)
        .filter(|l| l.sku == sku)
        .collect();
    assert_eq!(to_store.len(), 1, "{answer:?}");
    let line = to_store[0];
    assert_eq!(line.stock_before, 0);
    assert_eq!(line.stock_after, line.units);
    assert!(line.demand > 100.0, "{line:?}");
    assert!(line.short_after < line.short_before, "{line:?}");
    assert!(answer.saving_minor > 0);
    assert!(answer.shortfall_cost_after_minor < answer.shortfall_cost_before_minor);

    // Only the nodes asked take part.
    let pair = plan(
        &server,
        pb::PlanTransfersRequest {
            skus: vec![sku.clone()],
            nodes: vec![DC.into(), STORE.into()],
            horizon_days: 14,
        },
    )
    .await
    .unwrap();
    check_plan(&pair, &lanes, 14);
    assert!(!pair.transfers.is_empty());
    for t in &pair.transfers {
        assert_eq!((t.from.as_str(), t.to.as_str()), (DC, STORE));
    }

    // A horizon no lane is fast enough for moves nothing.
    let none = plan(
        &server,
        pb::PlanTransfersRequest {
            skus: vec![sku.clone()],
            nodes: Vec::new(),
            horizon_days: 1,
        },
    )
    .await
    .unwrap();
    assert!(none.transfers.is_empty());
    assert_eq!(none.lanes_considered, 0);
    assert_eq!(
        none.shortfall_cost_after_minor,
        none.shortfall_cost_before_minor
    );
}

#[tokio::test]
async fn bad_requests_name_their_field() {
    let server = TestServer::start(test_config()).await;
    server.wait_serving().await;
    let ok = || pb::PlanTransfersRequest {
        skus: vec!["SKU-000001".into()],
        nodes: Vec::new(),
        horizon_days: 7,
    };
    let cases: Vec<(pb::PlanTransfersRequest, Code, &str)> = vec![
        (
            pb::PlanTransfersRequest {
                skus: Vec::new(),
                ..ok()
            },
            Code::InvalidArgument,
            "skus",
        ),
        (
            pb::PlanTransfersRequest {
                skus: (1..=201).map(|i| format!("SKU-{i:06}")).collect(),
                ..ok()
            },
            Code::InvalidArgument,
            "skus",
        ),
        (
            pb::PlanTransfersRequest {
                skus: vec!["SKU-000001".into(), "SKU-000001".into()],
                ..ok()
            },
            Code::InvalidArgument,
            "skus[1]",
        ),
        (
            pb::PlanTransfersRequest {
                skus: vec!["SKU-999999".into()],
                ..ok()
            },
            Code::NotFound,
            "skus[0]",
        ),
        (
            pb::PlanTransfersRequest {
                nodes: vec!["DC-NOWHERE".into()],
                ..ok()
            },
            Code::NotFound,
            "nodes[0]",
        ),
        (
            pb::PlanTransfersRequest {
                horizon_days: 29,
                ..ok()
            },
            Code::InvalidArgument,
            "horizon_days",
        ),
    ];
    for (request, code, field) in cases {
        let status = plan(&server, request).await.unwrap_err();
        assert_field_error(&status, code, field);
    }
    // The server still plans after the bad requests.
    assert!(plan(&server, ok()).await.is_ok());
}
