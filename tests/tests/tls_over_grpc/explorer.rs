//! The decision explorer over HTTPS with the gRPC listener's certificate: a
//! browser that trusts the authority reads the pages; plaintext gets none.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::certs::Pki;
use crate::common::{TestServer, test_config};
use crate::{https, trusting, wait_serving, with_tls};

#[tokio::test]
async fn with_tls_the_explorer_serves_https_with_the_same_certificate() {
    let pki = Pki::new();
    let (server, web) = TestServer::start_with_explorer(with_tls(test_config(), &pki, false)).await;
    wait_serving(&https(&server), &trusting(&pki, false)).await;

    let page = crate::metrics::get(web, &pki, false, "/").await.unwrap();
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("<h1>Decisions</h1>"), "{page}");

    let mut tcp = tokio::net::TcpStream::connect(web).await.unwrap();
    tcp.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = tcp.read_to_end(&mut answer).await;
    assert!(
        !String::from_utf8_lossy(&answer).contains("200 OK"),
        "plaintext was answered"
    );
    server.stop().await.unwrap();
}
