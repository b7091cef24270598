//! The solver pool: CPU-heavy decisions (solves, model scoring) run on
//! tokio's blocking threads, at most one per permit (one per core by
//! default), never on the async workers. Calls waiting for a permit are
//! bounded too: beyond `max_waiting` a call is shed at once with
//! RESOURCE_EXHAUSTED instead of queueing.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use crate::error::ServiceError;
use tokio::sync::Semaphore;

/// A bounded pool for blocking decision work with a bounded wait queue.
#[derive(Clone)]
pub struct SolverPool {
    permits: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    max_waiting: usize,
}

/// Decrements the waiting count when a waiter stops waiting (served,
/// timed out or cancelled).
struct Waiting(Arc<AtomicUsize>);

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl SolverPool {
    /// `threads` permits (0 = one per available core) and at most
    /// `max_waiting` calls waiting for one.
    pub fn new(threads: usize, max_waiting: usize) -> SolverPool {
        let threads = if threads == 0 {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        } else {
            threads
        };
        SolverPool {
            permits: Arc::new(Semaphore::new(threads)),
            waiting: Arc::new(AtomicUsize::new(0)),
            max_waiting,
        }
    }

    /// Runs `work` on a blocking thread once a permit is free. When
    /// `max_waiting` calls already wait, answers RESOURCE_EXHAUSTED at once.
    /// A call waits for a permit at most half of the time left to its
    /// `deadline`, so that one that gets a permit still has half its budget
    /// to decide in; when none frees up by then it answers
    /// RESOURCE_EXHAUSTED without running (the solvers are saturated: retry
    /// with backoff, or elsewhere).
    pub async fn run<T: Send + 'static>(
        &self,
        deadline: Instant,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ServiceError> {
        let permit = match self.permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_waiting {
                    self.waiting.fetch_sub(1, Ordering::AcqRel);
                    metrics::counter!("allot_solver_shed_total").increment(1);
                    return Err(ServiceError::exhausted(
                        "every solver is busy and the wait queue is full (allocation.solver_queue); retry with backoff",
                    ));
                }
                let _waiting = Waiting(self.waiting.clone());
                let patience = deadline.saturating_duration_since(Instant::now()) / 2;
                tokio::time::timeout(patience, self.permits.clone().acquire_owned())
                    .await
                    .map_err(|_| {
                        metrics::counter!("allot_solver_shed_total").increment(1);
                        ServiceError::exhausted(format!(
                            "every solver stayed busy for half the call's time budget ({} us); retry with backoff",
                            patience.as_micros()
                        ))
                    })?
                    .map_err(|_| ServiceError::unavailable("the solver pool is shut down"))?
            }
        };
        tokio::task::spawn_blocking(move || {
            let out = work();
            drop(permit);
            out
        })
        .await
        .map_err(|e| ServiceError::internal(format!("solver task failed: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Code;
    use std::time::Duration;

    type Busy = tokio::task::JoinHandle<Result<Option<()>, ServiceError>>;

    /// Takes `pool`'s only permit with work that runs until `release` sends;
    /// returns once the permit is taken.
    async fn occupy(pool: &SolverPool, far: Instant) -> (std::sync::mpsc::Sender<()>, Busy) {
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let busy = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(far, move || hold.recv().ok()).await })
        };
        while pool.permits.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        (release, busy)
    }

    #[tokio::test]
    async fn a_call_waits_for_a_busy_pool_at_most_half_its_budget_then_is_shed() {
        let pool = SolverPool::new(1, 4);
        let far = Instant::now() + Duration::from_secs(30);
        let (release, busy) = occupy(&pool, far).await;
        let deadline = Instant::now() + Duration::from_millis(40);
        let shed = pool.run(deadline, || 1).await.unwrap_err();
        assert_eq!(shed.code(), Code::ResourceExhausted, "{shed}");
        assert_eq!(pool.waiting.load(Ordering::Acquire), 0);
        release.send(()).unwrap();
        assert_eq!(busy.await.unwrap().unwrap(), Some(()));
    }

    #[tokio::test]
    async fn a_full_queue_sheds_at_once_and_a_free_pool_runs() {
        let pool = SolverPool::new(1, 1);
        let far = Instant::now() + Duration::from_secs(30);
        let (release, busy) = occupy(&pool, far).await;
        let waiter = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(far, || 7).await })
        };
        while pool.waiting.load(Ordering::Acquire) == 0 {
            tokio::task::yield_now().await;
        }
        let shed = pool.run(far, || 8).await.unwrap_err();
        assert_eq!(shed.code(), Code::ResourceExhausted);
        release.send(()).unwrap();
        assert_eq!(busy.await.unwrap().unwrap(), Some(()));
        assert_eq!(waiter.await.unwrap().unwrap(), 7);
        assert_eq!(pool.waiting.load(Ordering::Acquire), 0);
        assert_eq!(pool.run(far, || 9).await.unwrap(), 9);
    }
}
