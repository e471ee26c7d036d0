//! The `decode` fuzz target's corpus, replayed on stable.
//!
//! Runs the fuzz target's own checks (`fuzz/check.rs`, included below) on
//! every file of `fuzz/corpus/decode/` and of `fuzz/artifacts/decode/` (the
//! inputs libFuzzer found failing, kept as regression cases), so CI covers
//! what the fuzzer learned without nightly or libFuzzer. Only the decode and
//! encode entry points are used here, so packet types can change shape
//! without touching this file; the seed entries are written by the fuzz
//! crate's `seed_corpus` example.

#[path = "../fuzz/check.rs"]
mod check;

use std::fs;
use std::panic;
use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

#[test]
fn corpus_passes_the_fuzz_checks() {
    let dir = fuzz_dir().join("corpus").join("decode");
    let inputs = read_inputs(&dir)
        .unwrap_or_else(|err| panic!("cannot read the corpus {}: {err}", dir.display()));
    assert!(
        !inputs.is_empty(),
        "the corpus {} is empty; seed it with `cargo run --manifest-path \
         crates/mqtt-codec/fuzz/Cargo.toml --example seed_corpus`",
        dir.display()
    );
    replay(&inputs);
}

#[test]
fn fuzz_artifacts_pass_the_fuzz_checks() {
    let dir = fuzz_dir().join("artifacts").join("decode");
    if !dir.exists() {
        return;
    }
    let inputs = read_inputs(&dir)
        .unwrap_or_else(|err| panic!("cannot read the artifacts {}: {err}", dir.display()));
    replay(&inputs);
}

/// Runs the checks on every input and reports all that fail, by name.
fn replay(inputs: &[(PathBuf, Vec<u8>)]) {
    let failures: Vec<String> = inputs
        .iter()
        .filter_map(|(path, data)| {
            panic::catch_unwind(|| check::check(data))
                .err()
                .map(|payload| {
                    let message = payload
                        .downcast_ref::<String>()
                        .map(String::as_str)
                        .or_else(|| payload.downcast_ref::<&str>().copied())
                        .unwrap_or("(a panic without a message)");
                    format!("{}: {data:02x?}\n    {message}", path.display())
                })
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} inputs fail the fuzz checks:\n{}",
        failures.len(),
        inputs.len(),
        failures.join("\n")
    );
}

/// Every regular file of `dir`, sorted by name.
fn read_inputs(dir: &Path) -> std::io::Result<Vec<(PathBuf, Vec<u8>)>> {
    let mut inputs = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_file() {
            let data = fs::read(&path)?;
            inputs.push((path, data));
        }
    }
    inputs.sort();
    Ok(inputs)
}
