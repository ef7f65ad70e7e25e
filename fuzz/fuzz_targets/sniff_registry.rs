//! Fuzzes `portcullis::sniff::classify` through the public API.
//!
//! See `common.rs` for the input layout. Asserts, besides "no panic":
//! determinism, no `NeedMore` once `complete`, `reversed` only when
//! `midstream`, metadata slices borrowed from the sample, and an empty
//! sample never identified.

#![no_main]

use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    let case = common::Case::decode(data);
    common::check_one(&case.input(), case.midstream);
});
