//! RiskService: ScoreOrder as proto/allot/v1/risk.proto (and the shared
//! types of common.proto it uses: Destination, OrderLine, OrderContext,
//! Reason, ReasonCode) promises it.

use std::collections::HashMap;
use std::time::SystemTime;

use allot_proto::v1 as pb;
use allot_proto::v1::admin_service_client::AdminServiceClient;
use allot_proto::v1::decision_service_client::DecisionServiceClient;
use allot_proto::v1::risk_service_client::RiskServiceClient;
use allot_server::Config;
use prost::Message;
use tonic::Code;
use tonic::transport::Channel;

use crate::common::orders::{line, score_request};
use crate::common::{Saturated, TestServer, assert_field_error, test_config};

type Client = RiskServiceClient<Channel>;

/// A fixed order time (a weekday, 2025-06-15 is a Sunday: this is Monday
/// 2025-06-16 14:00 UTC), so that two orders placed "at the same time" on
/// two servers have the same time-of-day features.
const T0: i64 = 1_750_082_400;
const DAY: i64 = 86_400;

// --- Servers, requests, answers ---

/// A server on the demo network and stock.
async fn demo() -> (TestServer, Client) {
    configured(|_| {}).await
}

/// A server on the demo network with `change` applied to its configuration.
async fn configured(change: impl FnOnce(&mut Config)) -> (TestServer, Client) {
    let mut config = test_config();
    change(&mut config);
    let server = TestServer::start(config).await;
    server.wait_serving().await;
    let client = RiskServiceClient::new(server.channel().await);
    (server, client)
}

fn at(seconds: i64) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds, nanos: 0 }
}

/// A guest order `id` of one unit of SKU-000001 to 10001 (US), no context.
fn guest(id: &str) -> pb::ScoreOrderRequest {
    score_request(id, vec![line("a", "SKU-000001", 1)], "10001")
}

/// A context with every signal, named after `tag`, placed at [`T0`].
fn full_context(tag: &str) -> pb::OrderContext {
    pb::OrderContext {
        customer_id: format!("c-{tag}"),
        account_created_at: Some(at(T0 - 400 * DAY)),
        email: format!("{tag}@example.com"),
        device_id: format!("dev-{tag}"),
        card_fingerprint: format!("card-{tag}"),
        billing: Some(pb::Destination {
            location: Some(pb::destination::Location::PostalCode("10001".into())),
            country_code: "US".into(),
            ..Default::default()
        }),
        ip: "203.0.113.7".into(),
        placed_at: Some(at(T0)),
    }
}

/// Order `id` with the full context of `tag`.
fn known(id: &str, tag: &str) -> pb::ScoreOrderRequest {
    let mut request = guest(id);
    request.context = Some(full_context(tag));
    request
}

/// An order with many risk signals: a day-old account, an expensive cart of
/// several SKUs shipped overnight, billed on the other side of the country.
fn risky(id: &str, tag: &str) -> pb::ScoreOrderRequest {
    let mut request = score_request(
        id,
        vec![
            line("a", "SKU-000001", 5),
            line("b", "SKU-000002", 5),
            line("c", "SKU-000003", 5),
        ],
        "10001",
    );
    let mut context = full_context(tag);
    context.account_created_at = Some(at(T0 - DAY));
    context.billing = Some(pb::Destination {
        location: Some(pb::destination::Location::Coordinates(pb::GeoPoint {
            lat: 34.05,
            lon: -118.24,
        })),
        ..Default::default()
    });
    request.context = Some(context);
    request.order_amount_minor = 2_500_000;
    request.service_level = pb::ServiceLevel::Overnight as i32;
    request
}

async fn score(client: &mut Client, request: pb::ScoreOrderRequest) -> pb::RiskAssessment {
    client.score_order(request).await.unwrap().into_inner()
}

async fn refused(client: &mut Client, request: pb::ScoreOrderRequest) -> tonic::Status {
    client.score_order(request).await.unwrap_err()
}

async fn explain(server: &TestServer, id: &str) -> pb::DecisionRecord {
    DecisionServiceClient::new(server.channel().await)
        .explain_decision(pb::ExplainDecisionRequest {
            decision_id: id.into(),
        })
        .await
        .unwrap()
        .into_inner()
}

fn recorded_request(record: &pb::DecisionRecord) -> &pb::ScoreOrderRequest {
    match &record.request {
        Some(pb::decision_record::Request::ScoreOrderRequest(request)) => request,
        other => panic!("a risk record holds its ScoreOrderRequest, got {other:?}"),
    }
}

fn recorded_assessment(record: &pb::DecisionRecord) -> &pb::RiskAssessment {
    match &record.response {
        Some(pb::decision_record::Response::RiskAssessment(assessment)) => assessment,
        other => panic!("a risk record holds its RiskAssessment, got {other:?}"),
    }
}

/// The model features the decision `id` recorded.
async fn features(server: &TestServer, id: &str) -> HashMap<String, f64> {
    explain(server, id).await.features
}

/// A recorded feature (panics when absent).
fn feature(features: &HashMap<String, f64>, name: &str) -> f64 {
    *features
        .get(name)
        .unwrap_or_else(|| panic!("feature {name} not recorded: {features:?}"))
}

/// The card of the loaded fraud model.
async fn fraud_card(server: &TestServer) -> pb::ModelCard {
    let info = AdminServiceClient::new(server.channel().await)
        .get_model_info(pb::GetModelInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    let mut fraud = info
        .models
        .into_iter()
        .filter(|card| card.kind == pb::ModelKind::Fraud as i32);
    let card = fraud.next().expect("GetModelInfo lists a fraud model");
    assert!(fraud.next().is_none(), "one fraud model");
    card
}

async fn network(server: &TestServer) -> pb::NetworkDescription {
    AdminServiceClient::new(server.channel().await)
        .get_network(pb::GetNetworkRequest { include_skus: true })
        .await
        .unwrap()
        .into_inner()
}

fn sku_info<'a>(network: &'a pb::NetworkDescription, code: &str) -> &'a pb::SkuInfo {
    network
        .skus
        .iter()
        .find(|sku| sku.code == code)
        .unwrap_or_else(|| panic!("{code} is in the network"))
}

fn code(reason: &pb::Reason) -> pb::ReasonCode {
    pb::ReasonCode::try_from(reason.code)
        .unwrap_or_else(|_| panic!("unknown reason code {}", reason.code))
}

fn is_rule(reason: &pb::Reason) -> bool {
    matches!(
        code(reason),
        pb::ReasonCode::BlockList | pb::ReasonCode::AllowList | pb::ReasonCode::AmountLimit
    )
}

fn has(assessment: &pb::RiskAssessment, wanted: pb::ReasonCode) -> bool {
    assessment.reasons.iter().any(|r| code(r) == wanted)
}

