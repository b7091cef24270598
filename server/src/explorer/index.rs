//! The recent decisions the explorer searches: one entry per decision event
//! of the feed (allocations, holds, promises, risk scores, returns), with
//! what a search filters on read from the decision's record (the customer's
//! recorded hash, the nodes used, the disposition), and each reservation's
//! events in order. Fed by [`DecisionIndex::follow`] from the decision feed,
//! the recent history first, then live; bounded to the most recent
//! `explorer.index_limit` decisions. Promise quotes, the most frequent
//! calls, are indexed from their event alone (time, kind, summary): their
//! records are read only when one is opened.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use allot_engine::decisions::StoredEvent;
use allot_proto::v1 as pb;
use allot_service::DecisionId;
use allot_service::error::Code;
use allot_service::sink::EventKind;
use parking_lot::RwLock;
use prost::Message;
use tokio::sync::watch;

use crate::replay::Services;

/// Events taken from the feed before their records are read in one go.
const BATCH: usize = 256;

/// Feed events read at start per entry the index keeps.
const HISTORY_PER_ENTRY: u64 = 4;

/// One decision as the search lists it.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// Position of its event in the feed.
    pub position: u64,
    /// When it was committed.
    pub at: SystemTime,
    /// What happened.
    pub kind: EventKind,
    /// The decision's ULID.
    pub decision_id: String,
    /// The order id; empty for promises.
    pub order_id: String,
    /// The reservation it made; empty when none.
    pub reservation_id: String,
    /// The feed's one line for humans.
    pub summary: String,
    /// The customer id as recorded (its keyed hash); empty when none.
    pub customer: String,
    /// Codes of the nodes the answer ships from, sorted.
    pub nodes: Vec<String>,
    /// The disposition, risk decision or quote outcome, e.g. `ALLOCATED`.
    pub disposition: String,
    /// The fraud probability, when the order was scored.
    pub fraud_probability: Option<f64>,
}

/// One event of a reservation's life.
#[derive(Debug, Clone)]
pub(crate) struct ReservationStep {
    /// When it happened.
    pub at: SystemTime,
    /// What happened.
    pub kind: EventKind,
    /// The feed's line for humans.
    pub summary: String,
}

/// What a search asks for; every set field must match.
#[derive(Debug, Clone, Default)]
pub(crate) struct Query {
    /// The order id, exactly.
    pub order_id: Option<String>,
    /// The decision id, exactly.
    pub decision_id: Option<String>,
    /// The customer id's recorded hash, exactly.
    pub customer: Option<String>,
    /// A node the decision ships from.
    pub node: Option<String>,
    /// The disposition, e.g. `ALLOCATED` or `REVIEW`.
    pub disposition: Option<String>,
    /// The kind of event.
    pub kind: Option<EventKind>,
    /// At or after.
    pub from: Option<SystemTime>,
    /// Before.
    pub to: Option<SystemTime>,
    /// At most this many, newest first.
    pub limit: usize,
}

impl Query {
    fn matches(&self, entry: &Entry) -> bool {
        let same = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        same(&self.order_id, &entry.order_id)
            && same(&self.decision_id, &entry.decision_id)
            && same(&self.customer, &entry.customer)
            && same(&self.disposition, &entry.disposition)
            && self
                .node
                .as_ref()
                .is_none_or(|n| entry.nodes.iter().any(|used| used == n))
            && self.kind.is_none_or(|k| k == entry.kind)
            && self.from.is_none_or(|f| entry.at >= f)
            && self.to.is_none_or(|t| entry.at < t)
    }
}

#[derive(Default)]
struct Inner {
    entries: VecDeque<Entry>,
    steps: HashMap<String, Vec<ReservationStep>>,
    /// Reservation ids in the order their first step arrived, to bound
    /// `steps`.
    step_order: VecDeque<String>,
    /// The last feed position taken.
    last: u64,
}

/// The searchable recent decisions.
pub(crate) struct DecisionIndex {
    limit: usize,
    inner: RwLock<Inner>,
}

impl DecisionIndex {
    /// An empty index that keeps the `limit` most recent decisions.
    pub(crate) fn new(limit: usize) -> DecisionIndex {
        DecisionIndex {
            limit: limit.max(1),
            inner: RwLock::new(Inner::default()),
        }
    }

