//! Ground truth for the on-time rate: the world's carriers deliver each
//! parcel the engine chose (node, carrier service, the order's address,
//! released at the order's time) with the world's own dynamics (cutoffs,
//! pickup days, processing, peak backlog, disruptions, late days,
//! exceptions). The random draws come from a stream keyed by the world
//! seed, the order and the parcel's node and service, so two arms that
//! choose the same parcel see the same delivery.
//!
//! A parcel is on time when it arrives within the service's transit days
//! plus 2.5 days of the order (the world's own definition of a late parcel,
//! the one its returns react to); an order is on time when all its parcels
//! are. The engine's promise is also checked: the parcel arrives by the
//! end of its predicted window (the ETA model's q90).

use allot_engine::network::{NodeId, ServiceId};
use allot_training::world::World;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// When one parcel arrives, and whether that is on time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    /// Delivery time, unix seconds.
    pub delivered: i64,
    /// Within the service's transit days + 2.5 days of the order.
    pub on_time: bool,
}

/// Delivers the parcel of world order `index` (placed at `time`, to
/// `address`) from `node` with `service`.
pub fn deliver(
    world: &World,
    index: u32,
    time: i64,
    address: u32,
    node: NodeId,
    service: ServiceId,
) -> Delivery {
    let key = world.config.seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)
        ^ (u64::from(index) << 24)
        ^ (u64::from(node.0) << 8)
        ^ u64::from(service.0);
    let mut rng = ChaCha8Rng::seed_from_u64(key);
    let to = &world.population.addresses[address as usize];
    let delivered = world
        .carriers
        .deliver(&world.network, node, service, to, time, &mut rng);
    let nominal = f64::from(world.network.service(service).transit_days) + 1.5;
    Delivery {
        delivered,
        on_time: (delivered - time) as f64 / 86_400.0 <= nominal + 1.0,
    }
}
