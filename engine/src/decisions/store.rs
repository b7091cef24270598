//! The redb file behind the decision log: records by decision key, events by
//! position, and the last assigned position.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redb::{Database, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use super::DecisionLogError;

/// Encoded decision records by decision key (the ULID as a number), LZ4
/// block-compressed with the uncompressed size prepended (records repeat
/// node and SKU codes and compress about 4x; the writer thread compresses,
/// so the request path does not pay for it).
const RECORDS: TableDefinition<'_, u128, &[u8]> = TableDefinition::new("records_lz4");
/// JSON-encoded [`StoredEvent`]s by position.
const EVENTS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("events");
/// Counters that outlive pruning.
const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");
/// The last position assigned (0 before the first event).
const LAST_POSITION: &str = "last_position";

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Entry {
    pub(super) record: Option<NewRecord>,
    pub(super) event: Option<NewEvent>,
}

/// The decision log's redb database.
pub struct DecisionStore {
    db: Database,
}

fn micros(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

impl DecisionStore {
    /// Opens (or creates) `<dir>/decisions.redb`, creating `dir` if needed.
    pub fn open(dir: &Path) -> Result<DecisionStore, DecisionLogError> {
        std::fs::create_dir_all(dir).map_err(|source| DecisionLogError::Dir {
            dir: dir.display().to_string(),
            source,
        })?;
        let db = Database::create(dir.join("decisions.redb"))?;
        let txn = db.begin_write()?;
        txn.open_table(RECORDS)?;
        txn.open_table(EVENTS)?;
        txn.open_table(META)?;
        txn.commit()?;
        Ok(DecisionStore { db })
    }

    /// Writes `batch` in one transaction and returns its events with the
    /// positions and time assigned.
    pub(super) fn write_batch(
        &self,
        batch: &[Entry],
        durability: Durability,
        now: SystemTime,
    ) -> Result<Vec<StoredEvent>, DecisionLogError> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(durability.redb());
        let mut events = Vec::new();
        {
            let mut records = txn.open_table(RECORDS)?;
            let mut stored = txn.open_table(EVENTS)?;
            let mut meta = txn.open_table(META)?;
            let mut position = meta.get(LAST_POSITION)?.map_or(0, |v| v.value());
            let at_us = micros(now);
            for entry in batch {
                if let Some(record) = &entry.record {
                    let compressed = lz4_flex::compress_prepend_size(&record.bytes);
                    records.insert(record.key, compressed.as_slice())?;
                }
                if let Some(event) = &entry.event {
                    position += 1;
                    let event = StoredEvent {
                        position,
                        at_us,
                        kind: event.kind,
                        decision_id: event.decision_id.clone(),
                        order_id: event.order_id.clone(),
                        reservation_id: event.reservation_id.clone(),
                        summary: event.summary.clone(),
                    };
                    let bytes =
                        serde_json::to_vec(&event).map_err(|e| DecisionLogError::Corrupt {
                            position,
                            problem: e.to_string(),
                        })?;
                    stored.insert(position, bytes.as_slice())?;
                    events.push(event);
                }
            }
            meta.insert(LAST_POSITION, position)?;
        }
        txn.commit()?;
        Ok(events)
    }

    /// The encoded record with this key, if retained.
    pub fn record(&self, key: u128) -> Result<Option<Vec<u8>>, DecisionLogError> {
        let txn = self.db.begin_read()?;
        let records = txn.open_table(RECORDS)?;
        let Some(stored) = records.get(key)? else {
            return Ok(None);
        };
        lz4_flex::decompress_size_prepended(stored.value())
            .map(Some)
            .map_err(|e| DecisionLogError::CorruptRecord {
                key,
                problem: e.to_string(),
            })
    }

    /// Up to `limit` retained events with a position greater than `after`,
    /// in position order.
    pub fn events_after(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, DecisionLogError> {
        let txn = self.db.begin_read()?;
        let events = txn.open_table(EVENTS)?;
        let mut out = Vec::new();
        for item in events.range(after.saturating_add(1)..)? {
            if out.len() >= limit {
                break;
            }
            let (position, bytes) = item?;
            let position = position.value();
            let event: StoredEvent =
                serde_json::from_slice(bytes.value()).map_err(|e| DecisionLogError::Corrupt {
                    position,
                    problem: e.to_string(),
                })?;
            out.push(event);
        }
        Ok(out)
    }

    /// The oldest retained and the latest assigned positions.
    pub fn bounds(&self) -> Result<Bounds, DecisionLogError> {
        let txn = self.db.begin_read()?;
        let events = txn.open_table(EVENTS)?;
        let meta = txn.open_table(META)?;
        let latest = meta.get(LAST_POSITION)?.map_or(0, |v| v.value());
        let oldest = events.first()?.map(|(k, _)| k.value());
        Ok(Bounds { oldest, latest })
    }

    /// Removes records whose decision was made before `cutoff` (by the
    /// ULID's time) and events committed before it. Returns (records,
    /// events) removed. The last assigned position is kept.
    pub fn prune(&self, cutoff: SystemTime) -> Result<(u64, u64), DecisionLogError> {
        let cutoff_ms = cutoff
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let first_kept = u128::from(ulid::Ulid::from_parts(cutoff_ms, 0));
        let cutoff_us = micros(cutoff);
        let txn = self.db.begin_write()?;
        let (mut records_removed, mut events_removed) = (0, 0);
        {
            let mut records = txn.open_table(RECORDS)?;
            records.retain_in(..first_kept, |_, _| {
                records_removed += 1;
                false
            })?;
            let mut events = txn.open_table(EVENTS)?;
            // Events are appended with the commit time, so the old ones are a
            // prefix (up to clock steps backwards, which only delay pruning).
            let mut last_old = None;
            for item in events.iter()? {
                let (position, bytes) = item?;
                let old = serde_json::from_slice::<StoredEvent>(bytes.value())
                    .map_or(true, |e| e.at_us < cutoff_us);
                if !old {
                    break;
                }
                last_old = Some(position.value());
            }
            if let Some(last) = last_old {
                events.retain_in(..=last, |_, _| {
                    events_removed += 1;
                    false
                })?;
            }
        }
        txn.commit()?;
        Ok((records_removed, events_removed))
    }
}
