//! Transport security and limits through a real server: TLS and mutual TLS
//! with certificates made here, plaintext only on loopback unless allowed,
//! the cap on open connections, the client's bearer token, an
//! independent client (grpcio) over TLS, and the decision explorer over
//! HTTPS.
#![allow(clippy::unwrap_used)] // a test may unwrap: a panic is its failure

#[path = "../common/mod.rs"]
mod common;

mod certs;
mod connections;
mod explorer;
mod grpcio;
mod metrics;
mod plaintext;
mod tls;
mod token;

use std::time::Duration;

use allot_client::{AllotClient, ConnectOptions, TlsOptions};
use allot_server::Config;
use allot_server::tls::TlsConfig;

use certs::Pki;
use common::TestServer;

/// `config` serving TLS with `pki`'s server certificate; with
/// `mutual`, client certificates from `pki`'s authority are required.
pub fn with_tls(mut config: Config, pki: &Pki, mutual: bool) -> Config {
    config.grpc.tls = TlsConfig {
        cert_file: Some(pki.server_cert.clone()),
        key_file: Some(pki.server_key.clone()),
        client_ca_file: mutual.then(|| pki.ca.clone()),
        ..TlsConfig::default()
    };
    config
}

/// Options trusting `pki`'s authority, with its client certificate when
/// `client_cert`.
pub fn trusting(pki: &Pki, client_cert: bool) -> ConnectOptions {
    ConnectOptions {
        tls: TlsOptions {
            ca_file: Some(pki.ca.clone()),
            cert_file: client_cert.then(|| pki.client_cert.clone()),
            key_file: client_cert.then(|| pki.client_key.clone()),
            domain: None,
        },
        token: None,
    }
}

/// `https://127.0.0.1:PORT`.
pub fn https(server: &TestServer) -> String {
    format!("https://{}", server.addr)
}

/// Waits (at most 60 s) until the server answers SERVING to a client with
/// `options`.
pub async fn wait_serving(endpoint: &str, options: &ConnectOptions) {
    let client = AllotClient::connect_lazy_with(endpoint, options).unwrap();
    client
        .wait_until_serving(Duration::from_secs(60))
        .await
        .unwrap();
}
