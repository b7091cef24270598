//! Entry points for the fuzz targets in `fuzz/` (cargo feature `fuzzing`,
//! off in the `allot` binary).
//!
//! [`Contract::convert`] decodes bytes as the request of one RPC of the
//! allot.v1 contract and runs what its handler runs before the service call:
//! the conversion to domain types and the validation, against the demo
//! network, and the mapping of a refusal to a gRPC status. The file formats
//! have their own entry points: [`Contract::stock_csv`], [`delta_csv`],
//! [`network_toml`] and [`config_toml`]. None of them may panic, whatever
//! the input; a refusal is an answer.

mod files;
mod requests;
mod seeds;

use std::sync::Arc;

use allot_engine::network::{DEMO_SEED, Network};
use allot_engine::stock::StockStore;

pub use files::{FileRejected, config_toml, delta_csv, network_toml};

/// Every RPC of the allot.v1 contract, in the order a fuzz input's first
/// byte selects them ([`Rpc::select`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rpc {
    /// AdminService.GetNetwork
    GetNetwork,
    /// AdminService.GetModelInfo
    GetModelInfo,
    /// AdminService.ReloadModels
    ReloadModels,
    /// AllocationService.Allocate
    Allocate,
    /// AllocationService.ConfirmReservation
    ConfirmReservation,
    /// AllocationService.ReleaseReservation
    ReleaseReservation,
    /// AllocationService.GetReservation
    GetReservation,
    /// AllocationService.EvaluatePlan
    EvaluatePlan,
    /// DecisionService.ExplainDecision
    ExplainDecision,
    /// DecisionService.WatchDecisions
    WatchDecisions,
    /// DecisionService.ReplayDecision
    ReplayDecision,
    /// InventoryService.ReplaceNodeStock (a client stream)
    ReplaceNodeStock,
    /// InventoryService.StreamStockDeltas (a client stream)
    StreamStockDeltas,
    /// InventoryService.GetSkuAvailability
    GetSkuAvailability,
    /// InventoryService.GetNodeStock
    GetNodeStock,
    /// InventoryService.GetStockStatus
    GetStockStatus,
    /// PromiseService.GetDeliveryPromise
    GetDeliveryPromise,
    /// ReturnsService.RouteReturn
    RouteReturn,
    /// RiskService.ScoreOrder
    ScoreOrder,
    /// RiskService.ReportReturns
    ReportReturns,
    /// AdminService.RollbackModels
    RollbackModels,
    /// AdminService.ClearShadowModels
    ClearShadowModels,
    /// AdminService.GetModelDrift
    GetModelDrift,
    /// AllocationService.ReoptimizeBacklog
    ReoptimizeBacklog,
    /// PlanningService.ForecastDemand
    ForecastDemand,
    /// PlanningService.PlanTransfers
    PlanTransfers,
    /// PlanningService.ForecastWorkload
    ForecastWorkload,
}

impl Rpc {
    /// Every RPC of the contract.
    pub const ALL: [Rpc; 27] = [
        Rpc::GetNetwork,
        Rpc::GetModelInfo,
        Rpc::ReloadModels,
        Rpc::Allocate,
        Rpc::ConfirmReservation,
        Rpc::ReleaseReservation,
        Rpc::GetReservation,
        Rpc::EvaluatePlan,
        Rpc::ExplainDecision,
        Rpc::WatchDecisions,
        Rpc::ReplayDecision,
        Rpc::ReplaceNodeStock,
        Rpc::StreamStockDeltas,
        Rpc::GetSkuAvailability,
        Rpc::GetNodeStock,
        Rpc::GetStockStatus,
        Rpc::GetDeliveryPromise,
        Rpc::RouteReturn,
        Rpc::ScoreOrder,
        Rpc::ReportReturns,
        Rpc::RollbackModels,
        Rpc::ClearShadowModels,
        Rpc::GetModelDrift,
        Rpc::ReoptimizeBacklog,
        Rpc::ForecastDemand,
        Rpc::PlanTransfers,
        Rpc::ForecastWorkload,
    ];

    /// The RPC a selector byte names (modulo the number of RPCs).
    pub fn select(byte: u8) -> Rpc {
        Rpc::ALL[usize::from(byte) % Rpc::ALL.len()]
    }

    /// The selector byte of this RPC ([`Rpc::select`] gives it back).
    pub fn selector(self) -> u8 {
        Rpc::ALL.iter().position(|r| *r == self).unwrap_or_default() as u8
    }
}

/// Why a request did not reach the service.
#[derive(Debug, thiserror::Error)]
pub enum Rejected {
    /// The bytes are not the request message (tonic answers INTERNAL).
    #[error("not a request message: {0}")]
    Decode(#[from] prost::DecodeError),
    /// Conversion or validation refused it, with the status the caller gets.
    #[error("refused: {0}")]
    Refused(Box<tonic::Status>),
}

impl From<allot_service::ServiceError> for Rejected {
    fn from(error: allot_service::ServiceError) -> Self {
        Rejected::Refused(Box::new(crate::error::status(error)))
    }
}

/// The contract's request side over a network: what the handlers run on a
/// request before they call the service layer.
pub struct Contract {
    network: Arc<Network>,
    /// The stock a snapshot CSV loads into (each load replaces the nodes
    /// the file names).
    stock: StockStore,
}

impl Contract {
    /// Over the demo network (`allot serve` without a network file).
    pub fn demo() -> Contract {
        let network = Arc::new(Network::demo(DEMO_SEED));
        Contract {
            stock: StockStore::new(Arc::clone(&network)),
            network,
        }
    }

    /// Decodes `message` as the request of `rpc` (for a client-streaming
    /// RPC, a sequence of length-delimited messages, as gRPC frames them)
    /// and converts and validates it as the handler does.
    pub fn convert(&self, rpc: Rpc, message: &[u8]) -> Result<(), Rejected> {
        requests::convert(&self.network, rpc, message)
    }

    /// A fuzz input: the first byte selects the RPC ([`Rpc::select`]), the
    /// rest is its request. An empty input does nothing.
    pub fn convert_input(&self, input: &[u8]) -> Result<(), Rejected> {
        match input.split_first() {
            Some((selector, message)) => self.convert(Rpc::select(*selector), message),
            None => Ok(()),
        }
    }

    /// Loads `bytes` as a bulk stock snapshot CSV (docs/stock.md) for the
    /// network, as `allot serve` loads its stock file.
    pub fn stock_csv(&self, bytes: &[u8]) -> Result<(), FileRejected> {
        files::stock_csv(&self.stock, bytes)
    }

    /// Valid fuzz inputs for every RPC (a selector byte, then the encoded
    /// request), built from the network's own codes: the seed corpus.
    pub fn seed_inputs(&self) -> Vec<(Rpc, Vec<u8>)> {
        seeds::inputs(&self.network)
    }
}
