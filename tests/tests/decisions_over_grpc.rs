//! The decision log through a real server: records survive a restart with
//! personal data hashed, the event feed resumes with no gap and no repeat,
//! and the documented errors.
#![allow(clippy::unwrap_used)] // a test may unwrap: a panic is its failure

mod common;

use allot_proto::v1 as pb;
use allot_proto::v1::decision_service_client::DecisionServiceClient;
use allot_proto::v1::risk_service_client::RiskServiceClient;
use common::{TestServer, test_config};
use tokio_stream::StreamExt;
use tonic::Code;
use tonic::transport::Channel;

const EMAIL: &str = "ann.private@example.com";
const STREET: &str = "17 Secret Lane";

fn score_request(order: &str) -> pb::ScoreOrderRequest {
    pb::ScoreOrderRequest {
        order_id: order.into(),
        lines: vec![pb::OrderLine {
            line_id: "1".into(),
            sku: "SKU-000001".into(),
            quantity: 2,
            unit_price_minor: None,
            weight_grams: None,
        }],
        destination: Some(pb::Destination {
            location: Some(pb::destination::Location::PostalCode("10001".into())),
            address_line1: Some(STREET.into()),
            city: Some("Gotham".into()),
            ..Default::default()
        }),
        context: Some(pb::OrderContext {
            customer_id: "c-77".into(),
            email: EMAIL.into(),
            card_fingerprint: "card-77".into(),
            device_id: "dev-77".into(),
            ip: "198.51.100.23".into(),
            ..Default::default()
        }),
        order_amount_minor: 0,
        currency: "USD".into(),
        service_level: pb::ServiceLevel::Ground as i32,
    }
}

async fn score(server: &TestServer, order: &str) -> pb::RiskAssessment {
    RiskServiceClient::new(server.channel().await)
        .score_order(score_request(order))
        .await
        .unwrap()
        .into_inner()
}

async fn decisions(server: &TestServer) -> DecisionServiceClient<Channel> {
    DecisionServiceClient::new(server.channel().await)
}

async fn watch(
    server: &TestServer,
    from_position: Option<u64>,
) -> tonic::Streaming<pb::DecisionEvent> {
    decisions(server)
        .await
        .watch_decisions(pb::WatchDecisionsRequest {
            from_position,
            kinds: vec![],
        })
        .await
        .unwrap()
        .into_inner()
}

