//! Commit records: opaque state records (a committing call's hold and
//! idempotency key) written in the same transaction as the call's decision
//! record, so one commit and one fsync make both durable, or neither. The
//! state layer reads them back at recovery and removes them once a
//! checkpoint of its own covers them.

use redb::{ReadableTable, TableDefinition, WriteTransaction};

use super::store::{DecisionStore, META};
use crate::DecisionLogError;

/// Commit records by position, strictly increasing from 1 across restarts.
const COMMITS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("commit_records");
/// The last commit position assigned.
const LAST_COMMIT: &str = "last_commit";

/// Stores `records` after the last position; returns the last position.
pub(super) fn put(txn: &WriteTransaction, records: &[&[u8]]) -> Result<u64, DecisionLogError> {
    let mut meta = txn.open_table(META)?;
    let mut position = meta.get(LAST_COMMIT)?.map_or(0, |v| v.value());
    if records.is_empty() {
        return Ok(position);
    }
    let mut table = txn.open_table(COMMITS)?;
    for bytes in records {
        position += 1;
        table.insert(position, *bytes)?;
    }
    meta.insert(LAST_COMMIT, position)?;
    Ok(position)
}

/// The last position assigned.
pub(super) fn last(txn: &WriteTransaction) -> Result<u64, DecisionLogError> {
    Ok(txn
        .open_table(META)?
        .get(LAST_COMMIT)?
        .map_or(0, |v| v.value()))
}

/// Creates the table in a new file.
pub(super) fn create(txn: &WriteTransaction) -> Result<(), DecisionLogError> {
    txn.open_table(COMMITS)?;
    Ok(())
}

impl DecisionStore {
    /// The position of the last commit record committed (0 before any).
    pub fn commits_through(&self) -> u64 {
        self.last_commit.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Every commit record after position `after`, in order.
    pub fn commits_after(&self, after: u64) -> Result<Vec<(u64, Vec<u8>)>, DecisionLogError> {
        let txn = self.db().begin_read()?;
        let table = txn.open_table(COMMITS)?;
        let mut out = Vec::new();
        for row in table.range(after.saturating_add(1)..)? {
            let (position, bytes) = row?;
            out.push((position.value(), bytes.value().to_vec()));
        }
        Ok(out)
    }

    /// Removes the commit records up to position `through`.
    pub fn remove_commits_through(&self, through: u64) -> Result<(), DecisionLogError> {
        let txn = self.db().begin_write()?;
        txn.open_table(COMMITS)?
            .retain_in(..=through, |_, _| false)?;
        txn.commit()?;
        Ok(())
    }
}
