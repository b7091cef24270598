//! Building a [`Network`] from its parts: indexes and validation.

use std::collections::HashMap;

use super::geo::PostalIndex;
use super::{Network, NetworkParts, NodeId, RegionId, ServiceId, SkuId, validate};

/// Why a network could not be built or loaded.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// A problem with one entity; `at` names the file and the field path.
    #[error("{at}: {problem}")]
    Invalid {
        /// Where: `file:line:column` or `file: nodes[DC-ATL].time_zone`.
        at: String,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// The network file could not be read.
    #[error("{path}: cannot read the network file: {source}")]
    Io {
        /// The path that was read.
        path: String,
        /// The operating-system error.
        source: std::io::Error,
    },
}

impl NetworkError {
    /// An [`NetworkError::Invalid`] at `source: path`.
    pub(crate) fn invalid(
        source: &str,
        path: impl std::fmt::Display,
        problem: impl Into<String>,
    ) -> Self {
        NetworkError::Invalid {
            at: format!("{source}: {path}"),
            problem: problem.into(),
        }
    }
}

impl allot_error::Classify for NetworkError {
    fn code(&self) -> allot_error::ErrorCode {
        match self {
            NetworkError::Invalid { .. } => allot_error::ErrorCode::InvalidArgument,
            NetworkError::Io { .. } => allot_error::ErrorCode::FailedPrecondition,
        }
    }
}

/// Code to id of `items`, or the first empty or repeated code (named as
/// `what[code].code`).
pub(crate) fn index<T, I: Copy>(
    items: &[T],
    code: impl Fn(&T) -> &str,
    id: impl Fn(u32) -> I,
    what: &str,
    source: &str,
) -> Result<HashMap<String, I>, NetworkError> {
    let mut map = HashMap::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let c = code(item);
        if c.trim().is_empty() {
            return Err(NetworkError::invalid(
                source,
                format_args!("{what}[#{i}].code"),
                "empty code; every entry needs a non-empty unique code",
            ));
        }
        if map.insert(c.to_string(), id(i as u32)).is_some() {
            return Err(NetworkError::invalid(
                source,
                format_args!("{what}[{c}].code"),
                format!("duplicate {what} code {c:?} (entry #{i}); codes must be unique"),
            ));
        }
    }
    Ok(map)
}

impl Network {
    /// Builds and validates a network. `source` names where the parts came
    /// from (a file path, `demo(seed=7)`) and prefixes every error.
    ///
    /// Validation rules are listed in `docs/network.md`; the first violation
    /// is returned as [`NetworkError::Invalid`] with a field path such as
    /// `network.toml: nodes[DC-ATL].services`.
    pub fn from_parts(parts: NetworkParts, source: &str) -> Result<Network, NetworkError> {
        let node_index = index(&parts.nodes, |n| &n.code, NodeId, "nodes", source)?;
        let sku_index = index(&parts.skus, |s| &s.code, SkuId, "skus", source)?;
        let service_index = index(&parts.services, |s| &s.code, ServiceId, "services", source)?;
        let region_index = index(&parts.regions, |r| &r.code, RegionId, "regions", source)?;
        index(&parts.carriers, |c| &c.code, |i| i, "carriers", source)?;
        validate::validate(&parts, source)?;
        let postal_index = PostalIndex::build(&parts.regions);
        let blocked = parts
            .nodes
            .iter()
            .map(|n| {
                let mut ids: Vec<RegionId> = parts
                    .regions
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| {
                        n.blocked_destinations
                            .iter()
                            .any(|b| *b == r.code || *b == r.area)
                    })
                    .map(|(i, _)| RegionId(i as u32))
                    .collect();
                ids.sort_unstable();
                ids
            })
            .collect();
        Ok(Network {
            name: parts.name,
            currency: parts.currency,
            country: parts.country,
            nodes: parts.nodes,
            skus: parts.skus,
            carriers: parts.carriers,
            services: parts.services,
            zones: parts.zones,
            regions: parts.regions,
            lanes: parts.lanes,
            node_index,
            sku_index,
            service_index,
            region_index,
            postal_index,
            blocked,
        })
    }
}
