//! AdminService: GetNetwork, GetModelInfo, ReloadModels, RollbackModels.

use std::time::SystemTime;

use allot_proto::v1 as pb;
use allot_proto::v1::admin_service_client::AdminServiceClient;
use allot_proto::v1::decision_service_client::DecisionServiceClient;
use allot_proto::v1::inventory_service_client::InventoryServiceClient;
use allot_proto::v1::promise_service_client::PromiseServiceClient;
use allot_proto::v1::risk_service_client::RiskServiceClient;
use tonic::Code;
use tonic::transport::Channel;

use crate::common::orders::{line, promise, score_request};
use crate::common::{
    EXAMPLE_NETWORK, Saturated, TestServer, assert_field_error, network_config, test_config,
};

type Client = AdminServiceClient<Channel>;

async fn client(server: &TestServer) -> Client {
    AdminServiceClient::new(server.channel().await)
}

async fn network(server: &TestServer, include_skus: bool) -> pb::NetworkDescription {
    client(server)
        .await
        .get_network(pb::GetNetworkRequest { include_skus })
        .await
        .unwrap()
        .into_inner()
}

async fn models(server: &TestServer) -> pb::ModelInfo {
    client(server)
        .await
        .get_model_info(pb::GetModelInfoRequest {})
        .await
        .unwrap()
        .into_inner()
}

fn codes<T>(items: &[T], code: impl Fn(&T) -> &str) -> Vec<String> {
    items.iter().map(|i| code(i).to_string()).collect()
}

fn sorted(mut codes: Vec<String>) -> Vec<String> {
    codes.sort();
    codes
}

/// The example network with SKUs, a node and a region listed out of code
/// order (its services already are).
fn unsorted_network() -> String {
    let mut toml = EXAMPLE_NETWORK.to_string();
    for code in ["SKU-Z", "SKU-A"] {
        toml.push_str(&format!(
            "\n[[skus]]\ncode = \"{code}\"\ncategory = \"apparel\"\nweight_grams = 200\nunit_price_minor = 1000\n"
        ));
    }
    toml.push_str(
        r#"
[[nodes]]
code = "AA-FIRST"
kind = "3pl"
lat = 40.0
lon = -75.0
time_zone = "America/New_York"
daily_capacity_units = 1000
order_cutoff = "17:00"
open_days = ["mon", "tue", "wed", "thu", "fri"]
handling_cost_minor = 100
services = ["NPX-GROUND"]

[[regions]]
code = "US-001"
postal_prefix = "001"
name = "Somewhere, NY"
area = "NY"
lat = 40.8
lon = -73.9
time_zone = "America/New_York"
"#,
    );
    toml
}

fn is_hex_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

// --- GetNetwork -------------------------------------------------------------

#[tokio::test]
async fn get_network_nodes_services_and_regions_are_ordered_by_code() {
    for config in [test_config(), network_config(&unsorted_network())] {
        let server = TestServer::start(config).await;
        server.wait_serving().await;
        let network = network(&server, false).await;
        let nodes = codes(&network.nodes, |n| &n.code);
        let services = codes(&network.services, |s| &s.code);
        let regions = codes(&network.regions, |r| &r.code);
        assert!(nodes.len() > 1 && services.len() > 1 && regions.len() > 1);
        assert_eq!(nodes, sorted(nodes.clone()));
        assert_eq!(services, sorted(services.clone()));
        assert_eq!(regions, sorted(regions.clone()));
        server.stop().await.unwrap();
    }
}

