//! Delivery promises through a real server: options agree with a following
//! Allocate of the same cart at the same level, a repeated cart comes from
//! the cache, errors name the field, and each quote is recorded and replays
//! identically after a restart.
#![allow(clippy::unwrap_used)] // a test may unwrap: a panic is its failure

mod common;

use std::collections::BTreeSet;

use allot_proto::v1 as pb;
use allot_proto::v1::allocation_service_client::AllocationServiceClient;
use allot_proto::v1::decision_service_client::DecisionServiceClient;
use allot_proto::v1::promise_service_client::PromiseServiceClient;
use common::TestServer;
use common::orders::line;
use tonic::Code;

fn destination(postal: &str) -> Option<pb::Destination> {
    Some(pb::Destination {
        location: Some(pb::destination::Location::PostalCode(postal.into())),
        country_code: "US".into(),
        ..Default::default()
    })
}

fn cart() -> Vec<pb::OrderLine> {
    vec![
        line("a", "SKU-000001", 1),
        line("b", "SKU-000002", 2),
        line("c", "SKU-000003", 1),
    ]
}

/// One order time for every quote of a test (a repeated cart must not
/// cross a 15-minute bucket between two calls).
fn order_time() -> prost_types::Timestamp {
    static AT: std::sync::OnceLock<prost_types::Timestamp> = std::sync::OnceLock::new();
    *AT.get_or_init(|| prost_types::Timestamp::from(std::time::SystemTime::now()))
}

fn promise(lines: Vec<pb::OrderLine>) -> pb::PromiseRequest {
    pb::PromiseRequest {
        lines,
        destination: destination("10001"),
        order_time: Some(order_time()),
        explain_unavailable: true,
        service_levels: Vec::new(),
    }
}

