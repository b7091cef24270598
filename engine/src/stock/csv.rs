//! Bulk loads from CSV, and the header and field helpers shared with the
//! delta CSV reader.
//!
//! Format (see `docs/stock.md`): a required header naming the columns in any
//! order, `node,sku,on_hand` required, `reserved,protected` optional (absent
//! column or empty cell = 0); unknown columns are an error; blank lines are
//! ignored; every error names `source:line` and the field.

use std::io::{BufReader, Read};
use std::time::SystemTime;

use csv::ByteRecord;

use super::error::StockError;
use super::level::{NodeFreshness, StockLevel};
use super::lines::BlankLineFilter;
use super::metrics;
use super::snapshot::SortedLevels;
use super::store::{SequenceUpdate, StockStore, check_level};
use crate::network::{Network, NodeId, SkuId};

/// What a bulk load changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadSummary {
    /// Data rows read.
    pub rows: u64,
    /// New freshness of every node that appeared in the file, by node.
    pub nodes: Vec<NodeFreshness>,
}

const STOCK_COLUMNS: [&str; 5] = ["node", "sku", "on_hand", "reserved", "protected"];
const STOCK_REQUIRED: usize = 3;

/// One parsed row, kept with its line for duplicate reports.
struct ParsedRow {
    sku: SkuId,
    line: u32,
    level: StockLevel,
}

impl StockStore {
    /// Loads a bulk snapshot CSV.
    ///
    /// The whole file is parsed and validated first; on any error nothing
    /// changes and the error names `source:line` and the field. Then every
    /// node that appears in the file gets its snapshot replaced (version
    /// += 1, updated_at = `at`, sequence unchanged); nodes not in the file
    /// keep theirs. Each node swaps atomically; the nodes are swapped one
    /// after another.
    pub fn load_csv<R: Read>(
        &self,
        reader: R,
        source: &str,
        at: SystemTime,
    ) -> Result<LoadSummary, StockError> {
        let network = self.network();
        let (rows, buckets) = parse_stock(network, reader, source)?;
        let mut built = Vec::new();
        for (node, mut bucket) in buckets.into_iter().enumerate() {
            if bucket.is_empty() {
                continue;
            }
            bucket.sort_unstable_by_key(|r| (r.sku, r.line));
            if let Some(w) = bucket.windows(2).find(|w| w[0].sku == w[1].sku) {
                return Err(StockError::DuplicateSku {
                    at: format!("{source}:{}", w[1].line),
                    sku: network.sku(w[1].sku).code.clone(),
                });
            }
            let skus = bucket.iter().map(|r| r.sku).collect();
            let levels = bucket.iter().map(|r| r.level).collect();
            drop(bucket);
            built.push((NodeId(node as u32), SortedLevels::from_sorted(skus, levels)));
        }
        // Keeping the sequence never refuses a snapshot.
        let nodes: Vec<NodeFreshness> = built
            .into_iter()
            .filter_map(|(node, levels)| self.swap_in(node, levels, SequenceUpdate::Keep, at).ok())
            .collect();
        metrics::snapshot_changed(network, &nodes);
        tracing::info!(source, rows, nodes = nodes.len(), "stock snapshot loaded");
        Ok(LoadSummary { rows, nodes })
    }
}

/// Parses and validates a stock CSV into one bucket of rows per node.
fn parse_stock<R: Read>(
    network: &Network,
    reader: R,
    source: &str,
) -> Result<(u64, Vec<Vec<ParsedRow>>), StockError> {
    let mut csv = reader_for(reader);
    let cols = read_header(&mut csv, source, &STOCK_COLUMNS, STOCK_REQUIRED)?;
    let mut buckets: Vec<Vec<ParsedRow>> = (0..network.node_count()).map(|_| Vec::new()).collect();
    let mut record = ByteRecord::new();
    let mut rows = 0u64;
    let mut last_node: (Vec<u8>, NodeId) = (Vec::new(), NodeId(0));
    while let Some(line) = next_record(&mut csv, &mut record, source, cols.width)? {
        let at = || format!("{source}:{line}");
        let node_code = field(&record, cols.index[0]);
        let node = if !last_node.0.is_empty() && last_node.0 == node_code {
            last_node.1
        } else {
            let code = text(node_code, "node", &at)?;
            let id = network
                .node_id(code)
                .ok_or_else(|| StockError::InvalidRow {
                    at: at(),
                    field: "node",
                    problem: format!("unknown node {code:?}"),
                })?;
            last_node = (node_code.to_vec(), id);
            id
        };
        let sku_code = text(field(&record, cols.index[1]), "sku", &at)?;
        let sku = network
            .sku_id(sku_code)
            .ok_or_else(|| StockError::UnknownSku {
                at: at(),
                sku: sku_code.to_string(),
            })?;
        let level = StockLevel {
            on_hand: int(field(&record, cols.index[2]), "on_hand", true, &at)?,
            reserved: int(field(&record, cols.index[3]), "reserved", false, &at)?,
            protected: int(field(&record, cols.index[4]), "protected", false, &at)?,
        };
        check_level(&level).map_err(|(field, problem)| StockError::InvalidRow {
            at: at(),
            field,
            problem,
        })?;
        buckets[node.0 as usize].push(ParsedRow {
            sku,
            line: u32::try_from(line).unwrap_or(u32::MAX),
            level,
        });
        rows += 1;
    }
    Ok((rows, buckets))
}

