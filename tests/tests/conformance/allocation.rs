//! AllocationService: Allocate, ConfirmReservation, ReleaseReservation,
//! GetReservation and EvaluatePlan as proto/allot/v1/allocation.proto (and
//! the shared conventions of common.proto) promise them.

use std::time::{Duration, SystemTime};

use allot_proto::v1 as pb;
use allot_proto::v1::allocation_service_client::AllocationServiceClient;
use allot_proto::v1::decision_service_client::DecisionServiceClient;
use tonic::Code;
use tonic::transport::Channel;

use crate::common::orders::{committed, level, line, order, stocked_server};
use crate::common::{TestServer, test_config};

/// A server on the demo network and stock.
async fn demo() -> (TestServer, AllocationServiceClient<Channel>) {
    let server = TestServer::serving().await;
    let client = AllocationServiceClient::new(server.channel().await);
    (server, client)
}

/// A one-line quote of SKU-000001 to 10001.
fn simple(id: &str) -> pb::AllocateRequest {
    order(id, vec![line("a", "SKU-000001", 1)], "10001")
}

/// `request` without backorders.
fn strict(mut request: pb::AllocateRequest) -> pb::AllocateRequest {
    request
        .options
        .get_or_insert_with(Default::default)
        .allow_backorder = false;
    request
}

/// The status is `code` and its message starts with `field`.
fn assert_names(status: &tonic::Status, code: Code, field: &str) {
    assert_eq!(status.code(), code, "{field}: {status:?}");
    assert!(
        status.message().starts_with(&format!("{field}: ")),
        "the message should start with `{field}: `: {}",
        status.message()
    );
}

async fn refused(
    client: &mut AllocationServiceClient<Channel>,
    request: pb::AllocateRequest,
) -> tonic::Status {
    client.allocate(request).await.unwrap_err()
}

fn timestamp(at: SystemTime) -> prost_types::Timestamp {
    let d = at.duration_since(SystemTime::UNIX_EPOCH).unwrap();
    prost_types::Timestamp {
        seconds: d.as_secs() as i64,
        nanos: d.subsec_nanos() as i32,
    }
}

fn seconds(t: &Option<prost_types::Timestamp>) -> i64 {
    t.as_ref().unwrap().seconds
}

// --- Allocate: errors ---

#[tokio::test]
async fn allocate_empty_order_id_is_invalid_argument_naming_order_id() {
    let (_server, mut client) = demo().await;
    let status = refused(&mut client, simple("")).await;
    assert_names(&status, Code::InvalidArgument, "order_id");
}

#[tokio::test]
async fn allocate_no_lines_is_invalid_argument_naming_lines() {
    let (_server, mut client) = demo().await;
    let status = refused(&mut client, order("o", vec![], "10001")).await;
    assert_names(&status, Code::InvalidArgument, "lines");
}

#[tokio::test]
async fn allocate_duplicate_line_id_is_invalid_argument_naming_the_line() {
    let (_server, mut client) = demo().await;
    let lines = vec![
        line("a", "SKU-000001", 1),
        line("b", "SKU-000002", 1),
        line("a", "SKU-000003", 1),
    ];
    let status = refused(&mut client, order("o", lines, "10001")).await;
    assert_names(&status, Code::InvalidArgument, "lines[2].line_id");
}

#[tokio::test]
async fn allocate_empty_line_id_is_invalid_argument_naming_the_line() {
    let (_server, mut client) = demo().await;
    let status = refused(
        &mut client,
        order("o", vec![line("", "SKU-000001", 1)], "10001"),
    )
    .await;
    assert_names(&status, Code::InvalidArgument, "lines[0].line_id");
}

#[tokio::test]
async fn allocate_quantity_zero_is_invalid_argument_naming_the_quantity() {
    let (_server, mut client) = demo().await;
    let status = refused(
        &mut client,
        order("o", vec![line("a", "SKU-000001", 0)], "10001"),
    )
    .await;
    assert_names(&status, Code::InvalidArgument, "lines[0].quantity");
}

#[tokio::test]
async fn allocate_weight_zero_is_invalid_argument_naming_the_weight() {
    let (_server, mut client) = demo().await;
    let mut l = line("a", "SKU-000001", 1);
    l.weight_grams = Some(0);
    let status = refused(&mut client, order("o", vec![l], "10001")).await;
    assert_names(&status, Code::InvalidArgument, "lines[0].weight_grams");
}

#[tokio::test]
async fn allocate_unknown_sku_is_not_found_naming_the_sku() {
    let (_server, mut client) = demo().await;
    let status = refused(
        &mut client,
        order("o", vec![line("a", "NOPE-1", 1)], "10001"),
    )
    .await;
    assert_names(&status, Code::NotFound, "lines[0].sku");
    assert!(status.message().contains("NOPE-1"), "{}", status.message());
}

#[tokio::test]
async fn allocate_missing_destination_location_is_invalid_argument_naming_it() {
    let (_server, mut client) = demo().await;
    let mut request = simple("o");
    request.destination.as_mut().unwrap().location = None;
    let status = refused(&mut client, request).await;
    assert_names(&status, Code::InvalidArgument, "destination.location");
}

#[tokio::test]
async fn allocate_unresolvable_postal_code_is_invalid_argument_naming_it() {
    let (_server, mut client) = demo().await;
    for postal in ["!!!", "00000"] {
        let status = refused(
            &mut client,
            order("o", vec![line("a", "SKU-000001", 1)], postal),
        )
        .await;
        assert_names(&status, Code::InvalidArgument, "destination.postal_code");
    }
}

