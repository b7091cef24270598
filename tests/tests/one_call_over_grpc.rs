//! The one call for the OMS through a real server with the shipped fraud and
//! ETA models: fraud holds, review policy, delivery windows and the ETA
//! lateness term, and decisions replayed identically after the stock moved
//! and after a restart.
#![allow(clippy::unwrap_used)] // a test may unwrap: a panic is its failure

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use allot_proto::v1 as pb;
use allot_proto::v1::allocation_service_client::AllocationServiceClient;
use allot_proto::v1::decision_service_client::DecisionServiceClient;
use allot_proto::v1::inventory_service_client::InventoryServiceClient;
use allot_proto::v1::risk_service_client::RiskServiceClient;
use allot_server::config::ReviewPolicy;
use common::orders::line;
use common::{TestServer, test_config};
use tonic::Code;
use tonic::transport::Channel;

fn timestamp(at: SystemTime) -> prost_types::Timestamp {
    let d = at.duration_since(UNIX_EPOCH).unwrap();
    prost_types::Timestamp {
        seconds: d.as_secs() as i64,
        nanos: 0,
    }
}

fn context(customer: &str) -> pb::OrderContext {
    pb::OrderContext {
        customer_id: customer.into(),
        email: format!("{customer}@example.com"),
        card_fingerprint: format!("card-{customer}"),
        device_id: format!("dev-{customer}"),
        account_created_at: Some(prost_types::Timestamp {
            seconds: 1_700_000_000,
            nanos: 0,
        }),
        ..Default::default()
    }
}

/// A two-line order to New York, committed under `key` when given.
fn order(id: &str, customer: Option<&str>, key: Option<&str>) -> pb::AllocateRequest {
    pb::AllocateRequest {
        order_id: id.into(),
        lines: vec![line("a", "SKU-000001", 1), line("b", "SKU-000002", 2)],
        destination: Some(pb::Destination {
            location: Some(pb::destination::Location::PostalCode("10001".into())),
            country_code: "US".into(),
            address_line1: Some("1 Main Street".into()),
            ..Default::default()
        }),
        service_level: pb::ServiceLevel::Ground as i32,
        promised_by: None,
        options: Some(pb::AllocationOptions {
            allow_backorder: true,
            commit: key.is_some(),
            idempotency_key: key.unwrap_or_default().into(),
            ..Default::default()
        }),
        context: customer.map(context),
    }
}

/// Available units of every (SKU, node) the answer assigns.
async fn assigned_availability(
    inventory: &mut InventoryServiceClient<Channel>,
    answer: &pb::AllocateResponse,
) -> Vec<(String, String, i64)> {
    let mut out = Vec::new();
    for l in &answer.lines {
        for a in &l.assignments {
            let level = inventory
                .get_sku_availability(pb::GetSkuAvailabilityRequest {
                    sku: l.sku.clone(),
                    nodes: vec![a.node.clone()],
                    include_zero: true,
                })
                .await
                .unwrap()
                .into_inner()
                .nodes
                .remove(0);
            out.push((l.sku.clone(), a.node.clone(), level.available));
        }
    }
    assert!(!out.is_empty(), "the answer assigns something");
    out
}

