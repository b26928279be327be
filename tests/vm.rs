//! Tier 3, the VM tier: what neither the host nor the systemd sandbox of tier 2 can show. A
//! Debian 12 guest with its own kernel, systemd as PID 1, the unified cgroup v2 hierarchy and
//! SELinux enforcing (refpolicy with berth's modules from policy/), built by tests/vm/berth-vm
//! and cached in /var/cache/berth-test/vm.
//!
//! One boot runs it all (tests/vm/in-guest): the `--ignored` tests of the `system`, `systemd`,
//! `confinement`, `escape`, `resources`, `hostsvc` and `image` test binaries, with
//! BERTH_SYSTEM_TEST=1 so that they act in the guest directly, and tests/vm/selinux-checks. The
//! checkout and the cargo target directory are shared into the guest at the same paths, so the
//! binaries under test are the ones cargo built here.
//!
//! Needs root, qemu-system-x86_64, qemu-img, mmdebstrap and mkfs.ext4 (`tests/vm/berth-vm
//! deps` installs them). Without them it fails under CI=true and says SKIP otherwise; so does
//! BERTH_VM=skip, which a developer may set to leave the VM tier out of a quick run (never
//! under CI=true). The whole guest log is kept in /var/lib/berth-test/vm-last.log.

use std::fs;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

mod common;

/// The system-test binaries the guest runs, by cargo target name.
const SYSTEM_TESTS: [&str; 7] = [
    "system",
    "systemd",
    "confinement",
    "escape",
    "resources",
    "hostsvc",
    "image",
];

/// Writes past libtest's capture: the guest's facts and the timings show in every run.
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Under CI=true the VM tier must run: panics. Otherwise says SKIP.
fn cannot_run(why: &str) {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("the VM tier cannot run: {why}; under CI=true it must run");
    }
    say!("SKIP the VM tier: {why}");
}

