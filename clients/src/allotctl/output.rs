//! Printing responses as proto3 JSON on stdout.

use std::io::Write;

use allot_client::json::{to_json, to_json_line};

/// Writes one response as a pretty-printed JSON document.
pub fn print_one<M: prost::Message>(msg: &M, name: &str) -> anyhow::Result<()> {
    write_line(&to_json(msg, name)?)
}

/// Writes one response as a compact JSON document on its own line (JSON
/// Lines, for commands returning several responses).
pub fn print_line<M: prost::Message>(msg: &M, name: &str) -> anyhow::Result<()> {
    write_line(&to_json_line(msg, name)?)
}

/// Writes `text` and a newline to stdout and flushes, so that streamed
/// output (e.g. pages) appears as it comes.
pub fn write_line(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")?;
    out.flush()?;
    Ok(())
}