#[tokio::test]
async fn allocate_coordinates_out_of_range_are_invalid_argument_naming_them() {
    let (_server, mut client) = demo().await;
    for (lat, lon) in [(90.5, 0.0), (0.0, -180.5)] {
        let mut request = simple("o");
        request.destination.as_mut().unwrap().location =
            Some(pb::destination::Location::Coordinates(pb::GeoPoint {
                lat,
                lon,
            }));
        let status = refused(&mut client, request).await;
        assert_names(&status, Code::InvalidArgument, "destination.coordinates");
    }
}

#[tokio::test]
async fn allocate_a_country_the_network_does_not_serve_is_invalid_argument_naming_it() {
    let (_server, mut client) = demo().await;
    let mut request = simple("o");
    request.destination.as_mut().unwrap().country_code = "ZZ".into();
    let status = refused(&mut client, request).await;
    assert_names(&status, Code::InvalidArgument, "destination.country_code");
    // Empty means the network's own country.
    let mut request = simple("o-2");
    request.destination.as_mut().unwrap().country_code = String::new();
    client.allocate(request).await.unwrap();
}

#[tokio::test]
async fn allocate_commit_without_idempotency_key_is_invalid_argument_naming_it() {
    let (_server, mut client) = demo().await;
    let status = refused(&mut client, committed(simple("o"), "")).await;
    assert_names(&status, Code::InvalidArgument, "options.idempotency_key");
}

#[tokio::test]
async fn allocate_reservation_ttl_out_of_range_is_invalid_argument_naming_it() {
    let (_server, mut client) = demo().await;
    for ttl in [
        prost_types::Duration {
            seconds: 0,
            nanos: 0,
        },
        prost_types::Duration {
            seconds: 8 * 86_400,
            nanos: 0,
        },
    ] {
        let mut request = committed(simple("o"), "k-ttl");
        request.options.as_mut().unwrap().reservation_ttl = Some(ttl);
        let status = refused(&mut client, request).await;
        assert_names(&status, Code::InvalidArgument, "options.reservation_ttl");
    }
}

#[tokio::test]
async fn allocate_max_splits_zero_is_invalid_argument_naming_it() {
    let (_server, mut client) = demo().await;
    let mut request = simple("o");
    request.options.as_mut().unwrap().max_splits = Some(0);
    let status = refused(&mut client, request).await;
    assert_names(&status, Code::InvalidArgument, "options.max_splits");
}

#[tokio::test]
async fn allocate_promised_by_in_the_past_is_invalid_argument_naming_it() {
    let (_server, mut client) = demo().await;
    let mut request = simple("o");
    request.promised_by = Some(timestamp(SystemTime::now() - Duration::from_secs(86_400)));
    let status = refused(&mut client, request).await;
    assert_names(&status, Code::InvalidArgument, "promised_by");
}

