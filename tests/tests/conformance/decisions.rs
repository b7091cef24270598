//! DecisionService: ExplainDecision, WatchDecisions, ReplayDecision.

use std::time::SystemTime;

use allot_proto::v1 as pb;
use allot_proto::v1::allocation_service_client::AllocationServiceClient;
use allot_proto::v1::decision_service_client::DecisionServiceClient;
use allot_proto::v1::inventory_service_client::InventoryServiceClient;
use allot_proto::v1::promise_service_client::PromiseServiceClient;
use allot_proto::v1::risk_service_client::RiskServiceClient;
use tokio_stream::StreamExt;
use tonic::Code;
use tonic::transport::Channel;

use crate::common::orders::{committed, level, line, order, promise, score_request};
use crate::common::{Saturated, TestServer, assert_field_error, test_config};

/// A well-formed decision id that no server minted.
const UNKNOWN_ID: &str = "dec_01ARZ3NDEKTSV4RRFFQ69G5FAV";

type Client = DecisionServiceClient<Channel>;

async fn client(server: &TestServer) -> Client {
    DecisionServiceClient::new(server.channel().await)
}

fn now() -> prost_types::Timestamp {
    prost_types::Timestamp::from(SystemTime::now())
}

fn cart() -> Vec<pb::OrderLine> {
    vec![line("a", "SKU-000001", 1), line("b", "SKU-000002", 2)]
}

async fn quote_request(server: &TestServer, request: pb::PromiseRequest) -> pb::PromiseResponse {
    PromiseServiceClient::new(server.channel().await)
        .get_delivery_promise(request)
        .await
        .unwrap()
        .into_inner()
}

async fn quote(server: &TestServer) -> pb::PromiseResponse {
    quote_request(server, promise(cart(), "10001", now())).await
}

async fn score(server: &TestServer, order: &str) -> pb::RiskAssessment {
    RiskServiceClient::new(server.channel().await)
        .score_order(score_request(order, cart(), "10001"))
        .await
        .unwrap()
        .into_inner()
}

async fn explain(server: &TestServer, id: &str) -> Result<pb::DecisionRecord, tonic::Status> {
    client(server)
        .await
        .explain_decision(pb::ExplainDecisionRequest {
            decision_id: id.into(),
        })
        .await
        .map(tonic::Response::into_inner)
}

async fn replay(
    server: &TestServer,
    id: &str,
) -> Result<pb::ReplayDecisionResponse, tonic::Status> {
    client(server)
        .await
        .replay_decision(pb::ReplayDecisionRequest {
            decision_id: id.into(),
        })
        .await
        .map(tonic::Response::into_inner)
}

async fn watch(
    server: &TestServer,
    from_position: Option<u64>,
    kinds: Vec<pb::DecisionEventKind>,
) -> Result<tonic::Streaming<pb::DecisionEvent>, tonic::Status> {
    client(server)
        .await
        .watch_decisions(pb::WatchDecisionsRequest {
            from_position,
            kinds: kinds.into_iter().map(|k| k as i32).collect(),
        })
        .await
        .map(tonic::Response::into_inner)
}

async fn next_events(
    stream: &mut tonic::Streaming<pb::DecisionEvent>,
    n: usize,
) -> Vec<pb::DecisionEvent> {
    let mut events = Vec::with_capacity(n);
    while events.len() < n {
        let event = stream
            .next()
            .await
            .expect("the stream ended early")
            .expect("the stream failed");
        assert_ne!(event.kind, pb::DecisionEventKind::Unspecified as i32);
        events.push(event);
    }
    events
}

/// Waits until the feed holds `n` events (each is committed once a watcher
/// from 0 has seen it).
async fn committed_events(server: &TestServer, n: usize) -> Vec<pb::DecisionEvent> {
    next_events(&mut watch(server, Some(0), vec![]).await.unwrap(), n).await
}