fn decision(assessment: &pb::RiskAssessment) -> pb::RiskDecision {
    pb::RiskDecision::try_from(assessment.decision).unwrap()
}

fn missing(fields: &[&str]) -> Vec<String> {
    fields.iter().map(|f| (*f).to_string()).collect()
}

// --- Errors ---

#[tokio::test]
async fn score_order_empty_order_id_is_invalid_argument_naming_order_id() {
    let (_server, mut client) = demo().await;
    let status = refused(&mut client, guest("")).await;
    assert_field_error(&status, Code::InvalidArgument, "order_id");
}

#[tokio::test]
async fn score_order_order_id_over_128_bytes_is_invalid_argument_naming_order_id() {
    let (_server, mut client) = demo().await;
    score(&mut client, guest(&"o".repeat(128))).await;
    let status = refused(&mut client, guest(&"o".repeat(129))).await;
    assert_field_error(&status, Code::InvalidArgument, "order_id");
}

#[tokio::test]
async fn score_order_no_lines_is_invalid_argument_naming_lines() {
    let (_server, mut client) = demo().await;
    let status = refused(&mut client, score_request("o", vec![], "10001")).await;
    assert_field_error(&status, Code::InvalidArgument, "lines");
}

#[tokio::test]
async fn score_order_more_than_1000_lines_is_invalid_argument_naming_lines() {
    let (_server, mut client) = demo().await;
    let lines = |n: usize| {
        (0..n)
            .map(|i| line(&format!("l{i}"), "SKU-000001", 1))
            .collect()
    };
    score(&mut client, score_request("o-1000", lines(1000), "10001")).await;
    let status = refused(&mut client, score_request("o-1001", lines(1001), "10001")).await;
    assert_field_error(&status, Code::InvalidArgument, "lines");
}

#[tokio::test]
async fn score_order_quantity_zero_is_invalid_argument_naming_the_quantity() {
    let (_server, mut client) = demo().await;
    let lines = vec![line("a", "SKU-000001", 1), line("b", "SKU-000002", 0)];
    let status = refused(&mut client, score_request("o", lines, "10001")).await;
    assert_field_error(&status, Code::InvalidArgument, "lines[1].quantity");
}

#[tokio::test]
async fn score_order_quantity_over_a_million_is_invalid_argument_naming_the_quantity() {
    let (_server, mut client) = demo().await;
    let lines = vec![line("a", "SKU-000001", 1_000_001)];
    let status = refused(&mut client, score_request("o", lines, "10001")).await;
    assert_field_error(&status, Code::InvalidArgument, "lines[0].quantity");
}

/// common.proto: `unit_price_minor` at most 10^12; the most a thousand
/// lines of a million units at that price can be is scored, not wrapped.
#[tokio::test]
async fn score_order_unit_price_over_the_limit_is_invalid_argument_and_at_it_is_scored() {
    let (_server, mut client) = demo().await;
    let priced = |id: &str, price: u64| {
        let mut l = line(id, "SKU-000001", 1_000_000);
        l.unit_price_minor = Some(price);
        l
    };
    let most: Vec<_> = (0..1000)
        .map(|i| priced(&format!("l{i}"), 1_000_000_000_000))
        .collect();
    let answer = score(&mut client, score_request("o-priciest", most, "10001")).await;
    assert!(answer.fraud_probability.is_finite(), "{answer:?}");
    let over = vec![priced("a", 1_000_000_000_001)];
    let status = refused(&mut client, score_request("o", over, "10001")).await;
    assert_field_error(&status, Code::InvalidArgument, "lines[0].unit_price_minor");
}

/// common.proto: a postal code is 1 to 16 letters, digits, spaces or
/// hyphens; a country code two letters of a served country.
#[tokio::test]
async fn score_order_postal_and_country_codes_at_their_limits() {
    let (_server, mut client) = demo().await;
    let lines = || vec![line("a", "SKU-000001", 1)];
    // 16 characters, resolved by its prefix.
    score(
        &mut client,
        score_request("o-16", lines(), "10001-1234 56789"),
    )
    .await;
    for bad in ["10001-1234 567890", "", "10001;DROP", "1000\u{1F600}"] {
        let status = refused(&mut client, score_request("o", lines(), bad)).await;
        assert_field_error(&status, Code::InvalidArgument, "destination.postal_code");
    }
    for bad in ["USA", "U", "1S", "ZZ"] {
        let mut request = score_request("o", lines(), "10001");
        request.destination.as_mut().unwrap().country_code = bad.into();
        let status = refused(&mut client, request).await;
        assert_field_error(&status, Code::InvalidArgument, "destination.country_code");
    }
    let mut lower = score_request("o-us", lines(), "10001");
    lower.destination.as_mut().unwrap().country_code = "us".into();
    score(&mut client, lower).await;
}

#[tokio::test]
async fn score_order_empty_or_duplicate_line_id_is_invalid_argument_naming_the_line_id() {
    let (_server, mut client) = demo().await;
    let empty = vec![line("", "SKU-000001", 1)];
    let status = refused(&mut client, score_request("o", empty, "10001")).await;
    assert_field_error(&status, Code::InvalidArgument, "lines[0].line_id");
    let duplicate = vec![
        line("a", "SKU-000001", 1),
        line("b", "SKU-000002", 1),
        line("a", "SKU-000003", 1),
    ];
    let status = refused(&mut client, score_request("o", duplicate, "10001")).await;
    assert_field_error(&status, Code::InvalidArgument, "lines[2].line_id");
}

#[tokio::test]
async fn score_order_weight_zero_is_invalid_argument_naming_the_weight() {
    let (_server, mut client) = demo().await;
    let mut l = line("a", "SKU-000001", 1);
    l.weight_grams = Some(0);
    let status = refused(&mut client, score_request("o", vec![l], "10001")).await;
    assert_field_error(&status, Code::InvalidArgument, "lines[0].weight_grams");
}

#[tokio::test]
async fn score_order_unknown_sku_is_not_found_naming_the_line_and_the_sku() {
    let (_server, mut client) = demo().await;
    let lines = vec![line("a", "SKU-000001", 1), line("b", "NOPE-42", 1)];
    let status = refused(&mut client, score_request("o", lines, "10001")).await;
    assert_field_error(&status, Code::NotFound, "lines[1].sku");
    assert!(status.message().contains("NOPE-42"), "{}", status.message());
}

#[tokio::test]
async fn score_order_malformed_currency_is_invalid_argument_naming_currency() {
    let (_server, mut client) = demo().await;
    for currency in ["US$", "US", "USDX", "12D", " USD"] {
        let mut request = guest("o");
        request.currency = currency.into();
        let status = refused(&mut client, request).await;
        assert_field_error(&status, Code::InvalidArgument, "currency");
    }
}

