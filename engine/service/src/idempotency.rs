//! Idempotent commits: the same key and request return the same response
//! (byte-identical) without reserving twice; a different request under a
//! used key is refused. What a key remembers lives behind [`KeyLedger`];
//! [`Idempotency`] runs one call per key at a time over it.

use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;

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
pub trait KeyLedger<R>: Send + Sync {
    /// What `key` remembers, if it was used (and not yet forgotten).
    fn get(&self, key: &str) -> Option<Remembered<R>>;
    /// Remembers `key`'s request and response.
    fn remember(&self, key: &str, remembered: Remembered<R>) -> Result<(), ServiceError>;
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
    fn get(&self, key: &str) -> Option<Remembered<R>> {
        self.done.get(key)
    }

    fn remember(&self, key: &str, remembered: Remembered<R>) -> Result<(), ServiceError> {
        self.done.insert(key.to_string(), remembered);
        Ok(())
    }
}

/// Runs a commit once per key over a [`KeyLedger`].
pub struct Idempotency<R> {
    ledger: Arc<dyn KeyLedger<R>>,
    in_flight: DashMap<String, Arc<tokio::sync::Mutex<()>>>,
}

impl<R: Clone + Send + Sync + 'static> Idempotency<R> {
    /// Over `ledger`.
    pub fn new(ledger: Arc<dyn KeyLedger<R>>) -> Self {
        Idempotency {
            ledger,
            in_flight: DashMap::new(),
        }
    }

    /// Runs `work` once per key: a repeat with the same `request`
    /// fingerprint gets the remembered response; a repeat with another
    /// request gets ALREADY_EXISTS. Concurrent calls with one key run one at
    /// a time. Errors are not remembered (the caller may retry).
    pub async fn run<F, Fut>(
        &self,
        key: &str,
        request: Fingerprint,
        work: F,
    ) -> Result<R, ServiceError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<R, ServiceError>>,
    {
        let lock = self.in_flight.entry(key.to_string()).or_default().clone();
        let result = {
            let _guard = lock.lock().await;
            match self.ledger.get(key) {
                Some(seen) if seen.request == request => Ok(seen.response),
                Some(_) => Err(ServiceError::new(
                    Code::AlreadyExists,
                    format!(
                        "options.idempotency_key: {key:?} was already used for a different request"
                    ),
                )),
                None => match work().await {
                    Ok(response) => self
                        .ledger
                        .remember(
                            key,
                            Remembered {
                                request,
                                response: response.clone(),
                            },
                        )
                        .map(|()| response),
                    Err(e) => Err(e),
                },
            }
        };
        drop(lock);
        self.in_flight
            .remove_if(key, |_, l| Arc::strong_count(l) == 1);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn keys() -> Idempotency<u32> {
        Idempotency::new(Arc::new(MemoryKeys::new(10)))
    }

    #[tokio::test]
    async fn same_key_same_request_runs_once_and_a_different_request_is_refused() {
        let keys = keys();
        let runs = AtomicU32::new(0);
        let work = || async { Ok::<_, ServiceError>(runs.fetch_add(1, Ordering::SeqCst) + 100) };
        assert_eq!(keys.run("k", [1; 32], work).await.unwrap(), 100);
        assert_eq!(keys.run("k", [1; 32], work).await.unwrap(), 100);
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        let err = keys.run("k", [2; 32], work).await.unwrap_err();
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
    }
}
