//! Segment files and reading them back for recovery.

use std::path::{Path, PathBuf};

use crate::JournalError;
use crate::frame::{self, Decoded};

/// File name suffix of a segment.
const SUFFIX: &str = ".journal";

/// The file name of the segment whose first record is `first`.
pub(crate) fn segment_name(first: u64) -> String {
    format!("{first:020}{SUFFIX}")
}

/// Every segment in `dir` as (first sequence number, path), ascending.
pub(crate) fn list(dir: &Path) -> Result<Vec<(u64, PathBuf)>, JournalError> {
    let entries = std::fs::read_dir(dir).map_err(|e| JournalError::io("list", dir, e))?;
    let mut segments = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| JournalError::io("list", dir, e))?;
        let name = entry.file_name();
        let Some(first) = name
            .to_str()
            .and_then(|n| n.strip_suffix(SUFFIX))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        segments.push((first, entry.path()));
    }
    segments.sort();
    Ok(segments)
}

/// One record read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Its sequence number.
    pub seq: u64,
    /// Its bytes.
    pub payload: Vec<u8>,
}

/// What recovery read from the journal.
#[derive(Debug, Default)]
pub struct Recovered {
    /// Every intact record after the asked sequence number, in order.
    pub records: Vec<Record>,
    /// The sequence number the next record takes.
    pub next_seq: u64,
    /// Bytes of a torn tail cut off (a write a crash interrupted: never
    /// acknowledged under the `always` policy).
    pub torn_bytes: u64,
}

/// Reads every record numbered above `after` from the segments in `dir`
/// (created if missing). A frame cut short or damaged at the end of the
/// journal is a write a crash interrupted: the file is cut there (and any
/// later empty segment removed). Damage followed by intact records is
/// [`JournalError::Corrupt`]: recovery must not skip acknowledged changes.
pub fn read_after(dir: &Path, after: u64) -> Result<Recovered, JournalError> {
    std::fs::create_dir_all(dir).map_err(|e| JournalError::io("create", dir, e))?;
    let segments = list(dir)?;
    let mut recovered = Recovered {
        next_seq: after + 1,
        ..Recovered::default()
    };
    let mut expected: Option<u64> = None;
    for (i, (first, path)) in segments.iter().enumerate() {
        // A segment ends where the next begins: skip those wholly covered.
        if segments
            .get(i + 1)
            .is_some_and(|(next, _)| *next <= after + 1)
        {
            continue;
        }
        if expected.is_none() && *first > after + 1 {
            return Err(JournalError::Corrupt {
                path: path.display().to_string(),
                offset: 0,
                problem: format!(
                    "records {} to {} are missing (the checkpoint ends at {after})",
                    after + 1,
                    first - 1
                ),
            });
        }
        let bytes = std::fs::read(path).map_err(|e| JournalError::io("read", path, e))?;
        let mut offset = 0usize;
        loop {
            match frame::decode(&bytes[offset..]) {
                Decoded::End => break,
                Decoded::Frame { seq, payload, len } => {
                    let due = expected.unwrap_or(*first);
                    if seq != due {
                        return Err(JournalError::Corrupt {
                            path: path.display().to_string(),
                            offset: offset as u64,
                            problem: format!("record {seq} where {due} was due"),
                        });
                    }
                    expected = Some(seq + 1);
                    if seq > after {
                        recovered.records.push(Record {
                            seq,
                            payload: payload.to_vec(),
                        });
                    }
                    offset += len;
                }
                Decoded::Bad(problem) => {
                    let later_has_data = segments[i + 1..]
                        .iter()
                        .any(|(_, p)| std::fs::metadata(p).map(|m| m.len() > 0).unwrap_or(true));
                    if later_has_data {
                        return Err(JournalError::Corrupt {
                            path: path.display().to_string(),
                            offset: offset as u64,
                            problem: problem.to_string(),
                        });
                    }
                    cut(path, offset as u64)?;
                    for (_, later) in &segments[i + 1..] {
                        std::fs::remove_file(later)
                            .map_err(|e| JournalError::io("remove", later, e))?;
                    }
                    recovered.torn_bytes = (bytes.len() - offset) as u64;
                    tracing::warn!(segment = %path.display(), offset, bytes = recovered.torn_bytes, problem, "state journal: torn tail cut (a write the crash interrupted)");
                    recovered.next_seq = expected.unwrap_or(*first).max(after + 1);
                    return Ok(recovered);
                }
            }
        }
    }
    recovered.next_seq = expected.unwrap_or(after + 1).max(after + 1);
    Ok(recovered)
}

/// Cuts `path` to `len` bytes, durably.
fn cut(path: &Path, len: u64) -> Result<(), JournalError> {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| JournalError::io("open", path, e))?;
    file.set_len(len)
        .map_err(|e| JournalError::io("truncate", path, e))?;
    file.sync_all()
        .map_err(|e| JournalError::io("sync", path, e))
}

/// Makes a directory entry change (a created, renamed or removed file)
/// durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), JournalError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| JournalError::io("sync", dir, e))
}

/// Every record numbered above `after` and at most `through`, from segments
/// the writer has sealed (read while it writes the active one: nothing is
/// cut, and any damage is [`JournalError::Corrupt`]).
pub fn read_sealed(dir: &Path, after: u64, through: u64) -> Result<Vec<Record>, JournalError> {
    let segments = list(dir)?;
    let mut records = Vec::new();
    for (i, (first, path)) in segments.iter().enumerate() {
        if *first > through {
            break;
        }
        if segments
            .get(i + 1)
            .is_some_and(|(next, _)| *next <= after + 1)
        {
            continue;
        }
        let bytes = std::fs::read(path).map_err(|e| JournalError::io("read", path, e))?;
        let mut offset = 0usize;
        loop {
            match frame::decode(&bytes[offset..]) {
                Decoded::End => break,
                Decoded::Frame { seq, payload, len } => {
                    if seq > through {
                        return Ok(records);
                    }
                    if seq > after {
                        records.push(Record {
                            seq,
                            payload: payload.to_vec(),
                        });
                    }
                    offset += len;
                }
                Decoded::Bad(problem) => {
                    return Err(JournalError::Corrupt {
                        path: path.display().to_string(),
                        offset: offset as u64,
                        problem: problem.to_string(),
                    });
                }
            }
        }
    }
    Ok(records)
}
