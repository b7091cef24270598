//! Workload forecasts through a real server: ForecastWorkload over the
//! shipped demand model, with a sales history imported from a file that
//! makes one SKU busy in one region. The busy series lands on the node an
//! Allocate of one unit chooses, staff hours follow the node's
//! productivity, a held reservation adds its units on its ship day, the
//! SKU filter forecasts a SKU in every region, and every bad field is
//! named.
#![allow(clippy::unwrap_used)] // a test may unwrap: a panic is its failure

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use allot_engine::calendar::{is_working_day, ship_date};
use allot_engine::network::WeekdaySet;
use allot_proto::v1 as pb;
use allot_proto::v1::allocation_service_client::AllocationServiceClient;
use allot_proto::v1::planning_service_client::PlanningServiceClient;
use chrono::{Days, NaiveDate};
use common::orders::{committed, line, order};
use common::sales::{history_file, network, postal_region};
use common::{TestServer, assert_field_error, test_config};
use tonic::Code;

const BUSY: &str = "SKU-000001";
const QUIET: &str = "SKU-000002";
const POSTAL: &str = "10001";

/// The code of `POSTAL`'s region.
fn region() -> String {
    postal_region(POSTAL)
}

/// A sales file: the busy SKU sold 40 a day and the quiet one nothing, in
/// the test region, on the 9 days before the region's today. Nothing else
/// sold anywhere.
fn history(dir: &Path) -> PathBuf {
    let region = region();
    history_file(dir, 9, &[(BUSY, &region, 40), (QUIET, &region, 0)])
}

fn request(nodes: Vec<String>, days: u32, skus: Vec<String>) -> pb::ForecastWorkloadRequest {
    pb::ForecastWorkloadRequest {
        nodes,
        horizon_days: days,
        skus,
    }
}

