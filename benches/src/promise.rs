//! Fixtures for `promise-bench`: the demo network and stock behind a
//! [`Promiser`] built as the server builds it (the ETA predictor with its
//! cache prefilled for the current and next 15-minute bucket and a
//! refresher thread), and random carts.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use allot_engine::allocation::params::CostParams;
use allot_engine::allocation::request::{Destination, OrderLine};
use allot_engine::network::{DEMO_SEED, Network, NodeId, RegionId, SkuId, demo_stock};
use allot_engine::promise::{PromiseCacheConfig, PromiseRequest, Promiser};
use allot_engine::reservation::ReservationBook;
use allot_engine::stock::{StockLevel, StockStore};
use allot_engine::transit::TransitPredictor;
use allot_models::transit::{EtaPredictor, PredictorOptions, Refresher};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The demo network, its stock and a promiser over them.
pub struct PromiseWorld {
    /// The demo network.
    pub network: Arc<Network>,
    /// Promises as the server quotes them.
    pub promiser: Promiser,
    /// The ETA predictor (when the models directory has one).
    pub eta: Option<Arc<EtaPredictor>>,
    /// Keeps the ETA cache warm, as the server's does.
    pub refresher: Option<Refresher>,
    /// SKUs with stock at some node.
    stocked: Vec<SkuId>,
}

impl PromiseWorld {
    /// Loads the demo stock and, from `models`, the ETA predictor (prefilled
    /// for now and the next bucket, with a refresher thread), as
    /// `allot serve` does with its default configuration.
    pub fn new(models: &Path) -> Result<PromiseWorld, Box<dyn std::error::Error>> {
        let network = Arc::new(Network::demo(DEMO_SEED));
        let stock = Arc::new(StockStore::new(network.clone()));
        let mut by_node: Vec<Vec<(SkuId, StockLevel)>> = vec![Vec::new(); network.node_count()];
        for r in demo_stock(&network, DEMO_SEED) {
            by_node[r.node.0 as usize].push((
                r.sku,
                StockLevel {
                    on_hand: r.on_hand,
                    reserved: r.reserved,
                    protected: r.protected,
                },
            ));
        }
        let now = SystemTime::now();
        for (n, rows) in by_node.into_iter().enumerate() {
            stock.replace_node(NodeId(n as u32), rows, 0, now)?;
        }
        let mut stocked: Vec<SkuId> = (0..network.sku_count() as u32)
            .map(SkuId)
            .filter(|&s| stock.sku_levels(s).iter().any(|(_, l)| l.available() > 0))
            .collect();
        stocked.sort();
        let (eta, refresher) = if models.join("eta.onnx").is_file() {
            let eta = Arc::new(EtaPredictor::load(
                models,
                network.clone(),
                PredictorOptions::default(),
            )?);
            eta.prefill(now)?;
            eta.prefill(now + Duration::from_secs(900))?;
            let live = eta.clone();
            let refresher =
                Refresher::spawn(move || live.clone(), Duration::from_secs(90), |_| {})?;
            (Some(eta), Some(refresher))
        } else {
            (None, None)
        };
        let book = Arc::new(ReservationBook::new(stock));
        let promiser = Promiser::new(
            book,
            CostParams::default(),
            eta.clone().map(|e| e as Arc<dyn TransitPredictor>),
            PromiseCacheConfig::default(),
        );
        Ok(PromiseWorld {
            network,
            promiser,
            eta,
            refresher,
            stocked,
        })
    }

    /// A random cart of `lines` distinct stocked SKUs (1 to 3 units each)
    /// to a random region's centroid, all service levels, ordered `at`.
    pub fn cart(&self, seed: u64, lines: usize, at: SystemTime) -> PromiseRequest {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut skus: Vec<SkuId> = Vec::with_capacity(lines);
        while skus.len() < lines.min(self.stocked.len()) {
            let s = self.stocked[rng.random_range(0..self.stocked.len())];
            if !skus.contains(&s) {
                skus.push(s);
            }
        }
        let region = RegionId(rng.random_range(0..self.network.regions().len() as u32));
        PromiseRequest {
            lines: skus
                .into_iter()
                .enumerate()
                .map(|(i, sku)| OrderLine {
                    line_id: format!("l{i}"),
                    sku,
                    quantity: rng.random_range(1..=3),
                    weight_grams: None,
                })
                .collect(),
            destination: Destination {
                point: self.network.region(region).centroid,
                region: Some(region),
            },
            order_time: at,
            explain_unavailable: false,
            service_levels: Vec::new(),
        }
    }
}