async fn next_events(
    stream: &mut tonic::Streaming<pb::DecisionEvent>,
    n: usize,
) -> Vec<pb::DecisionEvent> {
    let mut events = Vec::new();
    while events.len() < n {
        let event = stream
            .next()
            .await
            .expect("the stream ended early")
            .expect("the stream failed");
        events.push(event);
    }
    events
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn a_risk_decision_is_explained_after_a_restart_with_personal_data_hashed() {
    let server = TestServer::serving().await;
    let assessment = score(&server, "o-explain").await;
    // Explainable at once (the read waits for the queued record) ...
    let before = decisions(&server)
        .await
        .explain_decision(pb::ExplainDecisionRequest {
            decision_id: assessment.decision_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    // ... and the same after a restart on the same data directory.
    let server = server.restart().await;

    let record = decisions(&server)
        .await
        .explain_decision(pb::ExplainDecisionRequest {
            decision_id: assessment.decision_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(record, before);
    assert_eq!(record.decision_id, assessment.decision_id);
    assert_eq!(record.kind, pb::DecisionKind::Risk as i32);
    assert_eq!(
        record.input_hash,
        allot_service::hash::sha256_hex(&prost::Message::encode_to_vec(&score_request(
            "o-explain"
        )))
    );
    assert_eq!(
        record.response,
        Some(pb::decision_record::Response::RiskAssessment(
            assessment.clone()
        ))
    );
    assert_eq!(record.reasons, assessment.reasons);
    assert_eq!(record.model_versions.len(), 1);
    assert_eq!(record.model_versions[0].version, assessment.model_version);
    assert!(
        record.features.contains_key("order_amount"),
        "{:?}",
        record.features
    );
    assert!(record.features.values().all(|v| v.is_finite()));
    assert_eq!(record.config_hash.len(), 64);
    assert_eq!(record.network_hash.len(), 64);
    assert!(!record.server_version.is_empty());
    assert!(record.decided_at.is_some() && record.recorded_at.is_some());

    let Some(pb::decision_record::Request::ScoreOrderRequest(request)) = &record.request else {
        panic!("no ScoreOrder request recorded: {:?}", record.request);
    };
    let context = request.context.as_ref().unwrap();
    // Keyed under the server's privacy key, created in its data directory.
    let keys = allot_service::privacy::Pseudonymizer::load(
        &Default::default(),
        &server.config().decisions.dir,
    )
    .unwrap();
    assert_eq!(context.email, keys.pseudonym(EMAIL));
    assert_eq!(context.customer_id, keys.pseudonym("c-77"));
    assert!(context.ip.starts_with("hmac:"));
    assert!(context.card_fingerprint.starts_with("hmac:"));
    let destination = request.destination.as_ref().unwrap();
    assert!(
        destination
            .address_line1
            .as_deref()
            .unwrap()
            .starts_with("hmac:")
    );
    assert_eq!(
        destination.location,
        Some(pb::destination::Location::PostalCode("10001".into()))
    );

    // What `allotctl explain` prints for a support agent.
    let client = allot_client::AllotClient::connect(&server.endpoint())
        .await
        .unwrap();
    let text = allot_client::decisions::explain_text(
        &client.explain(&assessment.decision_id).await.unwrap(),
    );
    for expected in [
        "(RISK)",
        "Order o-explain",
        "Fraud risk:",
        assessment.model_version.as_str(),
        record.config_hash.as_str(),
    ] {
        assert!(text.contains(expected), "{expected:?} missing from\n{text}");
    }
    assert!(!text.contains(EMAIL), "{text}");

    // Nothing personal is in the stored record (as decoded from the file),
    // nor in the file's bytes (records are LZ4-compressed, which copies a
    // first occurrence of a string as is).
    let stored = prost::Message::encode_to_vec(&record);
    assert!(contains(&stored, "o-explain"), "the record holds the order");
    let file = std::fs::read(server.config().decisions.dir.join("decisions.redb")).unwrap();
    for clear in [EMAIL, STREET, "Gotham", "198.51.100.23"] {
        assert!(!contains(&stored, clear), "{clear:?} is recorded in clear");
        assert!(!contains(&file, clear), "{clear:?} is stored in clear");
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn watching_resumes_from_a_position_with_no_gap_and_no_repeat() {
    let server = TestServer::serving().await;
    let mut orders = Vec::new();
    for i in 0..5 {
        let order = format!("o-watch-{i}");
        score(&server, &order).await;
        orders.push(order);
    }
    let mut stream = watch(&server, Some(0)).await;
    let first = next_events(&mut stream, 3).await;
    drop(stream);
    let last = first.last().unwrap().position;

    // Disconnected, and the server restarts in between.
    let server = server.restart().await;
    for i in 5..9 {
        let order = format!("o-watch-{i}");
        score(&server, &order).await;
        orders.push(order);
    }
    let mut stream = watch(&server, Some(last)).await;
    let rest = next_events(&mut stream, 6).await;

    let all: Vec<_> = first.iter().chain(&rest).collect();
    assert_eq!(
        all.iter().map(|e| e.position).collect::<Vec<_>>(),
        (1..=9).collect::<Vec<_>>(),
        "positions are consecutive across the disconnect and the restart"
    );
    assert_eq!(
        all.iter().map(|e| e.order_id.clone()).collect::<Vec<_>>(),
        orders,
        "every decision exactly once, in the order made"
    );
    for event in &all {
        assert_eq!(event.kind, pb::DecisionEventKind::RiskScored as i32);
        assert!(event.decision_id.starts_with("dec_"));
        assert!(event.at.is_some());
        assert!(!event.summary.contains(EMAIL));
    }

    // Live: a watcher without a resume point sees only what happens next.
    let mut live = watch(&server, None).await;
    score(&server, "o-watch-live").await;
    let next = next_events(&mut live, 1).await;
    assert_eq!(next[0].order_id, "o-watch-live");
    assert_eq!(next[0].position, 10);
    // ... and the resumed stream continues with it, with no repeat.
    let continued = next_events(&mut stream, 1).await;
    assert_eq!(continued[0], next[0]);

    // A kind filter skips other kinds; UNSPECIFIED is not a kind.
    let err = decisions(&server)
        .await
        .watch_decisions(pb::WatchDecisionsRequest {
            from_position: Some(0),
            kinds: vec![pb::DecisionEventKind::Unspecified as i32],
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err}");
    assert!(err.message().contains("kinds[0]"), "{err}");
    let mut scored = decisions(&server)
        .await
        .watch_decisions(pb::WatchDecisionsRequest {
            from_position: Some(8),
            kinds: vec![pb::DecisionEventKind::RiskScored as i32],
        })
        .await
        .unwrap()
        .into_inner();
    let tail = next_events(&mut scored, 2).await;
    assert_eq!(tail.iter().map(|e| e.position).collect::<Vec<_>>(), [9, 10]);

    // Shutdown ends open streams with UNAVAILABLE.
    let mut open = watch(&server, None).await;
    server.stop().await.unwrap();
    let end = open.next().await;
    match end {
        Some(Err(status)) => assert_eq!(status.code(), Code::Unavailable, "{status}"),
        other => panic!("expected UNAVAILABLE at shutdown, got {other:?}"),
    }
}

#[tokio::test]
async fn resume_points_outside_the_retained_feed_are_out_of_range_with_both_bounds() {
    let server = TestServer::serving().await;
    let mut ids = Vec::new();
    for i in 0..2 {
        ids.push(score(&server, &format!("o-range-{i}")).await.decision_id);
    }
    // Both events are committed once a watcher from 0 has seen them.
    next_events(&mut watch(&server, Some(0)).await, 2).await;

    let err = decisions(&server)
        .await
        .watch_decisions(pb::WatchDecisionsRequest {
            from_position: Some(3),
            kinds: vec![],
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::OutOfRange, "{err}");
    assert!(err.message().contains("0..=2"), "{err}");
    assert!(
        err.message().contains("oldest retained event 1, latest 2"),
        "{err}"
    );
    // Resuming at the latest position is fine: nothing to send yet.
    watch(&server, Some(2)).await;

    // A restart with no retention prunes everything: old positions are out
    // of range, old decisions are gone, positions continue.
    let server = server
        .restart_with(|config| config.decisions.retention_days = 0)
        .await;
    let err = decisions(&server)
        .await
        .watch_decisions(pb::WatchDecisionsRequest {
            from_position: Some(1),
            kinds: vec![],
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::OutOfRange, "{err}");
    assert!(err.message().contains("2..=2"), "{err}");
    assert!(
        err.message()
            .contains("oldest retained event none, latest 2"),
        "{err}"
    );
    let err = decisions(&server)
        .await
        .explain_decision(pb::ExplainDecisionRequest {
            decision_id: ids[0].clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err}");
    let mut from_start = watch(&server, Some(0)).await;
    score(&server, "o-range-after").await;
    let after = next_events(&mut from_start, 1).await;
    assert_eq!(after[0].position, 3);
    assert_eq!(after[0].order_id, "o-range-after");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn explain_rejects_malformed_ids_and_unknown_decisions() {
    let server = TestServer::start(test_config()).await;
    server.wait_serving().await;
    let mut client = decisions(&server).await;
    for (id, code) in [
        ("", Code::InvalidArgument),
        ("not-a-ulid", Code::InvalidArgument),
        ("dec_01ARZ3NDEKTSV4RRFFQ69G5FA", Code::InvalidArgument),
        ("dec_01ARZ3NDEKTSV4RRFFQ69G5FAV", Code::NotFound),
        ("01ARZ3NDEKTSV4RRFFQ69G5FAV", Code::NotFound),
    ] {
        let err = client
            .explain_decision(pb::ExplainDecisionRequest {
                decision_id: id.into(),
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), code, "{id:?}: {err}");
        assert!(err.message().contains("decision_id"), "{err}");
    }
    let err = client
        .replay_decision(pb::ReplayDecisionRequest {
            decision_id: "dec_01ARZ3NDEKTSV4RRFFQ69G5FAV".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err}");
    server.stop().await.unwrap();
}

fn committed_order(order: &str, ttl_seconds: Option<i64>) -> pb::AllocateRequest {
    pb::AllocateRequest {
        order_id: order.into(),
        lines: vec![pb::OrderLine {
            line_id: "a".into(),
            sku: "SKU-000001".into(),
            quantity: 1,
            unit_price_minor: None,
            weight_grams: None,
        }],
        destination: Some(pb::Destination {
            location: Some(pb::destination::Location::PostalCode("30301".into())),
            country_code: "US".into(),
            ..Default::default()
        }),
        service_level: pb::ServiceLevel::Ground as i32,
        promised_by: None,
        options: Some(pb::AllocationOptions {
            commit: true,
            idempotency_key: format!("key-{order}"),
            reservation_ttl: ttl_seconds.map(|seconds| prost_types::Duration { seconds, nanos: 0 }),
            ..Default::default()
        }),
        context: None,
    }
}

#[tokio::test]
async fn reservation_confirmations_releases_and_expiries_are_events_of_their_decision() {
    use allot_proto::v1::allocation_service_client::AllocationServiceClient;
    use allot_proto::v1::inventory_service_client::InventoryServiceClient;

    let mut config = test_config();
    config.stock.demo = false;
    config.allocation.default_budget_ms = 2_000;
    let server = TestServer::start(config).await;
    server.wait_serving().await;
    InventoryServiceClient::new(server.channel().await)
        .replace_node_stock(tokio_stream::iter(vec![pb::ReplaceNodeStockRequest {
            node: "DC-ATL".into(),
            as_of_sequence: 0,
            rows: vec![pb::StockRecord {
                sku: "SKU-000001".into(),
                on_hand: 10,
                reserved: 0,
                protected: 0,
            }],
            reset_feed: false,
        }]))
        .await
        .unwrap();
    let mut allocation = AllocationServiceClient::new(server.channel().await);
    let mut reservations = Vec::new();
    for (order, ttl) in [
        ("o-confirm", None),
        ("o-release", None),
        ("o-expire", Some(1)),
    ] {
        let answer = allocation
            .allocate(committed_order(order, ttl))
            .await
            .unwrap()
            .into_inner();
        let reservation = answer.reservation.expect("a committed order holds stock");
        reservations.push((answer.decision_id, reservation.reservation_id));
    }
    // Each change twice: a repeat answers the same reservation and is no
    // second event.
    for _ in 0..2 {
        let confirmed = allocation
            .confirm_reservation(pb::ConfirmReservationRequest {
                reservation_id: reservations[0].1.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(confirmed.state, pb::ReservationState::Confirmed as i32);
        // A note over the contract's 500 bytes is refused, naming it.
        let refused = allocation
            .release_reservation(pb::ReleaseReservationRequest {
                reservation_id: reservations[1].1.clone(),
                reason: pb::ReleaseReason::OrderCancelled as i32,
                note: "x".repeat(501),
            })
            .await
            .unwrap_err();
        assert_eq!(refused.code(), tonic::Code::InvalidArgument);
        assert!(refused.message().starts_with("note"), "{refused:?}");
        let released = allocation
            .release_reservation(pb::ReleaseReservationRequest {
                reservation_id: reservations[1].1.clone(),
                reason: pb::ReleaseReason::OrderCancelled as i32,
                note: "customer changed their mind".into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(released.state, pb::ReservationState::Released as i32);
    }

    // The third expires on its own (the sweep runs every second); the
    // stream waits for it.
    let mut stream = decisions(&server)
        .await
        .watch_decisions(pb::WatchDecisionsRequest {
            from_position: Some(0),
            kinds: vec![
                pb::DecisionEventKind::ReservationConfirmed as i32,
                pb::DecisionEventKind::ReservationReleased as i32,
                pb::DecisionEventKind::ReservationExpired as i32,
            ],
        })
        .await
        .unwrap()
        .into_inner();
    let events = next_events(&mut stream, 3).await;
    let seen: Vec<_> = events
        .iter()
        .map(|e| {
            (
                e.kind,
                e.order_id.as_str(),
                e.decision_id.clone(),
                e.reservation_id.clone(),
            )
        })
        .collect();
    let expected: Vec<_> = [
        (pb::DecisionEventKind::ReservationConfirmed, "o-confirm"),
        (pb::DecisionEventKind::ReservationReleased, "o-release"),
        (pb::DecisionEventKind::ReservationExpired, "o-expire"),
    ]
    .into_iter()
    .zip(&reservations)
    .map(|((kind, order), (decision, reservation))| {
        (kind as i32, order, decision.clone(), reservation.clone())
    })
    .collect();
    assert_eq!(seen, expected);
    assert!(
        events.windows(2).all(|w| w[0].position < w[1].position),
        "{events:?}"
    );
    // The release's reason is in the decision log, and its free-text note
    // as a keyed hash only.
    assert!(
        events[1].summary.contains(": order_cancelled; note: hmac:")
            && !events[1].summary.contains("changed their mind"),
        "{:?}",
        events[1].summary
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_shadow_mode_evaluation_is_recorded_and_explained() {
    use allot_proto::v1::allocation_service_client::AllocationServiceClient;

    let server = TestServer::serving().await;
    let mut order = committed_order("o-shadow", None);
    order.options = None;
    if let Some(destination) = order.destination.as_mut() {
        destination.address_line1 = Some(STREET.into());
    }
    let request = pb::EvaluatePlanRequest {
        order: Some(order),
        plan: vec![pb::PlannedAssignment {
            line_id: "a".into(),
            node: "DC-ATL".into(),
            quantity: 1,
            service: None,
        }],
    };
    let answer = AllocationServiceClient::new(server.channel().await)
        .evaluate_plan(request.clone())
        .await
        .unwrap()
        .into_inner();
    let record = decisions(&server)
        .await
        .explain_decision(pb::ExplainDecisionRequest {
            decision_id: answer.decision_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(record.kind, pb::DecisionKind::PlanEvaluation as i32);
    assert_eq!(
        record.input_hash,
        allot_service::hash::sha256_hex(&prost::Message::encode_to_vec(&request))
    );
    assert_eq!(
        record.response,
        Some(pb::decision_record::Response::EvaluatePlanResponse(answer))
    );
    let Some(pb::decision_record::Request::EvaluatePlanRequest(recorded)) = &record.request else {
        panic!("no EvaluatePlan request recorded: {:?}", record.request);
    };
    let line1 = recorded
        .order
        .as_ref()
        .and_then(|o| o.destination.as_ref())
        .and_then(|d| d.address_line1.clone())
        .unwrap();
    assert!(line1.starts_with("hmac:"), "{line1}");
    assert_eq!(recorded.plan, request.plan);
    server.stop().await.unwrap();
}
