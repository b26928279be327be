//! Inputs that are mostly not TOML, or TOML broken: the parser refuses them with
//! diagnostics, never a panic or a hang.

use proptest::prelude::*;
use proptest::sample::select;

use crate::check::{check_documents, fuzz_name};
use crate::config;
use crate::generate::{definition_files, schema_names};
use crate::write::{handwritten_text, mangle, toml_crate_text, TOKENS};

proptest! {
    #![proptest_config(config())]

    /// Any bytes, as a definition alone and as a main file with a drop-in.
    #[test]
    fn arbitrary_bytes(a in proptest::collection::vec(any::<u8>(), 0..512),
                       b in proptest::collection::vec(any::<u8>(), 0..256)) {
        let a = String::from_utf8_lossy(&a).into_owned();
        let b = String::from_utf8_lossy(&b).into_owned();
        check_documents(&fuzz_name(), &[a, b]);
    }

    /// Any text made of TOML's own punctuation and some key names.
    #[test]
    fn arbitrary_toml_like_text(parts in proptest::collection::vec(prop_oneof![
        3 => select(TOKENS.to_vec()).prop_map(str::to_owned),
        2 => select(schema_names()).prop_map(str::to_owned),
        1 => "[a-z0-9 ]{1,4}",
    ], 0..60)) {
        check_documents(&fuzz_name(), &[parts.concat()]);
    }

    /// A generated document damaged here and there.
    #[test]
    fn mangled_documents(tables in definition_files(0),
                         seed in any::<u64>(),
                         edits in proptest::collection::vec(
                             (any::<usize>(), any::<usize>(), select(TOKENS.to_vec())), 1..6)) {
        let text = handwritten_text(&tables[0], seed);
        check_documents(&fuzz_name(), &[mangle(&text, &edits)]);
        check_documents(&fuzz_name(), &[text, mangle(&toml_crate_text(&tables[0]), &edits)]);
    }

    /// Nesting far deeper than any definition: refused, not a stack overflow.
    #[test]
    fn deep_nesting(depth in 0usize..3000, kind in 0u8..4) {
        let text = match kind {
            0 => format!("description = {}{}", "[".repeat(depth), "]".repeat(depth)),
            1 => format!("description = {}1{}", "{a = ".repeat(depth), " }".repeat(depth)),
            2 => format!("[{}]\n", vec!["exec"; depth.max(1)].join(".")),
            _ => format!("{} = 1\n", vec!["a"; depth.max(1)].join(".")),
        };
        check_documents(&fuzz_name(), &[text]);
    }
}
