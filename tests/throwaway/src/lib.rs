//! Throwaway services for tests and benchmarks: a real PostgreSQL server
//! ([`Postgres`]) and a real NATS server with JetStream ([`Nats`]), each
//! started from the Debian packages that `scripts/bootstrap` installs, in its
//! own temporary directory, on a free port of 127.0.0.1. Nothing here uses a
//! service that happens to be running on the machine.
//!
//! Both can be stopped and started again on the same directory and port (to
//! test what survives a restart), tell the process id of the server (to kill
//! it from outside), and write their output to a log file in their directory;
//! a failed start fails with the last lines of that log. Dropping one stops
//! the server and removes its directory.
//!
//! The calls block (they run and wait for processes). From async code call
//! them through `tokio::task::spawn_blocking` or `block_in_place` when the
//! runtime must keep running meanwhile, for example while a client
//! reconnects.

mod nats;
mod postgres;

pub use nats::Nats;
pub use postgres::Postgres;

use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};

/// A port of 127.0.0.1 that was free a moment ago: the system picks one for
/// a listener bound to port 0, and the listener is closed again before the
/// port is returned.
///
/// There is a small race: another process may take the port between this
/// call and the server binding it. The system hands out ports in turn, so
/// that is rare; [`Postgres::start`] and [`Nats::start`] try again on a new
/// port when their server reports the address in use.
pub fn free_port() -> std::io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

/// How many lines of a log a failed start quotes.
const TAIL_LINES: usize = 30;
/// How much of the end of a log is read to find those lines.
const TAIL_BYTES: u64 = 16 * 1024;

/// The last [`TAIL_LINES`] lines of the file at `path`, or a note saying why
/// there are none.
fn log_tail(path: &Path) -> String {
    let read = || -> std::io::Result<String> {
        let mut file = fs::File::open(path)?;
        let len = file.metadata()?.len();
        let start = len.saturating_sub(TAIL_BYTES);
        file.seek(SeekFrom::Start(start))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    };
    match read() {
        Ok(text) => {
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(TAIL_LINES)..];
            if tail.is_empty() {
                "(the log is empty)".to_owned()
            } else {
                tail.join("\n")
            }
        }
        Err(err) => format!("(no log: {err})"),
    }
}

/// Whether the log at `path` says a listener could not bind its address,
/// which after [`free_port`] means another process took the port first.
fn log_says_address_in_use(path: &Path) -> bool {
    log_tail(path)
        .to_ascii_lowercase()
        .contains("address already in use")
}

/// The first executable `name` on PATH or, failing that, in `extra_dirs`
/// (system directories such as /usr/sbin are on root's PATH, not always on a
/// user's).
fn find_program(name: &str, extra_dirs: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(extra_dirs.iter().map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

/// Whether `path` is a file with an execute bit.
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_free_port_can_be_bound() {
        let port = free_port().unwrap();
        assert_ne!(port, 0);
        TcpListener::bind((Ipv4Addr::LOCALHOST, port)).unwrap();
    }

    #[test]
    fn the_tail_keeps_the_last_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let text: String = (0..100).map(|i| format!("line {i}\n")).collect();
        fs::write(&path, text).unwrap();
        let tail = log_tail(&path);
        assert!(tail.starts_with("line 70\n"), "{tail}");
        assert!(tail.ends_with("line 99"), "{tail}");
        assert!(log_tail(&dir.path().join("missing")).starts_with("(no log: "));
        fs::write(&path, "").unwrap();
        assert_eq!(log_tail(&path), "(the log is empty)");
    }

    #[test]
    fn programs_are_found_on_path_or_in_the_extra_directories() {
        assert!(find_program("sh", &[]).is_some());
        assert!(find_program("no-such-program-here", &["/usr/sbin"]).is_none());
    }
}
