//! Valid random orders for a served network, reproducible from a seed: for
//! trying allot by hand (`allotctl allocate --random-order SEED`) and for
//! load generation.

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::proto as pb;

/// A random order of `lines` distinct SKUs of `network` (which must have
/// been fetched with `include_skus`) to a random region of it, ground or
/// two-day, backorders allowed. The same network and seed give the same
/// order.
pub fn random_order(
    network: &pb::NetworkDescription,
    seed: u64,
    lines: usize,
) -> pb::AllocateRequest {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let count = lines.clamp(1, network.skus.len().max(1));
    let skus: Vec<&pb::SkuInfo> = network.skus.choose_multiple(&mut rng, count).collect();
    let order_lines = skus
        .iter()
        .enumerate()
        .map(|(i, sku)| pb::OrderLine {
            line_id: (i + 1).to_string(),
            sku: sku.code.clone(),
            quantity: if rng.random_bool(0.8) {
                1
            } else {
                rng.random_range(2..=4)
            },
            unit_price_minor: u64::try_from(sku.unit_price_minor).ok(),
            weight_grams: None,
        })
        .collect();
    let postal_code = network
        .regions
        .choose(&mut rng)
        .map(|r| format!("{:0<5}", format!("{}1", r.postal_prefix)))
        .unwrap_or_default();
    let service_level = if rng.random_bool(0.75) {
        pb::ServiceLevel::Ground
    } else {
        pb::ServiceLevel::TwoDay
    };
    pb::AllocateRequest {
        order_id: format!("random-{seed}"),
        lines: order_lines,
        destination: Some(pb::Destination {
            location: Some(pb::destination::Location::PostalCode(postal_code)),
            country_code: String::new(),
            address_line1: None,
            address_line2: None,
            city: None,
        }),
        service_level: service_level as i32,
        promised_by: None,
        options: Some(pb::AllocationOptions {
            allow_backorder: true,
            ..Default::default()
        }),
        context: None,
    }
}

/// A delivery-promise request for the cart of the random order of `seed`
/// (see [`random_order`]): the same lines and destination, every service
/// level, unavailable levels explained, order time now.
pub fn random_cart(
    network: &pb::NetworkDescription,
    seed: u64,
    lines: usize,
) -> pb::PromiseRequest {
    let order = random_order(network, seed, lines);
    pb::PromiseRequest {
        lines: order.lines,
        destination: order.destination,
        order_time: None,
        explain_unavailable: true,
        service_levels: Vec::new(),
    }
}

/// A fraud-scoring request for the random order of `seed` (see
/// [`random_order`]) from buyer `seed` of [`score_request`]'s population.
pub fn random_score_request(
    network: &pb::NetworkDescription,
    seed: u64,
    lines: usize,
) -> pb::ScoreOrderRequest {
    score_request(seed as usize, &random_order(network, seed, lines))
}

/// Gives `order` buyer `k` of [`score_request`]'s population, so Allocate
/// scores it for fraud in the same call.
pub fn attach_buyer(k: usize, order: &mut pb::AllocateRequest) {
    order.context = score_request(k, order).context;
}

/// The instant `days` after `now`, as a promised delivery date.
pub fn promised_after(now: std::time::SystemTime, days: u32) -> prost_types::Timestamp {
    let at = now + std::time::Duration::from_secs(u64::from(days) * 86_400);
    let seconds = at
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    prost_types::Timestamp {
        seconds: i64::try_from(seconds).unwrap_or(i64::MAX),
        nanos: 0,
    }
}

/// The risk request of order `k`: its lines and destination with a
/// synthetic, reproducible buyer (one of 500 customers, accounts created in
/// the last three years, billing at the destination).
pub fn score_request(k: usize, order: &pb::AllocateRequest) -> pb::ScoreOrderRequest {
    let customer = k % 500;
    // 2023-01-01T00:00:00Z plus up to ~3 years.
    let created = 1_672_531_200 + (customer as i64 * 7_919 * 24) % (3 * 365 * 86_400);
    let context = pb::OrderContext {
        customer_id: format!("load-customer-{customer}"),
        account_created_at: Some(prost_types::Timestamp {
            seconds: created,
            nanos: 0,
        }),
        email: format!("customer{customer}@example.com"),
        device_id: format!("device-{}", k % 700),
        card_fingerprint: format!("card-{}", k % 600),
        billing: order.destination.clone(),
        ip: format!("10.{}.{}.{}", k % 7, (k / 7) % 250, k % 250 + 1),
        placed_at: None,
    };
    pb::ScoreOrderRequest {
        order_id: format!("{}-score", order.order_id),
        lines: order.lines.clone(),
        destination: order.destination.clone(),
        context: Some(context),
        order_amount_minor: 0,
        currency: String::new(),
        service_level: order.service_level,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A network of `skus` SKUs and one region (prefix 100), for tests.
    pub(crate) fn network_with(skus: usize) -> pb::NetworkDescription {
        pb::NetworkDescription {
            skus: (0..skus)
                .map(|i| pb::SkuInfo {
                    code: format!("SKU-{i}"),
                    ..Default::default()
                })
                .collect(),
            regions: vec![pb::RegionInfo {
                postal_prefix: "100".into(),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn network() -> pb::NetworkDescription {
        network_with(50)
    }

    #[test]
    fn a_random_cart_is_the_random_order_s_cart() {
        let cart = random_cart(&network(), 3, 4);
        let order = random_order(&network(), 3, 4);
        assert_eq!(cart.lines, order.lines);
        assert_eq!(cart.destination, order.destination);
        assert!(cart.service_levels.is_empty() && cart.explain_unavailable);
    }

    #[test]
    fn same_seed_same_order_with_distinct_skus() {
        let a = random_order(&network(), 3, 5);
        assert_eq!(a, random_order(&network(), 3, 5));
        assert_ne!(a, random_order(&network(), 4, 5));
        let mut skus: Vec<_> = a.lines.iter().map(|l| l.sku.clone()).collect();
        skus.dedup();
        assert_eq!(skus.len(), 5);
        let Some(pb::destination::Location::PostalCode(code)) = a.destination.unwrap().location
        else {
            panic!("postal code expected");
        };
        assert_eq!(code, "10010");
    }
}
