//! Idempotent commits: the same key and request return the same response
//! (byte-identical) without reserving twice; a different request under a
//! used key is refused.

use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use sha2::{Digest, Sha256};
use tonic::Status;

/// How long a key is remembered.
const KEY_TTL: Duration = Duration::from_secs(24 * 3600);

#[derive(Clone)]
struct Remembered<R> {
    request: [u8; 32],
    response: R,
}

/// Responses remembered per idempotency key, with one in-flight call per key.
pub struct IdempotencyKeys<R: Clone + Send + Sync + 'static> {
    done: moka::sync::Cache<String, Remembered<R>>,
    in_flight: DashMap<String, Arc<tokio::sync::Mutex<()>>>,
}

/// The fingerprint of a request message: SHA-256 of its protobuf encoding.
pub fn fingerprint(message: &impl prost::Message) -> [u8; 32] {
    Sha256::digest(message.encode_to_vec()).into()
}

impl<R: Clone + Send + Sync + 'static> IdempotencyKeys<R> {
    /// Remembers at most `capacity` keys, each for 24 hours.
    pub fn new(capacity: u64) -> Self {
        IdempotencyKeys {
            done: moka::sync::Cache::builder()
                .max_capacity(capacity)
                .time_to_live(KEY_TTL)
                .build(),
            in_flight: DashMap::new(),
        }
    }

    /// Runs `work` once per key: a repeat with the same `request`
    /// fingerprint gets the remembered response; a repeat with another
    /// request gets ALREADY_EXISTS. Concurrent calls with one key run one at
    /// a time. Errors are not remembered (the caller may retry).
    pub async fn run<F, Fut>(&self, key: &str, request: [u8; 32], work: F) -> Result<R, Status>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<R, Status>>,
    {
        let lock = self.in_flight.entry(key.to_string()).or_default().clone();
        let result = {
            let _guard = lock.lock().await;
            match self.done.get(key) {
                Some(seen) if seen.request == request => Ok(seen.response),
                Some(_) => Err(Status::already_exists(format!(
                    "options.idempotency_key: {key:?} was already used for a different request"
                ))),
                None => {
                    let response = work().await?;
                    self.done.insert(
                        key.to_string(),
                        Remembered {
                            request,
                            response: response.clone(),
                        },
                    );
                    Ok(response)
                }
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

    #[tokio::test]
    async fn same_key_same_request_runs_once_and_a_different_request_is_refused() {
        let keys = IdempotencyKeys::<u32>::new(10);
        let runs = AtomicU32::new(0);
        let work = || async { Ok::<_, Status>(runs.fetch_add(1, Ordering::SeqCst) + 100) };
        assert_eq!(keys.run("k", [1; 32], work).await.unwrap(), 100);
        assert_eq!(keys.run("k", [1; 32], work).await.unwrap(), 100);
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        let err = keys.run("k", [2; 32], work).await.unwrap_err();
        assert_eq!(err.code(), tonic::Code::AlreadyExists);
        assert!(keys.in_flight.is_empty());
    }

    #[tokio::test]
    async fn failures_are_not_remembered() {
        let keys = IdempotencyKeys::<u32>::new(10);
        let err = keys
            .run("k", [1; 32], || async {
                Err::<u32, _>(Status::unavailable("x"))
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), tonic::Code::Unavailable);
        assert_eq!(keys.run("k", [1; 32], || async { Ok(7) }).await.unwrap(), 7);
    }
}
