//! Models that change while serving, through a real server with the shipped
//! ONNX models: reloading each model under load fails no request; each kind
//! of bad model is refused with its gate named and the live one keeps
//! serving; rollback; a shadow scored beside the live model and recorded on
//! the decision; replay that refuses another model file or another
//! configuration. Drift: `model_drift_over_grpc.rs`.
#![allow(clippy::unwrap_used)] // a test may unwrap: a panic is its failure

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use allot_proto::v1 as pb;
use allot_proto::v1::admin_service_client::AdminServiceClient;
use allot_proto::v1::allocation_service_client::AllocationServiceClient;
use allot_proto::v1::decision_service_client::DecisionServiceClient;
use allot_proto::v1::promise_service_client::PromiseServiceClient;
use allot_proto::v1::risk_service_client::RiskServiceClient;
use allot_server::Config;
use common::orders::{line, order, promise, score_request};
use common::{TestServer, fresh_data_dir, test_config};
use tonic::Code;
use tonic::transport::Channel;

/// The shipped models.
const MODELS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../models");
/// A valid fraud model, clearly weaker than the shipped one on the same
/// held-out rows (made by `models/training/weak_fixture.py`).
const WEAK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/models/fraud-weak");

/// The files a models directory holds for the fraud and ETA models.
const FILES: [&str; 6] = [
    "fraud.onnx",
    "fraud.lgb.txt",
    "cards/fraud.json",
    "eta.onnx",
    "eta.calibration.json",
    "cards/eta.json",
];

/// A copy of the shipped models in a fresh directory.
fn copy_models() -> PathBuf {
    copy_from(Path::new(MODELS))
}

/// A copy of the fraud and ETA files of `from` (the shipped ETA files where
/// `from` has none) in a fresh directory.
fn copy_from(from: &Path) -> PathBuf {
    let dir = fresh_data_dir();
    std::fs::create_dir_all(dir.join("cards")).unwrap();
    for file in FILES {
        let source = if from.join(file).exists() {
            from.join(file)
        } else {
            Path::new(MODELS).join(file)
        };
        std::fs::copy(&source, dir.join(file)).unwrap();
    }
    dir
}

fn edit_json(path: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let mut value: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    edit(&mut value);
    std::fs::write(path, serde_json::to_vec_pretty(&value).unwrap()).unwrap();
}

/// Gives the fraud model of `dir` the version `version` (on its card).
fn set_fraud_version(dir: &Path, version: &str) {
    edit_json(&dir.join("cards/fraud.json"), |card| {
        card["version"] = version.into();
    });
}

/// Writes `bytes` as `dir`'s fraud model and puts their hash on its card:
/// the file is what its card says it is.
fn reseal_fraud(dir: &Path, bytes: &[u8]) {
    std::fs::write(dir.join("fraud.onnx"), bytes).unwrap();
    let sha = allot_service::hash::sha256_hex(bytes);
    edit_json(&dir.join("cards/fraud.json"), |card| {
        card["onnx"]["sha256"] = sha.into();
        card["onnx"]["bytes"] = bytes.len().into();
    });
}

/// The shipped fraud model with an unknown protobuf field appended: the
/// same trees, another file (another hash).
fn same_trees_other_file() -> Vec<u8> {
    let mut bytes = std::fs::read(Path::new(MODELS).join("fraud.onnx")).unwrap();
    // Field 1000, varint 1: ONNX Runtime skips a field it does not know.
    bytes.extend_from_slice(&[0xC0, 0x3E, 0x01]);
    bytes
}

async fn admin(server: &TestServer) -> AdminServiceClient<Channel> {
    AdminServiceClient::new(server.channel().await)
}

async fn reload(
    server: &TestServer,
    dir: &Path,
    models: &[pb::ModelKind],
    shadow: bool,
) -> Result<pb::ReloadModelsResponse, tonic::Status> {
    admin(server)
        .await
        .reload_models(pb::ReloadModelsRequest {
            model_dir: dir.display().to_string(),
            models: models.iter().map(|m| *m as i32).collect(),
            shadow,
        })
        .await
        .map(|r| r.into_inner())
}

