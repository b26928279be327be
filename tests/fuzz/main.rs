//! The definition parser, and the name and diagnostic code beside it, never panic and always
//! answer: property tests, one module per kind of input:
//!
//! - `unstructured`: arbitrary bytes, text made of TOML's punctuation and the schema's key
//!   names, generated documents damaged here and there, and nesting far deeper than any
//!   definition;
//! - `documents`: TOML documents built from the schema's own key names and value kinds (a main
//!   file and drop-ins; mostly valid ones, and wild ones of near misses and nonsense), serialized
//!   by the `toml` crate and written out by hand in every TOML spelling (hex, octal and binary
//!   integers, literal and multi-line strings, dotted keys, inline tables, arrays of tables),
//!   and arbitrary values under arbitrary keys;
//! - `names`: container names, accepted exactly by machined's rule and kept by systemd's
//!   escaping;
//! - `diagnostics`: a diagnostic renders for any span of any text.
//!
//! `generate` makes the documents, `write` spells them out, and `check` holds each definition
//! input to the rule: every problem renders as a diagnostic starting with `error: `; and when
//! the definition is valid, what `berth show` prints (`render::to_toml`) reads back to the same
//! text and the same definition (see `check_documents` for the one exception). A case that does not answer within `FUZZ_CASE_TIMEOUT_SECS`
//! (default 20) seconds prints its input and aborts the run.
//!
//! Runs briefly in the test suite (256 cases per property, seconds in a debug build). To run it
//! longer by hand, set `PROPTEST_CASES` (read by every property here), e.g.:
//!
//! ```sh
//! PROPTEST_CASES=20000 cargo test --release --test fuzz
//! PROPTEST_CASES=200000 cargo test --release --test fuzz -- toml_text   # one property
//! ```
//!
//! A failure is shrunk to a small input, and its seed saved next to the module whose property
//! failed (`tests/fuzz/documents.proptest-regressions`, ...) so that the next run tries it
//! first. With `PROPTEST_CASES=100000` and `--release`, the whole fuzz test takes about nine
//! minutes on two cores.

mod check;
mod diagnostics;
mod documents;
mod generate;
mod names;
mod unstructured;
mod write;

use proptest::test_runner::{Config as ProptestConfig, FileFailurePersistence, RngAlgorithm};

/// 256 cases, or `PROPTEST_CASES`; the other settings are proptest's defaults (which read their
/// own `PROPTEST_*` variables), but with the faster random generator unless
/// `PROPTEST_RNG_ALGORITHM` asks for another.
pub fn config() -> ProptestConfig {
    let default = ProptestConfig::default();
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(256),
        rng_algorithm: if std::env::var_os("PROPTEST_RNG_ALGORITHM").is_some() {
            default.rng_algorithm
        } else {
            RngAlgorithm::XorShift
        },
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..default
    }
}
