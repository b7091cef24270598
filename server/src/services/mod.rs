//! The gRPC service adapters: into_inner, validate, call the engine, map the
//! result.

mod admin;
mod allocation;
mod decisions;
mod inventory;
mod promise;
mod risk;
mod unreleased;

pub use admin::AdminApi;
pub use allocation::AllocationApi;
pub use decisions::DecisionApi;
pub use inventory::InventoryApi;
pub use promise::PromiseApi;
pub use risk::RiskApi;
pub use unreleased::ReturnsApi;
