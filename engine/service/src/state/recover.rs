//! Opening the durable state: a fresh directory starts from the stock
//! loaded at startup (written as the first checkpoint); any other recovers
//! the acknowledged state from its checkpoint and the journal after it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use allot_engine::reservation::ReservationBook;
use allot_engine::stock::StockStore;
use allot_journal::{
    Checkpoint, Checkpoints, Journal, JournalConfig, JournalError, SyncPolicy, read_after,
};

use super::compact::{Compactor, Sources, decode, decode_journaled};
use super::durable::Durable;
use super::replica::{Keys, Replica, StateImage};
use crate::config::{StateConfig, SyncMode};
use crate::error::ServiceError;
use crate::sink::DecisionSink;

/// Why the durable state could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// A journal or checkpoint file could not be read or written, or is
    /// damaged.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// A record or checkpoint does not decode (written by an incompatible
    /// version, or damaged in a way its checksum missed).
    #[error("state: {what} does not decode: {problem}")]
    Undecodable {
        /// Which record or checkpoint.
        what: String,
        /// The decoder's message.
        problem: String,
    },
    /// Journal segments without the checkpoint they follow.
    #[error(
        "state directory {dir} has journal segments but no checkpoint: it was copied or cleaned in part; restore it whole or start from an empty directory (docs/durability.md)"
    )]
    MissingCheckpoint {
        /// The state directory.
        dir: String,
    },
    /// The checkpoint thread could not start.
    #[error("cannot start the state checkpoint thread: {0}")]
    Thread(std::io::Error),
    /// The decision log's commit records could not be read or removed.
    #[error("state: the decision log's commit records: {0}")]
    Log(ServiceError),
}

/// What opening the state did.
#[derive(Debug, Clone, Default)]
pub struct Recovery {
    /// The directory was empty: the startup stock is the state.
    pub fresh: bool,
    /// The checkpoint recovery started from.
    pub checkpoint_seq: u64,
    /// Journal records replayed after it.
    pub replayed: usize,
    /// Commit records (holds and keys) replayed from the decision log.
    pub commits: usize,
    /// Bytes of a torn journal tail cut off.
    pub torn_bytes: u64,
    /// Rows, units and records naming nodes or SKUs the network no longer
    /// has, dropped.
    pub dropped: u64,
    /// Live reservations after recovery.
    pub live_reservations: usize,
    /// How long it took.
    pub elapsed: Duration,
}

/// Whether `dir` holds state: a checkpoint (the first is written before
/// anything is acknowledged).
pub fn has_state(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.ends_with(".checkpoint"))
        })
    })
}

/// Opens the durable state in `dir` over the live `stock` and `book`, with
/// committing calls' holds and keys in `log` (written with their decision
/// records): in a fresh directory their current contents become the first
/// checkpoint; otherwise they are replaced by the recovered state.
/// Blocking.
pub fn open(
    config: &StateConfig,
    dir: &Path,
    stock: Arc<StockStore>,
    book: Arc<ReservationBook>,
    log: Arc<dyn DecisionSink>,
) -> Result<(Durable, Recovery), StateError> {
    let started = Instant::now();
    let checkpoints = Checkpoints::new(dir)?;
    let keys = Arc::new(Keys::new());
    let mut replica = Replica::new(stock.clone(), book.clone(), keys.clone());
    let mut recovery = Recovery::default();
    let next_seq = match StateImage::latest(&checkpoints)? {
        None => {
            if !read_after(dir, 0)?.records.is_empty() {
                return Err(StateError::MissingCheckpoint {
                    dir: dir.display().to_string(),
                });
            }
            // Commit records of a state directory that is gone belong to no
            // state: this one starts from the stock.
            let stale = log.commits_after(0).map_err(StateError::Log)?;
            if let Some(&(last, _)) = stale.last() {
                tracing::warn!(
                    records = stale.len(),
                    "state directory empty: the decision log's commit records of an earlier state are dropped"
                );
                log.remove_commits_through(last).map_err(StateError::Log)?;
            }
            let mut image = replica.image();
            image.commits_through = stale.last().map_or(0, |c| c.0);
            checkpoints.write(&Checkpoint {
                seq: 0,
                payload: image.encode(),
            })?;
            recovery.fresh = true;
            1
        }
        Some((checkpoint, image)) => {
            let commits_after = image.commits_through;
            replica.restore(image);
            let tail = read_after(dir, checkpoint)?;
            let journal = tail
                .records
                .iter()
                .map(|r| decode_journaled(&r.payload, r.seq))
                .collect::<Result<Vec<_>, _>>()?;
            let commits = log
                .commits_after(commits_after)
                .map_err(StateError::Log)?
                .iter()
                .map(|(position, bytes)| {
                    Ok((*position, decode(bytes, "commit record", *position)?))
                })
                .collect::<Result<Vec<_>, StateError>>()?;
            recovery.commits = commits.len();
            replica.replay(journal, commits);
            recovery.checkpoint_seq = checkpoint;
            recovery.replayed = tail.records.len();
            recovery.torn_bytes = tail.torn_bytes;
            tail.next_seq
        }
    };
    recovery.dropped = replica.dropped;
    recovery.live_reservations = book.live();
    let journal = Arc::new(Journal::open(&journal_config(config, dir), next_seq)?);
    let commits = Arc::new(std::sync::atomic::AtomicU64::new(recovery.commits as u64));
    let compactor = Compactor::start(Sources {
        network: stock.network().clone(),
        journal: journal.clone(),
        log: log.clone(),
        dir: dir.to_path_buf(),
        commits: commits.clone(),
    })
    .map_err(StateError::Thread)?;
    recovery.elapsed = started.elapsed();
    Ok((
        Durable::new(stock, book, keys, journal, compactor, commits, log),
        recovery,
    ))
}

fn journal_config(config: &StateConfig, dir: &Path) -> JournalConfig {
    JournalConfig {
        dir: PathBuf::from(dir),
        sync: match config.sync {
            SyncMode::Always => SyncPolicy::Always,
            SyncMode::Interval => {
                SyncPolicy::Interval(Duration::from_millis(config.sync_interval_ms))
            }
            SyncMode::Never => SyncPolicy::Never,
        },
        segment_bytes: config.segment_mib.max(1) * 1024 * 1024,
    }
}
