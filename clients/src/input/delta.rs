//! The stock delta CSV: `node,sku,sequence,kind,quantity,protected`.

use std::io::Read;
use std::path::Path;

use allot_proto::v1::{DeltaKind, StockDelta};
use serde::Deserialize;

use super::error::CsvError;
use super::reader::{Columns, read_records};
use crate::error::ClientError;

/// Columns of the stock delta CSV. `protected` is optional; an absent column
/// or an empty value means "leave protected unchanged".
pub const DELTA_COLUMNS: &[&str] = &["node", "sku", "sequence", "kind", "quantity", "protected"];

const COLUMNS: Columns = Columns {
    required: &["node", "sku", "sequence", "kind", "quantity"],
    optional: &["protected"],
};

/// One row of the stock delta CSV.
#[derive(Debug, Deserialize)]
struct DeltaRow {
    node: String,
    sku: String,
    sequence: u64,
    kind: String,
    quantity: i64,
    protected: Option<i64>,
}

/// Maps a `kind` cell: `adjust` or `set` (any case); anything else is
/// [`DeltaKind::Unspecified`], which the server quarantines.
pub fn parse_delta_kind(text: &str) -> DeltaKind {
    if text.eq_ignore_ascii_case("adjust") {
        DeltaKind::Adjust
    } else if text.eq_ignore_ascii_case("set") {
        DeltaKind::Set
    } else {
        DeltaKind::Unspecified
    }
}

/// Reads a stock delta CSV file into deltas, in file order. Node and SKU
/// codes and quantities are not validated (the server quarantines bad rows).
pub fn parse_delta_csv(path: &Path) -> Result<Vec<StockDelta>, ClientError> {
    let file = std::fs::File::open(path).map_err(|source| ClientError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(parse_delta_reader(path, std::io::BufReader::new(file))?)
}

/// Like [`parse_delta_csv`], reading from `input`; `path` is only used in
/// error messages.
pub fn parse_delta_reader(path: &Path, input: impl Read) -> Result<Vec<StockDelta>, CsvError> {
    Ok(read_records::<DeltaRow>(path, input, &COLUMNS)?
        .into_iter()
        .map(|(_, row)| StockDelta {
            node: row.node,
            sku: row.sku,
            sequence: row.sequence,
            kind: parse_delta_kind(&row.kind) as i32,
            quantity: row.quantity,
            protected: row.protected,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<StockDelta>, CsvError> {
        parse_delta_reader(Path::new("d.csv"), text.as_bytes())
    }

    #[test]
    fn parses_kinds_and_optional_protected() {
        let text = "node,sku,sequence,kind,quantity,protected\n\
                    N1,S1,1,adjust,-3,\n\
                    N1,S2,2,SET,10,4\n\
                    N1,S3,3,Set,0,\n\
                    N1,S4,4,remove,1,\n\
                    N1,S5,5,,1,\n";
        let d = parse(text).unwrap();
        assert_eq!(d.len(), 5);
        assert_eq!(
            (d[0].kind(), d[0].quantity, d[0].protected),
            (DeltaKind::Adjust, -3, None)
        );
        assert_eq!(
            (d[1].kind(), d[1].quantity, d[1].protected),
            (DeltaKind::Set, 10, Some(4))
        );
        assert_eq!(d[2].kind(), DeltaKind::Set);
        assert_eq!(d[3].kind, DeltaKind::Unspecified as i32);
        assert_eq!(d[4].kind, DeltaKind::Unspecified as i32);
        assert_eq!(d[4].sequence, 5);
    }

    #[test]
    fn column_order_is_free_and_protected_optional() {
        let d = parse("quantity,kind,sequence,sku,node\n7,adjust,9,S,N\n").unwrap();
        assert_eq!(
            d,
            vec![StockDelta {
                node: "N".into(),
                sku: "S".into(),
                sequence: 9,
                kind: DeltaKind::Adjust as i32,
                quantity: 7,
                protected: None,
            }]
        );
    }

    #[test]
    fn bad_quantity_names_line_and_column() {
        let err =
            parse("node,sku,sequence,kind,quantity\nN,S,1,set,1\n\nN,S,2,set,ten\n").unwrap_err();
        assert_eq!((err.line, err.column.as_deref()), (4, Some("quantity")));
        assert!(
            err.to_string().starts_with("d.csv:4: column `quantity`:"),
            "{err}"
        );
    }

    #[test]
    fn negative_sequence_is_an_error() {
        let err = parse("node,sku,sequence,kind,quantity\nN,S,-1,set,1\n").unwrap_err();
        assert_eq!((err.line, err.column.as_deref()), (2, Some("sequence")));
    }

    #[test]
    fn missing_kind_column_is_an_error() {
        let err = parse("node,sku,sequence,quantity\nN,S,1,1\n").unwrap_err();
        assert_eq!((err.line, err.column.as_deref()), (1, Some("kind")));
    }
}
