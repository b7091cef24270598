//! The planning simulator: held-out weeks of the synthetic world's orders
//! replayed through allot's allocation, in process on the demo network,
//! with and without the planning levers (protected stock priced from the
//! demand forecast, a daily transfer plan), and the KPIs each arm reached.
//!
//! - [`orders`]: the orders of the window (and of the warm-up week whose
//!   sales the forecast reads as lags) as allocation requests.
//! - [`supply`]: the stock policy both arms share (a node is restocked up
//!   to its starting level every `replenishment_days`) and the transfers in
//!   transit.
//! - [`transfers`]: the daily transfer plan (the PlanTransfers model).
//! - [`truth`]: when the world's carriers deliver a parcel (ground truth
//!   for the on-time rate).
//! - [`kpi`]: what each arm counts and the rates it reports.
//! - [`run`]: one arm over one world, day by day.
//! - [`report`]: the markdown report over seeds and arms.

pub mod kpi;
pub mod orders;
pub mod report;
pub mod run;
pub mod supply;
pub mod transfers;
pub mod truth;

#[cfg(test)]
mod tests;

pub use kpi::{ArmResult, Kpis, Tally};
pub use run::{Arm, SimConfig, TransferSolver, run_arm};

/// Why a simulation could not run, or found the engine breaking a rule.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The engine did not load.
    #[error("engine: {0}")]
    Load(#[from] allot_service::engine::LoadError),
    /// The models directory has no demand model (the ON arm needs it).
    #[error("no demand model is served from {0}")]
    NoDemandModel(String),
    /// An allocation failed.
    #[error("allocating order {order}: {source}")]
    Allocate {
        /// The order id.
        order: String,
        /// What failed.
        source: allot_engine::allocation::error::AllocationError,
    },
    /// A reservation could not be confirmed.
    #[error("confirming order {order}: {source}")]
    Confirm {
        /// The order id.
        order: String,
        /// What failed.
        source: allot_engine::reservation::ReservationError,
    },
    /// A stock replacement was refused.
    #[error("stock: {0}")]
    Stock(#[from] allot_engine::stock::StockError),
    /// The demand model failed.
    #[error("demand model: {0}")]
    Model(#[from] allot_models::scoring::ScoringError),
    /// The transfer plan failed.
    #[error("transfer plan: {0}")]
    Plan(String),
    /// The engine broke a rule the simulator checks (never expected).
    #[error("invariant broken: {0}")]
    Invariant(String),
    /// The window does not fit the world.
    #[error("window: {0}")]
    Window(String),
}
