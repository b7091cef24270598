//! ReturnsService.RouteReturn against a real server on the demo network:
//! the route's arithmetic, the node's channels, the record and the event,
//! the daily capacity shared by concurrent returns, and bad input.

use allot_engine::network::{DEMO_SEED, Network};
use allot_proto::v1 as pb;
use allot_proto::v1::decision_service_client::DecisionServiceClient;
use allot_proto::v1::returns_service_client::ReturnsServiceClient;
use tokio_stream::StreamExt;
use tonic::Code;

use crate::common::orders::return_request as request;
use crate::common::{TestServer, assert_field_error};

async fn route(
    server: &TestServer,
    request: pb::RouteReturnRequest,
) -> Result<pb::ReturnDecision, tonic::Status> {
    ReturnsServiceClient::new(server.channel().await)
        .route_return(request)
        .await
        .map(tonic::Response::into_inner)
}

/// The answer's own arithmetic and its node's abilities.
fn assert_consistent(network: &Network, request: &pb::RouteReturnRequest, d: &pb::ReturnDecision) {
    assert_eq!(d.return_id, request.return_id);
    assert!(d.decision_id.starts_with("dec_"), "{d:?}");
    assert!(!d.reasons.is_empty());
    if d.node.is_empty() {
        assert_eq!(d.disposition, pb::ReturnDisposition::WriteOff as i32);
        assert_eq!((d.net_recovery_minor, d.shipping_cost_minor), (0, 0));
        return;
    }
    let node = network.node(network.node_id(&d.node).expect("a network node"));
    assert!(node.accepts_returns, "{}", d.node);
    assert!(
        node.services
            .iter()
            .any(|s| network.service(*s).code == d.service)
    );
    assert_eq!(
        d.units.iter().map(|u| u.quantity).sum::<u32>(),
        request.quantity,
        "every unit has a disposition: {d:?}"
    );
    assert_eq!(
        d.expected_recovery_minor,
        d.units.iter().map(|u| u.recovery_minor).sum::<i64>()
    );
    assert_eq!(
        d.net_recovery_minor,
        d.expected_recovery_minor - d.shipping_cost_minor - d.receiving_cost_minor
    );
    assert_eq!(
        d.receiving_cost_minor,
        node.returns.receiving_cost_minor * i64::from(request.quantity)
    );
    assert!(
        d.net_recovery_minor > 0,
        "a shipped return nets more than a write-off"
    );
    if let Some(r) = &d.runner_up {
        assert_ne!(r.node, d.node);
        assert!(r.net_recovery_minor <= d.net_recovery_minor, "{d:?}");
    }
    for u in &d.units {
        let d = pb::ReturnDisposition::try_from(u.disposition).unwrap();
        match d {
            pb::ReturnDisposition::Refurbish => assert!(node.returns.refurbish_units_per_day > 0),
            pb::ReturnDisposition::Liquidate => {
                assert!(node.returns.liquidation_units_per_day > 0)
            }
            pb::ReturnDisposition::ReturnToVendor => assert!(node.returns.returns_to_vendor),
            _ => {}
        }
    }
}

