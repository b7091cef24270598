//! The malformed-CSV error.

use std::fmt;
use std::path::PathBuf;

/// A malformed CSV file: where and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvError {
    /// The file.
    pub path: PathBuf,
    /// 1-based line number of the offending record (1 for the header).
    pub line: u64,
    /// The column concerned, when the error is about one column.
    pub column: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for CsvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.path.display(), self.line)?;
        if let Some(column) = &self.column {
            write!(f, "column `{column}`: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for CsvError {}