async fn loaded(server: &TestServer) -> Vec<pb::ModelCard> {
    admin(server)
        .await
        .get_model_info(pb::GetModelInfoRequest {})
        .await
        .unwrap()
        .into_inner()
        .models
}

/// The card of the `kind` model in `role`.
fn card(
    cards: &[pb::ModelCard],
    kind: pb::ModelKind,
    role: pb::ModelRole,
) -> Option<pb::ModelCard> {
    cards
        .iter()
        .find(|c| c.kind == kind as i32 && c.role == role as i32)
        .cloned()
}

async fn live_fraud(server: &TestServer) -> pb::ModelCard {
    card(
        &loaded(server).await,
        pb::ModelKind::Fraud,
        pb::ModelRole::Live,
    )
    .unwrap()
}

/// A known customer's order `id` worth a few dollars.
fn known(id: &str, customer: &str) -> pb::ScoreOrderRequest {
    let mut request = score_request(id, vec![line("a", "SKU-000001", 1)], "10001");
    request.context = Some(pb::OrderContext {
        customer_id: customer.into(),
        device_id: format!("dev-{customer}"),
        card_fingerprint: format!("card-{customer}"),
        account_created_at: Some(prost_types::Timestamp {
            seconds: 1_600_000_000,
            nanos: 0,
        }),
        ..Default::default()
    });
    request
}

async fn score(server: &TestServer, request: pb::ScoreOrderRequest) -> pb::RiskAssessment {
    RiskServiceClient::new(server.channel().await)
        .score_order(request)
        .await
        .unwrap()
        .into_inner()
}

async fn record(server: &TestServer, id: &str) -> pb::DecisionRecord {
    DecisionServiceClient::new(server.channel().await)
        .explain_decision(pb::ExplainDecisionRequest {
            decision_id: id.into(),
        })
        .await
        .unwrap()
        .into_inner()
}

async fn replay(
    server: &TestServer,
    id: &str,
) -> Result<pb::ReplayDecisionResponse, tonic::Status> {
    DecisionServiceClient::new(server.channel().await)
        .replay_decision(pb::ReplayDecisionRequest {
            decision_id: id.into(),
        })
        .await
        .map(|r| r.into_inner())
}

async fn serving(change: impl FnOnce(&mut Config)) -> TestServer {
    let mut config = test_config();
    change(&mut config);
    let server = TestServer::start(config).await;
    server.wait_serving().await;
    server
}

fn assert_refused(status: &tonic::Status, gate: &str) {
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert!(
        status
            .message()
            .contains(&format!("refused by the {gate} gate")),
        "the {gate} gate is named: {status:?}"
    );
    assert!(
        status.message().contains("the live version keeps serving"),
        "{status:?}"
    );
}

/// Calls ScoreOrder, GetDeliveryPromise and Allocate (quote only) in a loop
/// from `workers` tasks until stopped; counts answers and keeps failures.
struct Load {
    stop: Arc<AtomicBool>,
    answered: Arc<AtomicU64>,
    tasks: Vec<tokio::task::JoinHandle<Vec<String>>>,
}

