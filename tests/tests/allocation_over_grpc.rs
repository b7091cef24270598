//! Allocation through a real server: plans, reasons, commits with
//! idempotency, reservations, shadow evaluation, and no oversell under
//! concurrent commits.
#![allow(clippy::unwrap_used)] // a test may unwrap: a panic is its failure

mod common;

use allot_proto::v1 as pb;
use allot_proto::v1::allocation_service_client::AllocationServiceClient;
use common::orders::{committed, level, line, order, stocked_server};
use common::{TestServer, test_config};
use prost::Message;
use tonic::Code;
use tonic::transport::Channel;

#[tokio::test]
async fn an_order_gets_an_optimal_plan_whose_costs_add_up() {
    let server = TestServer::serving().await;
    let mut client = AllocationServiceClient::new(server.channel().await);
    let answer = client
        .allocate(order(
            "o-1",
            vec![line("a", "SKU-000001", 1), line("b", "SKU-000002", 2)],
            "10001",
        ))
        .await
        .unwrap()
        .into_inner();
    let solver = answer.solver.unwrap();
    assert_eq!(solver.status, pb::SolverStatus::Optimal as i32);
    assert!(solver.gap <= 1e-4);
    assert_eq!(answer.disposition, pb::OrderDisposition::Allocated as i32);
    for l in &answer.lines {
        let shipped: u32 = l.assignments.iter().map(|a| a.quantity).sum();
        assert_eq!(shipped + l.backordered_quantity, l.quantity);
        assert!(!l.reasons.is_empty(), "line {} has no reason", l.line_id);
    }
    let objective = answer.objective.unwrap();
    let shipments: i64 = answer.shipments.iter().map(|s| s.total_cost_minor).sum();
    assert_eq!(
        objective.total_minor,
        shipments + objective.split_penalty_minor + objective.backorder_penalty_minor
    );
    assert_eq!(answer.used_node_alternatives.len(), answer.shipments.len());
    for alternative in &answer.used_node_alternatives {
        if let Some(cost) = alternative.cost_without_minor {
            assert!(
                cost >= objective.total_minor,
                "the chosen plan is optimal, so any plan without a node costs at least as much"
            );
        }
    }
    for runner in &answer.runners_up {
        assert!(runner.cost_difference_minor >= 0);
    }
    // Same input, same answer.
    let again = client
        .allocate(order(
            "o-1",
            vec![line("a", "SKU-000001", 1), line("b", "SKU-000002", 2)],
            "10001",
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.lines, answer.lines);
    assert_eq!(again.objective, answer.objective);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn bad_requests_name_the_field() {
    let server = TestServer::serving().await;
    let mut client = AllocationServiceClient::new(server.channel().await);
    let cases = [
        (
            order("o", vec![line("a", "NOPE", 1)], "10001"),
            Code::NotFound,
            "lines[0].sku",
        ),
        (
            order("o", vec![line("a", "SKU-000001", 0)], "10001"),
            Code::InvalidArgument,
            "lines[0].quantity",
        ),
        (
            order("", vec![line("a", "SKU-000001", 1)], "10001"),
            Code::InvalidArgument,
            "order_id",
        ),
        (order("o", vec![], "10001"), Code::InvalidArgument, "lines"),
        (
            order("o", vec![line("a", "SKU-000001", 1)], "00000"),
            Code::InvalidArgument,
            "destination.postal_code",
        ),
        (
            order("o", vec![line("a", "SKU-000001", 1)], "!!!"),
            Code::InvalidArgument,
            "destination.postal_code",
        ),
        (
            committed(order("o", vec![line("a", "SKU-000001", 1)], "10001"), ""),
            Code::InvalidArgument,
            "options.idempotency_key",
        ),
    ];
    for (request, code, field) in cases {
        let status = client.allocate(request).await.unwrap_err();
        assert_eq!(status.code(), code, "{status:?}");
        assert!(
            status.message().starts_with(field),
            "{field}: {}",
            status.message()
        );
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn commits_are_idempotent_and_reservations_confirm_or_release() {
    let (server, mut client, mut inventory) = stocked_server(vec![
        ("DC-ATL", vec![("SKU-000001", 10)]),
        ("DC-DFW", vec![("SKU-000001", 10)]),
    ])
    .await;
    let request = committed(
        order("o-7", vec![line("a", "SKU-000001", 4)], "30301"),
        "key-7",
    );
    let first = client.allocate(request.clone()).await.unwrap().into_inner();
    let reservation = first
        .reservation
        .clone()
        .expect("a committed order holds stock");
    assert_eq!(reservation.state, pb::ReservationState::Held as i32);
    let node = first.lines[0].assignments[0].node.clone();
    assert_eq!(
        level(&mut inventory, "SKU-000001", &node).await.available,
        6
    );

    // A retry with the same key returns the same bytes and holds nothing more.
    let retry = client.allocate(request.clone()).await.unwrap().into_inner();
    assert_eq!(retry.encode_to_vec(), first.encode_to_vec());
    assert_eq!(
        level(&mut inventory, "SKU-000001", &node).await.available,
        6
    );

    // Another request under the same key is refused.
    let other = committed(
        order("o-8", vec![line("a", "SKU-000001", 1)], "30301"),
        "key-7",
    );
    assert_eq!(
        client.allocate(other).await.unwrap_err().code(),
        Code::AlreadyExists
    );

    // Reading a reservation answers it as the commit made it.
    let read = |id: &str| pb::GetReservationRequest {
        reservation_id: id.into(),
    };
    let got = client
        .get_reservation(read(&reservation.reservation_id))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got, reservation);

    let released = client
        .release_reservation(pb::ReleaseReservationRequest {
            reservation_id: reservation.reservation_id.clone(),
            reason: pb::ReleaseReason::OrderCancelled as i32,
            note: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(released.state, pb::ReservationState::Released as i32);
    let got = client
        .get_reservation(read(&reservation.reservation_id))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got, released);
    let unknown = client.get_reservation(read("rsv_nope")).await.unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    let empty = client.get_reservation(read("")).await.unwrap_err();
    assert_eq!(empty.code(), Code::InvalidArgument);
    assert!(empty.message().starts_with("reservation_id: "), "{empty:?}");
    assert_eq!(
        level(&mut inventory, "SKU-000001", &node).await.available,
        10
    );
    let confirm_released = client
        .confirm_reservation(pb::ConfirmReservationRequest {
            reservation_id: reservation.reservation_id,
        })
        .await
        .unwrap_err();
    assert_eq!(confirm_released.code(), Code::FailedPrecondition);

    let second = client
        .allocate(committed(
            order("o-9", vec![line("a", "SKU-000001", 3)], "30301"),
            "key-9",
        ))
        .await
        .unwrap()
        .into_inner();
    let held = second.reservation.unwrap();
    let node = second.lines[0].assignments[0].node.clone();
    let confirmed = client
        .confirm_reservation(pb::ConfirmReservationRequest {
            reservation_id: held.reservation_id,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(confirmed.state, pb::ReservationState::Confirmed as i32);
    let after = level(&mut inventory, "SKU-000001", &node).await;
    assert_eq!((after.on_hand, after.reserved, after.available), (7, 0, 7));

    let unknown = client
        .release_reservation(pb::ReleaseReservationRequest {
            reservation_id: "rsv_nope".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_callers_plan_is_priced_and_its_violations_listed() {
    let (server, mut client, _inventory) = stocked_server(vec![
        ("DC-ATL", vec![("SKU-000001", 2)]),
        ("DC-DFW", vec![("SKU-000001", 10)]),
    ])
    .await;
    let request = pb::EvaluatePlanRequest {
        order: Some(order("o-e", vec![line("a", "SKU-000001", 5)], "30301")),
        plan: vec![pb::PlannedAssignment {
            line_id: "a".into(),
            node: "DC-ATL".into(),
            quantity: 5,
            service: None,
        }],
    };
    let answer = client.evaluate_plan(request).await.unwrap().into_inner();
    assert!(!answer.feasible);
    assert!(
        answer
            .violations
            .iter()
            .any(|v| v.kind == pb::PlanViolationKind::Oversell as i32 && v.node == "DC-ATL"),
        "{:?}",
        answer.violations
    );
    let optimal = answer.optimal_objective.unwrap().total_minor;
    assert!(optimal > 0);
    assert_eq!(
        answer.difference_minor,
        Some(answer.plan_objective.unwrap().total_minor - optimal)
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn evaluate_plan_refuses_what_its_contract_refuses_and_reports_unknown_lines_as_violations() {
    let (server, mut client, _inventory) =
        stocked_server(vec![("DC-ATL", vec![("SKU-000001", 5)])]).await;
    let assignment = |line_id: &str, quantity| pb::PlannedAssignment {
        line_id: line_id.into(),
        node: "DC-ATL".into(),
        quantity,
        service: None,
    };
    let evaluate = |order: pb::AllocateRequest, plan| pb::EvaluatePlanRequest {
        order: Some(order),
        plan,
    };
    let plain = order("o-c", vec![line("a", "SKU-000001", 2)], "30301");
    let refused = [
        (
            evaluate(committed(plain.clone(), "k"), vec![assignment("a", 2)]),
            "order.options.commit",
        ),
        (evaluate(plain.clone(), vec![]), "plan"),
        (
            evaluate(plain.clone(), vec![assignment("a", 1), assignment("a", 0)]),
            "plan[1].quantity",
        ),
    ];
    for (request, field) in refused {
        let status = client.evaluate_plan(request).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{field}: {status:?}");
        assert!(status.message().starts_with(field), "{field}: {status:?}");
    }
    // A line id the order does not have is a QUANTITY_MISMATCH violation.
    let answer = client
        .evaluate_plan(evaluate(
            plain,
            vec![assignment("a", 2), assignment("nope", 1)],
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(!answer.feasible);
    assert!(
        answer.violations.iter().any(|v| {
            v.kind == pb::PlanViolationKind::QuantityMismatch as i32 && v.line_id == "nope"
        }),
        "{:?}",
        answer.violations
    );
    server.stop().await.unwrap();
}

/// Allocates, retrying after RESOURCE_EXHAUSTED (load shedding when more
/// calls wait than the solver queue holds) as a well-behaved OMS would.
async fn allocate_with_backoff(
    client: &mut AllocationServiceClient<Channel>,
    request: &pb::AllocateRequest,
) -> pb::AllocateResponse {
    for attempt in 0..200u64 {
        match client.allocate(request.clone()).await {
            Ok(answer) => return answer.into_inner(),
            Err(status) if status.code() == Code::ResourceExhausted => {
                tokio::time::sleep(std::time::Duration::from_millis(2 + attempt % 10)).await;
            }
            Err(status) => panic!("allocate failed: {status:?}"),
        }
    }
    panic!("still shed after 200 attempts");
}

#[tokio::test]
async fn concurrent_commits_against_scarce_stock_never_oversell() {
    let stock = vec![
        ("DC-ATL", vec![("SKU-000003", 7)]),
        ("DC-DFW", vec![("SKU-000003", 5)]),
        ("ST-NYC", vec![("SKU-000003", 3)]),
    ];
    let (server, client, mut inventory) = stocked_server(stock).await;
    let mut tasks = Vec::new();
    // 64 concurrent clients, each committing and then retrying its commit.
    for i in 0..64u32 {
        let mut client = client.clone();
        tasks.push(tokio::spawn(async move {
            let mut request = committed(
                order(
                    &format!("c-{i}"),
                    vec![line("a", "SKU-000003", 1 + i % 3)],
                    "10001",
                ),
                &format!("ck-{i}"),
            );
            request.options.as_mut().unwrap().allow_backorder = false;
            let answer = allocate_with_backoff(&mut client, &request).await;
            // A retry never holds twice.
            let retry = allocate_with_backoff(&mut client, &request).await;
            assert_eq!(retry, answer);
            answer
        }));
    }
    let mut held_by_node = std::collections::BTreeMap::<String, u32>::new();
    for task in tasks {
        let answer = task.await.unwrap();
        if let Some(r) = answer.reservation {
            for u in r.units {
                *held_by_node.entry(u.node).or_default() += u.quantity;
            }
        } else {
            assert_eq!(
                answer.disposition,
                pb::OrderDisposition::Unfulfillable as i32
            );
        }
    }
    let mut total_held = 0;
    for (node, on_hand) in [("DC-ATL", 7), ("DC-DFW", 5), ("ST-NYC", 3)] {
        let l = level(&mut inventory, "SKU-000003", node).await;
        let held = held_by_node.get(node).copied().unwrap_or(0);
        assert_eq!(
            l.reserved,
            i64::from(held),
            "{node}: every reserved unit belongs to an accepted order"
        );
        assert!(l.reserved <= on_hand, "{node}: oversold");
        total_held += held;
    }
    assert!(total_held > 0 && total_held <= 15);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_deadline_that_leaves_no_time_is_exceeded_at_once() {
    let mut config = test_config();
    config.allocation.deadline_margin_ms = 50;
    let server = TestServer::start(config).await;
    server.wait_serving().await;
    let mut client = AllocationServiceClient::new(server.channel().await);
    let mut request = tonic::Request::new(order("o-d", vec![line("a", "SKU-000001", 1)], "10001"));
    // A 20 ms deadline is inside the 50 ms margin kept for the answer: the
    // server refuses at once instead of starting a solve it cannot finish.
    request
        .metadata_mut()
        .insert("grpc-timeout", "20m".parse().unwrap());
    let status = client.allocate(request).await.unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    // The server is unharmed and answers the next call.
    client
        .allocate(order("o-d2", vec![line("a", "SKU-000001", 1)], "10001"))
        .await
        .unwrap();
    server.stop().await.unwrap();
}