/// The record of `id`, once the decision log has committed it.
async fn explained(client: &mut DecisionServiceClient<Channel>, id: &str) -> pb::DecisionRecord {
    for _ in 0..200 {
        match client
            .explain_decision(pb::ExplainDecisionRequest {
                decision_id: id.into(),
            })
            .await
        {
            Ok(record) => return record.into_inner(),
            Err(status) if status.code() == Code::NotFound => {
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            Err(status) => panic!("explain {id}: {status}"),
        }
    }
    panic!("decision {id} was never recorded");
}

async fn replayed(
    client: &mut DecisionServiceClient<Channel>,
    id: &str,
) -> pb::ReplayDecisionResponse {
    client
        .replay_decision(pb::ReplayDecisionRequest {
            decision_id: id.into(),
        })
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test]
async fn a_rejected_order_is_held_and_reserves_nothing() {
    let mut config = test_config();
    config.models.risk.block_customers = vec!["c-fraud".into()];
    let server = TestServer::start(config).await;
    server.wait_serving().await;
    let mut allocation = AllocationServiceClient::new(server.channel().await);
    let mut inventory = InventoryServiceClient::new(server.channel().await);

    let quote = allocation
        .allocate(order("o-quote", None, None))
        .await
        .unwrap()
        .into_inner();
    let before = assigned_availability(&mut inventory, &quote).await;

    let held = allocation
        .allocate(order("o-fraud", Some("c-fraud"), Some("k-fraud")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(held.disposition, pb::OrderDisposition::HeldFraud as i32);
    assert!(held.reservation.is_none());
    let risk = held
        .risk
        .as_ref()
        .expect("scored: the request has a context");
    assert_eq!(risk.decision, pb::RiskDecision::Reject as i32);
    assert_eq!(risk.decision_id, held.decision_id);
    assert!(
        risk.reasons
            .iter()
            .any(|r| r.code == pb::ReasonCode::BlockList as i32)
    );
    // The plan is there for information: the same as the quote's.
    assert_eq!(held.lines, quote.lines);
    assert_eq!(held.objective, quote.objective);
    assert_eq!(
        assigned_availability(&mut inventory, &quote).await,
        before,
        "a held order takes no stock"
    );

    // An idempotent retry answers the same bytes and still holds nothing.
    let again = allocation
        .allocate(order("o-fraud", Some("c-fraud"), Some("k-fraud")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again, held);
    assert_eq!(assigned_availability(&mut inventory, &quote).await, before);

    // Without a context the order is not scored.
    assert!(quote.risk.is_none());
    assert_eq!(quote.disposition, pb::OrderDisposition::Allocated as i32);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn review_reserves_or_holds_as_configured() {
    for policy in [ReviewPolicy::Reserve, ReviewPolicy::Hold] {
        let mut config = test_config();
        // Every order is above the amount limit: REVIEW at least.
        config.models.risk.max_amount_minor = Some(1);
        config.allocation.review = policy;
        let server = TestServer::start(config).await;
        server.wait_serving().await;
        let mut allocation = AllocationServiceClient::new(server.channel().await);
        let mut inventory = InventoryServiceClient::new(server.channel().await);
        let quote = allocation
            .allocate(order("o-quote", None, None))
            .await
            .unwrap()
            .into_inner();
        let before = assigned_availability(&mut inventory, &quote).await;

        let answer = allocation
            .allocate(order("o-review", Some("c-ordinary"), Some("k-review")))
            .await
            .unwrap()
            .into_inner();
        let risk = answer.risk.as_ref().unwrap();
        assert_eq!(risk.decision, pb::RiskDecision::Review as i32, "{policy:?}");
        assert!(
            risk.reasons
                .iter()
                .any(|r| r.code == pb::ReasonCode::AmountLimit as i32)
        );
        assert_eq!(
            answer.disposition,
            pb::OrderDisposition::HeldReview as i32,
            "{policy:?}"
        );
        let after = assigned_availability(&mut inventory, &quote).await;
        match policy {
            ReviewPolicy::Reserve => {
                let reservation = answer.reservation.as_ref().expect("reserved for review");
                assert_eq!(reservation.decision_id, answer.decision_id);
                let held: i64 = reservation
                    .units
                    .iter()
                    .map(|u| i64::from(u.quantity))
                    .sum();
                let taken: i64 = before.iter().zip(&after).map(|(b, a)| b.2 - a.2).sum();
                assert_eq!(taken, held);
            }
            ReviewPolicy::Hold => {
                assert!(answer.reservation.is_none());
                assert_eq!(after, before);
            }
        }
        server.stop().await.unwrap();
    }
}

#[tokio::test]
async fn shipments_carry_windows_and_lateness_moves_with_the_promise() {
    let server = TestServer::serving().await;
    let mut allocation = AllocationServiceClient::new(server.channel().await);
    let now = SystemTime::now();
    let with_promise = |promised_by: SystemTime| {
        let mut request = order("o-eta", None, None);
        request.promised_by = Some(timestamp(promised_by));
        request
    };

    let relaxed = allocation
        .allocate(with_promise(now + Duration::from_secs(60 * 86_400)))
        .await
        .unwrap()
        .into_inner();
    let rushed = allocation
        .allocate(with_promise(now + Duration::from_secs(60)))
        .await
        .unwrap()
        .into_inner();
    let units =
        |a: &pb::AllocateResponse| -> i64 { a.shipments.iter().map(|s| i64::from(s.units)).sum() };
    let late_per_unit = |a: &pb::AllocateResponse| {
        a.objective.as_ref().unwrap().lateness_penalty_minor as f64 / units(a) as f64
    };
    assert!(
        late_per_unit(&relaxed) < 150.0,
        "two months ahead P(late) is near 0: {}",
        late_per_unit(&relaxed)
    );
    assert!(
        late_per_unit(&rushed) > 750.0,
        "by tonight P(late) is near 1: {}",
        late_per_unit(&rushed)
    );
    let late_risk: Vec<&pb::Reason> = rushed
        .lines
        .iter()
        .flat_map(|l| l.reasons.iter())
        .filter(|r| r.code == pb::ReasonCode::LateRisk as i32)
        .collect();
    assert!(!late_risk.is_empty());
    for r in late_risk {
        assert_eq!(r.feature, "p_late");
        let p: f64 = r.value.parse().unwrap();
        assert!(p >= 0.2, "{p}");
    }
    assert!(relaxed.lines.iter().all(|l| {
        l.reasons
            .iter()
            .all(|r| r.code != pb::ReasonCode::LateRisk as i32)
    }));
    for (answer, on_time_at_least, on_time_at_most) in [(&relaxed, 0.9, 1.0), (&rushed, 0.0, 0.5)] {
        assert!(!answer.shipments.is_empty());
        for s in &answer.shipments {
            let w = s
                .delivery_window
                .as_ref()
                .expect("a window per shipment with the ETA model");
            let (earliest, latest) = (w.earliest.unwrap(), w.latest.unwrap());
            let ship_by = s.ship_by.expect("a ship-by instant per shipment");
            assert!(ship_by.seconds >= timestamp(now).seconds);
            assert!(earliest.seconds >= timestamp(now).seconds);
            assert!(earliest.seconds <= latest.seconds);
            assert!(
                (on_time_at_least..=on_time_at_most).contains(&w.on_time_probability),
                "{}: {}",
                s.node,
                w.on_time_probability
            );
        }
    }

    // Without a promise: windows, no lateness term.
    let plain = allocation
        .allocate(order("o-plain", None, None))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(plain.objective.unwrap().lateness_penalty_minor, 0);
    assert!(plain.shipments.iter().all(|s| s.delivery_window.is_some()));
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_decision_is_explained_and_replayed_identically_after_the_stock_moved_and_a_restart() {
    let server = TestServer::serving().await;
    let mut allocation = AllocationServiceClient::new(server.channel().await);
    let mut decisions = DecisionServiceClient::new(server.channel().await);
    let mut request = order("o-replay", Some("c-replay"), Some("k-replay"));
    request.promised_by = Some(timestamp(
        SystemTime::now() + Duration::from_secs(3 * 86_400),
    ));
    let answer = allocation.allocate(request).await.unwrap().into_inner();
    assert!(answer.reservation.is_some());
    assert!(answer.risk.is_some());

    let record = explained(&mut decisions, &answer.decision_id).await;
    assert_eq!(record.decision_id, answer.decision_id);
    assert_eq!(record.kind, pb::DecisionKind::Allocation as i32);
    assert!(!record.stock_read.is_empty());
    assert!(!record.capacity.is_empty());
    assert!(record.decided_at.is_some());
    assert!(!record.stock_versions.is_empty());
    assert_eq!(record.input_hash.len(), 64);
    assert!(record.features.contains_key("order_amount"));
    assert!(record.features.keys().any(|k| k.starts_with("p_late.")));
    assert!(
        !record.features.contains_key("lateness_nominal"),
        "the ETA model priced the promise"
    );
    assert!(
        record.model_versions.len() >= 2,
        "{:?}",
        record.model_versions
    );
    assert!(!record.reasons.is_empty());
    let Some(pb::decision_record::Request::AllocateRequest(recorded)) = &record.request else {
        panic!("no recorded request");
    };
    let ctx = recorded.context.as_ref().unwrap();
    assert!(ctx.email.starts_with("hmac:"), "personal data is hashed");
    assert!(ctx.card_fingerprint.starts_with("hmac:"));
    let Some(pb::decision_record::Response::AllocateResponse(sent)) = &record.response else {
        panic!("no recorded response");
    };
    assert_eq!(sent, &answer);

    let first = replayed(&mut decisions, &answer.decision_id).await;
    assert!(first.identical, "{:?}", first.differences);

    // Empty the shipping nodes: the replay reads the recorded stock.
    let mut inventory = InventoryServiceClient::new(server.channel().await);
    for s in &answer.shipments {
        inventory
            .replace_node_stock(tokio_stream::iter(vec![pb::ReplaceNodeStockRequest {
                node: s.node.clone(),
                as_of_sequence: 0,
                rows: Vec::new(),
                reset_feed: false,
            }]))
            .await
            .unwrap();
    }
    let moved = allocation
        .allocate(order("o-after", None, None))
        .await
        .unwrap()
        .into_inner();
    assert_ne!(moved.lines, answer.lines, "the live plan changed");
    let after_stock = replayed(&mut decisions, &answer.decision_id).await;
    assert!(after_stock.identical, "{:?}", after_stock.differences);

    let server = server.restart().await;
    let mut decisions = DecisionServiceClient::new(server.channel().await);
    let after_restart = replayed(&mut decisions, &answer.decision_id).await;
    assert!(after_restart.identical, "{:?}", after_restart.differences);
    let Some(pb::replay_decision_response::Response::AllocateResponse(again)) =
        &after_restart.response
    else {
        panic!("no replayed response");
    };
    assert_eq!(again.lines, answer.lines);
    assert_eq!(again.shipments, answer.shipments);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_score_replays_from_its_recorded_features() {
    let mut config = test_config();
    config.models.risk.block_cards = vec!["card-c-blocked".into()];
    let server = TestServer::start(config).await;
    server.wait_serving().await;
    let mut risk = RiskServiceClient::new(server.channel().await);
    let mut decisions = DecisionServiceClient::new(server.channel().await);
    for customer in ["c-score", "c-blocked"] {
        let request = order("o-score", Some(customer), None);
        let assessment = risk
            .score_order(pb::ScoreOrderRequest {
                order_id: format!("o-{customer}"),
                lines: request.lines,
                destination: request.destination,
                context: request.context,
                order_amount_minor: 0,
                currency: String::new(),
                service_level: request.service_level,
            })
            .await
            .unwrap()
            .into_inner();
        // Later orders of the same customer move its velocity features; the
        // replay must not see them.
        for i in 0..3 {
            allocation_with_context(&server, &format!("o-{customer}-{i}"), customer).await;
        }
        explained(&mut decisions, &assessment.decision_id).await;
        let replay = replayed(&mut decisions, &assessment.decision_id).await;
        assert!(replay.identical, "{customer}: {:?}", replay.differences);
        let Some(pb::replay_decision_response::Response::RiskAssessment(again)) = replay.response
        else {
            panic!("no replayed assessment");
        };
        assert_eq!(again.fraud_probability, assessment.fraud_probability);
        assert_eq!(again.decision, assessment.decision);
        assert_eq!(again.reasons, assessment.reasons);
    }
    server.stop().await.unwrap();
}

async fn allocation_with_context(server: &TestServer, id: &str, customer: &str) {
    AllocationServiceClient::new(server.channel().await)
        .allocate(order(id, Some(customer), None))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_decision_made_on_another_network_is_not_replayed() {
    let server = TestServer::serving().await;
    let mut allocation = AllocationServiceClient::new(server.channel().await);
    let answer = allocation
        .allocate(order("o-net", None, None))
        .await
        .unwrap()
        .into_inner();
    let mut decisions = DecisionServiceClient::new(server.channel().await);
    let record = explained(&mut decisions, &answer.decision_id).await;

    let server = server
        .restart_with(|c| c.network.demo_seed = c.network.demo_seed.wrapping_add(1))
        .await;
    let mut decisions = DecisionServiceClient::new(server.channel().await);
    let refused = decisions
        .replay_decision(pb::ReplayDecisionRequest {
            decision_id: answer.decision_id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(
        refused.message().contains(&record.network_hash),
        "{}",
        refused.message()
    );
    server.stop().await.unwrap();
}

/// A models directory with the fraud model only (no `eta.onnx`).
fn models_without_eta() -> tempfile::TempDir {
    let source = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../models"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("cards")).unwrap();
    for file in ["fraud.onnx", "fraud.lgb.txt", "cards/fraud.json"] {
        std::fs::copy(source.join(file), dir.path().join(file)).unwrap();
    }
    dir
}

#[tokio::test]
async fn without_the_eta_model_a_promise_is_priced_nominally_and_still_replays() {
    let models = models_without_eta();
    let mut config = test_config();
    config.models.dir = Some(models.path().to_path_buf());
    let server = TestServer::start(config).await;
    server.wait_serving().await;
    let mut allocation = AllocationServiceClient::new(server.channel().await);
    let mut request = order("o-nominal", None, None);
    request.promised_by = Some(timestamp(
        SystemTime::now() + Duration::from_secs(60 * 86_400),
    ));
    let answer = allocation.allocate(request).await.unwrap().into_inner();
    assert!(!answer.shipments.is_empty());
    for s in &answer.shipments {
        assert!(s.delivery_window.is_none(), "no window without the model");
        // The nominal curve: 2% late two months ahead, 30 per unit.
        assert_eq!(s.lateness_penalty_minor, 30 * i64::from(s.units));
    }
    let mut decisions = DecisionServiceClient::new(server.channel().await);
    let record = explained(&mut decisions, &answer.decision_id).await;
    assert_eq!(record.features.get("lateness_nominal"), Some(&1.0));
    assert!(
        record.model_versions.is_empty(),
        "{:?}",
        record.model_versions
    );
    let replay = replayed(&mut decisions, &answer.decision_id).await;
    assert!(replay.identical, "{:?}", replay.differences);
    server.stop().await.unwrap();
}
