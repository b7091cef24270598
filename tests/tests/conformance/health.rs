//! grpc.health.v1.Health and server reflection (v1 and v1alpha).

use allot_proto::v1 as pb;
use prost::Message;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};
use tonic_reflection::pb::{v1, v1alpha};

use crate::common::{Saturated, TestServer, test_config};

/// Every allot.v1 service, as health and reflection name it.
const ALLOT_SERVICES: [&str; 7] = [
    "allot.v1.InventoryService",
    "allot.v1.AllocationService",
    "allot.v1.PromiseService",
    "allot.v1.RiskService",
    "allot.v1.ReturnsService",
    "allot.v1.DecisionService",
    "allot.v1.AdminService",
];

async fn check(server: &TestServer, service: &str) -> Result<HealthCheckResponse, tonic::Status> {
    HealthClient::new(server.channel().await)
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await
        .map(tonic::Response::into_inner)
}

// --- grpc.health.v1.Health --------------------------------------------------

#[tokio::test]
async fn health_check_is_not_serving_until_loaded_then_serving() {
    let server = TestServer::start(test_config()).await;
    let mut seen = Vec::new();
    loop {
        match check(&server, "").await {
            Ok(answer) => {
                let status = ServingStatus::try_from(answer.status).unwrap();
                if seen.last() != Some(&status) {
                    seen.push(status);
                }
                if status == ServingStatus::Serving {
                    break;
                }
            }
            // Not listening yet.
            Err(status) => assert_eq!(status.code(), Code::Unavailable, "{status:?}"),
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert!(
        seen == [ServingStatus::Serving]
            || seen == [ServingStatus::NotServing, ServingStatus::Serving],
        "{seen:?}"
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn health_check_reports_every_allot_service_serving() {
    let server = TestServer::serving().await;
    for service in ALLOT_SERVICES {
        let answer = check(&server, service).await.unwrap();
        assert_eq!(answer.status, ServingStatus::Serving as i32, "{service}");
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn health_check_an_unknown_service_is_not_found() {
    let server = TestServer::serving().await;
    let status = check(&server, "allot.v1.NoSuchService").await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn health_check_answers_while_every_request_permit_is_taken() {
    let saturated = Saturated::start().await;
    // Another RPC is refused ...
    let refused = saturated
        .refused(|channel| async move {
            pb::admin_service_client::AdminServiceClient::new(channel)
                .get_model_info(pb::GetModelInfoRequest {})
                .await
        })
        .await;
    assert_eq!(refused.code(), Code::ResourceExhausted);
    // ... health still answers.
    let answer = check(&saturated.server, "").await.unwrap();
    assert_eq!(answer.status, ServingStatus::Serving as i32);
    saturated.stop().await;
}

#[tokio::test]
async fn health_watch_streams_serving_then_not_serving_at_shutdown() {
    let mut server = TestServer::serving().await;
    let mut watches = Vec::new();
    for service in ["", ALLOT_SERVICES[0]] {
        let watch = HealthClient::new(server.channel().await)
            .watch(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        watches.push(watch);
    }
    for watch in &mut watches {
        let first = watch.message().await.unwrap().unwrap();
        assert_eq!(first.status, ServingStatus::Serving as i32);
    }
    server.signal_shutdown();
    for watch in &mut watches {
        let next = watch.message().await.unwrap().unwrap();
        assert_eq!(next.status, ServingStatus::NotServing as i32);
    }
    drop(watches);
    server.stop().await.unwrap();
}

// --- Reflection -------------------------------------------------------------

/// Asks reflection of version `$v` (v1 or v1alpha: the same messages in two
/// packages) on `$server` for `$request`, answers its message response.
macro_rules! reflect {
    ($v:ident, $server:expr, $request:expr) => {{
        let mut client =
            $v::server_reflection_client::ServerReflectionClient::new($server.channel().await);
        let request = $v::ServerReflectionRequest {
            host: String::new(),
            message_request: Some($request),
        };
        let mut responses = client
            .server_reflection_info(tokio_stream::iter(vec![request]))
            .await
            .unwrap()
            .into_inner();
        responses.message().await.unwrap().unwrap().message_response
    }};
}

/// The services reflection of version `$v` lists on `$server`.
macro_rules! listed {
    ($v:ident, $server:expr) => {{
        use $v::server_reflection_request::MessageRequest;
        use $v::server_reflection_response::MessageResponse;
        match reflect!($v, $server, MessageRequest::ListServices(String::new())) {
            Some(MessageResponse::ListServicesResponse(list)) => {
                list.service.into_iter().map(|s| s.name).collect::<Vec<_>>()
            }
            other => panic!("unexpected reflection answer: {other:?}"),
        }
    }};
}

/// The file descriptors reflection of version `$v` answers for `$symbol`.
macro_rules! files_of {
    ($v:ident, $server:expr, $symbol:expr) => {{
        use $v::server_reflection_request::MessageRequest;
        use $v::server_reflection_response::MessageResponse;
        match reflect!(
            $v,
            $server,
            MessageRequest::FileContainingSymbol($symbol.to_string())
        ) {
            Some(MessageResponse::FileDescriptorResponse(files)) => files
                .file_descriptor_proto
                .iter()
                .map(|bytes| prost_types::FileDescriptorProto::decode(bytes.as_slice()).unwrap())
                .collect::<Vec<_>>(),
            other => panic!("unexpected reflection answer for {}: {other:?}", $symbol),
        }
    }};
}

fn assert_lists_every_public_service(names: &[String]) {
    for expected in ALLOT_SERVICES.iter().chain(&["grpc.health.v1.Health"]) {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }
}

/// Whether `files` define the service `full_name` (`package.Service`).
fn defines(files: &[prost_types::FileDescriptorProto], full_name: &str) -> bool {
    files.iter().any(|f| {
        f.service
            .iter()
            .any(|s| format!("{}.{}", f.package(), s.name()) == full_name)
    })
}

#[tokio::test]
async fn server_reflection_info_v1_lists_every_public_service() {
    let server = TestServer::serving().await;
    assert_lists_every_public_service(&listed!(v1, server));
    server.stop().await.unwrap();
}

#[tokio::test]
async fn server_reflection_info_v1alpha_lists_every_public_service() {
    let server = TestServer::serving().await;
    assert_lists_every_public_service(&listed!(v1alpha, server));
    server.stop().await.unwrap();
}

#[tokio::test]
async fn server_reflection_info_v1_describes_every_allot_service() {
    let server = TestServer::serving().await;
    for service in ALLOT_SERVICES {
        let files = files_of!(v1, server, service);
        assert!(defines(&files, service), "{service}");
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn server_reflection_info_v1alpha_describes_every_allot_service() {
    let server = TestServer::serving().await;
    for service in ALLOT_SERVICES {
        let files = files_of!(v1alpha, server, service);
        assert!(defines(&files, service), "{service}");
    }
    server.stop().await.unwrap();
}
