//! TLS and mutual TLS with the Rust client.

use allot_client::{AllotClient, ConnectOptions, ServingStatus};

use crate::certs::Pki;
use crate::common::{TestServer, test_config};
use crate::{https, trusting, wait_serving, with_tls};

#[tokio::test]
async fn a_tls_call_succeeds_with_the_authority_trusted_and_fails_without() {
    let pki = Pki::new();
    let server = TestServer::start(with_tls(test_config(), &pki, false)).await;
    let endpoint = https(&server);
    wait_serving(&endpoint, &trusting(&pki, false)).await;

    let client = AllotClient::connect_with(&endpoint, &trusting(&pki, false))
        .await
        .unwrap();
    assert_eq!(client.health("").await.unwrap(), ServingStatus::Serving);
    let network = client
        .admin()
        .get_network(allot_client::proto::GetNetworkRequest {
            include_skus: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!network.nodes.is_empty());

    // By name too (the certificate carries localhost).
    let by_name = format!("https://localhost:{}", server.addr.port());
    let client = AllotClient::connect_with(&by_name, &trusting(&pki, false))
        .await
        .unwrap();
    assert_eq!(client.health("").await.unwrap(), ServingStatus::Serving);

    // Without the authority (the system's roots do not know it).
    let untrusted = ConnectOptions::default();
    let refused = match AllotClient::connect_with(&endpoint, &untrusted).await {
        Ok(client) => client.health("").await.map(drop),
        Err(e) => Err(e),
    };
    let err = refused.unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unavailable, "{err}");

    // A name the certificate does not carry.
    let mut wrong_name = trusting(&pki, false);
    wrong_name.tls.domain = Some("elsewhere.example".into());
    let refused = match AllotClient::connect_with(&endpoint, &wrong_name).await {
        Ok(client) => client.health("").await.map(drop),
        Err(e) => Err(e),
    };
    assert!(refused.is_err());
}

#[tokio::test]
async fn a_plaintext_client_cannot_call_a_tls_server() {
    let pki = Pki::new();
    let server = TestServer::start(with_tls(test_config(), &pki, false)).await;
    wait_serving(&https(&server), &trusting(&pki, false)).await;

    let plaintext = format!("http://{}", server.addr);
    let result = match AllotClient::connect(&plaintext).await {
        Ok(client) => client.health("").await.map(drop),
        Err(e) => Err(e),
    };
    assert!(result.is_err(), "a plaintext call got through");
}

#[tokio::test]
async fn mutual_tls_refuses_a_client_without_a_certificate_and_serves_one_with() {
    let pki = Pki::new();
    let server = TestServer::start(with_tls(test_config(), &pki, true)).await;
    let endpoint = https(&server);
    wait_serving(&endpoint, &trusting(&pki, true)).await;

    let with_cert = AllotClient::connect_with(&endpoint, &trusting(&pki, true))
        .await
        .unwrap();
    assert_eq!(with_cert.health("").await.unwrap(), ServingStatus::Serving);

    // With TLS 1.3 the server checks the client's certificate after the
    // client considers the handshake done: the refusal may come with the
    // first call rather than the connect.
    let without = AllotClient::connect_lazy_with(&endpoint, &trusting(&pki, false)).unwrap();
    let err = without.health("").await.unwrap_err();
    // rustls's alert says why: "received fatal alert: CertificateRequired".
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );

    // A certificate from another authority is refused as well.
    let other = Pki::new();
    let mut stranger = trusting(&pki, true);
    stranger.tls.cert_file = Some(other.client_cert.clone());
    stranger.tls.key_file = Some(other.client_key.clone());
    let stranger = AllotClient::connect_lazy_with(&endpoint, &stranger).unwrap();
    assert!(stranger.health("").await.is_err());
}

#[tokio::test]
async fn unreadable_certificate_files_stop_the_server_naming_the_setting() {
    let pki = Pki::new();
    let mut config = with_tls(test_config(), &pki, false);
    config.grpc.tls.key_file = Some(pki.ca.with_file_name("absent.key"));
    let err = TestServer::start(config).await.join().await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("grpc.tls.key_file"), "{text}");
    assert!(text.contains("absent.key"), "{text}");
}
