//! PromiseService: GetDeliveryPromise, with the conventions of common.proto
//! that apply to it (order lines, destinations, service levels, reasons).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use allot_proto::v1 as pb;
use allot_proto::v1::admin_service_client::AdminServiceClient;
use allot_proto::v1::decision_service_client::DecisionServiceClient;
use allot_proto::v1::inventory_service_client::InventoryServiceClient;
use allot_proto::v1::promise_service_client::PromiseServiceClient;
use tonic::Code;
use tonic::transport::Channel;

use crate::common::orders::{line, promise, stock_rows};
use crate::common::{Saturated, TestServer, assert_field_error, test_config};

type Client = PromiseServiceClient<Channel>;

/// Every service level a quote can offer, fastest first.
const LEVELS: [pb::ServiceLevel; 4] = [
    pb::ServiceLevel::SameDay,
    pb::ServiceLevel::Overnight,
    pb::ServiceLevel::TwoDay,
    pb::ServiceLevel::Ground,
];

async fn client(server: &TestServer) -> Client {
    PromiseServiceClient::new(server.channel().await)
}

fn now() -> prost_types::Timestamp {
    prost_types::Timestamp::from(SystemTime::now())
}

fn cart() -> Vec<pb::OrderLine> {
    vec![
        line("a", "SKU-000001", 1),
        line("b", "SKU-000002", 2),
        line("c", "SKU-000003", 1),
    ]
}

fn request(lines: Vec<pb::OrderLine>) -> pb::PromiseRequest {
    promise(lines, "10001", now())
}

async fn quote(
    client: &mut Client,
    request: pb::PromiseRequest,
) -> Result<pb::PromiseResponse, tonic::Status> {
    client
        .get_delivery_promise(request)
        .await
        .map(tonic::Response::into_inner)
}

/// The error of quoting `request` on a demo server.
async fn refused(request: pb::PromiseRequest) -> tonic::Status {
    let server = TestServer::serving().await;
    let status = quote(&mut client(&server).await, request)
        .await
        .unwrap_err();
    server.stop().await.unwrap();
    status
}

fn with_destination(destination: Option<pb::Destination>) -> pb::PromiseRequest {
    let mut request = request(cart());
    request.destination = destination;
    request
}

