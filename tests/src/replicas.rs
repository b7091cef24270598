//! Replicas sharing one ledger: a throwaway PostgreSQL and NATS JetStream
//! and any number of real `allot serve` processes over them (each with its
//! own data directory), killed with SIGKILL and restarted by index. Used by
//! the gate test `server/tests/replicas.rs`.

use std::path::PathBuf;
use std::time::Duration;

use allot_client::AllotClient;
use allot_throwaway::{Nats, Postgres};
use anyhow::Context;

use crate::crash::server::{Launch, ServerProcess};

/// Longest a replica may take to report SERVING (a debug build on a busy
/// 2-core box seeds or catches up with the demo stock).
pub const START_TIMEOUT: Duration = Duration::from_secs(180);

/// A database, a bus and the replicas over them.
pub struct Fleet {
    /// The shared ledger's database.
    pub postgres: Postgres,
    /// The bus.
    pub nats: Nats,
    bin: PathBuf,
    dir: tempfile::TempDir,
    replicas: Vec<Option<ServerProcess>>,
    endpoints: Vec<String>,
    starts: usize,
    env: Vec<(String, String)>,
}

impl Fleet {
    /// Starts the database, the bus and `count` replicas of `bin`, each
    /// with the extra environment `env`, and waits until all serve.
    pub async fn start(
        bin: impl Into<PathBuf>,
        count: usize,
        env: Vec<(String, String)>,
    ) -> anyhow::Result<Fleet> {
        let postgres = Postgres::start().context("starting PostgreSQL")?;
        let nats = Nats::start().context("starting nats-server")?;
        let mut fleet = Fleet {
            postgres,
            nats,
            bin: bin.into(),
            dir: tempfile::tempdir()?,
            replicas: (0..count).map(|_| None).collect(),
            endpoints: vec![String::new(); count],
            starts: 0,
            env,
        };
        // The first seeds the ledger; the others then only catch up.
        fleet.spawn(0).await?;
        for i in 1..count {
            fleet.spawn(i).await?;
        }
        Ok(fleet)
    }

    fn launch(&self, i: usize) -> Launch {
        let mut env = self.env.clone();
        env.push(("ALLOT__STATE__LEDGER".into(), self.postgres.url()));
        env.push(("ALLOT__STATE__BUS".into(), self.nats.url()));
        Launch {
            bin: self.bin.clone(),
            data_dir: self.dir.path().join(format!("replica-{i}")),
            log_dir: self.dir.path().to_path_buf(),
            env,
        }
    }

    /// Starts replica `i` (again) and waits until it serves.
    pub async fn spawn(&mut self, i: usize) -> anyhow::Result<()> {
        self.starts += 1;
        let mut process = self.launch(i).spawn(self.starts)?;
        process
            .wait_serving(START_TIMEOUT)
            .await
            .with_context(|| format!("replica {i}"))?;
        self.endpoints[i] = process.endpoint().to_string();
        self.replicas[i] = Some(process);
        Ok(())
    }

    /// Kills replica `i` with SIGKILL (by its pid).
    pub fn kill(&mut self, i: usize) -> anyhow::Result<()> {
        match self.replicas[i].take() {
            Some(mut process) => process.kill(),
            None => anyhow::bail!("replica {i} is not running"),
        }
    }

    /// How many replicas there are (running or not).
    pub fn len(&self) -> usize {
        self.replicas.len()
    }

    /// Whether the fleet has no replica.
    pub fn is_empty(&self) -> bool {
        self.replicas.is_empty()
    }

    /// Replica `i`'s endpoint (its last one, if it is down).
    pub fn endpoint(&self, i: usize) -> &str {
        &self.endpoints[i]
    }

    /// A client of replica `i` alone.
    pub async fn client(&self, i: usize) -> anyhow::Result<AllotClient> {
        Ok(AllotClient::connect(self.endpoint(i)).await?)
    }
}