async fn workload(
    server: &TestServer,
    request: pb::ForecastWorkloadRequest,
) -> pb::WorkloadForecast {
    PlanningServiceClient::new(server.channel().await)
        .forecast_workload(request)
        .await
        .unwrap()
        .into_inner()
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

/// Every day of every node adds up: total = forecast + reserved, staff
/// hours from the node's productivity in the network file, utilisation
/// and the flags from its capacity and calendar.
fn check_arithmetic(answer: &pb::WorkloadForecast, days: usize) {
    let net = network();
    for n in &answer.nodes {
        let node = net.node(net.node_id(&n.node).unwrap());
        assert_eq!(
            n.units_per_staff_hour, node.units_per_staff_hour,
            "{}",
            n.node
        );
        assert_eq!(n.daily_capacity_units, node.daily_capacity_units);
        assert_eq!(n.days.len(), days, "{}", n.node);
        for pair in n.days.windows(2) {
            assert_eq!(date(&pair[1].date), date(&pair[0].date) + Days::new(1));
        }
        for d in &n.days {
            let total = d.forecast_units + f64::from(d.reserved_units);
            assert!((d.total_units - total).abs() < 1e-9, "{d:?}");
            let hours = d.total_units / f64::from(node.units_per_staff_hour);
            assert!((d.staff_hours - hours).abs() < 1e-9, "{d:?}");
            let utilisation = d.total_units / f64::from(node.daily_capacity_units);
            assert!((d.utilisation - utilisation).abs() < 1e-9, "{d:?}");
            assert_eq!(
                d.over_capacity,
                d.total_units > f64::from(node.daily_capacity_units)
            );
            assert_eq!(d.closed, !is_working_day(node, date(&d.date)), "{d:?}");
            if d.closed {
                assert_eq!(d.total_units, 0.0, "a closed day ships nothing: {d:?}");
            }
        }
    }
}

fn forecast_of(n: &pb::NodeWorkload) -> f64 {
    n.days.iter().map(|d| d.forecast_units).sum()
}

fn reserved_of(n: &pb::NodeWorkload) -> u32 {
    n.days.iter().map(|d| d.reserved_units).sum()
}

#[tokio::test]
async fn the_busy_region_loads_the_node_allocation_chooses_and_holds_add_on_their_ship_day() {
    let mut config = test_config();
    config.demand.history_file = Some(history(&config.decisions.dir));
    let server = TestServer::start(config).await;
    server.wait_serving().await;
    let mut allocation = AllocationServiceClient::new(server.channel().await);

    // Where Allocate ships one unit of the busy SKU to the busy region.
    let quote = allocation
        .allocate(order("route-1", vec![line("a", BUSY, 1)], POSTAL))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(quote.shipments.len(), 1, "{quote:?}");
    let chosen = quote.shipments[0].node.clone();

    // Every node, a week: only the busy series sold, and it lands on the
    // chosen node alone.
    let answer = workload(&server, request(Vec::new(), 0, Vec::new())).await;
    assert!(
        answer.model_version.starts_with("demand-"),
        "{}",
        answer.model_version
    );
    assert_eq!(answer.series_routed, 1, "{answer:?}");
    assert_eq!(answer.series_unrouted, 0);
    assert_eq!(answer.series_left_out, 0);
    assert_eq!(answer.nodes.len(), network().node_count());
    check_arithmetic(&answer, 7);
    for n in &answer.nodes {
        if n.node == chosen {
            assert!(forecast_of(n) > 1.0, "{n:?}");
        } else {
            assert_eq!(forecast_of(n), 0.0, "{} got demand: {n:?}", n.node);
        }
        assert_eq!(reserved_of(n), 0, "no holds yet: {n:?}");
    }

    // The routed units are the series' forecast: no more than the
    // demand model's week for the region (days shipping beyond the
    // horizon fall out).
    let demand = PlanningServiceClient::new(server.channel().await)
        .forecast_demand(pb::ForecastDemandRequest {
            skus: vec![BUSY.into()],
            regions: vec![region()],
            nodes: Vec::new(),
            horizon_days: 7,
            promotions: Vec::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let week: f64 = demand.series[0].days.iter().map(|d| d.mean).sum();
    let node = answer.nodes.iter().find(|n| n.node == chosen).unwrap();
    assert!(
        forecast_of(node) <= week + 1e-6,
        "{} > {week}",
        forecast_of(node)
    );

    // One node asked: the same days as in the answer for every node.
    let alone = workload(&server, request(vec![chosen.clone()], 7, Vec::new())).await;
    assert_eq!(alone.nodes.len(), 1);
    assert_eq!(alone.nodes[0], *node);

    // A hold of 5 units adds them on the chosen node's ship day.
    let held = allocation
        .allocate(committed(
            order("hold-1", vec![line("a", BUSY, 5)], POSTAL),
            "workload-hold-1",
        ))
        .await
        .unwrap()
        .into_inner();
    let reservation = held.reservation.expect("the order was held");
    assert_eq!(reservation.units.len(), 1, "{reservation:?}");
    let held_node = reservation.units[0].node.clone();
    let created = reservation.created_at.unwrap();
    let created = UNIX_EPOCH + Duration::from_secs(created.seconds as u64);
    let net = network();
    let ships = ship_date(
        net.node(net.node_id(&held_node).unwrap()),
        WeekdaySet::ALL,
        created,
    )
    .unwrap();
    let after = workload(&server, request(vec![held_node.clone()], 14, Vec::new())).await;
    check_arithmetic(&after, 14);
    let days = &after.nodes[0].days;
    for d in days {
        let expected = if date(&d.date) == ships { 5 } else { 0 };
        assert_eq!(d.reserved_units, expected, "{ships}: {d:?}");
    }

    // The filter: the quiet SKU in every region (sold or not), none of
    // the busy SKU's holds.
    let quiet = workload(&server, request(Vec::new(), 3, vec![QUIET.into()])).await;
    assert_eq!(
        (quiet.series_routed + quiet.series_unrouted) as usize,
        network().regions().len()
    );
    assert!(quiet.nodes.iter().all(|n| reserved_of(n) == 0));
    let busy = workload(&server, request(vec![held_node], 14, vec![BUSY.into()])).await;
    assert_eq!(reserved_of(&busy.nodes[0]), 5);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn bad_requests_name_the_field() {
    let server = TestServer::serving().await;
    let mut client = PlanningServiceClient::new(server.channel().await);
    let node = network().nodes()[0].code.clone();
    let too_many: Vec<String> = network().skus()[..21]
        .iter()
        .map(|s| s.code.clone())
        .collect();
    let cases: Vec<(pb::ForecastWorkloadRequest, Code, &str)> = vec![
        (
            request(Vec::new(), 15, Vec::new()),
            Code::InvalidArgument,
            "horizon_days",
        ),
        (
            request(vec!["NO-SUCH-NODE".into()], 7, Vec::new()),
            Code::NotFound,
            "nodes[0]",
        ),
        (
            request(vec![node.clone(), node.clone()], 7, Vec::new()),
            Code::InvalidArgument,
            "nodes[1]",
        ),
        (
            request(vec![String::new()], 7, Vec::new()),
            Code::InvalidArgument,
            "nodes[0]",
        ),
        (
            request(Vec::new(), 7, vec!["NO-SUCH-SKU".into()]),
            Code::NotFound,
            "skus[0]",
        ),
        (
            request(Vec::new(), 7, too_many),
            Code::InvalidArgument,
            "skus",
        ),
    ];
    for (bad, code, field) in cases {
        let status = client.forecast_workload(bad).await.unwrap_err();
        assert_field_error(&status, code, field);
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_models_directory_without_a_demand_model_says_so() {
    let models = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../models"));
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&models).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name != "demand.onnx" {
            std::os::unix::fs::symlink(entry.path(), dir.path().join(&name)).unwrap();
        }
    }
    let mut config = test_config();
    config.models.dir = Some(dir.path().to_path_buf());
    let server = TestServer::start(config).await;
    server.wait_serving().await;
    let status = PlanningServiceClient::new(server.channel().await)
        .forecast_workload(request(Vec::new(), 7, Vec::new()))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert!(
        status.message().contains("demand.onnx"),
        "{}",
        status.message()
    );
    server.stop().await.unwrap();
}
