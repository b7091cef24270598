//! The decision explorer over HTTPS with the gRPC listener's certificate: a
//! browser that trusts the authority reads the pages; plaintext gets none.

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

    crate::metrics::assert_plaintext_unanswered(web, "/").await;
    server.stop().await.unwrap();
}