#[tokio::test]
async fn score_order_a_currency_other_than_the_networks_is_invalid_argument_naming_currency() {
    let (server, mut client) = demo().await;
    let home = network(&server).await.currency;
    assert_ne!(home, "EUR", "the test needs a foreign currency");
    for currency in ["EUR", "eur"] {
        let mut request = guest("o");
        request.currency = currency.into();
        let status = refused(&mut client, request).await;
        assert_field_error(&status, Code::InvalidArgument, "currency");
    }
}

#[tokio::test]
async fn score_order_empty_currency_or_the_networks_in_any_case_is_accepted() {
    let (server, mut client) = demo().await;
    let home = network(&server).await.currency;
    for (i, currency) in [
        String::new(),
        home.clone(),
        home.to_lowercase(),
        home[..1].to_string() + &home[1..].to_lowercase(),
    ]
    .into_iter()
    .enumerate()
    {
        let mut request = guest(&format!("o-{i}"));
        request.currency = currency;
        request.order_amount_minor = 1_999;
        let answer = score(&mut client, request).await;
        assert_ne!(decision(&answer), pb::RiskDecision::Unspecified);
    }
}

#[tokio::test]
async fn score_order_malformed_ip_is_invalid_argument_naming_context_ip() {
    let (_server, mut client) = demo().await;
    for ip in [
        "999.1.1.1",
        "not-an-ip",
        "1.2.3",
        "2001:db8::7::1",
        "203.0.113.7:443",
    ] {
        let mut request = guest("o");
        request.context = Some(pb::OrderContext {
            ip: ip.into(),
            ..Default::default()
        });
        let status = refused(&mut client, request).await;
        assert_field_error(&status, Code::InvalidArgument, "context.ip");
    }
}

#[tokio::test]
async fn score_order_ipv4_and_ipv6_text_forms_are_accepted() {
    let (_server, mut client) = demo().await;
    for (i, ip) in ["203.0.113.7", "2001:db8::7", "::1", "::ffff:203.0.113.7"]
        .into_iter()
        .enumerate()
    {
        let mut request = guest(&format!("o-{i}"));
        request.context = Some(pb::OrderContext {
            ip: ip.into(),
            ..Default::default()
        });
        score(&mut client, request).await;
    }
}

#[tokio::test]
async fn score_order_negative_amount_is_invalid_argument_naming_order_amount_minor() {
    let (_server, mut client) = demo().await;
    let mut request = guest("o");
    request.order_amount_minor = -1;
    let status = refused(&mut client, request).await;
    assert_field_error(&status, Code::InvalidArgument, "order_amount_minor");
}

#[tokio::test]
async fn score_order_absent_destination_is_invalid_argument_naming_destination() {
    let (_server, mut client) = demo().await;
    let mut request = guest("o");
    request.destination = None;
    let status = refused(&mut client, request).await;
    assert_field_error(&status, Code::InvalidArgument, "destination");
    assert!(
        status.message().starts_with("destination: required"),
        "{}",
        status.message()
    );
}

/// common.proto, Destination.location: "Exactly one must be set; absent is
/// rejected with INVALID_ARGUMENT naming `destination.location`."
#[tokio::test]
async fn score_order_destination_without_location_is_invalid_argument_naming_destination_location()
{
    let (_server, mut client) = demo().await;
    let mut request = guest("o");
    request.destination.as_mut().unwrap().location = None;
    let status = refused(&mut client, request).await;
    assert_field_error(&status, Code::InvalidArgument, "destination.location");
}

#[tokio::test]
async fn score_order_unresolvable_postal_code_is_invalid_argument_naming_it() {
    let (_server, mut client) = demo().await;
    for postal in ["!!!", "", "   "] {
        let status = refused(
            &mut client,
            score_request("o", vec![line("a", "SKU-000001", 1)], postal),
        )
        .await;
        assert_field_error(&status, Code::InvalidArgument, "destination.postal_code");
    }
}

#[tokio::test]
async fn score_order_coordinates_out_of_range_are_invalid_argument_naming_them() {
    let (_server, mut client) = demo().await;
    for (lat, lon) in [(90.5, 0.0), (-90.5, 0.0), (0.0, 180.5), (0.0, -180.5)] {
        let mut request = guest("o");
        request.destination.as_mut().unwrap().location =
            Some(pb::destination::Location::Coordinates(pb::GeoPoint {
                lat,
                lon,
            }));
        let status = refused(&mut client, request).await;
        assert_field_error(&status, Code::InvalidArgument, "destination.coordinates");
    }
}

#[tokio::test]
async fn score_order_coordinates_on_the_range_bounds_are_accepted() {
    let (_server, mut client) = demo().await;
    for (i, (lat, lon)) in [(90.0, 180.0), (-90.0, -180.0), (40.75, -73.99)]
        .into_iter()
        .enumerate()
    {
        let mut request = guest(&format!("o-{i}"));
        request.destination.as_mut().unwrap().location =
            Some(pb::destination::Location::Coordinates(pb::GeoPoint {
                lat,
                lon,
            }));
        score(&mut client, request).await;
    }
}

#[tokio::test]
async fn score_order_a_country_the_network_does_not_serve_is_invalid_argument_naming_it() {
    let (server, mut client) = demo().await;
    let home = network(&server).await.country;
    assert_ne!(home, "ZZ");
    let mut request = guest("o");
    request.destination.as_mut().unwrap().country_code = "ZZ".into();
    let status = refused(&mut client, request).await;
    assert_field_error(&status, Code::InvalidArgument, "destination.country_code");
    // Empty means the network's country; its own code is served.
    for (i, country) in [String::new(), home.clone(), home.to_lowercase()]
        .into_iter()
        .enumerate()
    {
        let mut request = guest(&format!("o-{i}"));
        request.destination.as_mut().unwrap().country_code = country;
        score(&mut client, request).await;
    }
}

#[tokio::test]
async fn score_order_unresolvable_billing_postal_code_is_invalid_argument_naming_it() {
    let (_server, mut client) = demo().await;
    let mut request = guest("o");
    request.context = Some(pb::OrderContext {
        billing: Some(pb::Destination {
            location: Some(pb::destination::Location::PostalCode("!!!".into())),
            ..Default::default()
        }),
        ..Default::default()
    });
    let status = refused(&mut client, request).await;
    assert_field_error(
        &status,
        Code::InvalidArgument,
        "context.billing.postal_code",
    );
}

#[tokio::test]
async fn score_order_billing_coordinates_out_of_range_are_invalid_argument_naming_them() {
    let (_server, mut client) = demo().await;
    let mut request = guest("o");
    request.context = Some(pb::OrderContext {
        billing: Some(pb::Destination {
            location: Some(pb::destination::Location::Coordinates(pb::GeoPoint {
                lat: 91.0,
                lon: 0.0,
            })),
            ..Default::default()
        }),
        ..Default::default()
    });
    let status = refused(&mut client, request).await;
    assert_field_error(
        &status,
        Code::InvalidArgument,
        "context.billing.coordinates",
    );
}

