//! A throwaway PostgreSQL server.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, anyhow, bail};
use tempfile::TempDir;

use crate::{find_program, free_port, is_executable, log_says_address_in_use, log_tail};

/// Where Debian's postgresql packages put each version's server binaries.
const PG_LIB: &str = "/usr/lib/postgresql";
/// The system user the Debian package creates; the servers run as it when
/// the tests run as root.
const PG_USER: &str = "postgres";
/// The database every throwaway server has.
const DATABASE: &str = "allot";
/// How long `pg_ctl` waits for the server to start or stop, in seconds.
const WAIT_SECONDS: &str = "60";
/// How many ports a start tries when the one it picked was taken meanwhile.
const PORT_TRIES: usize = 3;

/// A PostgreSQL server of its own: a cluster made by `initdb` in a temporary
/// directory, listening on a free port of 127.0.0.1 (and a unix socket in
/// that directory), with trust authentication for every local connection
/// and a database `allot`. It syncs to disk as a production server does
/// (`fsync`, `synchronous_commit` and `full_page_writes` on), so tests of
/// what survives a crash mean something.
///
/// The binaries are those of the newest version under
/// `/usr/lib/postgresql/*/bin` (Debian's `postgresql` package). initdb and
/// postgres refuse to run as root: when this process is root they run as the
/// `postgres` system user (`runuser -u postgres`), who then owns the
/// temporary directory.
///
/// The directory holds `data/` (the cluster), `socket/` and `postgres.log`
/// (initdb's and the server's output). Dropping the value stops the server
/// at once and removes the directory.
pub struct Postgres {
    /// The temporary directory; `None` only while dropping.
    dir: Option<TempDir>,
    /// Its path (kept apart so that it stays readable while dropping).
    root: PathBuf,
    /// The directory of initdb, pg_ctl, postgres and psql.
    bin: PathBuf,
    port: u16,
    /// Whether the server binaries run as the `postgres` user.
    as_pg_user: bool,
    running: bool,
}

impl Postgres {
    /// Makes a new cluster in a temporary directory, starts its server on a
    /// free port and creates the database `allot`; returns once the server
    /// accepts connections.
    ///
    /// Fails when PostgreSQL is not installed, when initdb or the server
    /// fails (quoting the end of `postgres.log`), or when the database
    /// cannot be created.
    pub fn start() -> anyhow::Result<Postgres> {
        let bin = find_bin_dir()?;
        let as_pg_user = rustix::process::geteuid().is_root();
        let dir = tempfile::Builder::new()
            .prefix("allot-postgres-")
            .tempdir()
            .context("creating the temporary directory for PostgreSQL")?;
        let root = dir.path().to_path_buf();
        let mut pg = Postgres {
            dir: Some(dir),
            root,
            bin,
            port: 0,
            as_pg_user,
            running: false,
        };
        pg.init()?;
        pg.start_on_a_free_port()?;
        pg.create_database()?;
        Ok(pg)
    }

    /// The URL of the database `allot`:
    /// `postgres://postgres@127.0.0.1:PORT/allot` (trust authentication: no
    /// password).
    pub fn url(&self) -> String {
        format!("postgres://{PG_USER}@127.0.0.1:{}/{DATABASE}", self.port)
    }

    /// The TCP port the server listens on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The process id of the postmaster (the server's first process, which
    /// starts the others), from `postmaster.pid`; `None` while stopped.
    pub fn pid(&self) -> Option<u32> {
        if !self.running {
            return None;
        }
        let text = fs::read_to_string(self.data_dir().join("postmaster.pid")).ok()?;
        text.lines().next()?.trim().parse().ok()
    }

    /// The temporary directory (the cluster is in `data/`, the log is
    /// `postgres.log`).
    pub fn dir(&self) -> &Path {
        &self.root
    }

    /// The log of initdb and of the server.
    pub fn log_path(&self) -> PathBuf {
        self.root.join("postgres.log")
    }

    /// Stops the server with a fast shutdown (clients are disconnected, open
    /// transactions roll back, a shutdown checkpoint is written) and waits
    /// for it to exit. The data directory stays, for [`start_again`].
    ///
    /// [`start_again`]: Postgres::start_again
    pub fn stop(&mut self) -> anyhow::Result<()> {
        self.pg_ctl_stop("fast")
    }

