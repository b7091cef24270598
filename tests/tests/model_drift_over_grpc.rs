//! Drift through a real server: GetModelDrift and the Prometheus gauges
//! move when the fraud model is fed a population unlike its training data.
//! Its own test binary: the gauges are process-wide.
#![allow(clippy::unwrap_used)] // a test may unwrap: a panic is its failure

mod common;

use std::time::Duration;

use allot_proto::v1 as pb;
use allot_proto::v1::admin_service_client::AdminServiceClient;
use allot_proto::v1::allocation_service_client::AllocationServiceClient;
use allot_proto::v1::risk_service_client::RiskServiceClient;
use common::orders::{line, order, score_request};
use common::{TestServer, test_config};

/// A known customer's order `id` of three units at $20,000 each.
fn expensive(id: &str, customer: &str) -> pb::ScoreOrderRequest {
    let mut request = score_request(id, vec![line("a", "SKU-000001", 3)], "10001");
    request.lines[0].unit_price_minor = Some(2_000_000);
    request.context = Some(pb::OrderContext {
        customer_id: customer.into(),
        account_created_at: Some(prost_types::Timestamp {
            seconds: 1_600_000_000,
            nanos: 0,
        }),
        ..Default::default()
    });
    request
}

/// The Prometheus text of this process's metrics (installed once).
fn metrics() -> &'static metrics_exporter_prometheus::PrometheusHandle {
    static HANDLE: std::sync::OnceLock<metrics_exporter_prometheus::PrometheusHandle> =
        std::sync::OnceLock::new();
    HANDLE.get_or_init(|| {
        metrics_exporter_prometheus::PrometheusBuilder::new()
            .install_recorder()
            .unwrap()
    })
}

/// The value of the drift gauge of the live fraud model's `column`, when
/// exported.
fn drift_gauge(text: &str, column: &str) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with("allot_model_drift_psi{"))
        .filter(|l| l.contains(&format!("column=\"{column}\"")) && l.contains("role=\"live\""))
        .filter(|l| l.contains("model=\"fraud\""))
        .find_map(|l| l.rsplit(' ').next()?.parse().ok())
}

#[tokio::test]
async fn drift_moves_with_a_shifted_population_in_the_answer_and_the_gauges() {
    let handle = metrics();
    let mut config = test_config();
    config.models.drift_window = 300;
    config.models.drift_min_rows = 100;
    config.models.drift_interval_s = 1;
    let server = TestServer::start(config).await;
    server.wait_serving().await;
    let mut admin = AdminServiceClient::new(server.channel().await);
    let mut risk = RiskServiceClient::new(server.channel().await);
    let report = admin
        .get_model_drift(pb::GetModelDriftRequest {})
        .await
        .unwrap()
        .into_inner();
    let fraud = report
        .models
        .iter()
        .find(|m| m.kind == pb::ModelKind::Fraud as i32)
        .unwrap();
    assert_eq!(fraud.rows, 0);
    assert!(!fraud.enough_rows && !fraud.alert);
    let names: Vec<&str> = fraud.columns.iter().map(|c| c.name.as_str()).collect();
    assert!(names.contains(&"order_amount"), "{names:?}");
    assert!(
        fraud.columns.iter().any(|c| c.output),
        "outputs are watched too: {names:?}"
    );

    // A population unlike the training one: every order worth $60,000.
    for i in 0..300 {
        risk.score_order(expensive(&format!("o-drift-{i}"), &format!("c-drift-{i}")))
            .await
            .unwrap();
    }
    let report = admin
        .get_model_drift(pb::GetModelDriftRequest {})
        .await
        .unwrap()
        .into_inner();
    let fraud = report
        .models
        .iter()
        .find(|m| m.kind == pb::ModelKind::Fraud as i32 && m.role == pb::ModelRole::Live as i32)
        .unwrap();
    assert_eq!(fraud.rows, 300);
    assert!(fraud.enough_rows);
    assert!(fraud.alert, "{fraud:?}");
    let amount = fraud
        .columns
        .iter()
        .find(|c| c.name == "order_amount")
        .unwrap();
    assert!(amount.psi >= 0.25, "{amount:?}");
    assert_eq!(amount.band, pb::DriftBand::Significant as i32);
    assert!(fraud.max_psi >= amount.psi);

    // The gauge follows within a few publishing intervals.
    let mut gauge = None;
    for _ in 0..200 {
        gauge = drift_gauge(&handle.render(), "order_amount");
        if gauge.is_some_and(|g| g >= 0.25) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(gauge.is_some_and(|g| g >= 0.25), "gauge {gauge:?}");

    // The ETA model watches the lanes allocations ship on.
    let mut allocation = AllocationServiceClient::new(server.channel().await);
    for i in 0..5 {
        allocation
            .allocate(order(
                &format!("o-lane-{i}"),
                vec![line("a", "SKU-000001", 1)],
                "30301",
            ))
            .await
            .unwrap();
    }
    let report = admin
        .get_model_drift(pb::GetModelDriftRequest {})
        .await
        .unwrap()
        .into_inner();
    let eta = report
        .models
        .iter()
        .find(|m| m.kind == pb::ModelKind::Eta as i32)
        .unwrap();
    assert_eq!(eta.rows, 5, "one shipment each: {eta:?}");
    assert!(eta.columns.iter().any(|c| c.name == "q90" && c.output));
    server.stop().await.unwrap();
}
