//! The watcher of one replica: follows its health on a connection of its
//! own and records what it sees.

use tokio::sync::watch;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Endpoint;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use super::{
    REPLICA_KEEPALIVE_INTERVAL, REPLICA_KEEPALIVE_TIMEOUT, REPLICA_RETRY_INTERVAL, ReplicaState,
    ReplicaStatus, set_state,
};
use crate::connect::BearerToken;
use crate::error::{code_name, error_chain, status_text};

/// Watches replica `index` at `endpoint`, recording its state in
/// `statuses`.
pub(super) struct Watcher {
    /// Its position in `statuses`.
    pub index: usize,
    /// The replica (with the client's TLS settings).
    pub endpoint: Endpoint,
    /// The client's token (health is open on allot, but a proxy may not be).
    pub token: BearerToken,
    /// Where the states go; the watcher ends when nobody reads them.
    pub statuses: watch::Sender<Vec<ReplicaStatus>>,
}

impl Watcher {
    /// Follows the replica, and again [`REPLICA_RETRY_INTERVAL`] after each
    /// time it is found down or not serving, until the statuses have no
    /// reader left (the client and its channel are gone).
    pub(super) async fn run(self) {
        let endpoint = self
            .endpoint
            .clone()
            .http2_keep_alive_interval(REPLICA_KEEPALIVE_INTERVAL)
            .keep_alive_timeout(REPLICA_KEEPALIVE_TIMEOUT)
            .keep_alive_while_idle(true);
        loop {
            let state = tokio::select! {
                state = self.follow(&endpoint) => state,
                () = self.statuses.closed() => return,
            };
            set_state(&self.statuses, self.index, state);
            tokio::select! {
                () = tokio::time::sleep(REPLICA_RETRY_INTERVAL) => {}
                () = self.statuses.closed() => return,
            }
        }
    }

    /// Connects and watches the replica's overall health (service `""`),
    /// recording SERVING while it lasts; returns the state that ended it.
    /// A status other than SERVING ends the watch too, so that a server
    /// draining before it stops is not held open by this stream.
    async fn follow(&self, endpoint: &Endpoint) -> ReplicaState {
        let down = |error: String| ReplicaState::Down { error };
        let channel = match endpoint.connect().await {
            Ok(channel) => channel,
            Err(e) => return down(error_chain(&e)),
        };
        let mut health = HealthClient::new(InterceptedService::new(channel, self.token.clone()));
        let mut stream = match health.watch(HealthCheckRequest::default()).await {
            Ok(answer) => answer.into_inner(),
            Err(status) => return down(status_line(&status)),
        };
        loop {
            match stream.message().await {
                Ok(Some(answer)) if answer.status == ServingStatus::Serving as i32 => {
                    set_state(&self.statuses, self.index, ReplicaState::Serving);
                }
                Ok(Some(_)) => return ReplicaState::NotServing,
                Ok(None) => return down(String::from("its health watch ended")),
                Err(status) => return down(status_line(&status)),
            }
        }
    }
}

/// A status in one line: its code and message.
fn status_line(status: &tonic::Status) -> String {
    format!("{}: {}", code_name(status.code()), status_text(status))
}