impl Load {
    async fn start(server: &TestServer, workers: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let answered = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for w in 0..workers {
            let channel = server.channel().await;
            let stop = stop.clone();
            let answered = answered.clone();
            tasks.push(tokio::spawn(async move {
                let mut risk = RiskServiceClient::new(channel.clone());
                let mut promises = PromiseServiceClient::new(channel.clone());
                let mut allocation = AllocationServiceClient::new(channel);
                let mut failures = Vec::new();
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let id = format!("o-load-{w}-{i}");
                    let lines = || vec![line("a", "SKU-000001", 1), line("b", "SKU-000002", 1)];
                    let now = prost_types::Timestamp::from(SystemTime::now());
                    let results = [
                        risk.score_order(known(&id, &format!("c-{w}-{}", i % 7)))
                            .await
                            .map(drop),
                        promises
                            .get_delivery_promise(promise(lines(), "10001", now))
                            .await
                            .map(drop),
                        allocation
                            .allocate(order(&id, lines(), "30301"))
                            .await
                            .map(drop),
                    ];
                    for result in results {
                        match result {
                            Ok(()) => {
                                answered.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(status) => failures.push(format!("{id}: {status:?}")),
                        }
                    }
                }
                failures
            }));
        }
        Load {
            stop,
            answered,
            tasks,
        }
    }

