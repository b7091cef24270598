//! The request gate: a tower layer in front of every gRPC service that sheds
//! load beyond the configured concurrency, across all RPCs and per RPC
//! (RESOURCE_EXHAUSTED at once, never an unbounded queue), and records
//! request metrics labelled by rpc and code. It also ends a call whose
//! deadline passes before its answer (the caller's `grpc-timeout`, at most
//! `grpc.request_timeout_ms`) with DEADLINE_EXCEEDED, as gRPC defines it
//! (tonic's own server timeout answers CANCELLED). With tokens configured it
//! lets a call through only with a bearer token whose roles allow the RPC
//! (crate::auth).
//!
//! A per-RPC permit is held by the response body, so a server stream
//! (WatchDecisions) counts against its RPC's limit for as long as it runs,
//! unless its client stops reading: a server stream whose last message has
//! waited longer than `grpc.stream_stall_timeout_ms` for the client to take
//! it gives its permit back and is counted in
//! `allot_grpc_streams_dropped_total{reason="stalled"}`.
//!
//! A handler that panics (a bug) is answered INTERNAL and counted in
//! `allot_grpc_panics_total`; the server goes on serving.
//! The status code of a response is read from its headers (errors of unary
//! calls arrive trailers-only) or, for answers that send a body, from the
//! trailers when the body ends: a stream that fails after its headers is
//! counted with its real code.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::FutureExt;
use http_body::{Body, Frame, SizeHint};
use parking_lot::Mutex;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::Status;
use tower::{Layer, Service};

use crate::auth::Access;

/// Layer that wraps services in a [`RequestGate`].
#[derive(Clone)]
pub struct RequestGateLayer {
    permits: Arc<Semaphore>,
    per_rpc: Arc<HashMap<String, Arc<Semaphore>>>,
    request_timeout: Duration,
    access: Arc<Access>,
    streams: Arc<ServerStreams>,
}

/// The server-streaming RPCs and how long one may wait for its client.
#[derive(Debug)]
struct ServerStreams {
    rpcs: HashSet<String>,
    stall_timeout: Duration,
}

impl RequestGateLayer {
    /// At most `max_concurrent` requests in flight (health checks exempt),
    /// and at most `per_rpc[rpc]` of an RPC (`Service/Method`) among them;
    /// no call runs longer than `request_timeout` (or its own shorter
    /// deadline); a call reaches its service only with a token whose roles
    /// allow it, when `access` has tokens; a server stream whose client
    /// stops reading gives its permit back after `stall_timeout`. Every RPC
    /// named must be one of the allot.v1 contract.
    pub fn new(
        max_concurrent: usize,
        per_rpc: &BTreeMap<String, usize>,
        request_timeout: Duration,
        stall_timeout: Duration,
        access: Access,
    ) -> Result<Self, UnknownRpc> {
        let known: std::collections::BTreeSet<String> =
            contract_rpcs().into_iter().map(|(rpc, _)| rpc).collect();
        if let Some(rpc) = per_rpc.keys().find(|rpc| !known.contains(*rpc)) {
            return Err(UnknownRpc {
                rpc: rpc.clone(),
                known: known.into_iter().collect::<Vec<_>>().join(", "),
            });
        }
        Ok(RequestGateLayer {
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
            per_rpc: Arc::new(
                per_rpc
                    .iter()
                    .map(|(rpc, limit)| (rpc.clone(), Arc::new(Semaphore::new((*limit).max(1)))))
                    .collect(),
            ),
            request_timeout,
            access: Arc::new(access),
            streams: Arc::new(ServerStreams {
                rpcs: contract_rpcs()
                    .into_iter()
                    .filter_map(|(rpc, server_streaming)| server_streaming.then_some(rpc))
                    .collect(),
                stall_timeout,
            }),
        })
    }
}

/// A per-RPC limit names an RPC the contract does not have.
#[derive(Debug, thiserror::Error)]
#[error("grpc.rpc_concurrency names `{rpc}`, which is not an allot RPC (known: {known})")]
pub struct UnknownRpc {
    /// The name as configured.
    pub rpc: String,
    /// The RPCs that can be limited.
    pub known: String,
}

