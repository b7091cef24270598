//! A stock delta CSV (docs/stock.md), as `allotctl` reads it before it
//! streams the rows.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let _ = allot_server::fuzzing::delta_csv(input);
});
