//! Turning the world into training rows: the order stream replayed in time
//! order through a feature store (features first, then observe), and the
//! parcels turned into ETA rows.

use allot_engine::network::Network;
use allot_models::features::{
    EtaFeatures, FeatureStore, FraudFeatures, OrderEvent, OrderLine, StoreConfig, entity_key,
};

use super::{Order, Split, World};

/// One exported fraud row.
#[derive(Debug, Clone, Copy)]
pub struct FraudRow {
    /// Features as the engine computes them at decision time.
    pub features: FraudFeatures,
    /// Label.
    pub is_fraud: bool,
    /// Order time, unix seconds.
    pub order_time: i64,
    /// Split by time.
    pub split: Split,
}

/// One exported ETA row.
#[derive(Debug, Clone, Copy)]
pub struct EtaRow {
    /// Features as the engine computes them at decision time.
    pub features: EtaFeatures,
    /// Label: delivery minus release, days.
    pub transit_days: f64,
    /// Index of the carrier service in the network.
    pub service: allot_engine::network::ServiceId,
    /// Split by time.
    pub split: Split,
}

impl World {
    /// The engine's view of order `o`.
    pub fn order_event(&self, o: &Order) -> OrderEvent {
        let net: &Network = &self.network;
        let pop = &self.population;
        let ship = &pop.addresses[o.ship as usize];
        // The engine knows postal codes, not coordinates: both ends are the
        // centroid of the region the postal code resolves to.
        let centroid = |a: u32| {
            let address = &pop.addresses[a as usize];
            let region = net
                .resolve_postal_code(&address.postal)
                .unwrap_or(address.region);
            net.region(region).centroid
        };
        // The world's orders have no ids: one is keyed by who placed what,
        // when and from where, which no two of its orders share.
        let lines: Vec<String> = o
            .lines
            .iter()
            .map(|l| format!("{}x{}", l.sku.0, l.qty))
            .collect();
        let order = entity_key(&format!(
            "{}/{}/{}/{}/{}/{}",
            o.time,
            o.customer,
            o.device,
            o.card,
            o.ship,
            lines.join(",")
        ));
        OrderEvent {
            order,
            time: o.time,
            customer: u64::from(o.customer),
            account_created: Some(pop.customers[o.customer as usize].created),
            device: Some(u64::from(o.device)),
            card: Some(u64::from(o.card)),
            ship_address: u64::from(o.ship),
            ship_to: centroid(o.ship),
            bill_to: centroid(o.bill),
            time_zone: net.region(ship.region).time_zone,
            service: o.service,
            lines: o
                .lines
                .iter()
                .map(|l| OrderLine {
                    qty: l.qty,
                    unit_price_minor: l.unit_price_minor,
                    resale_risk: net.sku(l.sku).resale_risk,
                })
                .collect(),
            total_minor: None,
        }
    }

    /// Fraud rows for every order, in time order. Each order is scored
    /// against the store before it is observed; returns are observed when
    /// they arrive (once per returned order).
    pub fn fraud_rows(&self) -> Vec<FraudRow> {
        let store = FeatureStore::new(StoreConfig {
            // Large enough that nothing is evicted by size: the replay must
            // not depend on moka's (concurrent) eviction timing.
            max_entities: 4 * self
                .population
                .addresses
                .len()
                .max(self.population.customers.len()) as u64,
            ..StoreConfig::default()
        });
        let mut returned = vec![false; self.orders.len()];
        let mut next_return = 0;
        let mut rows = Vec::with_capacity(self.orders.len());
        for o in &self.orders {
            while let Some(r) = self.returns.get(next_return).filter(|r| r.time <= o.time) {
                if !std::mem::replace(&mut returned[r.order as usize], true) {
                    store.observe_return(u64::from(self.orders[r.order as usize].customer));
                }
                next_return += 1;
            }
            let event = self.order_event(o);
            let mut features = store.fraud_features(&event);
            if o.guest {
                // No account: the engine has no account age to compute.
                features.account_age_days = f32::NAN;
            }
            rows.push(FraudRow {
                features,
                is_fraud: o.fraud.is_some(),
                order_time: o.time,
                split: self.calendar.split(self.calendar.day_of(o.time)),
            });
            store.observe(&event);
        }
        rows
    }

    /// ETA rows for every parcel.
    pub fn eta_rows(&self) -> Vec<EtaRow> {
        self.shipments
            .iter()
            .map(|s| EtaRow {
                features: EtaFeatures::compute(
                    &self.network,
                    s.node,
                    s.service,
                    s.region,
                    s.released,
                ),
                transit_days: (s.delivered - s.released) as f64 / 86_400.0,
                service: s.service,
                split: self.calendar.split(self.calendar.day_of(s.released)),
            })
            .collect()
    }
}
