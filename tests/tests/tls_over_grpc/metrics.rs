//! The Prometheus endpoint over HTTPS with the gRPC listener's certificate:
//! a scraper that trusts the authority reads `/metrics`; with a client
//! authority, a scraper without a certificate is turned away; plaintext
//! gets no metrics.

use std::sync::Arc;

use allot_server::tls::TlsConfig;
use metrics_exporter_prometheus::PrometheusBuilder;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::certs::Pki;

/// Serves metrics over HTTPS with `tls` on 127.0.0.1:0; its address.
async fn endpoint(tls: &TlsConfig) -> std::net::SocketAddr {
    let https = allot_server::tls::https_config(tls).unwrap().unwrap();
    let handle = PrometheusBuilder::new().build_recorder().handle();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(allot_server::metrics_https::serve(listener, https, handle));
    addr
}

/// `GET path` over TLS trusting `pki`'s authority, with its client
/// certificate when `client_cert`; the response's bytes, or the error.
pub(crate) async fn get(
    addr: std::net::SocketAddr,
    pki: &Pki,
    client_cert: bool,
    path: &str,
) -> std::io::Result<String> {
    let mut roots = rustls::RootCertStore::empty();
    for ca in CertificateDer::pem_file_iter(&pki.ca).unwrap() {
        roots.add(ca.unwrap()).unwrap();
    }
    #[allow(deprecated)] // the provider the server uses
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = if client_cert {
        let certs = CertificateDer::pem_file_iter(&pki.client_cert)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let key = PrivateKeyDer::from_pem_file(&pki.client_key).unwrap();
        builder.with_client_auth_cert(certs, key).unwrap()
    } else {
        builder.with_no_client_auth()
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let mut stream = connector.connect(name, tcp).await?;
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    Ok(String::from_utf8_lossy(&response).into_owned())
}

fn tls(pki: &Pki, mutual: bool) -> TlsConfig {
    TlsConfig {
        cert_file: Some(pki.server_cert.clone()),
        key_file: Some(pki.server_key.clone()),
        client_ca_file: mutual.then(|| pki.ca.clone()),
        ..TlsConfig::default()
    }
}

#[tokio::test]
async fn metrics_are_served_over_https_with_the_grpc_certificate() {
    let pki = Pki::new();
    let addr = endpoint(&tls(&pki, false)).await;
    let metrics = get(addr, &pki, false, "/metrics").await.unwrap();
    assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
    assert!(
        metrics.to_lowercase().contains("content-type: text/plain"),
        "{metrics}"
    );
    let other = get(addr, &pki, false, "/other").await.unwrap();
    assert!(other.starts_with("HTTP/1.1 404"), "{other}");

    // Plaintext HTTP gets no metrics: the server expects a TLS handshake.
    assert_plaintext_unanswered(addr, "/metrics").await;
}

/// Asserts that a plaintext `GET path` to the HTTPS endpoint `addr` gets
/// no answer.
pub(crate) async fn assert_plaintext_unanswered(addr: std::net::SocketAddr, path: &str) {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = tcp.read_to_end(&mut answer).await;
    assert!(
        !String::from_utf8_lossy(&answer).contains("200 OK"),
        "plaintext was answered"
    );
}

#[tokio::test]
async fn with_a_client_authority_a_scraper_needs_its_certificate() {
    let pki = Pki::new();
    let addr = endpoint(&tls(&pki, true)).await;
    let with = get(addr, &pki, true, "/metrics").await.unwrap();
    assert!(with.starts_with("HTTP/1.1 200"), "{with}");
    let without = get(addr, &pki, false, "/metrics").await;
    assert!(
        without
            .as_ref()
            .map_or(true, |r| !r.starts_with("HTTP/1.1 200")),
        "{without:?}"
    );
}
