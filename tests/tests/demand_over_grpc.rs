//! Demand forecasts through a real server: ForecastDemand over the shipped
//! demand model, with a sales history imported from a file, learned from
//! Allocate (each order once) and rebuilt from the decision log after a
//! restart; every bad field named.
#![allow(clippy::unwrap_used)] // a test may unwrap: a panic is its failure

mod common;

use std::path::{Path, PathBuf};

use allot_proto::v1 as pb;
use allot_proto::v1::allocation_service_client::AllocationServiceClient;
use allot_proto::v1::planning_service_client::PlanningServiceClient;
use chrono::Days;
use common::orders::{line, order};
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

/// A sales file: the busy SKU sold 20 a day and the quiet one nothing, in
/// the test region, on the 9 days before the region's today.
fn history(dir: &Path) -> PathBuf {
    let region = region();
    history_file(dir, 9, &[(BUSY, &region, 20), (QUIET, &region, 0)])
}

fn request(days: u32) -> pb::ForecastDemandRequest {
    pb::ForecastDemandRequest {
        skus: vec![BUSY.into(), QUIET.into()],
        regions: vec![region()],
        nodes: vec![network().nodes()[0].code.clone()],
        horizon_days: days,
        promotions: Vec::new(),
    }
}

async fn forecast(server: &TestServer, request: pb::ForecastDemandRequest) -> pb::DemandForecast {
    PlanningServiceClient::new(server.channel().await)
        .forecast_demand(request)
        .await
        .unwrap()
        .into_inner()
}

/// Units the busy SKU was ordered today in the test region, as the
/// forecast reports them.
async fn ordered_today(server: &TestServer) -> u32 {
    let answer = forecast(server, request(1)).await;
    answer.series[0].ordered_today
}

async fn allocate(server: &TestServer, id: &str, quantity: u32) {
    AllocationServiceClient::new(server.channel().await)
        .allocate(order(id, vec![line("a", BUSY, quantity)], POSTAL))
        .await
        .unwrap();
}

