//! A network file (docs/network.md): parsed and validated.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let _ = allot_server::fuzzing::network_toml(input);
});
