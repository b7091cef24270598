//! Hashes that identify what a decision was made from: its input, the
//! configuration that affects decisions, and the network.

use sha2::{Digest, Sha256};

use crate::config::Config;

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for byte in digest {
        use std::fmt::Write as _;
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// Hex SHA-256 of the canonical protobuf encoding of `request` (prost
/// encodes fields in field-number order, so equal messages have equal
/// hashes). Hash the request as received, before redaction.
pub fn input_hash<M: prost::Message>(request: &M) -> String {
    sha256_hex(&request.encode_to_vec())
}

/// Hex SHA-256 of the configuration that affects decisions: the allocation
/// section's cost penalties, review policy and reservation TTLs, and the
/// fraud rules. Limits
/// that only shape load (concurrency, queues, listen addresses) and the
/// decision log's own settings are left out.
pub fn config_hash(config: &Config) -> String {
    let canonical = format!(
        "allocation.costs={:?}\nallocation.review={:?}\nallocation.default_reservation_ttl_s={}\nallocation.max_reservation_ttl_s={}\nmodels.risk={:?}\n",
        config.allocation.costs,
        config.allocation.review,
        config.allocation.default_reservation_ttl_s,
        config.allocation.max_reservation_ttl_s,
        config.models.risk,
    );
    sha256_hex(canonical.as_bytes())
}

/// Hex SHA-256 of the network file's bytes; for the built-in demo network,
/// of `demo-network seed=<seed>` (the demo network is a pure function of its
/// seed and the server version, recorded separately).
pub fn network_hash(config: &Config) -> Result<String, std::io::Error> {
    match &config.network.file {
        Some(path) => Ok(sha256_hex(&std::fs::read(path)?)),
        None => Ok(sha256_hex(
            format!("demo-network seed={}", config.network.demo_seed).as_bytes(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use allot_proto::v1 as pb;

    #[test]
    fn equal_inputs_have_equal_hashes() {
        let a = pb::ExplainDecisionRequest {
            decision_id: "x".into(),
        };
        assert_eq!(input_hash(&a), input_hash(&a.clone()));
        let b = pb::ExplainDecisionRequest {
            decision_id: "y".into(),
        };
        assert_ne!(input_hash(&a), input_hash(&b));
        assert_eq!(input_hash(&a).len(), 64);
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn the_config_hash_follows_decision_settings_only() {
        let base = Config::default();
        let mut load_only = base.clone();
        load_only.grpc.max_concurrent_requests = 3;
        assert_eq!(config_hash(&base), config_hash(&load_only));
        let mut penalties = base.clone();
        penalties.allocation.costs.split_penalty += 1;
        assert_ne!(config_hash(&base), config_hash(&penalties));
    }
}
