//! The request gate: a tower layer in front of every gRPC service that sheds
//! load beyond the configured concurrency (RESOURCE_EXHAUSTED at once, never an
//! unbounded queue) and records request metrics labelled by rpc and code.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use tokio::sync::Semaphore;
use tonic::Status;
use tower::{Layer, Service};

/// Layer that wraps services in a [`RequestGate`].
#[derive(Clone)]
pub struct RequestGateLayer {
    permits: Arc<Semaphore>,
}

impl RequestGateLayer {
    /// At most `max_concurrent` requests in flight (health checks exempt).
    pub fn new(max_concurrent: usize) -> Self {
        RequestGateLayer {
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
        }
    }
}

impl<S> Layer<S> for RequestGateLayer {
    type Service = RequestGate<S>;
    fn layer(&self, inner: S) -> Self::Service {
        RequestGate {
            inner,
            permits: self.permits.clone(),
        }
    }
}

/// See the module documentation.
#[derive(Clone)]
pub struct RequestGate<S> {
    inner: S,
    permits: Arc<Semaphore>,
}

type BoxFuture<T> = Pin<Box<dyn std::future::Future<Output = T> + Send>>;

impl<S, B> Service<http::Request<B>> for RequestGate<S>
where
    S: Service<http::Request<B>, Response = http::Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let path = request.uri().path().to_owned();
        let exempt = path.starts_with("/grpc.health.v1.");
        let permit = if exempt {
            None
        } else {
            match self.permits.clone().try_acquire_owned() {
                Ok(permit) => Some(permit),
                Err(_) => {
                    let rpc = rpc_label(&path);
                    metrics::counter!("allot_grpc_shed_total", "rpc" => rpc.clone()).increment(1);
                    metrics::counter!("allot_grpc_requests_total", "rpc" => rpc, "code" => "ResourceExhausted")
                        .increment(1);
                    let status = Status::resource_exhausted(
                        "allot is at its concurrency limit (grpc.max_concurrent_requests); retry with backoff",
                    );
                    return Box::pin(async move { Ok(status.into_http()) });
                }
            }
        };
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let started = Instant::now();
            let response = inner.call(request).await;
            drop(permit);
            if let Ok(response) = &response {
                let code = response_code(response);
                let rpc = if code == tonic::Code::Unimplemented {
                    "unimplemented".to_string()
                } else {
                    rpc_label(&path)
                };
                metrics::histogram!("allot_grpc_request_duration_seconds", "rpc" => rpc.clone())
                    .record(started.elapsed().as_secs_f64());
                metrics::counter!("allot_grpc_requests_total", "rpc" => rpc, "code" => format!("{code:?}"))
                    .increment(1);
            }
            response
        })
    }
}

/// `/allot.v1.InventoryService/GetNodeStock` -> `InventoryService/GetNodeStock`.
fn rpc_label(path: &str) -> String {
    let trimmed = path.trim_start_matches('/');
    match trimmed.rsplit_once('.') {
        Some((_, service_and_method)) if trimmed.len() <= 96 => service_and_method.to_string(),
        _ => "other".to_string(),
    }
}

/// The gRPC status of a response as far as its headers tell: errors from
/// unary handlers arrive trailers-only (`grpc-status` in the headers); a
/// response without it is counted as OK (streams that fail after their
/// headers are sent are counted as OK here).
fn response_code(response: &http::Response<tonic::body::Body>) -> tonic::Code {
    response
        .headers()
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
        .map(tonic::Code::from_i32)
        .unwrap_or(tonic::Code::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpc_labels_are_service_and_method() {
        assert_eq!(
            rpc_label("/allot.v1.InventoryService/GetNodeStock"),
            "InventoryService/GetNodeStock"
        );
        assert_eq!(rpc_label("/grpc.health.v1.Health/Check"), "Health/Check");
        assert_eq!(rpc_label("/nonsense"), "other");
    }
}
