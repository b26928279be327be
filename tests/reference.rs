//! berth.toml(5) is written by hand: these tests keep it complete and well-formed.

use std::path::Path;
use std::process::Command;

use berth::definition::schema::{self, Entry, Key, Kind};

fn page() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("man/berth.toml.5");
    std::fs::read_to_string(path).expect("man/berth.toml.5 exists")
}

#[test]
fn every_key_is_documented() {
    // roff escapes `-` as `\-`; keys are snake_case, so only `_` matters.
    let page = page();
    fn walk(keys: &'static [Key], table: &str, page: &str, missing: &mut Vec<String>) {
        for k in keys {
            let path = if table.is_empty() {
                k.name.to_owned()
            } else {
                format!("{table}.{}", k.name)
            };
            if !page.contains(&format!(".B {}\n", k.name)) && !page.contains(&format!("[{path}")) {
                missing.push(path.clone());
            }
            if let Kind::Table(sub) | Kind::Map(_, Entry::Table(sub)) = k.kind {
                walk(sub, &path, page, missing);
            }
        }
    }
    let mut missing = Vec::new();
    walk(schema::ROOT, "", &page, &mut missing);
    assert!(
        missing.is_empty(),
        "keys missing from man/berth.toml.5: {missing:?}"
    );
}

#[test]
fn mandoc_reports_nothing() {
    let Ok(out) = Command::new("mandoc")
        .args(["-Tlint", "-W", "warning", "man/berth.toml.5"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
    else {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("mandoc is not installed; .ci/run installs it");
        }
        eprintln!("SKIP: mandoc is not installed (apt-get install mandoc)");
        return;
    };
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && report.is_empty(), "{report}");
}
