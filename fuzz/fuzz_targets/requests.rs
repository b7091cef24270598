//! The request of every RPC of the allot.v1 contract: the first byte selects
//! the RPC, the rest is decoded as its request and converted and validated
//! against the demo network as the handler does before the service call.

#![no_main]

use std::sync::LazyLock;

use allot_server::fuzzing::Contract;
use libfuzzer_sys::fuzz_target;

static CONTRACT: LazyLock<Contract> = LazyLock::new(Contract::demo);

fuzz_target!(|input: &[u8]| {
    // A refusal is an answer; only a panic or a crash is a finding.
    let _ = CONTRACT.convert_input(input);
});
