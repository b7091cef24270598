//! The bounded queue in front of the store and the writer thread that drains
//! it in batches.

use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use super::store::Entry;
use super::{
    Bounds, DecisionLogError, DecisionStore, Durability, NewEvent, NewRecord, StoredEvent,
};

/// Called by the writer with the events of each committed batch, in position
/// order, after the commit. Must not block for long: the writer waits for it.
pub type Published = Box<dyn Fn(&[StoredEvent]) + Send + 'static>;

/// Told by the writer whether an entry's batch was committed (as durably as
/// the log's [`Durability`] says) or lost, with the error. Must not block.
pub type Committed = Box<dyn FnOnce(Result<(), String>) + Send + 'static>;

/// Set when an entry someone waits for is queued: the writer skips the rest
/// of its group-commit window.
type Urgent = Arc<(Mutex<bool>, Condvar)>;

/// How the decision log runs.
#[derive(Debug, Clone, PartialEq)]
pub struct LogConfig {
    /// Directory of `decisions.redb`.
    pub dir: PathBuf,
    /// Entries that may wait for the writer; beyond, submits fail with
    /// [`DecisionLogError::QueueFull`]. At least 1.
    pub queue_capacity: usize,
    /// Most entries written in one transaction. At least 1.
    pub max_batch: usize,
    /// Whether each batch is fsynced before the next.
    pub durability: Durability,
    /// Group commit: least time between the starts of two commits. An entry
    /// arriving after a quiet spell is committed at once; under load the
    /// writer gathers what arrives within this window into one transaction,
    /// so a commit (and its fsync) is shared by many entries. Zero commits
    /// whatever is queued as soon as the previous commit ends.
    pub commit_interval: Duration,
    /// Records and events older than this are pruned.
    pub retention: Duration,
    /// How often the writer prunes.
    pub prune_every: Duration,
}

/// The decision log: submit without blocking, read what was committed.
pub struct DecisionLog {
    sender: Mutex<Option<SyncSender<Entry>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    store: RwLock<Option<Arc<DecisionStore>>>,
    depth: Arc<AtomicUsize>,
    capacity: usize,
    /// Entries accepted into the queue so far.
    submitted: AtomicU64,
    /// Entries the writer has finished with (committed, or lost with a
    /// failed batch), with a condition variable to wait on.
    processed: Arc<(Mutex<u64>, Condvar)>,
    urgent: Urgent,
}

impl DecisionLog {
    /// Opens the store in `config.dir` and starts the writer thread, which
    /// hands every committed batch's events to `publish`.
    pub fn open(config: &LogConfig, publish: Published) -> Result<DecisionLog, DecisionLogError> {
        let store = Arc::new(DecisionStore::open(&config.dir)?);
        let capacity = config.queue_capacity.max(1);
        let (sender, receiver) = sync_channel(capacity);
        let depth = Arc::new(AtomicUsize::new(0));
        let processed = Arc::new((Mutex::new(0), Condvar::new()));
        let urgent: Urgent = Arc::new((Mutex::new(false), Condvar::new()));
        let mut writer = Writer {
            urgent: urgent.clone(),
            processed: processed.clone(),
            store: store.clone(),
            receiver,
            depth: depth.clone(),
            max_batch: config.max_batch.max(1),
            durability: config.durability,
            commit_interval: config.commit_interval,
            last_commit: None,
            retention: config.retention,
            prune_every: config.prune_every,
            publish,
            last_prune: Instant::now(),
        };
        // Prune once before serving, so nothing past retention is readable.
        writer.prune();
        let handle = std::thread::Builder::new()
            .name("decision-log".into())
            .spawn(move || writer.run())
            .map_err(DecisionLogError::Writer)?;
        Ok(DecisionLog {
            sender: Mutex::new(Some(sender)),
            writer: Mutex::new(Some(handle)),
            store: RwLock::new(Some(store)),
            depth,
            capacity,
            submitted: AtomicU64::new(0),
            processed,
            urgent,
        })
    }

    /// Queues a record and/or an event. Never blocks and never waits for
    /// disk: a full queue is [`DecisionLogError::QueueFull`], a closed log
    /// [`DecisionLogError::Closed`].
    pub fn submit(
        &self,
        record: Option<NewRecord>,
        event: Option<NewEvent>,
    ) -> Result<(), DecisionLogError> {
        self.enqueue(Entry {
            record,
            event,
            done: None,
            commit: None,
        })
    }

