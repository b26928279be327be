//! Documents built from the schema: the parser answers, and what `berth show` prints of a
//! valid one reads back the same.

use proptest::prelude::*;
use proptest::sample::select;

use crate::check::{check, check_documents, fuzz_name, round_trip};
use crate::config;
use crate::generate::{any_key, any_value, container_name, definition_files, V};
use crate::write::{handwritten_text, toml_crate_text};

proptest! {
    #![proptest_config(config())]

    /// Documents from the schema's keys, serialized by the `toml` crate: a main file and up
    /// to three drop-ins.
    #[test]
    fn toml_crate_documents(name in container_name(), tables in definition_files(3)) {
        let files: Vec<String> = tables.iter().map(|t| toml_crate_text(t)).collect();
        check_documents(&name, &files);
    }

    /// The same, written in every spelling TOML allows (and some it does not).
    #[test]
    fn toml_text_documents(name in container_name(), tables in definition_files(3), seed in any::<u64>()) {
        let files: Vec<String> = tables
            .iter()
            .enumerate()
            .map(|(i, t)| handwritten_text(t, seed.wrapping_add(i as u64)))
            .collect();
        check_documents(&name, &files);
    }

    /// Arbitrary values under arbitrary keys, at the top level and in the schema's tables.
    #[test]
    fn arbitrary_values_under_any_key(entries in proptest::collection::vec((any_key(), any_value()), 0..8),
                                      table in select(vec!["", "exec", "resources", "filesystem", "security", "network"]),
                                      seed in any::<u64>()) {
        let root = if table.is_empty() {
            entries
        } else {
            vec![(table.to_owned(), V::Table(entries))]
        };
        check_documents(&fuzz_name(), &[toml_crate_text(&root)]);
        check_documents(&fuzz_name(), &[handwritten_text(&root, seed)]);
    }
}

/// Found by `toml_text_documents`: `tasks_max = 18446744073709551615` is beyond TOML's 64-bit
/// signed integers, so not TOML at all. It must be refused, or printed by `berth show` as what
/// reads back the same.
#[test]
fn out_of_range_integers_are_refused_or_kept() {
    for literal in [
        "18446744073709551615",
        "0xFFFFFFFFFFFFFFFF",
        "9223372036854775808",
    ] {
        let text =
            format!("[exec]\ncommand = [\"/bin/true\"]\n[resources]\ntasks_max = {literal}\n");
        if let Some(loaded) = check(&fuzz_name(), &[text]) {
            round_trip(&fuzz_name(), &loaded, true);
        }
    }
}
