//! Client streams that cannot hold the server: one that sends no message
//! for `grpc.stream_idle_timeout_ms` ends with DEADLINE_EXCEEDED and is
//! counted in `allot_grpc_streams_dropped_total{reason="idle"}`.

use std::time::Duration;

use futures::{Stream, StreamExt};
use tonic::Status;

/// `messages`, ended with DEADLINE_EXCEEDED when no message (nor its end)
/// comes for `idle`. `rpc` labels the metric.
pub(crate) fn idle_limited<T>(
    messages: impl Stream<Item = Result<T, Status>> + Send + 'static,
    idle: Duration,
    rpc: &'static str,
) -> impl Stream<Item = Result<T, Status>> + Send + Unpin + 'static {
    Box::pin(
        tokio_stream::StreamExt::timeout(messages, idle).map(move |next| {
            next.unwrap_or_else(|_| {
            metrics::counter!("allot_grpc_streams_dropped_total", "rpc" => rpc, "reason" => "idle")
                .increment(1);
            Err(Status::deadline_exceeded(format!(
                "the stream sent no message for {} ms (grpc.stream_idle_timeout_ms) and was ended; \
                 the messages before were handled as the RPC documents",
                idle.as_millis()
            )))
        })
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_silent_stream_ends_with_deadline_exceeded() {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<u32, Status>>(4);
        let mut limited = idle_limited(
            tokio_stream::wrappers::ReceiverStream::new(rx),
            Duration::from_millis(50),
            "Test/Rpc",
        );
        tx.send(Ok(7)).await.unwrap();
        assert_eq!(limited.next().await.unwrap().unwrap(), 7);
        let ended = limited.next().await.unwrap().unwrap_err();
        assert_eq!(ended.code(), tonic::Code::DeadlineExceeded);
        assert!(
            ended.message().contains("grpc.stream_idle_timeout_ms"),
            "{ended:?}"
        );
        drop(tx);
    }
}
