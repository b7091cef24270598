//! score-bench: times the models as the engine uses them, on realistic rows
//! from the synthetic world.
//!
//! - `fraud`: [`FraudModel::score`], one row (ONNX Runtime through ort).
//! - `eta`: [`EtaModel::quantiles`], one row (q10, q50, q90 in one run).
//! - `eta_batch50`: one [`EtaModel::quantiles_batch`] call over 50 candidate
//!   nodes of an order.
//! - `order`: one whole order's scoring as the engine does it with the ETA
//!   refresher the server runs: before the first order of each 15-minute
//!   bucket, [`EtaPredictor::prefill`] scores every lane of the network for
//!   that bucket (untimed, as the refresher does in the background); then
//!   the timed part is the feature-store lookup for the fraud features, the
//!   fraud score, and [`TransitPredictor::predict`] for the order's
//!   shipments (sorted, calibrated quantiles from the predictor's cache).
//!   Orders are replayed in time order; `--prefill-buckets` bounds how many
//!   buckets are replayed (each prefill scores every lane), and
//!   `--prefill-batch` buckets are prefilled together before their orders
//!   (the predictor's cache sized to hold them).
//! - `order_cold`: the same without the refresher: each shipment's ETA
//!   through an [`EtaCache`] of quantiles filled only by the orders
//!   themselves (a miss computes the features and runs the model), so the
//!   hit rate is the one the world's traffic gives. `order_prefetched` is
//!   that path with each order's ETAs put in the cache just before it.
//! - `reasons`: TreeSHAP contributions over the LightGBM ensemble (the
//!   precomputed `Ensemble::explainer` tables) plus the top-5
//!   [`fraud_reasons`] for one order; `reasons_recursive` is the same with
//!   the per-call recursion `Ensemble::contributions`.
//!
//! - `risk_assess`: the engine's ScoreOrder path as it is today,
//!   `RiskScorer::assess` (store lookup, fraud score, TreeSHAP reasons through
//!   the recursion, policy, then observe), on the same orders.
//!
//! The last line is one JSON object. `--dump-rows PATH` writes the fraud
//! rows timed here as CSV for `benches/lightgbm_baseline.py`.

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, UNIX_EPOCH};

use allot_benches::score::{OrderScorer, OrderStream, Summary, r2, time_calls, write_rows};
use allot_engine::transit::{Lane, TransitPredictor};
use allot_models::features::{
    EtaCache, FRAUD_FEATURE_COUNT, FRAUD_FEATURES, FeatureStore, StoreConfig,
};
use allot_models::risk::{RiskPolicy, RiskScorer};
use allot_models::scoring::{EtaModel, FraudModel, OrtRuntime};
use allot_models::shap::{Ensemble, fraud_reasons};
use allot_models::transit::{EtaPredictor, PredictorOptions};
use allot_training::world::WorldConfig;
use clap::Parser;
use serde_json::json;

/// Command line.
#[derive(Debug, Parser)]
#[command(
    name = "score-bench",
    about = "Benchmark fraud, ETA and reasons scoring on world orders"
)]
struct Args {
    /// Timed calls per measure (at least 20,000 recommended).
    #[arg(long, default_value_t = 30_000)]
    iters: usize,
    /// Untimed warm-up calls per measure.
    #[arg(long, default_value_t = 2_000)]
    warmup: usize,
    /// World seed.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Use the small test world (30 days, a tenth of the volume).
    #[arg(long)]
    small: bool,
    /// Share of the order stream replayed before timing starts (fills the
    /// feature store and the ETA cache).
    #[arg(long, default_value_t = 0.3)]
    warm_share: f64,
    /// Repository root (models/ is read from here).
    #[arg(long, default_value = ".")]
    root: PathBuf,
    /// Write the timed fraud rows as CSV here (for the Python baseline).
    #[arg(long)]
    dump_rows: Option<PathBuf>,
    /// 15-minute buckets replayed for `order` (each is prefilled: every
    /// lane of the network scored, as the refresher does).
    #[arg(long, default_value_t = 60)]
    prefill_buckets: usize,
    /// Buckets prefilled together before their orders are timed (the
    /// world has ~13 orders a bucket, so prefilling before each bucket
    /// would time every order right after 47k model rows flushed the CPU
    /// caches; live traffic sees thousands of requests between prefills).
    #[arg(long, default_value_t = 10)]
    prefill_batch: usize,
}