    /// Waits until `more` further calls were answered.
    async fn answers(&self, more: u64) {
        let target = self.answered.load(Ordering::Relaxed) + more;
        while self.answered.load(Ordering::Relaxed) < target {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stops the workers; every failure they saw.
    async fn stop(self) -> Vec<String> {
        self.stop.store(true, Ordering::Relaxed);
        let mut failures = Vec::new();
        for task in self.tasks {
            failures.extend(task.await.unwrap());
        }
        failures
    }
}

#[tokio::test]
async fn reloading_each_model_under_load_fails_no_request_and_rollback_restores_the_previous_version()
 {
    // Gates score thousands of rows beside the load: on a busy machine a
    // solve may wait for a core, so the load's calls get a budget a reload
    // cannot exhaust (a shed call is an answer, but not the one asserted).
    let server = serving(|config| config.allocation.default_budget_ms = 1_000).await;
    let shipped = loaded(&server).await;
    let shipped_fraud = card(&shipped, pb::ModelKind::Fraud, pb::ModelRole::Live).unwrap();
    let shipped_eta = card(&shipped, pb::ModelKind::Eta, pb::ModelRole::Live).unwrap();
    assert_eq!(shipped_fraud.sha256.len(), 64);
    assert_eq!(shipped_eta.sha256.len(), 64);
    let a = copy_models();
    set_fraud_version(&a, "fraud-reloaded-a");
    let b = copy_models();
    set_fraud_version(&b, "fraud-reloaded-b");

    let load = Load::start(&server, 3).await;
    load.answers(30).await;

    // Fraud alone.
    let answer = reload(&server, &a, &[pb::ModelKind::Fraud], false)
        .await
        .unwrap();
    assert_eq!(answer.models.len(), 1, "{answer:?}");
    assert_eq!(answer.models[0].version, "fraud-reloaded-a");
    assert_eq!(
        answer.models[0].sha256, shipped_fraud.sha256,
        "the same file"
    );
    let gates: Vec<&str> = answer.models[0]
        .gates
        .iter()
        .map(|g| g.gate.as_str())
        .collect();
    assert_eq!(
        gates,
        ["schema", "sha256", "load", "parity", "explainer", "quality"],
        "{answer:?}"
    );
    assert_eq!(answer.previous[0].version, shipped_fraud.version);
    load.answers(30).await;

    // ETA alone: its calibration belongs to it.
    let answer = reload(&server, &a, &[pb::ModelKind::Eta], false)
        .await
        .unwrap();
    assert_eq!(answer.models.len(), 1, "{answer:?}");
    assert_eq!(answer.models[0].kind, pb::ModelKind::Eta as i32);
    assert_eq!(
        answer.models[0].path,
        a.join("eta.onnx").display().to_string()
    );
    let gates: Vec<&str> = answer.models[0]
        .gates
        .iter()
        .map(|g| g.gate.as_str())
        .collect();
    assert!(
        gates.contains(&"calibration") && gates.contains(&"quality"),
        "{gates:?}"
    );
    load.answers(30).await;

    // Both at once.
    let answer = reload(&server, &b, &[], false).await.unwrap();
    assert_eq!(answer.models.len(), 2, "{answer:?}");
    load.answers(30).await;

    // Decisions name the version that decided them.
    let scored = score(&server, known("o-after-b", "c-after-b")).await;
    assert_eq!(scored.model_version, "fraud-reloaded-b");

    // Rollback: b's predecessor (a) is live again, b kept as the previous.
    let back = admin(&server)
        .await
        .rollback_models(pb::RollbackModelsRequest {
            models: vec![pb::ModelKind::Fraud as i32],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(back.models[0].version, "fraud-reloaded-a");
    assert_eq!(back.previous[0].version, "fraud-reloaded-b");
    load.answers(30).await;
    let failures = load.stop().await;
    assert!(
        failures.is_empty(),
        "requests failed during reloads: {failures:#?}"
    );

    let scored = score(&server, known("o-after-rollback", "c-after-rollback")).await;
    assert_eq!(scored.model_version, "fraud-reloaded-a");
    let now = loaded(&server).await;
    assert_eq!(
        card(&now, pb::ModelKind::Fraud, pb::ModelRole::Previous)
            .unwrap()
            .version,
        "fraud-reloaded-b"
    );
    // A second rollback undoes the first.
    admin(&server)
        .await
        .rollback_models(pb::RollbackModelsRequest::default())
        .await
        .unwrap();
    assert_eq!(live_fraud(&server).await.version, "fraud-reloaded-b");
    server.stop().await.unwrap();
    for dir in [a, b] {
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[tokio::test]
async fn each_kind_of_bad_model_is_refused_naming_its_gate_and_the_live_one_keeps_serving() {
    let server = serving(|_| {}).await;
    let before = loaded(&server).await;
    let mut dirs = Vec::new();

    // Wrong features: the card's schema is not what this server computes.
    let wrong_features = copy_models();
    edit_json(&wrong_features.join("cards/fraud.json"), |card| {
        card["features"][7]["name"] = "account_age_hours".into();
    });
    let status = reload(&server, &wrong_features, &[pb::ModelKind::Fraud], false)
        .await
        .unwrap_err();
    assert_refused(&status, "schema");
    assert!(status.message().contains("account_age_hours"), "{status:?}");
    dirs.push(wrong_features);

    // Hash mismatch: the file is not the one its card describes.
    let mismatch = copy_models();
    std::fs::write(mismatch.join("fraud.onnx"), same_trees_other_file()).unwrap();
    let status = reload(&server, &mismatch, &[pb::ModelKind::Fraud], false)
        .await
        .unwrap_err();
    assert_refused(&status, "sha256");
    dirs.push(mismatch);

    // A corrupted file (cut short), though its card carries its hash.
    let corrupted = copy_models();
    let bytes = std::fs::read(corrupted.join("fraud.onnx")).unwrap();
    reseal_fraud(&corrupted, &bytes[..bytes.len() / 2]);
    let status = reload(&server, &corrupted, &[pb::ModelKind::Fraud], false)
        .await
        .unwrap_err();
    assert_refused(&status, "load");
    dirs.push(corrupted);

    // Parity: the model does not give the outputs its card recorded.
    let parity = copy_models();
    edit_json(&parity.join("cards/fraud.json"), |card| {
        let sample = &mut card["samples"][0]["lightgbm"];
        let p = sample["probability"].as_f64().unwrap();
        sample["probability"] = (1.0 - p).into();
    });
    let status = reload(&server, &parity, &[pb::ModelKind::Fraud], false)
        .await
        .unwrap_err();
    assert_refused(&status, "parity");
    dirs.push(parity);

    // Worse quality: a valid model, clearly weaker on the held-out rows.
    let weak = copy_from(Path::new(WEAK));
    let status = reload(&server, &weak, &[pb::ModelKind::Fraud], false)
        .await
        .unwrap_err();
    assert_refused(&status, "quality");
    assert!(status.message().contains("AUC"), "{status:?}");
    dirs.push(weak);

    // An ETA calibration fitted for another model version.
    let calibration = copy_models();
    edit_json(&calibration.join("eta.calibration.json"), |c| {
        c["model_version"] = "eta-some-other-version".into();
    });
    let status = reload(&server, &calibration, &[pb::ModelKind::Eta], false)
        .await
        .unwrap_err();
    assert_refused(&status, "calibration");
    dirs.push(calibration);

    // All or nothing: a good ETA model with a bad fraud model changes
    // neither.
    let half = copy_models();
    edit_json(&half.join("cards/fraud.json"), |card| {
        card["features"][0]["name"] = "order_total".into();
    });
    let status = reload(&server, &half, &[], false).await.unwrap_err();
    assert_refused(&status, "schema");
    dirs.push(half);

    // Nothing changed, and the live models still decide.
    assert_eq!(loaded(&server).await, before);
    let scored = score(&server, known("o-still", "c-still")).await;
    let live = card(&before, pb::ModelKind::Fraud, pb::ModelRole::Live).unwrap();
    assert_eq!(scored.model_version, live.version);
    server.stop().await.unwrap();
    for dir in dirs {
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[tokio::test]
async fn a_weaker_model_passes_the_quality_gate_when_the_configured_margin_allows_it() {
    let server = serving(|c| c.models.reload_fraud_auc_margin = 1.0).await;
    let weak = copy_from(Path::new(WEAK));
    let answer = reload(&server, &weak, &[pb::ModelKind::Fraud], false)
        .await
        .unwrap();
    let quality = answer.models[0]
        .gates
        .iter()
        .find(|g| g.gate == "quality")
        .unwrap();
    assert!(quality.detail.contains("AUC"), "{quality:?}");
    server.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(weak);
}

#[tokio::test]
async fn a_shadow_scores_beside_the_live_model_never_deciding_and_is_recorded_on_the_decision() {
    let server = serving(|_| {}).await;
    let live = live_fraud(&server).await;
    let weak = copy_from(Path::new(WEAK));
    set_fraud_version(&weak, "fraud-shadow");
    // A shadow skips the quality gate: comparing it is what it is for.
    let answer = reload(&server, &weak, &[pb::ModelKind::Fraud], true)
        .await
        .unwrap();
    assert_eq!(answer.models[0].role, pb::ModelRole::Shadow as i32);
    let cards = loaded(&server).await;
    let shadow = card(&cards, pb::ModelKind::Fraud, pb::ModelRole::Shadow).unwrap();
    assert_eq!(shadow.version, "fraud-shadow");
    assert_ne!(shadow.sha256, live.sha256);

    let mut agreed = 0;
    let mut differed = 0;
    for i in 0..20 {
        let scored = score(
            &server,
            known(&format!("o-shadow-{i}"), &format!("c-shadow-{i}")),
        )
        .await;
        // The live model decides.
        assert_eq!(scored.model_version, live.version);
        let rec = record(&server, &scored.decision_id).await;
        let s = rec.shadow.expect("the shadow's score is recorded");
        let model = s.model.unwrap();
        assert_eq!(model.version, "fraud-shadow");
        assert_eq!(model.sha256, shadow.sha256);
        assert!(
            (0.0..=1.0).contains(&s.fraud_probability),
            "{}",
            s.fraud_probability
        );
        assert_eq!(s.agrees, s.decision == scored.decision);
        if (s.fraud_probability - scored.fraud_probability).abs() > 1e-6 {
            differed += 1;
        } else {
            agreed += 1;
        }
    }
    assert!(
        differed > 0,
        "another model scores differently ({agreed} equal)"
    );

    // Cleared: decisions carry no shadow score any more.
    let info = admin(&server)
        .await
        .clear_shadow_models(pb::ClearShadowModelsRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(card(&info.models, pb::ModelKind::Fraud, pb::ModelRole::Shadow).is_none());
    let scored = score(&server, known("o-no-shadow", "c-no-shadow")).await;
    assert!(record(&server, &scored.decision_id).await.shadow.is_none());
    server.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(weak);
}

#[tokio::test]
async fn replay_refuses_a_decision_made_by_another_model_file_or_under_another_configuration() {
    let server = serving(|_| {}).await;
    let scored = score(&server, known("o-replayed", "c-replayed")).await;
    assert!(
        replay(&server, &scored.decision_id)
            .await
            .unwrap()
            .identical
    );

    // The same version from another file: refused by its hash.
    let other = copy_models();
    reseal_fraud(&other, &same_trees_other_file());
    let answer = reload(&server, &other, &[pb::ModelKind::Fraud], false)
        .await
        .unwrap();
    let live = &answer.models[0];
    assert_eq!(live.version, scored.model_version, "the same version");
    let status = replay(&server, &scored.decision_id).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert!(status.message().contains("sha256"), "{status:?}");
    assert!(status.message().contains(&live.sha256), "{status:?}");

    // Back to the file that decided: identical again.
    admin(&server)
        .await
        .rollback_models(pb::RollbackModelsRequest::default())
        .await
        .unwrap();
    assert!(
        replay(&server, &scored.decision_id)
            .await
            .unwrap()
            .identical
    );

    // Another configuration (by its hash): refused, naming both.
    let server = server
        .restart_with(|c| c.models.risk.top_reasons += 1)
        .await;
    let status = replay(&server, &scored.decision_id).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert!(status.message().contains("configuration"), "{status:?}");
    server.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(other);
}

/// Waits until the live `kind` model's version is `version` (the watcher
/// reloaded it); panics after a minute.
async fn until_live(server: &TestServer, kind: pb::ModelKind, version: &str) {
    for _ in 0..600 {
        let now = loaded(server).await;
        if card(&now, kind, pb::ModelRole::Live).is_some_and(|c| c.version == version) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the watcher never made {version} live: {:#?}",
        loaded(server).await
    );
}

#[tokio::test]
async fn a_watched_directory_reloads_changed_models_through_the_gates() {
    let dir = copy_models();
    let served = dir.clone();
    let server = serving(move |config| {
        config.models.dir = Some(served);
        config.models.watch_interval_s = 1;
    })
    .await;
    let shipped = live_fraud(&server).await;

    // A new fraud version written into the served directory goes live.
    set_fraud_version(&dir, "fraud-watched");
    until_live(&server, pb::ModelKind::Fraud, "fraud-watched").await;
    let scored = score(&server, known("o-watched", "c-watched")).await;
    assert_eq!(scored.model_version, "fraud-watched");
    let previous = card(
        &loaded(&server).await,
        pb::ModelKind::Fraud,
        pb::ModelRole::Previous,
    );
    assert_eq!(previous.unwrap().version, shipped.version);

    // A corrupted fraud file, then a new ETA version: the watcher reads the
    // ETA change no earlier than the fraud one and tries fraud first, so
    // once the ETA version is live the corrupted fraud model was refused.
    let good = std::fs::read(dir.join("fraud.onnx")).unwrap();
    std::fs::write(dir.join("fraud.onnx"), &good[..good.len() / 2]).unwrap();
    edit_json(&dir.join("cards/eta.json"), |card| {
        card["version"] = "eta-watched".into();
    });
    edit_json(&dir.join("eta.calibration.json"), |c| {
        c["model_version"] = "eta-watched".into();
    });
    until_live(&server, pb::ModelKind::Eta, "eta-watched").await;
    assert_eq!(live_fraud(&server).await.version, "fraud-watched");
    let scored = score(&server, known("o-after-corrupt", "c-after-corrupt")).await;
    assert_eq!(scored.model_version, "fraud-watched");

    // Repaired files with a new version are tried again, and go live.
    std::fs::write(dir.join("fraud.onnx"), &good).unwrap();
    set_fraud_version(&dir, "fraud-watched-2");
    until_live(&server, pb::ModelKind::Fraud, "fraud-watched-2").await;

    server.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

/// A promise for two units to 10001 at `now`.
async fn quote(server: &TestServer, now: SystemTime) -> pb::PromiseResponse {
    let lines = vec![line("a", "SKU-000001", 1), line("b", "SKU-000002", 1)];
    PromiseServiceClient::new(server.channel().await)
        .get_delivery_promise(promise(lines, "10001", prost_types::Timestamp::from(now)))
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test]
async fn an_eta_shadow_predicts_beside_the_live_model_and_is_recorded_on_the_promise() {
    let server = serving(|_| {}).await;
    let now = SystemTime::now();
    let before = quote(&server, now).await;
    assert!(!before.options.is_empty());
    let first = record(&server, &before.decision_id).await;
    assert!(first.eta_shadow.is_none(), "no shadow loaded yet");

    // The same model with windows 1.5 days wider at the top: its q90 is
    // later on every lane, its q50 the same.
    let wider = copy_models();
    edit_json(&wider.join("cards/eta.json"), |card| {
        card["version"] = "eta-shadow".into();
    });
    edit_json(&wider.join("eta.calibration.json"), |c| {
        c["model_version"] = "eta-shadow".into();
        for w in c["window"].as_array_mut().unwrap() {
            let upper = w["upper_days"].as_f64().unwrap();
            w["upper_days"] = (upper + 1.5).into();
        }
    });
    let answer = reload(&server, &wider, &[pb::ModelKind::Eta], true)
        .await
        .unwrap();
    assert_eq!(answer.models[0].role, pb::ModelRole::Shadow as i32);
    let cards = loaded(&server).await;
    assert_eq!(
        card(&cards, pb::ModelKind::Eta, pb::ModelRole::Shadow)
            .unwrap()
            .version,
        "eta-shadow"
    );

    // The live version still decides: the same options as before.
    let after = quote(&server, now).await;
    let dates = |r: &pb::PromiseResponse| -> Vec<_> {
        r.options
            .iter()
            .map(|o| (o.service_level, o.latest_delivery_date.clone()))
            .collect()
    };
    assert_eq!(dates(&after), dates(&before));
    let rec = record(&server, &after.decision_id).await;
    let shadow = rec.eta_shadow.expect("the shadow's prediction is recorded");
    assert_eq!(shadow.model.unwrap().version, "eta-shadow");
    assert!(!shadow.shipments.is_empty());
    for s in &shadow.shipments {
        assert!((s.shadow_q50 - s.live_q50).abs() < 1e-9, "{s:?}");
        assert!((s.shadow_q90 - s.live_q90 - 1.5).abs() < 1e-6, "{s:?}");
    }
    assert!(!shadow.agrees, "a q90 1.5 days later moves the latest day");
    // The live quantiles are those the promise recorded as its features
    // (a quote from the cache refers to the record that holds them).
    let features = if rec.state_recorded_by.is_empty() {
        &rec.features
    } else {
        assert_eq!(rec.state_recorded_by, before.decision_id);
        &first.features
    };
    let recorded_q50: Vec<f64> = features
        .iter()
        .filter(|(k, _)| k.ends_with(".q50"))
        .map(|(_, v)| *v)
        .collect();
    for s in &shadow.shipments {
        assert!(
            recorded_q50.iter().any(|q| (q - s.live_q50).abs() < 1e-9),
            "{s:?} not among {recorded_q50:?}"
        );
    }

    admin(&server)
        .await
        .clear_shadow_models(pb::ClearShadowModelsRequest {})
        .await
        .unwrap();
    let cleared = quote(&server, now).await;
    assert!(
        record(&server, &cleared.decision_id)
            .await
            .eta_shadow
            .is_none()
    );
    server.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(wider);
}
