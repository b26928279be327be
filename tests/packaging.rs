//! What the packaging files must agree on, checked without building anything: the version
//! everywhere, the RPM spec's lists against units/ and policy/, and its bundled crates against
//! Cargo.lock. (tests/package.rs builds and uses the packages.)

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn spec() -> String {
    read("packaging/rpm/berth.spec")
}

/// The words of `%global NAME ...` in the spec (`%{nil}` is none).
fn spec_list(name: &str) -> BTreeSet<String> {
    let spec = spec();
    let line = spec
        .lines()
        .find(|l| l.starts_with(&format!("%global {name} ")))
        .unwrap_or_else(|| panic!("no %global {name} in the spec"));
    line.split_whitespace()
        .skip(2)
        .filter(|w| *w != "%{nil}")
        .map(str::to_owned)
        .collect()
}

/// The file names in `dir` (of the checkout) that match `keep`.
fn files(dir: &str, keep: impl Fn(&str) -> bool) -> BTreeSet<String> {
    let Ok(entries) = std::fs::read_dir(root().join(dir)) else {
        return BTreeSet::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| keep(n))
        .collect()
}

#[test]
fn one_version_everywhere() {
    let version = env!("CARGO_PKG_VERSION");
    let spec = spec();
    assert!(
        spec.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["Version:", version]),
        "packaging/rpm/berth.spec: Version is not {version}"
    );
    let changelog_entry = spec
        .split("%changelog\n")
        .nth(1)
        .and_then(|c| c.lines().next())
        .unwrap_or_default();
    assert!(
        changelog_entry.ends_with(&format!(" - {version}-1")),
        "the spec's latest %changelog entry is not for {version}: {changelog_entry}"
    );
    let debian = read("packaging/debian/changelog");
    assert!(
        debian.starts_with(&format!("berth ({version}-")),
        "packaging/debian/changelog: the latest entry is not for {version}"
    );
    assert!(read("man/berth.1").contains(&format!("\"berth {version}\"")));
}

/// Every file of units/ is listed in the spec (its scriptlets and file list name them) and no
/// listed one is missing: when units/ changes, so must `berth_units` and `berth_generators`.
#[test]
fn the_spec_lists_what_units_holds() {
    let units = files("units", |n| {
        [
            ".service", ".socket", ".path", ".timer", ".target", ".slice",
        ]
        .iter()
        .any(|s| n.ends_with(s))
    });
    let generators = files("units", |n| n.ends_with("-generator"));
    assert_eq!(
        spec_list("berth_units"),
        units,
        "%global berth_units in packaging/rpm/berth.spec must list the units of units/"
    );
    assert_eq!(
        spec_list("berth_generators"),
        generators,
        "%global berth_generators in packaging/rpm/berth.spec must list units/*-generator"
    );
}

/// Every module of policy/ is built into berth-selinux, except berth-container-types, whose
/// types container-selinux provides on RPM distributions.
#[test]
fn the_spec_lists_the_policy_modules() {
    let modules: BTreeSet<String> = files("policy", |n| n.ends_with(".te"))
        .into_iter()
        .map(|n| n.trim_end_matches(".te").to_owned())
        .filter(|m| m != "berth-container-types")
        .collect();
    assert_eq!(
        spec_list("selinux_modules"),
        modules,
        "%global selinux_modules in packaging/rpm/berth.spec must list policy/*.te"
    );
}

/// The spec's `Provides: bundled(crate(...))` are the crates linked into berth now.
#[test]
fn the_spec_bundles_the_locked_crates() {
    let mut linked = BTreeSet::new();
    for target in ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"] {
        let out = Command::new(env!("CARGO"))
            .args([
                "tree",
                "--prefix",
                "none",
                "-e",
                "no-build,no-dev,no-proc-macro",
                "--target",
                target,
                "--locked",
                "--package",
                "berth",
                "-f",
                "{p}",
            ])
            .current_dir(root())
            .output()
            .expect("cargo tree runs");
        assert!(
            out.status.success(),
            "cargo tree: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let p = line.split(" (").next().unwrap_or(line);
            if let Some((name, version)) = p.split_once(" v") {
                if name != "berth" {
                    linked.insert(format!("bundled(crate({name})) = {version}"));
                }
            }
        }
    }
    let spec = spec();
    let bundled: BTreeSet<String> = spec
        .lines()
        .filter_map(|l| l.strip_prefix("Provides:"))
        .map(|l| l.trim().to_owned())
        .filter(|l| l.starts_with("bundled("))
        .collect();
    assert_eq!(
        bundled, linked,
        "the bundled crates of packaging/rpm/berth.spec differ from Cargo.lock: run \
         `scripts/package bundled`"
    );
}