#[tokio::test]
async fn score_order_a_billing_country_the_network_does_not_serve_is_invalid_argument_naming_it() {
    let (_server, mut client) = demo().await;
    let mut request = guest("o");
    request.context = Some(pb::OrderContext {
        billing: Some(pb::Destination {
            location: Some(pb::destination::Location::PostalCode("10001".into())),
            country_code: "ZZ".into(),
            ..Default::default()
        }),
        ..Default::default()
    });
    let status = refused(&mut client, request).await;
    assert_field_error(
        &status,
        Code::InvalidArgument,
        "context.billing.country_code",
    );
}

#[tokio::test]
async fn score_order_when_overloaded_is_resource_exhausted() {
    let saturated = Saturated::start().await;
    let status = saturated
        .refused(|channel| async move {
            RiskServiceClient::new(channel)
                .score_order(guest("o-overloaded"))
                .await
        })
        .await;
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    saturated.stop().await;
}

#[tokio::test]
async fn score_order_a_deadline_that_leaves_no_time_is_deadline_exceeded() {
    // A 1 s deadline inside the server's 5 s margin: refused at once by the
    // server (the client's own timer, which would answer CANCELLED, is far).
    let (_server, mut client) =
        configured(|config| config.allocation.deadline_margin_ms = 5_000).await;
    let mut request = tonic::Request::new(guest("o-late"));
    request.set_timeout(std::time::Duration::from_secs(1));
    let status = client.score_order(request).await.unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
}