    /// Stops the server with an immediate shutdown: every process quits at
    /// once without a checkpoint, as in a crash, and the next start recovers
    /// from the write-ahead log. The data directory stays, for
    /// [`start_again`].
    ///
    /// [`start_again`]: Postgres::start_again
    pub fn crash(&mut self) -> anyhow::Result<()> {
        self.pg_ctl_stop("immediate")
    }

    /// Starts the server again on the same data directory and port after
    /// [`stop`] or [`crash`] (or after the postmaster was killed from
    /// outside and its other processes have exited), and waits until it
    /// accepts connections. Fails when the port was taken meanwhile.
    ///
    /// [`stop`]: Postgres::stop
    /// [`crash`]: Postgres::crash
    pub fn start_again(&mut self) -> anyhow::Result<()> {
        if self.running && self.pid().is_some_and(process_exists) {
            bail!("PostgreSQL on port {} is already running", self.port);
        }
        self.running = false;
        self.pg_ctl_start()
    }

    /// Runs SQL in the database `allot` with `psql` over TCP and returns
    /// what it printed: rows one a line, columns separated by `|`, without
    /// headers. Fails with psql's error when a statement fails.
    pub fn psql(&self, sql: &str) -> anyhow::Result<String> {
        let output = Command::new(self.bin.join("psql"))
            .current_dir(&self.root)
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-U", PG_USER, "-d", DATABASE, "-c", sql])
            .stdin(Stdio::null())
            .output()
            .context("running psql")?;
        if !output.status.success() {
            bail!(
                "psql failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&output.stdout)
            .trim_end()
            .to_owned())
    }

    fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    fn socket_dir(&self) -> PathBuf {
        self.root.join("socket")
    }

    /// Runs initdb into `data/` and writes the server's settings.
    fn init(&mut self) -> anyhow::Result<()> {
        let log = self.log_path();
        File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        fs::create_dir(self.socket_dir()).context("creating the socket directory")?;
        if self.as_pg_user {
            let (uid, gid) = pg_user_ids()?;
            for path in [self.root.clone(), log.clone(), self.socket_dir()] {
                std::os::unix::fs::chown(&path, Some(uid), Some(gid))
                    .with_context(|| format!("giving {} to the {PG_USER} user", path.display()))?;
            }
        }
        let data = self.data_dir();
        let status = self
            .server_command("initdb")
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                PG_USER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
            ])
            .stdout(append_to(&log)?)
            .stderr(append_to(&log)?)
            .status()
            .context("running initdb")?;
        if !status.success() {
            bail!(
                "initdb failed ({status}); the end of {}:\n{}",
                log.display(),
                log_tail(&log)
            );
        }
        // Appended to postgresql.conf, so these settings win over initdb's;
        // the port comes later, per start attempt.
        let settings = format!(
            "\n# allot-throwaway\n\
             listen_addresses = '127.0.0.1'\n\
             unix_socket_directories = '{}'\n\
             fsync = on\n\
             synchronous_commit = on\n\
             full_page_writes = on\n\
             logging_collector = off\n",
            self.socket_dir().display()
        );
        let conf = data.join("postgresql.conf");
        OpenOptions::new()
            .append(true)
            .open(&conf)
            .and_then(|mut file| file.write_all(settings.as_bytes()))
            .with_context(|| format!("writing {}", conf.display()))?;
        Ok(())
    }

    /// Picks a free port, writes it to the configuration and starts the
    /// server; tries another port when the one picked was taken meanwhile.
    fn start_on_a_free_port(&mut self) -> anyhow::Result<()> {
        let conf = self.data_dir().join("postgresql.conf");
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.port = free_port().context("finding a free port")?;
            // The last setting in the file wins.
            OpenOptions::new()
                .append(true)
                .open(&conf)
                .and_then(|mut file| writeln!(file, "port = {}", self.port))
                .with_context(|| format!("writing {}", conf.display()))?;
            match self.pg_ctl_start() {
                Ok(()) => return Ok(()),
                Err(_) if attempt < PORT_TRIES && log_says_address_in_use(&self.log_path()) => {}
                Err(err) => return Err(err),
            }
        }
    }

    fn pg_ctl_start(&mut self) -> anyhow::Result<()> {
        let log = self.log_path();
        let status = self
            .server_command("pg_ctl")
            .arg("start")
            .arg("-D")
            .arg(self.data_dir())
            .arg("-l")
            .arg(&log)
            .args(["-w", "-t", WAIT_SECONDS])
            // pg_ctl's own messages go to the log too: a pipe would be held
            // open by the server, which inherits it.
            .stdout(append_to(&log)?)
            .stderr(append_to(&log)?)
            .status()
            .context("running pg_ctl start")?;
        if !status.success() {
            bail!(
                "PostgreSQL did not start on 127.0.0.1:{} (pg_ctl start: {status}); the end of {}:\n{}",
                self.port,
                log.display(),
                log_tail(&log)
            );
        }
        self.running = true;
        Ok(())
    }

    fn pg_ctl_stop(&mut self, mode: &str) -> anyhow::Result<()> {
        let log = self.log_path();
        let status = self
            .server_command("pg_ctl")
            .arg("stop")
            .arg("-D")
            .arg(self.data_dir())
            .args(["-m", mode, "-w", "-t", WAIT_SECONDS])
            .stdout(append_to(&log)?)
            .stderr(append_to(&log)?)
            .status()
            .context("running pg_ctl stop")?;
        if !status.success() {
            bail!(
                "PostgreSQL on 127.0.0.1:{} did not stop (pg_ctl stop -m {mode}: {status}); the end of {}:\n{}",
                self.port,
                log.display(),
                log_tail(&log)
            );
        }
        self.running = false;
        Ok(())
    }

    fn create_database(&self) -> anyhow::Result<()> {
        let output = Command::new(self.bin.join("psql"))
            .current_dir(&self.root)
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1"])
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-U", PG_USER, "-d", "postgres"])
            .args(["-c", &format!("CREATE DATABASE {DATABASE}")])
            .stdin(Stdio::null())
            .output()
            .context("running psql to create the database")?;
        if !output.status.success() {
            bail!(
                "creating the database {DATABASE} failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(())
    }

    /// A command running one of the server binaries, as the `postgres` user
    /// when this process is root, in the temporary directory (the user may
    /// not be allowed into the current one).
    fn server_command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        let mut command = if self.as_pg_user {
            let runuser = find_program("runuser", &["/usr/sbin", "/sbin"])
                .unwrap_or_else(|| PathBuf::from("runuser"));
            let mut command = Command::new(runuser);
            command.args(["-u", PG_USER, "--"]).arg(program);
            command
        } else {
            Command::new(program)
        };
        command.current_dir(&self.root).stdin(Stdio::null());
        command
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if self.running {
            // Immediate: the directory goes next, nothing needs a checkpoint.
            let _ = self.pg_ctl_stop("immediate");
        }
        if let Some(dir) = self.dir.take() {
            let _ = dir.close();
        }
    }
}

