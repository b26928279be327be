//! Container names: the rule for them, and systemd's escaping of them.

use berth::name::{escape, name_from_scope_unit, unescape, Name, MAX_NAME_LEN};
use proptest::prelude::*;
use proptest::sample::select;

use crate::config;

proptest! {
    #![proptest_config(config())]

    /// Container names: accepted exactly when they follow machined's rule, and accepted ones
    /// survive systemd's escaping.
    #[test]
    fn container_names(s in prop_oneof![
        3 => "[a-zA-Z0-9_.-]{0,70}",
        1 => "[a-z0-9._/\\\\:-]{0,10}",
        1 => select(vec!["", ".", "..", "a..b", "-a", ".a", "a.", "a-", "a-b", "a_b", "é", "a/b",
                         "a\\x2db", "\u{0}"]).prop_map(str::to_owned),
        2 => any::<String>(),
    ]) {
        let chars = s.chars().count();
        let expected = (1..=MAX_NAME_LEN).contains(&chars)
            && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
            && !s.starts_with(['.', '-'])
            && !s.ends_with('.')
            && !s.contains("..");
        match Name::new(&s) {
            Ok(n) => {
                prop_assert!(expected, "accepted {s:?}");
                prop_assert_eq!(n.as_str(), s.as_str());
                let escaped = escape(n.as_str());
                prop_assert!(escaped.bytes().all(|b| b.is_ascii_alphanumeric() || b":_.\\".contains(&b)),
                             "{escaped:?}");
                prop_assert_eq!(unescape(&escaped), Some(s.clone()));
                prop_assert_eq!(name_from_scope_unit(&n.scope_unit()), Some(n));
            }
            Err(e) => {
                prop_assert!(!expected, "refused {s:?}: {e}");
                prop_assert!(!e.to_string().is_empty());
            }
        }
        // Any string without `/` survives escaping; any unit name answers.
        if !s.contains('/') {
            prop_assert_eq!(unescape(&escape(&s)), Some(s.clone()));
        }
        let _ = name_from_scope_unit(&s);
        let _ = unescape(&s);
    }
}