#[tokio::test]
async fn a_sellable_return_is_routed_recorded_and_announced() {
    let server = TestServer::serving().await;
    let network = Network::demo(DEMO_SEED);
    let mut live = DecisionServiceClient::new(server.channel().await)
        .watch_decisions(pb::WatchDecisionsRequest {
            from_position: None,
            kinds: vec![pb::DecisionEventKind::ReturnRouted as i32],
        })
        .await
        .unwrap()
        .into_inner();
    let asked = request("rma-1", "SKU-000001", 2);
    let decided = route(&server, asked.clone()).await.unwrap();
    assert_consistent(&network, &asked, &decided);
    assert!(
        !decided.node.is_empty(),
        "a sealed $200 item ships back: {decided:?}"
    );
    assert!(
        decided.candidate_nodes > 1 && decided.runner_up.is_some(),
        "{decided:?}"
    );
    // Recorded before it was answered, with the request and the answer.
    let record = DecisionServiceClient::new(server.channel().await)
        .explain_decision(pb::ExplainDecisionRequest {
            decision_id: decided.decision_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(record.kind, pb::DecisionKind::Return as i32);
    assert_eq!(
        record.response,
        Some(pb::decision_record::Response::ReturnDecision(
            decided.clone()
        ))
    );
    match record.request {
        Some(pb::decision_record::Request::RouteReturnRequest(r)) => {
            assert_eq!((r.return_id, r.quantity), ("rma-1".to_string(), 2))
        }
        other => panic!("{other:?}"),
    }
    let event = live.next().await.unwrap().unwrap();
    assert_eq!(event.decision_id, decided.decision_id);
    assert_eq!(event.kind, pb::DecisionEventKind::ReturnRouted as i32);
    assert_eq!(event.order_id, "o-1");
    assert!(event.summary.contains(&decided.node), "{event:?}");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn defective_cheap_and_used_returns_take_their_channels() {
    let server = TestServer::serving().await;
    let network = Network::demo(DEMO_SEED);

    let mut defective = request("rma-d", "SKU-000003", 1);
    defective.reason = pb::ReturnReason::Defective as i32;
    defective.unit_price_minor = Some(50_000);
    let d = route(&server, defective.clone()).await.unwrap();
    assert_consistent(&network, &defective, &d);
    assert_eq!(
        d.disposition,
        pb::ReturnDisposition::ReturnToVendor as i32,
        "{d:?}"
    );

    let mut cheap = request("rma-c", "SKU-000003", 1);
    cheap.condition = pb::ItemCondition::Damaged as i32;
    cheap.unit_price_minor = Some(200);
    let c = route(&server, cheap.clone()).await.unwrap();
    assert_consistent(&network, &cheap, &c);
    assert!(
        c.node.is_empty(),
        "a $2 damaged item is not worth a label: {c:?}"
    );
    assert!(
        c.reasons
            .iter()
            .any(|r| r.code == pb::ReasonCode::WriteOffDamaged as i32)
    );

    let mut used = request("rma-u", "SKU-000003", 1);
    used.condition = pb::ItemCondition::Used as i32;
    used.unit_price_minor = Some(90_000);
    let u = route(&server, used.clone()).await.unwrap();
    assert_consistent(&network, &used, &u);
    assert_eq!(
        u.disposition,
        pb::ReturnDisposition::Refurbish as i32,
        "{u:?}"
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn concurrent_returns_never_refurbish_more_than_a_node_can_a_day() {
    let server = TestServer::serving().await;
    let network = Network::demo(DEMO_SEED);
    // Used, valuable units: refurbishing is their best channel, and each
    // return of 1,000 units asks for more than most nodes refurbish in a
    // day. Four at a time.
    let mut decided = Vec::new();
    for wave in 0..5 {
        let calls = (0..4).map(|i| {
            let mut r = request(&format!("rma-{wave}-{i}"), "SKU-000004", 1_000);
            r.condition = pb::ItemCondition::Used as i32;
            r.unit_price_minor = Some(90_000);
            let server = &server;
            async move { (route(server, r.clone()).await.unwrap(), r) }
        });
        decided.extend(futures::future::join_all(calls).await);
    }
    let mut refurbished: std::collections::HashMap<String, u32> = Default::default();
    for (d, r) in &decided {
        assert_consistent(&network, r, d);
        for u in &d.units {
            if u.disposition == pb::ReturnDisposition::Refurbish as i32 {
                *refurbished.entry(d.node.clone()).or_default() += u.quantity;
            }
        }
    }
    assert!(
        refurbished.len() > 1,
        "capacity ran out at one node: {refurbished:?}"
    );
    for (node, units) in &refurbished {
        let most = network
            .node(network.node_id(node).unwrap())
            .returns
            .refurbish_units_per_day;
        assert!(*units <= most, "{node}: {units} refurbished, {most} a day");
    }
    assert!(
        decided.iter().any(|(d, _)| d
            .reasons
            .iter()
            .any(|r| r.code == pb::ReasonCode::ReturnChannelFull as i32)),
        "some return met a full refurbishing line"
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn bad_input_names_the_field() {
    let server = TestServer::serving().await;
    type Spoil = Box<dyn Fn(&mut pb::RouteReturnRequest)>;
    let cases: Vec<(Spoil, Code, &str)> = vec![
        (
            Box::new(|r| r.return_id.clear()),
            Code::InvalidArgument,
            "return_id",
        ),
        (
            Box::new(|r| r.quantity = 0),
            Code::InvalidArgument,
            "quantity",
        ),
        (
            Box::new(|r| r.quantity = 10_001),
            Code::InvalidArgument,
            "quantity",
        ),
        (Box::new(|r| r.sku.clear()), Code::InvalidArgument, "sku"),
        (Box::new(|r| r.sku = "NOPE".into()), Code::NotFound, "sku"),
        (Box::new(|r| r.reason = 99), Code::InvalidArgument, "reason"),
        (
            Box::new(|r| r.condition = 99),
            Code::InvalidArgument,
            "condition",
        ),
        (
            Box::new(|r| r.origin = None),
            Code::InvalidArgument,
            "origin",
        ),
        (
            Box::new(|r| r.unit_price_minor = Some(u64::MAX)),
            Code::InvalidArgument,
            "unit_price_minor",
        ),
    ];
    for (spoil, code, field) in cases {
        let mut r = request("rma-bad", "SKU-000001", 1);
        spoil(&mut r);
        let status = route(&server, r).await.unwrap_err();
        assert_field_error(&status, code, field);
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn capacity_used_before_a_restart_stays_used_after_it() {
    let server = TestServer::serving().await;
    let network = Network::demo(DEMO_SEED);
    let used = |id: &str| {
        let mut r = request(id, "SKU-000004", 1_000);
        r.condition = pb::ItemCondition::Used as i32;
        r.unit_price_minor = Some(90_000);
        r
    };
    let before = route(&server, used("rma-before")).await.unwrap();
    let server = server.restart().await;
    let after = route(&server, used("rma-after")).await.unwrap();
    let refurbished = |d: &pb::ReturnDecision| -> u32 {
        d.units
            .iter()
            .filter(|u| u.disposition == pb::ReturnDisposition::Refurbish as i32)
            .map(|u| u.quantity)
            .sum()
    };
    let node = network.node(network.node_id(&before.node).unwrap());
    assert!(refurbished(&before) > 0, "{before:?}");
    let at_same_node = if after.node == before.node {
        refurbished(&after)
    } else {
        0
    };
    assert!(
        refurbished(&before) + at_same_node <= node.returns.refurbish_units_per_day,
        "{}: {} refurbished before the restart and {at_same_node} after, {} a day",
        before.node,
        refurbished(&before),
        node.returns.refurbish_units_per_day
    );
    // Without the count the second return would have gone where the first
    // did, for the same units: it did not.
    assert_ne!(
        (after.node.clone(), refurbished(&after)),
        (before.node.clone(), refurbished(&before))
    );
    server.stop().await.unwrap();
}