#[tokio::test]
async fn get_network_without_include_skus_lists_no_sku_and_still_counts_them() {
    let server = TestServer::serving().await;
    let network = network(&server, false).await;
    assert!(network.skus.is_empty());
    assert!(network.sku_count > 0);
    assert_eq!(
        network.sku_count as usize,
        self::network(&server, true).await.skus.len()
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_network_with_include_skus_lists_every_sku_ordered_by_code() {
    let server = TestServer::start(network_config(&unsorted_network())).await;
    server.wait_serving().await;
    let network = network(&server, true).await;
    let skus = codes(&network.skus, |s| &s.code);
    assert_eq!(skus, ["SKU-000001", "SKU-000002", "SKU-A", "SKU-Z"]);
    assert_eq!(network.sku_count, 4);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_network_never_sends_an_unspecified_node_kind_or_service_level() {
    let server = TestServer::serving().await;
    let network = network(&server, false).await;
    for node in &network.nodes {
        assert_ne!(node.kind, pb::NodeKind::Unspecified as i32, "{}", node.code);
    }
    for service in &network.services {
        assert_ne!(
            service.level,
            pb::ServiceLevel::Unspecified as i32,
            "{}",
            service.code
        );
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_network_describes_the_network_file_served() {
    let server = TestServer::start(network_config(EXAMPLE_NETWORK)).await;
    server.wait_serving().await;
    let network = network(&server, true).await;
    assert_eq!(
        (
            network.name.as_str(),
            network.currency.as_str(),
            network.country.as_str()
        ),
        ("example", "USD", "US")
    );
    let abe = network.nodes.iter().find(|n| n.code == "DC-ABE").unwrap();
    assert_eq!(abe.kind, pb::NodeKind::DistributionCenter as i32);
    assert_eq!(abe.time_zone, "America/New_York");
    assert_eq!(abe.order_cutoff_local, "19:00");
    assert_eq!(abe.handling_cost_minor, 55);
    assert!(abe.hazmat && abe.accepts_returns && !abe.cold_chain);
    assert_eq!(abe.services, ["NPX-GROUND"]);
    let nyc = network.nodes.iter().find(|n| n.code == "ST-NYC").unwrap();
    assert_eq!(nyc.blocked_destinations, ["HI"]);
    let same_day = network
        .services
        .iter()
        .find(|s| s.code == "DASH-SAMEDAY")
        .unwrap();
    assert_eq!(
        (
            same_day.carrier.as_str(),
            same_day.level,
            same_day.transit_days,
            same_day.max_distance_km
        ),
        ("NPX", pb::ServiceLevel::SameDay as i32, 0, Some(60.0))
    );
    let ground = network
        .services
        .iter()
        .find(|s| s.code == "NPX-GROUND")
        .unwrap();
    assert_eq!(ground.max_distance_km, None, "absent = unlimited");
    let region = network.regions.iter().find(|r| r.code == "US-968").unwrap();
    assert_eq!(
        (region.postal_prefix.as_str(), region.area.as_str()),
        ("968", "HI")
    );
    let cold = network
        .skus
        .iter()
        .find(|s| s.code == "SKU-000002")
        .unwrap();
    assert!(cold.cold_chain && cold.weight_grams == 900 && cold.unit_price_minor == 799);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_network_codes_are_the_ones_the_other_rpcs_accept() {
    let server = TestServer::serving().await;
    let network = network(&server, true).await;
    let services = codes(&network.services, |s| &s.code);
    let mut inventory = InventoryServiceClient::new(server.channel().await);
    for node in &network.nodes {
        for service in &node.services {
            assert!(services.contains(service), "{}: {service}", node.code);
        }
    }
    for node in network.nodes.iter().step_by(7) {
        inventory
            .get_node_stock(pb::GetNodeStockRequest {
                node: node.code.clone(),
                page_size: 1,
                page_token: String::new(),
            })
            .await
            .unwrap_or_else(|s| panic!("{}: {s:?}", node.code));
    }
    for sku in network.skus.iter().step_by(499) {
        inventory
            .get_sku_availability(pb::GetSkuAvailabilityRequest {
                sku: sku.code.clone(),
                nodes: vec![],
                include_zero: false,
            })
            .await
            .unwrap_or_else(|s| panic!("{}: {s:?}", sku.code));
    }
    assert_eq!(network.currency.len(), 3);
    assert_eq!(network.country.len(), 2);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_network_while_the_server_is_loading_is_unavailable() {
    // Asked from the moment the server listens: every answer before it is
    // loaded is UNAVAILABLE, none is another error.
    let server = TestServer::start(test_config()).await;
    let mut client = loop {
        match Channel::from_shared(server.endpoint())
            .unwrap()
            .connect()
            .await
        {
            Ok(channel) => break AdminServiceClient::new(channel),
            Err(_) => tokio::task::yield_now().await,
        }
    };
    loop {
        match client
            .get_network(pb::GetNetworkRequest {
                include_skus: false,
            })
            .await
        {
            Ok(_) => break,
            Err(status) => {
                assert_eq!(status.code(), Code::Unavailable, "{status:?}");
                assert!(status.message().contains("loading"), "{status:?}");
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        }
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_network_when_overloaded_is_resource_exhausted() {
    let saturated = Saturated::start().await;
    let status = saturated
        .refused(|channel| async move {
            Client::new(channel)
                .get_network(pb::GetNetworkRequest {
                    include_skus: false,
                })
                .await
        })
        .await;
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    saturated.stop().await;
}

// --- GetModelInfo -----------------------------------------------------------

#[tokio::test]
async fn get_model_info_lists_every_loaded_model_ordered_by_name() {
    let server = TestServer::serving().await;
    let info = models(&server).await;
    let kinds: Vec<_> = info.models.iter().map(|m| m.kind).collect();
    assert!(kinds.contains(&(pb::ModelKind::Fraud as i32)), "{kinds:?}");
    assert!(kinds.contains(&(pb::ModelKind::Eta as i32)), "{kinds:?}");
    let names = codes(&info.models, |m| &m.name);
    assert_eq!(names, sorted(names.clone()));
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_model_info_versions_are_the_ones_decisions_record() {
    let server = TestServer::serving().await;
    let info = models(&server).await;
    let version = |kind: pb::ModelKind| {
        info.models
            .iter()
            .find(|m| m.kind == kind as i32)
            .map(|m| (m.name.clone(), m.version.clone()))
            .unwrap()
    };
    let assessment = RiskServiceClient::new(server.channel().await)
        .score_order(score_request(
            "o-model-info",
            vec![line("a", "SKU-000001", 1)],
            "10001",
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(version(pb::ModelKind::Fraud).1, assessment.model_version);
    let quote = PromiseServiceClient::new(server.channel().await)
        .get_delivery_promise(promise(
            vec![line("a", "SKU-000001", 1)],
            "10001",
            prost_types::Timestamp::from(SystemTime::now()),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(version(pb::ModelKind::Eta).1, quote.model_version);
    let record = DecisionServiceClient::new(server.channel().await)
        .explain_decision(pb::ExplainDecisionRequest {
            decision_id: quote.decision_id,
        })
        .await
        .unwrap()
        .into_inner();
    let (name, version) = version(pb::ModelKind::Eta);
    assert!(
        record
            .model_versions
            .iter()
            .any(|m| m.name == name && m.version == version),
        "{:?}",
        record.model_versions
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_model_info_cards_are_complete_and_never_of_an_unspecified_kind() {
    let server = TestServer::serving().await;
    for card in models(&server).await.models {
        assert_ne!(
            card.kind,
            pb::ModelKind::Unspecified as i32,
            "{}",
            card.name
        );
        assert!(!card.version.is_empty(), "{}", card.name);
        assert!(!card.feature_names.is_empty(), "{}", card.name);
        let mut unique = card.feature_names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), card.feature_names.len(), "{}", card.name);
        assert!(
            is_hex_sha256(&card.sha256),
            "{}: {}",
            card.name,
            card.sha256
        );
        assert!(card.loaded_at.is_some());
        assert!(
            std::path::Path::new(&card.path).is_file(),
            "{}: {}",
            card.name,
            card.path
        );
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_model_info_fraud_thresholds_are_review_below_reject_as_probabilities() {
    let server = TestServer::serving().await;
    let info = models(&server).await;
    for card in &info.models {
        if card.kind == pb::ModelKind::Fraud as i32 {
            let review = card.thresholds["review"];
            let reject = card.thresholds["reject"];
            assert!(0.0 < review && review < reject && reject <= 1.0, "{card:?}");
        } else {
            assert!(card.thresholds.is_empty(), "{card:?}");
        }
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_model_info_without_an_eta_model_lists_the_fraud_model_only() {
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
    let kinds: Vec<_> = models(&server)
        .await
        .models
        .iter()
        .map(|m| m.kind)
        .collect();
    assert_eq!(kinds, [pb::ModelKind::Fraud as i32]);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_model_info_when_overloaded_is_resource_exhausted() {
    let saturated = Saturated::start().await;
    let status = saturated
        .refused(|channel| async move {
            Client::new(channel)
                .get_model_info(pb::GetModelInfoRequest {})
                .await
        })
        .await;
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    saturated.stop().await;
}

// --- ReloadModels -----------------------------------------------------------

#[tokio::test]
async fn reload_models_of_the_served_directory_passes_every_gate_and_keeps_the_old_version_for_rollback()
 {
    let server = TestServer::serving().await;
    let before = models(&server).await;
    let answer = client(&server)
        .await
        .reload_models(pb::ReloadModelsRequest::default())
        .await
        .unwrap()
        .into_inner();
    let names = |cards: &[pb::ModelCard]| codes(cards, |c| c.name.as_str());
    let live: Vec<&pb::ModelCard> = before
        .models
        .iter()
        .filter(|m| m.role == pb::ModelRole::Live as i32)
        .collect();
    assert_eq!(names(&answer.models).len(), live.len(), "{answer:?}");
    for card in &answer.models {
        let old = live.iter().find(|m| m.name == card.name).unwrap();
        assert_eq!(card.sha256, old.sha256, "the same files hash the same");
        assert_eq!(card.role, pb::ModelRole::Live as i32);
        let gates = codes(&card.gates, |g| g.gate.as_str());
        for gate in ["schema", "sha256", "load", "parity", "quality"] {
            assert!(
                gates.contains(&gate.to_string()),
                "{} passed {gates:?}",
                card.name
            );
        }
    }
    let after = models(&server).await;
    let previous = after
        .models
        .iter()
        .filter(|m| m.role == pb::ModelRole::Previous as i32)
        .count();
    assert_eq!(previous, live.len(), "{after:?}");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn reload_models_from_a_missing_directory_is_invalid_argument_naming_model_dir_and_the_models_stay()
 {
    let server = TestServer::serving().await;
    let before = models(&server).await;
    let status = client(&server)
        .await
        .reload_models(pb::ReloadModelsRequest {
            model_dir: "/nonexistent/models".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_field_error(&status, Code::InvalidArgument, "model_dir");
    let status = client(&server)
        .await
        .reload_models(pb::ReloadModelsRequest {
            models: vec![42],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_field_error(&status, Code::InvalidArgument, "models[0]");
    assert_eq!(models(&server).await, before);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn rollback_models_without_a_previous_version_is_failed_precondition() {
    let server = TestServer::serving().await;
    let status = client(&server)
        .await
        .rollback_models(pb::RollbackModelsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn model_changes_are_permission_denied_when_reload_is_off_in_the_config() {
    let mut config = test_config();
    config.models.reload = false;
    let server = TestServer::start(config).await;
    server.wait_serving().await;
    let before = models(&server).await;
    let mut admin = client(&server).await;
    let reload = admin
        .reload_models(pb::ReloadModelsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(reload.code(), Code::PermissionDenied, "{reload:?}");
    assert!(reload.message().contains("models.reload"), "{reload:?}");
    let rollback = admin
        .rollback_models(pb::RollbackModelsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(rollback.code(), Code::PermissionDenied, "{rollback:?}");
    assert_eq!(models(&server).await, before);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn get_network_an_answer_with_skus_above_the_message_limit_is_resource_exhausted_naming_include_skus()
 {
    let server = TestServer::serving().await;
    let mut admin = AdminServiceClient::new(server.channel().await);
    let size = |include_skus: bool| {
        let mut admin = admin.clone();
        async move {
            let answer = admin
                .get_network(pb::GetNetworkRequest { include_skus })
                .await
                .unwrap()
                .into_inner();
            prost::Message::encoded_len(&answer)
        }
    };
    let (without, with) = (size(false).await, size(true).await);
    assert!(without < with);
    server.stop().await.unwrap();
    // A limit between the two sizes: the answer without SKUs fits, the one
    // with them does not.
    let mut config = test_config();
    config.grpc.max_message_bytes = (without + with) / 2;
    let server = TestServer::start(config).await;
    server.wait_serving().await;
    admin = AdminServiceClient::new(server.channel().await);
    let status = admin
        .get_network(pb::GetNetworkRequest { include_skus: true })
        .await
        .unwrap_err();
    crate::common::assert_field_error(&status, Code::ResourceExhausted, "include_skus");
    admin
        .get_network(pb::GetNetworkRequest {
            include_skus: false,
        })
        .await
        .unwrap();
    server.stop().await.unwrap();
}
