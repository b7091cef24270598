//! The bearer token the Rust client sends, accepted by a server with
//! `[auth] tokens`, over plaintext and over TLS, to one server or to
//! replicas.

use allot_client::proto::GetNetworkRequest;
use allot_client::{AllotClient, ConnectOptions};
use allot_server::auth::{AuthConfig, Role, TokenConfig};
use allot_service::hash::sha256_hex;

use crate::certs::Pki;
use crate::common::{TestServer, test_config};
use crate::{https, trusting, wait_serving, with_tls};

const SECRET: &str = "reader-secret";

fn with_reader_token(mut config: allot_server::Config) -> allot_server::Config {
    config.auth = AuthConfig {
        tokens: vec![TokenConfig {
            name: "reader".into(),
            sha256: sha256_hex(SECRET.as_bytes()),
            roles: vec![Role::Read],
        }],
    };
    config
}

async fn get_network(client: &AllotClient) -> Result<usize, tonic::Status> {
    let network = client
        .admin()
        .get_network(GetNetworkRequest {
            include_skus: false,
        })
        .await?
        .into_inner();
    Ok(network.nodes.len())
}

#[tokio::test]
async fn the_clients_token_is_accepted_and_its_absence_is_not() {
    let server = TestServer::start(with_reader_token(test_config())).await;
    server.wait_serving().await;
    let endpoint = server.endpoint();

    let anonymous = AllotClient::connect(&endpoint).await.unwrap();
    let err = get_network(&anonymous).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unauthenticated, "{err:?}");

    let options = ConnectOptions {
        token: Some(SECRET.into()),
        ..ConnectOptions::default()
    };
    let reader = AllotClient::connect_with(&endpoint, &options)
        .await
        .unwrap();
    assert!(get_network(&reader).await.unwrap() > 0);
    // Every accessor carries it: a decision RPC is past authentication
    // (the reader lacks the role).
    let err = reader
        .risk()
        .score_order(allot_client::proto::ScoreOrderRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::PermissionDenied, "{err:?}");
}

#[tokio::test]
async fn a_token_over_tls() {
    let pki = Pki::new();
    let server = TestServer::start(with_reader_token(with_tls(test_config(), &pki, false))).await;
    let endpoint = https(&server);
    let mut options = trusting(&pki, false);
    wait_serving(&endpoint, &options).await;
    options.token = Some(SECRET.into());
    let reader = AllotClient::connect_with(&endpoint, &options)
        .await
        .unwrap();
    assert!(get_network(&reader).await.unwrap() > 0);
}

#[tokio::test]
async fn a_token_over_tls_to_two_replicas() {
    let pki = Pki::new();
    let config = || with_reader_token(with_tls(test_config(), &pki, false));
    let (a, b) = (
        TestServer::start(config()).await,
        TestServer::start(config()).await,
    );
    let endpoints = [https(&a), https(&b)];
    let mut options = trusting(&pki, false);
    for endpoint in &endpoints {
        wait_serving(endpoint, &options).await;
    }

    // Health is open: both replicas serve, but calls need the token.
    let anonymous = AllotClient::connect_many_with(&endpoints, &options)
        .await
        .unwrap();
    let err = get_network(&anonymous).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unauthenticated, "{err:?}");

    options.token = Some(SECRET.into());
    let reader = AllotClient::connect_many_with(&endpoints, &options)
        .await
        .unwrap();
    // Both watchers got through TLS with the token's client: both serve.
    let serving = |r: &allot_client::ReplicaStatus| {
        r.state == allot_client::ReplicaState::Serving && r.in_rotation
    };
    for _ in 0..3000 {
        if reader.replicas().iter().all(serving) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        reader.replicas().iter().all(serving),
        "{:?}",
        reader.replicas()
    );
    for _ in 0..20 {
        assert!(get_network(&reader).await.unwrap() > 0);
    }
}