/// Every `Service/Method` of the allot.v1 contract, from its descriptors,
/// with whether its answer is a stream.
fn contract_rpcs() -> Vec<(String, bool)> {
    use prost::Message;
    let set = prost_types::FileDescriptorSet::decode(allot_proto::FILE_DESCRIPTOR_SET)
        .unwrap_or_default();
    set.file
        .iter()
        .flat_map(|f| &f.service)
        .flat_map(|s| {
            s.method
                .iter()
                .map(move |m| (format!("{}/{}", s.name(), m.name()), m.server_streaming()))
        })
        .collect()
}

impl<S> Layer<S> for RequestGateLayer {
    type Service = RequestGate<S>;
    fn layer(&self, inner: S) -> Self::Service {
        RequestGate {
            inner,
            permits: self.permits.clone(),
            per_rpc: self.per_rpc.clone(),
            request_timeout: self.request_timeout,
            access: self.access.clone(),
            streams: self.streams.clone(),
        }
    }
}

/// See the module documentation.
#[derive(Clone)]
pub struct RequestGate<S> {
    inner: S,
    permits: Arc<Semaphore>,
    per_rpc: Arc<HashMap<String, Arc<Semaphore>>>,
    request_timeout: Duration,
    access: Arc<Access>,
    streams: Arc<ServerStreams>,
}

type BoxFuture<T> = Pin<Box<dyn std::future::Future<Output = T> + Send>>;

/// The answer to a request refused at the gate.
fn shed(rpc: String, limit: &str) -> http::Response<tonic::body::Body> {
    metrics::counter!("allot_grpc_shed_total", "rpc" => rpc.clone()).increment(1);
    metrics::counter!("allot_grpc_requests_total", "rpc" => rpc, "code" => "ResourceExhausted")
        .increment(1);
    Status::resource_exhausted(format!(
        "allot is at its concurrency limit ({limit}); retry with backoff"
    ))
    .into_http()
}

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

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let path = request.uri().path().to_owned();
        let rpc = rpc_label(&path);
        let exempt = path.starts_with("/grpc.health.v1.");
        match self.access.check(&path, request.headers()) {
            Ok(Some(name)) => {
                request.extensions_mut().insert(crate::auth::Caller(name));
            }
            Ok(None) => {}
            Err(refused) => {
                count(&rpc, refused.code());
                return Box::pin(async move { Ok(refused.into_http()) });
            }
        }
        let mut permit = None;
        let mut rpc_permit = None;
        if !exempt {
            match self.permits.clone().try_acquire_owned() {
                Ok(p) => permit = Some(p),
                Err(_) => {
                    let answer = shed(rpc, "grpc.max_concurrent_requests");
                    return Box::pin(async move { Ok(answer) });
                }
            }
            if let Some(limit) = self.per_rpc.get(&rpc) {
                match limit.clone().try_acquire_owned() {
                    Ok(p) => rpc_permit = Some(p),
                    Err(_) => {
                        let answer = shed(rpc, "grpc.rpc_concurrency");
                        return Box::pin(async move { Ok(answer) });
                    }
                }
            }
        }
        let timeout = request
            .headers()
            .get("grpc-timeout")
            .and_then(|v| v.to_str().ok())
            .and_then(crate::deadline::parse_grpc_timeout)
            .map_or(self.request_timeout, |t| t.min(self.request_timeout));
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let streams = self.streams.clone();
        Box::pin(async move {
            let started = Instant::now();
            let answer = AssertUnwindSafe(async move { inner.call(request).await }).catch_unwind();
            let Ok(response) = tokio::time::timeout(timeout, answer).await else {
                count(&rpc, tonic::Code::DeadlineExceeded);
                return Ok(Status::deadline_exceeded(format!(
                    "the call's deadline ({} ms: the caller's grpc-timeout, at most grpc.request_timeout_ms) passed before its answer",
                    timeout.as_millis()
                ))
                .into_http());
            };
            drop(permit);
            let response = match response {
                Ok(Ok(response)) => response,
                Ok(Err(error)) => return Err(error),
                Err(panic) => return Ok(panicked(&rpc, panic.as_ref()).into_http()),
            };
            let header_code = response_code(&response);
            let rpc = if header_code == Some(tonic::Code::Unimplemented) {
                "unimplemented".to_string()
            } else {
                rpc
            };
            metrics::histogram!("allot_grpc_request_duration_seconds", "rpc" => rpc.clone())
                .record(started.elapsed().as_secs_f64());
            if let Some(code) = header_code {
                count(&rpc, code);
                return Ok(response);
            }
            let progress = Arc::new(Progress {
                waiting_since: Mutex::new(None),
                permit: Mutex::new(rpc_permit),
            });
            if streams.rpcs.contains(&rpc) {
                tokio::spawn(watch_for_stall(
                    Arc::downgrade(&progress),
                    rpc.clone(),
                    streams.stall_timeout,
                ));
            }
            Ok(response.map(|body| {
                tonic::body::Body::new(GatedBody {
                    inner: body,
                    rpc,
                    counted: false,
                    progress,
                })
            }))
        })
    }
}