fn is_hex_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A copy of the served models directory (fraud and ETA models with their
/// cards), whose fraud card's version is `fraud_version` when given.
fn models_copy(fraud_version: Option<&str>) -> tempfile::TempDir {
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("cards")).unwrap();
    for file in [
        "fraud.onnx",
        "fraud.lgb.txt",
        "eta.onnx",
        "eta.calibration.json",
        "cards/fraud.json",
        "cards/eta.json",
        "cards/demand.json",
    ] {
        std::fs::copy(source.join(file), dir.path().join(file)).unwrap();
    }
    if let Some(version) = fraud_version {
        // The card's own `version` is its first.
        let path = dir.path().join("cards/fraud.json");
        let mut card = std::fs::read_to_string(&path).unwrap();
        let key = card.find("\"version\"").expect("a version");
        let open = key + card[key..].find(": \"").unwrap() + 3;
        let close = open + card[open..].find('"').unwrap();
        card.replace_range(open..close, version);
        std::fs::write(&path, card).unwrap();
    }
    dir
}

// --- ExplainDecision --------------------------------------------------------

#[tokio::test]
async fn explain_decision_empty_id_is_invalid_argument_naming_decision_id() {
    let server = TestServer::serving().await;
    let status = explain(&server, "").await.unwrap_err();
    assert_field_error(&status, Code::InvalidArgument, "decision_id");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn explain_decision_an_id_that_is_not_a_ulid_is_invalid_argument_naming_decision_id() {
    let server = TestServer::serving().await;
    for id in ["not-a-ulid", "dec_01ARZ3NDEKTSV4RRFFQ69G5FA", "dec_"] {
        let status = explain(&server, id).await.unwrap_err();
        assert_field_error(&status, Code::InvalidArgument, "decision_id");
        assert!(status.message().contains(id), "{status:?}");
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn explain_decision_unknown_decision_is_not_found_naming_decision_id() {
    let server = TestServer::serving().await;
    let status = explain(&server, UNKNOWN_ID).await.unwrap_err();
    assert_field_error(&status, Code::NotFound, "decision_id");
    assert!(status.message().contains(UNKNOWN_ID), "{status:?}");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn explain_decision_finds_a_decision_by_its_bare_ulid_too() {
    let server = TestServer::serving().await;
    let answer = quote(&server).await;
    let ulid = answer.decision_id.strip_prefix("dec_").unwrap();
    assert_eq!(ulid.len(), 26);
    let by_ulid = explain(&server, ulid).await.unwrap();
    assert_eq!(by_ulid.decision_id, answer.decision_id);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn explain_decision_older_than_the_retention_is_not_found() {
    let server = TestServer::serving().await;
    let answer = quote(&server).await;
    explain(&server, &answer.decision_id).await.unwrap();
    let server = server
        .restart_with(|config| config.decisions.retention_days = 0)
        .await;
    let status = explain(&server, &answer.decision_id).await.unwrap_err();
    assert_field_error(&status, Code::NotFound, "decision_id");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn explain_decision_records_request_and_response_of_its_kind_and_what_it_was_made_with() {
    let server = TestServer::serving().await;
    let at = now();
    let request = promise(cart(), "10001", at);
    let answer = quote_request(&server, request.clone()).await;
    let record = explain(&server, &answer.decision_id).await.unwrap();
    assert_eq!(record.decision_id, answer.decision_id);
    assert_eq!(record.kind, pb::DecisionKind::Promise as i32);
    assert_eq!(
        record.request,
        Some(pb::decision_record::Request::PromiseRequest(request))
    );
    assert_eq!(
        record.response,
        Some(pb::decision_record::Response::PromiseResponse(
            answer.clone()
        ))
    );
    assert_eq!(record.decided_at, Some(at), "evaluated at the order time");
    assert!(record.recorded_at.is_some());
    assert!(is_hex_sha256(&record.input_hash));
    assert!(is_hex_sha256(&record.config_hash));
    assert!(is_hex_sha256(&record.network_hash));
    assert!(!record.server_version.is_empty());
    assert!(
        record.solver.is_none(),
        "solver statistics are allocation's"
    );
    assert!(record.feature_store_entry.is_none(), "nothing was scored");
    assert!(
        record
            .model_versions
            .iter()
            .any(|m| m.version == answer.model_version),
        "{:?}",
        record.model_versions
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn explain_decision_input_hash_is_equal_for_equal_inputs_only() {
    let server = TestServer::serving().await;
    let at = now();
    let first = quote_request(&server, promise(cart(), "10001", at)).await;
    let same = quote_request(&server, promise(cart(), "10001", at)).await;
    let other = quote_request(&server, promise(cart(), "30301", at)).await;
    let hash = |answer: pb::PromiseResponse| {
        let server = &server;
        async move {
            explain(server, &answer.decision_id)
                .await
                .unwrap()
                .input_hash
        }
    };
    let (first, same, other) = (hash(first).await, hash(same).await, hash(other).await);
    assert_eq!(first, same);
    assert_ne!(first, other);
    let expected = allot_service::hash::sha256_hex(&prost::Message::encode_to_vec(&promise(
        cart(),
        "10001",
        at,
    )));
    assert_eq!(first, expected, "SHA-256 of the request's encoding");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn explain_decision_stock_versions_stock_read_and_capacity_are_ordered_by_node() {
    let server = TestServer::serving().await;
    let answer = quote(&server).await;
    let record = explain(&server, &answer.decision_id).await.unwrap();
    assert!(
        record.stock_versions.len() > 1,
        "{:?}",
        record.stock_versions
    );
    let versions: Vec<_> = record.stock_versions.iter().map(|v| &v.node).collect();
    assert!(versions.is_sorted(), "{versions:?}");
    assert!(!record.stock_read.is_empty());
    let read: Vec<_> = record
        .stock_read
        .iter()
        .map(|r| (&r.node, &r.sku))
        .collect();
    assert!(read.is_sorted(), "{read:?}");
    assert!(record.capacity.len() > 1);
    let capacity: Vec<_> = record.capacity.iter().map(|c| &c.node).collect();
    assert!(capacity.is_sorted(), "{capacity:?}");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn explain_decision_model_versions_are_ordered_by_name() {
    let server = TestServer::serving().await;
    let mut request = order("o-models", cart(), "10001");
    request.context = Some(pb::OrderContext {
        customer_id: "c-models".into(),
        ..Default::default()
    });
    let answer = AllocationServiceClient::new(server.channel().await)
        .allocate(request)
        .await
        .unwrap()
        .into_inner();
    let record = explain(&server, &answer.decision_id).await.unwrap();
    let names: Vec<_> = record.model_versions.iter().map(|m| &m.name).collect();
    assert!(names.len() >= 2, "fraud and ETA: {names:?}");
    assert!(names.is_sorted(), "{names:?}");
    assert!(record.model_versions.iter().all(|m| !m.version.is_empty()));
    server.stop().await.unwrap();
}

#[tokio::test]
async fn explain_decision_reasons_are_every_reason_of_the_answer_deduplicated_never_unspecified() {
    let server = TestServer::serving().await;
    // Level by level, the same exclusions repeat: a cart no node holds.
    let mut request = promise(vec![line("a", "SKU-000001", 1_000_000)], "10001", now());
    request.explain_unavailable = true;
    let answer = quote_request(&server, request).await;
    let nested: Vec<_> = answer
        .unavailable
        .iter()
        .flat_map(|u| u.reasons.clone())
        .collect();
    assert!(nested.len() > 1, "{answer:?}");
    let record = explain(&server, &answer.decision_id).await.unwrap();
    for reason in &nested {
        assert!(record.reasons.contains(reason), "{reason:?} missing");
    }
    for (i, reason) in record.reasons.iter().enumerate() {
        assert_ne!(reason.code, pb::ReasonCode::Unspecified as i32);
        assert!(!record.reasons[..i].contains(reason), "{reason:?} repeated");
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn explain_decision_of_a_risk_decision_holds_no_stock_state() {
    let server = TestServer::serving().await;
    let assessment = score(&server, "o-risk-state").await;
    let record = explain(&server, &assessment.decision_id).await.unwrap();
    assert_eq!(record.kind, pb::DecisionKind::Risk as i32);
    assert!(record.stock_versions.is_empty());
    assert!(record.stock_read.is_empty());
    assert!(record.capacity.is_empty());
    assert!(!record.features.is_empty());
    assert!(record.features.values().all(|v| v.is_finite()));
    server.stop().await.unwrap();
}

#[tokio::test]
async fn explain_decision_personal_data_in_the_recorded_request_is_hashed() {
    let server = TestServer::serving().await;
    let mut request = promise(cart(), "10001", now());
    let destination = request.destination.as_mut().unwrap();
    destination.address_line1 = Some("17 Secret Lane".into());
    destination.address_line2 = Some("Flat 3".into());
    destination.city = Some("Gotham".into());
    let answer = quote_request(&server, request).await;
    let record = explain(&server, &answer.decision_id).await.unwrap();
    let Some(pb::decision_record::Request::PromiseRequest(recorded)) = record.request else {
        panic!("no promise request recorded");
    };
    let destination = recorded.destination.unwrap();
    let hashed = |value: Option<String>, clear: &str| {
        let value = value.unwrap();
        assert!(value.starts_with("hmac:"), "{value}");
        assert!(!value.contains(clear));
    };
    hashed(destination.address_line1, "Secret");
    hashed(destination.address_line2, "Flat");
    hashed(destination.city, "Gotham");
    assert_eq!(
        destination.location,
        Some(pb::destination::Location::PostalCode("10001".into())),
        "not personal data"
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn explain_decision_when_overloaded_is_resource_exhausted() {
    let saturated = Saturated::start().await;
    let status = saturated
        .refused(|channel| async move {
            Client::new(channel)
                .explain_decision(pb::ExplainDecisionRequest {
                    decision_id: UNKNOWN_ID.into(),
                })
                .await
                // Unknown is NOT_FOUND: a pass here, not the refusal.
                .map(drop)
                .or_else(|s| {
                    if s.code() == Code::NotFound {
                        Ok(())
                    } else {
                        Err(s)
                    }
                })
        })
        .await;
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    saturated.stop().await;
}

// --- WatchDecisions ---------------------------------------------------------

#[tokio::test]
async fn watch_decisions_an_unspecified_kind_is_invalid_argument_naming_it() {
    let server = TestServer::serving().await;
    let status = watch(
        &server,
        Some(0),
        vec![
            pb::DecisionEventKind::RiskScored,
            pb::DecisionEventKind::Unspecified,
        ],
    )
    .await
    .unwrap_err();
    assert_field_error(&status, Code::InvalidArgument, "kinds[1]");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn watch_decisions_an_unknown_kind_is_invalid_argument_naming_it() {
    let server = TestServer::serving().await;
    let status = client(&server)
        .await
        .watch_decisions(pb::WatchDecisionsRequest {
            from_position: Some(0),
            kinds: vec![42],
        })
        .await
        .unwrap_err();
    assert_field_error(&status, Code::InvalidArgument, "kinds[0]");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn watch_decisions_from_a_position_newer_than_the_latest_is_out_of_range_with_both_bounds() {
    let server = TestServer::serving().await;
    quote(&server).await;
    quote(&server).await;
    committed_events(&server, 2).await;
    let status = watch(&server, Some(3), vec![]).await.unwrap_err();
    assert_field_error(&status, Code::OutOfRange, "from_position");
    assert!(
        status.message().contains("0..=2")
            && status
                .message()
                .contains("oldest retained event 1, latest 2"),
        "{status:?}"
    );
    watch(&server, Some(2), vec![])
        .await
        .expect("the latest position is a resume point");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn watch_decisions_from_a_position_older_than_the_oldest_retained_is_out_of_range_with_both_bounds()
 {
    let server = TestServer::serving().await;
    quote(&server).await;
    quote(&server).await;
    committed_events(&server, 2).await;
    // Nothing retained after this restart; positions continue.
    let server = server
        .restart_with(|config| config.decisions.retention_days = 0)
        .await;
    let status = watch(&server, Some(1), vec![]).await.unwrap_err();
    assert_field_error(&status, Code::OutOfRange, "from_position");
    assert!(
        status.message().contains("2..=2")
            && status
                .message()
                .contains("oldest retained event none, latest 2"),
        "{status:?}"
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn watch_decisions_without_from_position_sends_only_events_after_the_call() {
    let server = TestServer::serving().await;
    quote(&server).await;
    committed_events(&server, 1).await;
    let mut live = watch(&server, None, vec![]).await.unwrap();
    let answer = quote(&server).await;
    let event = next_events(&mut live, 1).await.remove(0);
    assert_eq!(
        (event.position, &event.decision_id),
        (2, &answer.decision_id)
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn watch_decisions_from_0_starts_at_the_oldest_retained_event_and_positions_start_at_1() {
    let server = TestServer::serving().await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(quote(&server).await.decision_id);
    }
    let events = committed_events(&server, 3).await;
    let seen: Vec<_> = events
        .iter()
        .map(|e| (e.position, e.decision_id.clone()))
        .collect();
    let expected: Vec<_> = (1..=3).zip(ids).collect();
    assert_eq!(seen, expected);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn watch_decisions_resuming_from_the_last_received_position_loses_and_repeats_nothing() {
    let server = TestServer::serving().await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(quote(&server).await.decision_id);
    }
    let mut stream = watch(&server, Some(0), vec![]).await.unwrap();
    let first = next_events(&mut stream, 2).await;
    drop(stream);
    for _ in 0..2 {
        ids.push(quote(&server).await.decision_id);
    }
    let mut resumed = watch(&server, Some(first[1].position), vec![])
        .await
        .unwrap();
    let rest = next_events(&mut resumed, 3).await;
    let all: Vec<_> = first.iter().chain(&rest).collect();
    assert_eq!(
        all.iter().map(|e| e.position).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    assert_eq!(
        all.iter()
            .map(|e| e.decision_id.clone())
            .collect::<Vec<_>>(),
        ids
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn watch_decisions_a_kind_filter_sends_only_those_kinds_and_skips_other_positions() {
    let server = TestServer::serving().await;
    quote(&server).await;
    let scored = score(&server, "o-filter").await;
    quote(&server).await;
    let mut stream = watch(&server, Some(0), vec![pb::DecisionEventKind::RiskScored])
        .await
        .unwrap();
    let event = next_events(&mut stream, 1).await.remove(0);
    assert_eq!(
        (event.position, event.kind, event.decision_id.as_str()),
        (
            2,
            pb::DecisionEventKind::RiskScored as i32,
            scored.decision_id.as_str()
        )
    );
    // The next is a later risk event, not the promise at position 3.
    let later = score(&server, "o-filter-2").await;
    let event = next_events(&mut stream, 1).await.remove(0);
    assert_eq!((event.position, event.decision_id), (4, later.decision_id));
    server.stop().await.unwrap();
}

#[tokio::test]
async fn watch_decisions_a_promise_event_names_its_decision_and_no_order_or_reservation() {
    let server = TestServer::serving().await;
    let mut live = watch(&server, None, vec![]).await.unwrap();
    let answer = quote(&server).await;
    let event = next_events(&mut live, 1).await.remove(0);
    assert_eq!(event.kind, pb::DecisionEventKind::PromiseQuoted as i32);
    assert_eq!(event.decision_id, answer.decision_id);
    assert_eq!(
        (event.order_id.as_str(), event.reservation_id.as_str()),
        ("", "")
    );
    assert!(event.at.is_some());
    assert!(!event.summary.is_empty());
    server.stop().await.unwrap();
}

#[tokio::test]
async fn watch_decisions_a_reservation_event_names_the_decision_that_made_the_reservation() {
    let mut config = test_config();
    config.stock.demo = false;
    let server = TestServer::start(config).await;
    server.wait_serving().await;
    let mut inventory = InventoryServiceClient::new(server.channel().await);
    crate::common::orders::stock_rows(&mut inventory, "DC-ATL", vec![("SKU-000001", 5)]).await;
    let mut allocation = AllocationServiceClient::new(server.channel().await);
    let answer = allocation
        .allocate(committed(
            order("o-event", vec![line("a", "SKU-000001", 1)], "30301"),
            "key-event",
        ))
        .await
        .unwrap()
        .into_inner();
    let reservation = answer.reservation.unwrap().reservation_id;
    let mut live = watch(&server, None, vec![]).await.unwrap();
    allocation
        .confirm_reservation(pb::ConfirmReservationRequest {
            reservation_id: reservation.clone(),
        })
        .await
        .unwrap();
    let event = next_events(&mut live, 1).await.remove(0);
    assert_eq!(
        (
            event.kind,
            event.decision_id,
            event.order_id.as_str(),
            event.reservation_id
        ),
        (
            pb::DecisionEventKind::ReservationConfirmed as i32,
            answer.decision_id,
            "o-event",
            reservation
        )
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn watch_decisions_shutdown_ends_the_stream_with_unavailable() {
    let server = TestServer::serving().await;
    let mut open = watch(&server, None, vec![]).await.unwrap();
    server.stop().await.unwrap();
    match open.next().await {
        Some(Err(status)) => assert_eq!(status.code(), Code::Unavailable, "{status:?}"),
        other => panic!("expected UNAVAILABLE at shutdown, got {other:?}"),
    }
}

#[tokio::test]
async fn watch_decisions_a_watcher_behind_the_buffer_ends_with_resource_exhausted_and_resumes_from_the_last_received()
 {
    let mut config = test_config();
    config.decisions.watch_buffer = 1;
    let server = TestServer::start(config).await;
    server.wait_serving().await;
    // A small flow-control window: the server cannot send far ahead of a
    // client that does not read.
    let channel = tonic::transport::Endpoint::from_shared(server.endpoint())
        .unwrap()
        .initial_stream_window_size(Some(16 * 1024))
        .initial_connection_window_size(Some(16 * 1024))
        .connect()
        .await
        .unwrap();
    let mut slow = Client::new(channel)
        .watch_decisions(pb::WatchDecisionsRequest {
            from_position: None,
            kinds: vec![],
        })
        .await
        .unwrap()
        .into_inner();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let mut promises = PromiseServiceClient::new(server.channel().await);
        let request = promise(cart(), "10001", now());
        tasks.push(tokio::spawn(async move {
            for _ in 0..400 {
                promises
                    .get_delivery_promise(request.clone())
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let mut last = 0;
    let status = loop {
        match slow.next().await {
            Some(Ok(event)) => {
                assert_eq!(event.position, last + 1, "no gap before the end");
                last = event.position;
            }
            Some(Err(status)) => break status,
            None => panic!("the stream ended without an error after {last} events"),
        }
    };
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(last < 1600, "it fell behind");
    assert!(
        status
            .message()
            .contains(&format!("from_position = {last}")),
        "{status:?}"
    );
    let mut resumed = watch(&server, Some(last), vec![]).await.unwrap();
    assert_eq!(next_events(&mut resumed, 1).await[0].position, last + 1);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn watch_decisions_when_overloaded_is_resource_exhausted() {
    let saturated = Saturated::start().await;
    let status = saturated
        .refused(|channel| async move {
            Client::new(channel)
                .watch_decisions(pb::WatchDecisionsRequest {
                    from_position: None,
                    kinds: vec![],
                })
                .await
        })
        .await;
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    saturated.stop().await;
}

// --- ReplayDecision ---------------------------------------------------------

#[tokio::test]
async fn replay_decision_empty_or_malformed_id_is_invalid_argument_naming_decision_id() {
    let server = TestServer::serving().await;
    for id in ["", "not-a-ulid"] {
        let status = replay(&server, id).await.unwrap_err();
        assert_field_error(&status, Code::InvalidArgument, "decision_id");
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn replay_decision_unknown_decision_is_not_found_naming_decision_id() {
    let server = TestServer::serving().await;
    let status = replay(&server, UNKNOWN_ID).await.unwrap_err();
    assert_field_error(&status, Code::NotFound, "decision_id");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn replay_decision_of_a_promise_is_identical_with_no_differences_and_the_response_of_its_kind()
 {
    let server = TestServer::serving().await;
    let answer = quote(&server).await;
    let record = explain(&server, &answer.decision_id).await.unwrap();
    let replayed = replay(&server, &answer.decision_id).await.unwrap();
    assert!(replayed.identical, "{:?}", replayed.differences);
    assert!(replayed.differences.is_empty());
    assert_eq!(replayed.original, Some(record));
    let Some(pb::replay_decision_response::Response::PromiseResponse(again)) = replayed.response
    else {
        panic!("not a promise response: {:?}", replayed.response);
    };
    assert_eq!(again.options.len(), answer.options.len());
    server.stop().await.unwrap();
}

#[tokio::test]
async fn replay_decision_of_a_risk_decision_is_identical_with_the_response_of_its_kind() {
    let server = TestServer::serving().await;
    let assessment = score(&server, "o-replay-risk").await;
    let replayed = replay(&server, &assessment.decision_id).await.unwrap();
    assert!(replayed.identical, "{:?}", replayed.differences);
    assert!(replayed.differences.is_empty());
    let Some(pb::replay_decision_response::Response::RiskAssessment(again)) = replayed.response
    else {
        panic!("not a risk assessment: {:?}", replayed.response);
    };
    assert_eq!(again.decision, assessment.decision);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn replay_decision_reserves_nothing_and_records_nothing() {
    let mut config = test_config();
    config.stock.demo = false;
    let server = TestServer::start(config).await;
    server.wait_serving().await;
    let mut inventory = InventoryServiceClient::new(server.channel().await);
    crate::common::orders::stock_rows(&mut inventory, "DC-ATL", vec![("SKU-000001", 5)]).await;
    let answer = AllocationServiceClient::new(server.channel().await)
        .allocate(committed(
            order("o-replay", vec![line("a", "SKU-000001", 2)], "30301"),
            "key-replay",
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(answer.reservation.is_some());
    let held = level(&mut inventory, "SKU-000001", "DC-ATL").await;
    assert_eq!(held.reserved, 2);
    let mut live = watch(&server, None, vec![]).await.unwrap();

    let replayed = replay(&server, &answer.decision_id).await.unwrap();
    assert!(replayed.identical, "{:?}", replayed.differences);
    assert_eq!(
        level(&mut inventory, "SKU-000001", "DC-ATL").await,
        held,
        "nothing reserved"
    );
    // The next event on the feed is the next decision, not the replay.
    let marker = quote(&server).await;
    let event = next_events(&mut live, 1).await.remove(0);
    assert_eq!(event.decision_id, marker.decision_id, "nothing recorded");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn replay_decision_of_a_kind_that_cannot_be_replayed_is_failed_precondition() {
    let server = TestServer::serving().await;
    let answer = AllocationServiceClient::new(server.channel().await)
        .evaluate_plan(pb::EvaluatePlanRequest {
            order: Some(order("o-plan", vec![line("a", "SKU-000001", 1)], "30301")),
            plan: vec![pb::PlannedAssignment {
                line_id: "a".into(),
                node: "DC-ATL".into(),
                quantity: 1,
                service: None,
            }],
        })
        .await
        .unwrap()
        .into_inner();
    let status = replay(&server, &answer.decision_id).await.unwrap_err();
    assert_field_error(&status, Code::FailedPrecondition, "decision_id");
    assert!(
        status.message().contains("DECISION_KIND_PLAN_EVALUATION"),
        "{status:?}"
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn replay_decision_made_on_another_network_is_failed_precondition_naming_both() {
    let server = TestServer::serving().await;
    let answer = quote(&server).await;
    let recorded = explain(&server, &answer.decision_id)
        .await
        .unwrap()
        .network_hash;
    let server = server
        .restart_with(|config| config.network.demo_seed += 1)
        .await;
    let served = explain(&server, &quote(&server).await.decision_id)
        .await
        .unwrap()
        .network_hash;
    assert_ne!(served, recorded);
    let status = replay(&server, &answer.decision_id).await.unwrap_err();
    assert_field_error(&status, Code::FailedPrecondition, "decision_id");
    assert!(
        status.message().contains(&recorded) && status.message().contains(&served),
        "{status:?}"
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn replay_decision_made_with_another_model_version_is_failed_precondition_naming_both() {
    let models = models_copy(None);
    let mut config = test_config();
    config.models.dir = Some(models.path().to_path_buf());
    let server = TestServer::start(config).await;
    server.wait_serving().await;
    let assessment = score(&server, "o-model").await;
    let recorded = assessment.model_version.clone();

    let newer = models_copy(Some("fraud-2099.1.1-test"));
    let server = server
        .restart_with(|config| config.models.dir = Some(newer.path().to_path_buf()))
        .await;
    let status = replay(&server, &assessment.decision_id).await.unwrap_err();
    assert_field_error(&status, Code::FailedPrecondition, "decision_id");
    assert!(
        status.message().contains(&recorded) && status.message().contains("fraud-2099.1.1-test"),
        "{status:?}"
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn replay_decision_when_overloaded_is_resource_exhausted() {
    let saturated = Saturated::start().await;
    let status = saturated
        .refused(|channel| async move {
            Client::new(channel)
                .replay_decision(pb::ReplayDecisionRequest {
                    decision_id: UNKNOWN_ID.into(),
                })
                .await
                .map(drop)
                .or_else(|s| {
                    if s.code() == Code::NotFound {
                        Ok(())
                    } else {
                        Err(s)
                    }
                })
        })
        .await;
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    saturated.stop().await;
}
