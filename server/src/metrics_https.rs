//! `/metrics` over HTTPS: with `[grpc.tls]` configured the Prometheus
//! endpoint is served with the same certificate and key, and with
//! `client_ca_file` it asks scrapers for a client certificate of that
//! authority, as gRPC does. HTTP/1.1 (hyper), one task per connection.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// How long a scraper may take to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How often histograms and summaries are folded (the exporter's own
/// listener does this itself; a handle served by hand must be told).
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Serves `handle`'s rendering at `/metrics` on `listener` over TLS with
/// `tls`, until the runtime stops. Connections that fail their handshake
/// are dropped; other paths answer 404.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    handle: PrometheusHandle,
) {
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(UPKEEP_EVERY);
        loop {
            tick.tick().await;
            upkeep.run_upkeep();
        }
    });
    let acceptor = TlsAcceptor::from(tls);
    loop {
        let tcp = match listener.accept().await {
            Ok((tcp, _)) => tcp,
            Err(error) => {
                tracing::warn!(%error, "metrics endpoint: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let handle = handle.clone();
        tokio::spawn(async move {
            let Ok(Ok(stream)) =
                tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await
            else {
                return;
            };
            let service = hyper::service::service_fn(move |request| {
                let answer = answer(&request, &handle);
                async move { Ok::<_, Infallible>(answer) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// The metrics for `GET /metrics`, 404 for anything else.
fn answer<B>(request: &http::Request<B>, handle: &PrometheusHandle) -> http::Response<Full<Bytes>> {
    let mut response = http::Response::new(Full::new(Bytes::new()));
    if request.method() == http::Method::GET && request.uri().path() == "/metrics" {
        *response.body_mut() = Full::new(Bytes::from(handle.render()));
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/plain; version=0.0.4"),
        );
    } else {
        *response.status_mut() = http::StatusCode::NOT_FOUND;
    }
    response
}
