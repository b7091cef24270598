//! Parsing of the bulk stock and stock delta CSV files.
//!
//! Files are parsed completely before anything is sent, so a malformed file
//! sends nothing. Errors name `path:line` and the column.

mod delta;
mod error;
mod reader;
mod stock;

pub use delta::{DELTA_COLUMNS, parse_delta_csv, parse_delta_kind, parse_delta_reader};
pub use error::CsvError;
pub use stock::{NodeRows, STOCK_COLUMNS, parse_stock_csv, parse_stock_reader};
