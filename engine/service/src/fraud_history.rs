//! The fraud feature history, rebuilt at start from the decision log, so a
//! restart does not make every buyer, device, card and address new again.
//!
//! Every decision that scored an order live (Allocate with a context,
//! ScoreOrder) records what the feature store remembered of it: the
//! order's time, the store's keys of its customer, device, card and
//! shipping address, and its value ([`Observation`](allot_models::features::Observation); the record's format
//! is the adapter's, read back through [`Wire::feature_history`]).
//! Before the services answer, [`refill`] reads the decisions of the store's
//! lookback (the longest feature window, 7 days) oldest first and feeds
//! those observations to the empty store, so the velocities and customer
//! aggregates read afterwards are the ones the orders gave before the
//! restart.
//!
//! Returned orders reported through ReportReturns are recorded the same way
//! ([`ReturnObservation`](allot_models::features::ReturnObservation), see [`crate::fraud_returns`]) and fed back in the
//! same pass, in commit order with the orders: the customers' return rates
//! read afterwards are the ones they had. (A return of an order scored
//! before the lookback counts, the order itself is not put back: the rate
//! of such a customer reads higher after a restart until the order ages
//! out of every window anyway.)
//!
//! The read is bounded: the records decided within the window (by their
//! ids' time), read batch by batch in commit order, each batch decoded
//! once; a record that scored no order (a promise, an evaluation, an
//! Allocate without a context) has no observation. Reservation events are
//! not records, and the store counts an order once by its key, so no order
//! counts twice. It runs on the blocking pool.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use allot_models::features::FeatureStore;

use crate::engine::Engine;
use crate::error::ServiceError;
use crate::sink::DecisionSink;
use crate::wire::{Remembered, Wire};

/// Unreadable records named in the log before the rest are only counted.
const WARN_AT_MOST: u64 = 5;

/// What a rebuild read and put back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Refilled {
    /// Decision records in the window: read.
    pub decisions: u64,
    /// Orders put back into the feature store.
    pub orders: u64,
    /// Returned orders put back into the feature store.
    pub returns: u64,
    /// Records that could not be decoded: skipped (and logged).
    pub unreadable: u64,
    /// Time the rebuild took.
    pub elapsed: Duration,
}

/// Why the feature history could not be rebuilt.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The decision log could not be read.
    #[error("cannot rebuild the fraud feature history: the decision log cannot be read: {0}")]
    Log(#[source] ServiceError),
    /// The blocking task running the rebuild failed (a bug).
    #[error("cannot rebuild the fraud feature history: the rebuild task stopped: {0}")]
    Task(String),
}

/// Refills `engine`'s fraud feature store from its decision log, decoding
/// records through `wire`: the orders scored within the store's lookback
/// before now, oldest first. Call it once, after the engine has loaded and
/// before the services answer; it runs on the blocking pool.
pub async fn refill<W: Wire>(engine: Arc<Engine>, wire: Arc<W>) -> Result<Refilled, HistoryError> {
    let refilled = tokio::task::spawn_blocking(move || {
        refill_from(
            engine.decisions.as_ref(),
            engine.risk.store(),
            SystemTime::now(),
            |record| wire.feature_history(record),
        )
    })
    .await
    .map_err(|e| HistoryError::Task(e.to_string()))??;
    tracing::info!(
        decisions = refilled.decisions,
        orders = refilled.orders,
        returns = refilled.returns,
        unreadable = refilled.unreadable,
        elapsed_ms = refilled.elapsed.as_millis() as u64,
        "fraud feature history rebuilt from the decision log"
    );
    Ok(refilled)
}

/// Feeds `store` the observations (orders and returned orders) recorded by
/// the decisions made in the `store`'s lookback before `now`, in commit
/// order; `decode` reads one encoded record. Blocking.
pub fn refill_from(
    sink: &dyn DecisionSink,
    store: &FeatureStore,
    now: SystemTime,
    decode: impl Fn(&[u8]) -> Result<Remembered, ServiceError>,
) -> Result<Refilled, HistoryError> {
    let started = Instant::now();
    let mut refilled = Refilled::default();
    let lookback = Duration::from_secs(u64::try_from(store.lookback_secs()).unwrap_or(0));
    let since = now.checked_sub(lookback).unwrap_or(UNIX_EPOCH);
    sink.records_since(since, &mut |key, record| {
        refilled.decisions += 1;
        match decode(record) {
            Ok(remembered) => {
                if let Some(observed) = remembered.order {
                    store.remember(&observed);
                    refilled.orders += 1;
                }
                for returned in &remembered.returns {
                    store.remember_return(returned);
                    refilled.returns += 1;
                }
            }
            Err(e) => unreadable(&mut refilled, key, &e.to_string()),
        }
    })
    .map_err(HistoryError::Log)?;
    refilled.elapsed = started.elapsed();
    Ok(refilled)
}

/// Counts an unreadable record, naming the first few in the log.
fn unreadable(refilled: &mut Refilled, key: u128, problem: &str) {
    refilled.unreadable += 1;
    if refilled.unreadable <= WARN_AT_MOST {
        tracing::warn!(
            decision = %ulid::Ulid(key),
            problem,
            "a decision record is unreadable: its order is left out of the fraud feature history"
        );
    }
}

#[cfg(test)]
#[path = "fraud_history_tests.rs"]
mod tests;
