//! The redb file behind the decision log. A commit writes one value for all
//! its records and one for all its events, plus an index row per
//! millisecond its records were decided in: with a B-tree insert per record
//! and per event instead, the writer took 13% of a 2-core box under promise
//! load.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redb::{Database, ReadableTable, TableDefinition, WriteTransaction};
use serde::{Deserialize, Serialize};

use super::{DecisionLogError, batch, legacy};

/// The records of each commit by batch number, in [`batch`]'s format (LZ4
/// over the batch; the writer thread compresses, so the request path does
/// not pay for it).
const RECORD_BATCHES: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("record_batches");
/// Where a record is: one row (ULID millisecond, batch number) for every
/// millisecond a batch holds records of. A lookup reads the batches of its
/// key's millisecond.
const RECORD_INDEX: TableDefinition<'_, (u64, u64), ()> = TableDefinition::new("record_index");
/// The events of each commit, a JSON array of [`StoredEvent`] in position
/// order, by the first one's position. A commit's positions are contiguous
/// and follow the previous commit's.
const EVENT_BATCHES: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("event_batches");
/// Counters that outlive pruning.
pub(super) const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");
/// The last position assigned (0 before the first event).
const LAST_POSITION: &str = "last_position";
/// The last record batch number assigned (0 before the first).
const LAST_BATCH: &str = "last_batch";

/// When a committed batch is on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Durability {
    /// Every batch is fsynced before its commit returns: an acknowledged
    /// record survives a crash of the process or the machine.
    #[default]
    Immediate,
    /// Batches are written without waiting for fsync; a machine crash (not a
    /// process crash) can lose the last batches.
    Eventual,
}

impl Durability {
    fn redb(self) -> redb::Durability {
        match self {
            Durability::Immediate => redb::Durability::Immediate,
            Durability::Eventual => redb::Durability::Eventual,
        }
    }
}

/// A record to store: its key and its encoded bytes (opaque to the engine).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRecord {
    /// The decision key ([`super::decision_key`]).
    pub key: u128,
    /// The encoded record.
    pub bytes: Vec<u8>,
}

/// An event to append; its position and time are assigned at commit.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewEvent {
    /// The caller's event kind code (opaque to the engine).
    pub kind: i32,
    /// The decision the event is about.
    pub decision_id: String,
    /// The order id; empty when none.
    pub order_id: String,
    /// The reservation id; empty when none.
    pub reservation_id: String,
    /// One line for humans, without personal data.
    pub summary: String,
    /// Who made the change (the name of the caller's token); empty when
    /// unknown or allot's own doing.
    pub caller: String,
}

/// An event as stored: with its position and commit time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredEvent {
    /// Position in the feed, strictly increasing from 1.
    pub position: u64,
    /// Commit time, microseconds since the Unix epoch.
    pub at_us: u64,
    /// The caller's event kind code.
    pub kind: i32,
    /// The decision the event is about.
    pub decision_id: String,
    /// The order id; empty when none.
    pub order_id: String,
    /// The reservation id; empty when none.
    pub reservation_id: String,
    /// One line for humans.
    pub summary: String,
    /// Who made the change; empty when unknown (events stored before
    /// callers were recorded read back with it empty).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub caller: String,
}

impl StoredEvent {
    /// Commit time.
    pub fn at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_micros(self.at_us)
    }
}

/// The positions a reader can resume from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// The oldest retained event's position; `None` when no event is retained.
    pub oldest: Option<u64>,
    /// The last position ever assigned; 0 before the first event.
    pub latest: u64,
}

/// One queued entry: a record, an event, or both.
pub(super) struct Entry {
    pub(super) record: Option<NewRecord>,
    pub(super) event: Option<NewEvent>,
    /// Told once the entry's batch is committed (or lost).
    pub(super) done: Option<crate::Committed>,
    /// A commit record stored in the same transaction (see `commits.rs`).
    pub(super) commit: Option<Vec<u8>>,
}