#[tokio::test]
async fn forecasts_follow_the_history_and_count_each_order_once_across_a_restart() {
    let mut config = test_config();
    config.demand.history_file = Some(history(&config.decisions.dir));
    let server = TestServer::start(config).await;
    server.wait_serving().await;

    let answer = forecast(&server, request(28)).await;
    assert!(
        answer.model_version.starts_with("demand-"),
        "{}",
        answer.model_version
    );
    assert!(answer.dispersion_size > 0.0);
    // SKUs outermost, then the region, then the node (as its region).
    let places: Vec<(&str, &str)> = answer
        .series
        .iter()
        .map(|s| (s.sku.as_str(), s.node.as_str()))
        .collect();
    let node = network().nodes()[0].code.clone();
    assert_eq!(
        places,
        vec![
            (BUSY, ""),
            (BUSY, node.as_str()),
            (QUIET, ""),
            (QUIET, node.as_str())
        ]
    );
    for s in &answer.series {
        assert_eq!(s.days.len(), 28, "{}", s.sku);
        assert_eq!(s.history.len(), 7);
        for pair in s.days.windows(2) {
            let a = chrono::NaiveDate::parse_from_str(&pair[0].date, "%Y-%m-%d").unwrap();
            let b = chrono::NaiveDate::parse_from_str(&pair[1].date, "%Y-%m-%d").unwrap();
            assert_eq!(b, a + Days::new(1));
        }
        for d in &s.days {
            assert!(d.mean >= 0.0 && d.q10 <= d.q50 && d.q50 <= d.q90, "{d:?}");
        }
    }
    // The imported history is what the model read, and it moves the
    // forecast: the busy SKU is forecast far above the quiet one.
    let busy = &answer.series[0];
    let quiet = &answer.series[2];
    assert_eq!(busy.region, region());
    assert!(
        busy.history.iter().all(|d| d.known && d.units == 20),
        "{:?}",
        busy.history
    );
    assert!(quiet.history.iter().all(|d| d.known && d.units == 0));
    let week = |s: &pb::DemandSeries| s.days[..7].iter().map(|d| d.mean).sum::<f64>();
    assert!(
        week(busy) > 3.0 * week(quiet) + 1.0,
        "{} vs {}",
        week(busy),
        week(quiet)
    );

    // Orders count on the destination region's day, each order once.
    let before = ordered_today(&server).await;
    allocate(&server, "demand-1", 3).await;
    allocate(&server, "demand-2", 2).await;
    allocate(&server, "demand-1", 3).await; // the same order again
    assert_eq!(ordered_today(&server).await, before + 5);

    // A restart rebuilds the count from the decision log.
    let server = server.restart().await;
    assert_eq!(ordered_today(&server).await, before + 5);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn without_history_the_days_are_unknown_not_zero() {
    let server = TestServer::serving().await;
    let answer = forecast(&server, request(3)).await;
    assert!(answer.series[0].history.iter().all(|d| !d.known));
    // A promotion raises its days' forecast (the same lags otherwise).
    let mut promoted = request(3);
    let today =
        chrono::NaiveDate::parse_from_str(&answer.series[0].days[0].date, "%Y-%m-%d").unwrap();
    promoted.promotions.push(pb::Promotion {
        category: network()
            .sku(network().sku_id(BUSY).unwrap())
            .category
            .clone(),
        first_day: (today + Days::new(1)).to_string(),
        last_day: (today + Days::new(2)).to_string(),
        discount: 0.4,
    });
    let with_promotion = forecast(&server, promoted).await;
    let (plain, promo) = (&answer.series[0].days, &with_promotion.series[0].days);
    // Day 0 is as without it (the calendar's Cyber Week discount aside).
    assert_eq!(promo[0].promotion, plain[0].promotion);
    assert_eq!(promo[0].mean, plain[0].mean);
    assert!(promo[1].promotion && promo[2].promotion);
    assert!(
        promo[1].mean > plain[1].mean,
        "{} vs {}",
        promo[1].mean,
        plain[1].mean
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn bad_requests_name_the_field() {
    let server = TestServer::serving().await;
    let mut client = PlanningServiceClient::new(server.channel().await);
    let cases: Vec<(pb::ForecastDemandRequest, Code, &str)> = vec![
        (
            pb::ForecastDemandRequest {
                skus: vec![],
                ..request(7)
            },
            Code::InvalidArgument,
            "skus",
        ),
        (
            pb::ForecastDemandRequest {
                regions: vec![],
                nodes: vec![],
                ..request(7)
            },
            Code::InvalidArgument,
            "regions",
        ),
        (request(29), Code::InvalidArgument, "horizon_days"),
        (
            pb::ForecastDemandRequest {
                skus: vec!["NO-SUCH-SKU".into()],
                ..request(7)
            },
            Code::NotFound,
            "skus[0]",
        ),
        (
            pb::ForecastDemandRequest {
                nodes: vec!["NO-SUCH-NODE".into()],
                ..request(7)
            },
            Code::NotFound,
            "nodes[0]",
        ),
        (
            pb::ForecastDemandRequest {
                skus: vec![BUSY.into(), BUSY.into()],
                ..request(7)
            },
            Code::InvalidArgument,
            "skus[1]",
        ),
        (
            pb::ForecastDemandRequest {
                promotions: vec![pb::Promotion {
                    category: "toys".into(),
                    first_day: "2026-12-01".into(),
                    last_day: "2026-12-02".into(),
                    discount: 1.5,
                }],
                ..request(7)
            },
            Code::InvalidArgument,
            "promotions[0].discount",
        ),
        (
            pb::ForecastDemandRequest {
                promotions: vec![pb::Promotion {
                    category: "toys".into(),
                    first_day: "2026-12-05".into(),
                    last_day: "2026-12-02".into(),
                    discount: 0.2,
                }],
                ..request(7)
            },
            Code::InvalidArgument,
            "promotions[0].last_day",
        ),
    ];
    for (bad, code, field) in cases {
        let status = client.forecast_demand(bad).await.unwrap_err();
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
        .forecast_demand(request(7))
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
