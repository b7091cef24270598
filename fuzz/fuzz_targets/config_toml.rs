//! The server's configuration file (docs/operations.md): read over the
//! defaults, then what the server builds from it before it listens and what
//! each call computes from it.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let _ = allot_server::fuzzing::config_toml(input);
});
