//! Why a journal operation failed.

/// Why a journal operation failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum JournalError {
    /// A file or directory operation failed.
    #[error("state journal: cannot {action} {path}: {message}")]
    Io {
        /// What was being done (open, write, sync, read, rename...).
        action: &'static str,
        /// The file or directory.
        path: String,
        /// The operating system's message.
        message: String,
    },
    /// A write or sync failed earlier: nothing more is accepted until a
    /// restart recovers what is on disk (the page cache's state after a
    /// failed sync is unknown, so continuing could acknowledge what is lost).
    #[error("state journal failed earlier and accepts no more writes until restart: {0}")]
    Failed(String),
    /// The journal was closed (the server is shutting down).
    #[error("the state journal is closed")]
    Closed,
    /// A record in the middle of the journal is damaged (not a torn tail).
    #[error("state journal {path} is damaged at byte {offset}: {problem}")]
    Corrupt {
        /// The segment or checkpoint file.
        path: String,
        /// Where the damage starts.
        offset: u64,
        /// What is wrong.
        problem: String,
    },
}

impl JournalError {
    pub(crate) fn io(action: &'static str, path: &std::path::Path, e: std::io::Error) -> Self {
        JournalError::Io {
            action,
            path: path.display().to_string(),
            message: e.to_string(),
        }
    }
}