/// The decision log's redb database.
pub struct DecisionStore {
    db: Database,
    /// The position of the last commit record committed.
    pub(super) last_commit: std::sync::atomic::AtomicU64,
}

fn micros(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// Stores `records` as the next record batch of `txn`, with its index rows.
pub(super) fn put_records(
    txn: &WriteTransaction,
    records: &[&NewRecord],
) -> Result<(), DecisionLogError> {
    if records.is_empty() {
        return Ok(());
    }
    let mut meta = txn.open_table(META)?;
    let number = meta.get(LAST_BATCH)?.map_or(0, |v| v.value()) + 1;
    txn.open_table(RECORD_BATCHES)?
        .insert(number, batch::encode(records.iter().copied()).as_slice())?;
    let milliseconds: BTreeSet<u64> = records.iter().map(|r| batch::millisecond(r.key)).collect();
    let mut index = txn.open_table(RECORD_INDEX)?;
    for ms in milliseconds {
        index.insert((ms, number), ())?;
    }
    meta.insert(LAST_BATCH, number)?;
    Ok(())
}

/// Stores `events` (contiguous positions, in order) as one event batch.
pub(super) fn put_events(
    txn: &WriteTransaction,
    events: &[StoredEvent],
) -> Result<(), DecisionLogError> {
    let Some(first) = events.first() else {
        return Ok(());
    };
    let bytes = serde_json::to_vec(events).map_err(|e| DecisionLogError::Corrupt {
        position: first.position,
        problem: e.to_string(),
    })?;
    txn.open_table(EVENT_BATCHES)?
        .insert(first.position, bytes.as_slice())?;
    Ok(())
}

fn decode_events(first: u64, bytes: &[u8]) -> Result<Vec<StoredEvent>, DecisionLogError> {
    serde_json::from_slice(bytes).map_err(|e| DecisionLogError::Corrupt {
        position: first,
        problem: e.to_string(),
    })
}

/// How long [`DecisionStore::open`] waits for the file to be let go.
const OPEN_WAIT: Duration = Duration::from_secs(5);

/// Opens the database at `path`, waiting up to [`OPEN_WAIT`] while it is
/// open elsewhere: a log closing in this process (a server restarted in
/// place) lets go of the file only when its last read, on another thread,
/// ends. Another process holding it still fails, after the wait.
fn open_when_free(path: &Path) -> Result<Database, redb::DatabaseError> {
    let waited = std::time::Instant::now();
    loop {
        match Database::create(path) {
            Err(redb::DatabaseError::DatabaseAlreadyOpen) if waited.elapsed() < OPEN_WAIT => {
                std::thread::sleep(Duration::from_millis(20));
            }
            opened => return opened,
        }
    }
}

impl DecisionStore {
    pub(super) fn db(&self) -> &Database {
        &self.db
    }

    /// Opens (or creates) `<dir>/decisions.redb`, creating `dir` if needed.
    /// A file written by an earlier allot, with a row per record and per
    /// event, is converted to batches once, keeping every record, event
    /// and position.
    pub fn open(dir: &Path) -> Result<DecisionStore, DecisionLogError> {
        std::fs::create_dir_all(dir).map_err(|source| DecisionLogError::Dir {
            dir: dir.display().to_string(),
            source,
        })?;
        let db = open_when_free(&dir.join("decisions.redb"))?;
        let txn = db.begin_write()?;
        txn.open_table(RECORD_BATCHES)?;
        txn.open_table(RECORD_INDEX)?;
        txn.open_table(EVENT_BATCHES)?;
        txn.open_table(META)?;
        super::commits::create(&txn)?;
        legacy::convert(&txn)?;
        let last_commit = super::commits::last(&txn)?;
        txn.commit()?;
        Ok(DecisionStore {
            db,
            last_commit: last_commit.into(),
        })
    }

    /// Writes `batch` in one transaction and returns its events with the
    /// positions and time assigned.
    pub(super) fn write_batch(
        &self,
        batch: Vec<Entry>,
        durability: Durability,
        now: SystemTime,
    ) -> Result<Vec<StoredEvent>, DecisionLogError> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(durability.redb());
        let records: Vec<&NewRecord> = batch.iter().filter_map(|e| e.record.as_ref()).collect();
        put_records(&txn, &records)?;
        drop(records);
        let commits: Vec<&[u8]> = batch.iter().filter_map(|e| e.commit.as_deref()).collect();
        let last_commit = super::commits::put(&txn, &commits)?;
        drop(commits);
        let mut position = txn
            .open_table(META)?
            .get(LAST_POSITION)?
            .map_or(0, |v| v.value());
        let at_us = micros(now);
        let events: Vec<StoredEvent> = batch
            .into_iter()
            .filter_map(|entry| entry.event)
            .map(|event| {
                position += 1;
                StoredEvent {
                    position,
                    at_us,
                    kind: event.kind,
                    decision_id: event.decision_id,
                    order_id: event.order_id,
                    reservation_id: event.reservation_id,
                    summary: event.summary,
                    caller: event.caller,
                }
            })
            .collect();
        put_events(&txn, &events)?;
        txn.open_table(META)?.insert(LAST_POSITION, position)?;
        txn.commit()?;
        self.last_commit
            .store(last_commit, std::sync::atomic::Ordering::Release);
        Ok(events)
    }

    /// The encoded record with this key, if retained (the last written,
    /// should a key be recorded twice).
    pub fn record(&self, key: u128) -> Result<Option<Vec<u8>>, DecisionLogError> {
        let txn = self.db.begin_read()?;
        let index = txn.open_table(RECORD_INDEX)?;
        let batches = txn.open_table(RECORD_BATCHES)?;
        let ms = batch::millisecond(key);
        let mut numbers = Vec::new();
        for row in index.range((ms, 0)..=(ms, u64::MAX))? {
            numbers.push(row?.0.value().1);
        }
        for number in numbers.into_iter().rev() {
            let Some(stored) = batches.get(number)? else {
                continue;
            };
            let records = batch::decode(stored.value())
                .map_err(|problem| DecisionLogError::CorruptRecord { key, problem })?;
            if let Some(record) = records.into_iter().rev().find(|r| r.key == key) {
                return Ok(Some(record.bytes));
            }
        }
        Ok(None)
    }

    /// Every retained record decided at or after millisecond `since_ms` (by
    /// its ULID), in commit order, each batch decoded once: `visit` gets the
    /// key and the bytes. Returns how many were visited.
    pub fn records_since(
        &self,
        since_ms: u64,
        mut visit: impl FnMut(u128, &[u8]),
    ) -> Result<u64, DecisionLogError> {
        let txn = self.db.begin_read()?;
        let index = txn.open_table(RECORD_INDEX)?;
        let batches = txn.open_table(RECORD_BATCHES)?;
        let mut numbers = BTreeSet::new();
        for row in index.range((since_ms, 0)..)? {
            numbers.insert(row?.0.value().1);
        }
        let first = u128::from(ulid::Ulid::from_parts(since_ms, 0));
        let mut visited = 0;
        for number in numbers {
            let Some(stored) = batches.get(number)? else {
                continue;
            };
            let records = batch::decode(stored.value()).map_err(|problem| {
                DecisionLogError::CorruptBatch {
                    batch: number,
                    problem,
                }
            })?;
            for record in records.iter().filter(|r| r.key >= first) {
                visit(record.key, &record.bytes);
                visited += 1;
            }
        }
        Ok(visited)
    }

    /// Up to `limit` retained events with a position greater than `after`,
    /// in position order.
    pub fn events_after(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, DecisionLogError> {
        let txn = self.db.begin_read()?;
        let batches = txn.open_table(EVENT_BATCHES)?;
        let wanted = after.saturating_add(1);
        // The batch holding `wanted` starts at or before it.
        let from = match batches.range(..=wanted)?.next_back() {
            Some(row) => row?.0.value(),
            None => 0,
        };
        let mut out = Vec::new();
        for row in batches.range(from..)? {
            let (first, bytes) = row?;
            for event in decode_events(first.value(), bytes.value())? {
                if event.position <= after {
                    continue;
                }
                if out.len() >= limit {
                    return Ok(out);
                }
                out.push(event);
            }
        }
        Ok(out)
    }

    /// The oldest retained and the latest assigned positions.
    pub fn bounds(&self) -> Result<Bounds, DecisionLogError> {
        let txn = self.db.begin_read()?;
        let batches = txn.open_table(EVENT_BATCHES)?;
        let meta = txn.open_table(META)?;
        let latest = meta.get(LAST_POSITION)?.map_or(0, |v| v.value());
        let oldest = batches.first()?.map(|(k, _)| k.value());
        Ok(Bounds { oldest, latest })
    }

    /// Removes records whose decision was made before `cutoff` (by the
    /// ULID's time) and events committed before it. Returns (records,
    /// events) removed, as stored (a key recorded twice counts twice). The
    /// last assigned position is kept.
    pub fn prune(&self, cutoff: SystemTime) -> Result<(u64, u64), DecisionLogError> {
        let cutoff_ms = cutoff
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let first_kept = u128::from(ulid::Ulid::from_parts(cutoff_ms, 0));
        let txn = self.db.begin_write()?;
        let records = prune_records(&txn, cutoff_ms, first_kept)?;
        let events = prune_events(&txn, micros(cutoff))?;
        txn.commit()?;
        Ok((records, events))
    }

    /// Rows in the record index and record batches (for tests of the
    /// layout).
    #[cfg(test)]
    pub(super) fn record_rows(&self) -> Result<(u64, u64), DecisionLogError> {
        use redb::ReadableTableMetadata as _;
        let txn = self.db.begin_read()?;
        Ok((
            txn.open_table(RECORD_INDEX)?.len()?,
            txn.open_table(RECORD_BATCHES)?.len()?,
        ))
    }
}

/// Drops the records keyed before `first_kept` (the first key of
/// millisecond `cutoff_ms`): a batch left empty goes, one with newer
/// records too is rewritten without the old ones. Returns how many went.
fn prune_records(
    txn: &WriteTransaction,
    cutoff_ms: u64,
    first_kept: u128,
) -> Result<u64, DecisionLogError> {
    let mut touched = BTreeSet::new();
    txn.open_table(RECORD_INDEX)?
        .retain_in(..(cutoff_ms, 0), |(_, number), ()| {
            touched.insert(number);
            false
        })?;
    let mut batches = txn.open_table(RECORD_BATCHES)?;
    let mut removed = 0;
    for number in touched {
        let Some(records) = batches
            .get(number)?
            .map(|stored| batch::decode(stored.value()))
        else {
            continue;
        };
        let records = records.map_err(|problem| DecisionLogError::CorruptBatch {
            batch: number,
            problem,
        })?;
        let total = records.len();
        let kept: Vec<&NewRecord> = records.iter().filter(|r| r.key >= first_kept).collect();
        removed += (total - kept.len()) as u64;
        if kept.is_empty() {
            batches.remove(number)?;
        } else if kept.len() < total {
            batches.insert(number, batch::encode(kept).as_slice())?;
        }
    }
    Ok(removed)
}

/// Drops the event batches, oldest first, whose every event was committed
/// before `cutoff_us`. Returns how many events went.
fn prune_events(txn: &WriteTransaction, cutoff_us: u64) -> Result<u64, DecisionLogError> {
    let mut batches = txn.open_table(EVENT_BATCHES)?;
    // Events are appended with the commit time, so the old ones are a
    // prefix (up to clock steps backwards, which only delay pruning).
    let (mut last_old, mut removed) = (None, 0);
    for row in batches.iter()? {
        let (first, bytes) = row?;
        let events = decode_events(first.value(), bytes.value())?;
        if events.iter().any(|e| e.at_us >= cutoff_us) {
            break;
        }
        removed += events.len() as u64;
        last_old = Some(first.value());
    }
    if let Some(last) = last_old {
        batches.retain_in(..=last, |_, _| false)?;
    }
    Ok(removed)
}
