//! Checkpoints: the whole state as of one sequence number, in one file
//! written atomically (a temporary file, synced, renamed over, the directory
//! synced), so a crash leaves the previous checkpoint or the new one, never
//! a mix.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::JournalError;
use crate::segment::sync_dir;

/// Leading bytes of a checkpoint file.
const MAGIC: &[u8; 8] = b"ALLOTCK1";
/// Magic, sequence number, CRC, length.
const HEADER: usize = 8 + 8 + 4 + 8;
const SUFFIX: &str = ".checkpoint";

/// The state as of a sequence number, as the service encoded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Every record up to this one is in the state.
    pub seq: u64,
    /// The encoded state.
    pub payload: Vec<u8>,
}

/// The checkpoint files of one directory; only the newest is kept.
#[derive(Debug, Clone)]
pub struct Checkpoints {
    dir: PathBuf,
}

impl Checkpoints {
    /// The checkpoints in `dir` (created if missing).
    pub fn new(dir: &Path) -> Result<Checkpoints, JournalError> {
        std::fs::create_dir_all(dir).map_err(|e| JournalError::io("create", dir, e))?;
        Ok(Checkpoints {
            dir: dir.to_path_buf(),
        })
    }

    fn list(&self) -> Result<Vec<(u64, PathBuf)>, JournalError> {
        let dir = &self.dir;
        let mut found = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| JournalError::io("list", dir, e))? {
            let entry = entry.map_err(|e| JournalError::io("list", dir, e))?;
            let name = entry.file_name();
            if let Some(seq) = name
                .to_str()
                .and_then(|n| n.strip_suffix(SUFFIX))
                .and_then(|n| n.parse::<u64>().ok())
            {
                found.push((seq, entry.path()));
            }
        }
        found.sort();
        Ok(found)
    }

    /// The newest checkpoint, or `None` in a fresh directory. A damaged one
    /// is [`JournalError::Corrupt`]: the journal it covered is gone.
    pub fn latest(&self) -> Result<Option<Checkpoint>, JournalError> {
        let Some((seq, path)) = self.list()?.pop() else {
            return Ok(None);
        };
        let bytes = std::fs::read(&path).map_err(|e| JournalError::io("read", &path, e))?;
        let corrupt = |problem: &str| JournalError::Corrupt {
            path: path.display().to_string(),
            offset: 0,
            problem: problem.to_string(),
        };
        if bytes.len() < HEADER || &bytes[..8] != MAGIC {
            return Err(corrupt("not a checkpoint file"));
        }
        let u64_at = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[at..at + 8]);
            u64::from_le_bytes(b)
        };
        let crc = u32::from_le_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
        let len = u64_at(20) as usize;
        if u64_at(8) != seq {
            return Err(corrupt("sequence number differs from the file name"));
        }
        let payload = bytes.get(HEADER..).filter(|p| p.len() == len);
        let Some(payload) = payload else {
            return Err(corrupt("length mismatch"));
        };
        if crc32fast::hash(payload) != crc {
            return Err(corrupt("checksum mismatch"));
        }
        Ok(Some(Checkpoint {
            seq,
            payload: payload.to_vec(),
        }))
    }

    /// Writes `checkpoint` durably and removes older ones.
    pub fn write(&self, checkpoint: &Checkpoint) -> Result<(), JournalError> {
        let name = format!("{:020}{SUFFIX}", checkpoint.seq);
        let path = self.dir.join(&name);
        let tmp = self.dir.join(format!("{name}.tmp"));
        let mut file =
            std::fs::File::create(&tmp).map_err(|e| JournalError::io("create", &tmp, e))?;
        let mut header = Vec::with_capacity(HEADER);
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&checkpoint.seq.to_le_bytes());
        header.extend_from_slice(&crc32fast::hash(&checkpoint.payload).to_le_bytes());
        header.extend_from_slice(&(checkpoint.payload.len() as u64).to_le_bytes());
        file.write_all(&header)
            .and_then(|()| file.write_all(&checkpoint.payload))
            .and_then(|()| file.sync_all())
            .map_err(|e| JournalError::io("write", &tmp, e))?;
        drop(file);
        std::fs::rename(&tmp, &path).map_err(|e| JournalError::io("rename", &tmp, e))?;
        sync_dir(&self.dir)?;
        for (seq, old) in self.list()? {
            if seq < checkpoint.seq {
                std::fs::remove_file(&old).map_err(|e| JournalError::io("remove", &old, e))?;
            }
        }
        Ok(())
    }
}
