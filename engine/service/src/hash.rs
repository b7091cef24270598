//! Hashes that identify what a decision was made from: the configuration
//! that affects decisions, and the network.

use sha2::{Digest, Sha256};

use crate::config::ServiceConfig;

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

/// Hex SHA-256 of the configuration that affects decisions: the allocation
/// section's cost penalties, review policy and reservation TTLs, the
/// fraud rules, and the returns' recovery shares. Limits that only shape load (concurrency, queues, listen
/// addresses) and the decision log's own settings are left out.
pub fn config_hash(config: &ServiceConfig) -> String {
    let canonical = format!(
        "allocation.costs={:?}\nallocation.review={:?}\nallocation.default_reservation_ttl_s={}\nallocation.max_reservation_ttl_s={}\nmodels.risk={:?}\ndemand.price_protection={}\nreturns={:?}\n",
        config.allocation.costs,
        config.allocation.review,
        config.allocation.default_reservation_ttl_s,
        config.allocation.max_reservation_ttl_s,
        config.models.risk,
        config.demand.price_protection,
        config.returns,
    );
    sha256_hex(canonical.as_bytes())
}

/// Hex SHA-256 of the network file's bytes; for the built-in demo network,
/// of `demo-network seed=<seed>` (the demo network is a pure function of its
/// seed and the server version, recorded separately).
pub fn network_hash(config: &ServiceConfig) -> Result<String, std::io::Error> {
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

    #[test]
    fn the_config_hash_follows_decision_settings_only() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let base = ServiceConfig::default();
        let mut load_only = base.clone();
        load_only.allocation.solver_queue += 3;
        assert_eq!(config_hash(&base), config_hash(&load_only));
        let mut penalties = base.clone();
        penalties.allocation.costs.split_penalty += 1;
        assert_ne!(config_hash(&base), config_hash(&penalties));
    }
}
