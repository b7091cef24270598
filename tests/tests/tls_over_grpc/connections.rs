//! The cap on open connections, over TLS (the cap counts TCP connections,
//! before their handshake).

use std::time::Duration;

use allot_client::{AllotClient, ServingStatus};

use crate::certs::Pki;
use crate::common::{TestServer, test_config};
use crate::{https, trusting, wait_serving, with_tls};

/// A new connection (its own HTTP/2 connection) and one health call on it.
async fn connect_and_call(endpoint: &str, pki: &Pki) -> Result<AllotClient, String> {
    let client = AllotClient::connect_with(endpoint, &trusting(pki, false))
        .await
        .map_err(|e| e.to_string())?;
    match client.health("").await {
        Ok(ServingStatus::Serving) => Ok(client),
        Ok(other) => Err(format!("{other:?}")),
        Err(e) => Err(e.to_string()),
    }
}

#[tokio::test]
async fn beyond_max_connections_a_new_connection_is_refused_until_one_closes() {
    let pki = Pki::new();
    let mut config = with_tls(test_config(), &pki, false);
    config.grpc.max_connections = 2;
    let server = TestServer::start(config).await;
    let endpoint = https(&server);
    // The wait's own connection closes when it returns; connections are
    // released when the server sees them close, so retry until two are
    // held.
    wait_serving(&endpoint, &trusting(&pki, false)).await;
    let mut held = Vec::new();
    for _ in 0..600 {
        if held.len() == 2 {
            break;
        }
        match connect_and_call(&endpoint, &pki).await {
            Ok(client) => held.push(client),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    assert_eq!(held.len(), 2, "two connections should be accepted");

    // A third is closed as soon as it is accepted.
    let third = connect_and_call(&endpoint, &pki).await;
    assert!(third.is_err(), "a third connection was served");
    // The two held still work.
    for client in &held {
        assert_eq!(client.health("").await.unwrap(), ServingStatus::Serving);
    }

    // Closing one frees a slot (once the server sees it closed).
    drop(held.pop());
    let mut reopened = None;
    for _ in 0..600 {
        match connect_and_call(&endpoint, &pki).await {
            Ok(client) => {
                reopened = Some(client);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    assert!(
        reopened.is_some(),
        "no connection accepted after one closed"
    );
}
