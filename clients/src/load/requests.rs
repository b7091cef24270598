//! The requests of a load run, generated before it starts so the run spends
//! its time sending, not building: a pool of random orders of the served
//! network and the promise carts and risk requests made from them.

use tonic_health::pb::HealthCheckRequest;

use super::mix::{Mix, RpcKind};
use crate::proto as pb;
use crate::random::{attach_buyer, promised_after, random_order, score_request};

/// Default number of distinct random orders in a pool.
pub const DEFAULT_POOL_SIZE: usize = 1024;

/// One request, ready to send.
#[derive(Debug, Clone)]
pub enum Call {
    /// A health check.
    Health(HealthCheckRequest),
    /// An allocation (with or without commit).
    Allocate(pb::AllocateRequest),
    /// A delivery promise.
    Promise(pb::PromiseRequest),
    /// A fraud score.
    Score(pb::ScoreOrderRequest),
}

/// The pre-generated requests of a run and the rule mapping a request index
/// to its kind and message.
#[derive(Debug)]
pub struct RequestPlan {
    mix: Mix,
    allocate: Vec<pb::AllocateRequest>,
    promise: Vec<pb::PromiseRequest>,
    score: Vec<pb::ScoreOrderRequest>,
    /// Makes idempotency keys unique to this run.
    run_id: String,
}

/// One request in 20 of `allocate-commit` replays an earlier key.
const RETRY_EVERY: u64 = 20;
/// A retry replays the commit this many mix cycles earlier.
const RETRY_DISTANCE: u64 = 8;

impl RequestPlan {
    /// Builds `pool_size` random orders of `lines` lines from `network`
    /// (fetched with `include_skus`), order `k` from seed `seed + k`, and
    /// the carts and risk requests of the kinds `mix` sends. `run_id` makes
    /// the idempotency keys of this run unique.
    pub fn new(
        mix: Mix,
        network: &pb::NetworkDescription,
        seed: u64,
        lines: usize,
        pool_size: usize,
        run_id: impl Into<String>,
    ) -> RequestPlan {
        let needs_orders = mix.weights().iter().any(|(k, _)| k.needs_orders());
        let orders: Vec<pb::AllocateRequest> = if needs_orders {
            (0..pool_size.max(1) as u64)
                .map(|k| random_order(network, seed.wrapping_add(k), lines))
                .collect()
        } else {
            Vec::new()
        };
        let promise = if mix.contains(RpcKind::Promise) {
            orders.iter().map(promise_request).collect()
        } else {
            Vec::new()
        };
        let score = if mix.contains(RpcKind::Score) {
            orders
                .iter()
                .enumerate()
                .map(|(k, o)| score_request(k, o))
                .collect()
        } else {
            Vec::new()
        };
        let allocate = if mix.weights().iter().any(|(k, _)| k.is_allocation()) {
            let promised_by = promise_horizon(std::time::SystemTime::now());
            orders
                .iter()
                .enumerate()
                .map(|(k, o)| one_call_order(k, o, promised_by))
                .collect()
        } else {
            Vec::new()
        };
        RequestPlan {
            mix,
            allocate,
            promise,
            score,
            run_id: run_id.into(),
        }
    }

    /// The plan with plain allocations: no buyer and no promised date, so
    /// Allocate neither scores fraud nor prices lateness (the allocation
    /// alone, for comparison with the one call).
    pub fn plain_allocations(mut self) -> RequestPlan {
        for order in &mut self.allocate {
            order.context = None;
            order.promised_by = None;
        }
        self
    }

    /// The mix of the run.
    pub fn mix(&self) -> &Mix {
        &self.mix
    }

    /// The kind and message of request `index`. Deterministic given the
    /// pool (keys aside): the same index always sends the same order.
    pub fn call(&self, index: u64) -> (RpcKind, Call) {
        let slot = |pool_len: usize, i: u64| (i % pool_len as u64) as usize;
        match self.mix.kind_at(index) {
            RpcKind::Health => (RpcKind::Health, Call::Health(HealthCheckRequest::default())),
            RpcKind::Allocate => {
                let order = &self.allocate[slot(self.allocate.len(), index)];
                (RpcKind::Allocate, Call::Allocate(order.clone()))
            }
            RpcKind::AllocateCommit | RpcKind::AllocateCommitRetry => {
                let (kind, original) = match retry_of(index, self.mix.period()) {
                    Some(earlier) => (RpcKind::AllocateCommitRetry, earlier),
                    None => (RpcKind::AllocateCommit, index),
                };
                let mut order = self.allocate[slot(self.allocate.len(), original)].clone();
                order.order_id = format!("load-{}-{original}", self.run_id);
                let options = order.options.get_or_insert_with(Default::default);
                options.commit = true;
                options.idempotency_key = order.order_id.clone();
                (kind, Call::Allocate(order))
            }
            RpcKind::Promise => {
                let cart = &self.promise[slot(self.promise.len(), index)];
                (RpcKind::Promise, Call::Promise(cart.clone()))
            }
            RpcKind::Score => {
                let request = &self.score[slot(self.score.len(), index)];
                (RpcKind::Score, Call::Score(request.clone()))
            }
        }
    }
}

