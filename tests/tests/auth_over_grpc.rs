//! Bearer tokens and roles through a real server: every RPC of the contract
//! called without a token, with a token lacking its role, and with one that
//! has it; health and reflection open to all.
#![allow(clippy::unwrap_used)] // a test may unwrap: a panic is its failure

mod common;

use allot_proto::v1 as pb;
use allot_proto::v1::admin_service_client::AdminServiceClient;
use allot_proto::v1::allocation_service_client::AllocationServiceClient;
use allot_proto::v1::decision_service_client::DecisionServiceClient;
use allot_proto::v1::inventory_service_client::InventoryServiceClient;
use allot_proto::v1::planning_service_client::PlanningServiceClient;
use allot_proto::v1::promise_service_client::PromiseServiceClient;
use allot_proto::v1::returns_service_client::ReturnsServiceClient;
use allot_proto::v1::risk_service_client::RiskServiceClient;
use allot_server::auth::{AuthConfig, Role, TokenConfig};
use allot_service::hash::sha256_hex;
use common::{TestServer, test_config};
use tonic::Code;
use tonic::transport::Channel;

/// The secret of the token holding `role` alone.
fn secret(role: Role) -> String {
    format!("secret-of-{role:?}")
}

const ROLES: [Role; 4] = [Role::Decide, Role::Operate, Role::Read, Role::Admin];

async fn server() -> TestServer {
    let mut config = test_config();
    config.auth = AuthConfig {
        tokens: ROLES
            .iter()
            .map(|&role| TokenConfig {
                name: format!("{role:?}").to_lowercase(),
                sha256: sha256_hex(secret(role).as_bytes()),
                roles: vec![role],
            })
            .collect(),
    };
    let server = TestServer::start(config).await;
    server.wait_serving().await;
    server
}

/// `message` carrying `token` (none: no authorization header).
fn with<T>(message: T, token: Option<&str>) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Some(token) = token {
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    request
}

