//! The allot gRPC contract, `allot.v1`, generated from `proto/allot/v1`.
//!
//! Only the server and the clients depend on this crate; the engine never
//! sees a protobuf type.

#![allow(
    missing_docs,
    clippy::large_enum_variant,
    clippy::doc_lazy_continuation
)]

pub mod codec;

/// Generated messages and services of package `allot.v1`.
pub mod v1 {
    tonic::include_proto!("allot.v1");
}

/// The encoded `FileDescriptorSet` of `allot.v1`, for gRPC reflection and
/// for proto3 JSON in the clients.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("allot_v1_descriptor");
