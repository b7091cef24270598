//! ReturnsService: RouteReturn answers UNIMPLEMENTED in this release, as
//! returns.proto says, whatever the request.

use allot_proto::v1 as pb;
use allot_proto::v1::returns_service_client::ReturnsServiceClient;
use tonic::Code;

use crate::common::TestServer;

fn complete_request() -> pb::RouteReturnRequest {
    pb::RouteReturnRequest {
        return_id: "rma-1".into(),
        order_id: "o-1".into(),
        sku: "SKU-000001".into(),
        quantity: 1,
        reason: pb::ReturnReason::SizeFit as i32,
        condition: pb::ItemCondition::LikeNew as i32,
        origin: Some(pb::Destination {
            location: Some(pb::destination::Location::PostalCode("10001".into())),
            ..Default::default()
        }),
        unit_price_minor: Some(2_000),
    }
}

#[tokio::test]
async fn route_return_is_unimplemented_naming_the_rpc_and_what_is_served() {
    let server = TestServer::serving().await;
    let mut client = ReturnsServiceClient::new(server.channel().await);
    // A valid request and an empty one alike: not validated, not decided.
    for request in [complete_request(), pb::RouteReturnRequest::default()] {
        let status = client.route_return(request).await.unwrap_err();
        assert_eq!(status.code(), Code::Unimplemented, "{status:?}");
        assert!(
            status.message().contains("ReturnsService.RouteReturn"),
            "{status:?}"
        );
        assert!(
            status.message().contains("PromiseService"),
            "says what this release serves: {status:?}"
        );
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn route_return_records_no_decision() {
    use allot_proto::v1::decision_service_client::DecisionServiceClient;
    use allot_proto::v1::promise_service_client::PromiseServiceClient;
    use tokio_stream::StreamExt;

    let server = TestServer::serving().await;
    let mut live = DecisionServiceClient::new(server.channel().await)
        .watch_decisions(pb::WatchDecisionsRequest {
            from_position: None,
            kinds: vec![],
        })
        .await
        .unwrap()
        .into_inner();
    ReturnsServiceClient::new(server.channel().await)
        .route_return(complete_request())
        .await
        .unwrap_err();
    // The next event is the marker quote's, not a RETURN_ROUTED.
    let marker = PromiseServiceClient::new(server.channel().await)
        .get_delivery_promise(crate::common::orders::promise(
            vec![crate::common::orders::line("a", "SKU-000001", 1)],
            "10001",
            prost_types::Timestamp::from(std::time::SystemTime::now()),
        ))
        .await
        .unwrap()
        .into_inner();
    let event = live.next().await.unwrap().unwrap();
    assert_eq!(event.decision_id, marker.decision_id);
    assert_ne!(event.kind, pb::DecisionEventKind::ReturnRouted as i32);
    server.stop().await.unwrap();
}