#[test]
fn system_tests_and_selinux_in_a_cgroup_v2_selinux_enforcing_vm() {
    let vm = manifest().join("tests/vm/berth-vm");
    if std::env::var("BERTH_VM").as_deref() == Ok("skip") {
        return cannot_run("BERTH_VM=skip is set");
    }
    // /proc/self belongs to the effective user.
    if !fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0) {
        return cannot_run("booting the guest needs root");
    }
    let check = Command::new(&vm)
        .arg("check")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", vm.display()));
    if !check.status.success() {
        return cannot_run(String::from_utf8_lossy(&check.stderr).trim());
    }

    let binaries = test_binaries();
    for (name, path) in &binaries {
        say!("VM tier: test binary {name}: {}", path.display());
    }
    // The image tests' Debian image, which they find in the shared target directory.
    if let Err(why) = common::build_test_image() {
        panic!("the image tests' image cannot be built: {why}");
    }

    let started = Instant::now();
    let build = Command::new(&vm)
        .arg("build")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {} build: {e}", vm.display()));
    let build_log = String::from_utf8_lossy(&build.stderr);
    if !build.status.success() {
        panic!(
            "{} build failed ({}):\n{build_log}",
            vm.display(),
            build.status
        );
    }
    say!(
        "VM tier: image {} ready in {:.0?} ({})",
        String::from_utf8_lossy(&build.stdout).trim(),
        started.elapsed(),
        if build_log.contains("reusing the cached image") {
            "cached"
        } else {
            "built"
        }
    );

    // The checkout and the directory of the binaries under test (target/debug, whose berth
    // and berth-helper the system tests run), at the same paths in the guest.
    let profile_dir = binaries[0]
        .1
        .parent()
        .and_then(Path::parent)
        .expect("a test binary in PROFILE/deps/");
    let mut shares = vec![manifest().to_owned()];
    if !profile_dir.starts_with(manifest()) {
        shares.push(profile_dir.to_owned());
    }
    let shares: Vec<String> = shares.iter().map(|p| p.display().to_string()).collect();

    let started = Instant::now();
    let out = Command::new(&vm)
        .args([
            "run",
            "-e",
            "BERTH_SYSTEM_TEST=1",
            "-e",
            "BERTH_LOG=info",
            "--",
        ])
        .arg(manifest().join("tests/vm/in-guest"))
        .args(
            binaries
                .iter()
                .map(|(name, path)| format!("{name}={}", path.display())),
        )
        .env("BERTH_VM_SHARE", shares.join(" "))
        .env("BERTH_VM_TIMEOUT", "2700")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {} run: {e}", vm.display()));
    let took = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let log = Path::new("/var/lib/berth-test/vm-last.log");
    if let Err(e) = fs::write(log, format!("{stdout}\n--- stderr\n{stderr}")) {
        say!("VM tier: cannot write {}: {e}", log.display());
    }
    // The whole log, shown when the test fails or runs with --nocapture.
    print!("{stdout}");
    eprint!("{stderr}");

    for line in stdout.lines().take_while(|l| !l.starts_with("=== part")) {
        say!("VM tier: guest {line}");
    }
    for line in stderr.lines().filter(|l| l.starts_with("berth-vm:")) {
        say!("VM tier: {line}");
    }
    let mut failures = Vec::new();
    let mut expect = |ok: bool, what: &str| {
        if !ok {
            failures.push(what.to_owned());
        }
    };
    expect(
        stdout.contains("\ncgroup filesystem: cgroup2fs\n")
            || stdout.starts_with("cgroup filesystem: cgroup2fs\n"),
        "the guest's /sys/fs/cgroup is cgroup2fs",
    );
    expect(
        stdout.contains("\nSELinux: Enforcing "),
        "the guest's SELinux is Enforcing",
    );
    for name in SYSTEM_TESTS.iter().copied().chain(["selinux"]) {
        let Some(part) = part(&stdout, name) else {
            expect(false, &format!("part {name} ran in the guest"));
            continue;
        };
        let end = part.lines().last().unwrap_or_default();
        say!("VM tier: {}", end.trim_start_matches("=== "));
        expect(
            end.contains(" status 0 "),
            &format!("part {name} passed ({end})"),
        );
        match name {
            "selinux" => {
                let passed = part.lines().filter(|l| l.starts_with("ok - ")).count();
                let failed: Vec<&str> = part.lines().filter(|l| l.starts_with("not ok")).collect();
                say!(
                    "VM tier: SELinux checks: {passed} passed, {} failed",
                    failed.len()
                );
                for f in &failed {
                    say!("VM tier:   {f}");
                }
                expect(
                    passed > 0 && failed.is_empty(),
                    "every SELinux check passed",
                );
            }
            _ => {
                let results: Vec<&str> = part
                    .lines()
                    .filter(|l| l.starts_with("test result: "))
                    .collect();
                for r in &results {
                    say!("VM tier: {name}: {r}");
                }
                expect(
                    !results.is_empty()
                        && results.iter().all(|r| r.starts_with("test result: ok."))
                        && results.iter().any(|r| !r.contains(" 0 passed")),
                    &format!("the {name} tests ran and passed in the guest"),
                );
            }
        }
    }
    say!("VM tier: boot, tests and poweroff took {took:.0?}");
    expect(
        out.status.success(),
        &format!("tests/vm/berth-vm run succeeded ({})", out.status),
    );
    assert!(
        failures.is_empty(),
        "the VM tier failed; not so: {}. The guest's output is above and in {}",
        failures.join("; "),
        log.display()
    );
}

/// The text of one part of tests/vm/in-guest's output, up to and with its end line.
fn part<'a>(stdout: &'a str, name: &str) -> Option<&'a str> {
    let start = stdout.find(&format!("=== part {name}\n"))?;
    let rest = &stdout[start..];
    let end_marker = format!("=== end {name} status ");
    let end = rest.find(&end_marker)?;
    let line_end = rest[end..].find('\n').map_or(rest.len(), |i| end + i);
    Some(&rest[..line_end])
}

/// The system-test binaries, as (target name, path): what cargo says it built (it builds
/// nothing new when `cargo test` already did).
fn test_binaries() -> Vec<(String, PathBuf)> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(&cargo);
    command
        .args(["test", "--no-run", "--locked", "--message-format=json"])
        .args(SYSTEM_TESTS.iter().flat_map(|t| ["--test", t]))
        .current_dir(manifest());
    if !cfg!(debug_assertions) {
        command.arg("--release");
    }
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", Path::new(&cargo).display()));
    assert!(
        out.status.success(),
        "cargo test --no-run for the system tests failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let mut found = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if message["reason"] != "compiler-artifact"
            || !message["target"]["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "test"))
        {
            continue;
        }
        let (Some(name), Some(executable)) = (
            message["target"]["name"].as_str(),
            message["executable"].as_str(),
        ) else {
            continue;
        };
        if SYSTEM_TESTS.contains(&name) {
            found.push((name.to_owned(), PathBuf::from(executable)));
        }
    }
    found.sort_by_key(|(name, _)| SYSTEM_TESTS.iter().position(|t| t == name));
    assert_eq!(
        found.len(),
        SYSTEM_TESTS.len(),
        "cargo test --no-run did not name every system-test binary: {found:?}"
    );
    found
}
