//! Fraud scoring through a real server with the shipped ONNX model.
#![allow(clippy::unwrap_used)] // a test may unwrap: a panic is its failure

mod common;

use allot_proto::v1 as pb;
use allot_proto::v1::allocation_service_client::AllocationServiceClient;
use allot_proto::v1::decision_service_client::DecisionServiceClient;
use allot_proto::v1::risk_service_client::RiskServiceClient;
use common::{TestServer, test_config};
use tonic::Code;

fn request(customer: &str, card: &str) -> pb::ScoreOrderRequest {
    pb::ScoreOrderRequest {
        order_id: format!("o-{customer}"),
        lines: vec![pb::OrderLine {
            line_id: "1".into(),
            sku: "SKU-000001".into(),
            quantity: 1,
            unit_price_minor: None,
            weight_grams: None,
        }],
        destination: Some(pb::Destination {
            location: Some(pb::destination::Location::PostalCode("10001".into())),
            ..Default::default()
        }),
        context: Some(pb::OrderContext {
            customer_id: customer.into(),
            card_fingerprint: card.into(),
            device_id: format!("dev-{customer}"),
            account_created_at: Some(prost_types::Timestamp {
                seconds: 1_700_000_000,
                nanos: 0,
            }),
            ..Default::default()
        }),
        order_amount_minor: 0,
        currency: "USD".into(),
        service_level: pb::ServiceLevel::Ground as i32,
    }
}

