//! Appending: the queue callers push records into, and the writer thread
//! that writes and syncs them in batches.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::JournalError;
use crate::frame;
use crate::segment::{self, segment_name, sync_dir};

/// When an appended record counts as durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncPolicy {
    /// After `fdatasync` returned for it: survives a crash of the process,
    /// the kernel or the machine. Group commit shares one sync among every
    /// record queued while the previous one ran.
    Always,
    /// After the write reached the operating system; synced at most this
    /// long after. Survives a crash of the process; a crash of the kernel or
    /// a power loss may lose what was acknowledged within the interval.
    Interval(Duration),
    /// After the write reached the operating system; never synced by allot
    /// (the kernel writes back when it likes, typically within 30 s).
    /// Survives a crash of the process only.
    Never,
}

/// How a journal runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalConfig {
    /// Directory of the segments (created if missing).
    pub dir: PathBuf,
    /// When a record counts as durable.
    pub sync: SyncPolicy,
    /// A segment is closed, and a new one begun, once it holds this many
    /// bytes.
    pub segment_bytes: u64,
}

/// The sequence number of an appended record: wait on it with
/// [`Journal::durable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ticket(pub u64);

/// How far the writer got, as published to waiters.
#[derive(Debug, Clone, Default)]
struct Progress {
    /// Every record up to this one is durable.
    durable: u64,
    /// Set once a write or sync failed.
    failed: Option<String>,
}

/// Records waiting for the writer.
struct Queue {
    /// Frames not yet written, in sequence order.
    frames: Vec<u8>,
    /// Records in `frames`.
    records: u64,
    /// The number the next record takes.
    next_seq: u64,
    closing: bool,
    failed: Option<String>,
}

struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// An open journal: append from any thread, wait for durability from any
/// task.
pub struct Journal {
    shared: Arc<Shared>,
    progress: watch::Receiver<Progress>,
    writer: Mutex<Option<JoinHandle<()>>>,
    /// First sequence number of the segment being written.
    active: Arc<Mutex<u64>>,
    dir: PathBuf,
}

impl Journal {
    /// Starts a new segment in `config.dir` whose first record will be
    /// `next_seq` (as [`crate::read_after`] returned it) and the writer
    /// thread.
    pub fn open(config: &JournalConfig, next_seq: u64) -> Result<Journal, JournalError> {
        std::fs::create_dir_all(&config.dir)
            .map_err(|e| JournalError::io("create", &config.dir, e))?;
        let file = create_segment(&config.dir, next_seq)?;
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                frames: Vec::new(),
                records: 0,
                next_seq,
                closing: false,
                failed: None,
            }),
            wake: Condvar::new(),
        });
        let (publish, progress) = watch::channel(Progress {
            durable: next_seq.saturating_sub(1),
            failed: None,
        });
        let active = Arc::new(Mutex::new(next_seq));
        let mut writer = Writer {
            shared: shared.clone(),
            publish,
            file,
            written: 0,
            dirty: false,
            last_sync: Instant::now(),
            config: config.clone(),
            active: active.clone(),
        };
        let handle = std::thread::Builder::new()
            .name("state-journal".into())
            .spawn(move || writer.run())
            .map_err(|e| JournalError::io("start the writer for", &config.dir, e))?;
        Ok(Journal {
            shared,
            progress,
            writer: Mutex::new(Some(handle)),
            active,
            dir: config.dir.clone(),
        })
    }

    /// Queues `payload` as the next record and returns its ticket. Never
    /// waits for disk. The record's place in the journal is fixed when this
    /// returns: call it while holding whatever orders the changes it records.
    pub fn append(&self, payload: &[u8]) -> Result<Ticket, JournalError> {
        let crc = frame::checksum(payload);
        let mut queue = self.shared.lock();
        if let Some(failed) = &queue.failed {
            return Err(JournalError::Failed(failed.clone()));
        }
        if queue.closing {
            return Err(JournalError::Closed);
        }
        let seq = queue.next_seq;
        queue.next_seq += 1;
        queue.records += 1;
        frame::encode(&mut queue.frames, seq, payload, crc);
        drop(queue);
        self.shared.wake.notify_one();
        Ok(Ticket(seq))
    }

    /// Resolves once `ticket`'s record is durable (as the policy says), or
    /// with the error that stopped the writer before it was.
    pub async fn durable(&self, ticket: Ticket) -> Result<(), JournalError> {
        let mut progress = self.progress.clone();
        let seen = progress
            .wait_for(|p| p.durable >= ticket.0 || p.failed.is_some())
            .await
            .map_err(|_| JournalError::Closed)?;
        if seen.durable >= ticket.0 {
            Ok(())
        } else {
            Err(JournalError::Failed(
                seen.failed.clone().unwrap_or_default(),
            ))
        }
    }

    /// The ticket of the last record appended so far: once it is durable,
    /// so is every change made before this call.
    pub fn tail(&self) -> Ticket {
        Ticket(self.shared.lock().next_seq.saturating_sub(1))
    }

    /// The sequence number of the last durable record.
    pub fn durable_seq(&self) -> u64 {
        self.progress.borrow().durable
    }

    /// The failure that stopped the writer, if one did.
    pub fn failure(&self) -> Option<String> {
        self.progress.borrow().failed.clone()
    }

    /// Segments the writer has closed, as (first, last sequence number,
    /// path), ascending: what a checkpoint may cover.
    pub fn sealed_segments(&self) -> Result<Vec<(u64, u64, PathBuf)>, JournalError> {
        let active = *self.active.lock().unwrap_or_else(|p| p.into_inner());
        let segments = segment::list(&self.dir)?;
        Ok(segments
            .iter()
            .zip(segments.iter().skip(1))
            .filter(|((first, _), _)| *first < active)
            .map(|((first, path), (next, _))| (*first, next - 1, path.clone()))
            .collect())
    }

    /// Deletes the sealed segments whose every record is at or below `seq`
    /// (a checkpoint covers them). Returns how many.
    pub fn remove_through(&self, seq: u64) -> Result<usize, JournalError> {
        let mut removed = 0;
        for (_, last, path) in self.sealed_segments()? {
            if last <= seq {
                std::fs::remove_file(&path).map_err(|e| JournalError::io("remove", &path, e))?;
                removed += 1;
            }
        }
        if removed > 0 {
            sync_dir(&self.dir)?;
        }
        Ok(removed)
    }

    /// Refuses new records, writes and syncs every queued one, and stops the
    /// writer. Idempotent.
    pub fn close(&self) {
        self.shared.lock().closing = true;
        self.shared.wake.notify_all();
        let handle = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        self.close();
    }
}

