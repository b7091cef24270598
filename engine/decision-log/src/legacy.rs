//! The layout of decision logs written before records and events were
//! stored by batch (a row per record and per event), and its one-time
//! conversion, so an upgrade keeps every record, event and position.

use redb::{ReadableTable, TableDefinition, TableHandle, WriteTransaction};

use super::DecisionLogError;
use super::store::{NewRecord, StoredEvent, put_events, put_records};

/// Records by decision key, each LZ4-compressed with its size prepended.
pub(super) const RECORDS: TableDefinition<'_, u128, &[u8]> = TableDefinition::new("records_lz4");
/// JSON-encoded events by position.
pub(super) const EVENTS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("events");

/// Rows per converted batch.
const CHUNK: usize = 512;

/// Moves the rows of the old tables, if `txn`'s file has them, into record
/// and event batches, and deletes the old tables. The last assigned
/// position is kept as it was.
pub(super) fn convert(txn: &WriteTransaction) -> Result<(), DecisionLogError> {
    let names: Vec<String> = txn.list_tables()?.map(|t| t.name().to_string()).collect();
    if names.iter().any(|n| n == RECORDS.name()) {
        convert_records(txn)?;
        txn.delete_table(RECORDS)?;
        tracing::info!("decision log records converted to batches");
    }
    if names.iter().any(|n| n == EVENTS.name()) {
        convert_events(txn)?;
        txn.delete_table(EVENTS)?;
        tracing::info!("decision log events converted to batches");
    }
    Ok(())
}

fn convert_records(txn: &WriteTransaction) -> Result<(), DecisionLogError> {
    let old = txn.open_table(RECORDS)?;
    let mut chunk = Vec::with_capacity(CHUNK);
    for row in old.iter()? {
        let (key, stored) = row?;
        let key = key.value();
        let bytes = lz4_flex::decompress_size_prepended(stored.value()).map_err(|e| {
            DecisionLogError::CorruptRecord {
                key,
                problem: e.to_string(),
            }
        })?;
        chunk.push(NewRecord { key, bytes });
        if chunk.len() == CHUNK {
            put_records(txn, &chunk.iter().collect::<Vec<_>>())?;
            chunk.clear();
        }
    }
    put_records(txn, &chunk.iter().collect::<Vec<_>>())
}

fn convert_events(txn: &WriteTransaction) -> Result<(), DecisionLogError> {
    let old = txn.open_table(EVENTS)?;
    let mut chunk: Vec<StoredEvent> = Vec::with_capacity(CHUNK);
    for row in old.iter()? {
        let (position, bytes) = row?;
        let position = position.value();
        let event: StoredEvent =
            serde_json::from_slice(bytes.value()).map_err(|e| DecisionLogError::Corrupt {
                position,
                problem: e.to_string(),
            })?;
        // A batch holds contiguous positions: a gap starts a new one.
        let contiguous = chunk.last().is_none_or(|l| l.position + 1 == position);
        if chunk.len() == CHUNK || !contiguous {
            put_events(txn, &chunk)?;
            chunk.clear();
        }
        chunk.push(event);
    }
    put_events(txn, &chunk)
}