fn main() -> anyhow_free::Result {
    let args = Args::parse();
    let root = if args.root.join("models/fraud.onnx").is_file() {
        args.root.clone()
    } else {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
    };
    let m = |p: &str| root.join("models").join(p);

    let t = Instant::now();
    let runtime = OrtRuntime::init(None)?;
    let fraud = FraudModel::load(&m("fraud.onnx"), &m("cards/fraud.json"))?;
    let eta = EtaModel::load(&m("eta.onnx"), &m("cards/eta.json"))?;
    let ensemble = Ensemble::load(&m("fraud.lgb.txt"))?;
    if ensemble.feature_names != FRAUD_FEATURES {
        return Err(format!(
            "fraud.lgb.txt features {:?} differ from FRAUD_FEATURES",
            ensemble.feature_names
        )
        .into());
    }
    println!(
        "score-bench: ort {} ; models loaded in {:.0} ms",
        runtime.library().display(),
        t.elapsed().as_secs_f64() * 1e3
    );

    let t = Instant::now();
    let config = if args.small {
        WorldConfig::small(args.seed)
    } else {
        WorldConfig::new(args.seed)
    };
    let stream = OrderStream::generate(config);
    let orders = &stream.orders;
    let warm = ((orders.len() as f64 * args.warm_share) as usize).min(orders.len() / 2);
    let timed_orders = &orders[warm..];
    println!(
        "world seed {}: {} orders ({:.0}/day) over {} nodes and {} regions, generated in {:.1} s; \
         {} replayed as warm-up, {} timed",
        args.seed,
        orders.len(),
        stream.orders_per_day,
        stream.network.nodes().len(),
        stream.network.regions().len(),
        t.elapsed().as_secs_f64(),
        warm,
        timed_orders.len().min(args.iters),
    );

    // --- One whole order: store lookup + fraud + ETA of its shipments via the cache.
    let store = FeatureStore::new(StoreConfig::default());
    let cache: EtaCache<[f32; 3]> = EtaCache::default();
    let mut scorer = OrderScorer {
        store: &store,
        fraud: &fraud,
        eta: &eta,
        cache: &cache,
        network: &stream.network,
        eta_runs: 0,
        eta_lookups: 0,
    };
    for case in &orders[..warm] {
        for &c in &case.returns_before {
            store.observe_return(c);
        }
        black_box(scorer.score(case)?);
        store.observe(&case.event);
    }
    let (runs_before, lookups_before) = (scorer.eta_runs, scorer.eta_lookups);
    let n_orders = timed_orders.len().min(args.iters);
    let mut fraud_rows: Vec<[f32; FRAUD_FEATURE_COUNT]> = Vec::with_capacity(n_orders);
    let mut order_ns = Vec::with_capacity(n_orders);
    let mut hit_ns = Vec::new();
    let mut miss_ns = Vec::new();
    for case in &timed_orders[..n_orders] {
        for &c in &case.returns_before {
            store.observe_return(c);
        }
        let runs = scorer.eta_runs;
        let t = Instant::now();
        let scored = black_box(scorer.score(case)?);
        let ns = t.elapsed().as_nanos() as u64;
        order_ns.push(ns);
        if scorer.eta_runs == runs {
            hit_ns.push(ns);
        } else {
            miss_ns.push(ns);
        }
        fraud_rows.push(scored.features);
        store.observe(&case.event);
    }
    let (lookups, eta_runs) = (scorer.eta_lookups, scorer.eta_runs);
    let timed_lookups = lookups - lookups_before;
    let timed_misses = eta_runs - runs_before;
    let hit_rate = 1.0 - timed_misses as f64 / timed_lookups.max(1) as f64;
    let orders_all_hit = hit_ns.len() as f64 / n_orders.max(1) as f64;
    let shipments_per_order = timed_lookups as f64 / n_orders.max(1) as f64;
    let order = Summary::of(&mut order_ns);
    let order_hit = Summary::of(&mut hit_ns);
    let order_miss = Summary::of(&mut miss_ns);

    // --- The same orders with the ETA cache filled ahead of each order
    // (untimed), as a background refresher of every active lane's quantiles
    // per 15-minute bucket would leave it: the lookup path the engine takes
    // when every ETA is cached.
    let lanes: std::collections::HashSet<_> = orders
        .iter()
        .flat_map(|o| o.shipments.iter().copied())
        .collect();
    let store2 = FeatureStore::new(StoreConfig::default());
    let cache2: EtaCache<[f32; 3]> = EtaCache::default();
    for case in &orders[..warm] {
        for &c in &case.returns_before {
            store2.observe_return(c);
        }
        store2.observe(&case.event);
    }
    let mut scorer2 = OrderScorer {
        store: &store2,
        fraud: &fraud,
        eta: &eta,
        cache: &cache2,
        network: &stream.network,
        eta_runs: 0,
        eta_lookups: 0,
    };
    let mut prefetched_ns = Vec::with_capacity(n_orders);
    for case in &timed_orders[..n_orders] {
        for &c in &case.returns_before {
            store2.observe_return(c);
        }
        for s in &case.shipments {
            let key = case.eta_key(s);
            let q = cache2.get_or_insert_with(key, || {
                eta.quantiles(&key.features(&stream.network).to_row())
                    .unwrap_or([f32::NAN; 3])
            });
            if q[0].is_nan() {
                return Err("ETA prefill failed".into());
            }
        }
        let runs = scorer2.eta_runs;
        let t = Instant::now();
        black_box(scorer2.score(case)?);
        prefetched_ns.push(t.elapsed().as_nanos() as u64);
        if scorer2.eta_runs != runs {
            return Err("a prefetched ETA missed".into());
        }
        store2.observe(&case.event);
    }
    let prefetched = Summary::of(&mut prefetched_ns);

    // --- The engine's path with the refresher: every lane of the network
    // prefilled for the order's 15-minute bucket (untimed, as the server's
    // refresher does ahead of each bucket), then store lookup + fraud +
    // the predictor's quantiles for the order's shipments.
    let lanes_per_bucket = {
        let probe = EtaPredictor::load(
            &root.join("models"),
            Arc::new(stream.network.clone()),
            PredictorOptions {
                cache_entries: 1,
                ..PredictorOptions::default()
            },
        )?;
        probe.lanes().len() as u64
    };
    let batch = args.prefill_batch.max(1);
    let predictor = EtaPredictor::load(
        &root.join("models"),
        Arc::new(stream.network.clone()),
        PredictorOptions {
            cache_entries: lanes_per_bucket * (batch as u64 + 1),
            ..PredictorOptions::default()
        },
    )?;
    let store3 = FeatureStore::new(StoreConfig::default());
    for case in &orders[..warm] {
        for &c in &case.returns_before {
            store3.observe_return(c);
        }
        store3.observe(&case.event);
    }
    // The timed orders, grouped by bucket, the first `prefill_buckets`.
    let mut groups: Vec<Vec<&allot_benches::score::OrderCase>> = Vec::new();
    for case in &timed_orders[..n_orders] {
        let b = case.event.time.div_euclid(900);
        let same = groups
            .last()
            .is_some_and(|g| g[0].event.time.div_euclid(900) == b);
        if same {
            if let Some(g) = groups.last_mut() {
                g.push(case);
            }
        } else if groups.len() == args.prefill_buckets {
            break;
        } else {
            groups.push(vec![case]);
        }
    }
    let released = |case: &allot_benches::score::OrderCase| {
        UNIX_EPOCH + Duration::from_secs(case.event.time.max(0) as u64)
    };
    let mut engine_ns = Vec::with_capacity(n_orders);
    let buckets = groups.len();
    let mut prefill_ms = Vec::new();
    let before = predictor.stats();
    for chunk in groups.chunks(batch) {
        for g in chunk {
            let t = Instant::now();
            predictor.prefill(released(g[0]))?;
            prefill_ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
        for case in chunk.iter().flatten() {
            for &c in &case.returns_before {
                store3.observe_return(c);
            }
            let at = released(case);
            let t = Instant::now();
            let features = store3.fraud_features(&case.event).to_row();
            let p = fraud.score(&features)?;
            let lanes: Vec<Lane> = case
                .shipments
                .iter()
                .map(|s| Lane {
                    node: s.node,
                    service: s.service,
                    region: s.region,
                })
                .collect();
            let q = predictor.predict(&lanes, at)?;
            black_box((p, q));
            engine_ns.push(t.elapsed().as_nanos() as u64);
            store3.observe(&case.event);
        }
    }
    let after = predictor.stats();
    let engine_lookups = (after.hits + after.misses) - (before.hits + before.misses);
    let engine_hit_rate = (after.hits - before.hits) as f64 / engine_lookups.max(1) as f64;
    let engine_orders = engine_ns.len();
    let engine = Summary::of(&mut engine_ns);
    prefill_ms.sort_by(f64::total_cmp);
    let prefill_p50_ms = prefill_ms.get(prefill_ms.len() / 2).copied().unwrap_or(0.0);

    // --- The engine's ScoreOrder path today (`RiskScorer::assess`): store
    // lookup, fraud score, TreeSHAP reasons through `Ensemble::contributions`
    // and the policy; the order is remembered after (inside the call).
    let risk = RiskScorer::load(
        &root.join("models"),
        &RiskPolicy::default(),
        StoreConfig::default(),
        &allot_models::features::PlainKeys,
        allot_models::risk::VersionOptions::default(),
    )?;
    for case in &orders[..warm] {
        for &c in &case.returns_before {
            risk.store().observe_return(c);
        }
        risk.assess(&case.event, true)?;
    }
    let n_assess = n_orders.min(20_000);
    let mut assess_ns = Vec::with_capacity(n_assess);
    for case in &timed_orders[..n_assess] {
        for &c in &case.returns_before {
            risk.store().observe_return(c);
        }
        let t = Instant::now();
        black_box(risk.assess(&case.event, true)?);
        assess_ns.push(t.elapsed().as_nanos() as u64);
    }
    let assess = Summary::of(&mut assess_ns);

    // --- Single-row and batch calls on the same rows.
    let rows = &fraud_rows;
    let fraud_s = Summary::of(&mut time_calls(args.warmup, args.iters, |i| {
        fraud
            .score(&rows[i % rows.len()])
            .map_err(|e| e.to_string())
    }));
    let eta_rows = stream.eta_rows(&timed_orders[..n_orders]);
    let eta_s = Summary::of(&mut time_calls(args.warmup, args.iters, |i| {
        eta.quantiles(&eta_rows[i % eta_rows.len()])
            .map_err(|e| e.to_string())
    }));
    let batches: Vec<_> = timed_orders
        .iter()
        .step_by((timed_orders.len() / 200).max(1))
        .take(200)
        .map(|o| stream.candidate_rows(o, 50))
        .collect();
    let batch_s = Summary::of(&mut time_calls(args.warmup, args.iters, |i| {
        eta.quantiles_batch(&batches[i % batches.len()])
            .map_err(|e| e.to_string())
    }));
    let t = Instant::now();
    let explainer = ensemble.explainer();
    let explainer_ms = t.elapsed().as_secs_f64() * 1e3;
    let reasons_s = Summary::of(&mut time_calls(args.warmup, args.iters, |i| {
        let row = &rows[i % rows.len()];
        let c = explainer.contributions(row);
        fraud_reasons(row, &c.values_f32(), FRAUD_FEATURES, 5)
    }));
    let recursive_s = Summary::of(&mut time_calls(
        args.warmup.min(500),
        args.iters.min(20_000),
        |i| {
            let row = &rows[i % rows.len()];
            let c = ensemble.contributions(row);
            fraud_reasons(row, &c.values_f32(), FRAUD_FEATURES, 5)
        },
    ));
    // A sanity check that the contributions explain the ONNX probability.
    let check = &rows[0];
    let raw = ensemble.contributions(check).raw_score();
    let p_shap = 1.0 / (1.0 + (-raw).exp());
    for row in rows.iter().take(1_000) {
        let (a, b) = (explainer.contributions(row), ensemble.contributions(row));
        let worst = a
            .values
            .iter()
            .zip(&b.values)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max);
        if worst > 1e-9 {
            return Err(format!("explainer differs from the recursion by {worst}").into());
        }
    }
    let p_onnx = f64::from(fraud.score(check)?);
    if (p_shap - p_onnx).abs() > 1e-4 {
        return Err(format!("TreeSHAP p {p_shap} vs ONNX p {p_onnx}").into());
    }

    if let Some(path) = &args.dump_rows {
        write_rows(path, rows)?;
        println!("wrote {} fraud rows to {}", rows.len(), path.display());
    }

    println!("{}", fraud_s.line("fraud single row"));
    println!("{}", eta_s.line("eta single row (3 quantiles)"));
    println!("{}", batch_s.line("eta batch of 50 candidate nodes"));
    println!("{}", engine.line("order: store + fraud + predictor"));
    println!(
        "  {engine_orders} orders over {buckets} prefilled buckets ({} lanes each, p50 {prefill_p50_ms:.1} ms a prefill); predictor hit rate {:.2}%",
        predictor.lanes().len(),
        100.0 * engine_hit_rate
    );
    println!("{}", order.line("order_cold: store + fraud + eta(cache)"));
    println!("{}", order_hit.line("  orders whose ETAs all hit"));
    println!("{}", order_miss.line("  orders with an ETA miss"));
    println!("{}", prefetched.line("order_cold, ETA cache prefetched"));
    println!("{}", reasons_s.line("reasons: TreeSHAP + top-5 reasons"));
    println!("{}", recursive_s.line("  same, TreeSHAP recursion"));
    println!("explainer tables built in {explainer_ms:.1} ms");
    println!("{}", assess.line("RiskScorer::assess (ScoreOrder)"));
    println!(
        "eta cache: {:.1}% of {} shipment lookups hit ({:.2} shipments/order); {:.1}% of orders had every ETA cached",
        100.0 * hit_rate,
        timed_lookups,
        shipments_per_order,
        100.0 * orders_all_hit
    );
    println!(
        "distinct (node, service, region) lanes over the whole world: {}",
        lanes.len()
    );
    let out = json!({
        "iters": args.iters,
        "orders_timed": n_orders,
        "fraud_p50_us": r2(fraud_s.p50_us),
        "fraud_p99_us": r2(fraud_s.p99_us),
        "eta_p50_us": r2(eta_s.p50_us),
        "eta_p99_us": r2(eta_s.p99_us),
        "eta_batch50_p50_us": r2(batch_s.p50_us),
        "eta_batch50_p99_us": r2(batch_s.p99_us),
        "order_p50_us": r2(engine.p50_us),
        "order_p99_us": r2(engine.p99_us),
        "order_orders": engine_orders,
        "order_buckets_prefilled": buckets,
        "order_predictor_hit_rate": (engine_hit_rate * 1e4).round() / 1e4,
        "prefill_p50_ms": r2(prefill_p50_ms),
        "order_cold_p50_us": r2(order.p50_us),
        "order_cold_p99_us": r2(order.p99_us),
        "order_all_hit_p50_us": r2(order_hit.p50_us),
        "order_with_miss_p50_us": r2(order_miss.p50_us),
        "order_prefetched_p50_us": r2(prefetched.p50_us),
        "order_prefetched_p99_us": r2(prefetched.p99_us),
        "eta_lanes": lanes.len(),
        "risk_assess_p50_us": r2(assess.p50_us),
        "risk_assess_p99_us": r2(assess.p99_us),
        "reasons_p50_us": r2(reasons_s.p50_us),
        "reasons_p99_us": r2(reasons_s.p99_us),
        "reasons_recursive_p50_us": r2(recursive_s.p50_us),
        "reasons_recursive_p99_us": r2(recursive_s.p99_us),
        "eta_cache_hit_rate": (hit_rate * 1e4).round() / 1e4,
        "orders_all_eta_hit_share": (orders_all_hit * 1e4).round() / 1e4,
        "shipments_per_order": r2(shipments_per_order),
    });
    println!("{out}");
    Ok(())
}

/// `main`'s result type: any error, printed by `Debug`.
mod anyhow_free {
    /// `Ok(())` or any error.
    pub type Result = std::result::Result<(), Box<dyn std::error::Error>>;
}