/// For a committing request at `index` in a mix of cycle `period`: the
/// index of the earlier commit it replays, for one request in 20. The
/// earlier index has the same slot in the cycle, so it is a commit too, and
/// is never itself a retry.
pub fn retry_of(index: u64, period: u64) -> Option<u64> {
    let cycle = index / period;
    (cycle % RETRY_EVERY == RETRY_EVERY - 1 && cycle >= RETRY_DISTANCE)
        .then(|| index - RETRY_DISTANCE * period)
}

/// The promise cart of an order: its lines and destination, every service
/// level, placed now.
/// Days between the plan's creation and the delivery date promised on its
/// allocations: a ground parcel usually makes it, a slow lane sometimes not,
/// so the lateness term matters.
const PROMISE_DAYS: u32 = 5;

/// The promised delivery instant of a plan made at `now`.
fn promise_horizon(now: std::time::SystemTime) -> prost_types::Timestamp {
    promised_after(now, PROMISE_DAYS)
}

/// Allocate as an OMS calls it in one call: order `k` with its buyer (the
/// context of [`score_request`], so it is scored for fraud) and a promised
/// date (so the ETA model prices lateness).
fn one_call_order(
    k: usize,
    order: &pb::AllocateRequest,
    promised_by: prost_types::Timestamp,
) -> pb::AllocateRequest {
    let mut order = order.clone();
    attach_buyer(k, &mut order);
    order.promised_by = Some(promised_by);
    order
}

fn promise_request(order: &pb::AllocateRequest) -> pb::PromiseRequest {
    pb::PromiseRequest {
        lines: order.lines.clone(),
        destination: order.destination.clone(),
        order_time: None,
        explain_unavailable: false,
        service_levels: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn network() -> pb::NetworkDescription {
        crate::random::tests::network_with(20)
    }

    #[test]
    fn allocations_are_the_one_call_with_a_buyer_and_a_promise() {
        let mix: Mix = "allocate=1,score=1".parse().unwrap();
        let plan = RequestPlan::new(mix, &network(), 3, 2, 8, "run");
        let mut seen = 0;
        for index in 0..8 {
            if let (RpcKind::Allocate, Call::Allocate(order)) = plan.call(index) {
                seen += 1;
                assert!(order.context.is_some(), "{order:?}");
                let promised = order.promised_by.expect("a promised date");
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs() as i64;
                assert!(promised.seconds > now + 4 * 86_400, "{promised:?}");
            }
        }
        assert!(seen > 0);
        let plain = plan.plain_allocations();
        for index in 0..8 {
            if let (_, Call::Allocate(order)) = plain.call(index) {
                assert!(order.context.is_none() && order.promised_by.is_none());
            }
        }
    }

    #[test]
    fn retries_are_five_percent_of_commits_and_replay_a_commit() {
        let mix: Mix = "allocate=3,allocate-commit=1".parse().unwrap();
        let plan = RequestPlan::new(mix, &network(), 1, 3, 16, "t");
        let mut commits = 0;
        let mut retries = 0;
        for index in 0..4000 {
            match plan.call(index) {
                (RpcKind::AllocateCommitRetry, Call::Allocate(retry)) => {
                    retries += 1;
                    let earlier = retry_of(index, 4).unwrap();
                    let (kind, Call::Allocate(original)) = plan.call(earlier) else {
                        panic!("not an allocation");
                    };
                    assert_eq!(kind, RpcKind::AllocateCommit);
                    assert_eq!(retry, original, "a retry sends the same request and key");
                }
                (RpcKind::AllocateCommit, Call::Allocate(order)) => {
                    commits += 1;
                    let options = order.options.unwrap();
                    assert!(options.commit);
                    assert_eq!(options.idempotency_key, format!("load-t-{index}"));
                }
                (RpcKind::Allocate, Call::Allocate(order)) => {
                    assert!(!order.options.unwrap().commit);
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(commits + retries, 1000);
        assert_eq!(retries, 50);
    }

    #[test]
    fn carts_and_risk_requests_come_from_the_orders() {
        let mix: Mix = "promise=1,score=1".parse().unwrap();
        let plan = RequestPlan::new(mix, &network(), 9, 4, 8, "t");
        let (_, Call::Promise(cart)) = plan.call(0) else {
            panic!("promise first");
        };
        let (_, Call::Score(score)) = plan.call(1) else {
            panic!("score second");
        };
        assert_eq!(cart.lines.len(), 4);
        assert!(cart.destination.is_some());
        assert_eq!(score.lines.len(), 4);
        assert!(score.context.unwrap().account_created_at.is_some());
    }
}
