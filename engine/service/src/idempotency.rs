//! Idempotent commits: the same key and request return the same response
//! (byte-identical) without reserving twice; a different request under a
//! used key is refused. What a key remembers lives behind [`KeyLedger`];
//! [`Idempotency`] runs one call per key at a time over it.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use allot_engine::reservation::Reservation;
use dashmap::DashMap;
use futures::future::BoxFuture;

use crate::error::{Code, ServiceError};

/// How long a key is remembered.
pub const KEY_TTL: Duration = Duration::from_secs(24 * 3600);

/// The fingerprint of a request: equal requests have equal fingerprints
/// (the adapter hashes the request as received).
pub type Fingerprint = [u8; 32];

/// What one used key remembers.
#[derive(Debug, Clone)]
pub struct Remembered<R> {
    /// The fingerprint of the request first made with the key.
    pub request: Fingerprint,
    /// The response it got.
    pub response: R,
}

/// Where used idempotency keys are remembered.
///
/// A durable ledger makes a key durable together with the hold its call
/// made and the call's decision record: the use case asks it for the
/// [`KeyLedger::commit_record`] and writes that in the decision record's
/// transaction, then [`KeyLedger::remember`]s the key in memory.
pub trait KeyLedger<R>: Send + Sync {
    /// What `key` remembers, if it was used (and not yet forgotten);
    /// UNAVAILABLE when the ledger cannot be read.
    fn get<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<Remembered<R>>, ServiceError>>;
    /// Remembers `key`'s request and response (once its commit record, if
    /// any, is durable).
    fn remember(&self, key: &str, remembered: Remembered<R>);
    /// The record that makes `key`, its answer and the reservation its call
    /// made durable, to write with the call's decision record; `None` when
    /// keys are not kept on disk.
    fn commit_record(
        &self,
        key: &str,
        remembered: &Remembered<R>,
        reservation: Option<&Reservation>,
        at: SystemTime,
    ) -> Option<Vec<u8>>;
}

/// Used keys as bytes: the durable store's side of [`KeyLedger`] (the
/// answer's format belongs to the adapter).
pub trait KeyStore: Send + Sync {
    /// The request fingerprint and encoded response `key` remembers.
    fn get(&self, key: &str) -> Option<(Fingerprint, Arc<[u8]>)>;
    /// Remembers `key` in memory (its commit record is durable).
    fn remember(&self, key: &str, fingerprint: Fingerprint, response: Vec<u8>, at: SystemTime);
    /// The commit record of `key` with the reservation its call made.
    fn commit_record(
        &self,
        key: &str,
        fingerprint: Fingerprint,
        response: Vec<u8>,
        reservation: Option<&Reservation>,
        at: SystemTime,
    ) -> Vec<u8>;
}

/// Keys in memory: at most a configured number, each for [`KEY_TTL`]; the
/// least recently used beyond the capacity are forgotten.
pub struct MemoryKeys<R: Clone + Send + Sync + 'static> {
    done: moka::sync::Cache<String, Remembered<R>>,
}

impl<R: Clone + Send + Sync + 'static> MemoryKeys<R> {
    /// Remembers at most `capacity` keys.
    pub fn new(capacity: u64) -> Self {
        MemoryKeys {
            done: moka::sync::Cache::builder()
                .max_capacity(capacity)
                .time_to_live(KEY_TTL)
                .build(),
        }
    }
}

impl<R: Clone + Send + Sync + 'static> KeyLedger<R> for MemoryKeys<R> {
    fn get<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<Remembered<R>>, ServiceError>> {
        Box::pin(std::future::ready(Ok(self.done.get(key))))
    }

    fn remember(&self, key: &str, remembered: Remembered<R>) {
        self.done.insert(key.to_string(), remembered);
    }

    fn commit_record(
        &self,
        _key: &str,
        _remembered: &Remembered<R>,
        _reservation: Option<&Reservation>,
        _at: SystemTime,
    ) -> Option<Vec<u8>> {
        None
    }
}

/// Calls in flight per key, one at a time each.
type InFlight = DashMap<String, Arc<tokio::sync::Mutex<()>>>;

/// Runs a commit once per key over a [`KeyLedger`].
pub struct Idempotency<R> {
    ledger: Arc<dyn KeyLedger<R>>,
    in_flight: Arc<InFlight>,
}

/// One call's place in a key's queue; forgets the key's in-flight entry
/// when the last call ends, however it ends.
struct Turn {
    in_flight: Arc<InFlight>,
    key: String,
    lock: Arc<tokio::sync::Mutex<()>>,
}

impl Drop for Turn {
    fn drop(&mut self) {
        // Held by the map and this call only: nobody else waits.
        self.in_flight.remove_if(&self.key, |_, l| {
            Arc::ptr_eq(l, &self.lock) && Arc::strong_count(l) == 2
        });
    }
}