    /// The decisions matching `query`, newest first.
    pub(crate) fn search(&self, query: &Query) -> Vec<Entry> {
        let inner = self.inner.read();
        inner
            .entries
            .iter()
            .rev()
            .filter(|e| query.matches(e))
            .take(query.limit)
            .cloned()
            .collect()
    }

    /// The decisions after feed position `after`, newest first, at most
    /// `limit`.
    pub(crate) fn after(&self, after: u64, limit: usize) -> Vec<Entry> {
        let inner = self.inner.read();
        inner
            .entries
            .iter()
            .rev()
            .take_while(|e| e.position > after)
            .take(limit)
            .cloned()
            .collect()
    }

    /// The entry of decision `id`, when indexed.
    pub(crate) fn entry(&self, id: &str) -> Option<Entry> {
        let inner = self.inner.read();
        inner
            .entries
            .iter()
            .rev()
            .find(|e| e.decision_id == id)
            .cloned()
    }

    /// The events of reservation `id` seen so far, oldest first.
    pub(crate) fn reservation_steps(&self, id: &str) -> Vec<ReservationStep> {
        self.inner.read().steps.get(id).cloned().unwrap_or_default()
    }

    /// The fraud probabilities of the indexed decisions that scored an
    /// order, oldest first.
    pub(crate) fn fraud_scores(&self) -> Vec<f64> {
        let inner = self.inner.read();
        inner
            .entries
            .iter()
            .filter_map(|e| e.fraud_probability)
            .collect()
    }

    /// How many decisions the index holds, and the last feed position.
    pub(crate) fn size(&self) -> (usize, u64) {
        let inner = self.inner.read();
        (inner.entries.len(), inner.last)
    }

    /// Follows the decision feed into the index until `stop` turns true:
    /// the recent history first, then live events. A watch that ends
    /// (overrun, a log error) is resumed from the last position taken.
    ///
    /// The history read at start is the last [`HISTORY_PER_ENTRY`] x
    /// `limit` events (reservation changes are events too), not the whole
    /// retained log: what the index keeps is all it reads.
    pub(crate) async fn follow(
        self: Arc<Self>,
        services: Arc<Services>,
        mut stop: watch::Receiver<bool>,
    ) {
        let reach = (self.limit as u64).saturating_mul(HISTORY_PER_ENTRY);
        let mut from = Some(match services.decisions.bounds().await {
            Ok(bounds) => bounds.latest.saturating_sub(reach),
            Err(_) => 0,
        });
        loop {
            if *stop.borrow() {
                return;
            }
            let mut events = match services.decisions.watch(from, HashSet::new()).await {
                Ok(events) => events,
                Err(error) if error.code() == Code::OutOfRange => {
                    // Before the oldest retained event: from the oldest.
                    from = Some(0);
                    continue;
                }
                Err(error) => {
                    tracing::warn!(%error, "decision explorer: cannot follow the decision feed");
                    if tokio::time::timeout(Duration::from_secs(1), stop.wait_for(|s| *s))
                        .await
                        .is_ok()
                    {
                        return;
                    }
                    continue;
                }
            };
            while let Some(Ok(first)) = events.recv().await {
                let mut batch = vec![first];
                while batch.len() < BATCH {
                    match events.try_recv() {
                        Ok(Ok(event)) => batch.push(event),
                        _ => break,
                    }
                }
                self.take(&services, batch).await;
            }
            from = Some(self.size().1.max(from.unwrap_or(0)));
            if tokio::time::timeout(Duration::from_millis(200), stop.wait_for(|s| *s))
                .await
                .is_ok()
            {
                return;
            }
        }
    }

