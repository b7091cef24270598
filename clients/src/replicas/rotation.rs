//! The task keeping the balancer's set of replicas to the [`rotation`] of
//! what the watchers see.

use tokio::sync::{mpsc, watch};
use tonic::transport::Endpoint;
use tonic::transport::channel::Change;

use super::{ReplicaStatus, rotation};

/// Sends the balancer the changes that make its set the rotation of
/// `statuses`, each time they change, and marks each replica's
/// `in_rotation` once its change is sent (the balancer applies the changes
/// sent before it picks a replica for the next call). Ends when the
/// balanced channel is gone. The balancer starts with every replica.
pub(super) async fn keep(
    statuses: watch::Sender<Vec<ReplicaStatus>>,
    endpoints: Vec<Endpoint>,
    changes: mpsc::Sender<Change<usize, Endpoint>>,
) {
    let mut seen = statuses.subscribe();
    let mut current = vec![true; endpoints.len()];
    loop {
        let wanted = {
            let all = seen.borrow_and_update();
            let states: Vec<_> = all.iter().map(|r| r.state.clone()).collect();
            rotation(&states)
        };
        // Insertions first: the set is never empty on the way.
        for insert in [true, false] {
            for (index, endpoint) in endpoints.iter().enumerate() {
                if wanted[index] == current[index] || wanted[index] != insert {
                    continue;
                }
                let change = if insert {
                    Change::Insert(index, endpoint.clone())
                } else {
                    Change::Remove(index)
                };
                if changes.send(change).await.is_err() {
                    return;
                }
                current[index] = insert;
            }
        }
        statuses.send_if_modified(|all| {
            let mut modified = false;
            for (status, &now) in all.iter_mut().zip(&current) {
                modified |= status.in_rotation != now;
                status.in_rotation = now;
            }
            modified
        });
        tokio::select! {
            changed = seen.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            () = changes.closed() => return,
        }
    }
}
