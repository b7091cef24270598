//! Plaintext serves loopback only, unless allowed; TLS serves anywhere.

use std::net::SocketAddr;
use std::time::Duration;

use allot_client::{ConnectOptions, ServingStatus};
use allot_server::{Config, ServeError};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::certs::Pki;
use crate::common::{TestServer, test_config};
use crate::{trusting, wait_serving, with_tls};

fn any_address() -> SocketAddr {
    SocketAddr::from(([0, 0, 0, 0], 0))
}

/// Serves `config` on a listener bound to every address (0.0.0.0:0);
/// returns its port, the stop signal and the server task.
async fn serve_on_any_address(
    config: Config,
) -> (
    u16,
    oneshot::Sender<()>,
    tokio::task::JoinHandle<Result<(), ServeError>>,
) {
    let listener = TcpListener::bind(any_address()).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = oneshot::channel::<()>();
    let handle = tokio::spawn(allot_server::serve(config, listener, async move {
        let _ = stopped.await;
    }));
    (port, stop, handle)
}

#[tokio::test]
async fn plaintext_on_a_configured_non_loopback_address_is_refused_before_serving() {
    let mut config = test_config();
    config.grpc.listen = any_address();
    // The listener itself is on loopback: the configured address decides.
    let server = TestServer::start(config).await;
    let addr = server.addr;
    let result = tokio::time::timeout(Duration::from_secs(30), server.join())
        .await
        .expect("serve returns at once");
    let err = result.unwrap_err();
    assert!(matches!(err, ServeError::Plaintext(_)), "{err}");
    let text = err.to_string();
    assert!(text.contains("0.0.0.0:0"), "{text}");
    assert!(text.contains("grpc.allow_plaintext"), "{text}");
    assert!(text.contains("[grpc.tls]"), "{text}");
    // Nothing was served.
    let client = allot_client::AllotClient::connect_lazy(&format!("http://{addr}")).unwrap();
    assert!(client.health("").await.is_err());
}

#[tokio::test]
async fn plaintext_on_a_non_loopback_listener_is_refused_whatever_the_configuration_says() {
    // grpc.listen is the default (loopback); the listener is not.
    let (_port, _stop, handle) = serve_on_any_address(test_config()).await;
    let err = handle.await.unwrap().unwrap_err();
    assert!(matches!(err, ServeError::Plaintext(_)), "{err}");
}

#[tokio::test]
async fn a_plaintext_explorer_on_a_non_loopback_address_is_refused_before_it_listens() {
    let mut config = test_config();
    config.explorer.enabled = true;
    config.explorer.listen = any_address();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = allot_server::serve(config, listener, std::future::ready(()))
        .await
        .unwrap_err();
    assert!(matches!(err, ServeError::Plaintext(_)), "{err}");
    let text = err.to_string();
    assert!(text.contains("explorer.allow_plaintext"), "{text}");
}

#[tokio::test]
async fn allow_plaintext_serves_a_non_loopback_address() {
    let mut config = test_config();
    config.grpc.listen = any_address();
    config.grpc.allow_plaintext = true;
    let (port, stop, handle) = serve_on_any_address(config).await;
    let endpoint = format!("http://127.0.0.1:{port}");
    wait_serving(&endpoint, &ConnectOptions::default()).await;
    let _ = stop.send(());
    handle.await.unwrap().unwrap();
}

#[tokio::test]
async fn tls_serves_a_non_loopback_address_without_the_override() {
    let pki = Pki::new();
    let mut config = with_tls(test_config(), &pki, false);
    config.grpc.listen = any_address();
    let (port, stop, handle) = serve_on_any_address(config).await;
    let endpoint = format!("https://127.0.0.1:{port}");
    wait_serving(&endpoint, &trusting(&pki, false)).await;
    let client = allot_client::AllotClient::connect_with(&endpoint, &trusting(&pki, false))
        .await
        .unwrap();
    assert_eq!(client.health("").await.unwrap(), ServingStatus::Serving);
    let _ = stop.send(());
    handle.await.unwrap().unwrap();
}
