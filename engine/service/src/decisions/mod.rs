//! Recorded decisions: read one back (explain), follow the feed (watch),
//! and re-run one against what it recorded (replay).

mod replay;
mod watch;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch as signal;

pub use replay::{REPLAY_BUDGET, RecordedState, RecordedWith, Replayer};
pub use watch::{Ends, EventStream, watch};

use crate::error::{Code, ServiceError};
use crate::id::DecisionId;
use crate::sink::{DecisionSink, EventKind};
use crate::state::SharedLedger;

/// The decision-log use cases.
pub struct Decisions {
    sink: Arc<dyn DecisionSink>,
    stop: signal::Receiver<bool>,
    stall: Duration,
    /// The ledger shared with other replicas: the records of their
    /// committed decisions.
    shared: Option<Arc<dyn SharedLedger>>,
}

impl Decisions {
    /// Over `sink`; watches end when `stop` turns true, and a watch whose
    /// client takes no event for `stall` while one waits ends too. With a
    /// `shared` ledger, a committed decision another replica made is read
    /// from there.
    pub fn new(
        sink: Arc<dyn DecisionSink>,
        stop: signal::Receiver<bool>,
        stall: Duration,
        shared: Option<Arc<dyn SharedLedger>>,
    ) -> Self {
        Decisions {
            sink,
            stop,
            stall,
            shared,
        }
    }

    /// The encoded record of `id`; NOT_FOUND when unknown or pruned.
    pub async fn read(&self, id: &DecisionId) -> Result<Vec<u8>, ServiceError> {
        self.read_many(std::slice::from_ref(id))
            .await
            .into_iter()
            .next()
            .unwrap_or_else(|| {
                Err(ServiceError::internal(
                    "reading the decision log: no answer",
                ))
            })
    }

    /// The encoded records of `ids`, in `ids` order, each as
    /// [`Decisions::read`] answers it; the decision log is read in one
    /// blocking task, and with a shared ledger the records the log does not
    /// have are read from there in one query.
    pub async fn read_many(&self, ids: &[DecisionId]) -> Vec<Result<Vec<u8>, ServiceError>> {
        let sink = self.sink.clone();
        let keys = ids.to_vec();
        let local = tokio::task::spawn_blocking(move || {
            keys.iter().map(|id| sink.read(id)).collect::<Vec<_>>()
        })
        .await
        .unwrap_or_else(|e| {
            vec![
                Err(ServiceError::internal(format!(
                    "reading the decision log: {e}"
                )));
                ids.len()
            ]
        });
        // What the log does not have, from the shared ledger in one query.
        let missing: Vec<String> = ids
            .iter()
            .zip(&local)
            .filter(|(_, found)| matches!(found, Ok(None)))
            .map(|(id, _)| id.as_str().to_string())
            .collect();
        let mut remote = match &self.shared {
            Some(shared) if !missing.is_empty() => Some(shared.decisions(&missing).await),
            _ => None,
        };
        let mut records = Vec::with_capacity(ids.len());
        for (id, found) in ids.iter().zip(local) {
            let found = match (found, remote.as_mut()) {
                (Ok(None), Some(Ok(fetched))) => Ok(fetched.remove(id.as_str())),
                (Ok(None), Some(Err(e))) => Err(e.clone()),
                (found, _) => found,
            };
            records.push(found.and_then(|found| {
                found.ok_or_else(|| {
                    ServiceError::new(
                        Code::NotFound,
                        format!(
                            "decision_id: no decision {:?} (unknown, or older than decisions.retention_days)",
                            id.as_str()
                        ),
                    )
                })
            }));
        }
        records
    }

    /// The feed's positions now: the oldest retained event's and the
    /// latest, read off the async workers.
    pub async fn bounds(&self) -> Result<allot_engine::decisions::Bounds, ServiceError> {
        let sink = self.sink.clone();
        tokio::task::spawn_blocking(move || sink.bounds())
            .await
            .map_err(|e| ServiceError::internal(format!("reading the decision log: {e}")))?
    }

    /// Follows the feed from `from_position` (see [`watch`]).
    pub async fn watch(
        &self,
        from_position: Option<u64>,
        kinds: HashSet<EventKind>,
    ) -> Result<EventStream, ServiceError> {
        let ends = Ends {
            stop: self.stop.clone(),
            stall: self.stall,
        };
        watch(self.sink.clone(), from_position, kinds, ends).await
    }
}