    /// Queues a record and/or an event as [`DecisionLog::submit`] does, with
    /// a commit record written in the same transaction (see
    /// [`DecisionLog::commits_after`]), and has the writer call `done` once
    /// its batch is committed (or lost). The writer commits it without
    /// waiting out its group-commit window: a caller waits for it.
    pub fn submit_then(
        &self,
        record: Option<NewRecord>,
        event: Option<NewEvent>,
        commit: Option<Vec<u8>>,
        done: Committed,
    ) -> Result<(), DecisionLogError> {
        self.enqueue(Entry {
            record,
            event,
            done: Some(done),
            commit,
        })?;
        let (flag, wake) = &*self.urgent;
        if let Ok(mut urgent) = flag.lock() {
            *urgent = true;
        }
        wake.notify_one();
        Ok(())
    }

    fn enqueue(&self, entry: Entry) -> Result<(), DecisionLogError> {
        let guard = self.sender.lock().map_err(|_| DecisionLogError::Closed)?;
        let sender = guard.as_ref().ok_or(DecisionLogError::Closed)?;
        self.depth.fetch_add(1, Ordering::Relaxed);
        match sender.try_send(entry) {
            Ok(()) => {
                self.submitted.fetch_add(1, Ordering::SeqCst);
                metrics::gauge!("allot_decisions_queue_depth")
                    .set(self.depth.load(Ordering::Relaxed) as f64);
                Ok(())
            }
            Err(e) => {
                self.depth.fetch_sub(1, Ordering::Relaxed);
                match e {
                    TrySendError::Full(_) => {
                        metrics::counter!("allot_decisions_shed_total").increment(1);
                        Err(DecisionLogError::QueueFull {
                            capacity: self.capacity,
                        })
                    }
                    TrySendError::Disconnected(_) => Err(DecisionLogError::Closed),
                }
            }
        }
    }

    /// Waits (at most `timeout`) until the writer has finished with every
    /// entry submitted before this call, so a reader sees what was queued
    /// before it asked. Returns false on timeout. Blocking.
    pub fn wait_committed(&self, timeout: Duration) -> bool {
        let target = self.submitted.load(Ordering::SeqCst);
        let (lock, ready) = &*self.processed;
        let Ok(guard) = lock.lock() else {
            return false;
        };
        match ready.wait_timeout_while(guard, timeout, |done| *done < target) {
            Ok((_, result)) => !result.timed_out(),
            Err(_) => false,
        }
    }

    /// Entries waiting for the writer.
    pub fn queue_depth(&self) -> usize {
        self.depth.load(Ordering::Relaxed)
    }

    fn store(&self) -> Result<Arc<DecisionStore>, DecisionLogError> {
        self.store
            .read()
            .map_err(|_| DecisionLogError::Closed)?
            .clone()
            .ok_or(DecisionLogError::Closed)
    }

    /// The committed record with this key; `None` when unknown or pruned.
    /// Blocking (reads the file).
    pub fn record(&self, key: u128) -> Result<Option<Vec<u8>>, DecisionLogError> {
        self.store()?.record(key)
    }

    /// The position of the last commit record committed: a commit whose
    /// caller was told it is durable is at or below it. 0 once closed.
    pub fn commits_through(&self) -> u64 {
        self.store().map_or(0, |s| s.commits_through())
    }

    /// Every commit record after position `after` (see
    /// [`DecisionLog::submit_then`]), in order. Blocking.
    pub fn commits_after(&self, after: u64) -> Result<Vec<(u64, Vec<u8>)>, DecisionLogError> {
        self.store()?.commits_after(after)
    }

    /// Removes the commit records up to position `through` (a checkpoint
    /// of the state holds them now). Blocking.
    pub fn remove_commits_through(&self, through: u64) -> Result<(), DecisionLogError> {
        self.store()?.remove_commits_through(through)
    }

    /// See [`DecisionStore::records_since`]. Blocking.
    pub fn records_since(
        &self,
        since_ms: u64,
        visit: impl FnMut(u128, &[u8]),
    ) -> Result<u64, DecisionLogError> {
        self.store()?.records_since(since_ms, visit)
    }

