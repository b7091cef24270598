//! The bulk stock CSV: `node,sku,on_hand,reserved,protected`.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use allot_proto::v1::StockRecord;
use serde::Deserialize;

use super::error::CsvError;
use super::reader::{Columns, csv_error, read_records};
use crate::error::ClientError;

/// Columns of the bulk stock CSV. `reserved` and `protected` are optional;
/// an absent column or an empty value means 0.
pub const STOCK_COLUMNS: &[&str] = &["node", "sku", "on_hand", "reserved", "protected"];

const COLUMNS: Columns = Columns {
    required: &["node", "sku", "on_hand"],
    optional: &["reserved", "protected"],
};

/// One row of the bulk stock CSV.
#[derive(Debug, Deserialize)]
struct StockRow {
    node: String,
    sku: String,
    on_hand: i64,
    reserved: Option<i64>,
    protected: Option<i64>,
}

/// The rows of one node, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeRows {
    /// Node code.
    pub node: String,
    /// The node's rows, in file order.
    pub rows: Vec<StockRecord>,
}

/// Reads a bulk stock CSV file and groups its rows by node, nodes in order of
/// first appearance. Quantities are not range-checked (the server does).
pub fn parse_stock_csv(path: &Path) -> Result<Vec<NodeRows>, ClientError> {
    let file = std::fs::File::open(path).map_err(|source| ClientError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(parse_stock_reader(path, std::io::BufReader::new(file))?)
}

/// Like [`parse_stock_csv`], reading from `input`; `path` is only used in
/// error messages.
pub fn parse_stock_reader(path: &Path, input: impl Read) -> Result<Vec<NodeRows>, CsvError> {
    let mut groups: Vec<NodeRows> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (line, row) in read_records::<StockRow>(path, input, &COLUMNS)? {
        for (column, value) in [("node", &row.node), ("sku", &row.sku)] {
            if value.is_empty() {
                return Err(csv_error(path, line, Some(column), "must not be empty"));
            }
        }
        let record = StockRecord {
            sku: row.sku,
            on_hand: row.on_hand,
            reserved: row.reserved.unwrap_or(0),
            protected: row.protected.unwrap_or(0),
        };
        let i = *index.entry(row.node.clone()).or_insert_with(|| {
            groups.push(NodeRows {
                node: row.node,
                rows: Vec::new(),
            });
            groups.len() - 1
        });
        groups[i].rows.push(record);
    }
    Ok(groups)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<NodeRows>, CsvError> {
        parse_stock_reader(Path::new("stock.csv"), text.as_bytes())
    }

    fn rec(sku: &str, on_hand: i64, reserved: i64, protected: i64) -> StockRecord {
        StockRecord {
            sku: sku.into(),
            on_hand,
            reserved,
            protected,
        }
    }

    #[test]
    fn groups_by_node_in_file_order() {
        let text = "node,sku,on_hand,reserved,protected\n\
                    DC-B,S1,10,1,2\n\
                    DC-A,S1,5,0,0\n\
                    \n\
                    DC-B,S2,7,,\n";
        let groups = parse(text).unwrap();
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].node, "DC-B");
        assert_eq!(
            groups[0].rows,
            vec![rec("S1", 10, 1, 2), rec("S2", 7, 0, 0)]
        );
        assert_eq!(groups[1].node, "DC-A");
        assert_eq!(groups[1].rows, vec![rec("S1", 5, 0, 0)]);
    }

    #[test]
    fn optional_columns_may_be_absent_and_any_order() {
        let groups = parse("on_hand,SKU,node\n3,S1,N1\n").unwrap();
        assert_eq!(
            groups,
            vec![NodeRows {
                node: "N1".into(),
                rows: vec![rec("S1", 3, 0, 0)]
            }]
        );
        let groups = parse("protected, node ,sku,on_hand\n4,N1,S1,3\n   \n").unwrap();
        assert_eq!(groups[0].rows, vec![rec("S1", 3, 0, 4)]);
    }

    #[test]
    fn unknown_column_is_an_error() {
        let err = parse("node,sku,on_hand,colour\nN,S,1,red\n").unwrap_err();
        assert_eq!(err.line, 1);
        assert_eq!(err.column.as_deref(), Some("colour"));
        assert!(
            err.to_string()
                .starts_with("stock.csv:1: column `colour`: unknown column"),
            "{err}"
        );
    }

    #[test]
    fn missing_required_column_is_an_error() {
        let err = parse("node,sku,reserved\nN,S,1\n").unwrap_err();
        assert_eq!((err.line, err.column.as_deref()), (1, Some("on_hand")));
        let err = parse("").unwrap_err();
        assert!(err.message.contains("header"), "{err}");
    }

    #[test]
    fn non_integer_names_line_and_column() {
        let err = parse("node,sku,on_hand,reserved\nN,S,1,0\nN,T,1,x2\n").unwrap_err();
        assert_eq!(err.line, 3);
        assert_eq!(err.column.as_deref(), Some("reserved"));
        assert!(
            err.to_string().contains("stock.csv:3: column `reserved`"),
            "{err}"
        );
        assert!(err.message.contains("\"x2\""), "{err}");
    }

    #[test]
    fn wrong_column_count_names_line() {
        let err = parse("node,sku,on_hand\nN,S,1\nN,T\n").unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.message.contains("found 2, expected 3"), "{err}");
    }

    #[test]
    fn line_numbers_count_blank_lines_and_crlf() {
        let err = parse("node,sku,on_hand\r\n\r\nN,S,1\r\n\r\n\r\nN,T,x\r\n").unwrap_err();
        assert_eq!((err.line, err.column.as_deref()), (6, Some("on_hand")));
        let err = parse("\n\nnode,sku,on_hand,bogus\n").unwrap_err();
        assert_eq!((err.line, err.column.as_deref()), (3, Some("bogus")));
    }

    #[test]
    fn header_with_bom_and_upper_case() {
        let groups = parse("\u{feff}NODE,Sku,On_Hand\nN,S,2\n").unwrap();
        assert_eq!(groups[0].rows, vec![rec("S", 2, 0, 0)]);
    }

    #[test]
    fn empty_node_is_an_error() {
        let err = parse("node,sku,on_hand\n,S,1\n").unwrap_err();
        assert_eq!((err.line, err.column.as_deref()), (2, Some("node")));
    }
}