fn create_segment(dir: &Path, first: u64) -> Result<File, JournalError> {
    let path = dir.join(segment_name(first));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(&path)
        .map_err(|e| JournalError::io("create", &path, e))?;
    sync_dir(dir)?;
    Ok(file)
}

/// The writer thread's state.
struct Writer {
    shared: Arc<Shared>,
    publish: watch::Sender<Progress>,
    file: File,
    /// Bytes in the active segment.
    written: u64,
    /// Written since the last sync.
    dirty: bool,
    last_sync: Instant,
    config: JournalConfig,
    active: Arc<Mutex<u64>>,
}

impl Writer {
    fn run(&mut self) {
        loop {
            let Some((frames, records, last)) = self.next_batch() else {
                let _ = self.sync();
                return;
            };
            if let Err(e) = self.write(&frames, records, last) {
                tracing::error!(error = %e, "state journal write failed: commits are refused until restart");
                self.fail(e.to_string());
                return;
            }
        }
    }

    /// Waits for queued records (syncing on the interval meanwhile); `None`
    /// once closing with nothing left.
    fn next_batch(&mut self) -> Option<(Vec<u8>, u64, u64)> {
        let mut queue = self.shared.lock();
        loop {
            if !queue.frames.is_empty() {
                let frames = std::mem::take(&mut queue.frames);
                let records = std::mem::take(&mut queue.records);
                return Some((frames, records, queue.next_seq - 1));
            }
            if queue.closing {
                return None;
            }
            match self.config.sync {
                SyncPolicy::Interval(every) if self.dirty => {
                    let due = every.saturating_sub(self.last_sync.elapsed());
                    if due.is_zero() {
                        drop(queue);
                        if let Err(e) = self.sync() {
                            self.fail(e.to_string());
                            return None;
                        }
                        queue = self.shared.lock();
                        continue;
                    }
                    queue = self
                        .shared
                        .wake
                        .wait_timeout(queue, due)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
                _ => {
                    queue = self
                        .shared
                        .wake
                        .wait(queue)
                        .unwrap_or_else(|p| p.into_inner());
                }
            }
        }
    }

    fn write(&mut self, frames: &[u8], records: u64, last: u64) -> Result<(), JournalError> {
        let path = self.config.dir.join(segment_name(self.active_first()));
        self.file
            .write_all(frames)
            .map_err(|e| JournalError::io("write", &path, e))?;
        self.written += frames.len() as u64;
        self.dirty = true;
        metrics::counter!("allot_journal_bytes_total").increment(frames.len() as u64);
        metrics::histogram!("allot_journal_batch_records").record(records as f64);
        match self.config.sync {
            SyncPolicy::Always => self.sync()?,
            SyncPolicy::Interval(every) if self.last_sync.elapsed() >= every => self.sync()?,
            SyncPolicy::Interval(_) | SyncPolicy::Never => {}
        }
        if self.written >= self.config.segment_bytes {
            self.rotate(last + 1)?;
        }
        self.publish.send_modify(|p| p.durable = last);
        Ok(())
    }

    fn active_first(&self) -> u64 {
        *self.active.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn sync(&mut self) -> Result<(), JournalError> {
        if !self.dirty {
            return Ok(());
        }
        let started = Instant::now();
        self.file.sync_data().map_err(|e| {
            JournalError::io(
                "sync",
                &self.config.dir.join(segment_name(self.active_first())),
                e,
            )
        })?;
        metrics::histogram!("allot_journal_sync_seconds").record(started.elapsed().as_secs_f64());
        self.dirty = false;
        self.last_sync = Instant::now();
        Ok(())
    }

    /// Closes the active segment (synced, whatever the policy: a sealed
    /// segment is complete on disk) and begins one at `first`.
    fn rotate(&mut self, first: u64) -> Result<(), JournalError> {
        self.dirty = true;
        self.sync()?;
        self.file = create_segment(&self.config.dir, first)?;
        *self.active.lock().unwrap_or_else(|p| p.into_inner()) = first;
        self.written = 0;
        Ok(())
    }

    fn fail(&mut self, message: String) {
        self.shared.lock().failed = Some(message.clone());
        self.publish.send_modify(|p| p.failed = Some(message));
        metrics::counter!("allot_journal_failures_total").increment(1);
    }
}
