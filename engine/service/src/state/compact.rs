//! The checkpoint thread: folds the journal's closed segments into a new
//! checkpoint and deletes them, so recovery replays at most about one
//! segment after the checkpoint.
//!
//! It never reads the live state (which may hold a commit's hold before its
//! record): it restores the last checkpoint into a private replica, replays
//! the closed segments into it and writes what results.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use std::sync::atomic::{AtomicU64, Ordering};

use allot_engine::network::Network;
use allot_journal::{Checkpoint, Checkpoints, Journal, read_sealed};

use super::change::Change;
use super::recover::StateError;
use super::replica::{Replica, StateImage};
use crate::sink::DecisionSink;

/// How often the thread looks for closed segments and commit records.
const LOOK_EVERY: Duration = Duration::from_secs(1);
/// Commit records in the decision log that trigger a checkpoint.
pub(crate) const FOLD_COMMITS: u64 = 50_000;

/// Where the checkpoint thread reads and removes what it folds.
pub(crate) struct Sources {
    pub(crate) network: Arc<Network>,
    pub(crate) journal: Arc<Journal>,
    pub(crate) log: Arc<dyn DecisionSink>,
    pub(crate) dir: PathBuf,
    /// Commit records made since the last checkpoint.
    pub(crate) commits: Arc<AtomicU64>,
}

/// The running checkpoint thread.
pub(crate) struct Compactor {
    stop: Sender<()>,
    handle: JoinHandle<()>,
}

impl Compactor {
    /// Starts folding the journal's closed segments and the decision log's
    /// commit records into checkpoints.
    pub(crate) fn start(sources: Sources) -> std::io::Result<Compactor> {
        let (stop, stopped) = channel();
        let handle = std::thread::Builder::new()
            .name("state-checkpoint".into())
            .spawn(move || run(&sources, &stopped))?;
        Ok(Compactor { stop, handle })
    }

    /// Stops the thread (after the checkpoint it may be writing).
    pub(crate) fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.handle.join();
    }
}

fn run(sources: &Sources, stopped: &Receiver<()>) {
    loop {
        match stopped.recv_timeout(LOOK_EVERY) {
            Err(RecvTimeoutError::Timeout) => {}
            _ => return,
        }
        let sealed = match sources.journal.sealed_segments() {
            Ok(sealed) => sealed.last().map(|&(_, last, _)| last),
            Err(e) => {
                tracing::warn!(error = %e, "state checkpoint: cannot list segments");
                continue;
            }
        };
        let commits = sources.commits.load(Ordering::Relaxed);
        if sealed.is_none() && commits < FOLD_COMMITS {
            continue;
        }
        match fold(&sources.network, &sources.dir, sealed, sources.log.as_ref()) {
            Ok(()) => {
                sources.commits.fetch_sub(commits, Ordering::Relaxed);
                if let Some(through) = sealed
                    && let Err(e) = sources.journal.remove_through(through)
                {
                    tracing::warn!(error = %e, "state checkpoint: cannot remove folded segments");
                }
            }
            Err(e) => {
                metrics::counter!("allot_state_checkpoint_failures_total").increment(1);
                tracing::error!(error = %e, "state checkpoint failed; the journal keeps growing until it succeeds");
            }
        }
    }
}

/// Folds every record of a closed journal in `dir` (no server running on
/// it) into a new checkpoint and deletes the segments; returns the
/// checkpoint's sequence number. Recovery then reads the checkpoint alone.
pub fn checkpoint_all(
    network: &Arc<Network>,
    dir: &std::path::Path,
    log: &dyn DecisionSink,
) -> Result<u64, StateError> {
    let checkpoints = Checkpoints::new(dir)?;
    let after = checkpoints.latest()?.map_or(0, |c| c.seq);
    let through = read_sealed(dir, after, u64::MAX)?.last().map(|r| r.seq);
    fold(network, dir, through, log)?;
    let through = through.unwrap_or(after);
    for entry in std::fs::read_dir(dir)
        .map_err(|e| {
            StateError::Journal(allot_journal::JournalError::Io {
                action: "list",
                path: dir.display().to_string(),
                message: e.to_string(),
            })
        })?
        .flatten()
    {
        if entry.path().extension().is_some_and(|x| x == "journal") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    Ok(through)
}

/// Writes a checkpoint: the last one, plus the journal records after it up
/// to `through` (closed segments only; `None`: none), plus every commit
/// record the decision log holds after the ones it covers; then removes
/// those commit records from the log.
pub(crate) fn fold(
    network: &Arc<Network>,
    dir: &std::path::Path,
    through: Option<u64>,
    log: &dyn DecisionSink,
) -> Result<(), StateError> {
    let started = Instant::now();
    let checkpoints = Checkpoints::new(dir)?;
    let mut replica = Replica::empty(network);
    let (after, commits_after) = match StateImage::latest(&checkpoints)? {
        Some((seq, image)) => {
            let commits = image.commits_through;
            replica.restore(image);
            (seq, commits)
        }
        None => (0, 0),
    };
    let through = through.unwrap_or(after).max(after);
    let journal = read_sealed(dir, after, through)?
        .iter()
        .map(|r| decode_journaled(&r.payload, r.seq))
        .collect::<Result<Vec<_>, _>>()?;
    let commits = log.commits_after(commits_after).map_err(StateError::Log)?;
    let commits_through = commits.last().map_or(commits_after, |c| c.0);
    let commits = commits
        .iter()
        .map(|(position, bytes)| Ok((*position, decode(bytes, "commit record", *position)?)))
        .collect::<Result<Vec<_>, StateError>>()?;
    replica.replay(journal, commits);
    let mut image = replica.image();
    image.commits_through = commits_through;
    let payload = image.encode();
    let bytes = payload.len();
    checkpoints.write(&Checkpoint {
        seq: through,
        payload,
    })?;
    log.remove_commits_through(commits_through)
        .map_err(StateError::Log)?;
    metrics::histogram!("allot_state_checkpoint_seconds").record(started.elapsed().as_secs_f64());
    tracing::info!(
        through,
        commits_through,
        bytes,
        ms = started.elapsed().as_millis() as u64,
        "state checkpoint written"
    );
    Ok(())
}

/// A journal record's (commit position seen, change), or why it does not
/// decode.
pub(crate) fn decode_journaled(bytes: &[u8], seq: u64) -> Result<(u64, Change), StateError> {
    super::change::unjournaled(bytes).map_err(|e| StateError::Undecodable {
        what: format!("journal record {seq}"),
        problem: e.to_string(),
    })
}

/// A record's change, or why it does not decode.
pub(crate) fn decode(bytes: &[u8], what: &str, position: u64) -> Result<Change, StateError> {
    Change::decode(bytes).map_err(|e| StateError::Undecodable {
        what: format!("{what} {position}"),
        problem: e.to_string(),
    })
}