#[tokio::test]
async fn score_order_while_the_server_is_loading_fails_only_with_unavailable() {
    let server = TestServer::start(test_config()).await;
    let mut client = RiskServiceClient::new(server.channel().await);
    let mut refusals = 0;
    loop {
        match client.score_order(guest(&format!("o-{refusals}"))).await {
            Ok(answer) => {
                assert_ne!(answer.into_inner().decision_id, "");
                break;
            }
            Err(status) => {
                assert_eq!(status.code(), Code::Unavailable, "{status:?}");
                refusals += 1;
                assert!(refusals < 6_000, "never answered");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
    }
    // Once it reports SERVING, the fraud model is loaded: it answers.
    server.wait_serving().await;
    score(&mut client, guest("o-after")).await;
}

// --- Guest checkout: missing signals ---

#[tokio::test]
async fn score_order_without_context_is_scored_and_missing_signals_is_context() {
    let (_server, mut client) = demo().await;
    let answer = score(&mut client, guest("o")).await;
    assert_ne!(decision(&answer), pb::RiskDecision::Unspecified);
    assert_eq!(answer.missing_signals, missing(&["context"]));
}

#[tokio::test]
async fn score_order_partial_context_lists_exactly_the_missing_fields_in_field_order() {
    let (_server, mut client) = demo().await;
    let all = [
        "context.customer_id",
        "context.account_created_at",
        "context.email",
        "context.device_id",
        "context.card_fingerprint",
        "context.billing",
        "context.ip",
    ];
    // An empty context (or one with only placed_at) misses every signal.
    for (i, context) in [
        pb::OrderContext::default(),
        pb::OrderContext {
            placed_at: Some(at(T0)),
            ..Default::default()
        },
    ]
    .into_iter()
    .enumerate()
    {
        let mut request = guest(&format!("o-empty-{i}"));
        request.context = Some(context);
        assert_eq!(
            score(&mut client, request).await.missing_signals,
            missing(&all)
        );
    }
    // Each signal alone: every other one is missing, in field order.
    for (i, field) in all.iter().enumerate() {
        let full = full_context("p");
        let mut context = pb::OrderContext {
            placed_at: full.placed_at,
            ..Default::default()
        };
        match *field {
            "context.customer_id" => context.customer_id = full.customer_id,
            "context.account_created_at" => context.account_created_at = full.account_created_at,
            "context.email" => context.email = full.email,
            "context.device_id" => context.device_id = full.device_id,
            "context.card_fingerprint" => context.card_fingerprint = full.card_fingerprint,
            "context.billing" => context.billing = full.billing,
            _ => context.ip = full.ip,
        }
        let mut request = guest(&format!("o-one-{i}"));
        request.context = Some(context);
        let expected: Vec<String> = all
            .iter()
            .filter(|f| *f != field)
            .map(|f| (*f).to_string())
            .collect();
        assert_eq!(
            score(&mut client, request).await.missing_signals,
            expected,
            "only {field} sent"
        );
    }
    // A mix.
    let mut context = full_context("mix");
    context.account_created_at = None;
    context.card_fingerprint.clear();
    context.ip.clear();
    let mut request = guest("o-mix");
    request.context = Some(context);
    assert_eq!(
        score(&mut client, request).await.missing_signals,
        missing(&[
            "context.account_created_at",
            "context.card_fingerprint",
            "context.ip"
        ])
    );
}

#[tokio::test]
async fn score_order_full_context_has_no_missing_signals() {
    let (_server, mut client) = demo().await;
    let answer = score(&mut client, known("o", "full")).await;
    assert_eq!(answer.missing_signals, Vec::<String>::new());
}

#[tokio::test]
async fn score_order_explain_decision_records_the_same_missing_signals() {
    let (server, mut client) = demo().await;
    let mut partial = known("o-partial", "partial");
    let context = partial.context.as_mut().unwrap();
    context.email.clear();
    context.billing = None;
    for request in [guest("o-guest"), partial, known("o-full", "full")] {
        let answer = score(&mut client, request).await;
        let record = explain(&server, &answer.decision_id).await;
        assert_eq!(
            recorded_assessment(&record).missing_signals,
            answer.missing_signals
        );
    }
}

#[tokio::test]
async fn score_order_missing_signals_are_scored_as_zero_and_a_missing_account_age_as_missing() {
    let (server, mut client) = demo().await;
    let answer = score(&mut client, guest("o")).await;
    let features = features(&server, &answer.decision_id).await;
    for name in [
        "ship_bill_distance_km",
        "customer_orders_24h",
        "customer_orders_7d",
        "customer_amount_7d",
        "device_orders_1h",
        "device_orders_24h",
        "device_customers_24h",
        "card_orders_24h",
        "card_addresses_7d",
    ] {
        assert_eq!(feature(&features, name), 0.0, "{name}");
    }
    // A guest has no account: its age is missing (absent from the record),
    // as in the training data, not zero days.
    assert!(!features.contains_key("account_age_days"), "{features:?}");
}

// --- Who the customer is ---

#[tokio::test]
async fn score_order_a_guest_is_identified_by_email_for_velocity() {
    let (server, mut client) = demo().await;
    let guest_with = |id: &str, email: &str| {
        let mut request = guest(id);
        request.context = Some(pb::OrderContext {
            email: email.into(),
            placed_at: Some(at(T0)),
            ..Default::default()
        });
        request
    };
    score(&mut client, guest_with("o-1", "ann@example.com")).await;
    let again = score(&mut client, guest_with("o-2", "ann@example.com")).await;
    let other = score(&mut client, guest_with("o-3", "bob@example.com")).await;
    assert_eq!(
        feature(
            &features(&server, &again.decision_id).await,
            "customer_orders_24h"
        ),
        1.0,
        "the same e-mail is the same customer"
    );
    assert_eq!(
        feature(
            &features(&server, &other.decision_id).await,
            "customer_orders_24h"
        ),
        0.0,
        "another e-mail is another customer"
    );
}

#[tokio::test]
async fn score_order_a_guest_without_email_is_a_new_customer() {
    let (server, mut client) = demo().await;
    for i in 0..3 {
        let mut request = guest(&format!("o-{i}"));
        request.context = Some(pb::OrderContext {
            placed_at: Some(at(T0)),
            ..Default::default()
        });
        let answer = score(&mut client, request).await;
        let features = features(&server, &answer.decision_id).await;
        assert_eq!(feature(&features, "customer_orders_24h"), 0.0, "order {i}");
        assert_eq!(feature(&features, "customer_orders_7d"), 0.0, "order {i}");
    }
}

#[tokio::test]
async fn score_order_a_customer_id_identifies_the_customer_for_velocity() {
    let (server, mut client) = demo().await;
    score(&mut client, known("o-1", "same")).await;
    // Same customer id, every other signal different.
    let mut second = known("o-2", "other");
    second.context.as_mut().unwrap().customer_id = "c-same".into();
    let answer = score(&mut client, second).await;
    assert_eq!(
        feature(
            &features(&server, &answer.decision_id).await,
            "customer_orders_24h"
        ),
        1.0
    );
}

/// risk.proto, `order_id`: velocity features count distinct orders:
/// scoring one order twice counts it once.
#[tokio::test]
async fn score_order_velocity_counts_each_order_once() {
    let (server, mut client) = demo().await;
    score(&mut client, known("o-1", "retry")).await;
    score(&mut client, known("o-1", "retry")).await;
    let answer = score(&mut client, known("o-2", "retry")).await;
    let features = features(&server, &answer.decision_id).await;
    for name in [
        "customer_orders_24h",
        "device_orders_24h",
        "card_orders_24h",
    ] {
        assert_eq!(
            feature(&features, name),
            1.0,
            "{name}: o-1 scored twice before o-2 is one order"
        );
    }
}

#[tokio::test]
async fn score_order_placed_at_sets_the_velocity_windows_and_account_age() {
    let (server, mut client) = demo().await;
    let placed = |id: &str, seconds: i64| {
        let mut request = known(id, "windows");
        let context = request.context.as_mut().unwrap();
        context.placed_at = Some(at(seconds));
        context.account_created_at = Some(at(T0 - 10 * DAY));
        request
    };
    score(&mut client, placed("o-1", T0)).await;
    // Two days later: out of the 24 h window, inside the 7 day one.
    let later = score(&mut client, placed("o-2", T0 + 2 * DAY)).await;
    let features = features(&server, &later.decision_id).await;
    assert_eq!(feature(&features, "customer_orders_24h"), 0.0);
    assert_eq!(feature(&features, "customer_orders_7d"), 1.0);
    assert!(
        (feature(&features, "account_age_days") - 12.0).abs() < 1e-3,
        "the account is 12 days old when the order is placed: {features:?}"
    );
}

#[tokio::test]
async fn score_order_absent_placed_at_means_the_time_the_request_is_received() {
    let (server, mut client) = demo().await;
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let mut request = known("o", "now");
    let context = request.context.as_mut().unwrap();
    context.placed_at = None;
    context.account_created_at = Some(at(now - 10 * DAY));
    let answer = score(&mut client, request).await;
    let age = feature(
        &features(&server, &answer.decision_id).await,
        "account_age_days",
    );
    // Ten days, give or take the time the test takes (a day is 86400 s).
    assert!((age - 10.0).abs() < 0.01, "account age {age} days");
}

// --- What the model sees ---

#[tokio::test]
async fn score_order_the_model_sees_the_given_order_amount() {
    let (server, mut client) = demo().await;
    let mut request = guest("o");
    request.order_amount_minor = 123_456;
    let answer = score(&mut client, request).await;
    let amount = feature(
        &features(&server, &answer.decision_id).await,
        "order_amount",
    );
    assert!((amount - 1_234.56).abs() < 0.01, "order_amount {amount}");
}

#[tokio::test]
async fn score_order_zero_amount_is_computed_from_line_prices_else_list_prices() {
    let (server, mut client) = demo().await;
    let net = network(&server).await;
    let list = sku_info(&net, "SKU-000002").unit_price_minor;
    let mut priced = line("a", "SKU-000001", 2);
    priced.unit_price_minor = Some(1_234);
    let lines = vec![priced, line("b", "SKU-000002", 3)];
    let answer = score(&mut client, score_request("o", lines, "10001")).await;
    let amount = feature(
        &features(&server, &answer.decision_id).await,
        "order_amount",
    );
    let expected = (2 * 1_234 + 3 * list) as f64 / 100.0;
    assert!(
        (amount - expected).abs() < 0.01,
        "order_amount {amount}, expected {expected}"
    );
}

#[tokio::test]
async fn score_order_line_skus_feed_item_risk_features() {
    let (server, mut client) = demo().await;
    let net = network(&server).await;
    let skus = ["SKU-000001", "SKU-000002", "SKU-000003", "SKU-000004"];
    let highest = skus
        .iter()
        .map(|sku| sku_info(&net, sku).resale_risk)
        .fold(0.0, f64::max);
    let lines = skus
        .iter()
        .enumerate()
        .map(|(i, sku)| line(&format!("l{i}"), sku, 1))
        .collect();
    let answer = score(&mut client, score_request("o", lines, "10001")).await;
    let features = features(&server, &answer.decision_id).await;
    assert_eq!(feature(&features, "line_count"), 4.0);
    assert!(
        (feature(&features, "max_resale_risk") - highest).abs() < 1e-6,
        "{features:?}"
    );
}

#[tokio::test]
async fn score_order_unspecified_service_level_means_ground() {
    let (server, mut client) = demo().await;
    let mut speeds = Vec::new();
    for (i, level) in [
        pb::ServiceLevel::Unspecified,
        pb::ServiceLevel::Ground,
        pb::ServiceLevel::Overnight,
    ]
    .into_iter()
    .enumerate()
    {
        let mut request = guest(&format!("o-{i}"));
        request.service_level = level as i32;
        let answer = score(&mut client, request).await;
        speeds.push(feature(
            &features(&server, &answer.decision_id).await,
            "service_speed",
        ));
    }
    assert_eq!(speeds[0], speeds[1], "unspecified is ground");
    assert_ne!(speeds[1], speeds[2], "the service level is read");
}

// --- Amount limit ---

fn limited(config: &mut Config) {
    config.models.risk.max_amount_minor = Some(100_000);
}

#[tokio::test]
async fn score_order_an_order_amount_above_the_limit_hits_amount_limit_and_is_at_least_review() {
    let (_server, mut client) = configured(limited).await;
    // One cheap unit, but the caller charged more than the limit.
    let mut request = guest("o");
    request.order_amount_minor = 100_001;
    let answer = score(&mut client, request).await;
    assert!(has(&answer, pb::ReasonCode::AmountLimit), "{answer:?}");
    assert!(
        matches!(
            decision(&answer),
            pb::RiskDecision::Review | pb::RiskDecision::Reject
        ),
        "{answer:?}"
    );
}

#[tokio::test]
async fn score_order_the_same_cart_with_zero_amount_below_the_limit_has_no_amount_limit() {
    let (server, mut client) = configured(limited).await;
    let net = network(&server).await;
    assert!(sku_info(&net, "SKU-000001").unit_price_minor < 100_000);
    let answer = score(&mut client, guest("o")).await;
    assert!(!has(&answer, pb::ReasonCode::AmountLimit), "{answer:?}");
    // At the limit is not above it.
    let mut request = guest("o-at");
    request.order_amount_minor = 100_000;
    let answer = score(&mut client, request).await;
    assert!(!has(&answer, pb::ReasonCode::AmountLimit), "{answer:?}");
}

/// common.proto, Reason: rule reasons carry "`feature`/`value` naming what
/// matched", and `value` is "the value of `feature` for this decision,
/// formatted as text (numbers in plain decimal)".
#[tokio::test]
async fn score_order_amount_limit_reason_names_the_amount_it_matched() {
    let (_server, mut client) = configured(limited).await;
    let mut request = guest("o");
    request.order_amount_minor = 250_000;
    let answer = score(&mut client, request).await;
    let reason = answer
        .reasons
        .iter()
        .find(|r| code(r) == pb::ReasonCode::AmountLimit)
        .unwrap();
    assert!(!reason.feature.is_empty(), "{reason:?}");
    assert!(
        reason.value.parse::<f64>().is_ok(),
        "the amount the rule matched, in plain decimal: {reason:?}"
    );
}

// --- The assessment ---

/// Several different orders (guest, known customer, risky, express).
fn varied() -> Vec<pb::ScoreOrderRequest> {
    let mut express = guest("o-express");
    express.service_level = pb::ServiceLevel::SameDay as i32;
    let mut coordinates = known("o-coordinates", "coordinates");
    coordinates.destination.as_mut().unwrap().location =
        Some(pb::destination::Location::Coordinates(pb::GeoPoint {
            lat: 40.75,
            lon: -73.99,
        }));
    vec![
        guest("o-guest"),
        known("o-known", "known"),
        risky("o-risky", "risky"),
        risky("o-risky-2", "risky"),
        express,
        coordinates,
    ]
}

#[tokio::test]
async fn score_order_decision_is_never_unspecified_and_probability_is_0_to_1() {
    let (_server, mut client) = configured(limited).await;
    for request in varied() {
        let id = request.order_id.clone();
        let answer = score(&mut client, request).await;
        assert_ne!(decision(&answer), pb::RiskDecision::Unspecified, "{id}");
        assert!(
            (0.0..=1.0).contains(&answer.fraud_probability),
            "{id}: {}",
            answer.fraud_probability
        );
    }
}

#[tokio::test]
async fn score_order_decision_follows_the_model_thresholds_without_rules() {
    let (server, mut client) = demo().await;
    let card = fraud_card(&server).await;
    let review = card.thresholds["review"];
    let reject = card.thresholds["reject"];
    assert!(review < reject, "{card:?}");
    for request in varied() {
        let id = request.order_id.clone();
        let answer = score(&mut client, request).await;
        assert!(!answer.reasons.iter().any(is_rule), "{id}: no rule applies");
        let p = answer.fraud_probability;
        let expected = if p >= reject {
            pb::RiskDecision::Reject
        } else if p >= review {
            pb::RiskDecision::Review
        } else {
            pb::RiskDecision::Approve
        };
        assert_eq!(decision(&answer), expected, "{id}: p = {p}");
    }
}

/// Scores `request` on a fresh server configured by `change`: an order
/// with no history at all.
async fn fresh_score(
    change: impl FnOnce(&mut Config),
    request: pb::ScoreOrderRequest,
) -> (pb::RiskAssessment, HashMap<String, f64>) {
    let (server, mut client) = configured(change).await;
    let answer = score(&mut client, request).await;
    let features = features(&server, &answer.decision_id).await;
    (answer, features)
}

#[tokio::test]
async fn score_order_a_block_listed_customer_is_rejected_with_block_list_and_the_same_probability()
{
    let block = |config: &mut Config| {
        config.models.risk.block_customers = vec!["c-blocked".into()];
    };
    let (blocked, blocked_features) = fresh_score(block, known("o", "blocked")).await;
    let (ordinary, ordinary_features) = fresh_score(block, known("o", "ordinary")).await;
    assert_eq!(blocked_features, ordinary_features, "otherwise identical");
    assert_eq!(decision(&blocked), pb::RiskDecision::Reject);
    assert!(has(&blocked, pb::ReasonCode::BlockList), "{blocked:?}");
    assert!(!has(&ordinary, pb::ReasonCode::BlockList), "{ordinary:?}");
    assert_eq!(
        blocked.fraud_probability, ordinary.fraud_probability,
        "rules do not change the probability"
    );
}

#[tokio::test]
async fn score_order_a_block_listed_card_or_device_is_rejected_with_block_list() {
    let (_server, mut client) = configured(|config| {
        config.models.risk.block_cards = vec!["card-stolen".into()];
        config.models.risk.block_devices = vec!["dev-bot".into()];
    })
    .await;
    let mut card = known("o-card", "card");
    card.context.as_mut().unwrap().card_fingerprint = "card-stolen".into();
    let mut device = known("o-device", "device");
    device.context.as_mut().unwrap().device_id = "dev-bot".into();
    for request in [card, device] {
        let id = request.order_id.clone();
        let answer = score(&mut client, request).await;
        assert_eq!(decision(&answer), pb::RiskDecision::Reject, "{id}");
        assert!(has(&answer, pb::ReasonCode::BlockList), "{id}: {answer:?}");
    }
}

#[tokio::test]
async fn score_order_an_allow_listed_customer_is_approved_with_allow_list_and_the_same_probability()
{
    let allow = |config: &mut Config| {
        config.models.risk.allow_customers = vec!["c-trusted".into()];
    };
    let (allowed, allowed_features) = fresh_score(allow, risky("o", "trusted")).await;
    let (ordinary, ordinary_features) = fresh_score(allow, risky("o", "ordinary")).await;
    assert_eq!(allowed_features, ordinary_features, "otherwise identical");
    assert_eq!(decision(&allowed), pb::RiskDecision::Approve);
    assert!(has(&allowed, pb::ReasonCode::AllowList), "{allowed:?}");
    assert!(!has(&ordinary, pb::ReasonCode::AllowList), "{ordinary:?}");
    assert_eq!(allowed.fraud_probability, ordinary.fraud_probability);
}

#[tokio::test]
async fn score_order_an_amount_limit_does_not_change_the_probability() {
    let (over, over_features) = fresh_score(limited, {
        let mut request = known("o", "amount");
        request.order_amount_minor = 150_000;
        request
    })
    .await;
    let (free, free_features) = fresh_score(|_| {}, {
        let mut request = known("o", "amount");
        request.order_amount_minor = 150_000;
        request
    })
    .await;
    assert_eq!(over_features, free_features);
    assert!(has(&over, pb::ReasonCode::AmountLimit));
    assert_eq!(over.fraud_probability, free.fraud_probability);
}

#[tokio::test]
async fn score_order_model_reasons_are_at_most_five_with_feature_value_and_contribution() {
    let (_server, mut client) = demo().await;
    let mut seen = 0;
    for request in varied() {
        let id = request.order_id.clone();
        let answer = score(&mut client, request).await;
        let model: Vec<_> = answer.reasons.iter().filter(|r| !is_rule(r)).collect();
        assert!(model.len() <= 5, "{id}: {model:?}");
        for reason in model {
            seen += 1;
            assert!(!reason.feature.is_empty(), "{id}: {reason:?}");
            if reason.value == "missing" {
                assert!(reason.message.contains("missing"), "{id}: {reason:?}");
                continue;
            }
            let value: f64 = reason
                .value
                .parse()
                .unwrap_or_else(|_| panic!("{id}: value in plain decimal: {reason:?}"));
            assert!(value.is_finite(), "{id}: {reason:?}");
            assert!(
                !reason.value.contains(['e', 'E']),
                "{id}: plain decimal: {reason:?}"
            );
            assert!(
                reason.contribution.is_finite() && reason.contribution != 0.0,
                "{id}: {reason:?}"
            );
            assert!(!reason.message.is_empty(), "{id}: {reason:?}");
            assert!(reason.node.is_empty(), "{id}: {reason:?}");
            assert_eq!(reason.cost_delta_minor, 0, "{id}: {reason:?}");
        }
    }
    assert!(seen > 0, "some order had model reasons");
}

#[tokio::test]
async fn score_order_model_reasons_are_risk_codes() {
    let (_server, mut client) = demo().await;
    for request in varied() {
        let answer = score(&mut client, request).await;
        // Every decision carries reasons, an approval too (LOW_RISK_FACTOR:
        // what weighed most toward approval).
        assert!(!answer.reasons.is_empty(), "{answer:?}");
        for reason in answer.reasons.iter().filter(|r| !is_rule(r)) {
            assert!(
                (100..=112).contains(&reason.code),
                "a risk reason code: {reason:?}"
            );
            if answer.decision == pb::RiskDecision::Approve as i32 {
                assert_eq!(
                    reason.code,
                    pb::ReasonCode::LowRiskFactor as i32,
                    "{reason:?}"
                );
                assert!(reason.contribution < 0.0, "{reason:?}");
            }
        }
    }
}

#[tokio::test]
async fn score_order_model_reasons_are_most_important_first() {
    let (_server, mut client) = demo().await;
    for request in varied() {
        let id = request.order_id.clone();
        let answer = score(&mut client, request).await;
        let contributions: Vec<f64> = answer
            .reasons
            .iter()
            .filter(|r| !is_rule(r))
            .map(|r| r.contribution)
            .collect();
        assert!(
            contributions.windows(2).all(|w| w[0].abs() >= w[1].abs()),
            "{id}: {contributions:?}"
        );
    }
}

#[tokio::test]
async fn score_order_rule_reasons_have_zero_contribution_and_name_what_matched() {
    let (_server, mut client) = configured(|config| {
        limited(config);
        config.models.risk.block_cards = vec!["card-stolen".into()];
        config.models.risk.allow_customers = vec!["c-vip".into()];
    })
    .await;
    let mut blocked = known("o-blocked", "blocked");
    blocked.context.as_mut().unwrap().card_fingerprint = "card-stolen".into();
    let mut over = known("o-over", "over");
    over.order_amount_minor = 500_000;
    let vip = known("o-vip", "vip");
    let mut rules = 0;
    for request in [blocked, over, vip] {
        let id = request.order_id.clone();
        let answer = score(&mut client, request).await;
        for reason in answer.reasons.iter().filter(|r| is_rule(r)) {
            rules += 1;
            assert_eq!(reason.contribution, 0.0, "{id}: {reason:?}");
            assert!(!reason.feature.is_empty(), "{id}: {reason:?}");
            assert!(!reason.message.is_empty(), "{id}: {reason:?}");
        }
    }
    assert_eq!(rules, 3, "one rule reason per order");
}

#[tokio::test]
async fn score_order_no_reason_is_unspecified() {
    let (_server, mut client) = configured(|config| {
        limited(config);
        config.models.risk.block_devices = vec!["dev-risky".into()];
    })
    .await;
    for request in varied() {
        let answer = score(&mut client, request).await;
        for reason in &answer.reasons {
            assert_ne!(
                reason.code,
                pb::ReasonCode::Unspecified as i32,
                "{reason:?}"
            );
            code(reason);
        }
    }
}

#[tokio::test]
async fn score_order_reason_messages_hold_no_personal_data() {
    let (_server, mut client) = configured(|config| {
        config.models.risk.block_cards = vec!["card-pii".into()];
        config.models.risk.block_devices = vec!["dev-pii".into()];
    })
    .await;
    let mut request = risky("o", "pii");
    request.destination.as_mut().unwrap().address_line1 = Some("1 Secret Lane".into());
    request.destination.as_mut().unwrap().city = Some("Hiddenville".into());
    let answer = score(&mut client, request).await;
    assert!(has(&answer, pb::ReasonCode::BlockList));
    for reason in &answer.reasons {
        for personal in [
            "pii@example.com",
            "dev-pii",
            "card-pii",
            "203.0.113.7",
            "1 Secret Lane",
            "Hiddenville",
        ] {
            assert!(
                !reason.message.contains(personal) && !reason.value.contains(personal),
                "{personal} in {reason:?}"
            );
        }
    }
}

#[tokio::test]
async fn score_order_model_name_and_version_are_get_model_infos_fraud_model() {
    let (server, mut client) = demo().await;
    let card = fraud_card(&server).await;
    let answer = score(&mut client, guest("o")).await;
    assert!(!answer.model_name.is_empty());
    assert!(!answer.model_version.is_empty());
    assert_eq!(answer.model_name, card.name);
    assert_eq!(answer.model_version, card.version);
}

#[tokio::test]
async fn score_order_decision_id_resolves_with_explain_decision() {
    let (server, mut client) = demo().await;
    let answer = score(&mut client, known("o-explained", "explained")).await;
    assert!(!answer.decision_id.is_empty());
    let record = explain(&server, &answer.decision_id).await;
    assert_eq!(record.decision_id, answer.decision_id);
    assert_eq!(record.kind, pb::DecisionKind::Risk as i32);
    assert_eq!(recorded_request(&record).order_id, "o-explained");
    // The model by name, version and the hash of the file that decided.
    let card = fraud_card(&server).await;
    assert_eq!(card.sha256.len(), 64);
    assert_eq!(
        record.model_versions,
        vec![pb::ModelVersion {
            name: answer.model_name.clone(),
            version: answer.model_version.clone(),
            sha256: card.sha256,
        }]
    );
    // The response as sent.
    assert_eq!(recorded_assessment(&record), &answer);
}

#[tokio::test]
async fn score_order_decision_ids_are_distinct() {
    let (_server, mut client) = demo().await;
    let first = score(&mut client, guest("o")).await;
    let second = score(&mut client, guest("o")).await;
    assert_ne!(first.decision_id, second.decision_id);
}

// --- Personal data ---

/// A request carrying every kind of personal data.
fn personal(id: &str, tag: &str) -> pb::ScoreOrderRequest {
    let mut request = known(id, tag);
    let destination = request.destination.as_mut().unwrap();
    destination.address_line1 = Some("1 Main St".into());
    destination.address_line2 = Some("Apt 4B".into());
    destination.city = Some("New York".into());
    let billing = request.context.as_mut().unwrap().billing.as_mut().unwrap();
    billing.address_line1 = Some("9 Billing Rd".into());
    billing.address_line2 = Some("Suite 12".into());
    billing.city = Some("Brooklyn".into());
    request
}

/// Asserts that none of the personal values of `sent` is in `recorded`
/// (field by field, and nowhere in the record's bytes).
fn assert_not_in_clear(
    sent: &pb::ScoreOrderRequest,
    recorded: &pb::ScoreOrderRequest,
    record: &pb::DecisionRecord,
) {
    let sent_context = sent.context.as_ref().unwrap();
    let kept_context = recorded.context.as_ref().unwrap();
    let address = |d: &Option<pb::Destination>| {
        let d = d.as_ref().unwrap();
        [
            d.address_line1.clone().unwrap_or_default(),
            d.address_line2.clone().unwrap_or_default(),
            d.city.clone().unwrap_or_default(),
        ]
    };
    let pairs = [
        (
            "context.customer_id",
            &sent_context.customer_id,
            &kept_context.customer_id,
        ),
        ("context.email", &sent_context.email, &kept_context.email),
        ("context.ip", &sent_context.ip, &kept_context.ip),
        (
            "context.device_id",
            &sent_context.device_id,
            &kept_context.device_id,
        ),
        (
            "context.card_fingerprint",
            &sent_context.card_fingerprint,
            &kept_context.card_fingerprint,
        ),
    ];
    let mut checked: Vec<(String, String, String)> = pairs
        .into_iter()
        .map(|(f, s, k)| (f.to_string(), s.clone(), k.clone()))
        .collect();
    for (name, (s, k)) in [
        "destination.address_line1",
        "destination.address_line2",
        "destination.city",
    ]
    .into_iter()
    .zip(
        address(&sent.destination)
            .into_iter()
            .zip(address(&recorded.destination)),
    ) {
        checked.push((name.to_string(), s, k));
    }
    for (name, (s, k)) in [
        "context.billing.address_line1",
        "context.billing.address_line2",
        "context.billing.city",
    ]
    .into_iter()
    .zip(
        address(&sent_context.billing)
            .into_iter()
            .zip(address(&kept_context.billing)),
    ) {
        checked.push((name.to_string(), s, k));
    }
    let bytes = record.encode_to_vec();
    for (name, sent, kept) in checked {
        assert!(!sent.is_empty(), "{name} was sent");
        assert!(!kept.is_empty(), "{name}: recorded hashed, not dropped");
        assert_ne!(kept, sent, "{name} recorded in clear");
        assert!(!kept.contains(&sent), "{name} recorded in clear: {kept}");
        assert!(
            !bytes.windows(sent.len()).any(|w| w == sent.as_bytes()),
            "{name} ({sent}) is somewhere in the record in clear"
        );
    }
}

#[tokio::test]
async fn score_order_personal_data_is_hashed_in_the_recorded_request() {
    let (server, mut client) = demo().await;
    let sent = personal("o-personal", "personal");
    let answer = score(&mut client, sent.clone()).await;
    let record = explain(&server, &answer.decision_id).await;
    let recorded = recorded_request(&record);
    assert_not_in_clear(&sent, recorded, &record);
    // What decides (and is not personal) is kept for replay.
    assert_eq!(recorded.lines, sent.lines);
    assert_eq!(
        recorded.destination.as_ref().unwrap().location,
        sent.destination.as_ref().unwrap().location
    );
}

/// common.proto: personal data "is never written to logs or the decision
/// log in clear text". A value the caller sends that happens to look like
/// a hash (a fingerprint provider's `sha256:...` device id, an e-mail
/// address starting so) is still the caller's value.
#[tokio::test]
async fn score_order_personal_data_that_looks_hashed_is_still_not_recorded_in_clear() {
    let (server, mut client) = demo().await;
    let mut sent = personal("o-looks-hashed", "looks-hashed");
    let context = sent.context.as_mut().unwrap();
    context.device_id = "sha256:device-of-ann".into();
    context.card_fingerprint = "sha256:card-of-ann".into();
    context.email = "sha256:ann@example.com".into();
    sent.destination.as_mut().unwrap().address_line1 = Some("sha256:1 Main St".into());
    let answer = score(&mut client, sent.clone()).await;
    let record = explain(&server, &answer.decision_id).await;
    assert_not_in_clear(&sent, recorded_request(&record), &record);
}

/// common.proto: instants are protobuf Timestamps (years 1 to 9999); allot
/// takes 1970 to 9999 and names the field otherwise.
#[tokio::test]
async fn score_order_a_placed_at_beyond_9999_is_invalid_argument_naming_it() {
    let (_server, mut client) = demo().await;
    let mut request = known("o-far", "far");
    request.context.as_mut().unwrap().placed_at = Some(at(i64::MAX / 2));
    let status = client.score_order(request).await.unwrap_err();
    assert_field_error(&status, Code::InvalidArgument, "context.placed_at");
}
