//! Replicas behind one address: three real `allot serve` processes sharing
//! a throwaway PostgreSQL ledger and NATS JetStream bus
//! (`allot_tests::replicas`). In one run, on one database and bus:
//! - 64 clients spread over the replicas race for the last units of a few
//!   SKUs: no oversell, every replica's reserved units equal the baseline
//!   plus the sum of the acknowledged holds, and every acknowledged
//!   reservation is confirmable on another replica;
//! - an idempotency key retried on the other replicas answers the first
//!   answer byte for byte;
//! - `kill -9` of one replica mid-load: every acknowledged reservation is
//!   still there, the others kept answering, and the restarted replica
//!   converges to its peers' stock;
//! - the database stopped mid-load: commits fail with UNAVAILABLE while it
//!   is down (quotes still answer), nothing acknowledged is lost, and
//!   commits resume by themselves once it is back.
#![allow(clippy::unwrap_used)] // a test may unwrap: a panic is its failure

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use allot_client::proto as pb;
use allot_client::proto::decision_service_client::DecisionServiceClient;
use allot_client::{AllotClient, ServingStatus};
use allot_tests::crash::workload::{Levels, Workload, read_levels};
use allot_tests::replicas::Fleet;
use prost::Message;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tokio::sync::Mutex;

/// Clients racing for the contested SKUs.
const CLIENTS: usize = 64;
/// Committing orders each racing client sends.
const ORDERS_PER_CLIENT: usize = 4;
/// Contested SKUs.
const SKUS: usize = 3;
/// Tries of an order the replica sheds for overload.
const SHED_RETRIES: usize = 200;
/// Longest wait for the replicas' snapshots to agree.
const CONVERGE: Duration = Duration::from_secs(60);

/// What the clients were told: acknowledged reservations by id, with their
/// units, and the replica that made each.
#[derive(Default)]
struct Acked {
    reservations: BTreeMap<String, (usize, Vec<pb::ReservedUnits>)>,
    commits: usize,
    /// Orders sent without an answer (their replica died).
    unknown: Vec<pb::AllocateRequest>,
}

impl Acked {
    fn take(&mut self, replica: usize, response: &pb::AllocateResponse) {
        self.commits += 1;
        if let Some(r) = &response.reservation {
            assert_eq!(r.state(), pb::ReservationState::Held, "a new hold is HELD");
            self.reservations
                .insert(r.reservation_id.clone(), (replica, r.units.clone()));
        }
    }

    /// Units held per (node, SKU) by the reservations still held.
    fn held(&self, confirmed: &BTreeMap<String, ()>) -> BTreeMap<(String, String), i64> {
        let mut held = BTreeMap::new();
        for (id, (_, units)) in &self.reservations {
            if confirmed.contains_key(id) {
                continue;
            }
            for u in units {
                *held.entry((u.node.clone(), u.sku.clone())).or_insert(0) += i64::from(u.quantity);
            }
        }
        held
    }
}

/// Sends one order to `api`, again (same key) while the replica sheds it
/// for overload; the answer, or the error status.
async fn commit(
    api: &AllotClient,
    order: pb::AllocateRequest,
) -> Result<pb::AllocateResponse, tonic::Status> {
    let mut backoff = Duration::from_millis(20);
    for _ in 0..SHED_RETRIES {
        let mut request = tonic::Request::new(order.clone());
        request.set_timeout(Duration::from_secs(30));
        match api.allocation().allocate(request).await {
            Err(status) if status.code() == tonic::Code::ResourceExhausted => {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_millis(500));
            }
            answer => return answer.map(|r| r.into_inner()),
        }
    }
    panic!("order {} shed {SHED_RETRIES} times", order.order_id)
}