impl<R: Clone + Send + Sync + 'static> Idempotency<R> {
    /// Over `ledger`.
    pub fn new(ledger: Arc<dyn KeyLedger<R>>) -> Self {
        Idempotency {
            ledger,
            in_flight: Arc::new(DashMap::new()),
        }
    }

    /// Runs `work` once per key: a repeat with the same `request`
    /// fingerprint gets the remembered response; a repeat with another
    /// request gets ALREADY_EXISTS. Concurrent calls with one key run one at
    /// a time. Errors are not remembered (the caller may retry).
    ///
    /// The call runs on its own task: when the caller goes away (cancelled,
    /// timed out) the work still runs to its end and its response is
    /// remembered, so the retry gets it instead of committing twice. (A
    /// durable ledger's key is already on disk when `work` returns: see
    /// [`KeyLedger::commit_record`].)
    pub async fn run<F, Fut>(
        &self,
        key: &str,
        request: Fingerprint,
        work: F,
    ) -> Result<R, ServiceError>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<R, ServiceError>> + Send + 'static,
    {
        let ledger = self.ledger.clone();
        let in_flight = self.in_flight.clone();
        let key = key.to_string();
        let call = async move {
            let lock = in_flight.entry(key.clone()).or_default().clone();
            let turn = Turn {
                in_flight,
                key,
                lock,
            };
            let _serialised = turn.lock.lock().await;
            match ledger.get(&turn.key).await? {
                Some(seen) if seen.request == request => Ok(seen.response),
                Some(_) => Err(ServiceError::new(
                    Code::AlreadyExists,
                    format!(
                        "options.idempotency_key: {:?} was already used for a different request",
                        turn.key
                    ),
                )),
                None => {
                    let response = work().await?;
                    ledger.remember(
                        &turn.key,
                        Remembered {
                            request,
                            response: response.clone(),
                        },
                    );
                    Ok(response)
                }
            }
        };
        tokio::spawn(call)
            .await
            .map_err(|e| ServiceError::internal(format!("commit task failed: {e}")))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn keys() -> Idempotency<u32> {
        Idempotency::new(Arc::new(MemoryKeys::new(10)))
    }

    fn counting(
        runs: &Arc<AtomicU32>,
    ) -> impl FnOnce() -> std::future::Ready<Result<u32, ServiceError>> + Send + 'static {
        let runs = runs.clone();
        move || std::future::ready(Ok(runs.fetch_add(1, Ordering::SeqCst) + 100))
    }

    #[tokio::test]
    async fn same_key_same_request_runs_once_and_a_different_request_is_refused() {
        let keys = keys();
        let runs = Arc::new(AtomicU32::new(0));
        assert_eq!(keys.run("k", [1; 32], counting(&runs)).await.unwrap(), 100);
        assert_eq!(keys.run("k", [1; 32], counting(&runs)).await.unwrap(), 100);
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        let err = keys.run("k", [2; 32], counting(&runs)).await.unwrap_err();
        assert_eq!(err.code(), Code::AlreadyExists);
        assert!(keys.in_flight.is_empty());
    }

    #[tokio::test]
    async fn failures_are_not_remembered() {
        let keys = keys();
        let err = keys
            .run("k", [1; 32], || async {
                Err::<u32, _>(ServiceError::unavailable("x"))
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::Unavailable);
        assert_eq!(keys.run("k", [1; 32], || async { Ok(7) }).await.unwrap(), 7);
        assert!(keys.in_flight.is_empty());
    }

    #[tokio::test]
    async fn a_caller_that_goes_away_mid_commit_still_commits_once() {
        let keys = keys();
        let runs = Arc::new(AtomicU32::new(0));
        let (started, is_started) = tokio::sync::oneshot::channel::<()>();
        let (finish, may_finish) = tokio::sync::oneshot::channel::<()>();
        let counted = runs.clone();
        let call = keys.run("k", [1; 32], move || async move {
            let _ = started.send(());
            let _ = may_finish.await;
            counted.fetch_add(1, Ordering::SeqCst);
            Ok(7)
        });
        // The caller gives up once the work has started (its future is
        // dropped, as when a gRPC call is cancelled).
        tokio::select! {
            _ = call => panic!("the work cannot finish before it is let"),
            _ = is_started => {}
        }
        finish.send(()).unwrap();
        // The retry waits for the first call and gets its answer (7, not
        // the 100 its own work would give): the work ran once, to its end.
        assert_eq!(keys.run("k", [1; 32], counting(&runs)).await.unwrap(), 7);
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert!(keys.in_flight.is_empty(), "no entry left behind");
    }
}
