//! ReportReturns: returned orders fed to the fraud feature store, so the
//! `customer_return_rate` feature the model was trained on is the one it
//! is served.
//!
//! A report is recorded in the decision log before it is answered, with the
//! store's keys of every returned order ([`ReturnObservation`]); at start
//! [`crate::fraud_history::refill`] feeds them back, in commit order with the
//! orders scored, like any other acknowledged write. An order counts as
//! returned once, however many of its lines come back or however often it
//! is reported.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use allot_models::features::ReturnObservation;

use crate::clock::Clock;
use crate::engine::Engine;
use crate::error::ServiceError;
use crate::fraud::{CustomerIdentity, order_key};
use crate::id::DecisionId;
use crate::sink::Entry;
use crate::wire::{Recording, Wire};

/// Most returned orders in one report.
pub const MAX_RETURNS_PER_REPORT: usize = 1_000;

/// One returned order, as the adapter read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnedOrder {
    /// The OMS's order id, as ScoreOrder (or Allocate) received it.
    pub order_id: String,
    /// The customer, identified as ScoreOrder identifies them.
    pub customer: CustomerIdentity,
    /// When the return was received; `None`: when it is reported.
    pub returned_at: Option<SystemTime>,
}

/// One ReportReturns call, converted and validated by the adapter.
pub struct ReturnsCall<R> {
    /// The returned orders, in request order.
    pub returns: Vec<ReturnedOrder>,
    /// The request as received (recorded redacted).
    pub request: R,
    /// When the call started.
    pub started: Instant,
    /// Who asks: the name of the caller's token; empty with authentication
    /// off.
    pub caller: String,
}

/// What a report did to the feature store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReturnsReport {
    /// Returned orders counted now.
    pub counted: u32,
    /// Returned orders already counted (reported before, or twice in the
    /// report).
    pub already_counted: u32,
}

/// The returns use case.
pub struct Returns<W: Wire> {
    engine: Arc<Engine>,
    clock: Arc<dyn Clock>,
    wire: Arc<W>,
}

fn unix(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl<W: Wire> Returns<W> {
    /// Over `engine` at `clock`'s time, answering through `wire`.
    pub fn new(engine: Arc<Engine>, clock: Arc<dyn Clock>, wire: Arc<W>) -> Self {
        Returns {
            engine,
            clock,
            wire,
        }
    }

    /// What the feature store keeps of `returns`, reported at `now`.
    pub fn observations(
        &self,
        returns: &[ReturnedOrder],
        now: SystemTime,
    ) -> Vec<ReturnObservation> {
        let keys = &self.engine.privacy;
        returns
            .iter()
            .map(|r| ReturnObservation {
                customer: r.customer.key(keys),
                order: order_key(&r.order_id, keys),
                time: unix(r.returned_at.unwrap_or(now)),
            })
            .collect()
    }

    /// Feeds the returned orders to the feature store, records the report
    /// and answers.
    pub async fn report(
        &self,
        call: ReturnsCall<W::ReturnsRequest>,
    ) -> Result<W::ReturnsResponse, ServiceError> {
        let decided_at = self.clock.now();
        let observed = self.observations(&call.returns, decided_at);
        let store = self.engine.risk.store();
        let mut report = ReturnsReport::default();
        for r in &observed {
            if store.remember_return(r) {
                report.counted += 1;
            } else {
                report.already_counted += 1;
            }
        }
        let id = DecisionId::mint();
        let answer = self.wire.returns_report(&id, &report);
        let bytes = self.wire.returns_record(
            Recording {
                id: &id,
                request: call.request,
                decided_at,
                elapsed: call.started.elapsed(),
                caller: &call.caller,
            },
            &answer,
            &observed,
        );
        self.engine.decisions.record(Entry::new(&id, bytes, None))?;
        tracing::debug!(
            counted = report.counted,
            already_counted = report.already_counted,
            "returns reported"
        );
        Ok(answer)
    }
}
