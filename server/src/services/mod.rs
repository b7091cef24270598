//! The gRPC service adapters: into_inner, validate, call the engine, map the
//! result.

mod admin;
mod inventory;
mod unreleased;

pub use admin::AdminApi;
pub use inventory::InventoryApi;
pub use unreleased::{AllocationApi, DecisionApi, PromiseApi, ReturnsApi, RiskApi};
