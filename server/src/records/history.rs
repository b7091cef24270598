//! What a record keeps for the fraud feature history: the order as the
//! feature store remembered it (`DecisionRecord.feature_store_entry`), the
//! returned orders a ReportReturns fed it (`feature_store_returns`), and
//! reading them back from an encoded record at start without decoding the
//! rest of the record.

use allot_models::features::{Observation, ReturnObservation};
use allot_proto::v1 as pb;
use allot_service::ServiceError;
use allot_service::wire::Remembered;
use prost::Message;

/// The `FeatureStoreEntry` of what the store remembered.
pub(super) fn entry(observed: &Observation) -> pb::FeatureStoreEntry {
    let Observation {
        order,
        time,
        customer,
        device,
        card,
        ship_address,
        amount_minor,
    } = *observed;
    pb::FeatureStoreEntry {
        order_time: Some(prost_types::Timestamp {
            seconds: time,
            nanos: 0,
        }),
        customer_key: customer,
        device_key: device,
        card_key: card,
        ship_address_key: ship_address,
        amount_minor,
        order_key: order,
    }
}

/// The `FeatureStoreReturn` of a returned order.
pub(super) fn returned(r: &ReturnObservation) -> pb::FeatureStoreReturn {
    pb::FeatureStoreReturn {
        customer_key: r.customer,
        order_key: r.order,
        returned_at: Some(prost_types::Timestamp {
            seconds: r.time,
            nanos: 0,
        }),
    }
}

/// The returned order of a recorded `FeatureStoreReturn`.
fn return_observation(r: &pb::FeatureStoreReturn) -> ReturnObservation {
    ReturnObservation {
        customer: r.customer_key,
        order: r.order_key,
        time: r.returned_at.as_ref().map_or(0, |t| t.seconds),
    }
}

/// The feature store's observation of a recorded entry.
fn observation(entry: &pb::FeatureStoreEntry) -> Result<Observation, ServiceError> {
    let pb::FeatureStoreEntry {
        order_time,
        customer_key,
        device_key,
        card_key,
        ship_address_key,
        amount_minor,
        order_key,
    } = entry;
    let time = order_time
        .as_ref()
        .map(|t| t.seconds)
        .ok_or_else(|| ServiceError::internal("feature_store_entry.order_time is missing"))?;
    Ok(Observation {
        order: *order_key,
        time,
        customer: *customer_key,
        device: *device_key,
        card: *card_key,
        ship_address: *ship_address_key,
        amount_minor: *amount_minor,
    })
}

/// A `DecisionRecord` seen through its `feature_store_entry` and
/// `feature_store_returns` alone: prost skips every other field without
/// building it, so reading the entries of a week of decisions at start does
/// not decode their requests, answers and stock rows. The tags are
/// `DecisionRecord`'s (a test holds them together).
#[derive(Clone, PartialEq, Message)]
struct EntryOnly {
    #[prost(message, optional, tag = "28")]
    feature_store_entry: Option<pb::FeatureStoreEntry>,
    #[prost(message, repeated, tag = "32")]
    feature_store_returns: Vec<pb::FeatureStoreReturn>,
}

