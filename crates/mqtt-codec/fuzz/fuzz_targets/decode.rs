//! Decoder fuzz target: one-shot and incremental decoding must agree, and
//! every decoded packet must survive encode → decode. The checks live in
//! `../check.rs`, shared with the stable corpus replay test.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../check.rs"]
mod check;

fuzz_target!(|data: &[u8]| check::check(data));
