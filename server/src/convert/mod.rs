//! Conversions between protobuf messages and engine types. Incoming messages
//! are destructured exhaustively, so a new proto field fails to compile here
//! until it is handled.

pub mod allocation;
pub mod network;
pub mod promise;
pub mod risk;
pub mod stock;
pub mod time;
