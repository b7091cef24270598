//! Building a [`Network`] from its parts: indexes and validation.

use std::collections::HashMap;

use super::{Network, NetworkParts};

/// Why a network could not be built or loaded.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// A problem with one entity; `at` names the file and the field path.
    #[error("{at}: {problem}")]
    Invalid {
        /// Where: `file:line` or `file: nodes[DC-ATL].time_zone`.
        at: String,
        /// What is wrong and how to fix it.
        problem: String,
    },
}

impl crate::error::Classify for NetworkError {
    fn code(&self) -> crate::ErrorCode {
        crate::ErrorCode::InvalidArgument
    }
}

fn index<T, I: Copy>(
    items: &[T],
    code: impl Fn(&T) -> &str,
    id: impl Fn(u32) -> I,
    what: &str,
    source: &str,
) -> Result<HashMap<String, I>, NetworkError> {
    let mut map = HashMap::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let c = code(item);
        if map.insert(c.to_string(), id(i as u32)).is_some() {
            return Err(NetworkError::Invalid {
                at: format!("{source}: {what}[{i}].code"),
                problem: format!("duplicate {what} code {c:?}"),
            });
        }
    }
    Ok(map)
}

impl Network {
    /// Builds and validates a network. `source` names where the parts came
    /// from (a file path, `demo(seed=7)`) and prefixes every error.
    pub fn from_parts(parts: NetworkParts, source: &str) -> Result<Network, NetworkError> {
        use super::{NodeId, RegionId, ServiceId, SkuId};
        let node_index = index(&parts.nodes, |n| &n.code, NodeId, "nodes", source)?;
        let sku_index = index(&parts.skus, |s| &s.code, SkuId, "skus", source)?;
        let service_index = index(&parts.services, |s| &s.code, ServiceId, "services", source)?;
        let region_index = index(&parts.regions, |r| &r.code, RegionId, "regions", source)?;
        Ok(Network {
            name: parts.name,
            currency: parts.currency,
            nodes: parts.nodes,
            skus: parts.skus,
            carriers: parts.carriers,
            services: parts.services,
            zones: parts.zones,
            regions: parts.regions,
            node_index,
            sku_index,
            service_index,
            region_index,
        })
    }
}
