//! Conversions between protobuf messages and domain types, one module per
//! concept. Incoming messages are destructured exhaustively, so a new proto
//! field fails to compile here until it is handled; what is wrong with one
//! comes back as a [`ServiceError`] naming the field.

pub(crate) mod allocation;
pub(crate) mod decisions;
pub(crate) mod level;
pub(crate) mod models;
pub(crate) mod network;
pub(crate) mod order;
pub(crate) mod planning;
pub(crate) mod promise;
pub(crate) mod reoptimize;
pub(crate) mod returns;
pub(crate) mod risk;
pub(crate) mod stock;
pub(crate) mod time;
pub(crate) mod transfers;
pub(crate) mod workload;

use allot_service::ServiceError;

/// INVALID_ARGUMENT naming the offending request field.
pub(crate) fn invalid(field: &str, problem: impl std::fmt::Display) -> ServiceError {
    ServiceError::invalid(field, problem)
}

/// NOT_FOUND for an unknown entity referenced by a request field.
pub(crate) fn not_found(field: &str, what: &str, code: &str) -> ServiceError {
    ServiceError::not_found(field, what, code)
}

/// A reason about a node and a cost or value (allocation and returns): no
/// model feature, no contribution.
pub(crate) fn node_reason(
    code: allot_proto::v1::ReasonCode,
    message: &str,
    node: String,
    cost_delta_minor: i64,
) -> allot_proto::v1::Reason {
    allot_proto::v1::Reason {
        code: code as i32,
        message: message.to_string(),
        feature: String::new(),
        value: String::new(),
        contribution: 0.0,
        cost_delta_minor,
        node,
    }
}
