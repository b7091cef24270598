//! Pre-encoded request bodies for an independent HTTP/2 load tool
//! (`h2load`): one request of a load plan in gRPC's length-prefixed framing,
//! and the path to POST it to. Sending the same bytes from another client
//! shows whether the load generator or the server is the bottleneck.

use prost::Message;

use super::mix::RpcKind;
use super::requests::Call;

/// The HTTP/2 path of a call's RPC.
pub fn rpc_path(call: &Call) -> &'static str {
    match call {
        Call::Health(_) => "/grpc.health.v1.Health/Check",
        Call::Allocate(_) => "/allot.v1.AllocationService/Allocate",
        Call::Promise(_) => "/allot.v1.PromiseService/GetDeliveryPromise",
        Call::Score(_) => "/allot.v1.RiskService/ScoreOrder",
    }
}

/// The call's message as a gRPC body: a zero compression flag, the
/// big-endian length, then the protobuf encoding.
pub fn grpc_frame(call: &Call) -> Vec<u8> {
    let message = match call {
        Call::Health(m) => m.encode_to_vec(),
        Call::Allocate(m) => m.encode_to_vec(),
        Call::Promise(m) => m.encode_to_vec(),
        Call::Score(m) => m.encode_to_vec(),
    };
    let length = u32::try_from(message.len()).unwrap_or(u32::MAX);
    let mut body = Vec::with_capacity(5 + message.len());
    body.push(0);
    body.extend_from_slice(&length.to_be_bytes());
    body.extend_from_slice(&message);
    body
}

/// Whether a kind can be sent as a fixed body: committing allocations need a
/// fresh idempotency key per request, so they cannot.
pub fn fixed_body_allowed(kind: RpcKind) -> bool {
    !matches!(kind, RpcKind::AllocateCommit | RpcKind::AllocateCommitRetry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto as pb;

    #[test]
    fn frames_carry_the_length_and_decode_back() {
        let order = pb::AllocateRequest {
            order_id: "o-1".into(),
            ..Default::default()
        };
        let body = grpc_frame(&Call::Allocate(order.clone()));
        assert_eq!(body[0], 0);
        let len = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
        assert_eq!(len, body.len() - 5);
        assert_eq!(pb::AllocateRequest::decode(&body[5..]).unwrap(), order);
        assert_eq!(
            rpc_path(&Call::Allocate(order)),
            "/allot.v1.AllocationService/Allocate"
        );
        assert!(!fixed_body_allowed(RpcKind::AllocateCommit));
        assert!(fixed_body_allowed(RpcKind::Promise));
    }
}
