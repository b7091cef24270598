//! The decision log as the services see it: ids, the recorder that queues
//! records and events without waiting for disk, redaction of personal data,
//! the hashes a record carries, and the live event feed.
//!
//! Storage (the bounded queue, the writer thread, the redb file) is the
//! engine's [`allot_engine::decisions`]; records cross into it as encoded
//! `DecisionRecord` bytes. docs/decisions.md describes the whole.

mod event;
mod hash;
mod record;
mod redact;
mod watch;

use std::time::Duration;

use allot_engine::decisions::{
    Bounds, DecisionLog, DecisionLogError, LogConfig, NewRecord, decision_key,
};
use allot_proto::v1 as pb;
use prost::Message;
use tokio::sync::broadcast;
use tonic::Status;

use crate::config::{Config, DecisionsConfig};

pub use event::{event_message, reservation_event};
pub use hash::{config_hash, input_hash, network_hash, sha256_hex};
pub use record::{
    PlanEvaluation, RiskDecision, capacity, fraud_features, stock_read, stock_versions,
};
pub use redact::{redact_allocate, redact_promise, redact_score};
pub use watch::{EventStream, watch};

/// Longest an ExplainDecision of a not yet committed id waits for the
/// writer.
pub const READ_WAIT: Duration = Duration::from_secs(2);

/// How often the writer prunes records and events past retention.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Version of this server, recorded in every decision.
pub fn server_version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// Why the decision log could not open at startup.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The store could not be opened.
    #[error(transparent)]
    Log(#[from] DecisionLogError),
    /// The network file could not be read to hash it.
    #[error("cannot hash the network file: {0}")]
    NetworkFile(std::io::Error),
}

/// Queues decision records and events for the durable log and feeds
/// committed events to live watchers.
pub struct DecisionRecorder {
    log: DecisionLog,
    live: broadcast::Sender<pb::DecisionEvent>,
    config_hash: String,
    network_hash: String,
}

impl DecisionRecorder {
    /// Opens the log in `config.decisions.dir` and starts its writer.
    /// Blocking.
    pub fn open(config: &Config) -> Result<DecisionRecorder, OpenError> {
        let decisions: &DecisionsConfig = &config.decisions;
        let (live, _) = broadcast::channel(decisions.watch_buffer.max(1));
        let publish = live.clone();
        let log = DecisionLog::open(
            &LogConfig {
                dir: decisions.dir.clone(),
                queue_capacity: decisions.queue_capacity,
                max_batch: decisions.max_batch,
                durability: decisions.durability,
                commit_interval: Duration::from_millis(decisions.commit_interval_ms),
                retention: Duration::from_secs(u64::from(decisions.retention_days) * 86_400),
                prune_every: PRUNE_EVERY,
            },
            Box::new(move |events| {
                for event in events {
                    // No receiver is not an error: nobody is watching.
                    let _ = publish.send(event_message(event));
                }
            }),
        )?;
        Ok(DecisionRecorder {
            log,
            live,
            config_hash: config_hash(config),
            network_hash: network_hash(config).map_err(OpenError::NetworkFile)?,
        })
    }

    /// A new decision id: `dec_` and a ULID.
    pub fn new_id() -> String {
        format!("dec_{}", ulid::Ulid::new())
    }

    /// Queues a record (and optionally its event) for the log. Never blocks
    /// and never waits for disk. RESOURCE_EXHAUSTED when the log's bounded
    /// queue is full: the RPC sheds rather than losing the record silently.
    /// The event's `position` and `at` are assigned by the log; an empty
    /// event `decision_id` is the record's.
    pub fn record(
        &self,
        record: &pb::DecisionRecord,
        event: Option<pb::DecisionEvent>,
    ) -> Result<(), Status> {
        let key = decision_key(&record.decision_id).ok_or_else(|| {
            Status::internal(format!(
                "decision id {:?} is not a ULID (a bug)",
                record.decision_id
            ))
        })?;
        let event = event.map(|e| event::new_event(e, &record.decision_id));
        let bytes = record.encode_to_vec();
        self.log
            .submit(Some(NewRecord { key, bytes }), event)
            .map_err(submit_status)
    }

    /// Queues an event without a record (reservation confirmed, released,
    /// expired).
    pub fn event(&self, event: pb::DecisionEvent) -> Result<(), Status> {
        self.log
            .submit(None, Some(event::new_event(event, "")))
            .map_err(submit_status)
    }

    /// Hex SHA-256 of the configuration that affects decisions.
    pub fn config_hash(&self) -> &str {
        &self.config_hash
    }

    /// Hex SHA-256 of the network served.
    pub fn network_hash(&self) -> &str {
        &self.network_hash
    }

    /// The record of `decision_id`; `Ok(None)` when unknown or pruned. A
    /// decision whose record was queued before this call is read once its
    /// batch commits (read your writes), waiting at most [`READ_WAIT`].
    /// Blocking.
    pub fn read(&self, decision_id: &str) -> Result<Option<pb::DecisionRecord>, Status> {
        let Some(key) = decision_key(decision_id) else {
            return Ok(None);
        };
        let mut bytes = self.log.record(key).map_err(log_status)?;
        if bytes.is_none() && self.log.wait_committed(READ_WAIT) {
            bytes = self.log.record(key).map_err(log_status)?;
        }
        match bytes {
            None => Ok(None),
            Some(bytes) => pb::DecisionRecord::decode(bytes.as_slice())
                .map(Some)
                .map_err(|e| {
                    Status::internal(format!("decision {decision_id} is unreadable: {e}"))
                }),
        }
    }

    /// Live events, from the next committed batch on.
    pub fn subscribe(&self) -> broadcast::Receiver<pb::DecisionEvent> {
        self.live.subscribe()
    }

    /// Committed events after `after`, at most `limit`. Blocking.
    pub fn events_after(&self, after: u64, limit: usize) -> Result<Vec<pb::DecisionEvent>, Status> {
        Ok(self
            .log
            .events_after(after, limit)
            .map_err(log_status)?
            .iter()
            .map(event_message)
            .collect())
    }

    /// The oldest retained and the latest positions. Blocking.
    pub fn bounds(&self) -> Result<Bounds, Status> {
        self.log.bounds().map_err(log_status)
    }

    /// Entries waiting for the writer.
    pub fn queue_depth(&self) -> usize {
        self.log.queue_depth()
    }

    /// Refuses new records, commits everything queued and closes the file.
    /// Blocking; idempotent.
    pub fn close(&self) {
        self.log.close();
    }
}

fn submit_status(error: DecisionLogError) -> Status {
    match error {
        DecisionLogError::QueueFull { .. } => Status::resource_exhausted(error.to_string()),
        DecisionLogError::Closed => {
            Status::unavailable("allot is shutting down: the decision log is closed")
        }
        other => crate::error::status(other),
    }
}

fn log_status(error: DecisionLogError) -> Status {
    match error {
        DecisionLogError::Closed => {
            Status::unavailable("allot is shutting down: the decision log is closed")
        }
        other => crate::error::status(other),
    }
}
