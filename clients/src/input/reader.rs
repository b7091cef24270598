//! Header checking and record deserialization shared by the CSV formats.

use std::io::Read;
use std::path::Path;

use csv::{ReaderBuilder, StringRecord, Trim};
use serde::de::DeserializeOwned;

use super::error::CsvError;

/// The columns a CSV format accepts.
pub(crate) struct Columns {
    /// Columns that must be in the header.
    pub required: &'static [&'static str],
    /// Columns that may be in the header.
    pub optional: &'static [&'static str],
}

/// Builds an error at `line` of `path`.
pub(crate) fn csv_error(
    path: &Path,
    line: u64,
    column: Option<&str>,
    message: impl Into<String>,
) -> CsvError {
    CsvError {
        path: path.to_path_buf(),
        line,
        column: column.map(str::to_string),
        message: message.into(),
    }
}

/// Reads every record of `input` as a `T`, with its line number. Fields are
/// trimmed, header names are matched case-insensitively, blank lines are
/// skipped (also lines of blanks only), and every other record must have
/// exactly as many fields as the header.
pub(crate) fn read_records<T: DeserializeOwned>(
    path: &Path,
    mut input: impl Read,
    columns: &Columns,
) -> Result<Vec<(u64, T)>, CsvError> {
    // The csv crate's line numbers do not count skipped blank lines, so lines
    // are computed from byte offsets into the whole input.
    let mut data = Vec::new();
    input
        .read_to_end(&mut data)
        .map_err(|e| csv_error(path, 1, None, format!("read error: {e}")))?;
    let mut lines = LineCounter::new(&data);

    let mut rdr = ReaderBuilder::new()
        .trim(Trim::All)
        .flexible(true)
        .from_reader(data.as_slice());
    let raw = rdr
        .headers()
        .map_err(|e| from_csv(path, &e, None, &mut lines))?
        .clone();
    let header_line = lines.line_at(raw.position().map_or(0, |p| p.byte()));
    let headers = check_headers(path, header_line, &raw, columns)?;
    rdr.set_headers(headers.clone());

    let mut out = Vec::new();
    for result in rdr.records() {
        let record = result.map_err(|e| from_csv(path, &e, Some(&headers), &mut lines))?;
        let line = lines.line_at(record.position().map_or(0, |p| p.byte()));
        if record.iter().all(str::is_empty) && record.len() <= 1 {
            continue; // a line of blanks only
        }
        if record.len() != headers.len() {
            return Err(csv_error(
                path,
                line,
                None,
                format!(
                    "wrong number of columns: found {}, expected {} ({})",
                    record.len(),
                    headers.len(),
                    headers.iter().collect::<Vec<_>>().join(",")
                ),
            ));
        }
        let row = record
            .deserialize::<T>(Some(&headers))
            .map_err(|e| deserialize_error(path, line, &e, &headers, &record))?;
        out.push((line, row));
    }
    Ok(out)
}

/// Maps byte offsets to 1-based line numbers; fast when offsets grow.
struct LineCounter<'a> {
    data: &'a [u8],
    byte: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(data: &'a [u8]) -> Self {
        LineCounter {
            data,
            byte: 0,
            line: 1,
        }
    }

    /// The line of the record reported at byte `offset`. The csv reader
    /// reports the offset before the blank lines it skipped, so line breaks
    /// right at `offset` are skipped first.
    fn line_at(&mut self, offset: u64) -> u64 {
        let mut offset = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.data.len());
        while offset < self.data.len() && matches!(self.data[offset], b'\r' | b'\n') {
            offset += 1;
        }
        if offset < self.byte {
            *self = LineCounter::new(self.data);
        }
        let newlines = self.data[self.byte..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.line += newlines as u64;
        self.byte = offset;
        self.line
    }
}

/// Normalizes the header (lower case, BOM removed) and checks it against
/// `columns`: no unknown, duplicate or missing column.
fn check_headers(
    path: &Path,
    line: u64,
    raw: &StringRecord,
    columns: &Columns,
) -> Result<StringRecord, CsvError> {
    let names: Vec<String> = raw
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_ascii_lowercase())
        .collect();
    if names.iter().all(String::is_empty) {
        return Err(csv_error(path, line, None, "missing header line"));
    }
    for (i, name) in names.iter().enumerate() {
        if !columns.required.contains(&name.as_str()) && !columns.optional.contains(&name.as_str())
        {
            let expected = [columns.required, columns.optional].concat().join(",");
            return Err(csv_error(
                path,
                line,
                Some(name),
                format!("unknown column (expected columns: {expected})"),
            ));
        }
        if names[..i].contains(name) {
            return Err(csv_error(path, line, Some(name), "duplicate column"));
        }
    }
    if let Some(missing) = columns
        .required
        .iter()
        .find(|c| !names.iter().any(|n| n == *c))
    {
        return Err(csv_error(
            path,
            line,
            Some(missing),
            "missing required column in header",
        ));
    }
    Ok(StringRecord::from(names))
}

/// Converts a reader error (bad UTF-8, I/O).
fn from_csv(
    path: &Path,
    err: &csv::Error,
    headers: Option<&StringRecord>,
    lines: &mut LineCounter<'_>,
) -> CsvError {
    let line = lines.line_at(err.position().map_or(0, |p| p.byte()));
    match err.kind() {
        csv::ErrorKind::Utf8 { err: utf8, .. } => {
            let column = headers
                .and_then(|h| h.get(utf8.field()))
                .map(str::to_string);
            csv_error(path, line, column.as_deref(), "invalid UTF-8")
        }
        _ => csv_error(path, line, None, err.to_string()),
    }
}

/// Converts a field deserialization error, naming the column and the value.
fn deserialize_error(
    path: &Path,
    line: u64,
    err: &csv::Error,
    headers: &StringRecord,
    record: &StringRecord,
) -> CsvError {
    let csv::ErrorKind::Deserialize { err: de, .. } = err.kind() else {
        return csv_error(path, line, None, err.to_string());
    };
    let field = de.field().and_then(|f| usize::try_from(f).ok());
    let column = field.and_then(|f| headers.get(f));
    let value = field.and_then(|f| record.get(f));
    let message = match (de.kind(), value) {
        (csv::DeserializeErrorKind::ParseInt(e), Some(v)) => {
            format!("expected an integer, got {v:?} ({e})")
        }
        (kind, _) => kind.to_string(),
    };
    csv_error(path, line, column, message)
}
