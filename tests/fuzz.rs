//! The definition parser never panics and always answers: property tests over arbitrary bytes
//! and over arbitrary TOML documents built from the schema's own key names.
//!
//! Runs briefly in the test suite (256 cases per property). To run it longer by hand:
//!
//! ```sh
//! PROPTEST_CASES=100000 cargo test --release --test fuzz
//! ```

use berth::definition::render::to_toml;
use berth::definition::schema::{self, Entry, Key, Kind};
use berth::definition::{from_sources, Loaded};
use berth::diagnostic::{Diagnostic, Source};
use berth::name::{escape, unescape, Name};
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(256),
        ..ProptestConfig::default()
    }
}

fn name() -> Name {
    Name::new("fuzz").expect("valid name")
}

/// Every answer is a definition, or problems that each render as an error.
fn check(texts: &[String]) -> Option<Loaded> {
    let sources = texts
        .iter()
        .enumerate()
        .map(|(i, t)| Source::new(format!("/fuzz/{i}.toml"), t.as_str()))
        .collect();
    match from_sources(&name(), sources) {
        Ok(loaded) => Some(loaded),
        Err(problems) => {
            assert!(!problems.is_empty(), "an error without problems");
            for p in &problems {
                let text = p.to_string();
                assert!(text.starts_with("error: "), "{text}");
            }
            None
        }
    }
}

/// What `show` prints is a definition with the same meaning.
fn round_trip(loaded: &Loaded) {
    let shown = to_toml(&loaded.settings, false);
    let again = check(std::slice::from_ref(&shown))
        .unwrap_or_else(|| panic!("show output is invalid:\n{shown}"));
    assert_eq!(to_toml(&again.settings, false), shown);
}

fn key_names() -> Vec<String> {
    fn walk(keys: &'static [Key], out: &mut Vec<String>) {
        for k in keys {
            out.push(k.name.to_owned());
            if let Kind::Table(sub) | Kind::Map(_, Entry::Table(sub)) = k.kind {
                walk(sub, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(schema::ROOT, &mut out);
    out.extend(
        [
            "/srv/data",
            "/dev/fuse",
            "PATH",
            "A_B",
            "memroy_max",
            "exce",
            "",
            "a b",
            "/",
        ]
        .map(str::to_owned),
    );
    out
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(key_names()),
        1 => "[a-z_]{1,12}",
        1 => any::<String>(),
    ]
}

fn scalar() -> impl Strategy<Value = toml::Value> {
    let strings = prop_oneof![
        proptest::sample::select(vec![
            "512M",
            "2G",
            "1.5K",
            "infinity",
            "50%",
            "150%",
            "0%",
            "0-3,6",
            "3-1",
            "SIGTERM",
            "SIGRTMIN+3",
            "30s",
            "1min 30s",
            "/usr/bin/python3",
            "/srv/../etc",
            "relative",
            "root",
            "0755",
            "rwm",
            "s0:c1,c2",
            "container_t",
            "host",
            "image",
            "app",
            "boot",
            "private",
            "none",
            "default",
            "unconfined",
            "auto",
            "off",
            "",
            "web/front",
        ])
        .prop_map(str::to_owned),
        any::<String>(),
    ];
    prop_oneof![
        strings.prop_map(toml::Value::String),
        any::<i64>().prop_map(toml::Value::Integer),
        any::<f64>().prop_map(toml::Value::Float),
        any::<bool>().prop_map(toml::Value::Boolean),
        Just(toml::Value::Datetime(
            "1979-05-27T07:32:00Z".parse().expect("datetime")
        )),
    ]
}

fn value() -> impl Strategy<Value = toml::Value> {
    scalar().prop_recursive(4, 48, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(toml::Value::Array),
            proptest::collection::vec((key(), inner), 0..8)
                .prop_map(|entries| toml::Value::Table(entries.into_iter().collect())),
        ]
    })
}

fn document() -> impl Strategy<Value = String> {
    proptest::collection::vec((key(), value()), 0..10).prop_map(|entries| {
        let table: toml::Table = entries.into_iter().collect();
        toml::to_string(&table).unwrap_or_default()
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_never_panic(a in proptest::collection::vec(any::<u8>(), 0..512),
                                   b in proptest::collection::vec(any::<u8>(), 0..256)) {
        let a = String::from_utf8_lossy(&a).into_owned();
        let b = String::from_utf8_lossy(&b).into_owned();
        check(std::slice::from_ref(&a));
        check(&[a, b]);
    }

    #[test]
    fn arbitrary_toml_documents_never_panic_and_round_trip(main in document(), dropin in document()) {
        if let Some(loaded) = check(std::slice::from_ref(&main)) {
            round_trip(&loaded);
        }
        if let Some(loaded) = check(&[main, dropin]) {
            round_trip(&loaded);
        }
    }

    #[test]
    fn valid_documents_with_a_command_round_trip(doc in document()) {
        let text = format!("{doc}\n[exec]\ncommand = [\"/bin/true\"]\n");
        if let Some(loaded) = check(&[text]) {
            round_trip(&loaded);
        }
    }

    #[test]
    fn accepted_names_escape_and_back(s in any::<String>()) {
        if let Ok(n) = Name::new(&s) {
            prop_assert_eq!(unescape(&escape(n.as_str())), Some(s.clone()));
            prop_assert_eq!(berth::name::name_from_scope_unit(&n.scope_unit()), Some(n));
        }
    }

    #[test]
    fn diagnostics_render_for_any_span(text in any::<String>(), start in 0usize..600, len in 0usize..50) {
        let source = Source::new("/fuzz.toml", text.as_str());
        let d = Diagnostic::new("x").at(&source, Some(start..start + len));
        prop_assert!(d.to_string().starts_with("error: x\n"));
    }
}
