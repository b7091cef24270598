//! The solver pool: CPU-heavy decisions run on tokio's blocking threads,
//! at most one per permit (one per core by default), never on the async
//! workers.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Semaphore;
use tonic::Status;

/// A bounded pool for blocking decision work.
#[derive(Clone)]
pub struct SolverPool {
    permits: Arc<Semaphore>,
}

impl SolverPool {
    /// `threads` permits; 0 = one per available core.
    pub fn new(threads: usize) -> SolverPool {
        let threads = if threads == 0 {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        } else {
            threads
        };
        SolverPool {
            permits: Arc::new(Semaphore::new(threads)),
        }
    }

    /// Runs `work` on a blocking thread once a permit is free. A call that
    /// cannot get a permit before `deadline` answers DEADLINE_EXCEEDED
    /// without running.
    pub async fn run<T: Send + 'static>(
        &self,
        deadline: Instant,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Status> {
        let permit = tokio::time::timeout_at(deadline.into(), self.permits.clone().acquire_owned())
            .await
            .map_err(|_| {
                Status::deadline_exceeded("no solver became free before the call's deadline")
            })?
            .map_err(|_| Status::unavailable("the solver pool is shut down"))?;
        tokio::task::spawn_blocking(move || {
            let out = work();
            drop(permit);
            out
        })
        .await
        .map_err(|e| Status::internal(format!("solver task failed: {e}")))
    }
}
