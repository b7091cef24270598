//! A bulk stock snapshot CSV (docs/stock.md) loaded into the demo network's
//! stock, as `allot serve` loads its stock file.

#![no_main]

use std::sync::LazyLock;

use allot_server::fuzzing::Contract;
use libfuzzer_sys::fuzz_target;

static CONTRACT: LazyLock<Contract> = LazyLock::new(Contract::demo);

fuzz_target!(|input: &[u8]| {
    let _ = CONTRACT.stock_csv(input);
});