/// Calls the RPC named `rpc` with an empty request and `token`; the status
/// code it answers (OK when it answers).
async fn call(channel: Channel, rpc: &str, token: Option<&str>) -> Code {
    let code = |r: Result<(), tonic::Status>| r.err().map_or(Code::Ok, |s| s.code());
    let result: Result<(), tonic::Status> = match rpc {
        "Allocate" => AllocationServiceClient::new(channel)
            .allocate(with(pb::AllocateRequest::default(), token))
            .await
            .map(drop),
        "EvaluatePlan" => AllocationServiceClient::new(channel)
            .evaluate_plan(with(pb::EvaluatePlanRequest::default(), token))
            .await
            .map(drop),
        "GetDeliveryPromise" => PromiseServiceClient::new(channel)
            .get_delivery_promise(with(pb::PromiseRequest::default(), token))
            .await
            .map(drop),
        "ScoreOrder" => RiskServiceClient::new(channel)
            .score_order(with(pb::ScoreOrderRequest::default(), token))
            .await
            .map(drop),
        "RouteReturn" => ReturnsServiceClient::new(channel)
            .route_return(with(pb::RouteReturnRequest::default(), token))
            .await
            .map(drop),
        "ReplaceNodeStock" => InventoryServiceClient::new(channel)
            .replace_node_stock(with(
                tokio_stream::iter(vec![pb::ReplaceNodeStockRequest::default()]),
                token,
            ))
            .await
            .map(drop),
        "StreamStockDeltas" => InventoryServiceClient::new(channel)
            .stream_stock_deltas(with(
                tokio_stream::iter(Vec::<pb::StockDeltaBatch>::new()),
                token,
            ))
            .await
            .map(drop),
        "ConfirmReservation" => AllocationServiceClient::new(channel)
            .confirm_reservation(with(pb::ConfirmReservationRequest::default(), token))
            .await
            .map(drop),
        "ReleaseReservation" => AllocationServiceClient::new(channel)
            .release_reservation(with(pb::ReleaseReservationRequest::default(), token))
            .await
            .map(drop),
        "ReoptimizeBacklog" => AllocationServiceClient::new(channel)
            .reoptimize_backlog(with(pb::ReoptimizeBacklogRequest::default(), token))
            .await
            .map(drop),
        "GetSkuAvailability" => InventoryServiceClient::new(channel)
            .get_sku_availability(with(pb::GetSkuAvailabilityRequest::default(), token))
            .await
            .map(drop),
        "GetNodeStock" => InventoryServiceClient::new(channel)
            .get_node_stock(with(pb::GetNodeStockRequest::default(), token))
            .await
            .map(drop),
        "GetStockStatus" => InventoryServiceClient::new(channel)
            .get_stock_status(with(pb::GetStockStatusRequest::default(), token))
            .await
            .map(drop),
        "GetReservation" => AllocationServiceClient::new(channel)
            .get_reservation(with(pb::GetReservationRequest::default(), token))
            .await
            .map(drop),
        "ExplainDecision" => DecisionServiceClient::new(channel)
            .explain_decision(with(pb::ExplainDecisionRequest::default(), token))
            .await
            .map(drop),
        "WatchDecisions" => DecisionServiceClient::new(channel)
            .watch_decisions(with(pb::WatchDecisionsRequest::default(), token))
            .await
            .map(drop),
        "ReplayDecision" => DecisionServiceClient::new(channel)
            .replay_decision(with(pb::ReplayDecisionRequest::default(), token))
            .await
            .map(drop),
        "GetNetwork" => AdminServiceClient::new(channel)
            .get_network(with(pb::GetNetworkRequest::default(), token))
            .await
            .map(drop),
        "GetModelInfo" => AdminServiceClient::new(channel)
            .get_model_info(with(pb::GetModelInfoRequest::default(), token))
            .await
            .map(drop),
        "ReloadModels" => AdminServiceClient::new(channel)
            .reload_models(with(
                pb::ReloadModelsRequest {
                    model_dir: "/nonexistent-models".into(),
                    ..Default::default()
                },
                token,
            ))
            .await
            .map(drop),
        "ReportReturns" => RiskServiceClient::new(channel)
            .report_returns(with(pb::ReportReturnsRequest::default(), token))
            .await
            .map(drop),
        "RollbackModels" => AdminServiceClient::new(channel)
            .rollback_models(with(pb::RollbackModelsRequest::default(), token))
            .await
            .map(drop),
        "ClearShadowModels" => AdminServiceClient::new(channel)
            .clear_shadow_models(with(pb::ClearShadowModelsRequest::default(), token))
            .await
            .map(drop),
        "GetModelDrift" => AdminServiceClient::new(channel)
            .get_model_drift(with(pb::GetModelDriftRequest::default(), token))
            .await
            .map(drop),
        "ForecastDemand" => PlanningServiceClient::new(channel)
            .forecast_demand(with(pb::ForecastDemandRequest::default(), token))
            .await
            .map(drop),
        "PlanTransfers" => PlanningServiceClient::new(channel)
            .plan_transfers(with(pb::PlanTransfersRequest::default(), token))
            .await
            .map(drop),
        "ForecastWorkload" => PlanningServiceClient::new(channel)
            .forecast_workload(with(pb::ForecastWorkloadRequest::default(), token))
            .await
            .map(drop),
        other => panic!("no call for {other}"),
    };
    code(result)
}

/// Every RPC of the contract with the role that may call it.
const RPCS: [(&str, Role); 27] = [
    ("Allocate", Role::Decide),
    ("EvaluatePlan", Role::Decide),
    ("GetDeliveryPromise", Role::Decide),
    ("ScoreOrder", Role::Decide),
    ("RouteReturn", Role::Decide),
    ("ReplaceNodeStock", Role::Operate),
    ("StreamStockDeltas", Role::Operate),
    ("ConfirmReservation", Role::Operate),
    ("ReleaseReservation", Role::Operate),
    ("ReoptimizeBacklog", Role::Operate),
    ("ReportReturns", Role::Operate),
    ("GetSkuAvailability", Role::Read),
    ("GetNodeStock", Role::Read),
    ("GetStockStatus", Role::Read),
    ("GetReservation", Role::Read),
    ("ExplainDecision", Role::Read),
    ("WatchDecisions", Role::Read),
    ("ReplayDecision", Role::Read),
    ("GetNetwork", Role::Read),
    ("GetModelInfo", Role::Read),
    ("GetModelDrift", Role::Read),
    ("ForecastDemand", Role::Read),
    ("PlanTransfers", Role::Read),
    ("ForecastWorkload", Role::Read),
    ("ReloadModels", Role::Admin),
    ("RollbackModels", Role::Admin),
    ("ClearShadowModels", Role::Admin),
];