    /// Up to `limit` committed events after position `after`. Blocking.
    pub fn events_after(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, DecisionLogError> {
        self.store()?.events_after(after, limit)
    }

    /// The oldest retained and latest assigned positions. Blocking.
    pub fn bounds(&self) -> Result<Bounds, DecisionLogError> {
        self.store()?.bounds()
    }

    /// Prunes records and events older than `cutoff` now (the writer also
    /// does it periodically). Blocking.
    pub fn prune(&self, cutoff: SystemTime) -> Result<(u64, u64), DecisionLogError> {
        self.store()?.prune(cutoff)
    }

    /// Refuses new entries, waits until the writer has committed everything
    /// queued, and closes the file (so the same directory can be opened
    /// again). Idempotent. Blocking.
    pub fn close(&self) {
        if let Ok(mut sender) = self.sender.lock() {
            sender.take();
        }
        let handle = self.writer.lock().ok().and_then(|mut w| w.take());
        if let Some(handle) = handle
            && handle.join().is_err()
        {
            tracing::error!("the decision log writer panicked");
        }
        if let Ok(mut store) = self.store.write() {
            store.take();
        }
    }
}

impl Drop for DecisionLog {
    fn drop(&mut self) {
        self.close();
    }
}

struct Writer {
    store: Arc<DecisionStore>,
    receiver: Receiver<Entry>,
    depth: Arc<AtomicUsize>,
    max_batch: usize,
    durability: Durability,
    commit_interval: Duration,
    last_commit: Option<Instant>,
    retention: Duration,
    prune_every: Duration,
    publish: Published,
    last_prune: Instant,
    processed: Arc<(Mutex<u64>, Condvar)>,
    urgent: Urgent,
}

impl Writer {
    fn run(mut self) {
        let tick = self
            .prune_every
            .min(Duration::from_secs(60))
            .max(Duration::from_millis(10));
        loop {
            if self.last_prune.elapsed() >= self.prune_every {
                self.prune();
            }
            let first = match self.receiver.recv_timeout(tick) {
                Ok(entry) => entry,
                Err(RecvTimeoutError::Timeout) => continue,
                // Every sender is gone and the queue is empty: flushed.
                Err(RecvTimeoutError::Disconnected) => break,
            };
            let mut batch =
                Vec::with_capacity(self.depth.load(Ordering::Relaxed).clamp(1, self.max_batch));
            batch.push(first);
            // Let the window since the last commit pass (after a quiet spell
            // it is over), then take what queued meanwhile. Sleeping rather
            // than waiting on the queue entry by entry spares every
            // submitter a wake-up of this thread: under load that was an
            // eighth of the server's time. A full batch already waiting is
            // written at once.
            if let Some(end) = self.last_commit.map(|t| t + self.commit_interval) {
                let wait = end.saturating_duration_since(Instant::now());
                if !wait.is_zero() && self.depth.load(Ordering::Relaxed) < self.max_batch {
                    self.sleep_unless_urgent(wait, batch[0].done.is_some());
                }
            }
            while batch.len() < self.max_batch {
                match self.receiver.try_recv() {
                    Ok(entry) => batch.push(entry),
                    Err(_) => break,
                }
            }
            self.last_commit = Some(Instant::now());
            let entries = batch.len();
            let remaining = self.depth.fetch_sub(batch.len(), Ordering::Relaxed) - batch.len();
            metrics::gauge!("allot_decisions_queue_depth").set(remaining as f64);
            self.write(batch);
            let (lock, ready) = &*self.processed;
            if let Ok(mut done) = lock.lock() {
                *done += entries as u64;
            }
            ready.notify_all();
        }
        tracing::debug!("decision log writer flushed and stopped");
    }

    /// Sleeps `wait`, or less when an entry someone waits for is queued (or
    /// `urgent` already).
    fn sleep_unless_urgent(&self, wait: Duration, urgent: bool) {
        let (flag, wake) = &*self.urgent;
        let Ok(mut guard) = flag.lock() else {
            return;
        };
        if !urgent {
            let end = Instant::now() + wait;
            while !*guard {
                let left = end.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                guard = match wake.wait_timeout(guard, left) {
                    Ok((g, _)) => g,
                    Err(_) => return,
                };
            }
        }
        *guard = false;
    }

    fn write(&self, mut batch: Vec<Entry>) {
        let started = Instant::now();
        let entries = batch.len();
        let waiting: Vec<_> = batch.iter_mut().filter_map(|e| e.done.take()).collect();
        let result = self
            .store
            .write_batch(batch, self.durability, SystemTime::now());
        let told = result.as_ref().map(|_| ()).map_err(|e| e.to_string());
        for done in waiting {
            done(told.clone());
        }
        match result {
            Ok(events) => {
                metrics::histogram!("allot_decisions_write_seconds")
                    .record(started.elapsed().as_secs_f64());
                metrics::histogram!("allot_decisions_batch_size").record(entries as f64);
                if !events.is_empty() {
                    (self.publish)(&events);
                }
            }
            Err(error) => {
                metrics::counter!("allot_decisions_write_errors_total").increment(entries as u64);
                tracing::error!(%error, entries, "decision log batch lost");
            }
        }
    }

    fn prune(&mut self) {
        self.last_prune = Instant::now();
        let Some(cutoff) = SystemTime::now().checked_sub(self.retention) else {
            return;
        };
        match self.store.prune(cutoff) {
            Ok((records, events)) => {
                if records + events > 0 {
                    metrics::counter!("allot_decisions_pruned_total", "what" => "records")
                        .increment(records);
                    metrics::counter!("allot_decisions_pruned_total", "what" => "events")
                        .increment(events);
                    tracing::info!(records, events, "decision log pruned");
                }
            }
            Err(error) => tracing::warn!(%error, "decision log pruning failed"),
        }
    }
}