#[tokio::test]
async fn allocate_unknown_excluded_node_is_not_found_naming_it() {
    let (_server, mut client) = demo().await;
    let mut request = simple("o");
    request.options.as_mut().unwrap().excluded_nodes = vec!["DC-NOWHERE".into()];
    let status = refused(&mut client, request).await;
    assert_names(&status, Code::NotFound, "options.excluded_nodes[0]");
    assert!(
        status.message().contains("DC-NOWHERE"),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn allocate_same_key_with_another_request_is_already_exists() {
    let (_server, mut client) = demo().await;
    client
        .allocate(committed(simple("o-1"), "k-1"))
        .await
        .unwrap();
    let other = committed(
        order("o-1", vec![line("a", "SKU-000002", 1)], "10001"),
        "k-1",
    );
    let status = refused(&mut client, other).await;
    assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");
    assert!(
        status.message().starts_with("options.idempotency_key: "),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn allocate_a_deadline_no_longer_than_the_margin_is_deadline_exceeded_at_once() {
    let mut config = test_config();
    config.allocation.deadline_margin_ms = 50;
    let server = TestServer::start(config).await;
    server.wait_serving().await;
    let mut client = AllocationServiceClient::new(server.channel().await);
    let mut request = tonic::Request::new(simple("o"));
    request
        .metadata_mut()
        .insert("grpc-timeout", "40m".parse().unwrap());
    let status = client.allocate(request).await.unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
}

// --- Allocate: deadlines ---

#[tokio::test]
async fn allocate_a_budget_spent_before_the_solve_answers_the_greedy_plan_with_deadline_fallback() {
    // A 30 s margin and a deadline 1 ms longer: the server's budget is 1 ms,
    // spent before the solver starts, while the caller still waits 30 s for
    // the answer. The contract: a plan exists, so the answer is that plan,
    // OK, flagged as a fallback, never DEADLINE_EXCEEDED.
    let mut config = test_config();
    config.allocation.deadline_margin_ms = 30_000;
    let server = TestServer::start(config).await;
    server.wait_serving().await;
    let mut client = AllocationServiceClient::new(server.channel().await);
    let lines = (1..=40)
        .map(|i| line(&format!("l{i}"), &format!("SKU-{:06}", i * 7), 1 + i % 3))
        .collect();
    let mut request = tonic::Request::new(order("o-tight", lines, "10001"));
    request
        .metadata_mut()
        .insert("grpc-timeout", "30001m".parse().unwrap());
    let answer = client.allocate(request).await.unwrap().into_inner();
    let solver = answer.solver.unwrap();
    assert_eq!(
        solver.status,
        pb::SolverStatus::TimeLimit as i32,
        "{solver:?}"
    );
    assert_eq!(solver.method, "greedy-fallback");
    assert!(solver.gap > 0.0 && solver.gap <= 1.0, "{solver:?}");
    assert!(!answer.shipments.is_empty());
    for l in &answer.lines {
        assert!(
            l.reasons
                .iter()
                .any(|r| r.code == pb::ReasonCode::DeadlineFallback as i32),
            "{}: {:?}",
            l.line_id,
            l.reasons
        );
    }
    // No time was left to explain: alternatives are unknown, not wrong.
    assert!(
        answer
            .used_node_alternatives
            .iter()
            .all(|a| a.cost_without_minor.is_none())
    );
}

// --- Allocate: business outcomes are answers, not errors ---

#[tokio::test]
async fn allocate_an_order_that_cannot_be_filled_is_ok_and_unfulfillable_with_reasons() {
    let (_server, mut client, mut inventory) =
        stocked_server(vec![("DC-ATL", vec![("SKU-000001", 2)])]).await;
    let answer = client
        .allocate(committed(
            strict(order("o", vec![line("a", "SKU-000001", 5)], "10001")),
            "k-u",
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        answer.disposition,
        pb::OrderDisposition::Unfulfillable as i32
    );
    assert!(answer.reservation.is_none(), "nothing is reserved");
    assert!(!answer.lines[0].reasons.is_empty(), "the reasons say why");
    assert_eq!(
        level(&mut inventory, "SKU-000001", "DC-ATL").await.reserved,
        0
    );
}

#[tokio::test]
async fn allocate_without_candidates_is_skipped_with_method_none() {
    let (_server, mut client, _inventory) = stocked_server(vec![]).await;
    let answer = client
        .allocate(order("o", vec![line("a", "SKU-000001", 2)], "10001"))
        .await
        .unwrap()
        .into_inner();
    let solver = answer.solver.unwrap();
    assert_eq!(solver.status, pb::SolverStatus::Skipped as i32);
    assert_eq!(solver.method, "none");
    assert_eq!(answer.disposition, pb::OrderDisposition::Backordered as i32);
    assert_eq!(answer.lines[0].backordered_quantity, 2);
}

#[tokio::test]
async fn allocate_one_candidate_is_single_node_and_optimal() {
    let (_server, mut client, _inventory) =
        stocked_server(vec![("DC-ATL", vec![("SKU-000001", 5)])]).await;
    let answer = client
        .allocate(order("o", vec![line("a", "SKU-000001", 2)], "10001"))
        .await
        .unwrap()
        .into_inner();
    let solver = answer.solver.unwrap();
    assert_eq!(solver.status, pb::SolverStatus::Optimal as i32);
    assert_eq!(solver.method, "single-node");
    assert_eq!(solver.nodes_explored, 0);
    assert_eq!(solver.gap, 0.0);
}

// --- Allocate: defaults ---

#[tokio::test]
async fn allocate_absent_options_quote_without_reserving_or_backordering() {
    let (_server, mut client, mut inventory) =
        stocked_server(vec![("DC-ATL", vec![("SKU-000001", 2)])]).await;
    let mut request = order("o", vec![line("a", "SKU-000001", 1)], "10001");
    request.options = None;
    let answer = client.allocate(request).await.unwrap().into_inner();
    assert_eq!(answer.disposition, pb::OrderDisposition::Allocated as i32);
    assert!(answer.reservation.is_none());
    assert_eq!(
        level(&mut inventory, "SKU-000001", "DC-ATL").await.reserved,
        0
    );
    // allow_backorder defaults to false: more than exists is unfulfillable.
    let mut request = order("o-2", vec![line("a", "SKU-000001", 3)], "10001");
    request.options = None;
    let answer = client.allocate(request).await.unwrap().into_inner();
    assert_eq!(
        answer.disposition,
        pb::OrderDisposition::Unfulfillable as i32
    );
}

#[tokio::test]
async fn allocate_unspecified_service_level_ships_a_real_level() {
    let (_server, mut client) = demo().await;
    let mut request = simple("o");
    request.service_level = pb::ServiceLevel::Unspecified as i32;
    let answer = client.allocate(request).await.unwrap().into_inner();
    assert!(!answer.shipments.is_empty());
    for s in &answer.shipments {
        assert_ne!(
            s.service_level,
            pb::ServiceLevel::Unspecified as i32,
            "{s:?}"
        );
    }
}

#[tokio::test]
async fn allocate_without_promised_by_has_no_lateness_penalty_and_no_late_risk() {
    let (_server, mut client) = demo().await;
    let answer = client.allocate(simple("o")).await.unwrap().into_inner();
    assert_eq!(answer.objective.unwrap().lateness_penalty_minor, 0);
    for s in &answer.shipments {
        assert_eq!(s.lateness_penalty_minor, 0);
    }
    assert!(
        answer
            .lines
            .iter()
            .flat_map(|l| &l.reasons)
            .all(|r| r.code != pb::ReasonCode::LateRisk as i32)
    );
}

#[tokio::test]
async fn allocate_without_context_is_not_scored_and_never_held() {
    let (_server, mut client) = demo().await;
    let answer = client.allocate(simple("o")).await.unwrap().into_inner();
    assert!(answer.risk.is_none());
    assert_eq!(answer.disposition, pb::OrderDisposition::Allocated as i32);
}

#[tokio::test]
async fn allocate_with_a_guest_context_is_scored_and_says_what_was_missing() {
    let (_server, mut client) = demo().await;
    let mut request = simple("o-guest");
    request.context = Some(pb::OrderContext {
        email: "guest@example.com".into(),
        ..Default::default()
    });
    let answer = client.allocate(request).await.unwrap().into_inner();
    let risk = answer.risk.unwrap();
    assert_ne!(risk.decision, pb::RiskDecision::Unspecified as i32);
    assert!(
        risk.missing_signals
            .contains(&"context.customer_id".to_string())
    );
    assert!(!risk.missing_signals.contains(&"context.email".to_string()));
}

#[tokio::test]
async fn allocate_absent_reservation_ttl_holds_for_the_default_fifteen_minutes() {
    let (_server, mut client) = demo().await;
    let answer = client
        .allocate(committed(simple("o"), "k-ttl-default"))
        .await
        .unwrap()
        .into_inner();
    let held = answer.reservation.unwrap();
    assert_eq!(held.state, pb::ReservationState::Held as i32);
    assert!(held.ended_at.is_none(), "no end while HELD");
    let ttl = seconds(&held.expires_at) - seconds(&held.created_at);
    assert!((899..=901).contains(&ttl), "ttl {ttl} s");
}

#[tokio::test]
async fn allocate_ship_complete_ships_from_one_node() {
    let (_server, mut client, _inventory) = stocked_server(vec![
        ("DC-ATL", vec![("SKU-000001", 5)]),
        ("DC-DFW", vec![("SKU-000002", 5)]),
        ("DC-ABE", vec![("SKU-000001", 5), ("SKU-000002", 5)]),
    ])
    .await;
    let mut request = order(
        "o",
        vec![line("a", "SKU-000001", 1), line("b", "SKU-000002", 1)],
        "30301",
    );
    request.options.as_mut().unwrap().ship_complete = true;
    let answer = client.allocate(request).await.unwrap().into_inner();
    assert_eq!(answer.shipments.len(), 1, "{:?}", answer.shipments);
    assert_eq!(answer.shipments[0].node, "DC-ABE");
}

#[tokio::test]
async fn allocate_max_splits_limits_the_shipping_nodes() {
    let (_server, mut client, _inventory) = stocked_server(vec![
        ("DC-ATL", vec![("SKU-000001", 2)]),
        ("DC-DFW", vec![("SKU-000001", 2)]),
        ("DC-ABE", vec![("SKU-000001", 2)]),
    ])
    .await;
    let mut request = order("o", vec![line("a", "SKU-000001", 6)], "10001");
    let open = client.allocate(request.clone()).await.unwrap().into_inner();
    assert_eq!(open.shipments.len(), 3);
    request.options.as_mut().unwrap().max_splits = Some(2);
    let limited = client.allocate(request).await.unwrap().into_inner();
    assert_eq!(limited.shipments.len(), 2);
    assert_eq!(
        limited.disposition,
        pb::OrderDisposition::PartiallyBackordered as i32
    );
}

#[tokio::test]
async fn allocate_excluded_nodes_never_ship_and_say_so() {
    let (_server, mut client, _inventory) = stocked_server(vec![
        ("DC-ATL", vec![("SKU-000001", 5)]),
        ("DC-DFW", vec![("SKU-000001", 5)]),
    ])
    .await;
    let first = client
        .allocate(order("o", vec![line("a", "SKU-000001", 1)], "30301"))
        .await
        .unwrap()
        .into_inner();
    let used = first.shipments[0].node.clone();
    let mut request = order("o", vec![line("a", "SKU-000001", 1)], "30301");
    request.options.as_mut().unwrap().excluded_nodes = vec![used.clone()];
    let answer = client.allocate(request).await.unwrap().into_inner();
    assert!(answer.shipments.iter().all(|s| s.node != used));
    let excluded = answer.excluded.iter().find(|e| e.node == used).unwrap();
    assert!(
        excluded
            .reasons
            .iter()
            .any(|r| r.code == pb::ReasonCode::ExcludedByRequest as i32)
    );
}

// --- Allocate: the answer's shape ---

#[tokio::test]
async fn allocate_answers_every_line_in_request_order_and_its_units_add_up() {
    let (_server, mut client) = demo().await;
    let lines = vec![
        line("z", "SKU-000003", 2),
        line("a", "SKU-000001", 1),
        line("m", "SKU-000002", 3),
    ];
    let answer = client
        .allocate(order("o", lines, "10001"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.order_id, "o");
    let ids: Vec<&str> = answer.lines.iter().map(|l| l.line_id.as_str()).collect();
    assert_eq!(ids, ["z", "a", "m"]);
    for l in &answer.lines {
        let assigned: u32 = l.assignments.iter().map(|a| a.quantity).sum();
        assert_eq!(assigned + l.backordered_quantity, l.quantity, "{l:?}");
        assert!(l.assignments.iter().all(|a| a.quantity >= 1));
        let nodes: Vec<&str> = l.assignments.iter().map(|a| a.node.as_str()).collect();
        assert!(nodes.is_sorted(), "assignments by node code: {nodes:?}");
    }
}

#[tokio::test]
async fn allocate_costs_add_up_and_shipments_are_ordered_by_node() {
    let (_server, mut client) = demo().await;
    let lines = (1..=8)
        .map(|i| line(&format!("l{i}"), &format!("SKU-{:06}", i * 11), 2))
        .collect();
    let answer = client
        .allocate(order("o", lines, "10001"))
        .await
        .unwrap()
        .into_inner();
    let nodes: Vec<&str> = answer.shipments.iter().map(|s| s.node.as_str()).collect();
    assert!(nodes.is_sorted(), "{nodes:?}");
    for s in &answer.shipments {
        assert_eq!(
            s.total_cost_minor,
            s.package_cost_minor
                + s.transport_cost_minor
                + s.handling_cost_minor
                + s.lateness_penalty_minor,
            "{s:?}"
        );
    }
    let o = answer.objective.unwrap();
    assert_eq!(
        o.total_minor,
        o.package_minor
            + o.transport_minor
            + o.handling_minor
            + o.split_penalty_minor
            + o.lateness_penalty_minor
            + o.protection_penalty_minor
            + o.backorder_penalty_minor
    );
    let excluded: Vec<&str> = answer.excluded.iter().map(|e| e.node.as_str()).collect();
    assert!(excluded.is_sorted(), "{excluded:?}");
}

#[tokio::test]
async fn allocate_runners_up_are_at_most_five_unused_nodes_cheapest_first() {
    let rows: Vec<(&str, Vec<(&str, i64)>)> = [
        "DC-ATL", "DC-DFW", "DC-ABE", "DC-ONT", "DC-MEM", "DC-CHI", "DC-RNO", "DC-CMH",
    ]
    .into_iter()
    .map(|node| (node, vec![("SKU-000001", 5)]))
    .collect();
    let (_server, mut client, _inventory) = stocked_server(rows).await;
    let answer = client
        .allocate(order("o", vec![line("a", "SKU-000001", 1)], "30301"))
        .await
        .unwrap()
        .into_inner();
    let used: Vec<&str> = answer.shipments.iter().map(|s| s.node.as_str()).collect();
    assert!(!answer.runners_up.is_empty());
    assert!(answer.runners_up.len() <= 5, "{:?}", answer.runners_up);
    let mut last = i64::MIN;
    for r in &answer.runners_up {
        assert!(!used.contains(&r.node.as_str()), "{} is used", r.node);
        assert!(r.cost_difference_minor >= 0, "{r:?}");
        assert!(r.cost_difference_minor >= last, "cheapest first: {r:?}");
        last = r.cost_difference_minor;
        let reason = r.binding_reason.as_ref().unwrap();
        assert_ne!(reason.code, pb::ReasonCode::Unspecified as i32);
    }
}

#[tokio::test]
async fn allocate_lists_the_cost_without_each_used_node() {
    let (_server, mut client, _inventory) = stocked_server(vec![
        ("DC-ATL", vec![("SKU-000001", 5)]),
        ("DC-DFW", vec![("SKU-000001", 5)]),
    ])
    .await;
    let answer = client
        .allocate(order("o", vec![line("a", "SKU-000001", 1)], "30301"))
        .await
        .unwrap()
        .into_inner();
    let used: Vec<&str> = answer.shipments.iter().map(|s| s.node.as_str()).collect();
    let listed: Vec<&str> = answer
        .used_node_alternatives
        .iter()
        .map(|a| a.node.as_str())
        .collect();
    assert_eq!(used, listed);
    let total = answer.objective.unwrap().total_minor;
    for a in &answer.used_node_alternatives {
        // The other DC can ship it: the cost without is known and not lower.
        assert!(a.cost_without_minor.unwrap() >= total, "{a:?}");
    }
}

#[tokio::test]
async fn allocate_never_sends_unspecified_values() {
    let (_server, mut client) = demo().await;
    let answer = client
        .allocate(order(
            "o",
            vec![line("a", "SKU-000001", 2), line("b", "SKU-000009", 1)],
            "60601",
        ))
        .await
        .unwrap()
        .into_inner();
    assert_ne!(answer.disposition, pb::OrderDisposition::Unspecified as i32);
    assert_ne!(
        answer.solver.unwrap().status,
        pb::SolverStatus::Unspecified as i32
    );
    let reasons = answer
        .lines
        .iter()
        .flat_map(|l| &l.reasons)
        .chain(answer.excluded.iter().flat_map(|e| &e.reasons))
        .chain(
            answer
                .runners_up
                .iter()
                .filter_map(|r| r.binding_reason.as_ref()),
        );
    for r in reasons {
        assert_ne!(r.code, pb::ReasonCode::Unspecified as i32, "{r:?}");
        assert!(!r.message.is_empty(), "{r:?}");
    }
    for l in &answer.lines {
        assert!(
            !l.reasons.is_empty(),
            "every decision carries reasons: {l:?}"
        );
    }
}

#[tokio::test]
async fn allocate_the_same_network_stock_and_request_give_the_same_answer() {
    let (_server, mut client) = demo().await;
    let request = order(
        "o",
        vec![line("a", "SKU-000004", 3), line("b", "SKU-000005", 1)],
        "94105",
    );
    let mut a = client.allocate(request.clone()).await.unwrap().into_inner();
    let mut b = client.allocate(request).await.unwrap().into_inner();
    assert_ne!(a.decision_id, b.decision_id, "each decision has its own id");
    for answer in [&mut a, &mut b] {
        answer.decision_id.clear();
        let solver = answer.solver.as_mut().unwrap();
        solver.solve_time_us = 0;
        solver.nodes_explored = 0;
        // Delivery windows are predicted from the moment of the decision.
        for s in &mut answer.shipments {
            s.delivery_window = None;
        }
    }
    assert_eq!(a, b);
}

#[tokio::test]
async fn allocate_retry_with_the_same_key_returns_the_first_answer_without_reserving_twice() {
    let (_server, mut client, mut inventory) =
        stocked_server(vec![("DC-ATL", vec![("SKU-000001", 10)])]).await;
    let request = committed(order("o", vec![line("a", "SKU-000001", 3)], "30301"), "k-r");
    let first = client.allocate(request.clone()).await.unwrap().into_inner();
    let again = client.allocate(request).await.unwrap().into_inner();
    assert_eq!(first.decision_id, again.decision_id);
    assert_eq!(
        first.reservation.as_ref().unwrap().reservation_id,
        again.reservation.as_ref().unwrap().reservation_id
    );
    assert_eq!(
        level(&mut inventory, "SKU-000001", "DC-ATL").await.reserved,
        3
    );
}

// --- Reservations ---

/// A held reservation of 2 units of SKU-000001 at DC-ATL.
async fn held(client: &mut AllocationServiceClient<Channel>, key: &str) -> pb::Reservation {
    client
        .allocate(committed(
            order(key, vec![line("a", "SKU-000001", 2)], "30301"),
            key,
        ))
        .await
        .unwrap()
        .into_inner()
        .reservation
        .unwrap()
}

/// Events of the decision feed about `reservation`, read up to the event of
/// a sentinel quote allocated after everything else.
async fn reservation_events(server: &TestServer, reservation: &str) -> Vec<pb::DecisionEvent> {
    let mut allocation = AllocationServiceClient::new(server.channel().await);
    allocation.allocate(simple("sentinel")).await.unwrap();
    let mut decisions = DecisionServiceClient::new(server.channel().await);
    let mut feed = decisions
        .watch_decisions(pb::WatchDecisionsRequest {
            from_position: Some(0),
            kinds: vec![],
        })
        .await
        .unwrap()
        .into_inner();
    let mut events = Vec::new();
    while let Some(event) = feed.message().await.unwrap() {
        if event.order_id == "sentinel" {
            break;
        }
        if event.reservation_id == reservation {
            events.push(event);
        }
    }
    events
}

fn kinds(events: &[pb::DecisionEvent]) -> Vec<i32> {
    events.iter().map(|e| e.kind).collect()
}

#[tokio::test]
async fn confirm_reservation_ships_the_units_and_a_repeat_changes_nothing_and_emits_nothing() {
    let (server, mut client, mut inventory) =
        stocked_server(vec![("DC-ATL", vec![("SKU-000001", 10)])]).await;
    let reservation = held(&mut client, "k-c").await;
    let id = reservation.reservation_id.clone();
    let confirm = || pb::ConfirmReservationRequest {
        reservation_id: id.clone(),
    };
    let first = client
        .confirm_reservation(confirm())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.state, pb::ReservationState::Confirmed as i32);
    assert!(first.ended_at.is_some());
    let after = level(&mut inventory, "SKU-000001", "DC-ATL").await;
    assert_eq!((after.on_hand, after.reserved), (8, 0));
    let again = client
        .confirm_reservation(confirm())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first, again);
    let after_again = level(&mut inventory, "SKU-000001", "DC-ATL").await;
    assert_eq!(after_again.on_hand, 8, "confirmed once");
    let events = reservation_events(&server, &id).await;
    let confirmed = kinds(&events)
        .into_iter()
        .filter(|k| *k == pb::DecisionEventKind::ReservationConfirmed as i32)
        .count();
    assert_eq!(confirmed, 1, "{events:?}");
}

#[tokio::test]
async fn confirm_reservation_errors_name_the_field_and_the_state() {
    let (_server, mut client, _inventory) =
        stocked_server(vec![("DC-ATL", vec![("SKU-000001", 10)])]).await;
    let status = client
        .confirm_reservation(pb::ConfirmReservationRequest {
            reservation_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_names(&status, Code::InvalidArgument, "reservation_id");
    let status = client
        .confirm_reservation(pb::ConfirmReservationRequest {
            reservation_id: "01J00000000000000000000000".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    let released = held(&mut client, "k-cr").await;
    client
        .release_reservation(pb::ReleaseReservationRequest {
            reservation_id: released.reservation_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let status = client
        .confirm_reservation(pb::ConfirmReservationRequest {
            reservation_id: released.reservation_id,
        })
        .await
        .unwrap_err();
    assert_names(&status, Code::FailedPrecondition, "reservation_id");
    assert!(
        status.message().contains("released"),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn release_reservation_frees_the_units_and_a_repeat_changes_nothing_and_emits_nothing() {
    let (server, mut client, mut inventory) =
        stocked_server(vec![("DC-ATL", vec![("SKU-000001", 10)])]).await;
    let reservation = held(&mut client, "k-rl").await;
    let id = reservation.reservation_id.clone();
    assert_eq!(
        level(&mut inventory, "SKU-000001", "DC-ATL").await.reserved,
        2
    );
    let release = || pb::ReleaseReservationRequest {
        reservation_id: id.clone(),
        reason: pb::ReleaseReason::OrderCancelled as i32,
        note: "customer changed their mind".into(),
    };
    let first = client
        .release_reservation(release())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.state, pb::ReservationState::Released as i32);
    let after = level(&mut inventory, "SKU-000001", "DC-ATL").await;
    assert_eq!((after.on_hand, after.reserved), (10, 0));
    let again = client
        .release_reservation(release())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first, again);
    let events = reservation_events(&server, &id).await;
    let released: Vec<_> = events
        .iter()
        .filter(|e| e.kind == pb::DecisionEventKind::ReservationReleased as i32)
        .collect();
    assert_eq!(released.len(), 1, "{events:?}");
    // The reason and the note reach the decision log.
    assert!(
        released[0].summary.contains("order_cancelled"),
        "{:?}",
        released[0]
    );
    // The note is free text: only its keyed hash is logged.
    assert!(!released[0].summary.contains("changed their mind"));
    assert!(
        released[0].summary.contains("; note: hmac:"),
        "{:?}",
        released[0]
    );
}

#[tokio::test]
async fn release_reservation_errors_name_the_field_and_the_state() {
    let (_server, mut client, _inventory) =
        stocked_server(vec![("DC-ATL", vec![("SKU-000001", 10)])]).await;
    let status = client
        .release_reservation(pb::ReleaseReservationRequest::default())
        .await
        .unwrap_err();
    assert_names(&status, Code::InvalidArgument, "reservation_id");
    let status = client
        .release_reservation(pb::ReleaseReservationRequest {
            reservation_id: "01J00000000000000000000000".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    let reservation = held(&mut client, "k-rn").await;
    let status = client
        .release_reservation(pb::ReleaseReservationRequest {
            reservation_id: reservation.reservation_id.clone(),
            note: "x".repeat(501),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_names(&status, Code::InvalidArgument, "note");
    client
        .confirm_reservation(pb::ConfirmReservationRequest {
            reservation_id: reservation.reservation_id.clone(),
        })
        .await
        .unwrap();
    let status = client
        .release_reservation(pb::ReleaseReservationRequest {
            reservation_id: reservation.reservation_id,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
}

#[tokio::test]
async fn get_reservation_reads_without_changing_and_orders_units_by_line_then_node() {
    let (_server, mut client, mut inventory) = stocked_server(vec![
        ("DC-ATL", vec![("SKU-000001", 1), ("SKU-000002", 5)]),
        ("DC-DFW", vec![("SKU-000001", 5)]),
    ])
    .await;
    let answer = client
        .allocate(committed(
            order(
                "o",
                vec![line("b", "SKU-000002", 1), line("a", "SKU-000001", 3)],
                "30301",
            ),
            "k-g",
        ))
        .await
        .unwrap()
        .into_inner();
    let made = answer.reservation.unwrap();
    let read = |id: String| pb::GetReservationRequest { reservation_id: id };
    let got = client
        .get_reservation(read(made.reservation_id.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got, made);
    assert_eq!(got.decision_id, answer.decision_id);
    let keys: Vec<(&str, &str)> = got
        .units
        .iter()
        .map(|u| (u.line_id.as_str(), u.node.as_str()))
        .collect();
    assert!(keys.is_sorted(), "{keys:?}");
    assert!(got.units.iter().all(|u| u.quantity >= 1));
    let again = client
        .get_reservation(read(made.reservation_id.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got, again);
    assert_eq!(
        level(&mut inventory, "SKU-000002", "DC-ATL").await.reserved,
        1
    );
    let status = client
        .get_reservation(read(String::new()))
        .await
        .unwrap_err();
    assert_names(&status, Code::InvalidArgument, "reservation_id");
    let status = client
        .get_reservation(read("01J00000000000000000000000".into()))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
}

// --- EvaluatePlan ---

fn plan(line_id: &str, node: &str, quantity: u32) -> pb::PlannedAssignment {
    pb::PlannedAssignment {
        line_id: line_id.into(),
        node: node.into(),
        quantity,
        service: None,
    }
}

fn evaluation(
    order: pb::AllocateRequest,
    plan: Vec<pb::PlannedAssignment>,
) -> pb::EvaluatePlanRequest {
    pb::EvaluatePlanRequest {
        order: Some(order),
        plan,
    }
}

#[tokio::test]
async fn evaluate_plan_refuses_commit_an_empty_plan_and_a_zero_quantity_naming_the_field() {
    let (_server, mut client) = demo().await;
    let status = client
        .evaluate_plan(evaluation(
            committed(simple("o"), "k"),
            vec![plan("a", "DC-ATL", 1)],
        ))
        .await
        .unwrap_err();
    assert_names(&status, Code::InvalidArgument, "order.options.commit");
    let status = client
        .evaluate_plan(evaluation(simple("o"), vec![]))
        .await
        .unwrap_err();
    assert_names(&status, Code::InvalidArgument, "plan");
    let status = client
        .evaluate_plan(evaluation(
            simple("o"),
            vec![plan("a", "DC-ATL", 1), plan("a", "DC-DFW", 0)],
        ))
        .await
        .unwrap_err();
    assert_names(&status, Code::InvalidArgument, "plan[1].quantity");
    // Errors as Allocate, with the order's fields under `order.`.
    let status = client
        .evaluate_plan(evaluation(
            order("o", vec![line("a", "SKU-000001", 0)], "10001"),
            vec![plan("a", "DC-ATL", 1)],
        ))
        .await
        .unwrap_err();
    assert_names(&status, Code::InvalidArgument, "order.lines[0].quantity");
}

#[tokio::test]
async fn evaluate_plan_reports_unknown_nodes_lines_and_services_as_violations_in_order() {
    let (_server, mut client, _inventory) = stocked_server(vec![
        ("DC-ATL", vec![("SKU-000001", 5)]),
        ("DC-DFW", vec![("SKU-000001", 5)]),
    ])
    .await;
    let mut unknown_service = plan("a", "DC-DFW", 1);
    unknown_service.service = Some("NO-SUCH-SERVICE".into());
    let answer = client
        .evaluate_plan(evaluation(
            strict(order("o", vec![line("a", "SKU-000001", 3)], "30301")),
            vec![
                plan("zz", "DC-ATL", 1),
                plan("a", "DC-NOWHERE", 1),
                unknown_service,
                plan("a", "DC-ATL", 1),
            ],
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(!answer.feasible);
    let kinds: Vec<(i32, &str, &str)> = answer
        .violations
        .iter()
        .map(|v| (v.kind, v.line_id.as_str(), v.node.as_str()))
        .collect();
    let has = |kind: pb::PlanViolationKind, line: &str, node: &str| {
        kinds.contains(&(kind as i32, line, node))
    };
    assert!(
        has(pb::PlanViolationKind::QuantityMismatch, "zz", "DC-ATL"),
        "{kinds:?}"
    );
    assert!(
        has(pb::PlanViolationKind::UnknownNode, "a", "DC-NOWHERE"),
        "{kinds:?}"
    );
    assert!(
        has(pb::PlanViolationKind::UnknownNode, "a", "DC-DFW"),
        "{kinds:?}"
    );
    let order: Vec<(&str, &str)> = kinds.iter().map(|(_, l, n)| (*l, *n)).collect();
    assert!(order.is_sorted(), "ordered by line id then node: {order:?}");
}

#[tokio::test]
async fn evaluate_plan_prices_the_planned_service_and_refuses_one_the_node_cannot_use() {
    let (_server, mut client, _inventory) =
        stocked_server(vec![("DC-ATL", vec![("SKU-000001", 5)])]).await;
    let request = order("o", vec![line("a", "SKU-000001", 1)], "30301");
    let cheapest = client
        .evaluate_plan(evaluation(request.clone(), vec![plan("a", "DC-ATL", 1)]))
        .await
        .unwrap()
        .into_inner();
    assert!(cheapest.feasible, "{:?}", cheapest.violations);
    let chosen = cheapest.plan_shipments[0].service.clone();
    // Another service DC-ATL ships with that meets ground: dearer, and
    // priced as such.
    let mut admin =
        allot_proto::v1::admin_service_client::AdminServiceClient::new(_server.channel().await);
    let network = admin
        .get_network(pb::GetNetworkRequest::default())
        .await
        .unwrap()
        .into_inner();
    let atl = network.nodes.iter().find(|n| n.code == "DC-ATL").unwrap();
    let express = network
        .services
        .iter()
        .find(|s| {
            atl.services.contains(&s.code)
                && s.code != chosen
                && s.level != pb::ServiceLevel::SameDay as i32
        })
        .unwrap();
    let mut dear = plan("a", "DC-ATL", 1);
    dear.service = Some(express.code.clone());
    let priced = client
        .evaluate_plan(evaluation(request.clone(), vec![dear]))
        .await
        .unwrap()
        .into_inner();
    assert!(priced.feasible, "{:?}", priced.violations);
    assert_eq!(priced.plan_shipments[0].service, express.code);
    assert!(
        priced.plan_objective.unwrap().total_minor >= cheapest.plan_objective.unwrap().total_minor
    );
    // A service slower than the order's level makes the node ineligible:
    // the cheapest ground service, for an overnight order.
    let mut overnight = request.clone();
    overnight.service_level = pb::ServiceLevel::Overnight as i32;
    let mut wrong = plan("a", "DC-ATL", 1);
    wrong.service = Some(chosen);
    let refused = client
        .evaluate_plan(evaluation(overnight, vec![wrong]))
        .await
        .unwrap()
        .into_inner();
    assert!(!refused.feasible);
    assert_eq!(
        refused.violations[0].kind,
        pb::PlanViolationKind::IneligibleNode as i32,
        "{:?}",
        refused.violations
    );
}

#[tokio::test]
async fn evaluate_plan_never_reserves_and_compares_with_the_optimum() {
    let (_server, mut client, mut inventory) = stocked_server(vec![
        ("DC-ATL", vec![("SKU-000001", 5)]),
        ("DC-ONT", vec![("SKU-000001", 5)]),
    ])
    .await;
    let answer = client
        .evaluate_plan(evaluation(
            order("o", vec![line("a", "SKU-000001", 2)], "30301"),
            vec![plan("a", "DC-ONT", 2)],
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(answer.feasible, "{:?}", answer.violations);
    let difference = answer.difference_minor.unwrap();
    assert!(difference >= 0);
    assert_eq!(
        difference,
        answer.plan_objective.unwrap().total_minor - answer.optimal_objective.unwrap().total_minor
    );
    assert_eq!(answer.optimal_lines.len(), 1);
    for node in ["DC-ATL", "DC-ONT"] {
        assert_eq!(level(&mut inventory, "SKU-000001", node).await.reserved, 0);
    }
}

/// A decision re-runs as of when it was made: a promise that has passed
/// since is no reason to refuse its replay (only a live call's promise must
/// be ahead).
#[tokio::test]
async fn replay_decision_of_an_allocation_whose_promise_has_passed_replays_it() {
    let (server, mut client) = demo().await;
    let mut request = simple("o-promised");
    request.promised_by = Some(timestamp(SystemTime::now() + Duration::from_secs(2)));
    let answer = client.allocate(request).await.unwrap().into_inner();
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let mut decisions = DecisionServiceClient::new(server.channel().await);
    let replayed = decisions
        .replay_decision(pb::ReplayDecisionRequest {
            decision_id: answer.decision_id,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(replayed.identical, "{:?}", replayed.differences);
}
