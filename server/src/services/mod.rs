//! The gRPC service adapters: into_inner, validate, call the engine, map the
//! result.

mod admin;
mod allocation;
mod decisions;
mod inventory;
mod planning;
mod promise;
mod returns;
mod risk;

pub(crate) use admin::AdminApi;
pub(crate) use allocation::AllocationApi;
pub(crate) use decisions::DecisionApi;
pub(crate) use inventory::InventoryApi;
pub(crate) use planning::PlanningApi;
pub(crate) use promise::PromiseApi;
pub(crate) use returns::ReturnsApi;
pub(crate) use risk::RiskApi;