/// What the feature store remembered of an encoded `DecisionRecord`: the
/// order it scored, the returned orders it reported.
pub(super) fn recorded(record: &[u8]) -> Result<Remembered, ServiceError> {
    let only = EntryOnly::decode(record)
        .map_err(|e| ServiceError::internal(format!("not a decision record: {e}")))?;
    Ok(Remembered {
        order: only
            .feature_store_entry
            .as_ref()
            .map(observation)
            .transpose()?,
        returns: only
            .feature_store_returns
            .iter()
            .map(return_observation)
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observed() -> Observation {
        Observation {
            order: Some(42),
            time: 1_790_000_000,
            customer: u64::MAX,
            device: None,
            card: Some(7),
            ship_address: 0x0123_4567_89ab_cdef,
            amount_minor: 12_345,
        }
    }

    #[test]
    fn a_recorded_entry_reads_back_from_the_whole_record() {
        let record = pb::DecisionRecord {
            decision_id: "dec_01ARZ3NDEKTSV4RRFFQ69G5FAV".into(),
            kind: pb::DecisionKind::Risk as i32,
            request: Some(pb::decision_record::Request::ScoreOrderRequest(
                pb::ScoreOrderRequest {
                    order_id: "o-1".into(),
                    ..Default::default()
                },
            )),
            features: [("customer_orders_24h".to_string(), 3.0)].into(),
            feature_store_entry: Some(entry(&observed())),
            state_recorded_by: "dec_01ARZ3NDEKTSV4RRFFQ69G5FAW".into(),
            ..Default::default()
        };
        let bytes = record.encode_to_vec();
        assert_eq!(recorded(&bytes).unwrap().order, Some(observed()));
        // The tag of the partial view is the record's.
        let only = EntryOnly::decode(bytes.as_slice()).unwrap();
        assert_eq!(only.feature_store_entry, record.feature_store_entry);
        let back = pb::DecisionRecord::decode(only.encode_to_vec().as_slice()).unwrap();
        assert_eq!(back.feature_store_entry, record.feature_store_entry);
        // An entry recorded before orders were keyed is its own order.
        let mut old = entry(&observed());
        old.order_key = None;
        assert_eq!(observation(&old).unwrap().order, None);
    }

    #[test]
    fn recorded_returns_read_back_in_order_from_the_whole_record() {
        let returns = [
            ReturnObservation {
                customer: 7,
                order: u64::MAX,
                time: 1_790_000_000,
            },
            ReturnObservation {
                customer: 8,
                order: 1,
                time: 1_790_000_060,
            },
        ];
        let record = pb::DecisionRecord {
            decision_id: "dec_01ARZ3NDEKTSV4RRFFQ69G5FAV".into(),
            kind: pb::DecisionKind::ReturnsReport as i32,
            request: Some(pb::decision_record::Request::ReportReturnsRequest(
                pb::ReportReturnsRequest {
                    returns: vec![pb::ReturnedOrder {
                        order_id: "o-1".into(),
                        ..Default::default()
                    }],
                },
            )),
            feature_store_returns: returns.iter().map(returned).collect(),
            ..Default::default()
        };
        let bytes = record.encode_to_vec();
        let back = recorded(&bytes).unwrap();
        assert_eq!(back.order, None);
        assert_eq!(back.returns, returns);
        let whole = pb::DecisionRecord::decode(
            EntryOnly::decode(bytes.as_slice())
                .unwrap()
                .encode_to_vec()
                .as_slice(),
        )
        .unwrap();
        assert_eq!(whole.feature_store_returns, record.feature_store_returns);
    }

    /// Reading the entries of 100k allocation-sized records, against
    /// decoding the whole records. Run with `cargo test --release -p
    /// allot-server entry_read_time -- --ignored --nocapture`.
    #[test]
    #[ignore = "a measurement: run it in release"]
    fn entry_read_time_of_100k_records() {
        let record = pb::DecisionRecord {
            decision_id: "dec_01ARZ3NDEKTSV4RRFFQ69G5FAV".into(),
            kind: pb::DecisionKind::Allocation as i32,
            features: (0..21).map(|i| (format!("feature_{i}"), 1.5)).collect(),
            stock_read: (0..60)
                .map(|n| pb::StockRead {
                    node: format!("DC-{n:03}"),
                    sku: "SKU-000001".into(),
                    on_hand: 40,
                    reserved: 2,
                    protected: 0,
                    protection: None,
                })
                .collect(),
            capacity: (0..70)
                .map(|n| pb::NodeCapacity {
                    node: format!("DC-{n:03}"),
                    remaining_units: 500,
                })
                .collect(),
            feature_store_entry: Some(entry(&observed())),
            ..Default::default()
        };
        let bytes = record.encode_to_vec();
        let started = std::time::Instant::now();
        for _ in 0..100_000 {
            assert!(
                recorded(std::hint::black_box(&bytes))
                    .unwrap()
                    .order
                    .is_some()
            );
        }
        let partial = started.elapsed();
        let started = std::time::Instant::now();
        for _ in 0..100_000 {
            let whole = pb::DecisionRecord::decode(std::hint::black_box(bytes.as_slice()));
            assert!(whole.unwrap().feature_store_entry.is_some());
        }
        println!(
            "100k records of {} bytes: entry only {partial:?}, whole record {:?}",
            bytes.len(),
            started.elapsed()
        );
    }

    #[test]
    fn a_record_without_an_entry_scored_nothing_and_garbage_is_an_error() {
        let promise = pb::DecisionRecord {
            kind: pb::DecisionKind::Promise as i32,
            ..Default::default()
        };
        assert_eq!(
            recorded(&promise.encode_to_vec()).unwrap(),
            Remembered::default()
        );
        assert!(recorded(&[0xff, 0xff, 0xff]).is_err());
        let no_time = pb::DecisionRecord {
            feature_store_entry: Some(pb::FeatureStoreEntry::default()),
            ..Default::default()
        };
        let e = recorded(&no_time.encode_to_vec()).unwrap_err();
        assert!(e.to_string().contains("order_time"), "{e}");
    }
}
