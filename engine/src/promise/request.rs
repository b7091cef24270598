//! The domain promise request, after the server has converted the wire
//! message.

use std::time::SystemTime;

use crate::allocation::error::AllocationError;
use crate::allocation::request::{Destination, OrderLine, validate_lines};
use crate::network::{Network, ServiceLevel};

/// Most lines a cart may have.
pub const MAX_LINES: usize = 200;

/// Every service level, fastest first.
pub const ALL_LEVELS: [ServiceLevel; 4] = [
    ServiceLevel::SameDay,
    ServiceLevel::Overnight,
    ServiceLevel::TwoDay,
    ServiceLevel::Ground,
];

/// One cart to quote.
#[derive(Debug, Clone, PartialEq)]
pub struct PromiseRequest {
    /// The cart's lines (1 to [`MAX_LINES`], unique line ids).
    pub lines: Vec<OrderLine>,
    /// Where it would be delivered.
    pub destination: Destination,
    /// When the order would be placed.
    pub order_time: SystemTime,
    /// List the levels that cannot be offered, with reasons.
    pub explain_unavailable: bool,
    /// Levels to quote; empty means all.
    pub service_levels: Vec<ServiceLevel>,
}

impl PromiseRequest {
    /// The levels to quote: the requested ones without repeats, else all;
    /// fastest first.
    pub fn levels(&self) -> Vec<ServiceLevel> {
        let mut levels = if self.service_levels.is_empty() {
            ALL_LEVELS.to_vec()
        } else {
            self.service_levels.clone()
        };
        levels.sort();
        levels.dedup();
        levels
    }

    /// Checks the cart against `network`; errors name the field.
    pub fn validate(&self, network: &Network) -> Result<(), AllocationError> {
        if self.lines.len() > MAX_LINES {
            return Err(AllocationError::invalid(
                "lines",
                format!("at most {MAX_LINES} lines, got {}", self.lines.len()),
            ));
        }
        validate_lines(network, &self.lines, "a cart")?;
        if let Some(r) = self.destination.region
            && r.0 as usize >= network.regions().len()
        {
            return Err(AllocationError::NotFound {
                field: "destination.region".into(),
                what: format!("region #{}", r.0),
            });
        }
        Ok(())
    }
}