#[tokio::test]
async fn orders_are_scored_with_the_models_version_and_rules_apply() {
    let mut config = test_config();
    config.models.risk.block_cards = vec!["stolen".into()];
    let server = TestServer::start(config).await;
    server.wait_serving().await;
    let mut client = RiskServiceClient::new(server.channel().await);

    let ordinary = client
        .score_order(request("c-1", "card-1"))
        .await
        .unwrap()
        .into_inner();
    assert!((0.0..=1.0).contains(&ordinary.fraud_probability));
    assert!(
        ordinary.model_version.starts_with("fraud-"),
        "{}",
        ordinary.model_version
    );
    assert!(ordinary.decision_id.starts_with("dec_"));
    assert_ne!(ordinary.decision, pb::RiskDecision::Unspecified as i32);

    let blocked = client
        .score_order(request("c-2", "stolen"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(blocked.decision, pb::RiskDecision::Reject as i32);
    assert_eq!(blocked.reasons[0].code, pb::ReasonCode::BlockList as i32);

    let mut admin =
        allot_proto::v1::admin_service_client::AdminServiceClient::new(server.channel().await);
    let info = admin
        .get_model_info(pb::GetModelInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    let fraud = info
        .models
        .iter()
        .find(|m| m.name == ordinary.model_name)
        .unwrap();
    assert_eq!(fraud.version, ordinary.model_version);
    assert_eq!(fraud.sha256.len(), 64);
    assert!(fraud.thresholds["review"] < fraud.thresholds["reject"]);

    // A guest checkout is scored on what is known, and says what was not.
    let mut guest = request("", "card-3");
    guest.context.as_mut().unwrap().customer_id.clear();
    let scored = client.score_order(guest).await.unwrap().into_inner();
    assert_ne!(scored.decision, pb::RiskDecision::Unspecified as i32);
    assert!(
        scored
            .missing_signals
            .contains(&"context.customer_id".to_string()),
        "{:?}",
        scored.missing_signals
    );

    let mut unknown = request("c-4", "card-4");
    unknown.lines[0].sku = "NOPE".into();
    let status = client.score_order(unknown).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert!(
        status.message().starts_with("lines[0].sku"),
        "{}",
        status.message()
    );
    server.stop().await.unwrap();
}

/// The velocity features of the decision `id` recorded, as ExplainDecision
/// shows them.
async fn recorded_velocity(server: &TestServer, id: &str) -> [f64; 3] {
    let record = DecisionServiceClient::new(server.channel().await)
        .explain_decision(pb::ExplainDecisionRequest {
            decision_id: id.into(),
        })
        .await
        .unwrap()
        .into_inner();
    ["customer_orders_24h", "card_orders_24h", "device_orders_1h"]
        .map(|name| *record.features.get(name).unwrap_or(&-1.0))
}

#[tokio::test]
async fn velocities_continue_from_their_count_before_a_restart() {
    let server = TestServer::start(test_config()).await;
    server.wait_serving().await;
    let mut risk = RiskServiceClient::new(server.channel().await);
    let numbered = |n: u32| {
        let mut r = request("c-velocity", "card-velocity");
        r.order_id = format!("o-velocity-{n}");
        r
    };
    // Two scored orders and one allocated order of one customer on one card
    // (and device) ...
    for n in 1..=2 {
        risk.score_order(numbered(n)).await.unwrap();
    }
    // ... the second scored again is still one order, and does not see
    // itself ...
    let again = risk.score_order(numbered(2)).await.unwrap().into_inner();
    assert_eq!(
        recorded_velocity(&server, &again.decision_id).await,
        [1.0, 1.0, 1.0],
        "a repeat sees the first order only"
    );
    let scored = numbered(3);
    let allocated = AllocationServiceClient::new(server.channel().await)
        .allocate(pb::AllocateRequest {
            order_id: "o-velocity-3".into(),
            lines: scored.lines.clone(),
            destination: scored.destination.clone(),
            service_level: scored.service_level,
            promised_by: None,
            options: None,
            context: scored.context.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        recorded_velocity(&server, &allocated.decision_id).await,
        [2.0, 2.0, 2.0],
        "the third order saw the first two"
    );
    // ... and the allocated order scored afterwards sees what it saw.
    let rescored = risk.score_order(scored).await.unwrap().into_inner();
    assert_eq!(
        recorded_velocity(&server, &rescored.decision_id).await,
        [2.0, 2.0, 2.0]
    );

    // The three orders are still the customer's, card's and device's
    // history after a restart on the same decision log (five records, three
    // orders): the fourth sees three.
    let server = server.restart().await;
    let fourth = RiskServiceClient::new(server.channel().await)
        .score_order(numbered(4))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        recorded_velocity(&server, &fourth.decision_id).await,
        [3.0, 3.0, 3.0],
        "velocities continue from the count before the restart"
    );
    // Another customer is still new.
    let other = RiskServiceClient::new(server.channel().await)
        .score_order(request("c-other", "card-other"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        recorded_velocity(&server, &other.decision_id).await,
        [0.0, 0.0, 0.0]
    );
    server.stop().await.unwrap();
}

/// The features decision `id` recorded, as ExplainDecision shows them.
async fn recorded_features(
    server: &TestServer,
    id: &str,
) -> std::collections::HashMap<String, f64> {
    DecisionServiceClient::new(server.channel().await)
        .explain_decision(pb::ExplainDecisionRequest {
            decision_id: id.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .features
}

fn returned(order: &str, customer: &str) -> pb::ReturnedOrder {
    pb::ReturnedOrder {
        order_id: order.into(),
        customer_id: customer.into(),
        email: String::new(),
        returned_at: None,
    }
}

#[tokio::test]
async fn reported_returns_feed_the_return_rate_and_survive_a_restart() {
    let server = TestServer::start(test_config()).await;
    server.wait_serving().await;
    let mut risk = RiskServiceClient::new(server.channel().await);
    for n in 1..=4 {
        let mut r = request("c-returns", &format!("card-returns-{n}"));
        r.order_id = format!("o-returns-{n}");
        risk.score_order(r).await.unwrap();
    }
    // Two of the four orders come back, one of them in two parcels.
    let report = risk
        .report_returns(pb::ReportReturnsRequest {
            returns: vec![
                returned("o-returns-1", "c-returns"),
                returned("o-returns-1", "c-returns"),
                returned("o-returns-3", "c-returns"),
            ],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((report.counted, report.already_counted), (2, 1));
    assert!(report.decision_id.starts_with("dec_"));
    let explained = DecisionServiceClient::new(server.channel().await)
        .explain_decision(pb::ExplainDecisionRequest {
            decision_id: report.decision_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(explained.kind, pb::DecisionKind::ReturnsReport as i32);
    assert_eq!(explained.feature_store_returns.len(), 3);

    let rate_of = |n: u32| {
        let mut r = request("c-returns", "card-returns-next");
        r.order_id = format!("o-returns-next-{n}");
        r
    };
    let fifth = risk.score_order(rate_of(5)).await.unwrap().into_inner();
    assert_eq!(
        recorded_features(&server, &fifth.decision_id).await["customer_return_rate"],
        0.5
    );
    // Reported again after a restart: still two returned orders of five.
    let server = server.restart().await;
    let mut risk = RiskServiceClient::new(server.channel().await);
    let again = risk
        .report_returns(pb::ReportReturnsRequest {
            returns: vec![returned("o-returns-3", "c-returns")],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((again.counted, again.already_counted), (0, 1));
    let sixth = risk.score_order(rate_of(6)).await.unwrap().into_inner();
    assert_eq!(
        recorded_features(&server, &sixth.decision_id).await["customer_return_rate"],
        f64::from(0.4f32)
    );
    // A report names what it reports.
    let status = risk
        .report_returns(pb::ReportReturnsRequest {
            returns: vec![returned("", "c-returns")],
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().starts_with("returns[0].order_id"),
        "{}",
        status.message()
    );
    let status = risk
        .report_returns(pb::ReportReturnsRequest { returns: vec![] })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn the_amount_sent_is_scored_and_an_unknown_account_age_is_missing() {
    let server = TestServer::start(test_config()).await;
    server.wait_serving().await;
    let mut risk = RiskServiceClient::new(server.channel().await);
    let mut guest = request("c-amount", "card-amount");
    guest.order_amount_minor = 123_456;
    guest.context.as_mut().unwrap().account_created_at = None;
    let scored = risk.score_order(guest).await.unwrap().into_inner();
    let features = recorded_features(&server, &scored.decision_id).await;
    assert_eq!(features["order_amount"], f64::from(1_234.56f32));
    assert!(
        !features.contains_key("account_age_days"),
        "missing, not 0: {features:?}"
    );
    assert!(!scored.reasons.is_empty(), "every decision has reasons");
    for reason in &scored.reasons {
        assert!(
            !(reason.code == pb::ReasonCode::NewAccountHighValue as i32
                && reason.feature == "account_age_days"),
            "a missing account age is not a new account: {reason:?}"
        );
    }
    // The next order of the customer sees the amount sent.
    let mut next = request("c-amount", "card-amount");
    next.order_id = "o-amount-2".into();
    let next = risk.score_order(next).await.unwrap().into_inner();
    assert_eq!(
        recorded_features(&server, &next.decision_id).await["customer_amount_7d"],
        f64::from(1_234.56f32)
    );
    server.stop().await.unwrap();
}