    /// Adds a batch of events, reading the records of its decisions.
    async fn take(&self, services: &Services, batch: Vec<StoredEvent>) {
        // Promises are the most frequent calls and have no customer: their
        // records are not read back (they are listed by time and kind).
        let decided: Vec<&StoredEvent> = batch
            .iter()
            .filter(|e| {
                EventKind::from_code(e.kind)
                    .is_some_and(|k| is_decision(k) && k != EventKind::PromiseQuoted)
            })
            .collect();
        let ids: Vec<DecisionId> = decided
            .iter()
            .filter_map(|e| DecisionId::parse(&e.decision_id, "decision_id").ok())
            .collect();
        let records: HashMap<String, pb::DecisionRecord> = services
            .decisions
            .read_many(&ids)
            .await
            .into_iter()
            .filter_map(|found| found.ok())
            .filter_map(|bytes| pb::DecisionRecord::decode(bytes.as_slice()).ok())
            .map(|record| (record.decision_id.clone(), record))
            .collect();
        let mut inner = self.inner.write();
        for event in batch {
            inner.last = inner.last.max(event.position);
            let Some(kind) = EventKind::from_code(event.kind) else {
                continue;
            };
            let at = event.at();
            if !event.reservation_id.is_empty() {
                let id = event.reservation_id.clone();
                if !inner.steps.contains_key(&id) {
                    inner.step_order.push_back(id.clone());
                }
                inner.steps.entry(id).or_default().push(ReservationStep {
                    at,
                    kind,
                    summary: event.summary.clone(),
                });
            }
            if !is_decision(kind) {
                continue;
            }
            let facts = match records.get(&event.decision_id) {
                Some(record) => facts(record),
                None if kind == EventKind::PromiseQuoted => Facts {
                    disposition: "QUOTED".to_string(),
                    ..Facts::default()
                },
                None => Facts::default(),
            };
            inner.entries.push_back(Entry {
                position: event.position,
                at,
                kind,
                decision_id: event.decision_id,
                order_id: event.order_id,
                reservation_id: event.reservation_id,
                summary: event.summary,
                customer: facts.customer,
                nodes: facts.nodes,
                disposition: facts.disposition,
                fraud_probability: facts.fraud_probability,
            });
        }
        while inner.entries.len() > self.limit {
            inner.entries.pop_front();
        }
        while inner.step_order.len() > self.limit {
            if let Some(id) = inner.step_order.pop_front() {
                inner.steps.remove(&id);
            }
        }
    }
}

/// Whether events of `kind` are decisions (the rest are reservation
/// changes).
fn is_decision(kind: EventKind) -> bool {
    match kind {
        EventKind::OrderAllocated
        | EventKind::OrderHeld
        | EventKind::PromiseQuoted
        | EventKind::RiskScored
        | EventKind::ReturnRouted => true,
        EventKind::ReservationConfirmed
        | EventKind::ReservationReleased
        | EventKind::ReservationExpired
        | EventKind::ReservationReplanned => false,
    }
}

/// What a search filters on, from a decision's record.
#[derive(Debug, Default)]
struct Facts {
    customer: String,
    nodes: Vec<String>,
    disposition: String,
    fraud_probability: Option<f64>,
}

fn facts(record: &pb::DecisionRecord) -> Facts {
    use pb::decision_record::{Request, Response};
    let customer = match &record.request {
        Some(Request::AllocateRequest(r)) => r.context.as_ref().map(|c| c.customer_id.clone()),
        Some(Request::ScoreOrderRequest(r)) => r.context.as_ref().map(|c| c.customer_id.clone()),
        _ => None,
    }
    .unwrap_or_default();
    let mut nodes: Vec<String> = Vec::new();
    let mut fraud_probability = None;
    let disposition = match &record.response {
        Some(Response::AllocateResponse(r)) => {
            fraud_probability = r.risk.as_ref().map(|risk| risk.fraud_probability);
            nodes.extend(
                r.lines
                    .iter()
                    .flat_map(|l| &l.assignments)
                    .map(|a| a.node.clone()),
            );
            super::pages::names::disposition(r.disposition).to_string()
        }
        Some(Response::PromiseResponse(r)) => {
            nodes.extend(
                r.options
                    .iter()
                    .flat_map(|o| &o.ship_from)
                    .map(|s| s.node.clone()),
            );
            if r.options.is_empty() {
                "NO_OPTION"
            } else {
                "QUOTED"
            }
            .to_string()
        }
        Some(Response::RiskAssessment(r)) => {
            fraud_probability = Some(r.fraud_probability);
            super::pages::names::risk(r.decision).to_string()
        }
        Some(Response::ReturnDecision(r)) => {
            if !r.node.is_empty() {
                nodes.push(r.node.clone());
            }
            super::pages::names::return_disposition(r.disposition).to_string()
        }
        _ => String::new(),
    };
    nodes.sort();
    nodes.dedup();
    Facts {
        customer,
        nodes,
        disposition,
        fraud_probability,
    }
}