/// Counts one answer of `rpc` with `code`.
fn count(rpc: &str, code: tonic::Code) {
    metrics::counter!("allot_grpc_requests_total", "rpc" => rpc.to_string(), "code" => format!("{code:?}"))
        .increment(1);
}

/// The answer to a call whose handler panicked (a bug): INTERNAL, counted
/// and logged; the server goes on serving.
fn panicked(rpc: &str, panic: &(dyn std::any::Any + Send)) -> Status {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string());
    tracing::error!(rpc, panic = %what, "a handler panicked; the call is answered INTERNAL");
    metrics::counter!("allot_grpc_panics_total", "rpc" => rpc.to_string()).increment(1);
    count(rpc, tonic::Code::Internal);
    Status::internal(
        "allot failed on this call (a bug, logged as such); the server is still serving",
    )
}

/// How a streamed answer is going: since when its last message has waited
/// for the client to take it (`None`: it has been taken), and the RPC's
/// permit while the stream holds it.
struct Progress {
    waiting_since: Mutex<Option<Instant>>,
    permit: Mutex<Option<OwnedSemaphorePermit>>,
}

/// Gives the permit of a server stream back once its client has left a
/// message untaken for `stall_timeout`; ends with the stream.
async fn watch_for_stall(progress: Weak<Progress>, rpc: String, stall_timeout: Duration) {
    let every = (stall_timeout / 4).max(Duration::from_millis(50));
    loop {
        tokio::time::sleep(every).await;
        let Some(progress) = progress.upgrade() else {
            return;
        };
        let since = *progress.waiting_since.lock();
        if since.is_some_and(|since| since.elapsed() >= stall_timeout) {
            progress.permit.lock().take();
            metrics::counter!("allot_grpc_streams_dropped_total", "rpc" => rpc.clone(), "reason" => "stalled")
                .increment(1);
            tracing::warn!(
                rpc,
                stall_timeout_ms = stall_timeout.as_millis() as u64,
                "a stream's client stopped reading: its permit is given back"
            );
            return;
        }
    }
}

/// A response body that holds its RPC's permit until it ends (or its client
/// stalls) and counts the answer with the status its trailers carry.
struct GatedBody {
    inner: tonic::body::Body,
    rpc: String,
    counted: bool,
    progress: Arc<Progress>,
}

