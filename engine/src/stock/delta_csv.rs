//! Reading delta rows from CSV (the format `allotctl` sends).
//!
//! Header `node,sku,sequence,kind,quantity,protected` in any order;
//! `protected` is optional (absent column or empty cell = leave as is).
//! A kind other than `adjust`/`set` is not a parse error: the row gets
//! `kind: None` and is quarantined when applied.

use std::io::Read;

use csv::ByteRecord;

use super::csv::{field, int, next_record, read_header, reader_for, text};
use super::delta::{DeltaKind, DeltaRow};
use super::error::StockError;

const DELTA_COLUMNS: [&str; 6] = ["node", "sku", "sequence", "kind", "quantity", "protected"];
const DELTA_REQUIRED: usize = 5;

/// Parses a delta CSV; errors name `source:line` and the field.
pub fn read_delta_csv<R: Read>(reader: R, source: &str) -> Result<Vec<DeltaRow>, StockError> {
    let mut csv = reader_for(reader);
    let cols = read_header(&mut csv, source, &DELTA_COLUMNS, DELTA_REQUIRED)?;
    let mut record = ByteRecord::new();
    let mut rows = Vec::new();
    while let Some(line) = next_record(&mut csv, &mut record, source, cols.width)? {
        let at = || format!("{source}:{line}");
        let sequence = text(field(&record, cols.index[2]), "sequence", &at)?;
        let sequence = sequence
            .parse::<u64>()
            .map_err(|_| StockError::InvalidRow {
                at: at(),
                field: "sequence",
                problem: format!("expected a non-negative whole number, got {sequence:?}"),
            })?;
        let protected_cell = field(&record, cols.index[5]);
        rows.push(DeltaRow {
            node: text(field(&record, cols.index[0]), "node", &at)?.to_string(),
            sku: text(field(&record, cols.index[1]), "sku", &at)?.to_string(),
            sequence,
            kind: DeltaKind::parse(text(field(&record, cols.index[3]), "kind", &at)?),
            quantity: int(field(&record, cols.index[4]), "quantity", true, &at)?,
            protected: if protected_cell.is_empty() {
                None
            } else {
                Some(int(protected_cell, "protected", true, &at)?)
            },
        });
    }
    Ok(rows)
}