/// Waits until every running replica in `replicas` reads the same levels
/// of the contested SKUs; returns them.
async fn converged(fleet: &Fleet, replicas: &[usize], skus: &[String]) -> Levels {
    let started = Instant::now();
    loop {
        let mut all = Vec::new();
        for &i in replicas {
            let api = fleet.client(i).await.unwrap();
            all.push(read_levels(&api, skus).await.unwrap());
        }
        if all.windows(2).all(|w| w[0] == w[1]) {
            return all.swap_remove(0);
        }
        assert!(
            started.elapsed() < CONVERGE,
            "replicas {replicas:?} still disagree after {CONVERGE:?}: {all:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Reserved units per (node, SKU) must be the baseline's plus `held`, and
/// no acknowledged hold may exceed what was available.
fn check_levels(
    phase: &str,
    baseline: &Levels,
    now: &Levels,
    held: &BTreeMap<(String, String), i64>,
    shipped: &BTreeMap<(String, String), i64>,
) {
    for (key, before) in baseline {
        let after = now.get(key).copied().unwrap();
        let units = held.get(key).copied().unwrap_or(0);
        let gone = shipped.get(key).copied().unwrap_or(0);
        assert!(
            units + gone <= before.available,
            "{phase}: {key:?}: {units} held + {gone} shipped of {} available: oversold",
            before.available
        );
        assert_eq!(
            after.reserved,
            before.reserved + units,
            "{phase}: {key:?}: reserved units are not the baseline plus the live holds"
        );
        assert_eq!(
            after.on_hand,
            before.on_hand - gone,
            "{phase}: {key:?}: on hand"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_one_ledger_without_overselling() {
    let bin = env!("CARGO_BIN_EXE_allot");
    let mut fleet = Fleet::start(bin, 3, Vec::new()).await.unwrap();
    let first = fleet.client(0).await.unwrap();
    let workload = Arc::new(Workload::discover(&first, SKUS, 2).await.unwrap());
    let baseline = workload.baseline.clone();
    let mut confirmed: BTreeMap<String, ()> = BTreeMap::new();
    let mut shipped: BTreeMap<(String, String), i64> = BTreeMap::new();

    // 1. The race.
    let acked = Arc::new(Mutex::new(Acked::default()));
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let replica = c % fleet.len();
        let api = fleet.client(replica).await.unwrap();
        let (workload, acked) = (workload.clone(), acked.clone());
        clients.push(tokio::spawn(async move {
            let mut rng = ChaCha8Rng::seed_from_u64(c as u64);
            for n in 0..ORDERS_PER_CLIENT {
                let order = workload.order(&mut rng, format!("race-{c}-{n}"));
                match commit(&api, order).await {
                    Ok(response) => acked.lock().await.take(replica, &response),
                    // Another replica took the units first four times:
                    // refused, nothing held.
                    Err(status) if status.code() == tonic::Code::Aborted => {}
                    Err(status) => panic!("client {c}: {status:?}"),
                }
            }
        }));
    }
    for client in clients {
        client.await.unwrap();
    }
    let acked = Arc::into_inner(acked).unwrap().into_inner();
    assert!(acked.commits > 0);
    assert!(
        !acked.reservations.is_empty(),
        "the race reserved nothing: nothing was tested"
    );
    let levels = converged(&fleet, &[0, 1, 2], &workload.skus).await;
    check_levels(
        "race",
        &baseline,
        &levels,
        &acked.held(&confirmed),
        &shipped,
    );
    let sold_out = baseline
        .iter()
        .filter(|(k, b)| b.available > 0 && levels[*k].available == 0)
        .count();
    eprintln!(
        "race: {} commits acknowledged, {} reservations, {sold_out} (node, SKU) sold out",
        acked.commits,
        acked.reservations.len()
    );
    // Every acknowledged reservation is confirmable on another replica.
    for (id, (made_on, units)) in &acked.reservations {
        let other = fleet.client((made_on + 1) % fleet.len()).await.unwrap();
        let done = other
            .allocation()
            .confirm_reservation(pb::ConfirmReservationRequest {
                reservation_id: id.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(done.state(), pb::ReservationState::Confirmed, "{id}");
        confirmed.insert(id.clone(), ());
        for u in units {
            *shipped.entry((u.node.clone(), u.sku.clone())).or_insert(0) += i64::from(u.quantity);
        }
    }
    let levels = converged(&fleet, &[0, 1, 2], &workload.skus).await;
    check_levels(
        "confirmed elsewhere",
        &baseline,
        &levels,
        &acked.held(&confirmed),
        &shipped,
    );

    // 2. A key retried on the other replicas answers the first answer; a
    // watch on another replica sees the commit's event.
    let watcher = fleet.client(2).await.unwrap();
    let mut feed = DecisionServiceClient::new(watcher.authorized())
        .watch_decisions(pb::WatchDecisionsRequest {
            from_position: None,
            kinds: Vec::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let mut rng = ChaCha8Rng::seed_from_u64(1_000);
    let order = workload.order(&mut rng, "retried-key".into());
    let first_answer = commit(&first, order.clone()).await.unwrap();
    let seen = tokio::time::timeout(CONVERGE, async {
        while let Some(event) = feed.message().await.unwrap() {
            if event.order_id == "retried-key" {
                return event;
            }
        }
        panic!("the feed ended");
    })
    .await
    .expect("replica 2's feed never showed the commit made on replica 0");
    assert_eq!(seen.kind(), pb::DecisionEventKind::OrderAllocated);
    assert_eq!(seen.decision_id, first_answer.decision_id);
    for i in 1..fleet.len() {
        let other = fleet.client(i).await.unwrap();
        let again = commit(&other, order.clone()).await.unwrap();
        assert_eq!(
            again.encode_to_vec(),
            first_answer.encode_to_vec(),
            "replica {i} answered the retried key differently"
        );
    }
    let mut acked = acked;
    acked.take(0, &first_answer);

    // 3. kill -9 of replica 2 mid-load.
    let stop = Arc::new(AtomicBool::new(false));
    let answered_by_survivors = Arc::new(AtomicUsize::new(0));
    let shared = Arc::new(Mutex::new(acked));
    let mut load = Vec::new();
    for c in 0..6 {
        let replica = c % fleet.len();
        let api = fleet.client(replica).await.unwrap();
        let (workload, acked, stop, survivors) = (
            workload.clone(),
            shared.clone(),
            stop.clone(),
            answered_by_survivors.clone(),
        );
        load.push(tokio::spawn(async move {
            let mut rng = ChaCha8Rng::seed_from_u64(10_000 + c as u64);
            let mut n = 0;
            while !stop.load(Ordering::Acquire) {
                n += 1;
                let order = workload.order(&mut rng, format!("kill-{c}-{n}"));
                match commit(&api, order.clone()).await {
                    Ok(response) => {
                        acked.lock().await.take(replica, &response);
                        if replica != 2 {
                            survivors.fetch_add(1, Ordering::AcqRel);
                        }
                    }
                    // The killed replica's clients see it die: whether the
                    // order committed is unknown until its key is asked.
                    Err(_) if replica == 2 => {
                        acked.lock().await.unknown.push(order);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    Err(status) if status.code() == tonic::Code::Aborted => {}
                    Err(status) => panic!("client {c} on replica {replica}: {status:?}"),
                }
            }
        }));
    }
    wait_for(&shared, 10).await;
    fleet.kill(2).unwrap();
    let before = answered_by_survivors.load(Ordering::Acquire);
    let started = Instant::now();
    while answered_by_survivors.load(Ordering::Acquire) < before + 10 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the surviving replicas stopped answering"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, Ordering::Release);
    for task in load {
        task.await.unwrap();
    }
    fleet.spawn(2).await.unwrap();
    let mut acked = Arc::into_inner(shared).unwrap().into_inner();
    // The orders whose answer died with replica 2, asked again on replica
    // 0 under the same key: the first answer if they committed.
    for order in std::mem::take(&mut acked.unknown) {
        match commit(&first, order).await {
            Ok(response) => acked.take(0, &response),
            Err(status) if status.code() == tonic::Code::Aborted => {}
            Err(status) => panic!("{status:?}"),
        }
    }
    all_there(&fleet, &acked, &confirmed, 2).await;
    let levels = converged(&fleet, &[0, 1, 2], &workload.skus).await;
    check_levels(
        "after kill -9",
        &baseline,
        &levels,
        &acked.held(&confirmed),
        &shipped,
    );

    // 4. The database stopped mid-load, then started again.
    fleet.postgres.stop().unwrap();
    let api = fleet.client(1).await.unwrap();
    health_becomes(&api, ServingStatus::NotServing).await;
    let mut rng = ChaCha8Rng::seed_from_u64(20_000);
    for n in 0..3 {
        let order = workload.order(&mut rng, format!("down-{n}"));
        let status = commit(&api, order).await.unwrap_err();
        assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    }
    let mut quote = workload.order(&mut rng, "quote-while-down".into());
    if let Some(options) = quote.options.as_mut() {
        options.commit = false;
        options.idempotency_key.clear();
    }
    commit(&api, quote)
        .await
        .expect("a quote answers from the snapshot while the database is down");
    fleet.postgres.start_again().unwrap();
    health_becomes(&api, ServingStatus::Serving).await;
    let started = Instant::now();
    loop {
        let order = workload.order(&mut rng, format!("back-{}", acked.commits));
        match commit(&api, order).await {
            Ok(response) => {
                acked.take(1, &response);
                break;
            }
            Err(status) => {
                assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
                assert!(
                    started.elapsed() < Duration::from_secs(60),
                    "commits did not resume after the database came back"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    all_there(&fleet, &acked, &confirmed, 0).await;
    let levels = converged(&fleet, &[0, 1, 2], &workload.skus).await;
    check_levels(
        "after the database restart",
        &baseline,
        &levels,
        &acked.held(&confirmed),
        &shipped,
    );
}

/// Waits until the replica's `allot.ledger` health is `want`.
async fn health_becomes(api: &AllotClient, want: ServingStatus) {
    let started = Instant::now();
    while api.health("allot.ledger").await.ok() != Some(want) {
        assert!(
            started.elapsed() < CONVERGE,
            "allot.ledger never became {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until at least `count` more commits were acknowledged.
async fn wait_for(acked: &Mutex<Acked>, count: usize) {
    let from = acked.lock().await.commits;
    let started = Instant::now();
    while acked.lock().await.commits < from + count {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no commits were acknowledged"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every acknowledged reservation reads back from replica `on` in the
/// state the clients last saw.
async fn all_there(fleet: &Fleet, acked: &Acked, confirmed: &BTreeMap<String, ()>, on: usize) {
    let api = fleet.client(on).await.unwrap();
    for id in acked.reservations.keys() {
        let r = api
            .allocation()
            .get_reservation(pb::GetReservationRequest {
                reservation_id: id.clone(),
            })
            .await
            .unwrap_or_else(|s| panic!("acknowledged reservation {id} lost: {s:?}"))
            .into_inner();
        let want = if confirmed.contains_key(id) {
            pb::ReservationState::Confirmed
        } else {
            pb::ReservationState::Held
        };
        assert_eq!(r.state(), want, "{id}");
    }
}