/// The column layout found in a header.
pub(crate) struct Columns {
    /// For each known column (in the caller's order), its position, if present.
    pub(crate) index: Vec<Option<usize>>,
    /// Number of columns in the header.
    pub(crate) width: usize,
}

/// The CSV reader every stock file is read with.
pub(crate) type CsvReader<R> = csv::Reader<BlankLineFilter<BufReader<R>>>;

/// A CSV reader with the settings every stock file uses.
pub(crate) fn reader_for<R: Read>(reader: R) -> CsvReader<R> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(BlankLineFilter::new(BufReader::with_capacity(
            64 * 1024,
            reader,
        )))
}

/// The original line number of a record.
fn line_of<R: Read>(csv: &CsvReader<R>, record: &ByteRecord) -> u64 {
    csv.get_ref()
        .original_line(record.position().map_or(0, |p| p.line()))
}

/// Reads and checks the header: every name known, none twice, the first
/// `required` of `known` present.
pub(crate) fn read_header<R: Read>(
    csv: &mut CsvReader<R>,
    source: &str,
    known: &[&'static str],
    required: usize,
) -> Result<Columns, StockError> {
    let mut header = ByteRecord::new();
    let expected = known.join(",");
    let found = csv
        .read_byte_record(&mut header)
        .map_err(|e| csv_error(csv, e, source))?;
    if !found {
        let problem = format!("missing header; expected {expected}");
        return Err(StockError::Csv {
            at: format!("{source}:1"),
            problem,
        });
    }
    let line = line_of(csv, &header);
    let at = || format!("{source}:{line}");
    let mut index = vec![None; known.len()];
    for (pos, name) in header.iter().enumerate() {
        // A UTF-8 byte order mark before the first name is tolerated.
        let name = name
            .strip_prefix(b"\xEF\xBB\xBF".as_slice())
            .unwrap_or(name)
            .trim_ascii();
        let name = String::from_utf8_lossy(name);
        let Some(k) = known.iter().position(|k| name.eq_ignore_ascii_case(k)) else {
            return Err(StockError::Csv {
                at: at(),
                problem: format!(
                    "unknown column {name:?}; expected a header with columns {expected}"
                ),
            });
        };
        if index[k].replace(pos).is_some() {
            return Err(StockError::Csv {
                at: at(),
                problem: format!("column {name:?} appears twice"),
            });
        }
    }
    if let Some(k) = (0..required).find(|&k| index[k].is_none()) {
        return Err(StockError::Csv {
            at: at(),
            problem: format!(
                "missing required column {:?}; expected {expected}",
                known[k]
            ),
        });
    }
    Ok(Columns {
        index,
        width: header.len(),
    })
}

/// Reads the next non-blank record; returns its line number.
pub(crate) fn next_record<R: Read>(
    csv: &mut CsvReader<R>,
    record: &mut ByteRecord,
    source: &str,
    width: usize,
) -> Result<Option<u64>, StockError> {
    loop {
        if !csv
            .read_byte_record(record)
            .map_err(|e| csv_error(csv, e, source))?
        {
            return Ok(None);
        }
        if is_blank(record) {
            continue;
        }
        let line = line_of(csv, record);
        if record.len() != width {
            return Err(StockError::Csv {
                at: format!("{source}:{line}"),
                problem: format!(
                    "expected {width} fields like the header, found {}",
                    record.len()
                ),
            });
        }
        return Ok(Some(line));
    }
}

fn is_blank(record: &ByteRecord) -> bool {
    record.len() == 1 && record[0].trim_ascii().is_empty()
}

fn csv_error<R: Read>(csv: &CsvReader<R>, e: csv::Error, source: &str) -> StockError {
    let line = csv
        .get_ref()
        .original_line(e.position().map_or(0, |p| p.line()));
    let at = format!("{source}:{line}");
    match e.into_kind() {
        csv::ErrorKind::Io(error) => StockError::Io {
            at: source.to_string(),
            error,
        },
        other => StockError::Csv {
            at,
            problem: format!("malformed CSV: {other:?}"),
        },
    }
}

/// The trimmed bytes of column `col` (empty if the column is absent).
pub(crate) fn field(record: &ByteRecord, col: Option<usize>) -> &[u8] {
    col.map_or(b"".as_slice(), |c| record[c].trim_ascii())
}

/// The field as UTF-8 text.
pub(crate) fn text<'a>(
    bytes: &'a [u8],
    field: &'static str,
    at: &impl Fn() -> String,
) -> Result<&'a str, StockError> {
    std::str::from_utf8(bytes).map_err(|_| StockError::InvalidRow {
        at: at(),
        field,
        problem: "not valid UTF-8".to_string(),
    })
}

/// The field as an integer; empty is 0 unless `required`.
pub(crate) fn int(
    bytes: &[u8],
    field: &'static str,
    required: bool,
    at: &impl Fn() -> String,
) -> Result<i64, StockError> {
    if bytes.is_empty() {
        return if required {
            Err(StockError::InvalidRow {
                at: at(),
                field,
                problem: "required, found an empty cell".to_string(),
            })
        } else {
            Ok(0)
        };
    }
    let s = text(bytes, field, at)?;
    s.parse().map_err(|_| StockError::InvalidRow {
        at: at(),
        field,
        problem: format!("expected a whole number, got {s:?}"),
    })
}