#[tokio::test]
async fn each_role_calls_its_rpcs_and_no_other() {
    let server = server().await;
    let channel = server.channel().await;
    let mut methods = 0;
    for (rpc, needed) in RPCS {
        let anonymous = call(channel.clone(), rpc, None).await;
        assert_eq!(anonymous, Code::Unauthenticated, "{rpc} without a token");
        let unknown = call(channel.clone(), rpc, Some("not-a-token")).await;
        assert_eq!(
            unknown,
            Code::Unauthenticated,
            "{rpc} with an unknown token"
        );
        for role in ROLES {
            let code = call(channel.clone(), rpc, Some(&secret(role))).await;
            if role == needed {
                // Past the gate: the service answers (an empty request is
                // usually its own INVALID_ARGUMENT).
                assert!(
                    !matches!(code, Code::Unauthenticated | Code::PermissionDenied),
                    "{rpc} with {role:?}: {code:?}"
                );
            } else {
                assert_eq!(code, Code::PermissionDenied, "{rpc} with {role:?}");
            }
        }
        methods += 1;
    }
    // Every RPC of the contract is in the table.
    let set = <prost_types::FileDescriptorSet as prost::Message>::decode(
        allot_proto::FILE_DESCRIPTOR_SET,
    )
    .unwrap();
    let contract: usize = set
        .file
        .iter()
        .flat_map(|f| &f.service)
        .map(|s| s.method.len())
        .sum();
    assert_eq!(methods, contract);
    // Health stays open.
    assert_eq!(
        server.health("").await,
        tonic_health::pb::health_check_response::ServingStatus::Serving
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn every_write_records_the_name_of_the_token_that_made_it() {
    use common::orders::{committed, line, order};
    let server = server().await;
    let decide = secret(Role::Decide);
    let operate = secret(Role::Operate);
    let read = secret(Role::Read);
    let mut allocation = AllocationServiceClient::new(server.channel().await);
    let answer = allocation
        .allocate(with(
            committed(
                order("o-who", vec![line("1", "SKU-000001", 1)], "10001"),
                "key-who",
            ),
            Some(&decide),
        ))
        .await
        .unwrap()
        .into_inner();
    let reservation_id = answer.reservation.as_ref().unwrap().reservation_id.clone();
    allocation
        .release_reservation(with(
            pb::ReleaseReservationRequest {
                reservation_id: reservation_id.clone(),
                reason: pb::ReleaseReason::OrderCancelled as i32,
                note: String::new(),
            },
            Some(&operate),
        ))
        .await
        .unwrap();

    let mut decisions = DecisionServiceClient::new(server.channel().await);
    let record = decisions
        .explain_decision(with(
            pb::ExplainDecisionRequest {
                decision_id: answer.decision_id.clone(),
            },
            Some(&read),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(record.caller, "decide", "the record names the token");

    let mut feed = decisions
        .watch_decisions(with(
            pb::WatchDecisionsRequest {
                from_position: Some(0),
                kinds: Vec::new(),
            },
            Some(&read),
        ))
        .await
        .unwrap()
        .into_inner();
    let allocated = feed.message().await.unwrap().unwrap();
    assert_eq!(allocated.kind, pb::DecisionEventKind::OrderAllocated as i32);
    assert_eq!(allocated.caller, "decide");
    let released = feed.message().await.unwrap().unwrap();
    assert_eq!(
        released.kind,
        pb::DecisionEventKind::ReservationReleased as i32
    );
    assert_eq!(released.reservation_id, reservation_id);
    assert_eq!(
        released.caller, "operate",
        "the release names its own token"
    );
}
