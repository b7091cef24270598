//! The `allot` process under test: spawned on 127.0.0.1 with a free port and
//! the run's data directory, polled until SERVING, killed with SIGKILL.

use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use allot_client::{AllotClient, ServingStatus};
use anyhow::{Context, bail};

/// Pause between two health polls while waiting for SERVING: short, so the
/// measured recovery time is close to the real one.
const POLL: Duration = Duration::from_millis(20);

/// Longest one health poll (connect and check) may take.
const POLL_TIMEOUT: Duration = Duration::from_secs(1);

/// Lines of the server log quoted when it fails to start.
const LOG_TAIL_LINES: usize = 30;

/// What every start of the server shares.
#[derive(Debug, Clone)]
pub struct Launch {
    /// The `allot` binary.
    pub bin: PathBuf,
    /// `decisions.dir`: the decision log, and the durable state under it.
    pub data_dir: PathBuf,
    /// Where each start's standard output and error go (`serve-N.log`).
    pub log_dir: PathBuf,
    /// Extra environment (`ALLOT__SECTION__KEY` settings).
    pub env: Vec<(String, String)>,
}

/// A running (or dead) `allot serve`.
pub struct ServerProcess {
    child: Child,
    endpoint: String,
    log: PathBuf,
    spawned_at: Instant,
}

impl Launch {
    /// Starts `allot serve` on a free port of 127.0.0.1, without metrics or
    /// the decision explorer (unless `env` sets `ALLOT__EXPLORER__ENABLED`),
    /// over the data directory; start number `n` names its log file.
    pub fn spawn(&self, n: usize) -> anyhow::Result<ServerProcess> {
        let port = free_port()?;
        let log = self.log_dir.join(format!("serve-{n}.log"));
        let out = File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
        let err = out.try_clone()?;
        let mut command = Command::new(&self.bin);
        command
            .arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--no-metrics")
            .arg("--decisions-dir")
            .arg(&self.data_dir)
            // No explorer unless `env` asks for one (a later setting wins).
            .env("ALLOT__EXPLORER__ENABLED", "false")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        let spawned_at = Instant::now();
        let child = command
            .spawn()
            .with_context(|| format!("cannot start {}", self.bin.display()))?;
        Ok(ServerProcess {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            log,
            spawned_at,
        })
    }
}

impl ServerProcess {
    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Polls grpc.health.v1 (service `""`) until SERVING and returns the time
    /// from the spawn to then. Fails if the process exits first or `timeout`
    /// passes, quoting the end of its log.
    pub async fn wait_serving(&mut self, timeout: Duration) -> anyhow::Result<Duration> {
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "allot exited ({status}) before SERVING; end of {}:\n{}",
                    self.log.display(),
                    self.log_tail()
                );
            }
            let poll = async {
                let client = AllotClient::connect(&self.endpoint).await.ok()?;
                client.health("").await.ok()
            };
            if let Ok(Some(ServingStatus::Serving)) = tokio::time::timeout(POLL_TIMEOUT, poll).await
            {
                return Ok(self.spawned_at.elapsed());
            }
            if self.spawned_at.elapsed() > timeout {
                bail!(
                    "allot not SERVING {timeout:?} after its start; end of {}:\n{}",
                    self.log.display(),
                    self.log_tail()
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Sends SIGKILL to the process (by its pid) and reaps it. Fails if it
    /// had already exited on its own.
    pub fn kill(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!(
                "allot exited on its own ({status}) before the kill; end of {}:\n{}",
                self.log.display(),
                self.log_tail()
            );
        }
        // Child::kill is SIGKILL on Unix.
        self.child.kill().context("cannot kill allot")?;
        self.child.wait().context("cannot reap allot")?;
        Ok(())
    }

    /// The last lines of the process's log.
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port of 127.0.0.1 nothing listens on (bound, then freed).
pub fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("no free port")?;
    Ok(listener.local_addr()?.port())
}
