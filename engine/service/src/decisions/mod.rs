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
        let sink = self.sink.clone();
        let key = id.clone();
        let mut found = tokio::task::spawn_blocking(move || sink.read(&key))
            .await
            .map_err(|e| ServiceError::internal(format!("reading the decision log: {e}")))??;
        if found.is_none()
            && let Some(shared) = &self.shared
        {
            found = shared.decision(id.as_str()).await?;
        }
        found.ok_or_else(|| {
                ServiceError::new(
                    Code::NotFound,
                    format!(
                        "decision_id: no decision {:?} (unknown, or older than decisions.retention_days)",
                        id.as_str()
                    ),
                )
            })
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
