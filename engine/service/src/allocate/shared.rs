//! A committing Allocate over a ledger shared by replicas: solve and hold
//! on this replica's snapshot, commit the hold, the key, the answer, the
//! record and the event to the shared ledger in one transaction, and
//! re-solve on the fresh levels when another replica took the units first.

use std::sync::Arc;

use allot_engine::allocation::allocate::Commit;

use super::{
    AllocateCall, Decider, FraudInput, KeyedCommit, allocation_event, count_demand, log_has_room,
};
use crate::error::{Code, ServiceError};
use crate::id::DecisionId;
use crate::sink::Entry;
use crate::state::{Committed, SharedCommit, SharedLedger};
use crate::wire::{Recording, Wire};

/// How many times a commit re-solves after losing a race before it gives
/// up with ABORTED.
pub const MAX_ATTEMPTS: usize = 4;

impl<W: Wire> Decider<W> {
    /// See the module docs. The decision record stays in this replica's
    /// log too (without its event: the ledger's outbox publishes that to
    /// every replica's feed).
    pub(super) async fn decide_shared(
        self: Arc<Self>,
        shared: Arc<dyn SharedLedger>,
        call: AllocateCall<W::AllocateRequest>,
        keyed: KeyedCommit,
    ) -> Result<W::AllocateResponse, ServiceError> {
        let sink = self.engine.decisions.clone();
        let mut fraud = match &call.fraud {
            Some(order) => FraudInput::Live(Box::new(
                order.event(self.clock.now(), &self.engine.privacy),
            )),
            None => FraudInput::None,
        };
        let mut lost = Vec::new();
        for _attempt in 0..MAX_ATTEMPTS {
            log_has_room(sink.queue_depth(), self.decision_queue)?;
            let id = DecisionId::mint();
            let commit = Some(Commit {
                ttl: keyed.ttl,
                decision_id: id.as_str().to_string(),
            });
            let decided = self
                .solve(
                    call.order.clone(),
                    call.deadline,
                    commit,
                    fraud,
                    self.clock.now(),
                )
                .await?;
            // A re-solve keeps the first score: the order was observed once.
            fraud = match &decided.risk {
                Some(risk) => FraudInput::Scored(Box::new(risk.clone())),
                None => FraudInput::None,
            };
            let response = self.wire.allocation(&id, &decided);
            let record = self.wire.allocation_record(
                Recording {
                    id: &id,
                    request: call.request.clone(),
                    decided_at: decided.outcome.read.decided_at,
                    elapsed: call.started.elapsed(),
                    caller: &call.caller,
                },
                &response,
                &decided,
            );
            let event = allocation_event(&self.engine.network, &decided, &call.caller);
            let commit = SharedCommit {
                key: keyed.key.clone(),
                fingerprint: keyed.fingerprint,
                response: self.wire.allocation_bytes(&response),
                reservation: decided.outcome.reservation.clone(),
                decision_id: id.as_str().to_string(),
                record: record.clone(),
                event: Some(event.into_new(&id)),
                at: decided.outcome.read.decided_at,
            };
            match shared.commit(commit).await? {
                Committed::Done => {
                    metrics::counter!("allot_allocations_total", "disposition" => decided.disposition().name())
                        .increment(1);
                    // The ledger has the record; this copy serves explains
                    // on this replica, and losing it under load loses
                    // nothing acknowledged.
                    let own_event = (!shared.publishes_events())
                        .then(|| allocation_event(&self.engine.network, &decided, &call.caller));
                    if let Err(error) = sink.record(Entry::new(&id, record, own_event)) {
                        tracing::warn!(decision = %id, %error, "local copy of a shared decision not kept");
                    }
                    count_demand(&self.engine, &call.order.destination, &decided);
                    return Ok(response);
                }
                Committed::Lost { short } => {
                    metrics::counter!("allot_ledger_races_lost_total").increment(1);
                    tracing::debug!(order = %decided.outcome.order_id, %short, "another replica took the units first: re-solving");
                    lost.push(short);
                }
                Committed::KeyUsed {
                    fingerprint,
                    response,
                } => {
                    if fingerprint != keyed.fingerprint {
                        return Err(ServiceError::new(
                            Code::AlreadyExists,
                            format!(
                                "options.idempotency_key: {:?} was already used for a different request",
                                keyed.key
                            ),
                        ));
                    }
                    return self.wire.allocation_from_bytes(&response);
                }
            }
        }
        Err(ServiceError::new(
            Code::Aborted,
            format!(
                "other replicas took the units first {MAX_ATTEMPTS} times ({}); retry with the same idempotency key",
                lost.join("; ")
            ),
        ))
    }
}