fn coordinates(lat: f64, lon: f64) -> Option<pb::Destination> {
    Some(pb::Destination {
        location: Some(pb::destination::Location::Coordinates(pb::GeoPoint {
            lat,
            lon,
        })),
        ..Default::default()
    })
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

// --- Errors -----------------------------------------------------------------

#[tokio::test]
async fn get_delivery_promise_no_lines_is_invalid_argument_naming_lines() {
    let status = refused(request(vec![])).await;
    assert_field_error(&status, Code::InvalidArgument, "lines");
}

#[tokio::test]
async fn get_delivery_promise_more_than_200_lines_is_invalid_argument_naming_lines() {
    let server = TestServer::serving().await;
    let mut client = client(&server).await;
    let lines = |n: usize| -> Vec<_> {
        (0..n)
            .map(|i| line(&format!("l{i}"), "SKU-000001", 1))
            .collect()
    };
    let status = quote(&mut client, request(lines(201))).await.unwrap_err();
    assert_field_error(&status, Code::InvalidArgument, "lines");
    assert!(status.message().contains("200"), "{status:?}");
    quote(&mut client, request(lines(200)))
        .await
        .expect("200 lines are allowed");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_delivery_promise_empty_line_id_is_invalid_argument_naming_it() {
    let status = refused(request(vec![
        line("a", "SKU-000001", 1),
        line("", "SKU-000002", 1),
    ]))
    .await;
    assert_field_error(&status, Code::InvalidArgument, "lines[1].line_id");
}

#[tokio::test]
async fn get_delivery_promise_line_id_over_64_bytes_is_invalid_argument_naming_it() {
    let server = TestServer::serving().await;
    let mut client = client(&server).await;
    let status = quote(
        &mut client,
        request(vec![line(&"x".repeat(65), "SKU-000001", 1)]),
    )
    .await
    .unwrap_err();
    assert_field_error(&status, Code::InvalidArgument, "lines[0].line_id");
    assert!(status.message().contains("65"), "{status:?}");
    quote(
        &mut client,
        request(vec![line(&"x".repeat(64), "SKU-000001", 1)]),
    )
    .await
    .expect("64 bytes are allowed");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_delivery_promise_duplicate_line_id_is_invalid_argument_naming_the_repeat() {
    let status = refused(request(vec![
        line("a", "SKU-000001", 1),
        line("b", "SKU-000002", 1),
        line("a", "SKU-000003", 1),
    ]))
    .await;
    assert_field_error(&status, Code::InvalidArgument, "lines[2].line_id");
}

#[tokio::test]
async fn get_delivery_promise_quantity_0_is_invalid_argument_naming_it() {
    let status = refused(request(vec![
        line("a", "SKU-000001", 1),
        line("b", "SKU-000002", 0),
    ]))
    .await;
    assert_field_error(&status, Code::InvalidArgument, "lines[1].quantity");
    assert!(
        status.message().contains("1 to 1000000") && status.message().contains("got 0"),
        "{status:?}"
    );
}

#[tokio::test]
async fn get_delivery_promise_quantity_above_1000000_is_invalid_argument_naming_it() {
    let server = TestServer::serving().await;
    let mut client = client(&server).await;
    let status = quote(
        &mut client,
        request(vec![line("a", "SKU-000001", 1_000_001)]),
    )
    .await
    .unwrap_err();
    assert_field_error(&status, Code::InvalidArgument, "lines[0].quantity");
    assert!(status.message().contains("1000001"), "{status:?}");
    quote(
        &mut client,
        request(vec![line("a", "SKU-000001", 1_000_000)]),
    )
    .await
    .expect("1000000 is allowed");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_delivery_promise_weight_0_is_invalid_argument_naming_it() {
    let mut heavy = line("b", "SKU-000002", 1);
    heavy.weight_grams = Some(0);
    let status = refused(request(vec![line("a", "SKU-000001", 1), heavy])).await;
    assert_field_error(&status, Code::InvalidArgument, "lines[1].weight_grams");
}

#[tokio::test]
async fn get_delivery_promise_unknown_sku_is_not_found_naming_it() {
    let status = refused(request(vec![
        line("a", "SKU-000001", 1),
        line("b", "NO-SUCH-SKU", 1),
    ]))
    .await;
    assert_field_error(&status, Code::NotFound, "lines[1].sku");
    assert!(status.message().contains("NO-SUCH-SKU"), "{status:?}");
}

#[tokio::test]
async fn get_delivery_promise_no_destination_is_invalid_argument_naming_destination() {
    let status = refused(with_destination(None)).await;
    assert_field_error(&status, Code::InvalidArgument, "destination");
}

#[tokio::test]
async fn get_delivery_promise_a_postal_code_of_no_region_is_invalid_argument_naming_destination_postal_code()
 {
    for postal in ["00000", "!!!"] {
        let status = refused(with_destination(Some(pb::Destination {
            location: Some(pb::destination::Location::PostalCode(postal.into())),
            ..Default::default()
        })))
        .await;
        assert_field_error(&status, Code::InvalidArgument, "destination.postal_code");
        assert!(status.message().contains(postal), "{status:?}");
    }
}

#[tokio::test]
async fn get_delivery_promise_coordinates_out_of_range_are_invalid_argument_naming_destination_coordinates()
 {
    let server = TestServer::serving().await;
    let mut client = client(&server).await;
    for (lat, lon) in [(90.5, 0.0), (-91.0, 0.0), (40.0, 180.5), (40.0, -181.0)] {
        let status = quote(&mut client, with_destination(coordinates(lat, lon)))
            .await
            .unwrap_err();
        assert_field_error(&status, Code::InvalidArgument, "destination.coordinates");
    }
    // The bounds are inclusive.
    for (lat, lon) in [(90.0, -73.9), (40.7, -180.0), (40.7, 180.0), (-90.0, 0.0)] {
        quote(&mut client, with_destination(coordinates(lat, lon)))
            .await
            .unwrap_or_else(|s| panic!("({lat}, {lon}): {s:?}"));
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_delivery_promise_a_country_the_network_does_not_serve_is_invalid_argument_naming_destination_country_code()
 {
    let server = TestServer::serving().await;
    let country = AdminServiceClient::new(server.channel().await)
        .get_network(pb::GetNetworkRequest {
            include_skus: false,
        })
        .await
        .unwrap()
        .into_inner()
        .country;
    let mut client = client(&server).await;
    let mut foreign = request(cart());
    foreign.destination.as_mut().unwrap().country_code = "FR".into();
    let status = quote(&mut client, foreign).await.unwrap_err();
    assert_field_error(&status, Code::InvalidArgument, "destination.country_code");
    assert!(status.message().contains(&country), "{status:?}");
    for served in [country.as_str(), ""] {
        let mut home = request(cart());
        home.destination.as_mut().unwrap().country_code = served.into();
        quote(&mut client, home)
            .await
            .unwrap_or_else(|s| panic!("{served:?}: {s:?}"));
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_delivery_promise_an_unspecified_service_level_is_invalid_argument_naming_it() {
    let mut unspecified = request(cart());
    unspecified.service_levels = vec![
        pb::ServiceLevel::Ground as i32,
        pb::ServiceLevel::Unspecified as i32,
    ];
    let status = refused(unspecified).await;
    assert_field_error(&status, Code::InvalidArgument, "service_levels[1]");
}

#[tokio::test]
async fn get_delivery_promise_an_unknown_service_level_is_invalid_argument_naming_it() {
    let mut unknown = request(cart());
    unknown.service_levels = vec![42];
    let status = refused(unknown).await;
    assert_field_error(&status, Code::InvalidArgument, "service_levels[0]");
}

#[tokio::test]
async fn get_delivery_promise_an_invalid_order_time_is_invalid_argument_naming_it() {
    let mut invalid = request(cart());
    invalid.order_time = Some(prost_types::Timestamp {
        seconds: 1_800_000_000,
        nanos: -1,
    });
    let status = refused(invalid).await;
    assert_field_error(&status, Code::InvalidArgument, "order_time");
}

#[tokio::test]
async fn get_delivery_promise_a_deadline_that_leaves_no_time_is_deadline_exceeded() {
    let mut config = test_config();
    // Every deadline below the server's margin leaves no time to decide.
    config.allocation.deadline_margin_ms = 60_000;
    let server = TestServer::start(config).await;
    server.wait_serving().await;
    let mut call = tonic::Request::new(request(cart()));
    call.set_timeout(Duration::from_secs(30));
    let status = client(&server)
        .await
        .get_delivery_promise(call)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_delivery_promise_when_overloaded_is_resource_exhausted() {
    let saturated = Saturated::start().await;
    let status = saturated
        .refused(|channel| async move { quote(&mut Client::new(channel), request(cart())).await })
        .await;
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    saturated.stop().await;
}

// --- Answers ----------------------------------------------------------------

#[tokio::test]
async fn get_delivery_promise_options_are_one_per_service_level_fastest_first_never_unspecified() {
    let server = TestServer::serving().await;
    let answer = quote(&mut client(&server).await, request(cart()))
        .await
        .unwrap();
    assert!(!answer.options.is_empty(), "the demo stock ships this cart");
    let levels: Vec<_> = answer.options.iter().map(|o| o.service_level).collect();
    assert!(
        levels.windows(2).all(|w| w[0] < w[1]),
        "one per level, fastest first: {levels:?}"
    );
    assert!(!levels.contains(&(pb::ServiceLevel::Unspecified as i32)));
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_delivery_promise_service_levels_limit_the_quote_to_those_levels() {
    let server = TestServer::serving().await;
    let mut client = client(&server).await;
    let mut ground = request(cart());
    ground.service_levels = vec![pb::ServiceLevel::Ground as i32];
    let answer = quote(&mut client, ground).await.unwrap();
    let quoted: Vec<_> = answer
        .options
        .iter()
        .map(|o| o.service_level)
        .chain(answer.unavailable.iter().map(|u| u.service_level))
        .collect();
    assert_eq!(quoted, [pb::ServiceLevel::Ground as i32]);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_delivery_promise_empty_service_levels_quote_all_four() {
    let server = TestServer::serving().await;
    let answer = quote(&mut client(&server).await, request(cart()))
        .await
        .unwrap();
    let mut quoted: Vec<_> = answer
        .options
        .iter()
        .map(|o| o.service_level)
        .chain(answer.unavailable.iter().map(|u| u.service_level))
        .collect();
    quoted.sort();
    assert_eq!(quoted, LEVELS.map(|l| l as i32));
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_delivery_promise_without_explain_unavailable_lists_no_unavailable_level() {
    let server = TestServer::serving().await;
    let mut client = client(&server).await;
    // Nothing holds a million units: every level is unavailable.
    let mut silent = request(vec![line("a", "SKU-000001", 1_000_000)]);
    silent.explain_unavailable = false;
    let answer = quote(&mut client, silent.clone()).await.unwrap();
    assert!(answer.options.is_empty());
    assert!(answer.unavailable.is_empty(), "{:?}", answer.unavailable);
    silent.explain_unavailable = true;
    let explained = quote(&mut client, silent).await.unwrap();
    assert_eq!(explained.unavailable.len(), 4);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_delivery_promise_explain_unavailable_gives_reasons_whose_code_is_never_unspecified() {
    let mut config = test_config();
    config.stock.demo = false;
    let server = TestServer::start(config).await;
    server.wait_serving().await;
    let answer = quote(&mut client(&server).await, request(cart()))
        .await
        .unwrap();
    assert!(answer.options.is_empty(), "no stock: no option");
    assert_eq!(answer.unavailable.len(), 4);
    for unavailable in &answer.unavailable {
        assert_ne!(
            unavailable.service_level,
            pb::ServiceLevel::Unspecified as i32
        );
        assert!(!unavailable.reasons.is_empty(), "{unavailable:?}");
        for reason in &unavailable.reasons {
            assert_ne!(
                reason.code,
                pb::ReasonCode::Unspecified as i32,
                "{reason:?}"
            );
            assert!(!reason.message.is_empty());
        }
        assert!(
            unavailable
                .reasons
                .iter()
                .any(|r| r.code == pb::ReasonCode::ExcludedNoStock as i32),
            "{unavailable:?}"
        );
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_delivery_promise_ship_from_covers_the_whole_cart_echoing_line_ids_and_skus() {
    let server = TestServer::serving().await;
    let answer = quote(&mut client(&server).await, request(cart()))
        .await
        .unwrap();
    let wanted: BTreeMap<_, _> = cart()
        .into_iter()
        .map(|l| (l.line_id, (l.sku, l.quantity)))
        .collect();
    for option in &answer.options {
        let mut shipped: BTreeMap<String, u32> = BTreeMap::new();
        for from in &option.ship_from {
            assert!(from.quantity >= 1, "{from:?}");
            assert!(!from.node.is_empty());
            assert_eq!(wanted[&from.line_id].0, from.sku, "{from:?}");
            *shipped.entry(from.line_id.clone()).or_default() += from.quantity;
        }
        let whole: BTreeMap<_, _> = wanted.iter().map(|(id, (_, q))| (id.clone(), *q)).collect();
        assert_eq!(shipped, whole, "level {}", option.service_level);
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_delivery_promise_dates_windows_probabilities_and_costs_are_consistent() {
    let server = TestServer::serving().await;
    let services: BTreeMap<String, i32> = AdminServiceClient::new(server.channel().await)
        .get_network(pb::GetNetworkRequest {
            include_skus: false,
        })
        .await
        .unwrap()
        .into_inner()
        .services
        .into_iter()
        .map(|s| (s.code, s.level))
        .collect();
    let at = now();
    let answer = quote(&mut client(&server).await, promise(cart(), "10001", at))
        .await
        .unwrap();
    for option in &answer.options {
        assert!(services.contains_key(&option.service), "{option:?}");
        assert!(is_date(&option.ship_date_local), "{option:?}");
        assert!(is_date(&option.earliest_delivery_date));
        assert!(is_date(&option.latest_delivery_date));
        assert!(option.earliest_delivery_date <= option.latest_delivery_date);
        let (earliest, latest) = (
            option.earliest_delivery.unwrap(),
            option.latest_delivery.unwrap(),
        );
        assert!((earliest.seconds, earliest.nanos) <= (latest.seconds, latest.nanos));
        assert!(latest.seconds >= at.seconds, "delivered after the order");
        let ship_by = option.ship_by.unwrap();
        assert!(ship_by.seconds >= at.seconds, "holds until ship_by");
        assert!((0.0..=1.0).contains(&option.on_time_probability));
        assert!(option.cost_minor > 0, "{option:?}");
        assert!(!option.from_cache);
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_delivery_promise_without_order_time_quotes_now() {
    let server = TestServer::serving().await;
    let mut untimed = request(cart());
    untimed.order_time = None;
    let before = SystemTime::now();
    let answer = quote(&mut client(&server).await, untimed).await.unwrap();
    let after = SystemTime::now();
    let quoted_at = SystemTime::try_from(answer.quoted_at.unwrap()).unwrap();
    assert!(before <= quoted_at && quoted_at <= after, "{quoted_at:?}");
    let record = DecisionServiceClient::new(server.channel().await)
        .explain_decision(pb::ExplainDecisionRequest {
            decision_id: answer.decision_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(record.decided_at, answer.quoted_at, "evaluated from now");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_delivery_promise_reserves_nothing() {
    let server = TestServer::serving().await;
    let inventory = InventoryServiceClient::new(server.channel().await);
    let availability = |sku: &'static str| {
        let mut inventory = inventory.clone();
        async move {
            inventory
                .get_sku_availability(pb::GetSkuAvailabilityRequest {
                    sku: sku.into(),
                    nodes: vec![],
                    include_zero: true,
                })
                .await
                .unwrap()
                .into_inner()
        }
    };
    let before = availability("SKU-000002").await;
    let answer = quote(&mut client(&server).await, request(cart()))
        .await
        .unwrap();
    assert!(!answer.options.is_empty());
    assert_eq!(availability("SKU-000002").await, before);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_delivery_promise_answers_a_decision_id_that_explains_the_quote() {
    let server = TestServer::serving().await;
    let answer = quote(&mut client(&server).await, request(cart()))
        .await
        .unwrap();
    assert!(
        answer.decision_id.starts_with("dec_"),
        "{}",
        answer.decision_id
    );
    let record = DecisionServiceClient::new(server.channel().await)
        .explain_decision(pb::ExplainDecisionRequest {
            decision_id: answer.decision_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(record.kind, pb::DecisionKind::Promise as i32);
    assert_eq!(
        record.response,
        Some(pb::decision_record::Response::PromiseResponse(answer))
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_delivery_promise_a_repeated_cart_comes_from_the_cache_until_its_stock_changes() {
    let server = TestServer::serving().await;
    let mut client = client(&server).await;
    let at = now();
    let first = quote(&mut client, promise(cart(), "10001", at))
        .await
        .unwrap();
    let again = quote(&mut client, promise(cart(), "10001", at))
        .await
        .unwrap();
    assert_eq!(again.options.len(), first.options.len());
    for (a, b) in first.options.iter().zip(&again.options) {
        assert!(!a.from_cache && b.from_cache, "level {}", b.service_level);
        assert_eq!((a.cost_minor, &a.ship_from), (b.cost_minor, &b.ship_from));
    }
    assert_ne!(
        again.decision_id, first.decision_id,
        "each quote is a decision"
    );
    // A stock change at a shipping node is a new quote.
    let node = first.options[0].ship_from[0].node.clone();
    let mut inventory = InventoryServiceClient::new(server.channel().await);
    stock_rows(
        &mut inventory,
        &node,
        vec![("SKU-000001", 50), ("SKU-000002", 50), ("SKU-000003", 50)],
    )
    .await;
    let after = quote(&mut client, promise(cart(), "10001", at))
        .await
        .unwrap();
    assert!(after.options.iter().all(|o| !o.from_cache), "{after:?}");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_delivery_promise_model_version_is_the_loaded_eta_model_or_empty_without_one() {
    let server = TestServer::serving().await;
    let eta = AdminServiceClient::new(server.channel().await)
        .get_model_info(pb::GetModelInfoRequest {})
        .await
        .unwrap()
        .into_inner()
        .models
        .into_iter()
        .find(|m| m.kind == pb::ModelKind::Eta as i32)
        .unwrap();
    let answer = quote(&mut client(&server).await, request(cart()))
        .await
        .unwrap();
    assert_eq!(answer.model_version, eta.version);
    server.stop().await.unwrap();

    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("cards")).unwrap();
    for file in ["fraud.onnx", "fraud.lgb.txt", "cards/fraud.json"] {
        std::fs::copy(source.join(file), dir.path().join(file)).unwrap();
    }
    let mut config = test_config();
    config.models.dir = Some(dir.path().to_path_buf());
    let server = TestServer::start(config).await;
    server.wait_serving().await;
    let answer = quote(&mut client(&server).await, request(cart()))
        .await
        .unwrap();
    assert!(!answer.options.is_empty(), "nominal transit times");
    assert_eq!(answer.model_version, "");
    server.stop().await.unwrap();
}