impl Body for GatedBody {
    type Data = bytes::Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        *self.progress.waiting_since.lock() = None;
        let inner = &mut self.inner;
        let polled =
            match std::panic::catch_unwind(AssertUnwindSafe(|| Pin::new(inner).poll_frame(cx))) {
                Ok(polled) => polled,
                Err(panic) => {
                    let status = panicked(&self.rpc, panic.as_ref());
                    self.counted = true;
                    return Poll::Ready(Some(Err(status)));
                }
            };
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && frame.is_data()
        {
            *self.progress.waiting_since.lock() = Some(Instant::now());
        }
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(trailers) = frame.trailers_ref()
            && !self.counted
        {
            self.counted = true;
            count(&self.rpc, grpc_status(trailers).unwrap_or(tonic::Code::Ok));
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for GatedBody {
    /// A body dropped before its trailers: the client went away.
    fn drop(&mut self) {
        if !self.counted {
            count(&self.rpc, tonic::Code::Cancelled);
        }
    }
}

/// `/allot.v1.InventoryService/GetNodeStock` -> `InventoryService/GetNodeStock`.
pub fn rpc_label(path: &str) -> String {
    let trimmed = path.trim_start_matches('/');
    match trimmed.rsplit_once('.') {
        Some((_, service_and_method)) if trimmed.len() <= 96 => service_and_method.to_string(),
        _ => "other".to_string(),
    }
}

/// The `grpc-status` of a header map, if present and valid.
fn grpc_status(headers: &http::HeaderMap) -> Option<tonic::Code> {
    headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
        .map(tonic::Code::from_i32)
}

/// The gRPC status of a trailers-only response (errors of unary handlers);
/// None when the status will come in the trailers.
fn response_code(response: &http::Response<tonic::body::Body>) -> Option<tonic::Code> {
    grpc_status(response.headers())
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

    #[test]
    fn the_default_limits_name_real_rpcs_and_typos_are_refused() {
        let defaults = crate::config::GrpcConfig::default().rpc_concurrency;
        assert!(
            RequestGateLayer::new(
                16,
                &defaults,
                Duration::from_secs(30),
                Duration::from_secs(30),
                Access::default()
            )
            .is_ok()
        );
        let typo = BTreeMap::from([("AllocationService/Alocate".to_string(), 4)]);
        let error = RequestGateLayer::new(
            16,
            &typo,
            Duration::from_secs(30),
            Duration::from_secs(30),
            Access::default(),
        )
        .err()
        .map(|e| e.to_string());
        assert!(
            error
                .as_deref()
                .is_some_and(|e| e.contains("Alocate") && e.contains("AllocationService/Allocate")),
            "{error:?}"
        );
    }

    /// A service whose handler panics, standing for a bug in any handler.
    #[derive(Clone)]
    struct Panics;

    impl tonic::server::NamedService for Panics {
        const NAME: &'static str = "allot.v1.RiskService";
    }

    impl Service<http::Request<tonic::body::Body>> for Panics {
        type Response = http::Response<tonic::body::Body>;
        type Error = std::convert::Infallible;
        type Future = BoxFuture<Result<Self::Response, Self::Error>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, _: http::Request<tonic::body::Body>) -> Self::Future {
            Box::pin(async { panic!("a bug in a handler") })
        }
    }

    #[tokio::test]
    async fn a_panicking_handler_is_answered_internal_and_the_server_keeps_serving() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (reporter, health) = tonic_health::server::health_reporter();
        reporter
            .set_service_status("", tonic_health::ServingStatus::Serving)
            .await;
        let gate = RequestGateLayer::new(
            16,
            &BTreeMap::new(),
            Duration::from_secs(30),
            Duration::from_secs(30),
            Access::default(),
        )
        .unwrap();
        let server = tokio::spawn(
            tonic::transport::Server::builder()
                .layer(gate)
                .add_service(health)
                .add_service(Panics)
                .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
        );
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut risk =
            allot_proto::v1::risk_service_client::RiskServiceClient::new(channel.clone());
        for _ in 0..2 {
            let status = risk
                .score_order(allot_proto::v1::ScoreOrderRequest::default())
                .await
                .unwrap_err();
            assert_eq!(status.code(), tonic::Code::Internal, "{status:?}");
            assert!(status.message().contains("still serving"), "{status:?}");
        }
        let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
        let serving = health
            .check(tonic_health::pb::HealthCheckRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            serving.status,
            tonic_health::pb::health_check_response::ServingStatus::Serving as i32
        );
        server.abort();
    }
}
