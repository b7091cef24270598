//! The decision explorer: web pages over the decision log, served by the
//! `allot` binary itself on its own HTTP port (docs/explorer.md).
//!
//! - `index`: the recent decisions, searchable, fed from the decision feed;
//! - `access`: the same bearer tokens as the gRPC API (the `read` role), as
//!   a header or a cookie set by the sign-in form;
//! - `routes`: the HTTP handlers (search, one decision, replay, stock,
//!   models, traffic, the live feed);
//! - `pages`: the HTML, rendered on the server (no script is needed to read
//!   a page; a few lines of inline script refresh the live feed), the map
//!   drawn as SVG from the network's coordinates, no internet access.
//!
//! Like the RPC handlers, the routes convert, call the service layer and
//! render; the explorer holds no state of its own besides the index.

mod access;
mod index;
mod pages;
mod routes;
mod traffic;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio_rustls::TlsAcceptor;

pub(crate) use index::DecisionIndex;

use crate::serve::Ready;

/// `[explorer]`: where the decision explorer listens.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ExplorerConfig {
    /// Serve the explorer at all.
    pub enabled: bool,
    /// Address of its HTTP listener.
    pub listen: SocketAddr,
    /// Without `[grpc.tls]` (the explorer is then plaintext HTTP), serve it
    /// on an address other than loopback anyway. With `[grpc.tls]` it is
    /// HTTPS with the same certificate, on any address.
    pub allow_plaintext: bool,
    /// How many of the most recent decisions the search covers (older ones
    /// are still shown by id).
    pub index_limit: usize,
}

impl Default for ExplorerConfig {
    fn default() -> Self {
        ExplorerConfig {
            enabled: true,
            listen: SocketAddr::from(([127, 0, 0, 1], 8089)),
            allow_plaintext: false,
            index_limit: 100_000,
        }
    }
}

/// What every page reads: the services once loaded, who may read, and the
/// index of recent decisions.
#[derive(Clone)]
pub(crate) struct Explorer {
    ready: Ready,
    access: Arc<crate::auth::Access>,
    index: Arc<DecisionIndex>,
    /// Request counts sampled for the traffic page's rates.
    traffic: Arc<traffic::Traffic>,
    /// Whether the explorer is served over TLS (its cookie is then `Secure`).
    https: bool,
}

/// How long a browser may take to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a connection may take to send a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections open at once.
const MAX_CONNECTIONS: usize = 256;

impl Explorer {
    /// Over the services published in `ready`, with the gRPC API's tokens.
    pub(crate) fn new(
        ready: Ready,
        access: crate::auth::Access,
        index: Arc<DecisionIndex>,
        https: bool,
    ) -> Explorer {
        Explorer {
            ready,
            access: Arc::new(access),
            index,
            traffic: Arc::default(),
            https,
        }
    }

    /// Serves the pages on `listener` (over TLS with `tls`) until `stop`
    /// turns true: HTTP/1.1, one task per connection, at most
    /// [`MAX_CONNECTIONS`] open (beyond, a new one is closed at once), each
    /// given [`HEADER_TIMEOUT`] to send a request's headers and
    /// [`HANDSHAKE_TIMEOUT`] to finish its TLS handshake.
    pub(crate) async fn serve(
        self,
        listener: TcpListener,
        tls: Option<Arc<rustls::ServerConfig>>,
        mut stop: watch::Receiver<bool>,
    ) {
        let _sampler = crate::telemetry::prometheus().map(|handle| {
            let traffic = self.traffic.clone();
            crate::serve::AbortOnDrop(tokio::spawn(async move { traffic.sample(handle).await }))
        });
        let router = routes::router(self);
        let stopped = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        tokio::pin!(stopped);
        let acceptor = tls.map(TlsAcceptor::from);
        let open = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        loop {
            let tcp = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((tcp, _)) => tcp,
                    Err(error) => {
                        tracing::warn!(%error, "decision explorer: accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
                () = &mut stopped => return,
            };
            let Ok(permit) = open.clone().try_acquire_owned() else {
                continue;
            };
            let acceptor = acceptor.clone();
            let service = hyper_util::service::TowerToHyperService::new(router.clone());
            tokio::spawn(async move {
                let _permit = permit;
                let mut http = hyper::server::conn::http1::Builder::new();
                http.timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(HEADER_TIMEOUT);
                match acceptor {
                    None => {
                        let _ = http.serve_connection(TokioIo::new(tcp), service).await;
                    }
                    Some(acceptor) => {
                        let Ok(Ok(stream)) =
                            tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await
                        else {
                            return;
                        };
                        let _ = http.serve_connection(TokioIo::new(stream), service).await;
                    }
                }
            });
        }
    }
}