impl std::fmt::Debug for Postgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Postgres")
            .field("dir", &self.root)
            .field("port", &self.port)
            .field("running", &self.running)
            .finish()
    }
}

/// The `bin` directory of the newest PostgreSQL version installed under
/// /usr/lib/postgresql.
fn find_bin_dir() -> anyhow::Result<PathBuf> {
    let entries = fs::read_dir(PG_LIB).map_err(|err| {
        anyhow!("PostgreSQL is not installed ({PG_LIB}: {err}); scripts/bootstrap installs it")
    })?;
    let mut versions: Vec<(Vec<u64>, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let version: Option<Vec<u64>> = name.split('.').map(|part| part.parse().ok()).collect();
            let bin = entry.path().join("bin");
            (is_executable(&bin.join("initdb")) && is_executable(&bin.join("pg_ctl")))
                .then_some((version?, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).ok_or_else(|| {
        anyhow!("no PostgreSQL server binaries in {PG_LIB}/*/bin; scripts/bootstrap installs them")
    })
}

/// The user and group ids of the `postgres` user.
fn pg_user_ids() -> anyhow::Result<(u32, u32)> {
    let id = |flag: &str| -> anyhow::Result<u32> {
        let output = Command::new("id")
            .args([flag, PG_USER])
            .output()
            .context("running id")?;
        if !output.status.success() {
            bail!(
                "there is no {PG_USER} user to run PostgreSQL as (running as root; the postgresql package creates it): {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .with_context(|| format!("reading `id {flag} {PG_USER}`"))
    };
    Ok((id("-u")?, id("-g")?))
}

/// A handle appending to the log, for a child's stdout or stderr.
fn append_to(log: &Path) -> anyhow::Result<File> {
    OpenOptions::new()
        .append(true)
        .open(log)
        .with_context(|| format!("opening {}", log.display()))
}

/// Whether a process with this id exists.
fn process_exists(pid: u32) -> bool {
    i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
        .is_some_and(|pid| rustix::process::test_kill_process(pid).is_ok())
}