#[tokio::test]
async fn options_agree_with_allocate_and_repeat_from_cache() {
    let server = TestServer::serving().await;
    let mut promises = PromiseServiceClient::new(server.channel().await);
    let mut allocation = AllocationServiceClient::new(server.channel().await);
    let quote = promises
        .get_delivery_promise(promise(cart()))
        .await
        .unwrap()
        .into_inner();
    assert!(!quote.options.is_empty(), "the demo stock ships this cart");
    assert!(!quote.model_version.is_empty(), "the ETA model is loaded");
    assert!(!quote.decision_id.is_empty());
    assert_eq!(
        quote.options.len() + quote.unavailable.len(),
        4,
        "with explain_unavailable every level is an option or explained"
    );
    for u in &quote.unavailable {
        assert!(!u.reasons.is_empty(), "{u:?}");
    }
    let levels: Vec<i32> = quote.options.iter().map(|o| o.service_level).collect();
    let mut sorted = levels.clone();
    sorted.sort();
    assert_eq!(levels, sorted, "fastest first");

    for option in &quote.options {
        assert!(!option.from_cache);
        assert!(option.earliest_delivery_date <= option.latest_delivery_date);
        assert!((0.0..=1.0).contains(&option.on_time_probability));
        // The same cart allocated at the same level, whole (no backorders),
        // without a promise date so no lateness term: the same plan, and the
        // plan's shipping cost (package + transport + handling) equals the
        // option's cost; allocation's split and protection penalties come
        // on top of it in its objective.
        let answer = allocation
            .allocate(pb::AllocateRequest {
                order_id: format!("o-{}", option.service_level),
                lines: cart(),
                destination: destination("10001"),
                service_level: option.service_level,
                promised_by: None,
                options: Some(pb::AllocationOptions::default()),
                context: None,
            })
            .await
            .unwrap()
            .into_inner();
        let allocated: BTreeSet<(String, String, u32)> = answer
            .lines
            .iter()
            .flat_map(|l| {
                l.assignments
                    .iter()
                    .map(move |a| (l.line_id.clone(), a.node.clone(), a.quantity))
            })
            .collect();
        let promised: BTreeSet<(String, String, u32)> = option
            .ship_from
            .iter()
            .map(|s| (s.line_id.clone(), s.node.clone(), s.quantity))
            .collect();
        assert_eq!(promised, allocated, "level {}", option.service_level);
        let objective = answer.objective.unwrap();
        assert_eq!(
            option.cost_minor,
            objective.package_minor + objective.transport_minor + objective.handling_minor
        );
        let services: BTreeSet<&str> = answer
            .shipments
            .iter()
            .map(|s| s.service.as_str())
            .collect();
        assert!(services.contains(option.service.as_str()), "{services:?}");
    }

    // The same cart again (other line ids): every option from the cache,
    // the same plans and costs.
    let mut again_lines = cart();
    again_lines[0].line_id = "x".into();
    let again = promises
        .get_delivery_promise(promise(again_lines))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.options.len(), quote.options.len());
    for (a, b) in quote.options.iter().zip(&again.options) {
        assert!(b.from_cache, "level {}", b.service_level);
        assert_eq!(a.cost_minor, b.cost_minor);
        assert_eq!(a.ship_from.len(), b.ship_from.len());
        assert!(b.ship_from.iter().any(|s| s.line_id == "x"));
    }
    assert_ne!(again.decision_id, quote.decision_id);

    // Each quote is in the decision log.
    let record = DecisionServiceClient::new(server.channel().await)
        .explain_decision(pb::ExplainDecisionRequest {
            decision_id: quote.decision_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(record.kind, pb::DecisionKind::Promise as i32);
    assert!(!record.stock_read.is_empty());
    assert!(!record.capacity.is_empty());
    assert!(record.decided_at.is_some());
    assert!(
        record
            .model_versions
            .iter()
            .any(|m| m.version == quote.model_version)
    );
    assert!(record.state_recorded_by.is_empty());
    match record.response {
        Some(pb::decision_record::Response::PromiseResponse(r)) => assert_eq!(r, quote),
        other => panic!("not a promise response: {other:?}"),
    }
    // The quote from the cache refers to the first for the state they share.
    let cached = DecisionServiceClient::new(server.channel().await)
        .explain_decision(pb::ExplainDecisionRequest {
            decision_id: again.decision_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(cached.state_recorded_by, quote.decision_id);
    assert!(cached.stock_read.is_empty() && cached.capacity.is_empty());
    assert!(cached.stock_versions.is_empty() && cached.features.is_empty());
    match cached.response {
        Some(pb::decision_record::Response::PromiseResponse(r)) => assert_eq!(r, again),
        other => panic!("not a promise response: {other:?}"),
    }

    // Both quotes replay identically, also after a restart (the cached one
    // too: where a plan came from is not part of the decision).
    let server = server.restart().await;
    let mut decisions = DecisionServiceClient::new(server.channel().await);
    for id in [&quote.decision_id, &again.decision_id] {
        let replay = decisions
            .replay_decision(pb::ReplayDecisionRequest {
                decision_id: id.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert!(replay.identical, "{id}: {:?}", replay.differences);
        assert!(matches!(
            replay.response,
            Some(pb::replay_decision_response::Response::PromiseResponse(_))
        ));
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn bad_carts_name_the_field_and_unknown_skus_are_not_found() {
    let server = TestServer::serving().await;
    let mut client = PromiseServiceClient::new(server.channel().await);
    let mut no_destination = promise(cart());
    no_destination.destination = None;
    let mut unspecified = promise(cart());
    unspecified.service_levels = vec![pb::ServiceLevel::Unspecified as i32];
    let mut duplicate = cart();
    duplicate[2].line_id = "a".into();
    let cases = [
        (promise(vec![]), Code::InvalidArgument, "lines"),
        (
            promise(vec![line("a", "SKU-000001", 1), line("b", "SKU-000002", 0)]),
            Code::InvalidArgument,
            "lines[1].quantity",
        ),
        (
            promise(duplicate),
            Code::InvalidArgument,
            "lines[2].line_id",
        ),
        (no_destination, Code::InvalidArgument, "destination"),
        (unspecified, Code::InvalidArgument, "service_levels[0]"),
        (
            promise(vec![
                line("a", "SKU-000001", 1),
                line("b", "NO-SUCH-SKU", 1),
            ]),
            Code::NotFound,
            "lines[1].sku",
        ),
    ];
    for (request, code, field) in cases {
        let status = client.get_delivery_promise(request).await.unwrap_err();
        assert_eq!(status.code(), code, "{field}: {status:?}");
        assert!(
            status.message().starts_with(field),
            "{field}: {}",
            status.message()
        );
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_cached_quote_whose_state_record_was_pruned_replays_as_failed_precondition() {
    // A decision directory this test owns, so it outlives the first server.
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::test_config();
    let _ = std::fs::remove_dir_all(&config.decisions.dir);
    config.decisions.dir = dir.path().to_path_buf();
    let server = TestServer::start(config.clone()).await;
    server.wait_serving().await;
    let mut promises = PromiseServiceClient::new(server.channel().await);
    let first = promises
        .get_delivery_promise(promise(cart()))
        .await
        .unwrap()
        .into_inner();
    // The ULIDs' milliseconds must differ for a cutoff to fall between them.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let cached = promises
        .get_delivery_promise(promise(cart()))
        .await
        .unwrap()
        .into_inner();
    assert!(cached.options.iter().all(|o| o.from_cache));
    server.stop().await.unwrap();

    // Retention removes the older (full) record and keeps the reference.
    let key = |id: &str| allot_engine::decisions::decision_key(id).unwrap();
    let cutoff_ms = (key(&first.decision_id) >> 80) as u64 + 1;
    assert!(cutoff_ms <= (key(&cached.decision_id) >> 80) as u64);
    let store = allot_engine::decisions::DecisionStore::open(dir.path()).unwrap();
    let cutoff = std::time::UNIX_EPOCH + std::time::Duration::from_millis(cutoff_ms);
    assert_eq!(store.prune(cutoff).unwrap().0, 1, "only the full record");
    drop(store);

    let server = TestServer::start(config).await;
    server.wait_serving().await;
    let mut decisions = DecisionServiceClient::new(server.channel().await);
    let reference = decisions
        .explain_decision(pb::ExplainDecisionRequest {
            decision_id: cached.decision_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reference.state_recorded_by, first.decision_id);
    let err = decisions
        .replay_decision(pb::ReplayDecisionRequest {
            decision_id: cached.decision_id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert!(
        err.message().contains(&first.decision_id),
        "{}",
        err.message()
    );
    server.stop().await.unwrap();
}
