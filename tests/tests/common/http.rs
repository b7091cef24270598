//! The explorer's pages for the integration tests: `allot_tests::http`,
//! failing the test when the server cannot be reached.

use std::net::SocketAddr;

pub use allot_tests::http::Reply;

/// `GET path` with `headers`.
pub async fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Reply {
    allot_tests::http::get(addr, path, headers).await.unwrap()
}

/// `POST path` of a form `body` with `headers`.
pub async fn post_form(
    addr: SocketAddr,
    path: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> Reply {
    allot_tests::http::post_form(addr, path, body, headers)
        .await
        .unwrap()
}
