//! The orders of a crash run: a few contested SKUs of the served network
//! (the least stocked ones that several nodes hold), their stock before any
//! commit, and random committing orders for them.

use std::collections::{BTreeMap, HashMap};

use allot_client::AllotClient;
use allot_client::proto as pb;
use anyhow::{Context, bail};
use rand::Rng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;

use super::rpc::{Outcome, describe, settled};

/// Reservations live this long: nothing expires during a run.
const RESERVATION_TTL_S: i64 = 3600;

/// Rows per GetNodeStock page while looking for the contested SKUs.
const PAGE_SIZE: u32 = 10_000;

/// Fewest nodes that must hold a contested SKU, so plans have a choice.
const MIN_NODES: usize = 2;

/// The stock of one (node, SKU) as GetSkuAvailability reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Level {
    /// Physical units.
    pub on_hand: i64,
    /// Units reserved outside allot plus live allot holds.
    pub reserved: i64,
    /// max(0, on_hand - reserved).
    pub available: i64,
}

/// Stock per (node, SKU) code.
pub type Levels = BTreeMap<(String, String), Level>;

/// What the clients order and the stock it started from.
#[derive(Debug)]
pub struct Workload {
    /// The contested SKU codes.
    pub skus: Vec<String>,
    /// Destination postal codes, one per region of the network.
    postal_codes: Vec<String>,
    /// Most units of one line.
    max_quantity: u32,
    /// Every node's stock of the contested SKUs before any commit.
    pub baseline: Levels,
}

impl Workload {
    /// Picks the `count` contested SKUs (the least available in total among
    /// SKUs without cold-chain or hazmat needs that at least two nodes hold)
    /// and reads their baseline stock. Call before any commit.
    pub async fn discover(
        api: &AllotClient,
        count: usize,
        max_quantity: u32,
    ) -> anyhow::Result<Workload> {
        let network = ok(
            settled(
                &api.admin(),
                &pb::GetNetworkRequest { include_skus: true },
                |mut c, r| async move { c.get_network(r).await },
            )
            .await,
            "GetNetwork",
        )?;
        let plain: HashMap<&str, bool> = network
            .skus
            .iter()
            .map(|s| (s.code.as_str(), !s.cold_chain && !s.hazmat))
            .collect();
        // (total available, nodes holding some) per SKU.
        let mut totals: HashMap<String, (i64, usize)> = HashMap::new();
        for node in &network.nodes {
            let mut page_token = String::new();
            loop {
                let request = pb::GetNodeStockRequest {
                    node: node.code.clone(),
                    page_size: PAGE_SIZE,
                    page_token: page_token.clone(),
                };
                let page = ok(
                    settled(&api.inventory(), &request, |mut c, r| async move {
                        c.get_node_stock(r).await
                    })
                    .await,
                    "GetNodeStock",
                )?;
                for row in page.rows.iter().filter(|r| r.available > 0) {
                    let total = totals.entry(row.sku.clone()).or_default();
                    total.0 += row.available;
                    total.1 += 1;
                }
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
        }
        let mut candidates: Vec<(i64, String)> = totals
            .into_iter()
            .filter(|(sku, (_, nodes))| {
                *nodes >= MIN_NODES && plain.get(sku.as_str()).copied().unwrap_or(false)
            })
            .map(|(sku, (available, _))| (available, sku))
            .collect();
        candidates.sort();
        if candidates.len() < count {
            bail!(
                "only {} SKUs are held by {MIN_NODES} nodes or more, {count} wanted",
                candidates.len()
            );
        }
        let skus: Vec<String> = candidates
            .into_iter()
            .take(count)
            .map(|(_, sku)| sku)
            .collect();
        let postal_codes = network
            .regions
            .iter()
            .map(|r| format!("{:0<5}", format!("{}1", r.postal_prefix)))
            .collect();
        let baseline = read_levels(api, &skus).await?;
        Ok(Workload {
            skus,
            postal_codes,
            max_quantity: max_quantity.max(1),
            baseline,
        })
    }

    /// A random committing order `order_id` (also its idempotency key): one
    /// or two lines of contested SKUs, 1 to `max_quantity` units each, to a
    /// random region, ground, backorders allowed one time in four.
    pub fn order(&self, rng: &mut ChaCha8Rng, order_id: String) -> pb::AllocateRequest {
        let lines = if self.skus.len() > 1 && rng.random_bool(0.3) {
            2
        } else {
            1
        };
        let lines = self
            .skus
            .choose_multiple(rng, lines)
            .cloned()
            .collect::<Vec<_>>()
            .into_iter()
            .enumerate()
            .map(|(i, sku)| pb::OrderLine {
                line_id: (i + 1).to_string(),
                sku,
                quantity: rng.random_range(1..=self.max_quantity),
                unit_price_minor: None,
                weight_grams: None,
            })
            .collect();
        let postal_code = self.postal_codes.choose(rng).cloned().unwrap_or_default();
        pb::AllocateRequest {
            order_id: order_id.clone(),
            lines,
            destination: Some(pb::Destination {
                location: Some(pb::destination::Location::PostalCode(postal_code)),
                country_code: String::new(),
                address_line1: None,
                address_line2: None,
                city: None,
            }),
            service_level: pb::ServiceLevel::Ground as i32,
            promised_by: None,
            options: Some(pb::AllocationOptions {
                allow_backorder: rng.random_bool(0.25),
                commit: true,
                idempotency_key: order_id,
                reservation_ttl: Some(prost_types::Duration {
                    seconds: RESERVATION_TTL_S,
                    nanos: 0,
                }),
                ..Default::default()
            }),
            context: None,
        }
    }
}

/// Every node's stock of `skus` (GetSkuAvailability, zeros included).
pub async fn read_levels(api: &AllotClient, skus: &[String]) -> anyhow::Result<Levels> {
    let mut levels = Levels::new();
    for sku in skus {
        let request = pb::GetSkuAvailabilityRequest {
            sku: sku.clone(),
            nodes: Vec::new(),
            include_zero: true,
        };
        let availability = ok(
            settled(&api.inventory(), &request, |mut c, r| async move {
                c.get_sku_availability(r).await
            })
            .await,
            "GetSkuAvailability",
        )?;
        for node in availability.nodes {
            levels.insert(
                (node.node, sku.clone()),
                Level {
                    on_hand: node.on_hand,
                    reserved: node.reserved,
                    available: node.available,
                },
            );
        }
    }
    Ok(levels)
}

/// The answer of a setup call, or an error naming it.
fn ok<T>(outcome: Outcome<T>, what: &str) -> anyhow::Result<T> {
    match outcome {
        Outcome::Ok(answer) => Ok(answer),
        Outcome::Refused(status) | Outcome::Unexpected(status) => {
            Err(anyhow::anyhow!("{what}: {}", describe(&status)))
        }
        Outcome::Unknown(why) => Err(anyhow::anyhow!("{what}: {why}")),
    }
    .context("reading the served network and stock")
}
