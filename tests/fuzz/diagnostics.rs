//! Diagnostics: one renders whatever span of whatever text it is given.

use berth::diagnostic::{Diagnostic, Source};
use proptest::prelude::*;

use crate::config;

proptest! {
    #![proptest_config(config())]

    /// Diagnostics render whatever span they are given.
    #[test]
    fn diagnostics_render_for_any_span(text in any::<String>(), start in 0usize..600, len in 0usize..50) {
        let source = Source::new("/fuzz.toml", text.as_str());
        let d = Diagnostic::new("x").at(&source, Some(start..start + len));
        prop_assert!(d.to_string().starts_with("error: x\n"));
        let _ = d.to_json();
    }
}
