//! Several replicas of allot behind one client: tonic's balancer
//! (`Channel::balance_channel`, power of two choices) over the replicas that
//! are up.
//!
//! tonic alone keeps calling a replica that is down: its connections are
//! lazy and report a refused connect as ready, so the call picked for that
//! replica fails (a third of the calls over two replicas, one of them down).
//! So each replica has a watcher that follows its `grpc.health.v1.Health/Watch`
//! stream on a connection of its own, and the balancer's set is kept to the
//! replicas whose watch says SERVING ([`rotation`]). A replica leaves the set
//! when its server reports NOT_SERVING (starting, or draining before it
//! stops) or its connection is lost, and comes back when a new watch says
//! SERVING. Between a replica failing and its watcher seeing it, calls sent
//! to it fail with UNAVAILABLE as they would with one endpoint.

mod rotation;
mod watcher;

use std::time::Duration;

use tokio::sync::watch;
use tonic::transport::channel::Change;
use tonic::transport::{Channel, Endpoint};

use crate::connect::BearerToken;

/// How long a watcher waits before watching a replica again after it was
/// found down or not serving.
pub const REPLICA_RETRY_INTERVAL: Duration = Duration::from_secs(1);

/// HTTP/2 keepalive of a watcher's connection: a replica whose host stops
/// answering (no reset, no close) is found down after this plus
/// [`REPLICA_KEEPALIVE_TIMEOUT`].
pub const REPLICA_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);

/// How long a watcher waits for the answer to its keepalive ping.
pub const REPLICA_KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(5);

/// What a replica's watcher last saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplicaState {
    /// Not watched yet.
    Unknown,
    /// Its health says SERVING.
    Serving,
    /// It answers, but its health says something else (still loading, or
    /// draining before it stops).
    NotServing,
    /// It could not be reached, or its connection was lost.
    Down {
        /// Why, in one line.
        error: String,
    },
}

/// One replica of a balanced client: its endpoint, what its watcher last
/// saw, and whether calls go to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaStatus {
    /// The endpoint, with scheme.
    pub endpoint: String,
    /// What its watcher last saw.
    pub state: ReplicaState,
    /// Whether the balancer sends calls to it (see [`rotation`]).
    pub in_rotation: bool,
}

/// The balanced channel's replicas, as their watchers see them. Dropping
/// every clone of the channel ends the watchers.
#[derive(Debug, Clone)]
pub(crate) struct Replicas {
    statuses: watch::Receiver<Vec<ReplicaStatus>>,
}

impl Replicas {
    /// A channel balancing over `endpoints` (normalized, with scheme, and
    /// distinct), with a watcher per replica and a task keeping the
    /// balancer's set to the replicas in [`rotation`]. All are in rotation
    /// until the first watch answers. Needs a tokio runtime.
    pub(crate) fn balance(
        endpoints: Vec<(String, Endpoint)>,
        token: &BearerToken,
    ) -> (Channel, Replicas) {
        let capacity = (4 * endpoints.len()).max(16);
        let (channel, changes) = Channel::balance_channel::<usize>(capacity);
        let statuses: Vec<ReplicaStatus> = endpoints
            .iter()
            .map(|(uri, _)| ReplicaStatus {
                endpoint: uri.clone(),
                state: ReplicaState::Unknown,
                in_rotation: true,
            })
            .collect();
        for (index, (_, endpoint)) in endpoints.iter().enumerate() {
            // Fresh channel with room for every endpoint: cannot fail.
            let _ = changes.try_send(Change::Insert(index, endpoint.clone()));
        }
        let (sender, receiver) = watch::channel(statuses);
        for (index, (_, endpoint)) in endpoints.iter().enumerate() {
            let watch = watcher::Watcher {
                index,
                endpoint: endpoint.clone(),
                token: token.clone(),
                statuses: sender.clone(),
            };
            tokio::spawn(watch.run());
        }
        let endpoints = endpoints.into_iter().map(|(_, ep)| ep).collect();
        tokio::spawn(rotation::keep(sender, endpoints, changes));
        (channel, Replicas { statuses: receiver })
    }

    /// Every replica, in the order given.
    pub(crate) fn statuses(&self) -> Vec<ReplicaStatus> {
        self.statuses.borrow().clone()
    }

    /// Waits until a replica is SERVING or every replica has been watched
    /// once, and the balancer's set follows, for at most `timeout`; returns
    /// the statuses then.
    pub(crate) async fn settled(&self, timeout: Duration) -> Vec<ReplicaStatus> {
        let mut statuses = self.statuses.clone();
        let settled = |all: &Vec<ReplicaStatus>| {
            let states: Vec<_> = all.iter().map(|r| r.state.clone()).collect();
            let applied = rotation(&states)
                .into_iter()
                .zip(all)
                .all(|(wanted, r)| wanted == r.in_rotation);
            applied
                && (states.contains(&ReplicaState::Serving)
                    || !states.contains(&ReplicaState::Unknown))
        };
        let _ = tokio::time::timeout(timeout, statuses.wait_for(settled)).await;
        self.statuses()
    }
}

/// Which replicas calls go to: those whose health says SERVING; while none
/// does, all of them, so that calls fail at once (refused, or the server's
/// UNAVAILABLE while it loads) as they would with one endpoint, instead of
/// waiting for a replica to come back.
pub fn rotation(states: &[ReplicaState]) -> Vec<bool> {
    let any_serving = states.contains(&ReplicaState::Serving);
    states
        .iter()
        .map(|s| !any_serving || *s == ReplicaState::Serving)
        .collect()
}

/// Updates `sender`'s status of replica `index` (notifying only on change).
fn set_state(sender: &watch::Sender<Vec<ReplicaStatus>>, index: usize, state: ReplicaState) {
    sender.send_if_modified(|all| {
        let changed = all[index].state != state;
        all[index].state = state;
        changed
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_serving_replicas_are_in_rotation_unless_none_is() {
        use ReplicaState::*;
        let down = || Down {
            error: "refused".into(),
        };
        assert_eq!(rotation(&[Serving, down()]), [true, false]);
        assert_eq!(
            rotation(&[NotServing, Serving, Unknown]),
            [false, true, false]
        );
        assert_eq!(rotation(&[down(), NotServing]), [true, true]);
        assert_eq!(rotation(&[Unknown, Unknown]), [true, true]);
        assert_eq!(rotation(&[Serving, Serving]), [true, true]);
    }
}
