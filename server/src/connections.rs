//! The cap on open connections: a wrapper around the stream of accepted
//! connections that closes a new one at once while `grpc.max_connections`
//! are open, and counts open and refused connections.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::Stream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::transport::server::Connected;

/// Gauge: connections open now.
const OPEN: &str = "allot_grpc_connections_open";
/// Counter: connections closed at once because `max_connections` were open.
const REFUSED: &str = "allot_grpc_connections_refused_total";

/// Accepted connections, at most `max` open at once: beyond it a new
/// connection is dropped (closed) as soon as it is accepted, before any
/// TLS or HTTP/2, and the stream waits for the next one.
pub(crate) struct ConnectionLimit<S> {
    inner: S,
    slots: Arc<Semaphore>,
    max: usize,
}

impl<S> ConnectionLimit<S> {
    /// Caps `incoming` at `max` open connections (at least one).
    pub(crate) fn new(incoming: S, max: usize) -> Self {
        let max = max.clamp(1, Semaphore::MAX_PERMITS);
        // Registered at once (so it reads 0, not absent), never reset: the
        // gauge is process-wide.
        metrics::gauge!(OPEN).increment(0.0);
        ConnectionLimit {
            inner: incoming,
            slots: Arc::new(Semaphore::new(max)),
            max,
        }
    }
}

impl<S, IO> Stream for ConnectionLimit<S>
where
    S: Stream<Item = io::Result<IO>> + Unpin,
{
    type Item = io::Result<Counted<IO>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            let io = match Pin::new(&mut self.inner).poll_next(cx) {
                Poll::Ready(Some(Ok(io))) => io,
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            };
            match Arc::clone(&self.slots).try_acquire_owned() {
                Ok(slot) => {
                    metrics::gauge!(OPEN).increment(1.0);
                    return Poll::Ready(Some(Ok(Counted { io, _slot: slot })));
                }
                Err(_) => {
                    metrics::counter!(REFUSED).increment(1);
                    tracing::debug!(max = self.max, "connection refused: max_connections open");
                    drop(io);
                }
            }
        }
    }
}

/// An accepted connection holding one of the slots until it is dropped.
pub(crate) struct Counted<IO> {
    io: IO,
    _slot: OwnedSemaphorePermit,
}

impl<IO> Drop for Counted<IO> {
    fn drop(&mut self) {
        metrics::gauge!(OPEN).decrement(1.0);
    }
}

impl<IO: Connected> Connected for Counted<IO> {
    type ConnectInfo = IO::ConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.io.connect_info()
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Counted<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Counted<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    #[tokio::test]
    async fn beyond_the_cap_connections_are_dropped_until_one_closes() {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<io::Result<u32>>();
        let incoming = tokio_stream::wrappers::UnboundedReceiverStream::new(rx);
        let mut limited = ConnectionLimit::new(incoming, 2);
        for n in 0..4 {
            tx.send(Ok(n)).unwrap();
        }
        let first = limited.next().await.unwrap().unwrap();
        let second = limited.next().await.unwrap().unwrap();
        assert_eq!((first.io, second.io), (0, 1));
        // 2 and 3 are dropped; the stream waits for the next connection.
        assert!(futures::poll!(limited.next()).is_pending());
        drop(first);
        tx.send(Ok(4)).unwrap();
        assert_eq!(limited.next().await.unwrap().unwrap().io, 4);
    }
}
