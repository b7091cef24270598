//! A throwaway NATS server with JetStream.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use rustix::process::{Pid, Signal};
use tempfile::TempDir;

use crate::{find_program, free_port, log_says_address_in_use, log_tail};

/// How long a start waits for the server to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long [`Nats::stop`] waits for the server to exit after SIGTERM before
/// it kills it.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(25);
/// How many ports a start tries when the one it picked was taken meanwhile.
const PORT_TRIES: usize = 3;

/// A NATS server of its own with JetStream on: `nats-server -js` listening
/// on a free port of 127.0.0.1, storing JetStream's files in a temporary
/// directory. The directory holds `jetstream/` (the store) and `nats.log`
/// (the server's output).
///
/// The binary is `nats-server` from PATH, else /usr/sbin or /usr/bin
/// (Debian's `nats-server` package). Dropping the value kills the server and
/// removes the directory.
pub struct Nats {
    /// The temporary directory; `None` only while dropping.
    dir: Option<TempDir>,
    /// Its path (kept apart so that it stays readable while dropping).
    root: PathBuf,
    program: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl Nats {
    /// Starts a server on a free port with an empty store in a new temporary
    /// directory, and returns once it accepts connections and greets a
    /// client as a NATS server.
    ///
    /// Fails when nats-server is not installed, or when it exits or does not
    /// answer within a minute (quoting the end of `nats.log`).
    pub fn start() -> anyhow::Result<Nats> {
        let program = find_program("nats-server", &["/usr/sbin", "/usr/bin"]).ok_or_else(|| {
            anyhow!("nats-server is not installed (not on PATH nor in /usr/sbin); scripts/bootstrap installs it")
        })?;
        let dir = tempfile::Builder::new()
            .prefix("allot-nats-")
            .tempdir()
            .context("creating the temporary directory for NATS")?;
        let root = dir.path().to_path_buf();
        let mut nats = Nats {
            dir: Some(dir),
            root,
            program,
            port: 0,
            child: None,
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            nats.port = free_port().context("finding a free port")?;
            match nats.spawn_and_wait() {
                Ok(()) => return Ok(nats),
                Err(_) if attempt < PORT_TRIES && log_says_address_in_use(&nats.log_path()) => {}
                Err(err) => return Err(err),
            }
        }
    }

    /// The URL clients connect to: `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The port the server listens on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The process id of the server; `None` while stopped.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The temporary directory (the store is in `jetstream/`, the log is
    /// `nats.log`).
    pub fn dir(&self) -> &Path {
        &self.root
    }

    /// The server's log.
    pub fn log_path(&self) -> PathBuf {
        self.root.join("nats.log")
    }

    /// Stops the server: SIGTERM, which closes the connections and the
    /// store cleanly, then waits for it to exit (killing it if it has not
    /// after ten seconds). The store stays, for [`start_again`]. Does
    /// nothing when it is stopped already.
    ///
    /// [`start_again`]: Nats::start_again
    pub fn stop(&mut self) -> anyhow::Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        if let Some(pid) = i32::try_from(child.id()).ok().and_then(Pid::from_raw) {
            // It may have exited already; the wait below tells.
            let _ = rustix::process::kill_process(pid, Signal::TERM);
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            if child
                .try_wait()
                .context("waiting for nats-server")?
                .is_some()
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                child.kill().context("killing nats-server")?;
                child.wait().context("waiting for nats-server")?;
                return Ok(());
            }
            thread::sleep(POLL);
        }
    }

    /// Kills the server with SIGKILL, as in a crash, and waits for it to
    /// exit. The store stays, for [`start_again`]. Does nothing when it is
    /// stopped already.
    ///
    /// [`start_again`]: Nats::start_again
    pub fn kill(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            // An error here means it has exited already; wait reaps it.
            let _ = child.kill();
            child.wait().context("waiting for nats-server")?;
        }
        Ok(())
    }

    /// Starts the server again on the same port and store after [`stop`] or
    /// [`kill`], and returns once it accepts connections. Fails when it is
    /// running, or when the port was taken meanwhile.
    ///
    /// [`stop`]: Nats::stop
    /// [`kill`]: Nats::kill
    pub fn start_again(&mut self) -> anyhow::Result<()> {
        if let Some(child) = self.child.as_mut()
            && child
                .try_wait()
                .context("waiting for nats-server")?
                .is_none()
        {
            bail!("nats-server on port {} is already running", self.port);
        }
        self.child = None;
        self.spawn_and_wait()
    }

    /// Starts nats-server on `self.port` and waits until it greets a client.
    fn spawn_and_wait(&mut self) -> anyhow::Result<()> {
        let log = self.log_path();
        let child = Command::new(&self.program)
            .args(["-js", "-a", "127.0.0.1", "-p", &self.port.to_string()])
            .arg("-sd")
            .arg(&self.root)
            .args(["-n", "allot-throwaway"])
            .current_dir(&self.root)
            .stdin(Stdio::null())
            .stdout(append_to(&log)?)
            .stderr(append_to(&log)?)
            .spawn()
            .with_context(|| format!("running {}", self.program.display()))?;
        let child = self.child.insert(child);
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = child.try_wait().context("waiting for nats-server")? {
                self.child = None;
                bail!(
                    "nats-server exited on start ({status}) on 127.0.0.1:{}; the end of {}:\n{}",
                    self.port,
                    log.display(),
                    log_tail(&log)
                );
            }
            if greets(addr) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                let _ = self.kill();
                bail!(
                    "nats-server did not accept connections on 127.0.0.1:{} within {START_TIMEOUT:?}; the end of {}:\n{}",
                    self.port,
                    log.display(),
                    log_tail(&log)
                );
            }
            thread::sleep(POLL);
        }
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.kill();
        if let Some(dir) = self.dir.take() {
            let _ = dir.close();
        }
    }
}

impl std::fmt::Debug for Nats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nats")
            .field("dir", &self.root)
            .field("port", &self.port)
            .field("pid", &self.pid())
            .finish()
    }
}

/// Whether a NATS server answers at `addr`: it accepts a connection and
/// sends its `INFO` line first (JetStream is set up before the server
/// listens for clients).
fn greets(addr: SocketAddr) -> bool {
    let Ok(stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    if stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .is_err()
    {
        return false;
    }
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).is_ok() && line.starts_with("INFO ")
}

/// A handle appending to the log, for the server's stdout or stderr.
fn append_to(log: &Path) -> anyhow::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("opening {}", log.display()))
}
